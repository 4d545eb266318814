/* model.c - the net: architecture, the parameter arena, initialization,
 * input normalization, and inference (predict / evaluate, and predict on the
 * caller's thread with a workspace, for the bindings). */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_ROWS 1024 /* rows per inference chunk */

mlpc_net *mlpc_net_alloc(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                         mlpc_error *err)
{
    if (mlpc_arch_check(n_layers, sizes, act, loss, err)) return NULL;
    mlpc_net *net = calloc(1, sizeof *net);
    if (!net) goto nomem;
    net->n_layers = n_layers;
    net->loss = loss;
    net->threads = 1;
    net->work_rows = EVAL_ROWS;
    memcpy(net->sizes, sizes, sizeof(int) * (size_t)(n_layers + 1));
    memcpy(net->act, act, sizeof(mlpc_act) * (size_t)n_layers);
    size_t off = 0;
    for (int l = 0; l < n_layers; l++) {
        size_t w;
        if (!mlpc_mul_ok((size_t)sizes[l], (size_t)sizes[l + 1], &w) || off + w + sizes[l + 1] < off) {
            free(net);
            mlpc_seterr(err, MLPC_ERR_ARG, "layers: layer %d (%d x %d) is too large", l + 1, sizes[l], sizes[l + 1]);
            return NULL;
        }
        net->w_off[l] = off;
        off += w;
        net->b_off[l] = off;
        off += (size_t)sizes[l + 1];
    }
    net->n_params = off;
    net->params = calloc(off, sizeof(float));
    if (!net->params) goto nomem;
    return net;
nomem:
    free(net);
    mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for a net of %d layers", n_layers);
    return NULL;
}

static void init_params(mlpc_net *net, mlpc_init init, uint64_t seed)
{
    mlpc_rng r;
    mlpc_rng_seed(&r, seed);
    if (init == MLPC_INIT_AUTO) {
        int relu = net->act[0] == MLPC_ACT_RELU || net->act[0] == MLPC_ACT_LEAKY_RELU;
        init = relu ? MLPC_INIT_HE : MLPC_INIT_GLOROT;
    }
    for (int l = 0; l < net->n_layers; l++) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        size_t nw = (size_t)in * out;
        switch (init) {
        case MLPC_INIT_NORMAL: {
            double sd = 1.0 / sqrt((double)in);
            for (size_t i = 0; i < nw; i++) W[i] = (float)(sd * mlpc_rng_normal(&r));
            for (int j = 0; j < out; j++) b[j] = (float)mlpc_rng_normal(&r);
            break;
        }
        case MLPC_INIT_HE: {
            double sd = sqrt(2.0 / in);
            for (size_t i = 0; i < nw; i++) W[i] = (float)(sd * mlpc_rng_normal(&r));
            memset(b, 0, sizeof(float) * (size_t)out);
            break;
        }
        default: {
            double lim = sqrt(6.0 / (in + out));
            for (size_t i = 0; i < nw; i++) W[i] = (float)(lim * (2.0 * mlpc_rng_uniform(&r) - 1.0));
            memset(b, 0, sizeof(float) * (size_t)out);
            break;
        }
        }
    }
}

mlpc_net *mlpc_net_create(const mlpc_config *cfg0, mlpc_error *err)
{
    if (mlpc_config_validate(cfg0, err)) return NULL;
    mlpc_config cfg = *cfg0;
    mlpc_config_resolve(&cfg);
    mlpc_net *net = mlpc_net_alloc(cfg.n_layers, cfg.sizes, cfg.act, cfg.loss, err);
    if (!net) return NULL;
    init_params(net, cfg.init, cfg.seed);
    char json[4096];
    if (mlpc_config_to_json(&cfg, json, sizeof json) > 0) mlpc_net_set_meta(net, "config", json);
    return net;
}

static void drop_ctx(mlpc_net *net)
{
    if (net->cx) {
        mlpc_ctx_free(net->cx);
        free(net->cx);
        net->cx = NULL;
    }
    free(net->work);
    net->work = NULL;
}

