/* sparse.c - the first layer of a small batch over the input columns that
 * are not zero in any of its rows.
 *
 * MNIST digits are 81% zero pixels; in a batch of 10 rows, 49% of the 784
 * columns are zero in every row (382 are used on average, 277 to 460). A
 * zero column adds nothing to the layer's product and its weight gradient
 * row is zero, so with plain SGD its weights do not change. These kernels
 * skip such columns and compute the rest exactly as the dense kernels do:
 * the same FMAs in the same k order, with K split in the same blocks as
 * the GEMM (mlpc_gemm_kstep), so the results are the avx512 GEMM's bit for
 * bit (a skipped term fma(+0, w, acc) leaves acc as it is unless acc is a
 * zero of the other sign or w is not finite). */
#include "kernels/kernels.h"

#include <string.h>

MLPC_MULTIVERSION static int active_cols_mv(const float *X, int m, int n, int32_t *idx)
{
    int c = 0;
    for (int j0 = 0; j0 < n; j0 += 64) {
        int w = n - j0 < 64 ? n - j0 : 64;
        uint32_t any[64] = {0};
        for (int i = 0; i < m; i++) {
            const float *x = X + (size_t)i * n + j0;
            for (int j = 0; j < w; j++) {
                uint32_t b;
                memcpy(&b, &x[j], sizeof b);
                any[j] |= b; /* -0.0 counts as used: only +0.0 is skipped */
            }
        }
        for (int j = 0; j < w; j++)
            if (any[j]) idx[c++] = j0 + j;
    }
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_SPARSE_AVX512 1
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
#define INLINE static inline T512 __attribute__((always_inline))

static int have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

/* R rows of C (R <= 12) x nv vectors of columns (masks m0, m1) */
INLINE void fwd_rows(int R, int nv, int K, const float *A, int lda, const float *B, int ldb,
                     const int32_t *idx, int n, float *C, int ldc, __mmask16 m0, __mmask16 m1)
{
    int kstep = mlpc_gemm_kstep(K), p = 0;
    for (int k0 = 0; k0 < K; k0 += kstep) {
        int k1 = K - k0 < kstep ? K : k0 + kstep;
        __m512 acc[12][2];
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        for (; p < n && idx[p] < k1; p++) {
            int k = idx[p];
            __m512 b0 = _mm512_maskz_loadu_ps(m0, B + (size_t)k * ldb);
            __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, B + (size_t)k * ldb + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
            for (int i = 0; i < R; i++) {
                __m512 a = _mm512_set1_ps(A[(size_t)i * lda + k]);
                acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
                if (nv > 1) acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
            }
        }
        /* the GEMM's epilogue: the first block's sum, then sum + C */
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            float *c = C + (size_t)i * ldc;
            __m512 v0 = acc[i][0], v1 = acc[i][1];
            if (k0) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
                if (nv > 1) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c + 16));
            }
            _mm512_mask_storeu_ps(c, m0, v0);
            if (nv > 1) _mm512_mask_storeu_ps(c + 16, m1, v1);
        }
    }
}

#define FWD_CASE(R_)                                                                   \
    case R_:                                                                           \
        if (nv > 1)                                                                    \
            fwd_rows(R_, 2, K, Ar, lda, Bc, ldb, idx, n, Cr, ldc, m0, m1);             \
        else                                                                           \
            fwd_rows(R_, 1, K, Ar, lda, Bc, ldb, idx, n, Cr, ldc, m0, m1);             \
        break;

static T512 void fwd_avx512(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                            const int32_t *idx, int n, float *C, int ldc)
{
    for (int c0 = 0; c0 < N; c0 += 32) {
        int w = N - c0 < 32 ? N - c0 : 32, nv = w > 16 ? 2 : 1;
        __mmask16 m0 = (__mmask16)(w >= 16 ? 0xffffu : (1u << w) - 1u);
        __mmask16 m1 = (__mmask16)(w >= 32 ? 0xffffu : w > 16 ? (1u << (w - 16)) - 1u : 0u);
        const float *Bc = B + c0;
        for (int r0 = 0; r0 < M; r0 += 12) {
            const float *Ar = A + (size_t)r0 * lda;
            float *Cr = C + (size_t)r0 * ldc + c0;
            switch (M - r0 < 12 ? M - r0 : 12) {
                FWD_CASE(1) FWD_CASE(2) FWD_CASE(3) FWD_CASE(4) FWD_CASE(5) FWD_CASE(6)
                FWD_CASE(7) FWD_CASE(8) FWD_CASE(9) FWD_CASE(10) FWD_CASE(11) FWD_CASE(12)
            }
        }
    }
}

/* R listed rows of W (R <= 8): their gradient rows G = A^T D over the m
 * batch rows, W -= lr G; all loads of W before the stores (a masked
 * store's footprint covers the start of the next row) */
