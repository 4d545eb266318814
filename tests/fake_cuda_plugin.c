/* fake_cuda_plugin.c - stand-ins for build/libmlpc_cuda.so, so the loader,
 * the enumeration and the error messages can be tested on machines without
 * a GPU (tests/test_device.c, tests/cli/test_devices.sh). Built once per
 * case by the Makefile with -DFAKE_<case>:
 *   badabi     a table of another ABI version
 *   nosym      no entry point
 *   nodriver   the runtime's view with no libcuda.so.1
 *   olddriver  a driver for CUDA 12.4 under a 13.0 runtime
 *   nodevice   a driver that sees no GPU
 *   onegpu     one working "GPU" with 1 GiB of memory whose sessions compute
 *              on the CPU with plain loops, following session.cu step by
 *              step: the trainer's device path runs end to end without a GPU
 *              and must agree with the CPU backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/plugin.h"

#ifdef FAKE_nosym
int not_the_entry_point(void) { return 0; }
#else

static void probe(mlpc_cuda_probe *p)
{
    memset(p, 0, sizeof *p);
    p->runtime_version = 13000;
#if defined(FAKE_nodriver)
    p->error = MLPC_CUDA_ERR_INSUFFICIENT_DRIVER;
    snprintf(p->error_name, sizeof p->error_name, "cudaErrorInsufficientDriver");
    snprintf(p->error_text, sizeof p->error_text, "CUDA driver version is insufficient for CUDA runtime version");
    snprintf(p->driver_dlerror, sizeof p->driver_dlerror,
             "libcuda.so.1: cannot open shared object file: No such file or directory");
#elif defined(FAKE_olddriver)
    p->driver_version = 12040;
    p->error = MLPC_CUDA_ERR_INSUFFICIENT_DRIVER;
    snprintf(p->error_name, sizeof p->error_name, "cudaErrorInsufficientDriver");
    snprintf(p->error_text, sizeof p->error_text, "CUDA driver version is insufficient for CUDA runtime version");
#elif defined(FAKE_nodevice)
    p->driver_version = 13000;
    p->error = MLPC_CUDA_ERR_NO_DEVICE;
    snprintf(p->error_name, sizeof p->error_name, "cudaErrorNoDevice");
    snprintf(p->error_text, sizeof p->error_text, "no CUDA-capable device is detected");
#else
    p->driver_version = 13000;
    p->device_count = 1;
#endif
}

static int device_info(int dev, int with_free, mlpc_cuda_device *d, char *msg, size_t cap)
{
    memset(d, 0, sizeof *d);
    if (dev != 0) {
        snprintf(msg, cap, "invalid device ordinal");
        return MLPC_ERR_ARG;
    }
    snprintf(d->name, sizeof d->name, "mlpc fake GPU");
    d->total_mem = (uint64_t)1 << 30;
    const char *fm = getenv("MLPC_FAKE_FREE_MEM");
    d->free_mem = with_free ? (fm && *fm ? strtoull(fm, NULL, 10) : (uint64_t)768 << 20) : 0;
    d->cc_major = 8;
    d->cc_minor = 6;
    d->multiprocessors = 40;
    d->pci_bus = 0x17;
    d->blas_workspace = (uint64_t)4 << 20;
    return MLPC_OK;
}

static int check(int dev, char *msg, size_t cap) { return device_info(dev, 0, &(mlpc_cuda_device){0}, msg, cap); }

#ifdef FAKE_onegpu
/* A session that does on the CPU, in plain loops, what session.cu does on
 * the GPU (the same protocol: state in and out, a row order, runs of batches
 * with per-batch sums, evaluation of an uploaded set, prediction, gradients),
 * so the trainer's device path can be tested end to end without a GPU. */
#include <math.h>
#include <stdlib.h>

typedef struct fset {
    float *x;
    int32_t *labels;
    float *targets;
    uint64_t n, n_in, n_out;
} fset;

