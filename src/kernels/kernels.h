/* kernels.h - the CPU kernels behind the CPU backend (single-threaded over
 * the range they are given; src/backend/cpu.c splits work over threads). */
#ifndef MLPC_KERNELS_H
#define MLPC_KERNELS_H

#include "core/core.h"

/* Z[M x N] = act(Z + b), in place */
void mlpc_k_bias_act(float *Z, const float *b, int M, int N, mlpc_act act);
/* D[M x N] *= act'(.) given the output A */
void mlpc_k_act_backward(float *D, const float *A, int M, int N, mlpc_act act);
/* out[j] = sum_i D[i][j] for j in [j0, j1) */
void mlpc_k_col_sum(const float *D, int M, int N, int j0, int j1, float *out);
/* Summed loss over M rows (see mlpc_backend.loss). */
double mlpc_k_loss(mlpc_loss loss, mlpc_act out_act, const float *A, const int32_t *labels,
                   const float *targets, int M, int N, float *delta, float scale, double *aux);

/* wgrad.c: G[rows x out] = A^T D for a small batch (A: m rows of stride
 * lda, its first `rows` columns; D: m x out), and if W is not NULL the plain
 * SGD step W -= lr G (W rows of stride out) in the same pass. Returns 0,
 * computing nothing, when this CPU has no kernel for it (the caller uses
 * the GEMM and the optimizer), or when G and W are both NULL. */
int mlpc_k_wgrad_small(int rows, int out, int m, const float *A, int lda, const float *D, float *G,
                       float *W, float lr);

/* the depth of the GEMM's k blocks for a product of depth K (gemm_impl.h:
 * K in equal blocks of at most 256, as 784 = 4 x 196) */
static inline int mlpc_gemm_kstep(int K)
{
    if (K <= 0) return 1;
    int kb = (K + 255) / 256;
    return (K + kb - 1) / kb;
}

/* sparse.c: the first layer of a small batch over the input columns that
 * are not +0.0 in every row. mlpc_k_active_cols lists them (ascending) in
 * idx (n entries at most) and returns how many. mlpc_k_gemm_cols computes
 * C[M x N] = A B from those columns of A (M x K, stride lda) and rows of B,
 * bit for bit the avx512 GEMM's C = A B (beta 0) for finite B (but for the
 * sign of a zero sum that a tiny negative product underflowed to -0).
 * mlpc_k_sgd_rows does the plain SGD step W -= lr A^T D on the listed rows
 * of W (in x out, out <= 32; the others have a zero gradient) and, if G is
 * not NULL, writes the whole gradient there. Both return 0, computing
 * nothing, when this CPU has no kernel for them. */
int mlpc_k_active_cols(const float *X, int m, int n, int32_t *idx);
int mlpc_k_gemm_cols(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     const int32_t *idx, int n, float *C, int ldc);
int mlpc_k_sgd_rows(int in, int out, int m, const float *A, int lda, const float *D, const int32_t *idx,
                    int n, float *W, float lr, float *G);
/* acc[j] |= byte j of the byte rows rows[0..m) (n_in bytes each): the
 * columns a batch of byte rows uses (cpu.c) */
void mlpc_k_bytes_or(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m, uint8_t *acc);
/* acc[j] |= word j of each of m rows of n words, ld words apart (the
 * pairs a batch of bf16 rows uses) */
void mlpc_k_words_or(const uint32_t *rows, int m, long ld, int n, uint32_t *acc);

/* byte_rows.c: an exact byte copy of normalized rows for the batch gather.
 * Returns the n x n_in bytes u with ((float)u - shift[j]) * scale[j] equal
 * bit for bit to x, or NULL when some value is not of that form (or memory
 * is short): then the caller gathers the float rows. */
uint8_t *mlpc_byte_rows_build(const float *x, size_t n, size_t n_in, const float *shift,
                          const float *scale);
