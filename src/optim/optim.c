/* optim.c - SGD (momentum, Nesterov), RMSprop and Adam as flat loops over
 * the parameter arena. Formulas follow Keras:
 *   sgd:      v = mu v - lr g;  w += v           (nesterov: w += mu v - lr g)
 *   rmsprop:  v = rho v + (1-rho) g^2;  w -= lr g / (sqrt(v) + eps)
 *   adam:     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             w -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)
 * L2 decay adds l2 * w to g first.
 * RMSprop keeps eps outside the root as Keras 2 and PyTorch do (Keras 3 and
 * TF put it inside, sqrt(v + eps)): with eps 1e-7 inside, the effective
 * floor is 3e-4, which slows W2 (784-200-100-50-30-10, batch 1500) from
 * 96.5% to 94% test accuracy after 45 epochs. */
#include "optim/optim.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define OPT_PREFETCHW 1
#endif

/* one parameter's RMSprop and Adam steps (every path below runs these) */
static inline __attribute__((always_inline)) void rmsprop1(float *w, const float *g, float *v, size_t i, float lr,
                                                           float rho, float eps, float l2)
{
    float gi = g[i] + l2 * w[i];
    v[i] = rho * v[i] + (1.0f - rho) * gi * gi;
    w[i] -= lr * gi / (sqrtf(v[i]) + eps);
}

static inline __attribute__((always_inline)) void adam1(float *w, const float *g, float *m, float *v, size_t i,
                                                        float lr_t, float b1, float b2, float eps, float l2)
{
    float gi = g[i] + l2 * w[i];
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
}

#ifdef OPT_PREFETCHW
/* On several threads the forward reads all of W on every thread, so each
 * line of W the update writes must first have the other cores' copies
 * invalidated: Adam over 100,000 parameters took 1.15 ns a parameter when
 * the other core had just read W, 0.17 when it had not. Asking for W's
 * lines with the intent to write (PREFETCHW) 2 KB ahead overlaps those
 * round trips (0.71 there; W5 fp32 on 2 threads 8-10% faster an epoch).
 * Not on one thread, where W is this core's alone: there the extra
 * instructions cost 1-3%. */
#define PF_AHEAD 512 /* floats */
#define PF_CHUNK 64  /* floats between two rounds of prefetches */

static int can_prefetchw(void)
{
    static int known; /* 0: not asked yet; 1: no; 2: yes */
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (!k) {
        unsigned a, b, c, d;
        k = __builtin_cpu_supports("avx512f") && __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 8)) ? 2 : 1;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k == 2;
}

/* W's lines PF_AHEAD floats after at, to be written */
__attribute__((target("avx512f,prfchw"))) static inline __attribute__((always_inline)) void prefetch_w(const float *w,
                                                                                                     size_t at)
{
    for (size_t o = at + PF_AHEAD; o < at + PF_AHEAD + PF_CHUNK; o += 16) __builtin_prefetch(w + o, 1, 3);
}

__attribute__((target("avx512f,prfchw"))) static void rmsprop_pf(float *w, const float *g, float *v, size_t n,
                                                                 float lr, float rho, float eps, float l2)
{
    size_t i = 0;
    for (; i + PF_AHEAD + PF_CHUNK <= n; i += PF_CHUNK) {
        prefetch_w(w, i);
        for (size_t j = i; j < i + PF_CHUNK; j++) rmsprop1(w, g, v, j, lr, rho, eps, l2);
    }
    for (; i < n; i++) rmsprop1(w, g, v, i, lr, rho, eps, l2);
}

__attribute__((target("avx512f,prfchw"))) static void adam_pf(float *w, const float *g, float *m, float *v, size_t n,
                                                              float lr_t, float b1, float b2, float eps, float l2)
{
    size_t i = 0;
    for (; i + PF_AHEAD + PF_CHUNK <= n; i += PF_CHUNK) {
        prefetch_w(w, i);
        for (size_t j = i; j < i + PF_CHUNK; j++) adam1(w, g, m, v, j, lr_t, b1, b2, eps, l2);
    }
    for (; i < n; i++) adam1(w, g, m, v, i, lr_t, b1, b2, eps, l2);
}
#endif