typedef struct fsess {
    mlpc_cuda_net net;
    int rows, L;
    fset set[4];
    uint32_t *order;
    float *params, *grads, *m, *v;
    float *a[MLPC_MAX_LAYERS + 1], *d[2], *btgt;
    int32_t *blab;
    int noted; /* MLPC_CUDA_GRAPHS=fail: the note was given */
} fsess;

static float act_f(float z, int act)
{
    switch (act) {
    case MLPC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case MLPC_ACT_TANH: return tanhf(z);
    case MLPC_ACT_RELU: return z > 0.0f ? z : 0.0f * z; /* NaN stays NaN, as act.c */
    case MLPC_ACT_LEAKY_RELU: return z > 0.0f ? z : 0.01f * z;
    default: return z;
    }
}

static float dact(float d, float a, int act)
{
    switch (act) {
    case MLPC_ACT_SIGMOID: return d * (a * (1.0f - a));
    case MLPC_ACT_TANH: return d * (1.0f - a * a);
    case MLPC_ACT_RELU: return a > 0.0f ? d : 0.0f;
    case MLPC_ACT_LEAKY_RELU: return a > 0.0f ? d : 0.01f * d;
    default: return d;
    }
}

static void forward(fsess *s, int m, const float *x)
{
    const mlpc_cuda_net *n = &s->net;
    for (int l = 0; l < s->L; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        const float *A = l == 0 ? x : s->a[l], *W = s->params + n->w_off[l], *b = s->params + n->b_off[l];
        float *Z = s->a[l + 1];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < out; j++) {
                float z = 0.0f;
                for (int k = 0; k < in; k++) z += A[(size_t)i * in + k] * W[(size_t)k * out + j];
                Z[(size_t)i * out + j] = z + b[j];
            }
            float *zr = Z + (size_t)i * out;
            if (n->act[l] == MLPC_ACT_SOFTMAX) {
                float mx = zr[0], sum = 0.0f;
                for (int j = 1; j < out; j++) mx = zr[j] > mx ? zr[j] : mx;
                for (int j = 0; j < out; j++) sum += (zr[j] = expf(zr[j] - mx));
                for (int j = 0; j < out; j++) zr[j] *= 1.0f / sum;
            } else {
                for (int j = 0; j < out; j++) zr[j] = act_f(zr[j], n->act[l]);
            }
        }
    }
}

static float clipp(float p) { return p < 1e-7f ? 1e-7f : (p > 1.0f - 1e-7f ? 1.0f - 1e-7f : p); }

