/* plugin.h - the ABI between the library and its CUDA plugin
 * (build/libmlpc_cuda.so, loaded at run time by src/backend/device.c).
 *
 * The plugin exports one symbol, MLPC_CUDA_ENTRY, a function that takes the
 * ABI version the library was built with and returns a table of functions
 * (or NULL when it does not speak that version). The loader checks the
 * table's abi_version and struct_size before calling anything in it, so a
 * stale plugin next to a newer binary gives a clear error, never a crash.
 *
 * Everything here is plain C (compiled by the C compiler for the library
 * and by nvcc as C++ for the plugin): fixed-size types, no enums across the
 * boundary (ints holding mlpc_act/mlpc_loss/mlpc_opt values), and status
 * returns that are mlpc_status values with a one-line message in msg.
 *
 * The device-memory budget is computed by mlpc_cuda_mem_plan() below, the
 * same code on both sides: the library refuses a run over --gpu-memory-limit
 * (or over the device's free memory) before the plugin allocates anything,
 * and the plugin allocates exactly the buffers the plan counts. */
#ifndef MLPC_CUDA_PLUGIN_H
#define MLPC_CUDA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "mlpc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLPC_CUDA_ABI_VERSION 1
#define MLPC_CUDA_ENTRY "mlpc_cuda_plugin"
#define MLPC_CUDA_PLUGIN_NAME "libmlpc_cuda.so"
#define MLPC_CUDA_MAX_DEVICES 16

/* cudaError_t values the loader turns into messages (the plugin checks at
 * compile time that they equal the runtime's enum). */
#define MLPC_CUDA_ERR_MEMORY 2               /* cudaErrorMemoryAllocation */
#define MLPC_CUDA_ERR_INIT 3                 /* cudaErrorInitializationError */
#define MLPC_CUDA_ERR_STUB_LIBRARY 34        /* cudaErrorStubLibrary */
#define MLPC_CUDA_ERR_INSUFFICIENT_DRIVER 35 /* cudaErrorInsufficientDriver */
#define MLPC_CUDA_ERR_DEVICES_UNAVAILABLE 46 /* cudaErrorDevicesUnavailable */
#define MLPC_CUDA_ERR_NO_DEVICE 100          /* cudaErrorNoDevice */
#define MLPC_CUDA_ERR_NO_KERNEL_IMAGE 209    /* cudaErrorNoKernelImageForDevice */
#define MLPC_CUDA_ERR_UNSUPPORTED_PTX 222    /* cudaErrorUnsupportedPtxVersion */
#define MLPC_CUDA_ERR_SYSTEM_NOT_READY 802   /* cudaErrorSystemNotReady */
#define MLPC_CUDA_ERR_DRIVER_MISMATCH 803    /* cudaErrorSystemDriverMismatch */
#define MLPC_CUDA_ERR_COMPAT 804             /* cudaErrorCompatNotSupportedOnDevice */

/* What the runtime says about this machine, without touching a device. */
typedef struct mlpc_cuda_probe {
    int runtime_version;      /* cudaRuntimeGetVersion: the runtime linked into the plugin, e.g. 13000 */
    int driver_version;       /* cudaDriverGetVersion: 0 when no driver is installed */
    int device_count;         /* cudaGetDeviceCount; 0 on error */
    int error;                /* cudaError_t of cudaGetDeviceCount, 0 on success */
    char error_name[64];      /* cudaGetErrorName(error) */
    char error_text[256];     /* cudaGetErrorString(error) */
    char driver_dlerror[256]; /* dlerror() of dlopen("libcuda.so.1"), "" when it opened */
} mlpc_cuda_probe;

typedef struct mlpc_cuda_device {
    char name[256];
    uint64_t total_mem;       /* bytes */
    uint64_t free_mem;        /* bytes; 0 unless asked for (needs a context) */
    int cc_major, cc_minor;   /* compute capability */
    int multiprocessors;
    int pci_domain, pci_bus, pci_device;
    int compute_mode;         /* cudaComputeMode: 2 = prohibited */
    uint64_t blas_workspace;  /* bytes the plugin gives cuBLAS on this device */
} mlpc_cuda_device;

#define MLPC_CUDA_MAX_LAYERS MLPC_MAX_LAYERS

