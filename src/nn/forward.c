/* forward.c - the dense layer forward/backward pair over a batch.
 * Shapes: a_l is (m x sizes[l]); W_l is (sizes[l] x sizes[l+1]), b_l is
 * (sizes[l+1]), all row-major.
 *   forward:  a_{l+1} = act_l(a_l W_l + b_l)
 *   backward: D_L = dLoss/dZ_L (from the loss, fused with softmax/sigmoid),
 *             dW_l = a_l^T D_l,  db_l = colsum(D_l),
 *             D_{l-1} = (D_l W_l^T) * act'_{l-1}(a_l) */
#include "nn/nn.h"

#include <math.h>

static int widest(const mlpc_net *net)
{
    int w = 0;
    for (int l = 0; l <= net->n_layers; l++) w = net->sizes[l] > w ? net->sizes[l] : w;
    return w;
}

/* each view starts on a 64-byte boundary */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t mlpc_acts_floats(const mlpc_net *net, int rows, int with_deltas)
{
    size_t n = 0;
    for (int l = 0; l <= net->n_layers; l++) n += round16((size_t)rows * net->sizes[l]);
    if (!with_deltas) return n;
    n += 2 * round16((size_t)rows * widest(net));
    for (int l = 0; l < net->n_layers; l++) n += round16((size_t)rows * net->sizes[l + 1]);
    return n;
}

void mlpc_acts_bind(mlpc_acts *w, const mlpc_net *net, int rows, float *arena, int with_deltas)
{
    w->rows = rows;
    for (int l = 0; l <= net->n_layers; l++) {
        w->a[l] = arena;
        arena += round16((size_t)rows * net->sizes[l]);
    }
    w->d[0] = w->d[1] = NULL;
    for (int l = 0; l < MLPC_MAX_LAYERS; l++) w->dl[l] = NULL;
    if (!with_deltas) return;
    size_t dn = round16((size_t)rows * widest(net));
    w->d[0] = arena;
    w->d[1] = arena + dn;
    arena += 2 * dn;
    for (int l = 0; l < net->n_layers; l++) {
        w->dl[l] = arena;
        arena += round16((size_t)rows * net->sizes[l + 1]);
    }
}

void mlpc_forward(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                  const float *x)
{
    mlpc_forward_cols(cx, net, params, w, m, x, NULL, 0);
}

/* every layer as one row-wise chain (backend row_chain) */
static void forward_chain(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                          const float *x)
{
    mlpc_row_op ops[MLPC_MAX_LAYERS];
    for (int l = 0; l < net->n_layers; l++) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        ops[l] = (mlpc_row_op){out, in, l == 0 ? x : w->a[l], in, params + net->w_off[l], out,
                               params + net->b_off[l], w->a[l + 1], net->act[l], 0};
    }
    cx->be->row_chain(cx, m, ops, net->n_layers);
}

void mlpc_forward_cols(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                       const float *x, const int32_t *cols, int n_cols)
{
    const mlpc_backend *be = cx->be;
    if (!cols && be->row_chain && cx->threads > 1) {
        forward_chain(cx, net, params, w, m, x);
        return;
    }
    for (int l = 0; l < net->n_layers; l++) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        if (l == 0 && cols) {
            be->gemm_cols(cx, m, out, in, x, in, params + net->w_off[l], out, cols, n_cols, w->a[1], out);
        } else if (be->gemm_bias_act) {
            be->gemm_bias_act(cx, m, out, in, l == 0 ? x : w->a[l], in, params + net->w_off[l], out,
                              params + net->b_off[l], w->a[l + 1], net->act[l]);
            continue;
        } else {
            be->gemm(cx, 0, 0, m, out, in, 1.0f, l == 0 ? x : w->a[l], in, params + net->w_off[l], out,
                     0.0f, w->a[l + 1], out);
        }
        be->bias_act(cx, w->a[l + 1], params + net->b_off[l], m, out, net->act[l]);
    }
}

/* Dprev = (D W_l^T) * act'_{l-1}(a_l) */
static void delta_below(mlpc_ctx *cx, const mlpc_net *net, const float *params, const mlpc_acts *w, int m, int l,
                        const float *D, float *Dprev)
{
    const mlpc_backend *be = cx->be;
    int in = net->sizes[l], out = net->sizes[l + 1];
    if (be->gemm_act_backward) {
        be->gemm_act_backward(cx, m, in, out, D, out, params + net->w_off[l], out, w->a[l], Dprev, net->act[l - 1]);
        return;
    }
    be->gemm(cx, 0, 1, m, in, out, 1.0f, D, out, params + net->w_off[l], out, 0.0f, Dprev, in);
    be->act_backward(cx, Dprev, w->a[l], m, in, net->act[l - 1]);
}

static void no_update(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight)
{
    (void)user, (void)cx, (void)off, (void)n, (void)is_weight;
}

