/* session.cu - training and inference sessions on one GPU.
 *
 * A session holds everything on the device: the data sets (uploaded once),
 * the parameters, gradients and optimizer moments (layout of the CPU arena),
 * activations for max(batch, eval rows) rows, the epoch's row order, and the
 * per-batch loss sums. A training step is
 *   step_begin (t += 1, Adam's rate) -> gather the batch's rows by index ->
 *   per layer cuBLAS sgemm + bias/activation -> loss with the output delta
 *   -> per layer dW = a^T D (sgemm), db = column sums, D_prev = D W^T
 *   (sgemm) * act' -> optimizer -> step_end (cursor += m),
 * all on one stream, with no host value that changes between steps: so the
 * step is captured once per batch size into a CUDA graph and replayed, and
 * the host sees the losses once per run of batches (mlpc_cuda_run).
 *
 * Row-major on cuBLAS (column-major): C = A B is computed as C^T = B^T A^T,
 * which is the same memory, by swapping the operands (gemm_rm). SGEMM runs in
 * plain FP32 (no TF32) for parity with the CPU; MLPC_CUDA_TF32=1 allows TF32
 * tensor cores.
 *
 * Every buffer is allocated in open/upload, counted against the session's
 * limit: the library checked the same plan (mlpc_cuda_mem_plan) before
 * calling open, so over-the-limit here means the two disagree. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/kernels.cuh"
#include "cuda/session.cuh"

#define MAX_GRAPHS 4

typedef struct cset {
    float *x;
    int32_t *labels;
    float *targets;
    uint64_t n, n_in, n_out;
} cset;

typedef struct csess {
    mlpc_cuda_net net;
    int dev, rows, widest, L;
    cudaStream_t st;
    cublasHandle_t blas;
    void *ws;
    cset set[4];
    uint32_t *order;
    uint64_t order_cap;
    float *params, *grads, *m, *v;
    float *a[MLPC_CUDA_MAX_LAYERS + 1];
    float *d[2];
    int32_t *blab;
    float *btgt;
    double *rloss, *raux, *bloss, *baux;
    mlpc_hyper *hyp;
    mlpc_hyper *h_hyp; /* pinned */
    double *h_res;     /* pinned: 2 x max_batches */
    uint64_t used, maxb;
    struct {
        int m;
        cudaGraphExec_t exec;
    } graph[MAX_GRAPHS];
    int n_graphs;
    int fail_capture;  /* MLPC_CUDA_GRAPHS=fail (tests) */
    char note[320];    /* set when the session fell back from graphs; handed to the library once by train */
    mlpc_optk optk;
} csess;

/* ---- errors and memory ---------------------------------------------------------- */

static int cuerr(const csess *s, cudaError_t e, const char *what, char *msg, size_t cap)
{
    snprintf(msg, cap, "cuda:%d: %s failed: %s (%s)", s ? s->dev : -1, what, cudaGetErrorString(e),
             cudaGetErrorName(e));
    cudaGetLastError();
    return e == cudaErrorMemoryAllocation ? MLPC_ERR_NOMEM : MLPC_ERR_UNSUPPORTED;
}

