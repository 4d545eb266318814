/* gemm_select.c - run-time choice of the GEMM variant from cpuid. */
#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

mlpc_gemm_fn mlpc_gemm_select(const char **name)
{
    const char *n = "generic";
    mlpc_gemm_fn f = mlpc_gemm_generic;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
        n = "avx512";
        f = mlpc_gemm_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        n = "avx2";
        f = mlpc_gemm_avx2;
    }
    /* MLPC_GEMM=avx2|generic picks a lower variant (for A/B measurements) */
    const char *want = getenv("MLPC_GEMM");
    if (want && !strcmp(want, "generic")) {
        n = "generic";
        f = mlpc_gemm_generic;
    } else if (want && !strcmp(want, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        n = "avx2";
        f = mlpc_gemm_avx2;
    }
#endif
    if (name) *name = n;
    return f;
}
