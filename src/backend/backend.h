/* backend.h - the compute seam. Everything the model and the trainer compute
 * goes through this small, versioned table of functions, so a CUDA backend
 * can plug in beside the CPU one. All matrices are row-major and contiguous
 * unless a leading dimension says otherwise. */
#ifndef MLPC_BACKEND_H
#define MLPC_BACKEND_H

#include "core/core.h"
#include "backend/pool.h"
#include "kernels/kernels.h" /* the CPU kernels (GEMM variants) the backends run */
#include "optim/optim.h"     /* mlpc_opt_step, mlpc_opt_apply */

#define MLPC_BACKEND_VERSION 4

typedef struct mlpc_backend mlpc_backend;

/* Per-run compute state: the thread pool and scratch the kernels need
 * (allocated once when the context is made). */
typedef struct mlpc_ctx {
    const mlpc_backend *be;
    mlpc_pool *pool;
    int threads;
    void *scratch;       /* backend-owned (GEMM packing buffers) */
} mlpc_ctx;

/* Plain SGD (no momentum, no L2 decay) done by the backend inside
 * weight_grad, while each block of the gradient is in registers or L1. */
typedef struct mlpc_sgd_fused {
    float *W;             /* the layer's weights (in x out) */
    float lr;
    int keep_grads;       /* 1: G gets the gradient too; 0: G is scratch */
    const int32_t *rows;  /* NULL, or the n_rows columns of A (ascending) that
                           * are not +0.0 in every row: the other rows of
                           * the gradient are zero and their weights stay */
    int n_rows;
} mlpc_sgd_fused;

/* Called as soon as the gradients of parameters [off, off + n) are final
 * (a block of one layer's weight rows, is_weight 1, or its biases), with
 * the context to use for work on them (a one-thread context when called
 * from a pool thread): the optimizer update runs there while the block is
 * in cache. */
typedef void (*mlpc_grad_ready_fn)(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight);

/* One product of a row-wise chain (row_chain): C = act(A B + b) with B
 * K x N (forward), or C = (A B^T) * act'(Y) with B N x K and Y the layer's
 * output (backward); A is M x K (lda), C M x N contiguous. */
typedef struct mlpc_row_op {
    int N, K;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    const float *aux; /* b (forward) or Y (backward) */
    float *C;
    mlpc_act act;
    int backward;
} mlpc_row_op;

/* One layer's gradients for weight_grads: G[in x out] = A^T D and
 * gb[out] = the column sums of D (A: m x in, D: m x out, contiguous); the
 * weights' first parameter is at off, the biases' at b_off. */
typedef struct mlpc_grad_layer {
    int in, out;
    const float *A, *D;
    float *G, *gb;
    size_t off, b_off;
} mlpc_grad_layer;