#define CK(call)                                                                                     \
    do {                                                                                             \
        cudaError_t e_ = (call);                                                                     \
        if (e_ != cudaSuccess) return cuerr(s, e_, #call, msg, cap);                                 \
    } while (0)

#define CB(call)                                                                                     \
    do {                                                                                             \
        cublasStatus_t b_ = (call);                                                                  \
        if (b_ != CUBLAS_STATUS_SUCCESS) {                                                           \
            snprintf(msg, cap, "cuda:%d: %s failed: %s", s->dev, #call, cublasGetStatusString(b_)); \
            return b_ == CUBLAS_STATUS_ALLOC_FAILED ? MLPC_ERR_NOMEM : MLPC_ERR_UNSUPPORTED;         \
        }                                                                                            \
    } while (0)

static int dalloc(csess *s, void **p, uint64_t bytes, const char *what, char *msg, size_t cap)
{
    *p = NULL;
    if (!bytes) return MLPC_OK;
    uint64_t r = mlpc_cuda_round(bytes);
    if (s->net.mem_limit && s->used + r > s->net.mem_limit) {
        snprintf(msg, cap, "cuda:%d: %s (%llu bytes) would pass --gpu-memory-limit (%llu bytes, %llu in use)", s->dev,
                 what, (unsigned long long)r, (unsigned long long)s->net.mem_limit, (unsigned long long)s->used);
        return MLPC_ERR_ARG;
    }
    cudaError_t e = cudaMalloc(p, r);
    if (e != cudaSuccess) {
        *p = NULL;
        size_t fr = 0, tot = 0;
        cudaGetLastError();
        cudaMemGetInfo(&fr, &tot);
        snprintf(msg, cap, "cuda:%d: cannot allocate %llu bytes for %s (%s; %llu bytes free)", s->dev,
                 (unsigned long long)r, what, cudaGetErrorName(e), (unsigned long long)fr);
        cudaGetLastError();
        return MLPC_ERR_NOMEM;
    }
    s->used += r;
    return MLPC_OK;
}

static void dfree(csess *s, void *p, uint64_t bytes)
{
    if (!p) return;
    cudaFree(p);
    s->used -= mlpc_cuda_round(bytes);
}

#define DALLOC(ptr, bytes, what)                                                                     \
    do {                                                                                             \
        int r_ = dalloc(s, (void **)&(ptr), (bytes), (what), msg, cap);                              \
        if (r_) return r_;                                                                           \
    } while (0)

/* ---- the compute of one batch ------------------------------------------------------- */

/* row-major C[M x N] = op(A) op(B) (op(A) M x K), as backend.h's gemm */
static cublasStatus_t gemm_rm(cublasHandle_t h, int ta, int tb, int M, int N, int K, const float *A, int lda,
                              const float *B, int ldb, float *C, int ldc)
{
    const float one = 1.0f, zero = 0.0f;
    return cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &one, B, ldb, A,
                       lda, &zero, C, ldc);
}

static int forward(csess *s, int m, const float *x, char *msg, size_t cap)
{
    const mlpc_cuda_net *n = &s->net;
    for (int l = 0; l < s->L; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        CB(gemm_rm(s->blas, 0, 0, m, out, in, l == 0 ? x : s->a[l], in, s->params + n->w_off[l], out, s->a[l + 1],
                   out));
        mlpc_k_bias_act(s->st, s->a[l + 1], s->params + n->b_off[l], m, out, n->act[l]);
    }
    return MLPC_OK;
}

/* gradients of the batch whose output delta is in d[0] and input in a[0] */
static int backward(csess *s, int m, char *msg, size_t cap)
{
    const mlpc_cuda_net *n = &s->net;
    float *D = s->d[0];
    for (int l = s->L - 1; l >= 0; l--) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        CB(gemm_rm(s->blas, 1, 0, in, out, m, s->a[l], in, D, out, s->grads + n->w_off[l], out));
        mlpc_k_col_sum(s->st, D, m, out, s->grads + n->b_off[l]);
        if (l == 0) break;
        float *Dp = D == s->d[0] ? s->d[1] : s->d[0];
        CB(gemm_rm(s->blas, 0, 1, m, in, out, D, out, s->params + n->w_off[l], out, Dp, in));
        mlpc_k_act_backward(s->st, Dp, s->a[l], m, in, n->act[l - 1]);
        D = Dp;
    }
    return MLPC_OK;
}

/* the optimizer over the arena: weights with L2, biases without (trainer.c's update) */
static void optimize(csess *s)
{
    const mlpc_cuda_net *n = &s->net;
    if (n->l2 == 0.0f) {
        mlpc_k_opt(s->st, &s->optk, s->hyp, s->params, s->grads, s->m, s->v, n->n_params, 0.0f);
        return;
    }
    for (int l = 0; l < s->L; l++) {
        uint64_t w0 = n->w_off[l], b0 = n->b_off[l];
        mlpc_k_opt(s->st, &s->optk, s->hyp, s->params + w0, s->grads + w0, s->m ? s->m + w0 : NULL,
                   s->v ? s->v + w0 : NULL, b0 - w0, n->l2);
        mlpc_k_opt(s->st, &s->optk, s->hyp, s->params + b0, s->grads + b0, s->m ? s->m + b0 : NULL,
                   s->v ? s->v + b0 : NULL, (size_t)n->sizes[l + 1], 0.0f);
    }
}

/* one training step on the next m rows of the order (everything read from
 * device memory, so it can be captured and replayed) */