/* loss.c's mlpc_k_loss */
static double loss_rows(fsess *s, const int32_t *labels, const float *targets, int M, float *delta, double *aux)
{
    const mlpc_cuda_net *n = &s->net;
    int N = n->sizes[s->L], loss = n->loss, out_act = n->act[s->L - 1];
    const float *A = s->a[s->L];
    double total = 0.0, extra = 0.0;
    float inv = 1.0f / (float)M;
    int fused = (out_act == MLPC_ACT_SOFTMAX && loss == MLPC_LOSS_CCE) || (out_act == MLPC_ACT_SIGMOID && loss == MLPC_LOSS_BCE);
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * N, *y = targets ? targets + (size_t)i * N : NULL;
        int label = labels ? labels[i] : -1;
#define Y(j) (y ? y[j] : (float)((j) == label))
        if (labels) {
            int best = 0;
            for (int j = 1; j < N; j++)
                if (a[j] > a[best]) best = j;
            extra += best == label;
        } else {
            for (int j = 0; j < N; j++) extra += (double)(a[j] - y[j]) * (a[j] - y[j]);
        }
        double l = 0.0;
        float *d = delta ? delta + (size_t)i * N : NULL;
        for (int j = 0; j < N; j++) {
            float e = a[j] - Y(j), p = clipp(a[j]), g = 0.0f;
            switch (loss) {
            case MLPC_LOSS_QUADRATIC: l += 0.5 * (double)e * e; g = e; break;
            case MLPC_LOSS_MSE: l += (double)e * e; g = 2.0f * e / (float)N; break;
            case MLPC_LOSS_BCE: l -= Y(j) * log(p) + (1.0f - Y(j)) * log(1.0f - p); g = (p - Y(j)) / (p * (1.0f - p)) / (float)N; break;
            default: if (Y(j) != 0.0f) l -= Y(j) * log(p); g = -Y(j) / p; break;
            }
            if (d) d[j] = g;
        }
        if (loss == MLPC_LOSS_MSE || loss == MLPC_LOSS_BCE) l /= N;
        total += l;
        if (!d) continue;
        if (fused) {
            float k = loss == MLPC_LOSS_BCE ? 1.0f / (float)N : 1.0f, sy = 1.0f;
            if (loss == MLPC_LOSS_CCE && y) {
                sy = 0.0f;
                for (int j = 0; j < N; j++) sy += y[j];
            }
            for (int j = 0; j < N; j++) d[j] = (a[j] * sy - Y(j)) * k * inv;
        } else if (out_act == MLPC_ACT_SOFTMAX) {
            float sd = 0.0f;
            for (int j = 0; j < N; j++) sd += d[j] * a[j];
            for (int j = 0; j < N; j++) d[j] = a[j] * (d[j] - sd) * inv;
        } else {
            for (int j = 0; j < N; j++) d[j] = dact(d[j], a[j], out_act) * inv;
        }
#undef Y
    }
    *aux = extra;
    return total;
}

static void backward(fsess *s, int m)
{
    const mlpc_cuda_net *n = &s->net;
    float *D = s->d[0];
    for (int l = s->L - 1; l >= 0; l--) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        float *gW = s->grads + n->w_off[l], *gb = s->grads + n->b_off[l];
        const float *A = s->a[l], *W = s->params + n->w_off[l];
        for (int k = 0; k < in; k++)
            for (int j = 0; j < out; j++) {
                float g = 0.0f;
                for (int i = 0; i < m; i++) g += A[(size_t)i * in + k] * D[(size_t)i * out + j];
                gW[(size_t)k * out + j] = g;
            }
        for (int j = 0; j < out; j++) {
            float g = 0.0f;
            for (int i = 0; i < m; i++) g += D[(size_t)i * out + j];
            gb[j] = g;
        }
        if (l == 0) break;
        float *Dp = D == s->d[0] ? s->d[1] : s->d[0];
        for (int i = 0; i < m; i++)
            for (int k = 0; k < in; k++) {
                float g = 0.0f;
                for (int j = 0; j < out; j++) g += D[(size_t)i * out + j] * W[(size_t)k * out + j];
                Dp[(size_t)i * in + k] = dact(g, s->a[l][(size_t)i * in + k], n->act[l - 1]);
            }
        D = Dp;
    }
}

/* optim.c's formulas */
static void opt_range(fsess *s, float lr, long t, size_t off, size_t cnt, float l2)
{
    const mlpc_cuda_net *n = &s->net;
    float *w = s->params + off, *g = s->grads + off, *m = s->m ? s->m + off : NULL, *v = s->v ? s->v + off : NULL;
    float lr_t = (float)(lr * sqrt(1.0 - pow(n->beta2, (double)t)) / (1.0 - pow(n->beta1, (double)t)));
    for (size_t i = 0; i < cnt; i++) {
        float gi = g[i] + l2 * w[i];
        if (n->opt == MLPC_OPT_SGD) {
            if (n->momentum == 0.0f) {
                w[i] -= lr * gi;
            } else {
                m[i] = n->momentum * m[i] - lr * gi;
                w[i] += n->nesterov ? n->momentum * m[i] - lr * gi : m[i];
            }
        } else if (n->opt == MLPC_OPT_RMSPROP) {
            v[i] = n->rho * v[i] + (1.0f - n->rho) * gi * gi;
            w[i] -= lr * gi / (sqrtf(v[i]) + n->eps);
        } else {
            m[i] = n->beta1 * m[i] + (1.0f - n->beta1) * gi;
            v[i] = n->beta2 * v[i] + (1.0f - n->beta2) * gi * gi;
            w[i] -= lr_t * m[i] / (sqrtf(v[i]) + n->eps);
        }
    }
}

