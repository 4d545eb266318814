/* gemm_avx2.c - packed GEMM for AVX2+FMA (compiled with -mavx2 -mfma). */
#define GEMM_NAME mlpc_gemm_avx2
#define VW 8
#define MR 6
#define NR 16
#include "kernels/gemm_impl.h"