static int record_step(csess *s, int m, char *msg, size_t cap)
{
    const mlpc_cuda_net *n = &s->net;
    const cset *t = &s->set[0];
    int L = s->L, N = n->sizes[L];
    mlpc_k_step_begin(s->st, s->hyp, n->opt == MLPC_OPT_ADAM, n->beta1, n->beta2);
    mlpc_k_gather(s->st, t->x, (int)t->n_in, t->labels, t->targets, (int)t->n_out, s->order, s->hyp, m, s->a[0],
                  s->blab, s->btgt);
    int rc = forward(s, m, s->a[0], msg, cap);
    if (rc) return rc;
    mlpc_k_loss(s->st, n->loss, n->act[L - 1], s->a[L], t->labels ? s->blab : NULL, t->labels ? NULL : s->btgt, m,
                N, s->d[0], 1.0f / (float)m, s->rloss, s->raux);
    mlpc_k_reduce(s->st, s->rloss, s->raux, m, s->bloss, s->baux, s->hyp, 0);
    if ((rc = backward(s, m, msg, cap))) return rc;
    optimize(s);
    mlpc_k_step_end(s->st, s->hyp, m);
    CK(cudaGetLastError());
    return MLPC_OK;
}

static void drop_graphs(csess *s)
{
    for (int i = 0; i < s->n_graphs; i++)
        if (s->graph[i].exec) cudaGraphExecDestroy(s->graph[i].exec);
    s->n_graphs = 0;
}

/* The capture of a step of m rows failed (what: the call, e: its error, or
 * detail: the step's own message): the stream is taken out of capture mode,
 * the graphs are dropped and the session launches each step's kernels
 * directly from now on, with a note for the library (--log-device). Nothing
 * ran during the capture, so the step is then run directly. */
static int no_graphs(csess *s, int m, const char *what, cudaError_t e, const char *detail, char *msg, size_t cap)
{
    cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(s->st, &cs) == cudaSuccess && cs != cudaStreamCaptureStatusNone) {
        cudaGraph_t g = NULL;
        cudaStreamEndCapture(s->st, &g);
        if (g) cudaGraphDestroy(g);
    }
    cudaGetLastError(); /* capture errors are not sticky */
    drop_graphs(s);
    s->net.graphs = 0;
    snprintf(s->note, sizeof s->note,
             "cuda:%d: capturing a training step of %d rows as a CUDA graph failed (%s: %s); each step's kernels are "
             "launched directly from now on",
             s->dev, m, what, detail && *detail ? detail : cudaGetErrorString(e));
    return record_step(s, m, msg, cap);
}

/* A step on m rows as a graph. The first step of a batch size runs its
 * kernels directly, so every kernel and cuBLAS is loaded and initialized
 * outside a capture; the second captures the step and launches the graph,
 * and later ones replay it. A capture that fails falls back to direct
 * launches (no_graphs). MLPC_CUDA_GRAPHS=fail makes every capture fail (a
 * stream synchronization inside it), to test that fallback. */
static int step(csess *s, int m, char *msg, size_t cap)
{
    if (!s->net.graphs) return record_step(s, m, msg, cap);
    int k = -1;
    for (int i = 0; i < s->n_graphs; i++)
        if (s->graph[i].m == m) k = i;
    if (k >= 0 && s->graph[k].exec) {
        CK(cudaGraphLaunch(s->graph[k].exec, s->st));
        return MLPC_OK;
    }
    if (k < 0) {
        if (s->n_graphs == MAX_GRAPHS) { /* a new batch size: forget the oldest */
            if (s->graph[0].exec) cudaGraphExecDestroy(s->graph[0].exec);
            memmove(&s->graph[0], &s->graph[1], sizeof s->graph[0] * (MAX_GRAPHS - 1));
            s->n_graphs--;
        }
        s->graph[s->n_graphs].m = m;
        s->graph[s->n_graphs].exec = NULL;
        s->n_graphs++;
        return record_step(s, m, msg, cap); /* warm-up: a real step */
    }
    cudaError_t e = cudaStreamBeginCapture(s->st, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess) return no_graphs(s, m, "cudaStreamBeginCapture", e, NULL, msg, cap);
    char inner[256] = "";
    int rc = record_step(s, m, inner, sizeof inner);
    if (!rc && s->fail_capture) cudaStreamSynchronize(s->st); /* not allowed while capturing: invalidates it */
    cudaGraph_t g = NULL;
    e = cudaStreamEndCapture(s->st, &g);
    if (rc || e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        return no_graphs(s, m, rc ? "recording the step" : "cudaStreamEndCapture", e, rc ? inner : NULL, msg, cap);
    }
    cudaGraphExec_t exec;
    e = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) return no_graphs(s, m, "cudaGraphInstantiate", e, NULL, msg, cap);
    s->graph[k].exec = exec;
    CK(cudaGraphLaunch(exec, s->st));
    return MLPC_OK;
}

