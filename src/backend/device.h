/* device.h - the CUDA plugin loader and device selection (internal).
 *
 * The CUDA code lives in a plugin, build/libmlpc_cuda.so (src/cuda/), that
 * the library opens with dlopen only when a device other than the CPU is
 * asked for, so the same binary runs on machines without CUDA. The plugin is
 * looked for in this order:
 *   1. $MLPC_CUDA_PLUGIN (a path to the .so; nothing else is tried then);
 *   2. next to the running program (the folder of /proc/self/exe);
 *   3. ../lib from that folder (an installed bin/mlpc);
 *   4. the install libdir (MLPC_LIBDIR, $(PREFIX)/lib at build time).
 * Every failure is one line naming what is missing: no plugin, the dlerror
 * text, a plugin of another ABI version, no driver (and the driver version
 * the plugin's runtime needs), no GPU. */
#ifndef MLPC_DEVICE_H
#define MLPC_DEVICE_H

#include "core/core.h"
/* known exception (scripts/check-layers.sh): device.c reads the net and
 * dataset structs; to fix: move its net/dataset parts above nn */
#include "data/dataset.h"
#include "nn/net.h"
#include "cuda/plugin.h"

/* The plugin table, loaded once per path (never unloaded). On failure NULL
 * and err says why in one line. path (may be NULL) gets the file used. */
const mlpc_cuda_api *mlpc_cuda_load(char *path, size_t path_cap, mlpc_error *err);
/* Opens the plugin at exactly this path (no search); for tests. */
const mlpc_cuda_api *mlpc_cuda_load_path(const char *path, mlpc_error *err);

/* One line saying why the probe shows no usable device ("" when it shows
 * at least one): no driver (with the dlerror text), a driver too old for
 * the plugin's runtime, no GPU, or the runtime's error. */
void mlpc_cuda_probe_why(const mlpc_cuda_probe *p, char *buf, size_t cap);

/* "13.0" from 13000. */
void mlpc_cuda_version_str(int v, char *buf, size_t cap);

/* Loads the plugin, probes, and checks that CUDA device `index` works (its
 * context is made and a kernel runs). On success *api and *info are set; on
 * failure MLPC_ERR_UNSUPPORTED (no plugin, driver or GPU) or MLPC_ERR_ARG
 * (no such index), with the reason in err ("no usable GPU: ..."). */
mlpc_status mlpc_cuda_open_device(int index, const mlpc_cuda_api **api, mlpc_cuda_device *info,
                                  mlpc_error *err);

/* The session description of a net (layers, loss; batch 0 for inference,
 * then cfg may be NULL). */
void mlpc_cuda_describe(const mlpc_net *net, int device, int batch, int eval_rows, uint64_t max_batches,
                        const mlpc_config *cfg, uint64_t mem_limit, uint64_t workspace,
                        mlpc_cuda_net *out);

/* A session on a CUDA device, held by a trainer (src/train/ondevice.c) or a
 * net for predict/evaluate. */
typedef struct mlpc_devsess {
    const mlpc_cuda_api *api;
    void *s;                        /* the plugin's session */
    mlpc_cuda_net desc;
    mlpc_cuda_device info;
    char name[32];                  /* "cuda:0" */
    const mlpc_dataset *sets[3];    /* trainer: train, val, test as uploaded */
    double *bloss, *baux;           /* trainer: per-batch results, desc.max_batches each */
    float *stage;                   /* net: normalized rows for predict, eval_rows x inputs */
    char msg[512];                  /* the plugin's last message */
    char note[512];                 /* trainer: the plugin's note of a run (the graph fallback), "" if none */
} mlpc_devsess;

/* Opens a session on dev (kind cuda) for net after checking its memory plan
 * with `sets` (slots 0-3, NULL when absent) against mem_limit and the free
 * memory; uploads the sets. NULL and err set on failure. */
mlpc_devsess *mlpc_devsess_open(const mlpc_net *net, const mlpc_device *dev, int batch, int eval_rows,
                                uint64_t max_batches, const mlpc_config *cfg, uint64_t mem_limit,
                                const mlpc_dataset *const sets[4], mlpc_error *err);
void mlpc_devsess_free(mlpc_devsess *d);
/* A dataset as the plugin sees it. */
mlpc_cuda_data mlpc_cuda_data_of(const mlpc_dataset *d);

/* src/train/ondevice.c: a net's predict (d NULL, x raw) and evaluate (d
 * normalized) on its device session. */
void mlpc_net_device_free(mlpc_net *net);
mlpc_status mlpc_net_device_infer(mlpc_net *net, const float *x, const mlpc_dataset *d, size_t n, float *out,
                                  mlpc_eval *ev);

/* Checks a memory plan against the limit and the device's free memory
 * before anything is allocated: MLPC_ERR_ARG when over --gpu-memory-limit,
 * MLPC_ERR_NOMEM when over the free memory, with the plan's parts in the
 * message. limit 0 or free_mem 0: that bound is not checked. */
mlpc_status mlpc_cuda_check_mem(const mlpc_cuda_mem *m, uint64_t limit, uint64_t free_mem,
                                const char *dev_name, mlpc_error *err);

/* "1.5 GiB", "300 MiB", "12 KiB", "100 B" */

#endif
