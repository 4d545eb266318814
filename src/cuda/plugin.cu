/* plugin.cu - the CUDA plugin's entry point and device enumeration.
 *
 * libmlpc_cuda.so exports one symbol, mlpc_cuda_plugin(), returning the
 * table of functions in src/cuda/plugin.h. The CUDA runtime is linked in
 * statically, so the only libraries it needs at load time are cuBLAS (found
 * through the rpath) and, when a device is first touched, the driver's
 * libcuda.so.1, which the runtime opens itself: without a driver, probe()
 * reports driver version 0 and the dlerror text of that library.
 * The training and inference sessions are in session.cu, the kernels in
 * kernels.cu. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "cuda/plugin.h"
#include "cuda/session.cuh"

/* the loader's copies of these values must match the runtime's enum */
static_assert(MLPC_CUDA_ERR_MEMORY == cudaErrorMemoryAllocation, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_INIT == cudaErrorInitializationError, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_STUB_LIBRARY == cudaErrorStubLibrary, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_INSUFFICIENT_DRIVER == cudaErrorInsufficientDriver, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_DEVICES_UNAVAILABLE == cudaErrorDevicesUnavailable, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_NO_DEVICE == cudaErrorNoDevice, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_NO_KERNEL_IMAGE == cudaErrorNoKernelImageForDevice, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_UNSUPPORTED_PTX == cudaErrorUnsupportedPtxVersion, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_SYSTEM_NOT_READY == cudaErrorSystemNotReady, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_DRIVER_MISMATCH == cudaErrorSystemDriverMismatch, "cudaError_t changed");
static_assert(MLPC_CUDA_ERR_COMPAT == cudaErrorCompatNotSupportedOnDevice, "cudaError_t changed");

#ifndef MLPC_CUDA_ARCHS
#define MLPC_CUDA_ARCHS "?"
#endif
#ifndef MLPC_CUDA_PTX
#define MLPC_CUDA_PTX "?"
#endif

#define STR2(x) #x
#define STR(x) STR2(x)

static void probe(mlpc_cuda_probe *out)
{
    memset(out, 0, sizeof *out);
    cudaRuntimeGetVersion(&out->runtime_version);
    cudaDriverGetVersion(&out->driver_version); /* 0 without a driver, and no error */
    /* the runtime opens the driver library itself; open it here too, only
     * to have the loader's own words when it is missing */
    dlerror();
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(out->driver_dlerror, sizeof out->driver_dlerror, "%s", e ? e : "libcuda.so.1: cannot be opened");
    }
    /* h stays open: the runtime uses the same library */
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    out->error = (int)e;
    out->device_count = e == cudaSuccess ? n : 0;
    if (e != cudaSuccess) {
        snprintf(out->error_name, sizeof out->error_name, "%s", cudaGetErrorName(e));
        snprintf(out->error_text, sizeof out->error_text, "%s", cudaGetErrorString(e));
        cudaGetLastError(); /* clear the sticky-free error state */
    }
}

/* cuBLAS workspace: 32 MiB on Hopper and later, 4 MiB before (NVIDIA's
 * recommendation); given to cuBLAS explicitly so graph capture never makes
 * it allocate, and counted in the memory plan. */
static uint64_t blas_workspace(int cc_major)
{
    return cc_major >= 9 ? (uint64_t)32 << 20 : (uint64_t)4 << 20;
}