void mlpc_net_free(mlpc_net *net)
{
    if (!net) return;
    drop_ctx(net);
    if (net->dev_ops) net->dev_ops->release(net);
    free(net->params);
    free(net->norm_shift);
    free(net->norm_scale);
    mlpc_net_free_extras(net);
    free(net->meta_config);
    free(net->meta_metrics);
    free(net);
}

const mlpc_error *mlpc_net_error(const mlpc_net *net) { return &net->err; }
int mlpc_net_layers(const mlpc_net *net) { return net->n_layers; }
int mlpc_net_size(const mlpc_net *net, int i) { return i >= 0 && i <= net->n_layers ? net->sizes[i] : 0; }
mlpc_act mlpc_net_act(const mlpc_net *net, int l) { return net->act[l]; }
mlpc_loss mlpc_net_loss(const mlpc_net *net) { return net->loss; }
size_t mlpc_net_param_count(const mlpc_net *net) { return net->n_params; }
float *mlpc_net_params(mlpc_net *net) { return net->params; }
float *mlpc_net_weights(mlpc_net *net, int l) { return net->params + net->w_off[l]; }
float *mlpc_net_biases(mlpc_net *net, int l) { return net->params + net->b_off[l]; }
mlpc_norm mlpc_net_norm_mode(const mlpc_net *net) { return net->norm; }

mlpc_status mlpc_net_set_threads(mlpc_net *net, int n)
{
    if (n < 1 || n > MLPC_MAX_THREADS) return mlpc_seterr(&net->err, MLPC_ERR_ARG, "threads %d: must be between 1 and %d", n, MLPC_MAX_THREADS);
    if (n != net->threads) drop_ctx(net);
    net->threads = n;
    return MLPC_OK;
}

mlpc_status mlpc_net_set_eval_rows(mlpc_net *net, int rows)
{
    if (rows < 1 || rows > (1 << 24)) return mlpc_seterr(&net->err, MLPC_ERR_ARG, "eval rows %d: must be between 1 and %d", rows, 1 << 24);
    /* rows are independent in inference: larger batches run as tiles of
     * EVAL_ROWS, whose activations stay in cache (no slowdown at N = 20000) */
    rows = rows < EVAL_ROWS ? rows : EVAL_ROWS;
    if (rows != net->work_rows) {
        free(net->work);
        net->work = NULL;
    }
    net->work_rows = rows;
    return MLPC_OK;
}

/* ---- normalization ------------------------------------------------------ */

mlpc_status mlpc_net_fit_normalization(mlpc_net *net, const mlpc_dataset *d, mlpc_norm mode)
{
    size_t n_in = (size_t)net->sizes[0];
    if ((unsigned)mode >= MLPC_NORM_COUNT) return mlpc_seterr(&net->err, MLPC_ERR_ARG, "norm: unknown mode %d", (int)mode);
    if (d->n_in != n_in)
        return mlpc_seterr(&net->err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %zu inputs", d->source, d->n_in, n_in);
    free(net->norm_shift);
    free(net->norm_scale);
    net->norm_shift = net->norm_scale = NULL;
    net->norm = mode;
    if (mode == MLPC_NORM_NONE) return MLPC_OK;
    net->norm_shift = malloc(n_in * sizeof(float));
    net->norm_scale = malloc(n_in * sizeof(float));
    if (!net->norm_shift || !net->norm_scale) {
        net->norm = MLPC_NORM_NONE;
        return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for normalization");
    }
    if (mode == MLPC_NORM_SCALE) { /* one min/max over all features (images keep their contrast) */
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < d->n * n_in; i++) {
            lo = d->x[i] < lo ? d->x[i] : lo;
            hi = d->x[i] > hi ? d->x[i] : hi;
        }
        if (d->n == 0) lo = hi = 0.0f;
        float sc = hi > lo ? 1.0f / (hi - lo) : 1.0f;
        for (size_t j = 0; j < n_in; j++) {
            net->norm_shift[j] = lo;
            net->norm_scale[j] = sc;
        }
        return MLPC_OK;
    }
    for (size_t j = 0; j < n_in; j++) { /* standard: per feature, two passes in double */
        double s = 0.0, ss = 0.0;
        float fill = net->imp_mean ? net->imp_mean[j] : NAN; /* a missing value counts as its mean */
        for (size_t i = 0; i < d->n; i++) s += isnan(d->x[i * n_in + j]) ? fill : d->x[i * n_in + j];
        double mean = d->n ? s / (double)d->n : 0.0;
        for (size_t i = 0; i < d->n; i++) {
            double e = (isnan(d->x[i * n_in + j]) ? fill : d->x[i * n_in + j]) - mean;
            ss += e * e;
        }
        double sd = d->n ? sqrt(ss / (double)d->n) : 0.0;
        net->norm_shift[j] = (float)mean;
        net->norm_scale[j] = sd > 1e-8 ? (float)(1.0 / sd) : 1.0f;
    }
    return MLPC_OK;
}