INLINE void sgd_rows(int R, int nv, int out, int m, const float *A, int lda, const float *D,
                     const int32_t *rows, float *W, __m512 vlr, float *G, __mmask16 m0, __mmask16 m1)
{
    __m512 acc[8][2], w[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int b = 0; b < m; b++) {
        const float *d = D + (size_t)b * out, *a = A + (size_t)b * lda;
        __m512 d0 = _mm512_maskz_loadu_ps(m0, d);
        __m512 d1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, d + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[rows[i]]);
            acc[i][0] = _mm512_fmadd_ps(ai, d0, acc[i][0]);
            if (nv > 1) acc[i][1] = _mm512_fmadd_ps(ai, d1, acc[i][1]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        const float *r = W + (size_t)rows[i] * out;
        w[i][0] = _mm512_maskz_loadu_ps(m0, r);
        w[i][1] = nv > 1 ? _mm512_maskz_loadu_ps(m1, r + 16) : _mm512_setzero_ps();
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        float *r = W + (size_t)rows[i] * out;
        /* mlpc_opt_apply's w -= lr * g: two roundings (no contraction here) */
        _mm512_mask_storeu_ps(r, m0, _mm512_sub_ps(w[i][0], _mm512_mul_ps(vlr, acc[i][0])));
        if (nv > 1) _mm512_mask_storeu_ps(r + 16, m1, _mm512_sub_ps(w[i][1], _mm512_mul_ps(vlr, acc[i][1])));
        if (G) {
            float *g = G + (size_t)rows[i] * out;
            _mm512_mask_storeu_ps(g, m0, acc[i][0]);
            if (nv > 1) _mm512_mask_storeu_ps(g + 16, m1, acc[i][1]);
        }
    }
}

static T512 void sgd_avx512(int in, int out, int m, const float *A, int lda, const float *D,
                            const int32_t *idx, int n, float *W, float lr, float *G)
{
    __mmask16 m0 = (__mmask16)(out >= 16 ? 0xffffu : (1u << out) - 1u);
    __mmask16 m1 = (__mmask16)(out >= 32 ? 0xffffu : out > 16 ? (1u << (out - 16)) - 1u : 0u);
    const __m512 vlr = _mm512_set1_ps(lr);
    int p = 0;
    if (out > 16) {
        for (; p + 8 <= n; p += 8) sgd_rows(8, 2, out, m, A, lda, D, idx + p, W, vlr, G, m0, m1);
        for (; p < n; p++) sgd_rows(1, 2, out, m, A, lda, D, idx + p, W, vlr, G, m0, m1);
    } else {
        for (; p + 8 <= n; p += 8) sgd_rows(8, 1, out, m, A, lda, D, idx + p, W, vlr, G, m0, m1);
        for (; p < n; p++) sgd_rows(1, 1, out, m, A, lda, D, idx + p, W, vlr, G, m0, m1);
    }
    if (G) /* the skipped rows' gradient is zero */
        for (int k = 0, q = 0; k < in; k++) {
            if (q < n && idx[q] == k) {
                q++;
                continue;
            }
            memset(G + (size_t)k * out, 0, (size_t)out * sizeof *G);
        }
}
#endif

int mlpc_k_gemm_cols(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     const int32_t *idx, int n, float *C, int ldc)
{
#ifdef HAVE_SPARSE_AVX512
    if (have_avx512()) {
        fwd_avx512(M, N, K, A, lda, B, ldb, idx, n, C, ldc);
        return 1;
    }
#endif
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)idx, (void)n, (void)C, (void)ldc;
    return 0;
}

#define OR_AHEAD 8 /* rows */

/* rows of n_in bytes: acc[j] |= byte j of each listed row */
MLPC_MULTIVERSION static void bytes_or_mv(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m,
                                          uint8_t *restrict acc)
{
    for (int i = 0; i < m; i++) {
        if (i + OR_AHEAD < m) { /* random rows: asked for ahead, as the gather does */
            const char *p = (const char *)(bytes + (size_t)rows[i + OR_AHEAD] * n_in);
            for (size_t o = 0; o < n_in; o += 64) __builtin_prefetch(p + o, 0, 3);
            __builtin_prefetch(p + n_in - 1, 0, 3);
        }
        const uint8_t *r = bytes + (size_t)rows[i] * n_in;
        for (size_t j = 0; j < n_in; j++) acc[j] |= r[j];
    }
}

void mlpc_k_bytes_or(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m, uint8_t *acc)
{
    bytes_or_mv(bytes, n_in, rows, m, acc);
}

MLPC_MULTIVERSION static void words_or_mv(const uint32_t *rows, int m, long ld, int n, uint32_t *restrict acc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) acc[j] |= rows[(size_t)i * ld + j];
}

void mlpc_k_words_or(const uint32_t *rows, int m, long ld, int n, uint32_t *acc) { words_or_mv(rows, m, ld, n, acc); }

int mlpc_k_sgd_rows(int in, int out, int m, const float *A, int lda, const float *D, const int32_t *idx,
                    int n, float *W, float lr, float *G)
{
#ifdef HAVE_SPARSE_AVX512
    if (out <= 32 && have_avx512()) {
        sgd_avx512(in, out, m, A, lda, D, idx, n, W, lr, G);
        return 1;
    }
#endif
    (void)in, (void)out, (void)m, (void)A, (void)lda, (void)D, (void)idx, (void)n, (void)W, (void)lr, (void)G;
    return 0;
}

/* GCC exports the resolver of a cloned function whatever -fvisibility says
 * (tests/cli/test_symbols.sh): the clones are static, called from here. */
int mlpc_k_active_cols(const float *X, int m, int n, int32_t *idx)
{
    return active_cols_mv(X, m, n, idx);
}