static void optimize(fsess *s, float lr, long t)
{
    const mlpc_cuda_net *n = &s->net;
    if (n->l2 == 0.0f) {
        opt_range(s, lr, t, 0, n->n_params, 0.0f);
        return;
    }
    for (int l = 0; l < s->L; l++) {
        opt_range(s, lr, t, n->w_off[l], n->b_off[l] - n->w_off[l], n->l2);
        opt_range(s, lr, t, n->b_off[l], (size_t)n->sizes[l + 1], 0.0f);
    }
}

static void s_close(void *p)
{
    fsess *s = p;
    if (!s) return;
    for (int i = 0; i < 4; i++) {
        free(s->set[i].x);
        free(s->set[i].labels);
        free(s->set[i].targets);
    }
    free(s->order);
    free(s->params);
    free(s->grads);
    free(s->m);
    free(s->v);
    for (int l = 0; l <= s->L; l++) free(s->a[l]);
    free(s->d[0]);
    free(s->d[1]);
    free(s->blab);
    free(s->btgt);
    free(s);
}

static int s_open(const mlpc_cuda_net *net, void **out, char *msg, size_t cap)
{
    fsess *s = calloc(1, sizeof *s);
    if (!s) return MLPC_ERR_NOMEM;
    s->net = *net;
    s->L = net->n_layers;
    s->rows = net->batch > net->eval_rows ? net->batch : net->eval_rows;
    int widest = mlpc_cuda_widest(net), ok = 1;
    size_t np = net->n_params;
    s->params = calloc(np, 4);
    s->grads = calloc(np, 4);
    s->m = calloc(np, 4);
    s->v = calloc(np, 4);
    for (int l = 0; l <= s->L; l++) ok &= (s->a[l] = calloc((size_t)s->rows * net->sizes[l], 4)) != NULL;
    s->d[0] = calloc((size_t)s->rows * widest, 4);
    s->d[1] = calloc((size_t)s->rows * widest, 4);
    s->blab = calloc((size_t)s->rows, 4);
    s->btgt = calloc((size_t)s->rows * net->sizes[s->L], 4);
    if (!ok || !s->params || !s->grads || !s->m || !s->v || !s->d[0] || !s->d[1] || !s->blab || !s->btgt) {
        s_close(s);
        snprintf(msg, cap, "fake plugin: out of memory");
        return MLPC_ERR_NOMEM;
    }
    *out = s;
    return MLPC_OK;
}

static int s_upload(void *p, int slot, const mlpc_cuda_data *d, char *msg, size_t cap)
{
    fsess *s = p;
    fset *c = &s->set[slot];
    free(c->x);
    free(c->labels);
    free(c->targets);
    memset(c, 0, sizeof *c);
    c->n = d->n;
    c->n_in = d->n_in;
    c->n_out = d->n_out;
    c->x = malloc(d->n * d->n_in * 4);
    memcpy(c->x, d->x, d->n * d->n_in * 4);
    if (d->labels) {
        c->labels = malloc(d->n * 4);
        memcpy(c->labels, d->labels, d->n * 4);
    } else {
        c->targets = malloc(d->n * d->n_out * 4);
        memcpy(c->targets, d->targets, d->n * d->n_out * 4);
    }
    if (slot == 0) {
        free(s->order);
        s->order = malloc(d->n * 4);
    }
    (void)msg, (void)cap;
    return MLPC_OK;
}

