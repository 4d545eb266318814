/* kernels.cu - the plugin's kernels: gather by index, bias + activation,
 * activation derivative, loss with the output delta, deterministic
 * reductions, column sums and the optimizer updates. See kernels.cuh.
 *
 * Rows are independent, so the row-wise kernels give one warp to a row
 * (8 rows per 256-thread block); sums over rows use one block and a fixed
 * order, so a given batch always gives the same bits. */
#include <math.h>

#include "cuda/kernels.cuh"
#include "mlpc.h"

#define CLIP_EPS 1e-7f
#define LEAKY_SLOPE 0.01f
#define ROWS_PER_BLOCK 8 /* warps of a 256-thread block, one row each */

static unsigned blocks_for(size_t n, unsigned per)
{
    size_t b = (n + per - 1) / per;
    if (b < 1) b = 1;
    return b > 2147483647u ? 2147483647u : (unsigned)b;
}

/* ---- per-step scalars ------------------------------------------------------ */

__global__ void k_step_begin(mlpc_hyper *h, int adam, float b1, float b2)
{
    h->t += 1;
    if (adam) {
        double t = (double)h->t;
        h->lr_eff = (float)((double)h->lr * sqrt(1.0 - pow((double)b2, t)) / (1.0 - pow((double)b1, t)));
    } else {
        h->lr_eff = h->lr;
    }
}

__global__ void k_step_end(mlpc_hyper *h, int m)
{
    h->cursor += m;
    h->slot += 1;
}

void mlpc_k_step_begin(cudaStream_t s, mlpc_hyper *h, int adam, float beta1, float beta2)
{
    k_step_begin<<<1, 1, 0, s>>>(h, adam, beta1, beta2);
}

void mlpc_k_step_end(cudaStream_t s, mlpc_hyper *h, int m) { k_step_end<<<1, 1, 0, s>>>(h, m); }

/* ---- gather ------------------------------------------------------------------- */

__global__ void k_gather(const float *__restrict__ x, int n_in, const int32_t *__restrict__ labels,
                         const float *__restrict__ targets, int n_out, const uint32_t *__restrict__ order,
                         const mlpc_hyper *h, float *__restrict__ a0, int32_t *__restrict__ blab,
                         float *__restrict__ btgt)
{
    int i = blockIdx.x;
    size_t r = order[h->cursor + i];
    const float *src = x + r * (size_t)n_in;
    float *dst = a0 + (size_t)i * n_in;
    for (int j = threadIdx.x; j < n_in; j += blockDim.x) dst[j] = src[j];
    if (labels) {
        if (threadIdx.x == 0) blab[i] = labels[r];
    } else {
        for (int j = threadIdx.x; j < n_out; j += blockDim.x) btgt[(size_t)i * n_out + j] = targets[r * n_out + j];
    }
}

void mlpc_k_gather(cudaStream_t s, const float *x, int n_in, const int32_t *labels, const float *targets,
                   int n_out, const uint32_t *order, const mlpc_hyper *h, int m, float *a0, int32_t *blab,
                   float *btgt)
{
    k_gather<<<m, 128, 0, s>>>(x, n_in, labels, targets, n_out, order, h, a0, blab, btgt);
}

/* ---- activations ----------------------------------------------------------------- */

__device__ __forceinline__ float act_f(float z, int act)
{
    switch (act) {
    case MLPC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case MLPC_ACT_TANH: return tanhf(z);
    /* act.c's slope * v with slope 0: NaN and -inf give NaN as on the CPU
     * (not 0), so a diverging batch shows in the loss at the same batch */
    case MLPC_ACT_RELU: return z > 0.0f ? z : 0.0f * z;
    case MLPC_ACT_LEAKY_RELU: return z > 0.0f ? z : LEAKY_SLOPE * z;
    default: return z; /* linear */
    }
}