mlpc_status mlpc_net_normalize(const mlpc_net *net, mlpc_dataset *d)
{
    if (d->n_in != (size_t)net->sizes[0])
        return mlpc_seterr(&d->err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %d inputs", d->source, d->n_in, net->sizes[0]);
    mlpc_status st = mlpc_net_impute(net, d);
    if (st) return st;
    mlpc_normalize_rows(net, d->x, d->n, d->x);
    size_t k = (size_t)net->sizes[net->n_layers];
    if (net->tgt_mean && d->targets && d->n_out == k) /* the net trains on standardized targets */
        for (size_t i = 0; i < d->n; i++)
            for (size_t j = 0; j < k; j++)
                d->targets[i * k + j] = (d->targets[i * k + j] - net->tgt_mean[j]) / net->tgt_std[j];
    return MLPC_OK;
}

/* ---- meta ---------------------------------------------------------------- */

const char *mlpc_net_meta(const mlpc_net *net, const char *key)
{
    if (strcmp(key, "config") == 0) return net->meta_config;
    if (strcmp(key, "metrics") == 0) return net->meta_metrics;
    return NULL;
}

mlpc_status mlpc_net_set_meta(mlpc_net *net, const char *key, const char *json)
{
    char **slot = strcmp(key, "config") == 0 ? &net->meta_config
                : strcmp(key, "metrics") == 0 ? &net->meta_metrics : NULL;
    if (!slot) return mlpc_seterr(&net->err, MLPC_ERR_ARG, "meta key '%s': expected config or metrics", key);
    char *copy = NULL;
    if (json && !(copy = strdup(json))) return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory");
    free(*slot);
    *slot = copy;
    return MLPC_OK;
}

/* ---- inference ----------------------------------------------------------- */

/* Inference splits the rows over the threads, each thread running whole
 * chunks of work_rows rows through all layers on its own workspace: no
 * synchronization per layer, so small batches scale too. */
static mlpc_status ensure_ctx(mlpc_net *net)
{
    if (!net->work) {
        size_t per = mlpc_acts_floats(net, net->work_rows, 0);
        net->work = mlpc_big_alloc(per * (size_t)net->threads * sizeof(float), 0);
        if (!net->work) return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for inference buffers (%d rows)", net->work_rows);
    }
    if (net->cx) return MLPC_OK;
    net->cx = calloc(1, sizeof *net->cx);
    if (!net->cx) return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for inference buffers");
    mlpc_status st = mlpc_ctx_init(net->cx, net->threads, &net->err);
    if (st) {
        free(net->cx);
        net->cx = NULL;
    }
    return st;
}

typedef struct infer_job {
    const mlpc_net *net;
    const float *x;        /* predict: raw rows; evaluate: the dataset's rows */
    const mlpc_dataset *d; /* evaluate, else NULL */
    float *out;            /* predict */
    size_t n;
    double loss[MLPC_MAX_THREADS], aux[MLPC_MAX_THREADS];
} infer_job;

static void infer_part(void *arg, int tid, int nt)
{
    infer_job *j = arg;
    const mlpc_net *net = j->net;
    mlpc_ctx one = mlpc_ctx_thread(net->cx, tid);
    mlpc_acts w;
    mlpc_acts_bind(&w, net, net->work_rows, net->work + mlpc_acts_floats(net, net->work_rows, 0) * (size_t)tid, 0);
    long lo, hi;
    mlpc_split((long)j->n, 1, tid, nt, &lo, &hi);
    size_t n_in = (size_t)net->sizes[0];
    int L = net->n_layers, n_out = net->sizes[L];
    j->loss[tid] = j->aux[tid] = 0.0;
    for (size_t i = (size_t)lo; i < (size_t)hi; i += (size_t)w.rows) {
        int m = (size_t)hi - i < (size_t)w.rows ? (int)((size_t)hi - i) : w.rows;
        const float *in = j->x + i * n_in;
        if (!j->d && net->norm != MLPC_NORM_NONE) { /* raw input: normalize a copy */
            mlpc_normalize_rows(net, in, (size_t)m, w.a[0]);
            in = w.a[0];
        }
        mlpc_forward(&one, net, net->params, &w, m, in);
        if (!j->d) {
            memcpy(j->out + i * n_out, w.a[L], sizeof(float) * (size_t)m * n_out);
            continue;
        }
        double a = 0.0, orig = net->tgt_mean && j->d->targets
                                    ? mlpc_net_sse_original(net, w.a[L], j->d->targets + i * n_out, m) : NAN;
        j->loss[tid] += mlpc_backward(&one, net, net->params, &w, m, j->d->labels ? j->d->labels + i : NULL,
                                      j->d->targets ? j->d->targets + i * n_out : NULL, NULL, &a);
        j->aux[tid] += isnan(orig) ? a : orig;
    }
}

static mlpc_status infer(mlpc_net *net, const float *x, const mlpc_dataset *d, size_t n, float *out,
                         mlpc_eval *ev)
{
    mlpc_status st = ensure_ctx(net);
    if (st) return st;
    infer_job j = {net, x, d, out, n, {0}, {0}};
    mlpc_pool_run(net->cx->pool, infer_part, &j);
    if (!ev) return MLPC_OK;
    double loss = 0.0, aux = 0.0;
    for (int t = 0; t < net->threads; t++) { /* fixed order */
        loss += j.loss[t];
        aux += j.aux[t];
    }
    double nn = n ? (double)n : NAN;
    ev->n = n;
    ev->loss = loss / nn;
    ev->acc = d->labels ? aux / nn : NAN;
    ev->mse = d->labels ? NAN : aux / (nn * net->sizes[net->n_layers]);
    return MLPC_OK;
}

mlpc_status mlpc_net_predict(mlpc_net *net, const float *x, size_t n, float *out)
{
    mlpc_status st = net->dev ? net->dev_ops->infer(net, x, NULL, n, out, NULL) : infer(net, x, NULL, n, out, NULL);
    if (st == MLPC_OK) mlpc_net_unscale_outputs(net, out, n);
    return st;
}

/* Evaluation over an already normalized dataset on one workspace, the
 * layers split over cx's threads (the trainer's per-epoch evaluation). */
mlpc_status mlpc_evaluate_with(mlpc_ctx *cx, const mlpc_net *net, mlpc_acts *w,
                               const mlpc_dataset *d, mlpc_eval *out)
{
    int L = net->n_layers, n_out = net->sizes[L];
    double loss = 0.0, aux = 0.0;
    size_t n_in = (size_t)net->sizes[0];
    for (size_t i = 0; i < d->n; i += (size_t)w->rows) {
        int m = d->n - i < (size_t)w->rows ? (int)(d->n - i) : w->rows;
        mlpc_forward(cx, net, net->params, w, m, d->x + i * n_in); /* rows read in place */
        double a = 0.0, orig = net->tgt_mean && d->targets
                                    ? mlpc_net_sse_original(net, w->a[L], d->targets + i * n_out, m) : NAN;
        loss += mlpc_backward(cx, net, net->params, w, m, d->labels ? d->labels + i : NULL,
                              d->targets ? d->targets + i * n_out : NULL, NULL, &a);
        aux += isnan(orig) ? a : orig; /* mse in the original target units */
    }
    double n = d->n ? (double)d->n : NAN;
    out->n = d->n;
    out->loss = loss / n;
    out->acc = d->labels ? aux / n : NAN;
    out->mse = d->labels ? NAN : aux / (n * n_out);
    return MLPC_OK;
}

mlpc_status mlpc_net_evaluate(mlpc_net *net, const mlpc_dataset *d, mlpc_eval *out)
{
    if (d->n_in != (size_t)net->sizes[0])
        return mlpc_seterr(&net->err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %d inputs", d->source, d->n_in, net->sizes[0]);
    if (!d->labels && !d->targets)
        return mlpc_seterr(&net->err, MLPC_ERR_ARG, "%s: has no labels or targets to evaluate against", d->source);
    if (mlpc_check_targets(net, d, &net->err)) return net->err.code;
    if (net->dev && !net->tgt_mean) return net->dev_ops->infer(net, d->x, d, d->n, NULL, out);
    return infer(net, d->x, d, d->n, NULL, out); /* with target statistics: mse in original units, on the CPU */
}

mlpc_status mlpc_check_targets(const mlpc_net *net, const mlpc_dataset *d, mlpc_error *err)
{
    int n_out = net->sizes[net->n_layers];
    if (d->n_in != (size_t)net->sizes[0])
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %d inputs", d->source, d->n_in, net->sizes[0]);
    if (d->labels) {
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] < 0 || d->labels[i] >= n_out)
                return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s: row %zu has label %d but the net has %d outputs (classes 0..%d)",
                                   mlpc_dataset_label_source(d), i + 1, (int)d->labels[i], n_out, n_out - 1);
    } else if (d->targets) {
        if (d->n_out != (size_t)n_out)
            return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s: %zu target columns, the net has %d outputs",
                               mlpc_dataset_label_source(d), d->n_out, n_out);
    } else {
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: has no labels or targets", d->source);
    }
    return MLPC_OK;
}

