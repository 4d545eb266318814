/* ondevice.c - training, evaluation and prediction on a CUDA device through
 * the plugin (src/cuda/, loaded by src/backend/device.c).
 *
 * The trainer keeps its host arrays as the truth between epochs: each device
 * epoch uploads the parameters and optimizer moments, hands the epoch's
 * shuffled row order to the device, runs the batches there in runs that end
 * where a batch callback is due, and copies parameters, moments and the
 * last gradients back. So checkpoints, --resume, early stopping's best
 * weights, divergence rollback and callbacks work unchanged, and a diverged
 * epoch leaves the host state as it was at the epoch's start. */
#include "train/devsess.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEV_EVAL_ROWS 4096 /* rows per evaluation chunk on the device */
#define DEV_INTERRUPT_BATCHES 64 /* batches per run between looks at mlpc_trainer_interrupt */

static mlpc_status plugin_err(mlpc_error *e, mlpc_devsess *d, int st)
{
    return mlpc_seterr(e, st ? (mlpc_status)st : MLPC_ERR_UNSUPPORTED, "%s", d->msg[0] ? d->msg : "CUDA plugin error");
}

/* ---- the trainer ------------------------------------------------------------- */

void mlpc_trainer_device_free(mlpc_trainer *tr)
{
    mlpc_devsess_free(tr->dev);
    tr->dev = NULL;
}

const char *mlpc_trainer_device_note(const mlpc_trainer *tr)
{
    return tr && tr->dev ? tr->dev->note : "";
}

void mlpc_trainer_device_data_changed(mlpc_trainer *tr)
{
    if (tr->dev) memset(tr->dev->sets, 0, sizeof tr->dev->sets); /* matches no set: epochs refuse, eval on the CPU */
}

mlpc_status mlpc_trainer_set_device(mlpc_trainer *tr, const mlpc_device *dev, uint64_t mem_limit)
{
    mlpc_device got = {MLPC_DEVICE_CPU, 0};
    if (dev && dev->kind == MLPC_DEVICE_AUTO) {
        if (mlpc_device_select(dev, &got, NULL, 0, &tr->err)) return tr->err.code;
    } else if (dev) {
        got = *dev;
    }
    mlpc_trainer_device_free(tr);
    if (got.kind != MLPC_DEVICE_CPU && !tr->train) {
        mlpc_trainer_resolve_precision(tr, 0); /* on the CPU, as the device is freed */
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "set the data (mlpc_trainer_set_data) before the device");
    }
    if (mlpc_trainer_resolve_precision(tr, got.kind != MLPC_DEVICE_CPU)) {
        mlpc_error e = tr->err;
        mlpc_trainer_resolve_precision(tr, 0); /* stays on the CPU as it was */
        tr->err = e;
        return tr->err.code;
    }
    if (got.kind == MLPC_DEVICE_CPU) return MLPC_OK;
    size_t n = tr->train->n, B = (size_t)tr->cfg.batch;
    uint64_t n_batches = (uint64_t)((n + B - 1) / B);
    const mlpc_dataset *sets[4] = {tr->train, tr->val, tr->test, NULL};
    tr->dev = mlpc_devsess_open(tr->net, &got, tr->cfg.batch, DEV_EVAL_ROWS, n_batches, &tr->cfg, mem_limit, sets,
                                &tr->err);
    if (!tr->dev) { /* training stays on the CPU: its precision too (auto: bf16 again) */
        mlpc_error e = tr->err;
        mlpc_trainer_resolve_precision(tr, 0);
        tr->err = e;
    }
    return tr->dev ? MLPC_OK : tr->err.code;
}

/* The epoch's batches on the device (called by mlpc_trainer_epoch after the
 * shuffle): sums of the batch losses and aux into *sum_loss, *sum_aux; *n
 * becomes the rows trained when a batch callback stops the epoch. */
