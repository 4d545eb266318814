/* kernels.cuh - the plugin's own kernels (kernels.cu) behind host launch
 * functions. Everything is row-major like the CPU code (src/kernels/), and
 * each kernel follows the CPU formula it replaces: bias + activation
 * (act.c), the loss with its output delta (loss.c), the activation
 * derivative, column sums, and the optimizer updates of optim.c with the
 * same rounding (no FMA contraction: __fmul_rn and friends). Every launch
 * goes to the given stream, so a training step can be captured into a CUDA
 * graph: the values that change from one step to the next (learning rate,
 * Adam's t, the batch's place in the row order) are read from device
 * memory (mlpc_hyper), not passed as arguments. */
#ifndef MLPC_CUDA_KERNELS_CUH
#define MLPC_CUDA_KERNELS_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

/* per-step scalars in device memory (at most 64 bytes: mlpc_cuda_mem_plan) */
typedef struct mlpc_hyper {
    float lr;           /* the rate the host set for this run of batches */
    float lr_eff;       /* the rate of this step: lr, or Adam's bias-corrected rate */
    long long t;        /* optimizer steps done (Adam's t after step_begin) */
    long long cursor;   /* first row (in the order) of this step's batch */
    long long slot;     /* where this step's loss goes in the per-batch arrays */
} mlpc_hyper;

typedef struct mlpc_optk {
    int opt;            /* mlpc_opt */
    float momentum, rho, beta1, beta2, eps;
    int nesterov;
} mlpc_optk;

/* t += 1; lr_eff = lr (sgd, rmsprop) or lr sqrt(1-b2^t)/(1-b1^t) (adam, in double as optim.c) */
void mlpc_k_step_begin(cudaStream_t s, mlpc_hyper *h, int adam, float beta1, float beta2);
/* cursor += m; slot += 1 */
void mlpc_k_step_end(cudaStream_t s, mlpc_hyper *h, int m);
/* rows order[cursor .. cursor+m) of the set into a0 (m x n_in), their labels
 * into blab or targets into btgt (m x n_out) */
void mlpc_k_gather(cudaStream_t s, const float *x, int n_in, const int32_t *labels, const float *targets,
                   int n_out, const uint32_t *order, const mlpc_hyper *h, int m, float *a0, int32_t *blab,
                   float *btgt);
/* Z[M x N] = act(Z + b) */
void mlpc_k_bias_act(cudaStream_t s, float *Z, const float *b, int M, int N, int act);
/* D[M x N] *= act'(.) from the output A */
void mlpc_k_act_backward(cudaStream_t s, float *D, const float *A, int M, int N, int act);
/* per row: the loss (rloss), the correct flag or squared error (raux), and
 * with delta the output-layer dL/dZ times inv (fused for softmax + cce and
 * sigmoid + bce) */
void mlpc_k_loss(cudaStream_t s, int loss, int out_act, const float *A, const int32_t *labels,
                 const float *targets, int M, int N, float *delta, float inv, double *rloss, double *raux);
/* sums of rloss and raux over M rows in a fixed order into out_loss[i],
 * out_aux[i], where i = h->slot (h not NULL) or 0; added to what is there
 * when accumulate */
void mlpc_k_reduce(cudaStream_t s, const double *rloss, const double *raux, int M, double *out_loss,
                   double *out_aux, const mlpc_hyper *h, int accumulate);
/* out[j] = sum_i D[i][j] */
void mlpc_k_col_sum(cudaStream_t s, const float *D, int M, int N, float *out);
/* one optimizer update of w[n] (the rate from h->lr_eff) */
void mlpc_k_opt(cudaStream_t s, const mlpc_optk *o, const mlpc_hyper *h, float *w, const float *g, float *m,
                float *v, size_t n, float l2);

#endif