__global__ void k_bias_act(float *__restrict__ Z, const float *__restrict__ b, int M, int N, int act)
{
    size_t total = (size_t)M * N;
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (size_t)gridDim.x * blockDim.x)
        Z[k] = act_f(Z[k] + b[k % N], act);
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* softmax of each row after adding the bias, max-shifted as act.c */
__global__ void k_softmax(float *__restrict__ Z, const float *__restrict__ b, int M, int N)
{
    int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= M) return;
    float *z = Z + (size_t)row * N;
    float mx = -INFINITY;
    for (int j = lane; j < N; j += 32) {
        z[j] += b[j];
        mx = fmaxf(mx, z[j]);
    }
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int j = lane; j < N; j += 32) {
        float e = expf(z[j] - mx);
        z[j] = e;
        sum += e;
    }
    float inv = 1.0f / warp_sum(sum);
    for (int j = lane; j < N; j += 32) z[j] *= inv;
}

void mlpc_k_bias_act(cudaStream_t s, float *Z, const float *b, int M, int N, int act)
{
    if (act == MLPC_ACT_SOFTMAX)
        k_softmax<<<blocks_for((size_t)M, ROWS_PER_BLOCK), 256, 0, s>>>(Z, b, M, N);
    else
        k_bias_act<<<blocks_for((size_t)M * N, 256), 256, 0, s>>>(Z, b, M, N, act);
}

__device__ __forceinline__ float dact(float d, float a, int act)
{
    switch (act) {
    case MLPC_ACT_SIGMOID: return d * (a * (1.0f - a));
    case MLPC_ACT_TANH: return d * (1.0f - a * a);
    case MLPC_ACT_RELU: return a > 0.0f ? d : 0.0f;
    case MLPC_ACT_LEAKY_RELU: return a > 0.0f ? d : LEAKY_SLOPE * d;
    default: return d;
    }
}

__global__ void k_act_backward(float *__restrict__ D, const float *__restrict__ A, int M, int N, int act)
{
    size_t total = (size_t)M * N;
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (size_t)gridDim.x * blockDim.x)
        D[k] = dact(D[k], A[k], act);
}

/* softmax: dz_j = a_j (d_j - sum_k d_k a_k), one warp per row */
__global__ void k_softmax_backward(float *__restrict__ D, const float *__restrict__ A, int M, int N, float scale)
{
    int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= M) return;
    float *d = D + (size_t)row * N;
    const float *a = A + (size_t)row * N;
    float sdot = 0.0f;
    for (int j = lane; j < N; j += 32) sdot += d[j] * a[j];
    sdot = warp_sum(sdot);
    for (int j = lane; j < N; j += 32) d[j] = a[j] * (d[j] - sdot) * scale;
}

void mlpc_k_act_backward(cudaStream_t s, float *D, const float *A, int M, int N, int act)
{
    if (act == MLPC_ACT_LINEAR) return;
    if (act == MLPC_ACT_SOFTMAX)
        k_softmax_backward<<<blocks_for((size_t)M, ROWS_PER_BLOCK), 256, 0, s>>>(D, A, M, N, 1.0f);
    else
        k_act_backward<<<blocks_for((size_t)M * N, 256), 256, 0, s>>>(D, A, M, N, act);
}

/* ---- loss ------------------------------------------------------------------------- */

__device__ __forceinline__ float clipp(float p)
{
    return p < CLIP_EPS ? CLIP_EPS : (p > 1.0f - CLIP_EPS ? 1.0f - CLIP_EPS : p);
}

/* One warp per row, as loss.c's mlpc_k_loss does for one row: the loss in
 * double, the argmax (first of equal maxima) or the squared error, and the
 * delta. */
__global__ void k_loss(int loss, int out_act, const float *__restrict__ A, const int32_t *__restrict__ labels,
                       const float *__restrict__ targets, int M, int N, float *__restrict__ delta, float inv,
                       double *__restrict__ rloss, double *__restrict__ raux)
{
    int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= M) return;
    const float *a = A + (size_t)row * N;
    const float *y = targets ? targets + (size_t)row * N : NULL;
    int label = labels ? labels[row] : -1;
