/* trainer.c - the training loop: shuffled mini-batches gathered into a
 * preallocated buffer, forward/backward, optimizer update, per-epoch
 * evaluation, schedules, early stopping, callbacks, interrupts (one relaxed
 * atomic load per batch), checkpoints and resume.
 * Every buffer is allocated in mlpc_trainer_create; an epoch allocates
 * nothing. */
#include "nn/nn.h"
#include "optim/optim.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_ROWS 1024

/* the packed weights of the bf16 products (train.h: wpk); without them
 * (no AVX512_BF16, fp32, no memory) each forward packs W itself */
static void alloc_packed_weights(mlpc_trainer *tr)
{
    const mlpc_net *net = tr->net;
    size_t words = 0;
    if (!mlpc_ctx_bf16(&tr->cx)) return;
    for (int l = 0; l < net->n_layers; l++) {
        tr->wpk_off[l] = words;
        size_t w = mlpc_batch_bf16_packed_words(net->sizes[l], net->sizes[l + 1]);
        if (!w) return;
        words += (w + 15) & ~(size_t)15;
    }
    tr->wpk = aligned_alloc(64, words * sizeof(uint32_t));
}

mlpc_trainer *mlpc_trainer_create(mlpc_net *net, const mlpc_config *cfg, mlpc_error *err)
{
    if (mlpc_config_validate(cfg, err)) return NULL;
    mlpc_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for the trainer");
        return NULL;
    }
    tr->net = net;
    tr->cfg = *cfg;
    mlpc_config_resolve(&tr->cfg);
    if (net->n_layers != cfg->n_layers || memcmp(net->sizes, cfg->sizes, sizeof(int) * (size_t)(net->n_layers + 1))) {
        mlpc_seterr(err, MLPC_ERR_SHAPE, "layers: the config's layers differ from the net's");
        free(tr);
        return NULL;
    }
    if (mlpc_ctx_init(&tr->cx, tr->cfg.threads, err)) {
        free(tr);
        return NULL;
    }
    if (mlpc_trainer_resolve_precision(tr, 0)) {
        if (err) *err = tr->err;
        mlpc_ctx_free(&tr->cx);
        free(tr);
        return NULL;
    }
    size_t np = net->n_params;
    int rows = tr->cfg.batch > EVAL_ROWS ? tr->cfg.batch : EVAL_ROWS;
    /* zeroed by writing (mlpc_big_alloc), not left to calloc's fresh pages:
     * the optimizer reads its moments before it writes them, and a zero page
     * read and then written faults twice, the second time with a TLB flush
     * on every core (W2's first batch: 53 ms on 2 threads, the next 4.5) */
    tr->grads = mlpc_big_alloc(np * sizeof(float), 1);
    tr->m = mlpc_big_alloc(np * sizeof(float), 1);
    tr->v = mlpc_big_alloc(np * sizeof(float), 1);
    tr->saved = mlpc_big_alloc(3 * np * sizeof(float), 1); /* params, m, v at the epoch's start */
    tr->best = mlpc_big_alloc(np * sizeof(float), 1);
    tr->arena = mlpc_big_alloc(mlpc_acts_floats(net, rows, 1) * sizeof(float), 0); /* W2: 19 MB */
    tr->blabels = calloc((size_t)tr->cfg.batch, sizeof(int32_t));
    tr->cols = calloc((size_t)net->sizes[0], sizeof(int32_t));
    tr->btargets = calloc((size_t)tr->cfg.batch * (size_t)net->sizes[net->n_layers], sizeof(float));
    if (!tr->grads || !tr->m || !tr->v || !tr->saved || !tr->best || !tr->arena || !tr->blabels || !tr->cols || !tr->btargets) {
        mlpc_trainer_free(tr);
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for training buffers (batch %d)", cfg->batch);
        return NULL;
    }
    mlpc_acts_bind(&tr->w, net, rows, tr->arena, 1);
    alloc_packed_weights(tr);
    mlpc_sched_init(&tr->sched, &tr->cfg);
    tr->es_best = INFINITY;
    tr->ckpt_epoch = -1;
    tr->ckpt_final_sync = 1;
    tr->batch_every = 1;
    return tr;
}

void mlpc_trainer_free(mlpc_trainer *tr)
{
    if (!tr) return;
    mlpc_trainer_device_free(tr);
    mlpc_ctx_free(&tr->cx);
    free(tr->grads);
    free(tr->cols);
    free(tr->m);
    free(tr->v);
    free(tr->saved);
    free(tr->best);
    free(tr->arena);
    free(tr->blabels);
    free(tr->btargets);
    free(tr->idx);
    free(tr->byte_rows);
    free(tr->xb);
    free(tr->wpk);
    free(tr->byte_shift);
    free(tr->byte_scale);
    free(tr->ckpt_path);
    free(tr);
}

