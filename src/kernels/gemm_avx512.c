/* gemm_avx512.c - packed GEMM for AVX-512F (compiled with -mavx512f ...).
 * MR 8 x NR 48: 24 zmm accumulators, 3 loads of B and 8 broadcasts per 24
 * FMAs; 48 columns fit 100 and 200 wide layers well. Narrow column edges use
 * masked loads and stores instead of packing. */
#include <immintrin.h>

#define GEMM_NAME mlpc_gemm_avx512
#define VW 16
#define MR 8
#define NR 48
#define WIDE_MR 12 /* 12 x 2 accumulators + 2 of B fit the 32 zmm */
#define LOAD_N(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define STORE_N(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#define FMA_S(a, b, c) ((vf)_mm512_fmadd_ps(_mm512_set1_ps(a), (__m512)(b), (__m512)(c)))
#include "kernels/gemm_impl.h"