/* dst[i] = the float row rows[i] rebuilt from its bytes, for i < m */
void mlpc_byte_rows_gather(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m,
                       const float *shift, const float *scale, float *dst);
/* the same rows rounded to bf16 (mlpc_bf16_bytes_row), ldb apart, a zero
 * after an odd n_in; returns 0, writing nothing, without AVX512_BF16 */
int mlpc_byte_rows_gather_bf16(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m,
                               const float *shift, const float *scale, uint16_t *dst, int ldb);
/* asks for the byte rows to be brought into cache */
void mlpc_byte_rows_prefetch(const uint8_t *byte_rows, size_t n_in, const uint32_t *rows, int m);

/* ---- GEMM (gemm_*.c) ---------------------------------------------------- */

/* The naive reference GEMM: the test oracle and the fallback. */
void mlpc_gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);

/* Single-threaded packed GEMM variants, one per instruction set; `pack` is
 * scratch of mlpc_gemm_scratch_floats() floats. */
typedef void (*mlpc_gemm_fn)(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                             int lda, const float *B, int ldb, float beta, float *C, int ldc,
                             float *pack);
void mlpc_gemm_generic(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc, float *pack);
void mlpc_gemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc, float *pack);
void mlpc_gemm_avx512(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc, float *pack);
size_t mlpc_gemm_scratch_floats(void);
/* the avx512 GEMM's C = A B over the n listed columns of A and rows of B
 * (idx, ascending): its bits but for skipped terms (gemm_impl.h) */
void mlpc_gemm_avx512_cols(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           const int32_t *idx, int n, float *C, int ldc);
/* and C (M x N) = rows cols[0..M) of A^T B (alpha 1, beta 0): its rows of
 * that product bit for bit (pack: mlpc_gemm_scratch_floats()) */
void mlpc_gemm_avx512_tcols(int M, int N, int K, const float *A, int lda, const int32_t *cols, const float *B,
                            int ldb, float *C, int ldc, float *pack);
/* The variant this CPU runs (chosen once from cpuid), and its name. */
mlpc_gemm_fn mlpc_gemm_select(const char **name);

/* ---- bf16 products, float32 sums (gemm_bf16.c) --------------------------- */

/* float32 -> bf16 as vcvtne2ps2bf16 rounds (to nearest even; a denormal
 * becomes a signed zero; a NaN stays a quiet NaN), and back (exact) */
uint16_t mlpc_bf16_round(float x);
float mlpc_bf16_float(uint16_t h);
/* C[M x N] = op(A) op(B) (alpha 1, beta 0) with both operands rounded to
 * bf16 and the products summed in float32 in pairs of k, in the order
 * gemm_bf16.c states: the reference twin (plain C, the test oracle) and the
 * AVX512_BF16 kernel (pack: mlpc_gemm_bf16_scratch_floats() floats), which
 * equals it bit for bit. */
void mlpc_gemm_bf16_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                        int ldb, float *C, int ldc);
typedef void (*mlpc_gemm_bf16_fn)(int ta, int tb, int M, int N, int K, const float *A, int lda,
                                  const float *B, int ldb, float *C, int ldc, float *pack);
void mlpc_gemm_bf16_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float *C, int ldc, float *pack);
size_t mlpc_gemm_bf16_scratch_floats(void);
/* the bf16 kernel this CPU runs, or NULL when it has no AVX512_BF16 */
mlpc_gemm_bf16_fn mlpc_gemm_bf16_select(void);
/* The same product with A given already rounded to bf16 (row-major, lda
 * elements apart): equal bit for bit to mlpc_gemm_bf16_avx512 on A's float
 * values, without converting A (not transposed, with K and lda even and A
 * 4-byte aligned, its rows are read in place). NULL from the selector where
 * the CPU has no AVX512_BF16. */
typedef void (*mlpc_gemm_bf16a_fn)(int ta, int tb, int M, int N, int K, const uint16_t *A, int lda,
                                   const float *B, int ldb, float *C, int ldc, float *pack);
