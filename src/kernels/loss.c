/* loss.c - losses over output rows, with the output-layer delta dL/dZ.
 * softmax + categorical cross-entropy and sigmoid + binary cross-entropy are
 * fused (delta = a - y); every other pair goes through dL/dA and the
 * activation's derivative. Probabilities are clipped to [1e-7, 1-1e-7] in
 * the cross-entropies, as Keras does. */
#include "kernels/kernels.h"

#include <math.h>

#define CLIP_EPS 1e-7f

static inline float clipp(float p)
{
    return p < CLIP_EPS ? CLIP_EPS : (p > 1.0f - CLIP_EPS ? 1.0f - CLIP_EPS : p);
}

/* loss of one row; writes dL/dA (not yet times the activation derivative) */
/* the target of output j: a target row, or one-hot of `label` when y is NULL */
#define Y(j) (y ? y[j] : (float)((j) == label))

static double row_loss(mlpc_loss loss, const float *a, const float *y, int label, int n, float *g)
{
    double l = 0.0;
    switch (loss) {
    case MLPC_LOSS_QUADRATIC:
        for (int j = 0; j < n; j++) {
            float e = a[j] - Y(j);
            l += 0.5 * (double)e * e;
            if (g) g[j] = e;
        }
        break;
    case MLPC_LOSS_MSE:
        for (int j = 0; j < n; j++) {
            float e = a[j] - Y(j);
            l += (double)e * e;
            if (g) g[j] = 2.0f * e / (float)n;
        }
        l /= n;
        break;
    case MLPC_LOSS_BCE:
        for (int j = 0; j < n; j++) {
            float p = clipp(a[j]);
            l -= Y(j) * log(p) + (1.0f - Y(j)) * log(1.0f - p);
            if (g) g[j] = (p - Y(j)) / (p * (1.0f - p)) / (float)n;
        }
        l /= n;
        break;
    case MLPC_LOSS_CCE:
        for (int j = 0; j < n; j++) {
            float p = clipp(a[j]);
            if (Y(j) != 0.0f) l -= Y(j) * log(p);
            if (g) g[j] = -Y(j) / p;
        }
        break;
    case MLPC_LOSS_COUNT:
        break;
    }
    return l;
}

double mlpc_k_loss(mlpc_loss loss, mlpc_act out_act, const float *A, const int32_t *labels,
                   const float *targets, int M, int N, float *delta, float scale, double *aux)
{
    double total = 0.0, extra = 0.0;
    float inv = 1.0f / scale;
    int fused = (out_act == MLPC_ACT_SOFTMAX && loss == MLPC_LOSS_CCE) ||
                (out_act == MLPC_ACT_SIGMOID && loss == MLPC_LOSS_BCE);
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * N;
        const float *y = NULL;
        int label = -1;
        if (labels) {
            label = labels[i];
            int best = 0;
            for (int j = 1; j < N; j++)
                if (a[j] > a[best]) best = j;
            extra += best == labels[i];
        } else {
            y = targets + (size_t)i * N;
            for (int j = 0; j < N; j++) extra += (double)(a[j] - y[j]) * (a[j] - y[j]);
        }
        float *d = delta ? delta + (size_t)i * N : NULL;
        total += row_loss(loss, a, y, label, N, d);
        if (!d) continue;
        if (fused) {
            float k = loss == MLPC_LOSS_BCE ? 1.0f / (float)N : 1.0f;
            /* softmax + cce: dL/dz_j = a_j sum_k y_k - y_j, which is a_j - y_j
             * only when the row of y sums to 1 (always for labels) */
            float sy = 1.0f;
            if (loss == MLPC_LOSS_CCE && y) {
                sy = 0.0f;
                for (int j = 0; j < N; j++) sy += y[j];
            }
            for (int j = 0; j < N; j++) d[j] = (a[j] * sy - Y(j)) * k * inv;
        } else {
            mlpc_k_act_backward(d, a, 1, N, out_act);
            for (int j = 0; j < N; j++) d[j] *= inv;
        }
    }
    if (aux) *aux = extra;
    return total;
}