const mlpc_error *mlpc_trainer_error(const mlpc_trainer *tr) { return &tr->err; }
int mlpc_trainer_epochs_done(const mlpc_trainer *tr) { return tr->epoch; }
float mlpc_trainer_lr(const mlpc_trainer *tr) { return tr->sched.lr; }
void mlpc_trainer_set_lr(mlpc_trainer *tr, float lr) { tr->sched.lr = lr; }
int mlpc_trainer_stopped(const mlpc_trainer *tr) { return tr->stopped; }
const char *mlpc_trainer_stop_reason(const mlpc_trainer *tr) { return tr->stop_reason; }
const float *mlpc_trainer_grads(const mlpc_trainer *tr) { return tr->grads; }

/* stopping from outside (bindings): src/train/interrupt.c */

mlpc_status mlpc_trainer_set_epochs(mlpc_trainer *tr, int epochs)
{
    if (epochs < 0) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "epochs %d: must be zero or positive", epochs);
    tr->cfg.epochs = epochs;
    return MLPC_OK;
}

void mlpc_trainer_on_batch(mlpc_trainer *tr, mlpc_batch_fn fn, int every, void *user)
{
    tr->on_batch = fn;
    tr->batch_every = every < 1 ? 1 : every;
    tr->batch_user = user;
}

void mlpc_trainer_on_epoch(mlpc_trainer *tr, mlpc_epoch_fn fn, void *user)
{
    tr->on_epoch = fn;
    tr->epoch_user = user;
}

void mlpc_trainer_set_checkpoint(mlpc_trainer *tr, const char *path)
{
    free(tr->ckpt_path);
    tr->ckpt_path = path ? strdup(path) : NULL;
    tr->ckpt_epoch = -1;
}

void mlpc_trainer_set_checkpoint_final_sync(mlpc_trainer *tr, int sync) { tr->ckpt_final_sync = sync != 0; }

void mlpc_trainer_set_checkpoint_every(mlpc_trainer *tr, double seconds)
{
    tr->ckpt_every = seconds > 0 ? seconds : 0;
}

/* Writes the checkpoint of the current whole-epoch state (stopped as given).
 * A failed write (a full disk) is counted, not returned: training goes on
 * and the next checkpoint is tried (mlpc_trainer_checkpoint_failures). */
static mlpc_status write_checkpoint(mlpc_trainer *tr, int stopped, int sync)
{
    int was = tr->stopped;
    tr->stopped = stopped;
    mlpc_status s = trainer_checkpoint_write(tr, tr->ckpt_path, sync);
    tr->stopped = was;
    if (s) {
        tr->ckpt_failures++;
        snprintf(tr->ckpt_msg, sizeof tr->ckpt_msg, "%s", tr->err.msg);
        mlpc_clearerr(&tr->err);
        return MLPC_OK;
    }
    tr->ckpt_epoch = tr->epoch;
    tr->ckpt_time = mlpc_now();
    return MLPC_OK;
}

int mlpc_trainer_checkpoint_failures(const mlpc_trainer *tr, const char **last)
{
    if (last) *last = tr->ckpt_msg;
    return tr->ckpt_failures;
}

