/* gemm_avx2.c - packed GEMM for AVX2+FMA (compiled with -mavx2 -mfma).
 * MR 6 x NR 16: 12 ymm accumulators. Narrow column edges use masked loads. */
#include <immintrin.h>

#define GEMM_NAME mlpc_gemm_avx2
#define VW 8
#define MR 6
#define NR 16
static inline __m256 load_n_avx2(const float *p, int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
    return _mm256_maskload_ps(p, mask);
}
static inline void store_n_avx2(float *p, __m256 v, int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx), v);
}
#define LOAD_N(p, n) ((vf)load_n_avx2((p), (n)))
#define STORE_N(p, v, n) store_n_avx2((p), (__m256)(v), (n))
#define FMA_S(a, b, c) ((vf)_mm256_fmadd_ps(_mm256_set1_ps(a), (__m256)(b), (__m256)(c)))
#include "kernels/gemm_impl.h"
