/* devsess.c - what a CUDA device session knows of the net and the data
 * sets: the plugin's description of a net, the sets as the plugin sees
 * them, opening a session (memory plan checked first) and the per-layer
 * plan that `mlpc devices --plan` prints. It reads struct mlpc_net and
 * struct mlpc_dataset, so it sits above nn and data, next to the trainer's
 * device epochs (ondevice.c); the plugin loader below it is
 * src/backend/device.c. */
#include "train/devsess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the plan printed by mlpc devices --plan -------------------------------- */

int mlpc_device_plan(const mlpc_net *net, const mlpc_device *dev, int threads, int training, char *buf, size_t cap)
{
    if (!buf || !cap) return -1;
    buf[0] = '\0';
    size_t used = 0;
    char dn[32], where[160];
    mlpc_device_name(dev, dn, sizeof dn);
    int cuda = dev && dev->kind == MLPC_DEVICE_CUDA;
    mlpc_device_where(dev, threads, where, sizeof where);
    int L = net->n_layers;
    for (int l = 0; l < L && used < cap; l++) {
        mlpc_act a = net->act[l];
        char extra[96] = "";
        if (l == L - 1) {
            int fused = (a == MLPC_ACT_SOFTMAX && net->loss == MLPC_LOSS_CCE) ||
                        (a == MLPC_ACT_SIGMOID && net->loss == MLPC_LOSS_BCE);
            snprintf(extra, sizeof extra, ", loss %s%s", mlpc_loss_name(net->loss), fused ? " fused with the activation" : "");
        }
        int n;
        if (cuda)
            n = snprintf(buf + used, cap - used, "layer %d %d->%d %s: %s (cuBLAS sgemm, bias+%s kernel%s%s)\n", l + 1,
                         net->sizes[l], net->sizes[l + 1], mlpc_act_name(a), where, mlpc_act_name(a),
                         training ? ", backward kernels" : "", extra);
        else
            n = snprintf(buf + used, cap - used, "layer %d %d->%d %s: %s%s\n", l + 1, net->sizes[l], net->sizes[l + 1],
                         mlpc_act_name(a), where, extra);
        if (n < 0) return -1;
        used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
    }
    if (used < cap) {
        int n;
        if (cuda && training)
            n = snprintf(buf + used, cap - used,
                         "data, optimizer, evaluation: %s (sets uploaded once, batches gathered on the device, "
                         "each training step replayed as a CUDA graph)\n", dn);
        else if (cuda)
            n = snprintf(buf + used, cap - used, "data: %s (uploaded once, evaluated in chunks on the device)\n", dn);
        else
            n = snprintf(buf + used, cap - used, "%s: cpu (%d thread%s)\n", training ? "gather, loss, optimizer" : "loss",
                         threads, threads == 1 ? "" : "s");
        if (n > 0) used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
    }
    return (int)used;
}

/* ---- sessions: description, data and opening -------------------------------- */

void mlpc_cuda_describe(const mlpc_net *net, int device, int batch, int eval_rows, uint64_t max_batches,
                        const mlpc_config *cfg, uint64_t mem_limit, uint64_t workspace, mlpc_cuda_net *out)
{
    memset(out, 0, sizeof *out);
    out->device = device;
    out->n_layers = net->n_layers;
    for (int l = 0; l <= net->n_layers; l++) out->sizes[l] = net->sizes[l];
    for (int l = 0; l < net->n_layers; l++) {
        out->act[l] = (int)net->act[l];
        out->w_off[l] = net->w_off[l];
        out->b_off[l] = net->b_off[l];
    }
    out->loss = (int)net->loss;
    out->n_params = net->n_params;
    out->batch = batch;
    out->eval_rows = eval_rows;
    out->max_batches = max_batches;
    if (cfg) {
        out->opt = (int)cfg->opt;
        out->momentum = cfg->momentum;
        out->rho = cfg->rho;
        out->beta1 = cfg->beta1;
        out->beta2 = cfg->beta2;
        out->eps = cfg->eps;
        out->l2 = cfg->l2;
        out->nesterov = cfg->nesterov;
    }
    const char *g = getenv("MLPC_CUDA_GRAPHS"); /* 0: launch each step's kernels directly (for comparison) */
    out->graphs = !(g && !strcmp(g, "0"));
    out->mem_limit = mem_limit;
    out->blas_workspace = workspace;
}

mlpc_cuda_data mlpc_cuda_data_of(const mlpc_dataset *d)
{
    mlpc_cuda_data c = {d->n, d->n_in, d->n_out, d->x, d->labels, d->targets};
    return c;
}

void mlpc_devsess_free(mlpc_devsess *d)
{
    if (!d) return;
    if (d->api && d->s) d->api->close(d->s);
    free(d->bloss);
    free(d->baux);
    free(d->stage);
    free(d);
}

mlpc_devsess *mlpc_devsess_open(const mlpc_net *net, const mlpc_device *dev, int batch, int eval_rows,
                                uint64_t max_batches, const mlpc_config *cfg, uint64_t mem_limit,
                                const mlpc_dataset *const sets[4], mlpc_error *err)
{
    if (!dev || dev->kind != MLPC_DEVICE_CUDA) {
        mlpc_seterr(err, MLPC_ERR_ARG, "a device session needs a CUDA device (select auto first)");
        return NULL;
    }
    mlpc_devsess *d = calloc(1, sizeof *d);
    if (!d) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for a device session");
        return NULL;
    }
    mlpc_device_name(dev, d->name, sizeof d->name);
    if (mlpc_cuda_open_device(dev->index, &d->api, &d->info, err)) goto fail;
    mlpc_cuda_describe(net, dev->index, batch, eval_rows, max_batches, cfg, mem_limit, d->info.blas_workspace, &d->desc);
    mlpc_cuda_data cd[4];
    const mlpc_cuda_data *cp[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++)
        if (sets && sets[i] && sets[i]->n) {
            cd[i] = mlpc_cuda_data_of(sets[i]);
            cp[i] = &cd[i];
        }
    mlpc_cuda_mem plan;
    mlpc_cuda_mem_plan(&d->desc, cp, &plan);
    /* nothing is allocated on the device before this check */
    if (mlpc_cuda_check_mem(&plan, mem_limit, d->info.free_mem, d->name, err)) goto fail;
    if (batch) {
        d->bloss = calloc(max_batches ? max_batches : 1, sizeof(double));
        d->baux = calloc(max_batches ? max_batches : 1, sizeof(double));
        if (!d->bloss || !d->baux) {
            mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for %llu per-batch results", (unsigned long long)max_batches);
            goto fail;
        }
    }
    int st = d->api->open(&d->desc, &d->s, d->msg, sizeof d->msg);
    if (st) {
        mlpc_seterr(err, (mlpc_status)st, "%s", d->msg);
        goto fail;
    }
    for (int i = 0; i < 4; i++) {
        if (!cp[i]) continue;
        st = d->api->upload(d->s, i, cp[i], d->msg, sizeof d->msg);
        if (st) {
            mlpc_seterr(err, (mlpc_status)st, "%s: %s", sets[i]->source, d->msg);
            goto fail;
        }
        if (i < 3) d->sets[i] = sets[i];
    }
    return d;
fail:
    mlpc_devsess_free(d);
    return NULL;
}