static void swap_floats(float *a, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* Interrupted inside an epoch: params, m, v and step are part-way, everything
 * else (epoch, schedule, early stopping, best) is still the last whole
 * epoch's, and tr->saved holds that epoch's params, m and v. Writes the last
 * whole epoch's checkpoint unless it was already written, so that resuming
 * from it equals an uninterrupted run. */
static mlpc_status checkpoint_before_partial_epoch(mlpc_trainer *tr)
{
    if (!tr->ckpt_path || tr->ckpt_epoch == tr->epoch || tr->epoch == 0) return MLPC_OK;
    size_t np = tr->net->n_params;
    float *cur[3] = {tr->net->params, tr->m, tr->v};
    for (int i = 0; i < 3; i++) swap_floats(cur[i], tr->saved + (size_t)i * np, np);
    long step = tr->step;
    tr->step = tr->saved_step;
    mlpc_status s = write_checkpoint(tr, 0, 1);
    tr->step = step;
    for (int i = 0; i < 3; i++) swap_floats(cur[i], tr->saved + (size_t)i * np, np);
    return s;
}

/* The byte copy of the training rows (see kernels/byte_rows.c), tried against
 * the net's normalization (or none): kept only when exact. */
static void build_byte_rows(mlpc_trainer *tr, const mlpc_dataset *train)
{
    free(tr->byte_rows);
    tr->byte_rows = NULL;
    if (tr->no_byte_rows) return;
    size_t n_in = train->n_in;
    if (!tr->byte_shift) tr->byte_shift = malloc(n_in * sizeof(float));
    if (!tr->byte_scale) tr->byte_scale = malloc(n_in * sizeof(float));
    if (!tr->byte_shift || !tr->byte_scale) return;
    const mlpc_net *net = tr->net;
    for (size_t j = 0; j < n_in; j++) {
        tr->byte_shift[j] = net->norm == MLPC_NORM_NONE ? 0.0f : net->norm_shift[j];
        tr->byte_scale[j] = net->norm == MLPC_NORM_NONE ? 1.0f : net->norm_scale[j];
    }
    tr->byte_rows = mlpc_batch_byte_rows_build(train->x, train->n, n_in, tr->byte_shift, tr->byte_scale);
    if (tr->byte_rows && !tr->xb && mlpc_ctx_bf16(&tr->cx)) { /* without it, the float rows */
        tr->xb_ld = (int)((n_in + 1) & ~(size_t)1);
        size_t bytes = (size_t)tr->w.rows * (size_t)tr->xb_ld * sizeof(uint16_t);
        tr->xb = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    }
}

void mlpc_trainer_set_byte_rows(mlpc_trainer *tr, int on)
{
    tr->no_byte_rows = !on;
    if (!on) {
        free(tr->byte_rows);
        tr->byte_rows = NULL;
    } else if (tr->train && !tr->byte_rows) {
        build_byte_rows(tr, tr->train);
    }
}

int mlpc_trainer_byte_rows(const mlpc_trainer *tr) { return tr->byte_rows != NULL; }

mlpc_status mlpc_trainer_set_data(mlpc_trainer *tr, const mlpc_dataset *train,
                                  const mlpc_dataset *val, const mlpc_dataset *test)
{
    if (!train) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "no training set");
    if (train->n == 0) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "%s: the training set is empty", train->source);
    if (train->n > UINT32_MAX) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "%s: more than 2^32 rows", train->source);
    const mlpc_dataset *all[3] = {train, val, test};
    for (int i = 0; i < 3; i++)
        if (all[i] && mlpc_check_targets(tr->net, all[i], &tr->err)) return tr->err.code;
    if (!train->labels && (tr->cfg.es_metric == MLPC_METRIC_VAL_ACC || tr->cfg.es_metric == MLPC_METRIC_ACC) &&
        tr->cfg.es_patience > 0)
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "es-metric %s: %s is a regression set (no accuracy); use val_loss or loss",
                           mlpc_metric_name(tr->cfg.es_metric), train->source);
    free(tr->idx);
    tr->idx = malloc(train->n * sizeof(uint32_t));
    if (!tr->idx) {
        tr->train = NULL; /* the next epoch says there is no data instead of using a NULL order */
        return mlpc_seterr(&tr->err, MLPC_ERR_NOMEM, "out of memory for %zu row indices", train->n);
    }
    build_byte_rows(tr, train);
    tr->train = train;
    tr->val = val && val->n ? val : NULL;
    tr->test = test && test->n ? test : NULL;
    mlpc_trainer_device_data_changed(tr); /* the rows may have changed at the same addresses */
    return MLPC_OK;
}

/* ---- one step ------------------------------------------------------------ */

/* whether other threads read W, from parameter off on, since its last
 * update: the update then asks for W's lines to write ahead (optim.c). On
 * several threads fp32 products read every W in the forward; bf16 products
 * read a conversion of it there, but the backward's read W itself (as W^T)
 * for every layer after the first (W5 bf16 on 2 threads 1.011 and 1.011,
 * `bench_mlpc --ab bf16-w-shared`) */
static int w_shared(const mlpc_trainer *tr, size_t off)
{
    if (tr->cx.threads < 2) return 0;
    if (!mlpc_ctx_bf16(&tr->cx)) return 1;
    return tr->net->n_layers > 1 && off >= tr->net->w_off[1] && mlpc_knob(MLPC_KNOB_BF16_W_SHARED);
}

/* Applies the optimizer to the whole arena: weights get L2, biases do not. */
static void update(mlpc_trainer *tr)
{
    const mlpc_config *c = &tr->cfg;
    mlpc_net *net = tr->net;
    mlpc_opt_step s = {c->opt, tr->sched.lr, c->momentum, c->rho, c->beta1, c->beta2, c->eps,
                       c->nesterov, c->l2, ++tr->step, w_shared(tr, 0)};
    if (c->l2 == 0.0f) {
        tr->cx.be->opt_update(&tr->cx, &s, net->params, tr->grads, tr->m, tr->v, net->n_params);
        return;
    }
    for (int l = 0; l < net->n_layers; l++) {
        size_t w0 = net->w_off[l], b0 = net->b_off[l];
        size_t nw = b0 - w0, nb = (size_t)net->sizes[l + 1];
        s.l2 = c->l2;
        tr->cx.be->opt_update(&tr->cx, &s, net->params + w0, tr->grads + w0, tr->m + w0, tr->v + w0, nw);
        s.l2 = 0.0f;
        tr->cx.be->opt_update(&tr->cx, &s, net->params + b0, tr->grads + b0, tr->m + b0, tr->v + b0, nb);
    }
}

#define UPDATE_CHUNK 4096
/* the optimizer on one range of parameters as soon as its gradients are
 * ready (mlpc_backward_update); tr->step was advanced for this batch */
