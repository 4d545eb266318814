/* act.c - activations: forward (bias + activation, in place) and backward
 * (multiply a delta by the derivative, expressed through the output A). */
#include "kernels/kernels.h"

#include <math.h>

#define LEAKY_SLOPE 0.01f

static inline float sigmoidf(float z) { return 1.0f / (1.0f + expf(-z)); }

/* softmax of one row in place (max-shifted) */
static void softmax_row(float *z, int n)
{
    float mx = z[0];
    for (int j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
    float s = 0.0f;
    for (int j = 0; j < n; j++) {
        z[j] = expf(z[j] - mx);
        s += z[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++) z[j] *= inv;
}

void mlpc_k_bias_act(float *Z, const float *b, int M, int N, mlpc_act act)
{
    for (int i = 0; i < M; i++) {
        float *z = Z + (size_t)i * N;
        for (int j = 0; j < N; j++) z[j] += b[j];
        switch (act) {
        case MLPC_ACT_SIGMOID:
            for (int j = 0; j < N; j++) z[j] = sigmoidf(z[j]);
            break;
        case MLPC_ACT_TANH:
            for (int j = 0; j < N; j++) z[j] = tanhf(z[j]);
            break;
        case MLPC_ACT_RELU:
            for (int j = 0; j < N; j++) z[j] = z[j] > 0.0f ? z[j] : 0.0f;
            break;
        case MLPC_ACT_LEAKY_RELU:
            for (int j = 0; j < N; j++) z[j] = z[j] > 0.0f ? z[j] : LEAKY_SLOPE * z[j];
            break;
        case MLPC_ACT_SOFTMAX:
            softmax_row(z, N);
            break;
        case MLPC_ACT_LINEAR:
        case MLPC_ACT_COUNT:
            break;
        }
    }
}

void mlpc_k_act_backward(float *D, const float *A, int M, int N, mlpc_act act)
{
    for (int i = 0; i < M; i++) {
        float *d = D + (size_t)i * N;
        const float *a = A + (size_t)i * N;
        switch (act) {
        case MLPC_ACT_SIGMOID:
            for (int j = 0; j < N; j++) d[j] *= a[j] * (1.0f - a[j]);
            break;
        case MLPC_ACT_TANH:
            for (int j = 0; j < N; j++) d[j] *= 1.0f - a[j] * a[j];
            break;
        case MLPC_ACT_RELU:
            for (int j = 0; j < N; j++) d[j] = a[j] > 0.0f ? d[j] : 0.0f;
            break;
        case MLPC_ACT_LEAKY_RELU:
            for (int j = 0; j < N; j++) d[j] = a[j] > 0.0f ? d[j] : LEAKY_SLOPE * d[j];
            break;
        case MLPC_ACT_SOFTMAX: { /* dz_j = a_j (d_j - sum_k d_k a_k) */
            float s = 0.0f;
            for (int j = 0; j < N; j++) s += d[j] * a[j];
            for (int j = 0; j < N; j++) d[j] = a[j] * (d[j] - s);
            break;
        }
        case MLPC_ACT_LINEAR:
        case MLPC_ACT_COUNT:
            break;
        }
    }
}

void mlpc_k_col_sum(const float *D, int M, int N, int j0, int j1, float *out)
{
    for (int j = j0; j < j1; j++) out[j] = 0.0f;
    for (int i = 0; i < M; i++) {
        const float *d = D + (size_t)i * N;
        for (int j = j0; j < j1; j++) out[j] += d[j];
    }
}
