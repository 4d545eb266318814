/* gemm_avx512.c - packed GEMM for AVX-512F (compiled with -mavx512f ...). */
#define GEMM_NAME mlpc_gemm_avx512
#define VW 16
#define MR 8
#define NR 32
#include "kernels/gemm_impl.h"