static void update_range(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight)
{
    mlpc_trainer *tr = user;
    const mlpc_config *c = &tr->cfg;
    mlpc_opt_step s = {c->opt, tr->sched.lr, c->momentum, c->rho, c->beta1, c->beta2, c->eps,
                       c->nesterov, is_weight ? c->l2 : 0.0f, tr->step, w_shared(tr, off)};
    if (!tr->wpk_on || !is_weight) {
        cx->be->opt_update(cx, &s, tr->net->params + off, tr->grads + off, tr->m + off, tr->v + off, n);
        return;
    }
    /* these rows of W_l packed for the next forward while in cache (whole
     * rows, from an even row: the backend splits weights so); on one
     * thread, chunk by chunk of UPDATE_CHUNK floats right after the
     * optimizer wrote it (W5's whole first layer, 800 KB of W, had left L2
     * under the optimizer's 3.2 MB before it was packed) */
    const mlpc_net *net = tr->net;
    int l = 0;
    while (l + 1 < net->n_layers && off >= net->w_off[l + 1]) l++;
    int in = net->sizes[l], out = net->sizes[l + 1];
    int k0 = (int)((off - net->w_off[l]) / (size_t)out), k1 = k0 + (int)(n / (size_t)out);
    int step = k1 - k0;
    if (cx->threads == 1 && mlpc_knob(MLPC_KNOB_UPDATE_CHUNKS)) {
        step = UPDATE_CHUNK / out;
        step = step < 2 ? 2 : step - step % 2;
    }
    float *w = net->params + net->w_off[l];
    size_t lo = net->w_off[l];
    for (int r0 = k0; r0 < k1; r0 += step) {
        int r1 = k1 - r0 < step ? k1 : r0 + step;
        size_t o = lo + (size_t)r0 * out, cn = (size_t)(r1 - r0) * out;
        cx->be->opt_update(cx, &s, tr->net->params + o, tr->grads + o, tr->m + o, tr->v + o, cn);
        mlpc_batch_bf16_pack_rows(in, out, w, tr->wpk + tr->wpk_off[l], r0, r1);
    }
}

/* the weights packed at the last batch's update, for this batch's forward
 * (on 1), or no more (0) */
static void use_packed_weights(mlpc_trainer *tr, int on)
{
    const mlpc_net *net = tr->net;
    mlpc_ctx_bf16_packed(&tr->cx, NULL, 0, 0, NULL);
    if (!on) return;
    for (int l = 0; l < net->n_layers; l++)
        mlpc_ctx_bf16_packed(&tr->cx, net->params + net->w_off[l], net->sizes[l], net->sizes[l + 1],
                             tr->wpk + tr->wpk_off[l]);
    tr->packed_w_batches++;
}

/* the batch being gathered: rows idx[lo..lo+m), and the next batch's
 * rows to prefetch */
typedef struct batch_pos {
    mlpc_trainer *tr;
    size_t lo, next_lo;
    int m, next_m;
    int bf16; /* into tr->xb as bf16 rows, not into w.a[0] */
    int in_forward; /* gathered by the forward's first product (mlpc_ctx_gather_input) */
} batch_pos;

/* batches of at least this many input floats are gathered by all threads
 * (W2: 1500 x 784), each its share of the rows (a copy: the same bytes
 * whatever the split) */
#define GATHER_PAR_FLOATS (1L << 16)

/* rows [i0, i1) of the batch (the float rows, or rebuilt from the byte
 * copy) into w.a[0]; the same share of the next batch's rows is asked into
 * this thread's cache meanwhile */
static void gather_part(const batch_pos *b, int i0, int i1, int n0, int n1)
{
    const mlpc_trainer *tr = b->tr;
    const mlpc_dataset *d = tr->train;
    size_t n_in = d->n_in;
    float *dst = tr->w.a[0] + (size_t)i0 * n_in;
    if (b->bf16)
        mlpc_batch_byte_rows_gather_bf16(tr->byte_rows, n_in, tr->idx + b->lo + i0, i1 - i0, tr->byte_shift,
                                         tr->byte_scale, tr->xb + (size_t)i0 * (size_t)tr->xb_ld, tr->xb_ld);
    else if (tr->byte_rows)
        mlpc_batch_byte_rows_gather(tr->byte_rows, n_in, tr->idx + b->lo + i0, i1 - i0, tr->byte_shift, tr->byte_scale, dst);
    if (tr->byte_rows) {
        if (n1 > n0) mlpc_batch_byte_rows_prefetch(tr->byte_rows, n_in, tr->idx + b->next_lo + n0, n1 - n0);
        return;
    }
    for (int i = i0; i < i1; i++, dst += n_in)
        memcpy(dst, d->x + (size_t)tr->idx[b->lo + (size_t)i] * n_in, n_in * sizeof(float));
    for (int i = n0; i < n1; i++) {
        const char *p = (const char *)(d->x + (size_t)tr->idx[b->next_lo + (size_t)i] * n_in);
        for (size_t o = 0; o < n_in * sizeof(float); o += 64) __builtin_prefetch(p + o, 0, 2);
    }
}

