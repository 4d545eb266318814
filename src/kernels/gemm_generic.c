/* gemm_generic.c - portable packed GEMM (baseline x86-64 SSE or any CPU). */
#define GEMM_NAME mlpc_gemm_generic
#define VW 4
#define MR 4
#define NR 8
#include "kernels/gemm_impl.h"

size_t mlpc_gemm_scratch_floats(void)
{
    /* the largest variant's MC*KC + KC*NC (avx512: MR 12, NR 32) */
    return (size_t)132 * 256 + (size_t)256 * 48 * 64;
}