void mlpc_gemm_bf16a_avx512(int ta, int tb, int M, int N, int K, const uint16_t *A, int lda, const float *B,
                            int ldb, float *C, int ldc, float *pack);
mlpc_gemm_bf16a_fn mlpc_gemm_bf16a_select(void);
/* B packed whole beforehand, so that the threads splitting a product by
 * rows share one packing of it: mlpc_gemm_bf16_pack_b packs slivers
 * [s0, s1) of op(B) (K x N; mlpc_gemm_bf16_slivers(N) in all) into Bw
 * (mlpc_gemm_bf16_packed_words(K, N) words), and the product against it
 * (A in float32, or in bf16 as Ab with A NULL) equals the one that packs B
 * itself bit for bit. NULL from the selectors without AVX512_BF16. */
typedef void (*mlpc_bf16_pack_fn)(int tb, int K, int N, const float *B, int ldb, uint32_t *Bw, int s0, int s1);
typedef void (*mlpc_gemm_bf16pb_fn)(int ta, int M, int N, int K, const float *A, const uint16_t *Ab, int lda,
                                    const uint32_t *Bw, float *C, int ldc, float *pack);
void mlpc_gemm_bf16_pack_b(int tb, int K, int N, const float *B, int ldb, uint32_t *Bw, int s0, int s1);
void mlpc_gemm_bf16_pb_avx512(int ta, int M, int N, int K, const float *A, const uint16_t *Ab, int lda,
                              const uint32_t *Bw, float *C, int ldc, float *pack);
/* rows [k0, k1) of B (not transposed; k0 even, k1 even or K) into Bw: a
 * range of weights packed right after the optimizer wrote them */
typedef void (*mlpc_bf16_pack_rows_fn)(int K, int N, const float *B, int ldb, uint32_t *Bw, int k0, int k1);
void mlpc_gemm_bf16_pack_b_rows(int K, int N, const float *B, int ldb, uint32_t *Bw, int k0, int k1);
mlpc_bf16_pack_rows_fn mlpc_gemm_bf16_pack_rows_select(void);
/* C = A B over the n listed pairs of k (px ascending; A in bf16 rows read
 * in place, B packed whole): the product against Bw less the skipped
 * pairs' terms, bit for bit where those are +0.0 in A (cpu.c). Only where
 * mlpc_gemm_bf16_select() is not NULL. */
void mlpc_gemm_bf16_pairs(int M, int N, int K, const uint16_t *Ab, int lda, const uint32_t *Bw, const int32_t *px,
                          int n, float *C, int ldc);
/* C (M x N) = rows cols[0..M) of A^T B, A in bf16 rows (K of them, lda
 * apart), B K x N (or packed whole: Bw): those rows of the bf16 product bit
 * for bit (pack: mlpc_gemm_bf16_scratch_floats()). Only with the kernel. */
void mlpc_gemm_bf16_tcols(int M, int N, int K, const uint16_t *Ab, int lda, const int32_t *cols, const float *B,
                          int ldb, const uint32_t *Bw, float *C, int ldc, float *pack);
size_t mlpc_gemm_bf16_packed_words(int K, int N);
int mlpc_gemm_bf16_slivers(int N);
mlpc_bf16_pack_fn mlpc_gemm_bf16_pack_select(void);
mlpc_gemm_bf16pb_fn mlpc_gemm_bf16pb_select(void);
/* dst[j] = bf16(((float)u[j] - shift[j]) * scale[j]) for j < n: the byte
 * gather's value (byte_rows.c), rounded as the bf16 products round it */
typedef void (*mlpc_bf16_row_fn)(const uint8_t *u, int n, const float *shift, const float *scale, uint16_t *dst);
void mlpc_bf16_bytes_row(const uint8_t *u, int n, const float *shift, const float *scale, uint16_t *dst);
mlpc_bf16_row_fn mlpc_bf16_bytes_row_select(void);

#endif