static void gather_thread(void *arg, int tid, int n)
{
    const batch_pos *b = arg;
    long i0, i1, n0, n1;
    mlpc_split(b->m, 1, tid, n, &i0, &i1);
    mlpc_split(b->next_m, 1, tid, n, &n0, &n1);
    gather_part(b, (int)i0, (int)i1, (int)n0, (int)n1);
}

static void gather_rows(batch_pos *b)
{
    const mlpc_trainer *tr = b->tr;
    if (tr->cx.threads > 1 && tr->cx.pool && (long)b->m * (long)tr->train->n_in >= GATHER_PAR_FLOATS)
        mlpc_pool_run(tr->cx.pool, gather_thread, b);
    else
        gather_part(b, 0, b->m, 0, b->next_m);
}

/* the batch's labels or targets */
static void gather_outputs(mlpc_trainer *tr, size_t lo, int m)
{
    const mlpc_dataset *d = tr->train;
    size_t n_out = (size_t)tr->net->sizes[tr->net->n_layers];
    for (int i = 0; i < m; i++) {
        uint32_t r = tr->idx[lo + (size_t)i];
        if (d->labels)
            tr->blabels[i] = d->labels[r];
        else
            memcpy(tr->btargets + (size_t)i * n_out, d->targets + (size_t)r * n_out, n_out * sizeof(float));
    }
}

/* batches of up to this many rows list their input columns that are zero
 * in every row, and the first layer skips them when a quarter or more are
 * (kernels/sparse.c: MNIST at batch 10 uses 49% of its 784 columns). The
 * results are the dense ones while the weights are finite; if a weight of
 * the first layer turns Inf/NaN with a finite loss, the skipped 0 * Inf
 * terms mean the loss stays finite until the epoch's end, whose parameter
 * check then rolls the epoch back (the dense path would stop a batch
 * earlier, with the same rollback). */
#define SPARSE_MAX_BATCH 64

/* gather, forward, backward and the update fused (the epoch loop); the
 * same arithmetic as copying the rows, fwd_bwd and update. Returns the
 * summed loss; if it is not finite nothing was updated. keep_grads: the
 * weight gradients must be written (else plain SGD may skip them). */
static double train_batch(mlpc_trainer *tr, batch_pos *pos, const int32_t *labels, const float *targets,
                          double *aux, int keep_grads)
{
    int m = pos->m, n_in = tr->net->sizes[0];
    const mlpc_config *c = &tr->cfg;
    /* bf16 products take the batch as bf16 rows: gathered so (half the
     * bytes written) and read so by both first-layer products, which then
     * convert nothing (the same bits as converting the float rows). Not for
     * small batches: the sparse first layer reads the float rows. */
    pos->bf16 = tr->xb && tr->byte_rows && m > SPARSE_MAX_BATCH &&
                mlpc_ctx_bf16_input(&tr->cx, tr->w.a[0], m, n_in, tr->xb, tr->xb_ld);
    tr->bf16_input_batches += pos->bf16;
    /* float32 batches from byte rows: gathered block by block by the first
     * layer's product, each block right before it is multiplied (W2 on 1
     * thread: gathered first, 1,500 x 784 floats went out to L3 and came
     * back) */
    pos->in_forward = mlpc_knob(MLPC_KNOB_GATHER_IN_FORWARD) && !pos->bf16 && tr->byte_rows && m > SPARSE_MAX_BATCH &&
                      mlpc_ctx_gather_input(&tr->cx, tr->w.a[0], m, n_in, tr->byte_rows, tr->idx + pos->lo,
                                            tr->byte_shift, tr->byte_scale, tr->idx + pos->next_lo, pos->next_m);
    if (!pos->in_forward) gather_rows(pos);
    gather_outputs(tr, pos->lo, m);
    float lr = tr->sched.lr;
    mlpc_fuse f = {NULL, 1, NULL, 0};
    if (c->opt == MLPC_OPT_SGD && c->momentum == 0.0f && c->l2 == 0.0f) { /* the backend does the step */
        f.sgd_lr = &lr;
        f.keep_grads = keep_grads;
    }
    if (m <= SPARSE_MAX_BATCH) {
        int n = mlpc_batch_active_cols(tr->w.a[0], m, n_in, tr->cols);
        if (4L * n <= 3L * n_in) {
            f.cols = tr->cols;
            f.n_cols = n;
            tr->sparse_batches++;
        }
    }
    int packed = tr->wpk_valid && mlpc_ctx_bf16(&tr->cx);
    if (packed) use_packed_weights(tr, 1);
    mlpc_forward_cols(&tr->cx, tr->net, tr->net->params, &tr->w, m, tr->w.a[0], f.cols, f.n_cols);
    if (packed) use_packed_weights(tr, 0);
    tr->step++;
    /* every weight is updated through update_range unless the backend does
     * plain SGD itself: then all are packed anew */
    tr->wpk_on = tr->wpk && !f.sgd_lr && mlpc_ctx_bf16(&tr->cx);
    double loss = mlpc_backward_update(&tr->cx, tr->net, tr->net->params, &tr->w, m, labels, targets,
                                       tr->grads, aux, &f, update_range, tr);
    if (pos->bf16) mlpc_ctx_bf16_input(&tr->cx, NULL, 0, 0, NULL, 0);
    if (pos->in_forward) mlpc_ctx_gather_input(&tr->cx, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0);
    tr->wpk_valid = tr->wpk_on && isfinite(loss); /* a non-finite loss updated nothing */
    tr->wpk_on = 0;
    if (!isfinite(loss)) tr->step--;
    return loss;
}