/* ---- the session API -------------------------------------------------------------------- */

void mlpc_cs_close(void *session)
{
    csess *s = (csess *)session;
    if (!s) return;
    cudaSetDevice(s->dev);
    if (s->st) cudaStreamSynchronize(s->st);
    drop_graphs(s);
    for (int i = 0; i < 4; i++) {
        cudaFree(s->set[i].x);
        cudaFree(s->set[i].labels);
        cudaFree(s->set[i].targets);
    }
    /* the handle first: it holds the workspace freed below */
    if (s->blas) cublasDestroy(s->blas);
    void *dev[] = {s->order, s->params, s->grads, s->m, s->v, s->d[0], s->d[1], s->blab, s->btgt,
                   s->rloss, s->raux, s->bloss, s->baux, s->hyp, s->ws};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) cudaFree(dev[i]);
    for (int l = 0; l <= s->L; l++) cudaFree(s->a[l]);
    if (s->h_hyp) cudaFreeHost(s->h_hyp);
    if (s->h_res) cudaFreeHost(s->h_res);
    if (s->st) cudaStreamDestroy(s->st);
    cudaGetLastError();
    free(s);
}

static int open_into(csess *s, char *msg, size_t cap)
{
    const mlpc_cuda_net *n = &s->net;
    CK(cudaSetDevice(s->dev));
    CK(cudaStreamCreateWithFlags(&s->st, cudaStreamNonBlocking));
    CB(cublasCreate(&s->blas));
    CB(cublasSetStream(s->blas, s->st));
    const char *tf32 = getenv("MLPC_CUDA_TF32");
    CB(cublasSetMathMode(s->blas, tf32 && !strcmp(tf32, "1") ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    uint64_t np = n->n_params, rows = (uint64_t)s->rows, N = (uint64_t)n->sizes[s->L];
    DALLOC(s->params, np * 4, "parameters");
    if (n->batch) DALLOC(s->grads, np * 4, "gradients");
    int moments = mlpc_cuda_moments(n);
    int want_m = n->batch && (n->opt == MLPC_OPT_ADAM || (n->opt == MLPC_OPT_SGD && n->momentum != 0.0f));
    int want_v = n->batch && (n->opt == MLPC_OPT_ADAM || n->opt == MLPC_OPT_RMSPROP);
    if (want_m + want_v != moments) {
        snprintf(msg, cap, "cuda:%d: internal error: optimizer moments disagree with the memory plan", s->dev);
        return MLPC_ERR_ARG;
    }
    if (want_m) DALLOC(s->m, np * 4, "optimizer moments");
    if (want_v) DALLOC(s->v, np * 4, "optimizer moments");
    for (int l = 0; l <= s->L; l++) DALLOC(s->a[l], rows * (uint64_t)n->sizes[l] * 4, "activations");
    if (n->batch) {
        DALLOC(s->d[0], rows * (uint64_t)s->widest * 4, "deltas");
        DALLOC(s->d[1], rows * (uint64_t)s->widest * 4, "deltas");
        DALLOC(s->blab, rows * 4, "batch labels");
        DALLOC(s->btgt, rows * N * 4, "batch targets");
    }
    DALLOC(s->rloss, rows * 8, "per-row losses");
    DALLOC(s->raux, rows * 8, "per-row losses");
    DALLOC(s->ws, n->blas_workspace, "the cuBLAS workspace");
    DALLOC(s->hyp, 64, "step scalars");
    DALLOC(s->bloss, s->maxb * 8, "per-batch losses");
    DALLOC(s->baux, s->maxb * 8, "per-batch losses");
    if (s->ws) CB(cublasSetWorkspace(s->blas, s->ws, n->blas_workspace));
    CK(cudaHostAlloc((void **)&s->h_hyp, sizeof(mlpc_hyper), cudaHostAllocDefault));
    CK(cudaHostAlloc((void **)&s->h_res, 2 * s->maxb * sizeof(double), cudaHostAllocDefault));
    memset(s->h_hyp, 0, sizeof(mlpc_hyper));
    CK(cudaMemcpyAsync(s->hyp, s->h_hyp, sizeof(mlpc_hyper), cudaMemcpyHostToDevice, s->st));
    CK(cudaStreamSynchronize(s->st));
    s->optk.opt = n->opt;
    s->optk.momentum = n->momentum;
    s->optk.rho = n->rho;
    s->optk.beta1 = n->beta1;
    s->optk.beta2 = n->beta2;
    s->optk.eps = n->eps;
    s->optk.nesterov = n->nesterov;
    return MLPC_OK;
}

int mlpc_cs_open(const mlpc_cuda_net *net, void **session, char *msg, size_t cap)
{
    *session = NULL;
    if (net->n_layers < 1 || net->n_layers > MLPC_CUDA_MAX_LAYERS || net->eval_rows < 1 || net->batch < 0) {
        snprintf(msg, cap, "cuda:%d: invalid session description", net->device);
        return MLPC_ERR_ARG;
    }
    csess *s = (csess *)calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, cap, "out of host memory for a CUDA session");
        return MLPC_ERR_NOMEM;
    }
    s->net = *net;
    s->dev = net->device;
    s->L = net->n_layers;
    s->rows = net->batch > net->eval_rows ? net->batch : net->eval_rows;
    s->widest = mlpc_cuda_widest(net);
    s->maxb = net->max_batches ? net->max_batches : 1;
    const char *g = getenv("MLPC_CUDA_GRAPHS");
    s->fail_capture = g && !strcmp(g, "fail");
    int rc = open_into(s, msg, cap);
    if (rc) {
        mlpc_cs_close(s);
        return rc;
    }
    *session = s;
    return MLPC_OK;
}