/* ---- inference on the caller's thread (bindings) -------------------------- */

#define WS_ROWS 256 /* rows per chunk of a workspace made with rows 0 */

/* Activations for one chunk and a one-thread compute context: everything
 * mlpc_net_predict_ws writes, so the net itself stays unchanged. */
struct mlpc_workspace {
    int n_layers;
    int sizes[MLPC_MAX_LAYERS + 1]; /* the layer sizes it was made for */
    mlpc_ctx cx;                    /* one thread: no pool workers */
    float *arena;
    mlpc_acts w;                    /* w.rows rows, views into arena */
};

void mlpc_workspace_free(mlpc_workspace *ws)
{
    if (!ws) return;
    mlpc_ctx_free(&ws->cx);
    free(ws->arena);
    free(ws);
}

mlpc_workspace *mlpc_workspace_create(const mlpc_net *net, int rows, mlpc_error *err)
{
    if (!net) {
        mlpc_seterr(err, MLPC_ERR_ARG, "workspace: no net given");
        return NULL;
    }
    if (rows == 0) rows = WS_ROWS;
    if (rows < 1 || rows > (1 << 24)) {
        mlpc_seterr(err, MLPC_ERR_ARG, "workspace rows %d: must be between 1 and %d (0: %d)", rows, 1 << 24, WS_ROWS);
        return NULL;
    }
    mlpc_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) goto nomem;
    ws->n_layers = net->n_layers;
    memcpy(ws->sizes, net->sizes, sizeof(int) * (size_t)(net->n_layers + 1));
    ws->arena = aligned_alloc(64, mlpc_acts_floats(net, rows, 0) * sizeof(float));
    if (!ws->arena) goto nomem;
    if (mlpc_ctx_init(&ws->cx, 1, err)) {
        mlpc_workspace_free(ws);
        return NULL;
    }
    mlpc_acts_bind(&ws->w, net, rows, ws->arena, 0);
    mlpc_clearerr(err);
    return ws;