/* The squared error of the batch just trained, in the targets' original
 * units: sum_ij ((a_ij - t_ij) std_j)^2 over the outputs a = w.a[L] (the
 * update leaves them) and the standardized targets t. */
static double batch_sse_original(const mlpc_trainer *tr, int m)
{
    const mlpc_net *net = tr->net;
    int n_out = net->sizes[net->n_layers];
    const float *a = tr->w.a[net->n_layers], *t = tr->btargets, *sd = net->tgt_std;
    double sse = 0.0;
    for (size_t i = 0; i < (size_t)m * (size_t)n_out; i++) {
        double e = ((double)a[i] - t[i]) * sd[i % (size_t)n_out];
        sse += e * e;
    }
    return sse;
}

/* forward + backward on the m rows in w.a[0]; returns the summed loss */
static double fwd_bwd(mlpc_trainer *tr, int m, const int32_t *labels, const float *targets, double *aux)
{
    mlpc_forward(&tr->cx, tr->net, tr->net->params, &tr->w, m, tr->w.a[0]);
    return mlpc_backward(&tr->cx, tr->net, tr->net->params, &tr->w, m, labels, targets, tr->grads, aux);
}

static mlpc_status check_batch(mlpc_trainer *tr, const float *x, const int32_t *labels,
                               const float *targets, int n)
{
    if (n < 1 || n > tr->w.rows)
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "batch of %d rows: must be 1..%d", n, tr->w.rows);
    if (!x || (!labels == !targets))
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "step needs x and exactly one of labels or targets");
    int n_out = tr->net->sizes[tr->net->n_layers];
    for (int i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_out)
            return mlpc_seterr(&tr->err, MLPC_ERR_SHAPE, "label %d of row %d is outside 0..%d", (int)labels[i], i, n_out - 1);
    memcpy(tr->w.a[0], x, sizeof(float) * (size_t)n * tr->net->sizes[0]);
    return MLPC_OK;
}

mlpc_status mlpc_trainer_gradient(mlpc_trainer *tr, const float *x, const int32_t *labels,
                                  const float *targets, int n, double *loss)
{
    mlpc_status st = check_batch(tr, x, labels, targets, n);
    if (st) return st;
    double aux;
    *loss = fwd_bwd(tr, n, labels, targets, &aux) / n;
    return MLPC_OK;
}

mlpc_status mlpc_trainer_step(mlpc_trainer *tr, const float *x, const int32_t *labels,
                              const float *targets, int n, double *loss)
{
    mlpc_status st = mlpc_trainer_gradient(tr, x, labels, targets, n, loss);
    if (st) return st;
    if (!isfinite(*loss)) return mlpc_seterr(&tr->err, MLPC_ERR_DIVERGED, "loss is %g", *loss);
    update(tr);
    return MLPC_OK;
}

/* ---- one epoch ------------------------------------------------------------ */

/* Saves (restore = 0) or restores (1) parameters, optimizer moments and the
 * step count as they were at the start of the epoch. */
static void snapshot(mlpc_trainer *tr, int restore)
{
    size_t np = tr->net->n_params, bytes = np * sizeof(float);
    float *dst[3] = {tr->saved, tr->saved + np, tr->saved + 2 * np};
    float *src[3] = {tr->net->params, tr->m, tr->v};
    for (int i = 0; i < 3; i++) {
        if (restore)
            memcpy(src[i], dst[i], bytes);
        else
            memcpy(dst[i], src[i], bytes);
    }
    if (restore)
        tr->step = tr->saved_step;
    else
        tr->saved_step = tr->step;
}

static void shuffle(mlpc_trainer *tr)
{
    size_t n = tr->train->n;
    for (size_t i = 0; i < n; i++) tr->idx[i] = (uint32_t)i;
    if (!tr->cfg.shuffle) return;
    mlpc_rng r; /* each epoch's order comes from (seed, epoch) alone, so resume needs no RNG state */
    mlpc_rng_seed(&r, tr->cfg.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)tr->epoch + 1);
    mlpc_rng_shuffle(&r, tr->idx, n);
}

/* On the device when d was uploaded there; a device failure is an error
 * (train.h), not a silent evaluation on the CPU. */