/* The net, loop and limits of one device session. */
typedef struct mlpc_cuda_net {
    int device;                           /* CUDA ordinal */
    int n_layers;
    int sizes[MLPC_CUDA_MAX_LAYERS + 1];
    int act[MLPC_CUDA_MAX_LAYERS];        /* mlpc_act values */
    int loss;                             /* mlpc_loss value */
    uint64_t n_params;
    uint64_t w_off[MLPC_CUDA_MAX_LAYERS]; /* as mlpc_net: W_l then b_l per layer */
    uint64_t b_off[MLPC_CUDA_MAX_LAYERS];
    int batch;                            /* training batch; 0: inference only (no gradients or optimizer) */
    int eval_rows;                        /* rows per evaluation/prediction chunk */
    uint64_t max_batches;                 /* training: batches per epoch (per-batch results) */
    int opt;                              /* mlpc_opt value (training) */
    float momentum, rho, beta1, beta2, eps, l2;
    int nesterov;
    int graphs;                           /* 1: capture each training step in a CUDA graph and replay it */
    uint64_t mem_limit;                   /* bytes; 0: none besides the device's free memory */
    uint64_t blas_workspace;              /* bytes for cuBLAS (mlpc_cuda_device.blas_workspace) */
} mlpc_cuda_net;

/* A data set uploaded once and kept on the device. Exactly one of labels
 * and targets (n x n_out); x is n x n_in, already normalized. */
typedef struct mlpc_cuda_data {
    uint64_t n, n_in, n_out;
    const float *x;
    const int32_t *labels;
    const float *targets;
} mlpc_cuda_data;

/* One run of training batches over the epoch's order (set_order). */
typedef struct mlpc_cuda_run {
    long first, count; /* batches [first, first + count) of the epoch */
    float lr;          /* learning rate for these batches */
    long step;         /* optimizer steps done before batch `first` (Adam's t) */
    double *loss;      /* out: count summed batch losses */
    double *aux;       /* out: count sums of correct rows (classify) or squared errors (regress) */
} mlpc_cuda_run;

typedef struct mlpc_cuda_api {
    uint32_t abi_version; /* MLPC_CUDA_ABI_VERSION */
    uint32_t struct_size; /* sizeof(mlpc_cuda_api) as the plugin was built */
    const char *build;    /* one line: CUDA version and the GPU code compiled in */

    /* ---- enumeration (no context is created by probe) */
    void (*probe)(mlpc_cuda_probe *out);
    int (*device_info)(int device, int with_free, mlpc_cuda_device *out, char *msg, size_t cap);
    /* Makes the device's context and runs a tiny kernel: 0 when the device
     * works, else a status and why in msg. */
    int (*check)(int device, char *msg, size_t cap);

    /* ---- sessions: everything below returns an mlpc_status value and, on
     * failure, a one-line message in msg. */
    int (*open)(const mlpc_cuda_net *net, void **session, char *msg, size_t cap);
    void (*close)(void *session);
    /* slot 0: training set, 1: validation, 2: test, 3: evaluation set */
    int (*upload)(void *session, int slot, const mlpc_cuda_data *d, char *msg, size_t cap);
    /* Parameters (n_params floats, the net's layout) and optimizer moments
     * (m, v may be NULL for optimizers without them) host <-> device. */
    int (*set_state)(void *session, const float *params, const float *m, const float *v, char *msg, size_t cap);
    int (*get_state)(void *session, float *params, float *grads, float *m, float *v, char *msg, size_t cap);
    /* The epoch's row order (n = training rows) and batches run on it. */
    int (*set_order)(void *session, const uint32_t *idx, uint64_t n, char *msg, size_t cap);
    /* On success msg may hold a one-line note (the library clears msg[0]
     * before the call): a capture of the step as a CUDA graph failed and the
     * session launches the kernels directly from then on (said once). */
    int (*train)(void *session, mlpc_cuda_run *run, char *msg, size_t cap);
    /* Summed loss and aux over a whole uploaded set (slot). */
    int (*evaluate)(void *session, int slot, double *loss, double *aux, char *msg, size_t cap);
    /* Forward pass of n normalized rows x (n x inputs) into out (n x outputs). */
    int (*predict)(void *session, const float *x, uint64_t n, float *out, char *msg, size_t cap);
    /* Loss and batch-mean gradients (layout of params) of m host rows,
     * without an update: for the gradient parity tests. */
    int (*gradient)(void *session, const float *x, const int32_t *labels, const float *targets, int m,
                    float *grads, double *loss, char *msg, size_t cap);
} mlpc_cuda_api;

