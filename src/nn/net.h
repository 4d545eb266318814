/* net.h - the struct behind the public mlpc_net handle and the
 * architecture checks (src/nn/model.c, src/nn/settings.c). */
#ifndef MLPC_NET_H
#define MLPC_NET_H

#include "core/core.h"

/* ---- the net (src/nn/model.c) -------------------------------------------- */

/* What nn calls on a net's device session (net->dev). The session is
 * opened above nn (mlpc_net_set_device in src/train/ondevice.c), which sets
 * these with it, so nn calls down through them and never up into train. */
typedef struct mlpc_net_dev_ops {
    void (*release)(mlpc_net *net); /* frees net->dev, sets it NULL */
    /* predict (d NULL, x raw rows, out n x outputs) or evaluate (d normalized) */
    mlpc_status (*infer)(mlpc_net *net, const float *x, const mlpc_dataset *d, size_t n, float *out, mlpc_eval *ev);
} mlpc_net_dev_ops;

struct mlpc_net {
    mlpc_error err;
    int n_layers;
    int sizes[MLPC_MAX_LAYERS + 1];
    mlpc_act act[MLPC_MAX_LAYERS];
    mlpc_loss loss;
    size_t n_params;
    size_t w_off[MLPC_MAX_LAYERS]; /* offset of W_l (sizes[l] x sizes[l+1]) in params */
    size_t b_off[MLPC_MAX_LAYERS]; /* offset of b_l (sizes[l+1]) in params */
    float *params;                 /* the parameter arena, n_params floats */
    mlpc_norm norm;
    float *norm_shift;             /* sizes[0] floats, NULL when norm == NONE */
    float *norm_scale;             /* x' = (x - shift) * scale */
    char **class_names;            /* classify: output k's class name, n_names of them; NULL: "0".."K-1" */
    int n_names;
    float *tgt_mean;               /* regress: sizes[L] floats, NULL: targets are used as they are */
    float *tgt_std;                /* the net sees (t - mean) / std; predict/evaluate report t */
    float *imp_mean;               /* sizes[0] training means for missing (NaN) features, or NULL */
    char *meta_config;             /* JSON text or NULL */
    char *meta_metrics;            /* JSON text or NULL */
    /* inference workspace, made on first use */
    int threads;                   /* for predict/evaluate, default 1 */
    struct mlpc_ctx *cx;           /* made on first predict/evaluate */
    float *work;                   /* activations for eval chunks */
    int work_rows;
    /* predict/evaluate on a CUDA device (mlpc_net_set_device), else NULL */
    struct mlpc_devsess *dev;
    const mlpc_net_dev_ops *dev_ops; /* set with dev; stays once set */
    uint64_t dev_limit;            /* its --gpu-memory-limit in bytes, 0: none */
};

/* Allocates a net with the given architecture; params zeroed, no init. */
mlpc_net *mlpc_net_alloc(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                         mlpc_error *err);
/* Validates an architecture (layer count, widths, softmax only last, loss
 * and output activation compatible). */
mlpc_status mlpc_arch_check(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                            mlpc_error *err);

/* Frees the class names, target statistics and imputation means (src/nn/targets.c). */
void mlpc_net_free_extras(mlpc_net *net);
/* Output rows (n x sizes[L]) in the net's standardized target units back to
 * the original ones (no-op without target statistics). */
void mlpc_net_unscale_outputs(const mlpc_net *net, float *out, size_t n);
/* Squared error of m output rows against (standardized) target rows, in
 * original units: sum_j std_j^2 (out - t)^2 (src/nn/targets.c). */
double mlpc_net_sse_original(const mlpc_net *net, const float *out, const float *t, int m);

/* Fills the defaults that depend on other settings (lr per optimizer,
 * factor per schedule). */
void mlpc_config_resolve(mlpc_config *cfg);

#endif /* MLPC_NET_H */