mlpc_status mlpc_trainer_device_batches(mlpc_trainer *tr, mlpc_epoch_stats *st, double t0, double *sum_loss,
                                        double *sum_aux, size_t *n)
{
    mlpc_devsess *d = tr->dev;
    const mlpc_dataset *ds = tr->train;
    if (d->sets[0] != ds || d->sets[1] != tr->val || d->sets[2] != tr->test)
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG,
                           "%s: the data sets changed after mlpc_trainer_set_device; set the device again", d->name);
    const mlpc_cuda_api *api = d->api;
    int B = tr->cfg.batch;
    size_t rows = ds->n;
    long n_batches = (long)((rows + (size_t)B - 1) / (size_t)B);
    int rc = api->set_state(d->s, tr->net->params, tr->m, tr->v, d->msg, sizeof d->msg);
    if (!rc) rc = api->set_order(d->s, tr->idx, rows, d->msg, sizeof d->msg);
    if (rc) return plugin_err(&tr->err, d, rc);
    long done = 0, step0 = tr->step;
    while (done < n_batches) {
        long count = n_batches - done;
        if (tr->on_batch) { /* end the run where the next callback is due */
            long to_cb = tr->batch_every - done % tr->batch_every;
            if (to_cb < count) count = to_cb;
        }
        if (count > DEV_INTERRUPT_BATCHES) count = DEV_INTERRUPT_BATCHES; /* see the interrupt */
        mlpc_cuda_run run = {done, count, tr->sched.lr, tr->step, d->bloss + done, d->baux + done};
        d->msg[0] = '\0';
        rc = api->train(d->s, &run, d->msg, sizeof d->msg);
        if (rc) {
            tr->step = step0; /* the host still holds the epoch's starting state */
            return plugin_err(&tr->err, d, rc);
        }
        if (d->msg[0] && !d->note[0]) snprintf(d->note, sizeof d->note, "%s", d->msg); /* plugin.h: a note */
        for (long b = done; b < done + count; b++) {
            if (!isfinite(d->bloss[b])) {
                tr->step = step0;
                return mlpc_seterr(&tr->err, MLPC_ERR_DIVERGED, "training diverged at epoch %d, batch %ld: loss is %s",
                                   st->epoch, b + 1, isnan(d->bloss[b]) ? "NaN" : "Inf");
            }
            *sum_loss += d->bloss[b];
            *sum_aux += d->baux[b];
        }
        tr->step += count;
        done += count;
        if (tr->on_batch && (done % tr->batch_every == 0 || done == n_batches)) {
            size_t seen = done * (size_t)B < rows ? done * (size_t)B : rows;
            int m = (int)(seen - (size_t)(done - 1) * (size_t)B);
            double l = d->bloss[done - 1], a = d->baux[done - 1];
            mlpc_batch_info bi = {st->epoch, done, n_batches, l / m, ds->labels ? a / m : NAN,
                                  *sum_loss / (double)seen, ds->labels ? *sum_aux / (double)seen : NAN,
                                  tr->sched.lr, mlpc_now() - t0};
            if (tr->on_batch(tr, &bi, tr->batch_user)) {
                tr->stopped = 1;
                snprintf(tr->stop_reason, sizeof tr->stop_reason, "stopped by the batch callback");
                *n = seen;
                break;
            }
        }
        if (mlpc_trainer_check_interrupt(tr)) { /* statistics over what was trained */
            *n = done * (size_t)B < rows ? done * (size_t)B : rows;
            break;
        }
    }
    rc = api->get_state(d->s, tr->net->params, tr->grads, tr->m, tr->v, d->msg, sizeof d->msg);
    if (rc) {
        /* the host parameters may be half copied: back to the epoch's start */
        size_t np = tr->net->n_params * sizeof(float);
        memcpy(tr->net->params, tr->saved, np);
        memcpy(tr->m, tr->saved + tr->net->n_params, np);
        memcpy(tr->v, tr->saved + 2 * tr->net->n_params, np);
        tr->step = step0;
        return plugin_err(&tr->err, d, rc);
    }
    return MLPC_OK;
}

/* Loss, accuracy and mse of the validation or test set on the device, with
 * the parameters of the epoch just trained (still on the device). 0; -1
 * when d is not one of the uploaded sets (the caller evaluates on the CPU);
 * a plugin failure is an error with its message (train.h). */
int mlpc_trainer_device_eval(mlpc_trainer *tr, const mlpc_dataset *d, double *loss, double *acc, double *mse)
{
    mlpc_devsess *s = tr->dev;
    int slot = d == s->sets[1] ? 1 : d == s->sets[2] ? 2 : d == s->sets[0] ? 0 : -1;
    if (slot < 0 || !d->n) return -1;
    double l = 0, a = 0;
    s->msg[0] = '\0';
    int rc = s->api->evaluate(s->s, slot, &l, &a, s->msg, sizeof s->msg);
    if (rc) {
        static const char *const what[3] = {"training", "validation", "test"};
        return (int)mlpc_seterr(&tr->err, rc > 0 ? (mlpc_status)rc : MLPC_ERR_UNSUPPORTED,
                                "%s: evaluating the %s set (%s) on the device failed: %s", s->name, what[slot],
                                d->source, s->msg[0] ? s->msg : "CUDA plugin error");
    }
    double n = (double)d->n;
    int n_out = tr->net->sizes[tr->net->n_layers];
    *loss = l / n;
    *acc = d->labels ? a / n : NAN;
    *mse = d->labels ? NAN : a / (n * n_out);
    return 0;
}

/* ---- a net's predict and evaluate ----------------------------------------------- */

static void net_device_release(mlpc_net *net)
{
    mlpc_devsess_free(net->dev);
    net->dev = NULL;
}

static mlpc_status net_device_infer(mlpc_net *net, const float *x, const mlpc_dataset *d, size_t n, float *out,
                                    mlpc_eval *ev);

/* nn reaches the session through these (nn/net.h), never by name */
static const mlpc_net_dev_ops net_dev_ops = {net_device_release, net_device_infer};

