/* rows8.c - an exact 8-bit copy of a training set for the batch gather.
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

/* the byte whose normalization gives v exactly, or -1 */
static int code_of(float v, float shift, float scale)
{
    if (!isfinite(v)) return -1;
    float u = nearbyintf(v / scale + shift);
    if (!(u >= 0.0f && u <= 255.0f)) return -1;
    float back = (u - shift) * scale;
    if (memcmp(&back, &v, sizeof v)) return -1; /* bitwise: -0.0 is not 0.0 */
    return (int)u;
}

uint8_t *mlpc_rows8_build(const float *x, size_t n, size_t n_in, const float *shift,
                          const float *scale)
{
    for (size_t j = 0; j < n_in; j++)
        if (!(scale[j] != 0.0f && isfinite(scale[j]) && isfinite(shift[j]))) return NULL;
    /* a quick look at the first rows before allocating n x n_in bytes */
    size_t probe = n < 64 ? n : 64;
    for (size_t i = 0; i < probe; i++)
        for (size_t j = 0; j < n_in; j++)
            if (code_of(x[i * n_in + j], shift[j], scale[j]) < 0) return NULL;
    uint8_t *c = malloc(n * n_in);
    if (!c) return NULL; /* no memory: the float gather still works */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n_in; j++) {
            int u = code_of(x[i * n_in + j], shift[j], scale[j]);
            if (u < 0) {
                free(c);
                return NULL;
            }
            c[i * n_in + j] = (uint8_t)u;
        }
    return c;
}

MLPC_MULTIVERSION void mlpc_rows8_gather(const uint8_t *codes, size_t n_in, const uint32_t *rows,
                                         int m, const float *shift, const float *scale, float *dst)
{
    for (int i = 0; i < m; i++) {
        const uint8_t *restrict c = codes + (size_t)rows[i] * n_in;
        float *restrict o = dst + (size_t)i * n_in;
        for (size_t j = 0; j < n_in; j++) o[j] = ((float)c[j] - shift[j]) * scale[j];
    }
}

void mlpc_rows8_prefetch(const uint8_t *codes, size_t n_in, const uint32_t *rows, int m)
{
    for (int i = 0; i < m; i++) {
        const uint8_t *p = codes + (size_t)rows[i] * n_in;
        for (size_t o = 0; o < n_in; o += 64) __builtin_prefetch(p + o, 0, 3);
    }
}