/* the prefetching loops: W shared with other threads, a range long enough
 * to stream, and the knob (kept for measuring) on */
static int prefetched(const mlpc_opt_step *s, size_t n)
{
#ifdef OPT_PREFETCHW
    return s->w_shared && n >= 4 * PF_AHEAD && mlpc_knob(MLPC_KNOB_OPT_PREFETCHW) && can_prefetchw();
#else
    (void)s, (void)n;
    return 0;
#endif
}

MLPC_MULTIVERSION static void opt_apply_mv(const mlpc_opt_step *s, float *w, const float *g, float *m, float *v, size_t n)
{
    const float lr = s->lr, l2 = s->l2;
    switch (s->opt) {
    case MLPC_OPT_SGD:
        if (s->momentum == 0.0f && l2 == 0.0f) {
            for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
        } else if (s->momentum == 0.0f) {
            for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + l2 * w[i]);
        } else {
            const float mu = s->momentum;
            for (size_t i = 0; i < n; i++) {
                float gi = g[i] + l2 * w[i];
                m[i] = mu * m[i] - lr * gi;
                w[i] += s->nesterov ? mu * m[i] - lr * gi : m[i];
            }
        }
        break;
    case MLPC_OPT_RMSPROP: {
        const float rho = s->rho, eps = s->eps;
#ifdef OPT_PREFETCHW
        if (prefetched(s, n)) {
            rmsprop_pf(w, g, v, n, lr, rho, eps, l2);
            break;
        }
#endif
        for (size_t i = 0; i < n; i++) rmsprop1(w, g, v, i, lr, rho, eps, l2);
        break;
    }
    case MLPC_OPT_ADAM: {
        const float b1 = s->beta1, b2 = s->beta2, eps = s->eps;
        const float lr_t = (float)(lr * sqrt(1.0 - pow(b2, (double)s->t)) / (1.0 - pow(b1, (double)s->t)));
#ifdef OPT_PREFETCHW
        if (prefetched(s, n)) {
            adam_pf(w, g, m, v, n, lr_t, b1, b2, eps, l2);
            break;
        }
#endif
        for (size_t i = 0; i < n; i++) adam1(w, g, m, v, i, lr_t, b1, b2, eps, l2);
        break;
    }
    case MLPC_OPT_COUNT:
        break;
    }
}

/* RMSprop and Adam run with denormal numbers (below 2^-126, 1.2e-38)
 * flushed to zero, inputs and results (MXCSR's DAZ and FTZ, restored
 * after). Training makes them: a gradient under 1e-19 squares to one, and
 * a first moment whose gradient stays zero (a pixel that is zero in every
 * row of the batch) decays into them. Each costs the CPU a slow assist:
 * W5's Adam ran at 0.33-0.39 ns a parameter in training with them and
 * 0.17-0.20 with them flushed (the same data, in cache). What the flush
 * drops is below 1.2e-38 in m or v, and at most lr 1.2e-38 / eps (1.2e-34
 * with Adam's defaults) in a weight: below half a unit in the last place of
 * every weight of magnitude 1e-27 or more. SGD and every product keep
 * IEEE denormals (the fused SGD of the backend equals this one bit for
 * bit). TensorFlow has ScopedFlushDenormal for the same reason. */
#if defined(__x86_64__) && defined(__SSE__)
#include <xmmintrin.h>
#define OPT_FLUSH_DENORMALS 1
#define MXCSR_DAZ_FTZ 0x8040u
#endif

/* GCC exports the resolver of a cloned function whatever -fvisibility says
 * (tests/cli/test_symbols.sh): the clones are static, called from here. */
void mlpc_opt_apply(const mlpc_opt_step *s, float *w, const float *g, float *m, float *v, size_t n)
{
#ifdef OPT_FLUSH_DENORMALS
    if (s->opt != MLPC_OPT_SGD && mlpc_knob(MLPC_KNOB_OPT_FLUSH)) {
        unsigned csr = _mm_getcsr();
        _mm_setcsr(csr | MXCSR_DAZ_FTZ);
        opt_apply_mv(s, w, g, m, v, n);
        _mm_setcsr(csr);
        return;
    }
#endif
    opt_apply_mv(s, w, g, m, v, n);
}
