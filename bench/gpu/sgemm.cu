// sgemm.cu - the GPU's FP32 matrix-product rate through cuBLAS, for
// bench/gpu/run.sh: C = A B with n x n matrices (default 8192), plain FP32
// (CUBLAS_PEDANTIC_MATH: no TF32), CUDA events around each product after
// 3 warm-up products, the median of R (default 10). One JSON line.
// Built by bench/gpu/bundle.sh: nvcc -O2 -o gpu_sgemm sgemm.cu -lcublas
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

#define CK(x)                                                                                       \
    do {                                                                                            \
        cudaError_t e_ = (x);                                                                       \
        if (e_ != cudaSuccess) {                                                                    \
            fprintf(stderr, "gpu_sgemm: %s: %s\n", #x, cudaGetErrorString(e_));                    \
            return 1;                                                                               \
        }                                                                                           \
    } while (0)
#define CB(x)                                                                                       \
    do {                                                                                            \
        cublasStatus_t s_ = (x);                                                                    \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                          \
            fprintf(stderr, "gpu_sgemm: %s: %s\n", #x, cublasGetStatusString(s_));                 \
            return 1;                                                                               \
        }                                                                                           \
    } while (0)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8192, reps = argc > 2 ? atoi(argv[2]) : 10;
    if (n < 64 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: gpu_sgemm [N >= 64] [REPS 1..100]\n");
        return 2;
    }
    size_t bytes = (size_t)n * n * sizeof(float);
    float *a, *b, *c;
    CK(cudaMalloc(&a, bytes));
    CK(cudaMalloc(&b, bytes));
    CK(cudaMalloc(&c, bytes));
    CK(cudaMemset(a, 0x3c, bytes)); // 0x3c3c3c3c = 0.0115: normal floats, no denormals
    CK(cudaMemset(b, 0x3c, bytes));
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
    const float one = 1.0f, zero = 0.0f;
    for (int i = 0; i < 3; i++) CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    float ms[100];
    for (int r = 0; r < reps; r++) {
        CK(cudaEventRecord(e0));
        CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaEventElapsedTime(&ms[r], e0, e1));
    }
    qsort(ms, (size_t)reps, sizeof ms[0], cmp);
    float med = reps % 2 ? ms[reps / 2] : 0.5f * (ms[reps / 2 - 1] + ms[reps / 2]);
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("{\"workload\":\"sgemm\",\"impl\":\"cuBLAS sgemm (gpu_sgemm, FP32 pedantic)\",\"device\":\"%s\","
           "\"m\":%d,\"n\":%d,\"k\":%d,\"reps\":%d,\"sec\":%.6g,\"sec_min\":%.6g,\"gflops\":%.6g}\n",
           p.name, n, n, n, reps, med * 1e-3, ms[0] * 1e-3, 2.0 * n * (double)n * n / (med * 1e-3) * 1e-9);
    cublasDestroy(h);
    return 0;
}
