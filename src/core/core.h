/* core.h - the library's bottom layer (src/core/): error helpers, checked
 * sizes, files, byte order (core/bytes.h), random numbers, time and compiler attributes. Every folder
 * may include it; it includes nothing of the library but mlpc.h. */
#ifndef MLPC_CORE_H
#define MLPC_CORE_H

#include "mlpc.h"

#include <stdarg.h>
#include <stdio.h>

#if defined(__GNUC__)
#define MLPC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MLPC_PRINTF(a, b)
#endif

/* Run-time dispatched copies of a hot loop (AVX-512, AVX2, baseline): GCC
 * makes one clone per target and the loader picks (ifunc). Off under the
 * sanitizers and on other compilers, where the baseline copy runs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define MLPC_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLPC_MULTIVERSION
#endif

/* ---- errors (src/core/error.c) ---------------------------------------- */

/* Sets *e (if not NULL) to code and a formatted one-line message; returns code. */
mlpc_status mlpc_seterr(mlpc_error *e, mlpc_status code, const char *fmt, ...) MLPC_PRINTF(3, 4);
void mlpc_clearerr(mlpc_error *e);

/* Checked size arithmetic: returns 0 on overflow. */
int mlpc_mul_ok(size_t a, size_t b, size_t *out);

/* ---- files and sizes: src/core/file.h (the CLI uses them too) ---------- */
#include "core/file.h"

/* ---- random numbers (src/core/rng.c): one state per user, no globals ---- */

typedef struct mlpc_rng {
    uint64_t s[4]; /* xoshiro256** */
} mlpc_rng;

void mlpc_rng_seed(mlpc_rng *r, uint64_t seed);
uint64_t mlpc_rng_u64(mlpc_rng *r);
double mlpc_rng_uniform(mlpc_rng *r); /* [0, 1) */
double mlpc_rng_normal(mlpc_rng *r);  /* N(0, 1), Box-Muller, no cached state */
/* Fisher-Yates permutation of idx[0..n) in place. */
void mlpc_rng_shuffle(mlpc_rng *r, uint32_t *idx, size_t n);

/* ---- large buffers (src/core/mem.c) ------------------------------------ */

/* bytes of memory (zeroed if `zero`), on transparent huge pages from 8 MiB
 * up, 64-byte aligned at least; NULL when short. Freed with free(). */
void *mlpc_big_alloc(size_t bytes, int zero);

/* ---- knobs (src/core/knob.c): a change's old path kept for measuring ---- */

/* Each names a change whose path before it is kept; on (the default) is
 * the change. Set only between epochs, from the thread that trains. */
typedef enum mlpc_knob_id {
    MLPC_KNOB_GATHER_IN_FORWARD, /* backend/cpu.c: the first product gathers the batch (off: gathered first) */
    MLPC_KNOB_OPT_PREFETCHW,     /* optim/optim.c: RMSprop and Adam ask for W's lines to write ahead, W shared */
    MLPC_KNOB_OPT_FLUSH,         /* optim/optim.c: RMSprop and Adam flush denormals to zero (off: IEEE denormals) */
    MLPC_KNOB_TILE_SPLIT,        /* kernels/gemm_bf16.c: a short last tile shares rows with the one before */
    MLPC_KNOB_BF16_W_SHARED,     /* train/trainer.c: bf16, threads: W read by the backward counts as shared */
    MLPC_KNOB_ZERO_COLS,         /* backend/cpu.c: the gathered first product skips unused input columns (off: dense) */
    MLPC_KNOB_UPDATE_CHUNKS,     /* train/trainer.c: bf16, 1 thread: each chunk of W packed right after its update */
    MLPC_KNOB_PACK_WINDOW,       /* kernels/gemm_bf16.c: listed columns packed by windows, rows asked ahead (off: one by one) */
    MLPC_KNOBS
} mlpc_knob_id;
int mlpc_knob(mlpc_knob_id k);
void mlpc_knob_set(mlpc_knob_id k, int on);
const char *mlpc_knob_name(mlpc_knob_id k);
int mlpc_knob_parse(const char *s, mlpc_knob_id *k); /* 0, or -1 for an unknown name */

/* ---- time: src/core/clock.h (the dashboard uses it too) ------------------ */
#include "core/clock.h"

#endif /* MLPC_CORE_H */