double mlpc_backward(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                     const int32_t *labels, const float *targets, float *grads, double *aux)
{
    const mlpc_backend *be = cx->be;
    int L = net->n_layers;
    float *D = grads ? w->d[0] : NULL; /* needs the input in w->a[0] */
    double loss = be->loss(cx, net->loss, net->act[L - 1], w->a[L], labels, targets, m,
                           net->sizes[L], D, (float)m, aux);
    if (!grads) return loss;
    for (int l = L - 1; l >= 0; l--) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        /* the product as training sums it (the backend may sum a batch in parts) */
        be->weight_grad(cx, in, out, m, w->a[l], D, grads + net->w_off[l], NULL, net->w_off[l], no_update, NULL);
        be->col_sum(cx, D, m, out, grads + net->b_off[l]);
        if (l == 0) break;
        float *Dprev = D == w->d[0] ? w->d[1] : w->d[0];
        delta_below(cx, net, params, w, m, l, D, Dprev);
        D = Dprev;
    }
    return loss;
}

/* every delta first (each reads W_l before any update), then all weight
 * gradients and updates at once (backend weight_grads) */
static double backward_all_layers(mlpc_ctx *cx, const mlpc_net *net, const float *params, mlpc_acts *w, int m,
                                  const int32_t *labels, const float *targets, float *grads, double *aux,
                                  mlpc_grad_ready_fn ready, void *user)
{
    const mlpc_backend *be = cx->be;
    int L = net->n_layers;
    double loss = be->loss(cx, net->loss, net->act[L - 1], w->a[L], labels, targets, m,
                           net->sizes[L], w->dl[L - 1], (float)m, aux);
    if (!isfinite(loss)) return loss;
    mlpc_grad_layer g[MLPC_MAX_LAYERS];
    mlpc_row_op ops[MLPC_MAX_LAYERS];
    for (int l = L - 1; l >= 0; l--) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        if (l > 0 && !be->row_chain) delta_below(cx, net, params, w, m, l, w->dl[l], w->dl[l - 1]);
        if (l > 0) /* D_{l-1} = (D_l W_l^T) * act'(a_l) */
            ops[L - 1 - l] = (mlpc_row_op){in, out, w->dl[l], out, params + net->w_off[l], out, w->a[l],
                                           w->dl[l - 1], net->act[l - 1], 1};
        g[l] = (mlpc_grad_layer){in, out, w->a[l], w->dl[l], grads + net->w_off[l], grads + net->b_off[l],
                                 net->w_off[l], net->b_off[l]};
    }
    if (be->row_chain && L > 1) be->row_chain(cx, m, ops, L - 1);
    be->weight_grads(cx, m, g, L, ready, user);
    return loss;
}

double mlpc_backward_update(mlpc_ctx *cx, const mlpc_net *net, float *params, mlpc_acts *w, int m,
                            const int32_t *labels, const float *targets, float *grads,
                            double *aux, const mlpc_fuse *fuse, mlpc_grad_ready_fn ready, void *user)
{
    const mlpc_backend *be = cx->be;
    int L = net->n_layers;
    /* on several threads, small layers' gradients side by side */
    if (be->weight_grads && cx->threads > 1 && w->dl[0] && !(fuse && fuse->sgd_lr))
        return backward_all_layers(cx, net, params, w, m, labels, targets, grads, aux, ready, user);
    float *D = w->d[0];
    double loss = be->loss(cx, net->loss, net->act[L - 1], w->a[L], labels, targets, m,
                           net->sizes[L], D, (float)m, aux);
    if (!isfinite(loss)) return loss;
    for (int l = L - 1; l >= 0; l--) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        float *Dprev = D == w->d[0] ? w->d[1] : w->d[0];
        if (l > 0) /* the delta below reads W_l before W_l is updated */
            delta_below(cx, net, params, w, m, l, D, Dprev);
        mlpc_sgd_fused sgd = {0};
        if (fuse && fuse->sgd_lr)
            sgd = (mlpc_sgd_fused){params + net->w_off[l], *fuse->sgd_lr, fuse->keep_grads,
                                   l == 0 ? fuse->cols : NULL, l == 0 ? fuse->n_cols : 0};
        be->weight_grad(cx, in, out, m, w->a[l], D, grads + net->w_off[l], sgd.W ? &sgd : NULL,
                        net->w_off[l], ready, user);
        be->col_sum(cx, D, m, out, grads + net->b_off[l]);
        ready(user, cx, net->b_off[l], (size_t)out, 0);
        D = Dprev;
    }
    return loss;
}

void mlpc_normalize_rows(const mlpc_net *net, const float *x, size_t rows, float *dst)
{
    size_t n_in = (size_t)net->sizes[0];
    if (net->norm == MLPC_NORM_NONE) {
        for (size_t i = 0; i < rows * n_in; i++) dst[i] = x[i];
        return;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n_in; j++)
            dst[i * n_in + j] = (x[i * n_in + j] - net->norm_shift[j]) * net->norm_scale[j];
}