mlpc_status mlpc_net_set_device(mlpc_net *net, const mlpc_device *dev, uint64_t mem_limit)
{
    mlpc_device got = {MLPC_DEVICE_CPU, 0};
    if (dev && dev->kind == MLPC_DEVICE_AUTO) {
        if (mlpc_device_select(dev, &got, NULL, 0, &net->err)) return net->err.code;
    } else if (dev) {
        got = *dev;
    }
    net_device_release(net);
    net->dev_ops = &net_dev_ops;
    net->dev_limit = mem_limit;
    if (got.kind == MLPC_DEVICE_CPU) return MLPC_OK;
    net->dev = mlpc_devsess_open(net, &got, 0, DEV_EVAL_ROWS, 1, NULL, mem_limit, NULL, &net->err);
    if (!net->dev) return net->err.code;
    net->dev->stage = malloc((size_t)DEV_EVAL_ROWS * (size_t)net->sizes[0] * sizeof(float));
    if (!net->dev->stage) {
        net_device_release(net);
        return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for %d staging rows", DEV_EVAL_ROWS);
    }
    return MLPC_OK;
}

/* predict (d NULL: x raw rows, out n x outputs) or evaluate (d normalized) */
static mlpc_status net_device_infer(mlpc_net *net, const float *x, const mlpc_dataset *d, size_t n, float *out,
                                    mlpc_eval *ev)
{
    mlpc_devsess *s = net->dev;
    const mlpc_cuda_api *api = s->api;
    int rc;
    if (!d) {
        rc = api->set_state(s->s, net->params, NULL, NULL, s->msg, sizeof s->msg);
        if (rc) return plugin_err(&net->err, s, rc);
        size_t n_in = (size_t)net->sizes[0], n_out = (size_t)net->sizes[net->n_layers];
        for (size_t i = 0; i < n; i += DEV_EVAL_ROWS) {
            size_t m = n - i < DEV_EVAL_ROWS ? n - i : DEV_EVAL_ROWS;
            mlpc_normalize_rows(net, x + i * n_in, m, s->stage);
            rc = api->predict(s->s, s->stage, m, out + i * n_out, s->msg, sizeof s->msg);
            if (rc) return plugin_err(&net->err, s, rc);
        }
        return MLPC_OK;
    }
    /* The set joins the net's session in one memory plan: the session is
     * opened again with the set in slot 3, so the plan (parameters,
     * activations, workspace and the set) is checked against the limit and
     * the free memory before anything is allocated, our own buffers released
     * first. When that fails the net keeps a session without the set. */
    const mlpc_dataset *sets[4] = {NULL, NULL, NULL, d};
    mlpc_device dev = {MLPC_DEVICE_CUDA, s->desc.device};
    float *stage = s->stage;
    s->stage = NULL;
    mlpc_devsess_free(s);
    net->dev = mlpc_devsess_open(net, &dev, 0, DEV_EVAL_ROWS, 1, NULL, net->dev_limit, sets, &net->err);
    if (!net->dev) {
        mlpc_error again;
        mlpc_clearerr(&again);
        net->dev = mlpc_devsess_open(net, &dev, 0, DEV_EVAL_ROWS, 1, NULL, net->dev_limit, NULL, &again);
        if (net->dev) {
            net->dev->stage = stage;
        } else { /* the device is gone: say so, the net is back on the CPU */
            free(stage);
            size_t len = strlen(net->err.msg);
            snprintf(net->err.msg + len, sizeof net->err.msg - len, "; the net is back on the CPU (%s)", again.msg);
        }
        return net->err.code;
    }
    s = net->dev;
    s->stage = stage;
    double l = 0, a = 0;
    rc = api->set_state(s->s, net->params, NULL, NULL, s->msg, sizeof s->msg);
    if (!rc) rc = api->evaluate(s->s, 3, &l, &a, s->msg, sizeof s->msg);
    if (rc) return plugin_err(&net->err, s, rc);
    double nn = d->n ? (double)d->n : NAN;
    ev->n = d->n;
    ev->loss = l / nn;
    ev->acc = d->labels ? a / nn : NAN;
    ev->mse = d->labels ? NAN : a / (nn * net->sizes[net->n_layers]);
    return MLPC_OK;
}

/* ---- the gradient parity tests ------------------------------------------------------ */

mlpc_status mlpc_trainer_device_gradient(mlpc_trainer *tr, const float *x, const int32_t *labels,
                                         const float *targets, int n, float *grads, double *loss)
{
    mlpc_devsess *d = tr->dev;
    if (!d) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "no device set (mlpc_trainer_set_device)");
    int rc = d->api->set_state(d->s, tr->net->params, NULL, NULL, d->msg, sizeof d->msg);
    if (!rc) rc = d->api->gradient(d->s, x, labels, targets, n, grads, loss, d->msg, sizeof d->msg);
    return rc ? plugin_err(&tr->err, d, rc) : MLPC_OK;
}