static int device_info(int dev, int with_free, mlpc_cuda_device *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess) {
        snprintf(msg, cap, "cudaGetDeviceProperties: %s: %s", cudaGetErrorName(e), cudaGetErrorString(e));
        cudaGetLastError();
        return MLPC_ERR_UNSUPPORTED;
    }
    snprintf(out->name, sizeof out->name, "%s", p.name);
    out->total_mem = p.totalGlobalMem;
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->multiprocessors = p.multiProcessorCount;
    out->pci_domain = p.pciDomainID;
    out->pci_bus = p.pciBusID;
    out->pci_device = p.pciDeviceID;
    int mode = 0;
    if (cudaDeviceGetAttribute(&mode, cudaDevAttrComputeMode, dev) == cudaSuccess) out->compute_mode = mode;
    out->blas_workspace = blas_workspace(p.major);
    if (with_free) {
        size_t fr = 0, tot = 0;
        int prev = 0;
        cudaGetDevice(&prev);
        e = cudaSetDevice(dev);
        if (e == cudaSuccess) e = cudaMemGetInfo(&fr, &tot);
        cudaSetDevice(prev);
        if (e != cudaSuccess) {
            snprintf(msg, cap, "cannot make a context (%s: %s)", cudaGetErrorName(e), cudaGetErrorString(e));
            cudaGetLastError();
            return MLPC_ERR_UNSUPPORTED;
        }
        out->free_mem = fr;
    }
    return MLPC_OK;
}

__global__ void mlpc_cuda_ping(int *x) { x[threadIdx.x] = (int)threadIdx.x * 3 + 1; }

static int check(int dev, char *msg, size_t cap)
{
    int *d = NULL, h[32];
    cudaError_t e = cudaSetDevice(dev);
    if (e == cudaSuccess) e = cudaFree(0); /* makes the context */
    if (e == cudaSuccess) e = cudaMalloc(&d, sizeof h);
    if (e == cudaSuccess) {
        mlpc_cuda_ping<<<1, 32>>>(d);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    if (d) cudaFree(d);
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorUnsupportedPtxVersion ||
        e == cudaErrorInvalidPtx) {
        int maj = 0, min = 0;
        cudaDeviceGetAttribute(&maj, cudaDevAttrComputeCapabilityMajor, dev);
        cudaDeviceGetAttribute(&min, cudaDevAttrComputeCapabilityMinor, dev);
        snprintf(msg, cap,
                 "the plugin has no code this GPU (compute capability %d.%d) and driver can run (%s; built for sm_%s "
                 "and PTX %s: rebuild with make CUDA_ARCHS=\"%d%d\", or update the driver)",
                 maj, min, cudaGetErrorName(e), MLPC_CUDA_ARCHS, MLPC_CUDA_PTX, maj, min);
        cudaGetLastError();
        return MLPC_ERR_UNSUPPORTED;
    }
    if (e != cudaSuccess) {
        snprintf(msg, cap, "a test kernel failed (%s: %s)", cudaGetErrorName(e), cudaGetErrorString(e));
        cudaGetLastError();
        return MLPC_ERR_UNSUPPORTED;
    }
    for (int i = 0; i < 32; i++)
        if (h[i] != i * 3 + 1) {
            snprintf(msg, cap, "a test kernel returned wrong results");
            return MLPC_ERR_UNSUPPORTED;
        }
    return MLPC_OK;
}

static const mlpc_cuda_api API = {
    MLPC_CUDA_ABI_VERSION,
    (uint32_t)sizeof(mlpc_cuda_api),
    "static CUDA runtime, cuBLAS " STR(CUBLAS_VER_MAJOR) "." STR(CUBLAS_VER_MINOR) ", code for sm " MLPC_CUDA_ARCHS
    " and PTX " MLPC_CUDA_PTX,
    probe,
    device_info,
    check,
    mlpc_cs_open,
    mlpc_cs_close,
    mlpc_cs_upload,
    mlpc_cs_set_state,
    mlpc_cs_get_state,
    mlpc_cs_set_order,
    mlpc_cs_train,
    mlpc_cs_evaluate,
    mlpc_cs_predict,
    mlpc_cs_gradient,
};

extern "C" __attribute__((visibility("default"))) const mlpc_cuda_api *mlpc_cuda_plugin(uint32_t abi_version)
{
    return abi_version == MLPC_CUDA_ABI_VERSION ? &API : NULL;
}