int mlpc_cs_upload(void *session, int slot, const mlpc_cuda_data *d, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    /* targets are read with the output width as their stride (gather, loss) */
    if (slot < 0 || slot > 3 || !d || !d->x || !d->labels == !d->targets ||
        d->n_in != (uint64_t)s->net.sizes[0] || (d->targets && d->n_out != (uint64_t)s->net.sizes[s->L])) {
        snprintf(msg, cap, "cuda:%d: invalid data set for slot %d", s->dev, slot);
        return MLPC_ERR_ARG;
    }
    CK(cudaSetDevice(s->dev));
    CK(cudaStreamSynchronize(s->st));
    cset *c = &s->set[slot];
    dfree(s, c->x, c->n * c->n_in * 4);
    dfree(s, c->labels, c->labels ? c->n * 4 : 0);
    dfree(s, c->targets, c->targets ? c->n * c->n_out * 4 : 0);
    memset(c, 0, sizeof *c);
    if (slot == 0) drop_graphs(s); /* they point at the old set */
    DALLOC(c->x, d->n * d->n_in * 4, "a data set");
    c->n = d->n;
    c->n_in = d->n_in;
    c->n_out = d->n_out;
    CK(cudaMemcpyAsync(c->x, d->x, d->n * d->n_in * 4, cudaMemcpyHostToDevice, s->st));
    if (d->labels) {
        DALLOC(c->labels, d->n * 4, "labels");
        CK(cudaMemcpyAsync(c->labels, d->labels, d->n * 4, cudaMemcpyHostToDevice, s->st));
    } else if (d->targets) {
        DALLOC(c->targets, d->n * d->n_out * 4, "targets");
        CK(cudaMemcpyAsync(c->targets, d->targets, d->n * d->n_out * 4, cudaMemcpyHostToDevice, s->st));
    }
    CK(cudaStreamSynchronize(s->st));
    if (slot == 0 && s->net.batch && d->n > s->order_cap) {
        dfree(s, s->order, s->order_cap * 4);
        s->order = NULL;
        s->order_cap = 0;
        DALLOC(s->order, d->n * 4, "the row order");
        s->order_cap = d->n;
    }
    return MLPC_OK;
}

int mlpc_cs_set_state(void *session, const float *params, const float *m, const float *v, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    size_t bytes = s->net.n_params * 4;
    CK(cudaSetDevice(s->dev));
    CK(cudaStreamSynchronize(s->st));
    if (params) CK(cudaMemcpyAsync(s->params, params, bytes, cudaMemcpyHostToDevice, s->st));
    if (m && s->m) CK(cudaMemcpyAsync(s->m, m, bytes, cudaMemcpyHostToDevice, s->st));
    if (v && s->v) CK(cudaMemcpyAsync(s->v, v, bytes, cudaMemcpyHostToDevice, s->st));
    CK(cudaStreamSynchronize(s->st)); /* the caller may change its arrays after we return */
    return MLPC_OK;
}

