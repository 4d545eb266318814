/* act.c - activations: forward (bias + activation, in place) and backward
 * (multiply a delta by the derivative, expressed through the output A). */
#include "kernels/kernels.h"

#include <math.h>

#define LEAKY_SLOPE 0.01f


/* expf without a library call, so loops over it vectorize: Cody-Waite
 * reduction x = n ln2 + r, a degree-6 polynomial for e^r (Cephes), and the
 * exponent n put in by bit arithmetic. Relative error about 2e-7 on
 * [-87, 88]; inputs outside are clamped (e^-87 ~ 1.6e-38, e^88 ~ 1.7e38). */
static inline float exp_poly(float xin)
{
    float x = xin < -87.0f ? -87.0f : (xin > 88.0f ? 88.0f : xin);
    x = x == x ? x : 0.0f; /* NaN: compute on 0, return NaN below (no UB on the cast) */
    /* round to nearest by the 1.5 * 2^23 trick (no libm call, vectorizes) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return xin == xin ? p * scale : xin;
}

MLPC_MULTIVERSION static void sigmoid_rows(float *Z, const float *b, int M, int N)
{
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j++) z[j] = 1.0f / (1.0f + exp_poly(-(z[j] + b[j])));
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_SIGMOID_AVX512 1
/* The same sigmoid in AVX-512 with the division replaced by a reciprocal
 * estimate and one Newton step (relative error ~2^-28, within float
 * rounding), and 2^n by scalef: the division was most of the cost. NaN
 * inputs stay NaN, so divergence shows in the loss. */
__attribute__((target("avx512f"))) static inline __m512 exp512(__m512 xin)
{
    __m512 x = _mm512_min_ps(_mm512_max_ps(xin, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512 e = _mm512_scalef_ps(p, n);
    __mmask16 nan = _mm512_cmp_ps_mask(xin, xin, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(nan, e, xin);
}

__attribute__((target("avx512f"))) static void sigmoid_rows_avx512(float *Z, const float *b, int M, int N)
{
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j += 16) {
            __mmask16 m = N - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (N - j)) - 1u);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, z + j), _mm512_maskz_loadu_ps(m, b + j));
            __m512 d = _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), v)));
            __m512 rc = _mm512_rcp14_ps(d);
            rc = _mm512_mul_ps(rc, _mm512_fnmadd_ps(d, rc, two));
            /* d is NaN for a NaN input, and rcp14 of NaN is NaN */
            _mm512_mask_storeu_ps(z + j, m, rc);
        }
    }
}
#endif

/* tanh(x) = 1 - 2 / (e^{2x} + 1): exact at the tails, absolute error ~1e-7 near 0 */
MLPC_MULTIVERSION static void tanh_rows(float *Z, const float *b, int M, int N)
{
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j++) z[j] = 1.0f - 2.0f / (exp_poly(2.0f * (z[j] + b[j])) + 1.0f);
    }
}

MLPC_MULTIVERSION static void relu_rows(float *Z, const float *b, int M, int N, float slope)
{
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j++) {
            float v = z[j] + b[j];
            z[j] = v > 0.0f ? v : slope * v;
        }
    }
}

MLPC_MULTIVERSION static void bias_rows(float *Z, const float *b, int M, int N)
{
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j++) z[j] += b[j];
    }
}

/* softmax of one row in place (max-shifted) */
static void softmax_row(float *z, int n)
{
    float mx = z[0];
    for (int j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
    float s = 0.0f;
    for (int j = 0; j < n; j++) {
        z[j] = exp_poly(z[j] - mx);
        s += z[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++) z[j] *= inv;
}

void mlpc_k_bias_act(float *Z, const float *b, int M, int N, mlpc_act act)
{
    switch (act) {
    case MLPC_ACT_SIGMOID:
#ifdef HAVE_SIGMOID_AVX512
        if (__builtin_cpu_supports("avx512f")) {
            sigmoid_rows_avx512(Z, b, M, N);
            return;
        }
#endif
        sigmoid_rows(Z, b, M, N);
        return;
    case MLPC_ACT_TANH: tanh_rows(Z, b, M, N); return;
    case MLPC_ACT_RELU: relu_rows(Z, b, M, N, 0.0f); return;
    case MLPC_ACT_LEAKY_RELU: relu_rows(Z, b, M, N, LEAKY_SLOPE); return;
    case MLPC_ACT_SOFTMAX:
        bias_rows(Z, b, M, N);
        for (int i = 0; i < M; i++) softmax_row(Z + (size_t)i * N, N);
        return;
    case MLPC_ACT_LINEAR:
    case MLPC_ACT_COUNT:
        bias_rows(Z, b, M, N);
        return;
    }
}

/* GCC exports the resolver of a cloned function whatever -fvisibility says
 * (tests/cli/test_symbols.sh): the clones are static, called below. Both
 * loops keep each element's own order of operations (no sum across
 * elements is reordered), so the clones give the same bits. */
MLPC_MULTIVERSION static void act_backward_mv(float *restrict D, const float *restrict A, int M, int N,
                                              mlpc_act act)
{
    for (int i = 0; i < M; i++) {
        float *d = D + (size_t)i * N;
        const float *a = A + (size_t)i * N;
        switch (act) {
        case MLPC_ACT_SIGMOID:
            for (int j = 0; j < N; j++) d[j] *= a[j] * (1.0f - a[j]);
            break;
        case MLPC_ACT_TANH:
            for (int j = 0; j < N; j++) d[j] *= 1.0f - a[j] * a[j];
            break;
        case MLPC_ACT_RELU:
            for (int j = 0; j < N; j++) d[j] = a[j] > 0.0f ? d[j] : 0.0f;
            break;
        case MLPC_ACT_LEAKY_RELU:
            for (int j = 0; j < N; j++) d[j] = a[j] > 0.0f ? d[j] : LEAKY_SLOPE * d[j];
            break;
        case MLPC_ACT_SOFTMAX: { /* dz_j = a_j (d_j - sum_k d_k a_k) */
            float s = 0.0f;
            for (int j = 0; j < N; j++) s += d[j] * a[j];
            for (int j = 0; j < N; j++) d[j] = a[j] * (d[j] - s);
            break;
        }
        case MLPC_ACT_LINEAR:
        case MLPC_ACT_COUNT:
            break;
        }
    }
}

void mlpc_k_act_backward(float *D, const float *A, int M, int N, mlpc_act act)
{
    act_backward_mv(D, A, M, N, act);
}

/* each column summed over the rows in order, a column per vector lane */
MLPC_MULTIVERSION static void col_sum_mv(const float *restrict D, int M, int N, int j0, int j1,
                                         float *restrict out)
{
    for (int j = j0; j < j1; j++) out[j] = 0.0f;
    for (int i = 0; i < M; i++) {
        const float *d = D + (size_t)i * N;
        for (int j = j0; j < j1; j++) out[j] += d[j];
    }
}

void mlpc_k_col_sum(const float *D, int M, int N, int j0, int j1, float *out)
{
    col_sum_mv(D, M, N, j0, j1, out);
}
