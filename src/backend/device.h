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
 * the plugin's runtime needs), no GPU.
 *
 * This file knows devices and the plugin, not nets or data sets: a session
 * for a net (struct mlpc_devsess) is opened in src/train/devsess.h. */
#ifndef MLPC_DEVICE_H
#define MLPC_DEVICE_H

#include "core/core.h"
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

/* Checks a memory plan against the limit and the device's free memory
 * before anything is allocated: MLPC_ERR_ARG when over --gpu-memory-limit,
 * MLPC_ERR_NOMEM when over the free memory, with the plan's parts in the
 * message. limit 0 or free_mem 0: that bound is not checked. */
mlpc_status mlpc_cuda_check_mem(const mlpc_cuda_mem *m, uint64_t limit, uint64_t free_mem,
                                const char *dev_name, mlpc_error *err);

/* Where a layer of a plan runs: "cuda:0", or "cpu (gemm avx2, 4 threads)". */
void mlpc_device_where(const mlpc_device *dev, int threads, char *buf, size_t cap);

#endif