int mlpc_cs_get_state(void *session, float *params, float *grads, float *m, float *v, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    size_t bytes = s->net.n_params * 4;
    CK(cudaSetDevice(s->dev));
    CK(cudaStreamSynchronize(s->st));
    if (params) CK(cudaMemcpyAsync(params, s->params, bytes, cudaMemcpyDeviceToHost, s->st));
    if (grads && s->grads) CK(cudaMemcpyAsync(grads, s->grads, bytes, cudaMemcpyDeviceToHost, s->st));
    if (m && s->m) CK(cudaMemcpyAsync(m, s->m, bytes, cudaMemcpyDeviceToHost, s->st));
    if (v && s->v) CK(cudaMemcpyAsync(v, s->v, bytes, cudaMemcpyDeviceToHost, s->st));
    CK(cudaStreamSynchronize(s->st));
    return MLPC_OK;
}

int mlpc_cs_set_order(void *session, const uint32_t *idx, uint64_t n, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    if (!s->order || n != s->set[0].n || n > s->order_cap) {
        snprintf(msg, cap, "cuda:%d: row order of %llu rows for a training set of %llu", s->dev,
                 (unsigned long long)n, (unsigned long long)s->set[0].n);
        return MLPC_ERR_ARG;
    }
    CK(cudaSetDevice(s->dev));
    CK(cudaMemcpyAsync(s->order, idx, n * 4, cudaMemcpyHostToDevice, s->st));
    CK(cudaStreamSynchronize(s->st)); /* idx is pageable host memory the caller may change */
    return MLPC_OK;
}

int mlpc_cs_train(void *session, mlpc_cuda_run *run, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    const cset *t = &s->set[0];
    int B = s->net.batch;
    if (!B || !t->x || !s->order) {
        snprintf(msg, cap, "cuda:%d: no training set on the device", s->dev);
        return MLPC_ERR_ARG;
    }
    long n_batches = (long)((t->n + (uint64_t)B - 1) / (uint64_t)B);
    if (run->first < 0 || run->count < 1 || run->first + run->count > n_batches || (uint64_t)run->count > s->maxb) {
        snprintf(msg, cap, "cuda:%d: batches %ld..%ld of %ld", s->dev, run->first + 1, run->first + run->count,
                 n_batches);
        return MLPC_ERR_ARG;
    }
    CK(cudaSetDevice(s->dev));
    int rem = (int)(t->n - (uint64_t)(n_batches - 1) * (uint64_t)B);
    s->h_hyp->lr = run->lr;
    s->h_hyp->lr_eff = run->lr;
    s->h_hyp->t = run->step;
    s->h_hyp->cursor = (long long)run->first * B;
    s->h_hyp->slot = 0;
    CK(cudaMemcpyAsync(s->hyp, s->h_hyp, sizeof(mlpc_hyper), cudaMemcpyHostToDevice, s->st));
    long full = run->count;
    int partial = run->first + run->count == n_batches && rem != B;
    if (partial) full--;
    int rc;
    for (long k = 0; k < full; k++)
        if ((rc = step(s, B, msg, cap))) return rc;
    if (partial && (rc = step(s, rem, msg, cap))) return rc;
    size_t bytes = (size_t)run->count * sizeof(double);
    CK(cudaMemcpyAsync(s->h_res, s->bloss, bytes, cudaMemcpyDeviceToHost, s->st));
    CK(cudaMemcpyAsync(s->h_res + s->maxb, s->baux, bytes, cudaMemcpyDeviceToHost, s->st));
    CK(cudaStreamSynchronize(s->st));
    memcpy(run->loss, s->h_res, bytes);
    memcpy(run->aux, s->h_res + s->maxb, bytes);
    if (s->note[0]) { /* a note on success (plugin.h): once */
        snprintf(msg, cap, "%s", s->note);
        s->note[0] = '\0';
    }
    return MLPC_OK;
}