#define YJ(j) (y ? y[j] : (float)((j) == label))
    double l = 0.0, extra = 0.0;
    float sy = 0.0f;
    /* argmax: (value, index) with the smaller index among equal values */
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    for (int j = lane; j < N; j += 32) {
        float aj = a[j], yj = YJ(j);
        if (labels) {
            if (aj > bv || bi == 0x7fffffff) {
                bv = aj;
                bi = j;
            }
        } else {
            float e = aj - yj;
            extra += (double)e * e;
            sy += yj;
        }
        switch (loss) {
        case MLPC_LOSS_QUADRATIC: {
            float e = aj - yj;
            l += 0.5 * (double)e * e;
            break;
        }
        case MLPC_LOSS_MSE: {
            float e = aj - yj;
            l += (double)e * e;
            break;
        }
        case MLPC_LOSS_BCE: {
            float p = clipp(aj);
            l -= yj * log((double)p) + (1.0f - yj) * log((double)(1.0f - p));
            break;
        }
        case MLPC_LOSS_CCE: {
            float p = clipp(aj);
            if (yj != 0.0f) l -= yj * log((double)p);
            break;
        }
        default: break;
        }
    }
    l = warp_sum_d(l);
    if (loss == MLPC_LOSS_MSE || loss == MLPC_LOSS_BCE) l /= N;
    if (labels) {
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi != 0x7fffffff && (bi == 0x7fffffff || ov > bv || (ov == bv && oi < bi))) {
                bv = ov;
                bi = oi;
            }
        }
        extra = bi == label ? 1.0 : 0.0;
    } else {
        extra = warp_sum_d(extra);
        sy = warp_sum(sy);
    }
    if (lane == 0) {
        rloss[row] = l;
        raux[row] = extra;
    }
    if (!delta) return;
    float *d = delta + (size_t)row * N;
    int fused = (out_act == MLPC_ACT_SOFTMAX && loss == MLPC_LOSS_CCE) ||
                (out_act == MLPC_ACT_SIGMOID && loss == MLPC_LOSS_BCE);
    if (fused) {
        float k = loss == MLPC_LOSS_BCE ? 1.0f / (float)N : 1.0f;
        float s = (loss == MLPC_LOSS_CCE && y) ? sy : 1.0f;
        for (int j = lane; j < N; j += 32) d[j] = (a[j] * s - YJ(j)) * k * inv;
        return;
    }
    /* dL/dA, then the output activation's derivative, then 1/scale */
    for (int j = lane; j < N; j += 32) {
        float aj = a[j], yj = YJ(j), g;
        switch (loss) {
        case MLPC_LOSS_QUADRATIC: g = aj - yj; break;
        case MLPC_LOSS_MSE: g = 2.0f * (aj - yj) / (float)N; break;
        case MLPC_LOSS_BCE: {
            float p = clipp(aj);
            g = (p - yj) / (p * (1.0f - p)) / (float)N;
            break;
        }
        default: { /* cce */
            float p = clipp(aj);
            g = -yj / p;
            break;
        }
        }
        d[j] = g;
    }
    if (out_act == MLPC_ACT_SOFTMAX) {
        __syncwarp();
        float sdot = 0.0f;
        for (int j = lane; j < N; j += 32) sdot += d[j] * a[j];
        sdot = warp_sum(sdot);
        for (int j = lane; j < N; j += 32) d[j] = a[j] * (d[j] - sdot) * inv;
    } else {
        for (int j = lane; j < N; j += 32) d[j] = dact(d[j], a[j], out_act) * inv;
    }
#undef YJ
}

void mlpc_k_loss(cudaStream_t s, int loss, int out_act, const float *A, const int32_t *labels,
                 const float *targets, int M, int N, float *delta, float inv, double *rloss, double *raux)
{
    k_loss<<<blocks_for((size_t)M, ROWS_PER_BLOCK), 256, 0, s>>>(loss, out_act, A, labels, targets, M, N, delta,
                                                                  inv, rloss, raux);
}

/* ---- reductions ------------------------------------------------------------------------- */

__global__ void k_reduce(const double *__restrict__ rloss, const double *__restrict__ raux, int M,
                         double *out_loss, double *out_aux, const mlpc_hyper *h, int accumulate)
{
    __shared__ double sl[256], sa[256];
    double l = 0.0, a = 0.0;
    for (int i = threadIdx.x; i < M; i += 256) {
        l += rloss[i];
        a += raux[i];
    }
    sl[threadIdx.x] = l;
    sa[threadIdx.x] = a;
    __syncthreads();
    for (int w = 128; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) {
            sl[threadIdx.x] += sl[threadIdx.x + w];
            sa[threadIdx.x] += sa[threadIdx.x + w];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        long long i = h ? h->slot : 0;
        out_loss[i] = accumulate ? out_loss[i] + sl[0] : sl[0];
        out_aux[i] = accumulate ? out_aux[i] + sa[0] : sa[0];
    }
}