static int s_set_state(void *p, const float *params, const float *m, const float *v, char *msg, size_t cap)
{
    fsess *s = p;
    size_t b = s->net.n_params * 4;
    if (params) memcpy(s->params, params, b);
    if (m) memcpy(s->m, m, b);
    if (v) memcpy(s->v, v, b);
    (void)msg, (void)cap;
    return MLPC_OK;
}

static int s_get_state(void *p, float *params, float *g, float *m, float *v, char *msg, size_t cap)
{
    fsess *s = p;
    size_t b = s->net.n_params * 4;
    if (params) memcpy(params, s->params, b);
    if (g) memcpy(g, s->grads, b);
    if (m) memcpy(m, s->m, b);
    if (v) memcpy(v, s->v, b);
    (void)msg, (void)cap;
    return MLPC_OK;
}

static int s_set_order(void *p, const uint32_t *idx, uint64_t n, char *msg, size_t cap)
{
    fsess *s = p;
    if (n != s->set[0].n) {
        snprintf(msg, cap, "fake plugin: order of %llu rows", (unsigned long long)n);
        return MLPC_ERR_ARG;
    }
    memcpy(s->order, idx, n * 4);
    return MLPC_OK;
}

static int s_train(void *p, mlpc_cuda_run *r, char *msg, size_t cap)
{
    fsess *s = p;
    const fset *t = &s->set[0];
    int B = s->net.batch;
    long nb = (long)((t->n + (uint64_t)B - 1) / (uint64_t)B);
    if (r->first < 0 || r->count < 1 || r->first + r->count > nb) {
        snprintf(msg, cap, "fake plugin: batches %ld+%ld of %ld", r->first, r->count, nb);
        return MLPC_ERR_ARG;
    }
    long step = r->step;
    for (long k = 0; k < r->count; k++) {
        uint64_t lo = (uint64_t)(r->first + k) * (uint64_t)B;
        int m = t->n - lo < (uint64_t)B ? (int)(t->n - lo) : B;
        size_t N = (size_t)s->net.sizes[s->L];
        for (int i = 0; i < m; i++) {
            uint32_t row = s->order[lo + (uint64_t)i];
            memcpy(s->a[0] + (size_t)i * t->n_in, t->x + (size_t)row * t->n_in, t->n_in * 4);
            if (t->labels)
                s->blab[i] = t->labels[row];
            else
                memcpy(s->btgt + (size_t)i * N, t->targets + (size_t)row * N, N * 4);
        }
        forward(s, m, s->a[0]);
        r->loss[k] = loss_rows(s, t->labels ? s->blab : NULL, t->labels ? NULL : s->btgt, m, s->d[0], &r->aux[k]);
        backward(s, m);
        optimize(s, r->lr, ++step);
    }
    const char *g = getenv("MLPC_CUDA_GRAPHS");
    if (s->net.graphs && g && !strcmp(g, "fail") && !s->noted) {
        s->noted = 1;
        snprintf(msg, cap, "fake plugin: capturing a training step as a CUDA graph failed (forced); each step's "
                           "kernels are launched directly from now on");
    }
    return MLPC_OK;
}

static int s_evaluate(void *p, int slot, double *loss, double *aux, char *msg, size_t cap)
{
    fsess *s = p;
    const fset *c = &s->set[slot];
    const char *f = getenv("MLPC_FAKE_EVAL_FAIL");
    if (f && !strcmp(f, "1")) {
        snprintf(msg, cap, "fake plugin: evaluation failed (MLPC_FAKE_EVAL_FAIL)");
        return MLPC_ERR_UNSUPPORTED;
    }
    if (!c->x) {
        snprintf(msg, cap, "fake plugin: nothing in slot %d", slot);
        return MLPC_ERR_ARG;
    }
    size_t N = (size_t)s->net.sizes[s->L];
    *loss = *aux = 0.0;
    for (uint64_t i = 0; i < c->n; i += (uint64_t)s->rows) {
        int m = c->n - i < (uint64_t)s->rows ? (int)(c->n - i) : s->rows;
        double a = 0.0;
        forward(s, m, c->x + i * c->n_in);
        *loss += loss_rows(s, c->labels ? c->labels + i : NULL, c->targets ? c->targets + i * N : NULL, m, NULL, &a);
        *aux += a;
    }
    return MLPC_OK;
}