static mlpc_status evaluate(mlpc_trainer *tr, const mlpc_dataset *d, double *loss, double *acc, double *mse)
{
    mlpc_eval e = {NAN, NAN, NAN, 0};
    if (d && tr->dev && !tr->net->tgt_mean) { /* with target statistics: mse in original units, on the CPU */
        int rc = mlpc_trainer_device_eval(tr, d, loss, acc, mse);
        if (rc >= 0) return (mlpc_status)rc;
    }
    if (d) { /* in float32 always: the accuracy of the weights as saved */
        int bf = mlpc_ctx_bf16(&tr->cx);
        if (bf) mlpc_ctx_set_bf16(&tr->cx, 0);
        mlpc_evaluate_with(&tr->cx, tr->net, &tr->w, d, &e);
        if (bf) mlpc_ctx_set_bf16(&tr->cx, 1);
    }
    *loss = e.loss;
    *acc = e.acc;
    *mse = e.mse;
    return MLPC_OK;
}

/* the early-stopping metric: lower is better (accuracies are negated) */
static double monitored(const mlpc_trainer *tr, const mlpc_epoch_stats *st)
{
    switch (tr->cfg.es_metric) {
    case MLPC_METRIC_VAL_ACC: return tr->val ? -st->val_acc : -st->acc;
    case MLPC_METRIC_LOSS: return st->loss;
    case MLPC_METRIC_ACC: return -st->acc;
    default: return tr->val ? st->val_loss : st->loss;
    }
}

static void early_stop(mlpc_trainer *tr, mlpc_epoch_stats *st)
{
    double v = monitored(tr, st);
    st->improved = v < tr->es_best - tr->cfg.es_min_delta; /* false for NaN */
    if (st->improved) {
        tr->es_best = v;
        tr->es_wait = 0;
        tr->best_epoch = tr->epoch;
        if (tr->cfg.es_restore_best && tr->cfg.es_patience > 0)
            memcpy(tr->best, tr->net->params, tr->net->n_params * sizeof(float));
        return;
    }
    /* an interrupted epoch keeps its reason; mlpc_trainer_run restores the best */
    if (tr->cfg.es_patience > 0 && ++tr->es_wait >= tr->cfg.es_patience &&
        !atomic_load_explicit(&tr->interrupt, memory_order_relaxed)) {
        tr->stopped = 1;
        snprintf(tr->stop_reason, sizeof tr->stop_reason,
                 "early stopping: %s did not improve for %d epochs (best at epoch %d)",
                 mlpc_metric_name(tr->cfg.es_metric), tr->cfg.es_patience, tr->best_epoch);
        if (tr->cfg.es_restore_best)
            memcpy(tr->net->params, tr->best, tr->net->n_params * sizeof(float));
    }
}

