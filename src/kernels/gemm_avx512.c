/* gemm_avx512.c - packed GEMM for AVX-512F (compiled with -mavx512f ...).
 * MR 12 x NR 32: 24 zmm accumulators; 12 rows cover a batch of 10 in one
 * sliver. Narrow column edges use masked loads instead of packing. */
#include <immintrin.h>

#define GEMM_NAME mlpc_gemm_avx512
#define VW 16
#define MR 12
#define NR 32
#define LOAD_N(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#include "kernels/gemm_impl.h"