static int s_predict(void *p, const float *x, uint64_t n, float *out, char *msg, size_t cap)
{
    fsess *s = p;
    size_t n_in = (size_t)s->net.sizes[0], N = (size_t)s->net.sizes[s->L];
    for (uint64_t i = 0; i < n; i += (uint64_t)s->rows) {
        int m = n - i < (uint64_t)s->rows ? (int)(n - i) : s->rows;
        forward(s, m, x + i * n_in);
        memcpy(out + i * N, s->a[s->L], (size_t)m * N * 4);
    }
    (void)msg, (void)cap;
    return MLPC_OK;
}

static int s_gradient(void *p, const float *x, const int32_t *lab, const float *t, int m, float *g, double *l,
                      char *msg, size_t cap)
{
    fsess *s = p;
    double aux;
    memcpy(s->a[0], x, (size_t)m * s->net.sizes[0] * 4);
    forward(s, m, s->a[0]);
    *l = loss_rows(s, lab, t, m, s->d[0], &aux) / m;
    backward(s, m);
    memcpy(g, s->grads, s->net.n_params * 4);
    (void)msg, (void)cap;
    return MLPC_OK;
}
#else
static int s_open(const mlpc_cuda_net *net, void **s, char *msg, size_t cap)
{
    (void)net;
    *s = NULL;
    snprintf(msg, cap, "fake plugin: no sessions without a device");
    return MLPC_ERR_UNSUPPORTED;
}
static void s_close(void *s) { (void)s; }
static int s_upload(void *s, int slot, const mlpc_cuda_data *d, char *msg, size_t cap)
{
    (void)s, (void)slot, (void)d, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_set_state(void *s, const float *p, const float *m, const float *v, char *msg, size_t cap)
{
    (void)s, (void)p, (void)m, (void)v, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_get_state(void *s, float *p, float *g, float *m, float *v, char *msg, size_t cap)
{
    (void)s, (void)p, (void)g, (void)m, (void)v, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_set_order(void *s, const uint32_t *idx, uint64_t n, char *msg, size_t cap)
{
    (void)s, (void)idx, (void)n, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_train(void *s, mlpc_cuda_run *r, char *msg, size_t cap)
{
    (void)s, (void)r, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_evaluate(void *s, int slot, double *l, double *a, char *msg, size_t cap)
{
    (void)s, (void)slot, (void)l, (void)a, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_predict(void *s, const float *x, uint64_t n, float *out, char *msg, size_t cap)
{
    (void)s, (void)x, (void)n, (void)out, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
static int s_gradient(void *s, const float *x, const int32_t *lab, const float *t, int m, float *g, double *l,
                      char *msg, size_t cap)
{
    (void)s, (void)x, (void)lab, (void)t, (void)m, (void)g, (void)l, (void)msg, (void)cap;
    return MLPC_ERR_UNSUPPORTED;
}
#endif

static const mlpc_cuda_api API = {
#ifdef FAKE_badabi
    999,
#else
    MLPC_CUDA_ABI_VERSION,
#endif
    (uint32_t)sizeof(mlpc_cuda_api),
    "fake plugin for tests",
    probe, device_info, check, s_open, s_close, s_upload, s_set_state, s_get_state, s_set_order, s_train,
    s_evaluate, s_predict, s_gradient,
};

/* returns the table whatever version is asked for, so the loader's own
 * check is what is tested */
const mlpc_cuda_api *mlpc_cuda_plugin(uint32_t abi_version)
{
    (void)abi_version;
    return &API;
}
#endif