struct mlpc_backend {
    int version;
    const char *name;
    /* C[M x N] = alpha * op(A) op(B) + beta * C; op(A) is M x K (A is K x M
     * when ta), op(B) is K x N (B is N x K when tb). */
    void (*gemm)(mlpc_ctx *cx, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
    /* Z[M x N] = act(Z + b) in place (b broadcast over rows; softmax per row). */
    void (*bias_act)(mlpc_ctx *cx, float *Z, const float *b, int M, int N, mlpc_act act);
    /* D[M x N] = D * act'(.) where A = act(Z) is the layer's output
     * (softmax: the Jacobian-vector product per row). */
    void (*act_backward)(mlpc_ctx *cx, float *D, const float *A, int M, int N, mlpc_act act);
    /* Loss of output A[M x N] against labels (classify) or targets (regress).
     * Returns the summed loss over rows; *aux gets the number of rows whose
     * argmax equals the label (classify) or the summed squared error
     * (regress). If delta is not NULL, it gets
     * dLoss/dZ of the output layer divided by `scale` (the batch size). */
    double (*loss)(mlpc_ctx *cx, mlpc_loss loss, mlpc_act out_act, const float *A,
                   const int32_t *labels, const float *targets, int M, int N, float *delta,
                   float scale, double *aux);
    /* out[N] = sum over rows of D[M x N] (bias gradients). */
    void (*col_sum)(mlpc_ctx *cx, const float *D, int M, int N, float *out);
    /* The weight gradient G[in x out] = A^T D of a layer (A: m x in
     * activations, D: m x out deltas, both contiguous), each row block
     * handed to ready(user, ., off + first row * out, rows * out, 1) as
     * soon as it is written; for small m the blocks fit in L1. With sgd
     * (not NULL) the backend applies sgd->W -= sgd->lr G itself (the same
     * two roundings as opt_update), in the same pass where it can, and
     * calls ready for no weight block. */
    void (*weight_grad)(mlpc_ctx *cx, int in, int out, int m, const float *A, const float *D,
                        float *G, const mlpc_sgd_fused *sgd, size_t off, mlpc_grad_ready_fn ready,
                        void *user);
    /* C[M x N] = A B (A: M x K, B: K x N, not transposed) where only the
     * columns idx[0..n) of A (ascending) are not +0.0: the GEMM's result
     * from those terms alone (bit for bit for finite B, but for the sign of
     * a zero sum). */
    void (*gemm_cols)(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                      const int32_t *idx, int n, float *C, int ldc);
    /* Optional (NULL: the caller runs gemm, then bias_act or act_backward).
     * gemm_bias_act: C[M x N] = act(A B + b), A: M x K (lda), B: K x N
     * (ldb), C contiguous; gemm_act_backward: C[M x N] = (A B^T) * act'(Y)
     * with B: N x K (ldb) and Y = act(Z) the layer output [M x N], C
     * contiguous. The same bits as the two calls; the backend may apply
     * the activation to each block of C while it is in cache, in the same
     * parallel region as its product. */
    void (*gemm_bias_act)(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                          const float *b, float *C, mlpc_act act);
    void (*gemm_act_backward)(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B,
                              int ldb, const float *Y, float *C, mlpc_act act);
    /* Optional (NULL: gemm_bias_act or gemm_act_backward op by op). The n
     * products in order, each op's A the rows of an earlier op's C (or
     * input): every row of C depends only on the same row of A, so each
     * thread may run its rows through all of them in one parallel region,
     * with no wait between the products. The same bits as op by op. */
    void (*row_chain)(mlpc_ctx *cx, int M, const mlpc_row_op *ops, int n);
    /* Optional (NULL: weight_grad without sgd, col_sum and the biases'
     * ready, layer by layer). The gradients of n layers whose deltas are
     * all final, in one go: each layer's G and gb as weight_grad and
     * col_sum give them, the weight blocks handed to ready as weight_grad
     * hands them, and each layer's biases as ready(user, ., b_off, out, 0)
     * once gb is written. The layers are independent, so the backend may
     * run them in any order and on any thread (small layers whole, side by
     * side on different threads, in one parallel region); the same bits
     * as the calls one by one. */
    void (*weight_grads)(mlpc_ctx *cx, int m, const mlpc_grad_layer *layers, int n, mlpc_grad_ready_fn ready,
                         void *user);
    /* One optimizer update of w[n] with gradients g[n] and state m[n], v[n]. */
    void (*opt_update)(mlpc_ctx *cx, const mlpc_opt_step *s, float *w, const float *g, float *m,
                       float *v, size_t n);
};

extern const mlpc_backend mlpc_backend_cpu;

/* Makes a context with `threads` compute threads on the CPU backend. */
mlpc_status mlpc_ctx_init(mlpc_ctx *cx, int threads, mlpc_error *err);
void mlpc_ctx_free(mlpc_ctx *cx);
/* A one-thread context for work run on thread `tid` of cx's pool (it uses
 * that thread's scratch): for splitting whole batches over threads. */
mlpc_ctx mlpc_ctx_thread(const mlpc_ctx *cx, int tid);
/* bf16 products (kernels/gemm_bf16.c) for every alpha 1, beta 0 product
 * of this context and its thread views: on 1 when this CPU has
 * AVX512_BF16, else (or on 0) the float32 GEMM. Returns whether bf16 is
 * now on. */
int mlpc_ctx_set_bf16(mlpc_ctx *cx, int on);
int mlpc_ctx_bf16(const mlpc_ctx *cx);
/* The input rows of a bf16 step given already rounded to bf16: the
 * products of this context that read the float rows at `a` (rows x ld
 * floats) as their first operand read `ab` instead (rows x ldb, ldb even,
 * an odd ld padded with a zero): the same results bit for bit, with no
 * conversion of the input. The float rows need not hold the values then.
 * Only while bf16 is on; a NULL `a` ends it. Returns whether it is set. */
int mlpc_ctx_bf16_input(mlpc_ctx *cx, const float *a, int rows, int ld, const uint16_t *ab, int ldb);
/* The input rows of a float32 step, not gathered yet: row r of the
 * rows x ld floats at `a` is byte row idx[r] rebuilt as
 * mlpc_batch_byte_rows_gather rebuilds it. The forward's first product
 * gathers each block of its rows right before it multiplies them, on the
 * thread that multiplies them, so they are read from cache (the same bits
 * as gathering first); any other operation that reads them gathers them
 * all first. Each thread then asks for its share of the next batch's rows
 * (next, next_m) to be brought into cache. Ends once gathered; a NULL `a`
 * ends it (gathering what is pending). Not in bf16. Returns whether set. */
int mlpc_ctx_gather_input(mlpc_ctx *cx, float *a, int rows, int ld, const uint8_t *bytes, const uint32_t *idx,
                          const float *shift, const float *scale, const uint32_t *next, int next_m);
/* Weights packed for the bf16 products beforehand (mlpc_batch_bf16_pack_rows,
 * right after the optimizer wrote them): while registered, a bf16 product
 * whose B is the K x N matrix at w (not transposed, rows N apart) reads pk
 * instead of packing w, for the same bits. Up to MLPC_MAX_LAYERS; NULL w
 * clears them all (so does mlpc_ctx_set_bf16). Returns whether it is set. */
int mlpc_ctx_bf16_packed(mlpc_ctx *cx, const float *w, int K, int N, const uint32_t *pk);
/* Name of the GEMM variant in use ("avx512", "avx2", "generic"). */
const char *mlpc_ctx_gemm_name(const mlpc_ctx *cx);

/* ---- batch preparation on the CPU (batch.c), for the trainer ----
 * Byte rows: an exact byte copy of normalized rows, n x n_in bytes u with
 * ((float)u - shift[j]) * scale[j] equal bit for bit to x, or NULL when
 * some value is not of that form (or memory is short; the caller then
 * gathers the float rows). gather: dst[i] = row rows[i] rebuilt from its
 * bytes, i < m; prefetch: asks for those rows to be brought into cache. */
uint8_t *mlpc_batch_byte_rows_build(const float *x, size_t n, size_t n_in, const float *shift, const float *scale);
void mlpc_batch_byte_rows_gather(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m, const float *shift,
                             const float *scale, float *dst);
void mlpc_batch_byte_rows_prefetch(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m);
/* the gather's rows rounded to bf16 (mlpc_ctx_bf16_input), rows ldb apart
 * with a zero pad after an odd n_in; returns 0, writing nothing, where this
 * CPU has no AVX512_BF16 */
/* words of a K x N weight matrix packed for the bf16 products, and rows
 * [k0, k1) of W (k0 even; k1 even or K) packed into pk; 0 where this CPU
 * has no AVX512_BF16 */
size_t mlpc_batch_bf16_packed_words(int K, int N);
int mlpc_batch_bf16_pack_rows(int K, int N, const float *w, uint32_t *pk, int k0, int k1);
int mlpc_batch_byte_rows_gather_bf16(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m,
                                     const float *shift, const float *scale, uint16_t *dst, int ldb);
/* The columns of the m x n batch x that are not +0.0 in every row, listed
 * ascending in idx; returns their count (the sparse first layer). */
int mlpc_batch_active_cols(const float *x, int m, int n, int32_t *idx);

#endif
