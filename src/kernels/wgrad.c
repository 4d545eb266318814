/* wgrad.c - the weight gradient of a small batch, G = A^T D (A: m x lda
 * activations, D: m x out deltas), with an optional plain SGD step
 * W -= lr G done in the same pass while each row of G is in registers.
 *
 * With a batch of up to a few dozen rows the product is short (K = m), so
 * a GEMM call per 8-row tile spends much of its time on set-up, zeroing and
 * the epilogue, and the SGD update then reads G and W again. W1 (784-30-10,
 * batch 10) spent 27% of its epoch in the gradient tiles and 12% in the
 * update. Here one loop walks the rows in tiles of 8 x 32 columns: the same
 * k order and the same FMAs as the GEMM tiles (G is bit for bit what
 * mlpc_gemm_avx512 writes), and W -= lr G with the same two roundings as
 * mlpc_opt_apply (the Makefile turns FMA contraction off; the FMAs here are
 * explicit). */
#include "kernels/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_WGRAD_AVX512 1
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/* R rows (r0..r0+R of G) x nv vectors (columns c0..c0+16 nv, masked by
 * m0, m1); R and nv are constants in each caller so the accumulators stay
 * in registers */
static inline T512 __attribute__((always_inline)) void
tile(int R, int nv, int m, const float *A, int lda, const float *D, int out, float *G, float *W,
     float lr, __mmask16 m0, __mmask16 m1)
{
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    for (int k = 0; k < m; k++) {
        const float *d = D + (size_t)k * out, *a = A + (size_t)k * lda;
        __m512 d0 = _mm512_maskz_loadu_ps(m0, d);
        __m512 d1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, d + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, d0, acc[i][0]);
            if (nv > 1) acc[i][1] = _mm512_fmadd_ps(ai, d1, acc[i][1]);
        }
    }
    if (!W) {
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            _mm512_mask_storeu_ps(G + (size_t)i * out, m0, acc[i][0]);
            if (nv > 1) _mm512_mask_storeu_ps(G + (size_t)i * out + 16, m1, acc[i][1]);
        }
        return;
    }
    /* The R rows of G and W are R * out contiguous floats. Updating W row by
     * row with masked loads and stores was 1.8x slower on W1 (out 30): a
     * row's masked store covers the first bytes of the next row, so the
     * next masked load waited for it. So the tile is compacted through a
     * buffer in L1 and G and W are then walked as whole vectors. */
    float tmp[8 * 32] __attribute__((aligned(64)));
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(tmp + i * out, m0, acc[i][0]);
        if (nv > 1) _mm512_mask_storeu_ps(tmp + i * out + 16, m1, acc[i][1]);
    }
    const __m512 vlr = _mm512_set1_ps(lr);
    int L = R * out, q = 0;
    for (; q + 16 <= L; q += 16) {
        __m512 g = _mm512_loadu_ps(tmp + q);
        if (G) _mm512_storeu_ps(G + q, g);
        _mm512_storeu_ps(W + q, _mm512_sub_ps(_mm512_loadu_ps(W + q), _mm512_mul_ps(vlr, g)));
    }
    if (q < L) {
        __mmask16 mk = (__mmask16)((1u << (L - q)) - 1u);
        __m512 g = _mm512_maskz_loadu_ps(mk, tmp + q);
        if (G) _mm512_mask_storeu_ps(G + q, mk, g);
        _mm512_mask_storeu_ps(W + q, mk, _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, W + q), _mm512_mul_ps(vlr, g)));
    }
}

static T512 void wgrad_avx512(int rows, int out, int m, const float *A, int lda, const float *D,
                              float *G, float *W, float lr)
{
    for (int c0 = 0; c0 < out; c0 += 32) { /* one chunk when W is given (out <= 32) */
        int n = out - c0 < 32 ? out - c0 : 32;
        __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
        __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffffu : n > 16 ? (1u << (n - 16)) - 1u : 0u);
        const float *Dc = D + c0;
        float *Gc = G ? G + c0 : NULL, *Wc = W ? W + c0 : NULL;
        int r = 0;
        if (n > 16) {
            for (; r + 8 <= rows; r += 8)
                tile(8, 2, m, A + r, lda, Dc, out, Gc ? Gc + (size_t)r * out : NULL, Wc ? Wc + (size_t)r * out : NULL, lr, m0, m1);
            for (; r < rows; r++)
                tile(1, 2, m, A + r, lda, Dc, out, Gc ? Gc + (size_t)r * out : NULL, Wc ? Wc + (size_t)r * out : NULL, lr, m0, m1);
        } else {
            for (; r + 8 <= rows; r += 8)
                tile(8, 1, m, A + r, lda, Dc, out, Gc ? Gc + (size_t)r * out : NULL, Wc ? Wc + (size_t)r * out : NULL, lr, m0, m1);
            for (; r < rows; r++)
                tile(1, 1, m, A + r, lda, Dc, out, Gc ? Gc + (size_t)r * out : NULL, Wc ? Wc + (size_t)r * out : NULL, lr, m0, m1);
        }
    }
}
#endif

int mlpc_k_wgrad_small(int rows, int out, int m, const float *A, int lda, const float *D, float *G,
                       float *W, float lr)
{
#ifdef HAVE_WGRAD_AVX512
    if ((G || W) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && (!W || out <= 32)) {
        wgrad_avx512(rows, out, m, A, lda, D, G, W, lr);
        return 1;
    }
#endif
    (void)rows, (void)out, (void)m, (void)A, (void)lda, (void)D, (void)G, (void)W, (void)lr;
    return 0;
}