nomem:
    mlpc_workspace_free(ws);
    mlpc_seterr(err, MLPC_ERR_NOMEM, "workspace: out of memory for %d rows", rows);
    return NULL;
}

/* "784-30-10" into buf */
static const char *sizes_str(int n_layers, const int *sizes, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int l = 0; l <= n_layers && k < cap; l++)
        k += (size_t)snprintf(buf + k, cap - k, l ? "-%d" : "%d", sizes[l]);
    return buf;
}

/* The first non-finite value of n rows (row i at x + i * stride) as an
 * MLPC_ERR_ARG naming its row and column. */
static mlpc_status check_finite_rows(const float *x, size_t n, size_t n_in, size_t stride, mlpc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * stride;
        for (size_t j = 0; j < n_in; j++)
            if (!isfinite(row[j]))
                return mlpc_seterr(err, MLPC_ERR_ARG, "predict: x[%zu][%zu] is %s: inputs must be finite", i, j,
                                   isnan(row[j]) ? "NaN" : row[j] > 0 ? "inf" : "-inf");
    }
    return MLPC_OK;
}

mlpc_status mlpc_net_predict_ws(const mlpc_net *net, mlpc_workspace *ws, const float *x, size_t n,
                                size_t x_stride, float *out, mlpc_error *err)
{
    if (!net || !ws) return mlpc_seterr(err, MLPC_ERR_ARG, "predict: no %s given", net ? "workspace" : "net");
    if (n > 0 && (!x || !out)) return mlpc_seterr(err, MLPC_ERR_ARG, "predict: no %s array given", x ? "output" : "input");
    if (ws->n_layers != net->n_layers || memcmp(ws->sizes, net->sizes, sizeof(int) * (size_t)(net->n_layers + 1))) {
        char a[256], b[256];
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "predict: the workspace was made for layers %s, the net has %s",
                           sizes_str(ws->n_layers, ws->sizes, a, sizeof a), sizes_str(net->n_layers, net->sizes, b, sizeof b));
    }
    size_t n_in = (size_t)net->sizes[0], end;
    if (x_stride == 0) x_stride = n_in;
    if (x_stride < n_in)
        return mlpc_seterr(err, MLPC_ERR_ARG, "predict: row stride %zu is less than the %zu inputs", x_stride, n_in);
    if (n > 0 && (!mlpc_mul_ok(n - 1, x_stride, &end) || end > SIZE_MAX / sizeof(float) - n_in))
        return mlpc_seterr(err, MLPC_ERR_ARG, "predict: %zu rows of stride %zu overflow the address space", n, x_stride);
    if (check_finite_rows(x, n, n_in, x_stride, err)) return MLPC_ERR_ARG;
    mlpc_ctx one = mlpc_ctx_thread(&ws->cx, 0);
    mlpc_acts *w = &ws->w;
    int L = net->n_layers;
    size_t n_out = (size_t)net->sizes[L];
    for (size_t i = 0; i < n; i += (size_t)w->rows) {
        int m = n - i < (size_t)w->rows ? (int)(n - i) : w->rows;
        for (int r = 0; r < m; r++) /* raw rows -> a[0] (m x n_in), normalized */
            mlpc_normalize_rows(net, x + (i + (size_t)r) * x_stride, 1, w->a[0] + (size_t)r * n_in);
        mlpc_forward(&one, net, net->params, w, m, w->a[0]);
        memcpy(out + i * n_out, w->a[L], sizeof(float) * (size_t)m * n_out);
        mlpc_net_unscale_outputs(net, out + i * n_out, (size_t)m);
    }
    mlpc_clearerr(err);
    return MLPC_OK;
}
