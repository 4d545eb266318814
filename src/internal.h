/*
 * internal.h - definitions shared by the library's parts, not installed.
 * The structs behind the public opaque handles live here.
 */
#ifndef MLPC_INTERNAL_H
#define MLPC_INTERNAL_H

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

/* ---- time ---------------------------------------------------------------- */
double mlpc_now(void); /* monotonic seconds */

/* ---- datasets (src/data/) ------------------------------------------------ */

struct mlpc_dataset {
    mlpc_error err;
    size_t n;          /* rows */
    size_t n_in;       /* features per row */
    size_t n_out;      /* n_classes (classify) or target columns (regress); 0 = no targets */
    mlpc_task task;
    int n_classes;     /* classify: labels are 0..n_classes-1 */
    float *x;          /* n x n_in, row-major */
    int32_t *labels;   /* n, classify only, else NULL */
    float *targets;    /* n x n_out, regress only, else NULL */
    char source[256];  /* file it came from, for messages */
    char describe[256]; /* how a text file was read (mlpc_dataset_describe) */
    char label_source[256]; /* the labels' file when it is another one, else "" */
    int borrowed;      /* 1: x, labels, targets belong to the caller (mlpc_dataset_view) */
};

/* The file messages about labels and targets name: the labels file when
 * they came from one of their own, else the dataset's source. */
const char *mlpc_dataset_label_source(const mlpc_dataset *d);

/* Allocates an empty dataset with x (and labels or targets) of the given
 * sizes, zeroed. n_out 0 means features only. */
mlpc_dataset *mlpc_dataset_alloc(size_t n, size_t n_in, mlpc_task task, size_t n_out,
                                 const char *source, mlpc_error *err);

/* Reads a whole file, gunzipping it if it starts with the gzip magic.
 * *out is malloc'ed (caller frees), *len its size. Messages name the path. */
mlpc_status mlpc_read_file(const char *path, unsigned char **out, size_t *len, mlpc_error *err);

/* ---- compute context: threads and backend (src/backend/) ---------------- */

typedef struct mlpc_pool mlpc_pool;
typedef struct mlpc_backend mlpc_backend;

/* ---- the net (src/nn/model.c) -------------------------------------------- */

struct mlpc_net {
    mlpc_error err;
    int n_layers;
    int sizes[MLPC_MAX_LAYERS + 1];
    mlpc_act act[MLPC_MAX_LAYERS];
    mlpc_loss loss;
    size_t n_params;
    size_t w_off[MLPC_MAX_LAYERS]; /* offset of W_l (sizes[l] x sizes[l+1]) in params */
    size_t b_off[MLPC_MAX_LAYERS]; /* offset of b_l (sizes[l+1]) in params */
    float *params;                 /* the parameter arena, n_params floats */
    mlpc_norm norm;
    float *norm_shift;             /* sizes[0] floats, NULL when norm == NONE */
    float *norm_scale;             /* x' = (x - shift) * scale */
    char *meta_config;             /* JSON text or NULL */
    char *meta_metrics;            /* JSON text or NULL */
    /* inference workspace, made on first use */
    int threads;                   /* for predict/evaluate, default 1 */
    struct mlpc_ctx *cx;           /* made on first predict/evaluate */
    float *work;                   /* activations for eval chunks */
    int work_rows;
    /* predict/evaluate on a CUDA device (mlpc_net_set_device), else NULL */
    struct mlpc_devsess *dev;
    uint64_t dev_limit;            /* its --gpu-memory-limit in bytes, 0: none */
};

/* Allocates a net with the given architecture; params zeroed, no init. */
mlpc_net *mlpc_net_alloc(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                         mlpc_error *err);
/* Validates an architecture (layer count, widths, softmax only last, loss
 * and output activation compatible). */
mlpc_status mlpc_arch_check(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                            mlpc_error *err);

/* Fills the defaults that depend on other settings (lr per optimizer,
 * factor per schedule). */
void mlpc_config_resolve(mlpc_config *cfg);

/* ---- model files (src/io/modelfile.c) ------------------------------------ */

/* An extra section carried in a model file (checkpoint state). */
typedef struct mlpc_blob {
    uint32_t tag;  /* four characters, e.g. MLPC_TAG('O','P','T','S') */
    void *data;
    uint64_t size;
} mlpc_blob;
#define MLPC_TAG(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* Writes net (+ extra sections) atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory. */
mlpc_status mlpc_file_write(const char *path, const mlpc_net *net, const mlpc_blob *extra,
                            int n_extra, mlpc_error *err);
/* Reads a model file. Extra sections are returned in extra[0..*n_extra) with
 * malloc'ed data the caller frees (pass NULL/0 to ignore them). */
mlpc_net *mlpc_file_read(const char *path, mlpc_blob *extra, int max_extra, int *n_extra,
                         mlpc_error *err);
/* Atomic write of a byte buffer (same protocol). */
mlpc_status mlpc_atomic_write(const char *path, const void *data, size_t size, mlpc_error *err);

#endif /* MLPC_INTERNAL_H */