typedef const mlpc_cuda_api *(*mlpc_cuda_entry_fn)(uint32_t abi_version);

/* ---- the device-memory plan, shared by the loader and the plugin ---------- */

/* Every device buffer is rounded up to 256 bytes (cudaMalloc's alignment). */
static inline uint64_t mlpc_cuda_round(uint64_t bytes) { return (bytes + 255u) & ~(uint64_t)255u; }

static inline uint64_t mlpc_cuda_data_bytes(const mlpc_cuda_data *d)
{
    if (!d || !d->n) return 0;
    uint64_t b = mlpc_cuda_round(d->n * d->n_in * 4u);
    if (d->labels) b += mlpc_cuda_round(d->n * 4u);
    if (d->targets) b += mlpc_cuda_round(d->n * d->n_out * 4u);
    return b;
}

static inline int mlpc_cuda_widest(const mlpc_cuda_net *net)
{
    int w = 0;
    for (int l = 0; l <= net->n_layers; l++) w = net->sizes[l] > w ? net->sizes[l] : w;
    return w;
}

/* Optimizer moment arrays: sgd with momentum m; rmsprop v; adam m and v. */
static inline int mlpc_cuda_moments(const mlpc_cuda_net *net)
{
    if (!net->batch) return 0;
    if (net->opt == MLPC_OPT_ADAM) return 2;
    if (net->opt == MLPC_OPT_RMSPROP) return 1;
    return net->momentum != 0.0f ? 1 : 0;
}

typedef struct mlpc_cuda_mem {
    uint64_t data;      /* the uploaded sets and the row order */
    uint64_t params;    /* parameters and gradients */
    uint64_t optimizer; /* moments */
    uint64_t acts;      /* activations, deltas, batch targets, per-row losses */
    uint64_t workspace; /* cuBLAS workspace and per-batch results */
    uint64_t total;
} mlpc_cuda_mem;

/* Device bytes of a session on `net` with the given sets (slots 0-3 as in
 * upload; NULL when absent). The plugin allocates exactly these buffers. */
static inline void mlpc_cuda_mem_plan(const mlpc_cuda_net *net, const mlpc_cuda_data *const sets[4],
                                      mlpc_cuda_mem *out)
{
    uint64_t max_batches = net->max_batches;
    uint64_t rows = (uint64_t)(net->batch > net->eval_rows ? net->batch : net->eval_rows);
    uint64_t n_out = (uint64_t)net->sizes[net->n_layers], widest = (uint64_t)mlpc_cuda_widest(net);
    out->data = 0;
    for (int i = 0; i < 4; i++) out->data += mlpc_cuda_data_bytes(sets[i]);
    if (net->batch && sets[0]) out->data += mlpc_cuda_round(sets[0]->n * 4u); /* row order */
    out->params = mlpc_cuda_round(net->n_params * 4u) * (net->batch ? 2u : 1u);
    out->optimizer = mlpc_cuda_round(net->n_params * 4u) * (uint64_t)mlpc_cuda_moments(net);
    out->acts = 0;
    for (int l = 0; l <= net->n_layers; l++) out->acts += mlpc_cuda_round(rows * (uint64_t)net->sizes[l] * 4u);
    if (net->batch) {
        out->acts += 2u * mlpc_cuda_round(rows * widest * 4u);                        /* deltas (ping-pong) */
        out->acts += mlpc_cuda_round(rows * 4u) + mlpc_cuda_round(rows * n_out * 4u); /* batch labels, targets */
    }
    out->acts += 2u * mlpc_cuda_round(rows * 8u); /* per-row loss and aux */
    out->workspace = mlpc_cuda_round(net->blas_workspace) + mlpc_cuda_round(64u) /* scalars */
                     + 2u * mlpc_cuda_round((max_batches ? max_batches : 1u) * 8u);
    out->total = out->data + out->params + out->optimizer + out->acts + out->workspace;
}

#ifdef __cplusplus
}
#endif
#endif
