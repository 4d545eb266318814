/* byte_rows.c - an exact 8-bit copy of a training set for the batch gather.
 *
 * Image data (MNIST pixels) are bytes: after normalization every feature is
 * ((float)u - shift[j]) * scale[j] for a byte u. When that holds bit for bit
 * for every value of the set, the trainer keeps the bytes (a quarter of the
 * float32 size) and rebuilds each batch row with the same two float
 * operations, so the batch is identical to copying the float rows while the
 * gather reads 4x fewer bytes from memory. For W1 (batch 10, 784-30-10) the
 * float gather was about a quarter of the epoch. */
#include "kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row's bytes; returns non-zero if some value is not
 * ((float)u - shift[j]) * scale[j] bit for bit for a byte u. Branch-free so
 * that it vectorizes (the whole training set is checked once). */
MLPC_MULTIVERSION static int build_row(const float *restrict x, size_t n_in, const float *restrict shift,
                                       const float *restrict scale, uint8_t *restrict out)
{
    uint32_t bad = 0;
    for (size_t j = 0; j < n_in; j++) {
        float v = x[j], t = v / scale[j] + shift[j];
        int ok = (t >= -0.5f) & (t < 255.5f); /* false for NaN and infinities */
        int u = (int)((ok ? t : 0.0f) + 0.5f); /* the nearest byte, if v is one */
        float back = ((float)u - shift[j]) * scale[j]; /* what mlpc_byte_rows_gather computes */
        uint32_t a, b;
        memcpy(&a, &back, sizeof a);
        memcpy(&b, &v, sizeof b); /* bitwise: -0.0 is not 0.0 */
        bad |= (a ^ b) | (uint32_t)!ok;
        out[j] = (uint8_t)u;
    }
    return bad != 0;
}

uint8_t *mlpc_byte_rows_build(const float *x, size_t n, size_t n_in, const float *shift,
                          const float *scale)
{
    for (size_t j = 0; j < n_in; j++)
        if (!(scale[j] != 0.0f && isfinite(scale[j]) && isfinite(shift[j]))) return NULL;
    uint8_t *c = mlpc_big_alloc(n * n_in, 0); /* MNIST's 47 MB: huge pages, not 11,500 faults */
    if (!c) return NULL; /* no memory: the float gather still works */
    for (size_t i = 0; i < n; i++)
        if (build_row(x + i * n_in, n_in, shift, scale, c + i * n_in)) {
            free(c);
            return NULL;
        }
    return c;
}

/* rows this far ahead are asked into L1 while a row is converted: the rows
 * are scattered, so the hardware prefetcher cannot guess them (a W2 batch,
 * 1,500 random rows of 784 bytes, converted in 0.30 ms instead of 0.59) */
#define GATHER_AHEAD 8

MLPC_MULTIVERSION static void byte_rows_gather_mv(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows,
                                              int m, const float *shift, const float *scale, float *dst)
{
    for (int i = 0; i < m; i++) {
        if (i + GATHER_AHEAD < m) {
            const char *p = (const char *)(byte_rows + (size_t)rows[i + GATHER_AHEAD] * n_in);
            for (size_t o = 0; o < n_in; o += 64) __builtin_prefetch(p + o, 0, 3);
            __builtin_prefetch(p + n_in - 1, 0, 3); /* the row's last line */
        }
        const uint8_t *restrict c = byte_rows + (size_t)rows[i] * n_in;
        float *restrict o = dst + (size_t)i * n_in;
        for (size_t j = 0; j < n_in; j++) o[j] = ((float)c[j] - shift[j]) * scale[j];
    }
}

int mlpc_byte_rows_gather_bf16(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m,
                               const float *shift, const float *scale, uint16_t *dst, int ldb)
{
    mlpc_bf16_row_fn row = mlpc_bf16_bytes_row_select();
    if (!row) return 0;
    for (int i = 0; i < m; i++) {
        if (i + GATHER_AHEAD < m) {
            const char *p = (const char *)(byte_rows + (size_t)rows[i + GATHER_AHEAD] * n_in);
            for (size_t o = 0; o < n_in; o += 64) __builtin_prefetch(p + o, 0, 3);
            __builtin_prefetch(p + n_in - 1, 0, 3);
        }
        uint16_t *o = dst + (size_t)i * ldb;
        row(byte_rows + (size_t)rows[i] * n_in, (int)n_in, shift, scale, o);
        for (size_t j = n_in; j < (size_t)ldb; j++) o[j] = 0;
    }
    return 1;
}

/* into L2 (locality 2: measured 4% faster on W1 than into L1) */
void mlpc_byte_rows_prefetch(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m)
{
    for (int i = 0; i < m; i++) {
        const uint8_t *p = byte_rows + (size_t)rows[i] * n_in;
        for (size_t o = 0; o < n_in; o += 64) __builtin_prefetch(p + o, 0, 2);
    }
}

/* GCC exports the resolver of a cloned function whatever -fvisibility says
 * (tests/cli/test_symbols.sh): the clones are static, called from here. */
void mlpc_byte_rows_gather(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m, const float *shift,
                       const float *scale, float *dst)
{
    byte_rows_gather_mv(byte_rows, n_in, rows, m, shift, scale, dst);
}
