/* devsess.h - a net's session on a CUDA device (src/train/devsess.c): the
 * plugin's description of the net, the data sets uploaded, the memory plan
 * checked before anything is allocated. Held by a trainer
 * (src/train/ondevice.c) or by a net for predict/evaluate (net->dev, freed
 * through net->dev_ops). Above nn and data: it reads their structs. */
#ifndef MLPC_TRAIN_DEVSESS_H
#define MLPC_TRAIN_DEVSESS_H

#include "backend/device.h"
#include "data/dataset.h"
#include "nn/net.h"

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

#endif /* MLPC_TRAIN_DEVSESS_H */
