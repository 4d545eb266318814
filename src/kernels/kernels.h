/* kernels.h - the CPU kernels behind the CPU backend (single-threaded over
 * the range they are given; src/backend/cpu.c splits work over threads). */
#ifndef MLPC_KERNELS_H
#define MLPC_KERNELS_H

#include "internal.h"

/* Z[M x N] = act(Z + b), in place */
void mlpc_k_bias_act(float *Z, const float *b, int M, int N, mlpc_act act);
/* D[M x N] *= act'(.) given the output A */
void mlpc_k_act_backward(float *D, const float *A, int M, int N, mlpc_act act);
/* out[j] = sum_i D[i][j] for j in [j0, j1) */
void mlpc_k_col_sum(const float *D, int M, int N, int j0, int j1, float *out);
/* Summed loss over M rows (see mlpc_backend.loss). */
double mlpc_k_loss(mlpc_loss loss, mlpc_act out_act, const float *A, const int32_t *labels,
                   const float *targets, int M, int N, float *delta, float scale, double *aux);

/* rows8.c: an exact byte copy of normalized rows for the batch gather.
 * Returns the n x n_in bytes u with ((float)u - shift[j]) * scale[j] equal
 * bit for bit to x, or NULL when some value is not of that form (or memory
 * is short): then the caller gathers the float rows. */
uint8_t *mlpc_rows8_build(const float *x, size_t n, size_t n_in, const float *shift,
                          const float *scale);
/* dst[i] = the float row rows[i] rebuilt from its bytes, for i < m */
void mlpc_rows8_gather(const uint8_t *codes, size_t n_in, const uint32_t *rows, int m,
                       const float *shift, const float *scale, float *dst);
/* asks for the byte rows to be brought into cache */
void mlpc_rows8_prefetch(const uint8_t *codes, size_t n_in, const uint32_t *rows, int m);

#endif