mlpc_status mlpc_trainer_epoch(mlpc_trainer *tr, mlpc_epoch_stats *st)
{
    if (!tr->train) return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "no training data set (mlpc_trainer_set_data)");
    mlpc_net *net = tr->net;
    const mlpc_dataset *d = tr->train;
    int B = tr->cfg.batch;
    size_t n = d->n, n_out = (size_t)net->sizes[net->n_layers];
    long n_batches = (long)((n + (size_t)B - 1) / (size_t)B);
    memset(st, 0, sizeof *st);
    st->epoch = tr->epoch + 1;
    st->lr = tr->sched.lr;
    snapshot(tr, 0);
    shuffle(tr);
    tr->wpk_valid = 0; /* the weights may have been written since (a rollback, the caller) */
    double t0 = mlpc_now(), sum_loss = 0.0, sum_aux = 0.0;
    if (tr->dev) { /* the batches run on the device (src/train/ondevice.c); the rest as below */
        mlpc_status ds = mlpc_trainer_device_batches(tr, st, t0, &sum_loss, &sum_aux, &n);
        if (ds) return ds;
        n_batches = 0;
        if (!d->labels && net->tgt_std) /* the device sums the standardized errors: one output scales exactly */
            sum_aux = n_out == 1 ? sum_aux * (double)net->tgt_std[0] * net->tgt_std[0] : NAN;
    }
    for (long b = 0; b < n_batches; b++) {
        size_t lo = (size_t)b * (size_t)B;
        int m = n - lo < (size_t)B ? (int)(n - lo) : B;
        size_t nlo = lo + (size_t)B;
        batch_pos pos = {tr, lo, nlo, m, b + 1 < n_batches ? (n - nlo < (size_t)B ? (int)(n - nlo) : B) : 0, 0, 0};
        double aux = 0.0;
        /* the weight gradients are observable in the batch callback and
         * after the epoch (mlpc_trainer_grads): only then are they kept */
        int callback = tr->on_batch && ((b + 1) % tr->batch_every == 0 || b + 1 == n_batches);
        double loss = train_batch(tr, &pos, d->labels ? tr->blabels : NULL, d->labels ? NULL : tr->btargets, &aux,
                                  callback || b + 1 == n_batches);
        if (!isfinite(loss)) {
            snapshot(tr, 1);
            return mlpc_seterr(&tr->err, MLPC_ERR_DIVERGED,
                               "training diverged at epoch %d, batch %ld: loss is %s", st->epoch, b + 1,
                               isnan(loss) ? "NaN" : "Inf");
        }
        sum_loss += loss;
        sum_aux += d->labels || !net->tgt_std ? aux : batch_sse_original(tr, m);
        if (callback) {
            tr->wpk_valid = 0; /* the callback may write the weights */
            size_t seen = lo + (size_t)m;
            mlpc_batch_info bi = {st->epoch, b + 1, n_batches, loss / m,
                                  d->labels ? aux / m : NAN, sum_loss / (double)seen,
                                  d->labels ? sum_aux / (double)seen : NAN, tr->sched.lr, mlpc_now() - t0};
            if (tr->on_batch(tr, &bi, tr->batch_user)) {
                tr->stopped = 1;
                snprintf(tr->stop_reason, sizeof tr->stop_reason, "stopped by the batch callback");
                n = seen; /* statistics over what was trained */
                break;
            }
        }
        if (mlpc_trainer_check_interrupt(tr)) { /* one relaxed load per batch */
            n = lo + (size_t)m;
            break;
        }
    }
    if (tr->stopped && !strcmp(tr->stop_reason, "interrupted")) {
        mlpc_status cs = checkpoint_before_partial_epoch(tr);
        if (cs) return cs;
    }
    st->epoch_seconds = mlpc_now() - t0;
    st->samples_per_second = (double)n / st->epoch_seconds;
    st->loss = sum_loss / (double)n;
    st->acc = d->labels ? sum_aux / (double)n : NAN;
    st->mse = d->labels ? NAN : sum_aux / ((double)n * n_out);
    double t1 = mlpc_now();
    mlpc_status es = evaluate(tr, tr->val, &st->val_loss, &st->val_acc, &st->val_mse);
    if (!es) es = evaluate(tr, tr->test, &st->test_loss, &st->test_acc, &st->test_mse);
    if (es) { /* the device failed: the epoch is undone, as when its batches fail */
        snapshot(tr, 1);
        return es;
    }
    st->eval_seconds = mlpc_now() - t1;
    /* the last update of the epoch is checked too: parameters and the
     * validation loss must be finite, else the epoch is rolled back */
    int finite = isfinite(sum_loss) && (!tr->val || isfinite(st->val_loss));
    for (size_t i = 0; finite && i < net->n_params; i++) finite = isfinite(net->params[i]);
    if (!finite) {
        snapshot(tr, 1);
        return mlpc_seterr(&tr->err, MLPC_ERR_DIVERGED, "training diverged at epoch %d: %s is not finite",
                           st->epoch, isfinite(sum_loss) && (!tr->val || isfinite(st->val_loss)) ? "a parameter" : "the loss");
    }
    tr->epoch++;
    early_stop(tr, st);
    double mon = tr->val ? st->val_loss : st->loss;
    mlpc_sched_step(&tr->sched, &tr->cfg, tr->epoch, mon);
    return MLPC_OK;
}

/* After an interrupt: the best weights, as early stopping would leave them. */
static void restore_best(mlpc_trainer *tr)
{
    if (tr->cfg.es_patience > 0 && tr->cfg.es_restore_best && tr->best_epoch > 0)
        memcpy(tr->net->params, tr->best, tr->net->n_params * sizeof(float));
}

mlpc_status mlpc_trainer_run(mlpc_trainer *tr)
{
    tr->ckpt_time = mlpc_now();
    while (tr->epoch < tr->cfg.epochs && !tr->stopped) {
        if (mlpc_trainer_check_interrupt(tr)) { /* between epochs */
            if (tr->ckpt_path && tr->ckpt_epoch != tr->epoch && tr->epoch > 0 &&
                write_checkpoint(tr, 0, 1))
                return tr->err.code;
            restore_best(tr);
            break;
        }
        mlpc_epoch_stats st;
        mlpc_status s = mlpc_trainer_epoch(tr, &st);
        if (s) return s;
        if (tr->stopped && !strcmp(tr->stop_reason, "interrupted")) {
            /* a part of an epoch: the last whole epoch's checkpoint was
             * written (or kept), so --resume from it continues as an
             * uninterrupted run */
            restore_best(tr);
            if (tr->on_epoch) tr->on_epoch(tr, &st, tr->epoch_user);
            break;
        }
        /* the callback runs first: what it changes (the rate) is in the checkpoint */
        if (tr->on_epoch && tr->on_epoch(tr, &st, tr->epoch_user) && !tr->stopped) {
            tr->stopped = 1;
            snprintf(tr->stop_reason, sizeof tr->stop_reason, "stopped by the epoch callback");
        }
        /* periodic (ckpt_every), and always after the last epoch */
        int last = tr->epoch >= tr->cfg.epochs || tr->stopped;
        if (tr->ckpt_path && (tr->ckpt_every <= 0 || mlpc_now() - tr->ckpt_time >= tr->ckpt_every || last) &&
            write_checkpoint(tr, tr->stopped, !last || tr->ckpt_final_sync))
            return tr->err.code;
    }
    return MLPC_OK;
}