int mlpc_cs_evaluate(void *session, int slot, double *loss, double *aux, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    const cset *c = slot >= 0 && slot < 4 ? &s->set[slot] : NULL;
    if (!c || !c->x || (!c->labels && !c->targets)) {
        snprintf(msg, cap, "cuda:%d: no labelled data set in slot %d", s->dev, slot);
        return MLPC_ERR_ARG;
    }
    CK(cudaSetDevice(s->dev));
    int L = s->L, N = s->net.sizes[L];
    CK(cudaMemsetAsync(s->bloss, 0, sizeof(double), s->st));
    CK(cudaMemsetAsync(s->baux, 0, sizeof(double), s->st));
    for (uint64_t i = 0; i < c->n; i += (uint64_t)s->rows) {
        int m = c->n - i < (uint64_t)s->rows ? (int)(c->n - i) : s->rows;
        int rc = forward(s, m, c->x + i * c->n_in, msg, cap); /* rows read in place */
        if (rc) return rc;
        mlpc_k_loss(s->st, s->net.loss, s->net.act[L - 1], s->a[L], c->labels ? c->labels + i : NULL,
                    c->targets ? c->targets + i * c->n_out : NULL, m, N, NULL, 1.0f, s->rloss, s->raux);
        mlpc_k_reduce(s->st, s->rloss, s->raux, m, s->bloss, s->baux, NULL, 1);
    }
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(s->h_res, s->bloss, sizeof(double), cudaMemcpyDeviceToHost, s->st));
    CK(cudaMemcpyAsync(s->h_res + 1, s->baux, sizeof(double), cudaMemcpyDeviceToHost, s->st));
    CK(cudaStreamSynchronize(s->st));
    *loss = s->h_res[0];
    *aux = s->h_res[1];
    return MLPC_OK;
}

int mlpc_cs_predict(void *session, const float *x, uint64_t n, float *out, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    CK(cudaSetDevice(s->dev));
    int L = s->L;
    uint64_t n_in = (uint64_t)s->net.sizes[0], N = (uint64_t)s->net.sizes[L];
    for (uint64_t i = 0; i < n; i += (uint64_t)s->rows) {
        int m = n - i < (uint64_t)s->rows ? (int)(n - i) : s->rows;
        CK(cudaMemcpyAsync(s->a[0], x + i * n_in, (size_t)m * n_in * 4, cudaMemcpyHostToDevice, s->st));
        int rc = forward(s, m, s->a[0], msg, cap);
        if (rc) return rc;
        CK(cudaMemcpyAsync(out + i * N, s->a[L], (size_t)m * N * 4, cudaMemcpyDeviceToHost, s->st));
        CK(cudaStreamSynchronize(s->st));
    }
    CK(cudaGetLastError());
    return MLPC_OK;
}

int mlpc_cs_gradient(void *session, const float *x, const int32_t *labels, const float *targets, int m,
                     float *grads, double *loss, char *msg, size_t cap)
{
    csess *s = (csess *)session;
    if (!s->net.batch || m < 1 || m > s->rows || !x || !labels == !targets) {
        snprintf(msg, cap, "cuda:%d: gradient of %d rows: needs a training session, 1..%d rows and labels or targets",
                 s->dev, m, s->rows);
        return MLPC_ERR_ARG;
    }
    CK(cudaSetDevice(s->dev));
    int L = s->L, N = s->net.sizes[L];
    uint64_t n_in = (uint64_t)s->net.sizes[0];
    CK(cudaMemcpyAsync(s->a[0], x, (size_t)m * n_in * 4, cudaMemcpyHostToDevice, s->st));
    if (labels)
        CK(cudaMemcpyAsync(s->blab, labels, (size_t)m * 4, cudaMemcpyHostToDevice, s->st));
    else
        CK(cudaMemcpyAsync(s->btgt, targets, (size_t)m * N * 4, cudaMemcpyHostToDevice, s->st));
    int rc = forward(s, m, s->a[0], msg, cap);
    if (rc) return rc;
    mlpc_k_loss(s->st, s->net.loss, s->net.act[L - 1], s->a[L], labels ? s->blab : NULL, labels ? NULL : s->btgt, m,
                N, s->d[0], 1.0f / (float)m, s->rloss, s->raux);
    mlpc_k_reduce(s->st, s->rloss, s->raux, m, s->bloss, s->baux, NULL, 0);
    if ((rc = backward(s, m, msg, cap))) return rc;
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(grads, s->grads, s->net.n_params * 4, cudaMemcpyDeviceToHost, s->st));
    CK(cudaMemcpyAsync(s->h_res, s->bloss, sizeof(double), cudaMemcpyDeviceToHost, s->st));
    CK(cudaStreamSynchronize(s->st));
    *loss = s->h_res[0] / m;
    return MLPC_OK;
}
