/* nn.h - forward and backward passes of a dense net over a batch, on an
 * activation workspace sized once for the largest batch. */
#ifndef MLPC_NN_H
#define MLPC_NN_H

#include "backend/backend.h"
#include "data/dataset.h"
#include "nn/net.h"

/* Views into one activation arena for up to `rows` rows. */
typedef struct mlpc_acts {
    int rows;
    float *a[MLPC_MAX_LAYERS + 1]; /* a[0]: input (rows x sizes[0]); a[l+1] = act(a[l] W_l + b_l) */
    float *d[2];                   /* deltas, ping-pong (rows x widest layer); NULL for inference */
    float *dl[MLPC_MAX_LAYERS];    /* training: the deltas of layer l's output (rows x sizes[l+1]),
                                    * all kept until every weight gradient is done */
} mlpc_acts;

/* Floats needed for a workspace of `rows` rows (with deltas for training). */
size_t mlpc_acts_floats(const mlpc_net *net, int rows, int with_deltas);
/* Lays the views out over `arena`. */
void mlpc_acts_bind(mlpc_acts *w, const mlpc_net *net, int rows, float *arena, int with_deltas);

/* Forward m rows of x (m x sizes[0], contiguous; often w->a[0], or rows of
 * a dataset read in place); output in w->a[n_layers]. */
void mlpc_forward(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                  const float *x);

/* Loss of the m output rows against labels/targets; if grads is not NULL,
 * back-propagates and writes the batch-mean gradients (layout of params).
 * Returns the summed loss; *aux as in mlpc_backend.loss. */
double mlpc_backward(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                     const int32_t *labels, const float *targets, float *grads, double *aux);

/* mlpc_backward that hands each range of gradients to `ready` (see
 * backend.h) as soon as it is computed, while it is still in cache, so the
 * optimizer update runs fused with the backward pass. The weights of layer
 * l are used (for the delta of layer l-1) before their range is handed
 * over, so `ready` may update params in place. If the loss is not finite,
 * nothing is handed over (the caller rolls back). Each gradient element is
 * computed exactly as by mlpc_backward (but see fuse->keep_grads). On
 * several threads (without fused SGD) every delta is computed first, into
 * w->dl, and the backend's weight_grads then takes all layers at once. */
typedef struct mlpc_fuse {
    /* plain SGD (no momentum, no L2 decay) at *sgd_lr, applied to the
     * weights by the backend; `ready` then gets only the biases. NULL:
     * `ready` gets every range. */
    const float *sgd_lr;
    int keep_grads;       /* with sgd_lr: 0 leaves the weight gradients unwritten */
    const int32_t *cols;  /* NULL, or the n_cols input columns (ascending) not
                           * +0.0 in every row (mlpc_k_active_cols) */
    int n_cols;
} mlpc_fuse;
double mlpc_backward_update(mlpc_ctx *cx, const mlpc_net *net, float *params, mlpc_acts *w, int m,
                            const int32_t *labels, const float *targets, float *grads,
                            double *aux, const mlpc_fuse *fuse, mlpc_grad_ready_fn ready, void *user);
/* mlpc_forward where only the input columns cols[0..n_cols) (ascending)
 * are not +0.0: the first layer skips the others (same results). */
void mlpc_forward_cols(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                       const float *x, const int32_t *cols, int n_cols);

/* Copies rows of raw input into dst applying the net's normalization. */
void mlpc_normalize_rows(const mlpc_net *net, const float *x, size_t rows, float *dst);

/* Evaluates a normalized dataset on workspace w (rows per chunk = w->rows). */
mlpc_status mlpc_evaluate_with(mlpc_ctx *cx, const mlpc_net *net, mlpc_acts *w,
                               const mlpc_dataset *d, mlpc_eval *out);
/* Checks features, labels (0..outputs-1) or target columns against the net. */
mlpc_status mlpc_check_targets(const mlpc_net *net, const mlpc_dataset *d, mlpc_error *err);

#endif