void mlpc_k_reduce(cudaStream_t s, const double *rloss, const double *raux, int M, double *out_loss,
                   double *out_aux, const mlpc_hyper *h, int accumulate)
{
    k_reduce<<<1, 256, 0, s>>>(rloss, raux, M, out_loss, out_aux, h, accumulate);
}

/* 32 columns per block, 8 row phases summed in a fixed order */
__global__ void k_col_sum(const float *__restrict__ D, int M, int N, float *__restrict__ out)
{
    __shared__ float part[8][33];
    int j = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (j < N)
        for (int i = threadIdx.y; i < M; i += 8) s += D[(size_t)i * N + j];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < N) {
        float t = part[0][threadIdx.x];
        for (int k = 1; k < 8; k++) t += part[k][threadIdx.x];
        out[j] = t;
    }
}

void mlpc_k_col_sum(cudaStream_t s, const float *D, int M, int N, float *out)
{
    k_col_sum<<<blocks_for((size_t)N, 32), dim3(32, 8), 0, s>>>(D, M, N, out);
}

/* ---- optimizer: optim.c's loops, the same operations in the same order ----------------- */

__global__ void k_opt(mlpc_optk o, const mlpc_hyper *h, float *__restrict__ w, const float *__restrict__ g,
                      float *__restrict__ m, float *__restrict__ v, size_t n, float l2)
{
    const float lr = h->lr_eff;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float wi = w[i];
        switch (o.opt) {
        case MLPC_OPT_SGD:
            if (o.momentum == 0.0f && l2 == 0.0f) {
                w[i] = __fsub_rn(wi, __fmul_rn(lr, g[i]));
            } else if (o.momentum == 0.0f) {
                w[i] = __fsub_rn(wi, __fmul_rn(lr, __fadd_rn(g[i], __fmul_rn(l2, wi))));
            } else {
                float gi = __fadd_rn(g[i], __fmul_rn(l2, wi));
                float mi = __fsub_rn(__fmul_rn(o.momentum, m[i]), __fmul_rn(lr, gi));
                m[i] = mi;
                w[i] = o.nesterov ? __fadd_rn(wi, __fsub_rn(__fmul_rn(o.momentum, mi), __fmul_rn(lr, gi)))
                                  : __fadd_rn(wi, mi);
            }
            break;
        case MLPC_OPT_RMSPROP: {
            float gi = __fadd_rn(g[i], __fmul_rn(l2, wi));
            float vi = __fadd_rn(__fmul_rn(o.rho, v[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, o.rho), gi), gi));
            v[i] = vi;
            w[i] = __fsub_rn(wi, __fdiv_rn(__fmul_rn(lr, gi), __fadd_rn(__fsqrt_rn(vi), o.eps)));
            break;
        }
        case MLPC_OPT_ADAM: {
            float gi = __fadd_rn(g[i], __fmul_rn(l2, wi));
            float mi = __fadd_rn(__fmul_rn(o.beta1, m[i]), __fmul_rn(__fsub_rn(1.0f, o.beta1), gi));
            float vi = __fadd_rn(__fmul_rn(o.beta2, v[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, o.beta2), gi), gi));
            m[i] = mi;
            v[i] = vi;
            w[i] = __fsub_rn(wi, __fdiv_rn(__fmul_rn(lr, mi), __fadd_rn(__fsqrt_rn(vi), o.eps)));
            break;
        }
        default: break;
        }
    }
}

void mlpc_k_opt(cudaStream_t s, const mlpc_optk *o, const mlpc_hyper *h, float *w, const float *g, float *m,
                float *v, size_t n, float l2)
{
    if (!n) return;
    unsigned b = blocks_for(n, 256);
    if (b > 4096) b = 4096; /* grid-stride beyond that */
    k_opt<<<b, 256, 0, s>>>(*o, h, w, g, m, v, n, l2);
}
