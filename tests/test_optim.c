/* test_optim.c - optimizer updates (mlpc_opt_apply) and learning-rate
 * schedules against numbers worked out by hand (the arithmetic is in the
 * comments), and one trainer step on a 2-1 linear net.
 *
 * The formulas are Keras's (keras/src/optimizers/{sgd,rmsprop,adam}.py):
 *   sgd:      m = mu m - lr g;  w += m            nesterov: w += mu m - lr g
 *   rmsprop:  v = rho v + (1-rho) g^2;  w -= lr g / (sqrt(v) + eps)
 *             (eps outside the root as in Keras 2 and PyTorch, not Keras 3's
 *             sqrt(v + eps); see the top of src/optim/optim.c)
 *   adam:     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             w -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)
 * and L2 adds l2 w to g first. */
#include "testutil.h"

#include "optim/optim.h"

#include <float.h>
#include <math.h>
#if defined(__x86_64__) && defined(__SSE__)
#include <xmmintrin.h>
#endif

/* |got - want| <= tol, with a message naming what is compared */
#define NEAR(got, want, tol, what)                                                                   \
    do {                                                                                             \
        double g_ = (got), w_ = (want);                                                              \
        if (!(fabs(g_ - w_) <= (tol))) {                                                             \
            print_error("%s: got %.10g, expected %.10g (diff %.3g > %.3g)\n", what, g_, w_,          \
                        fabs(g_ - w_), (double)(tol));                                               \
            fail();                                                                                  \
        }                                                                                            \
    } while (0)

static mlpc_opt_step sgd(float lr, float mu, int nesterov, float l2)
{
    mlpc_opt_step s = {MLPC_OPT_SGD, lr, mu, 0.9f, 0.9f, 0.999f, 1e-7f, nesterov, l2, 1, 0};
    return s;
}

/* ---- SGD ------------------------------------------------------------------- */

static void test_sgd_plain(void **state)
{
    (void)state;
    mlpc_opt_step s = sgd(0.1f, 0.0f, 0, 0.0f);
    float w[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.5f, -1.0f, 2.0f};
    /* step 1: w -= 0.1 g:  1 - 0.05 = 0.95;  -2 + 0.1 = -1.9;  0.5 - 0.2 = 0.3 */
    mlpc_opt_apply(&s, w, g, NULL, NULL, 3); /* m and v are unused by plain sgd */
    NEAR(w[0], 0.95, 1e-7, "sgd step 1 w0");
    NEAR(w[1], -1.9, 2e-7, "sgd step 1 w1");
    NEAR(w[2], 0.3, 1e-7, "sgd step 1 w2");
    /* step 2: 0.95 - 0.05 = 0.9;  -1.9 + 0.1 = -1.8;  0.3 - 0.2 = 0.1 */
    mlpc_opt_apply(&s, w, g, NULL, NULL, 3);
    NEAR(w[0], 0.9, 1e-7, "sgd step 2 w0");
    NEAR(w[1], -1.8, 2e-7, "sgd step 2 w1");
    NEAR(w[2], 0.1, 1e-7, "sgd step 2 w2");
    /* n = 0 touches nothing */
    mlpc_opt_apply(&s, w, g, NULL, NULL, 0);
    NEAR(w[0], 0.9, 1e-7, "sgd n=0");
}

static void test_sgd_l2(void **state)
{
    (void)state;
    mlpc_opt_step s = sgd(0.1f, 0.0f, 0, 0.01f);
    float w[1] = {1.0f};
    const float g[1] = {0.5f};
    /* step 1: g' = 0.5 + 0.01*1 = 0.51;  w = 1 - 0.1*0.51 = 0.949 */
    mlpc_opt_apply(&s, w, g, NULL, NULL, 1);
    NEAR(w[0], 0.949, 1e-7, "sgd+l2 step 1");
    /* step 2: g' = 0.5 + 0.01*0.949 = 0.50949;  w = 0.949 - 0.050949 = 0.898051 */
    mlpc_opt_apply(&s, w, g, NULL, NULL, 1);
    NEAR(w[0], 0.898051, 1e-7, "sgd+l2 step 2");
}

/* gradients per step for element 0; element 1 always has g = -1 */
static const float mom_g0[3] = {0.5f, -0.25f, 1.0f};

static void test_sgd_momentum(void **state)
{
    (void)state;
    mlpc_opt_step s = sgd(0.1f, 0.9f, 0, 0.0f);
    float w[2] = {1.0f, -2.0f}, m[2] = {0, 0};
    /* element 0 (w = 1):
     *   t1: g  0.5:   m = 0.9*0     - 0.1*0.5   = -0.05;   w = 1    - 0.05  = 0.95
     *   t2: g -0.25:  m = 0.9*-0.05 + 0.025     = -0.02;   w = 0.95 - 0.02  = 0.93
     *   t3: g  1.0:   m = 0.9*-0.02 - 0.1       = -0.118;  w = 0.93 - 0.118 = 0.812
     * element 1 (w = -2, g = -1):
     *   t1: m = 0.1;               w = -1.9
     *   t2: m = 0.09 + 0.1 = 0.19;  w = -1.71
     *   t3: m = 0.171 + 0.1 = 0.271; w = -1.439 */
    static const double wm0[3] = {0.95, 0.93, 0.812}, mm0[3] = {-0.05, -0.02, -0.118};
    static const double wm1[3] = {-1.9, -1.71, -1.439}, mm1[3] = {0.1, 0.19, 0.271};
    for (int t = 0; t < 3; t++) {
        float g[2] = {mom_g0[t], -1.0f};
        mlpc_opt_apply(&s, w, g, m, NULL, 2);
        NEAR(w[0], wm0[t], 2e-7, "momentum w0");
        NEAR(m[0], mm0[t], 1e-7, "momentum m0");
        NEAR(w[1], wm1[t], 4e-7, "momentum w1");
        NEAR(m[1], mm1[t], 1e-7, "momentum m1");
    }
}

static void test_sgd_nesterov(void **state)
{
    (void)state;
    mlpc_opt_step s = sgd(0.1f, 0.9f, 1, 0.0f);
    float w[2] = {1.0f, -2.0f}, m[2] = {0, 0};
    /* m as with plain momentum; w += 0.9 m_new - 0.1 g:
     * element 0:
     *   t1: m = -0.05;  w += 0.9*-0.05  - 0.05  = -0.095  -> 0.905
     *   t2: m = -0.02;  w += 0.9*-0.02  + 0.025 =  0.007  -> 0.912
     *   t3: m = -0.118; w += 0.9*-0.118 - 0.1   = -0.2062 -> 0.7058
     * element 1 (g = -1):
     *   t1: m = 0.1;   w += 0.09   + 0.1 = 0.19   -> -1.81
     *   t2: m = 0.19;  w += 0.171  + 0.1 = 0.271  -> -1.539
     *   t3: m = 0.271; w += 0.2439 + 0.1 = 0.3439 -> -1.1951 */
    static const double wn0[3] = {0.905, 0.912, 0.7058}, wn1[3] = {-1.81, -1.539, -1.1951};
    static const double mn0[3] = {-0.05, -0.02, -0.118}, mn1[3] = {0.1, 0.19, 0.271};
    for (int t = 0; t < 3; t++) {
        float g[2] = {mom_g0[t], -1.0f};
        mlpc_opt_apply(&s, w, g, m, NULL, 2);
        NEAR(w[0], wn0[t], 2e-7, "nesterov w0");
        NEAR(m[0], mn0[t], 1e-7, "nesterov m0");
        NEAR(w[1], wn1[t], 4e-7, "nesterov w1");
        NEAR(m[1], mn1[t], 1e-7, "nesterov m1");
    }
}

/* ---- RMSprop ----------------------------------------------------------------- */

static void test_rmsprop(void **state)
{
    (void)state;
    mlpc_opt_step s = {MLPC_OPT_RMSPROP, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.0f, 1, 0};
    float w[3] = {1.0f, 0.0f, -0.5f}, v[3] = {0, 0, 0};
    const float g[3] = {0.5f, 1e-3f, -2.0f};
    /* v_t = 0.1 g^2, 0.19 g^2, 0.271 g^2 (0.9 v + 0.1 g^2 from 0); w -= 0.001 g / (sqrt(v) + 1e-7)
     * element 0, g 0.5 (g^2 0.25): v = 0.025, 0.0475, 0.06775
     *   sqrt(0.025)   = 0.158113883 + 1e-7 = 0.158113983 -> step 0.0005/0.158113983 = 0.003162276 -> w 0.996837724
     *   sqrt(0.0475)  = 0.217944947 + 1e-7 = 0.217945047 -> step 0.002294156 -> w 0.994543568
     *   sqrt(0.06775) = 0.260288302 + 1e-7 = 0.260288402 -> step 0.001920946 -> w 0.992622622
     * element 1, g 1e-3 (g^2 1e-6): v = 1e-7, 1.9e-7, 2.71e-7; here eps is not negligible:
     *   sqrt(1e-7)    = 3.16227766e-4 + 1e-7 = 3.16327766e-4 -> step 1e-6/3.16327766e-4 = 3.16127798e-3
     *                                                         -> w -3.16127798e-3
     *   sqrt(1.9e-7)  = 4.35889894e-4 + 1e-7 = 4.35989894e-4 -> step 2.29363114e-3 -> w -5.45490912e-3
     *   sqrt(2.71e-7) = 5.20576603e-4 + 1e-7 = 5.20676603e-4 -> step 1.92057794e-3 -> w -7.37548706e-3
     *   (eps inside the root, sqrt(v + eps) = sqrt(2e-7) = 4.47213595e-4, would give w -2.23606798e-3
     *   after step 1)
     * element 2, g -2 (g^2 4): v = 0.4, 0.76, 1.084
     *   step -0.002/(0.632455532 + 1e-7) = -0.002/0.632455632 = -0.003162277 -> w -0.496837723
     *   step -0.002/(0.871779789 + 1e-7) = -0.002/0.871779889 = -0.002294157 -> w -0.494543566
     *   step -0.002/(1.041153207 + 1e-7) = -0.002/1.041153307 = -0.001920947 -> w -0.492622619 */
    static const double w0[3] = {0.996837724, 0.994543568, 0.992622622};
    static const double w1[3] = {-3.16127798e-3, -5.45490912e-3, -7.37548706e-3};
    static const double w2[3] = {-0.496837723, -0.494543566, -0.492622619};
    static const double v0[3] = {0.025, 0.0475, 0.06775};
    for (int t = 0; t < 3; t++) {
        mlpc_opt_apply(&s, w, g, NULL, v, 3); /* m is unused by rmsprop */
        NEAR(v[0], v0[t], 1e-6 * v0[t], "rmsprop v0"); /* float 1 - 0.9f is 0.100000024 */
        NEAR(w[0], w0[t], 2e-7, "rmsprop w0");
        NEAR(w[1], w1[t], 1e-9, "rmsprop w1 (small gradient: eps placement)");
        NEAR(w[2], w2[t], 2e-7, "rmsprop w2");
    }
}

static void test_rmsprop_l2(void **state)
{
    (void)state;
    mlpc_opt_step s = {MLPC_OPT_RMSPROP, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.01f, 1, 0};
    float w[1] = {1.0f}, v[1] = {0};
    const float g[1] = {0.5f};
    /* t1: g' = 0.5 + 0.01*1 = 0.51;  v = 0.1*0.2601 = 0.02601;
     *     step 0.00051/(sqrt(0.02601) + 1e-7) = 0.00051/(0.161276161 + 1e-7) = 0.00051/0.161276261
     *          = 0.003162276 -> w 0.996837724
     * t2: g' = 0.5 + 0.01*0.996837724 = 0.509968377;  g'^2 = 0.260067746;
     *     v = 0.9*0.02601 + 0.1*0.260067746 = 0.023409 + 0.026006775 = 0.049415775
     *     step 0.000509968377/(sqrt(0.049415775) + 1e-7) = 0.000509968377/(0.222296592 + 1e-7)
     *          = 0.000509968377/0.222296692 = 0.002294089 -> w 0.994543635 */
    mlpc_opt_apply(&s, w, g, NULL, v, 1);
    NEAR(v[0], 0.02601, 3e-8, "rmsprop+l2 v t1");
    NEAR(w[0], 0.996837724, 2e-7, "rmsprop+l2 w t1");
    mlpc_opt_apply(&s, w, g, NULL, v, 1);
    NEAR(v[0], 0.049415775, 5e-8, "rmsprop+l2 v t2");
    NEAR(w[0], 0.994543635, 2e-7, "rmsprop+l2 w t2");
}

/* ---- Adam --------------------------------------------------------------------- */

static void test_adam(void **state)
{
    (void)state;
    mlpc_opt_step s = {MLPC_OPT_ADAM, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.0f, 1, 0};
    float w[2] = {1.0f, 0.0f}, m[2] = {0, 0}, v[2] = {0, 0};
    static const float g0[3] = {0.5f, -0.2f, 0.1f}; /* element 1: g = 1e-6 every step */
    /* lr_t = 0.001 sqrt(1 - 0.999^t) / (1 - 0.9^t):
     *   t1: 0.001 * sqrt(0.001)    / 0.1   = 3.16227766e-4
     *   t2: 0.001 * sqrt(0.001999) / 0.19  = 2.35316725e-4
     *   t3: 0.001 * sqrt(0.002997001) / 0.271 = 2.02010597e-4
     * element 0:
     *   t1: m = 0.05;                       v = 0.001*0.25 = 2.5e-4;  sqrt(v) = 0.0158113883
     *       step = 3.16227766e-4 * 0.05 / 0.0158114883 = 9.99993675e-4 -> w 0.999000006
     *   t2: m = 0.045 - 0.02 = 0.025;       v = 2.4975e-4 + 0.001*0.04 = 2.8975e-4; sqrt 0.0170220445
     *       step = 2.35316725e-4 * 0.025 / 0.0170221445 = 3.45603818e-4 -> w 0.998654403
     *   t3: m = 0.0225 + 0.01 = 0.0325;     v = 2.89460250e-4 + 1e-5 = 2.9946025e-4; sqrt 0.0173049198
     *       step = 2.02010597e-4 * 0.0325 / 0.0173050198 = 3.79389592e-4 -> w 0.998275013
     * element 1 (eps = 1e-7 is larger than sqrt(v) here):
     *   t1: m = 1e-7;     v = 1e-15;      sqrt 3.16227766e-8
     *       step = 3.16227766e-4 * 1e-7 / 1.316227766e-7 = 2.40253073e-4 -> w -2.40253073e-4
     *   t2: m = 1.9e-7;   v = 1.999e-15;  sqrt 4.47101778e-8
     *       step = 2.35316725e-4 * 1.9e-7 / 1.447101778e-7 = 3.08963602e-4 -> w -5.49216676e-4
     *   t3: m = 2.71e-7;  v = 2.997001e-15; sqrt 5.47448719e-8
     *       step = 2.02010597e-4 * 2.71e-7 / 1.547448719e-7 = 3.53775031e-4 -> w -9.02991707e-4
     *   (eps added to sqrt of the bias-corrected v would give w -9.09e-4 after step 1) */
    static const double we0[3] = {0.999000006, 0.998654403, 0.998275013};
    static const double we1[3] = {-2.40253073e-4, -5.49216676e-4, -9.02991707e-4};
    static const double me0[3] = {0.05, 0.025, 0.0325}, ve0[3] = {2.5e-4, 2.8975e-4, 2.9946025e-4};
    for (int t = 0; t < 3; t++) {
        float g[2] = {g0[t], 1e-6f};
        s.t = t + 1;
        mlpc_opt_apply(&s, w, g, m, v, 2);
        NEAR(m[0], me0[t], 1e-6 * me0[t], "adam m0"); /* float 1 - 0.9f is 0.100000024 */
        NEAR(v[0], ve0[t], 2e-5 * ve0[t], "adam v0"); /* 1 - 0.999f = 0.000999987 */
        NEAR(w[0], we0[t], 2e-7, "adam w0");
        /* float 0.999f is 0.999000013: 1 - b2 is off by 1.3e-5 relative, sqrt(1 - b2^t) by
         * 6e-6, so 1e-5 relative here */
        NEAR(w[1], we1[t], 1e-5 * fabs(we1[t]), "adam w1 (small gradient: eps placement)");
    }
}

static void test_adam_l2(void **state)
{
    (void)state;
    mlpc_opt_step s = {MLPC_OPT_ADAM, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.1f, 1, 0};
    float w[1] = {2.0f}, m[1] = {0}, v[1] = {0};
    const float g[1] = {0.0f};
    /* a zero gradient with L2 0.1: g' = 0.1*2 = 0.2; m = 0.02; v = 0.001*0.04 = 4e-5, sqrt 0.00632456
     * step = 3.16227766e-4 * 0.02 / 0.00632466 = 9.99984189e-4 -> w 1.99900002 */
    mlpc_opt_apply(&s, w, g, m, v, 1);
    NEAR(m[0], 0.02, 2e-8, "adam+l2 m");
    NEAR(w[0], 1.99900002, 2.5e-7, "adam+l2 w");
}

/* With W shared between threads (w_shared), long ranges take the loops that
 * ask for W's lines to write ahead (PREFETCHW, where the CPU has it): the
 * same arithmetic, so the same bits as the plain loop, the tail included
 * (4,099 floats: 56 rounds of 64 with prefetches, then 515 without). Where
 * the CPU lacks it both runs take the plain loop. */
static void test_prefetched_same_bits(void **state)
{
    (void)state;
    enum { N = 4099 };
    static float w[2][N], g[N], m[2][N], v[2][N];
    unsigned r = 12345u;
    for (int i = 0; i < N; i++) {
        r = r * 1664525u + 1013904223u;
        w[0][i] = w[1][i] = (float)((int)(r >> 8) - (1 << 23)) / (float)(1 << 23);
        r = r * 1664525u + 1013904223u;
        g[i] = (float)((int)(r >> 8) - (1 << 23)) / (float)(1 << 26);
        m[0][i] = m[1][i] = 0.1f * g[i];
        v[0][i] = v[1][i] = g[i] * g[i];
    }
    const float first = w[0][0], last = w[0][N - 1];
    const mlpc_opt opts[2] = {MLPC_OPT_RMSPROP, MLPC_OPT_ADAM};
    for (int o = 0; o < 2; o++)
        for (int l2 = 0; l2 < 2; l2++)
            for (int t = 1; t <= 3; t++)
                for (int shared = 0; shared < 2; shared++) {
                    mlpc_opt_step s = {opts[o], 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, l2 ? 0.01f : 0.0f, t,
                                       shared};
                    mlpc_opt_apply(&s, w[shared], g, m[shared], v[shared], N);
                }
    assert_memory_equal(w[0], w[1], sizeof w[0]);
    assert_memory_equal(m[0], m[1], sizeof m[0]);
    assert_memory_equal(v[0], v[1], sizeof v[0]);
    assert_true(w[0][0] != first && w[0][N - 1] != last); /* updated, the tail too */
}

/* RMSprop and Adam flush denormal numbers (below 2^-126) to zero, inputs
 * and results, and leave the caller's floating-point mode as it was; SGD
 * keeps them (optim.c, mlpc_opt_apply). */
static void test_denormals(void **state)
{
    (void)state;
#if defined(__x86_64__) && defined(__SSE__)
    unsigned before = _mm_getcsr();
    const float tiny = 1e-39f; /* a denormal */
    assert_true(tiny > 0.0f && tiny < FLT_MIN);
    /* Adam: g = 1e-20, (1 - b2) g^2 = 1e-43 is flushed, and so is m's denormal */
    mlpc_opt_step a = {MLPC_OPT_ADAM, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.0f, 1, 0};
    float w[2] = {0.5f, 0.5f}, g[2] = {1e-20f, 0.0f}, m[2] = {0.0f, tiny}, v[2] = {0.0f, 0.0f};
    mlpc_opt_apply(&a, w, g, m, v, 2);
    assert_true(v[0] == 0.0f);      /* 1e-43 flushed (IEEE: a denormal) */
    assert_true(m[0] > 0.0f);      /* 1e-21: normal, kept */
    assert_true(m[1] == 0.0f);      /* the denormal moment read as zero */
    assert_true(_mm_getcsr() == before);
    /* RMSprop: the same for v */
    mlpc_opt_step r = {MLPC_OPT_RMSPROP, 0.001f, 0.0f, 0.9f, 0.9f, 0.999f, 1e-7f, 0, 0.0f, 1, 0};
    float v2[1] = {0.0f}, w2[1] = {0.5f};
    const float g2[1] = {1e-20f};
    mlpc_opt_apply(&r, w2, g2, NULL, v2, 1);
    assert_true(v2[0] == 0.0f); /* 0.1 x 1e-40 flushed */
    assert_true(_mm_getcsr() == before);
    /* SGD keeps IEEE denormals (the fused SGD in the backend equals it) */
    mlpc_opt_step sg = sgd(1.0f, 0.0f, 0, 0.0f);
    float w3[1] = {0.0f};
    const float g3[1] = {-tiny};
    mlpc_opt_apply(&sg, w3, g3, NULL, NULL, 1);
    assert_true(w3[0] == tiny);
    /* and a denormal made outside the optimizer is still one */
    volatile float x = 1e-30f;
    assert_true(x * 1e-10f > 0.0f);
#else
    print_message("    skip: denormal flushing is x86-64 only\n");
#endif
}

/* ---- schedules ------------------------------------------------------------------ */

static mlpc_config sched_cfg(mlpc_sched kind, float lr, float factor, float min_lr)
{
    mlpc_config c;
    mlpc_config_default(&c);
    c.sched = kind;
    c.lr = lr;
    c.sched_factor = factor;
    c.min_lr = min_lr;
    return c;
}

static void test_sched_constant(void **state)
{
    (void)state;
    mlpc_config c = sched_cfg(MLPC_SCHED_CONSTANT, 0.05f, 0.5f, 0.0f);
    mlpc_sched_state st;
    mlpc_sched_init(&st, &c);
    assert_true(st.lr == 0.05f);
    assert_true(isinf(st.best) && st.best > 0);
    assert_int_equal(st.wait, 0);
    for (int e = 1; e <= 20; e++) {
        mlpc_sched_step(&st, &c, e, 10.0 - e); /* improving or not, constant stays */
        assert_true(st.lr == 0.05f);
    }
}

static void test_sched_step(void **state)
{
    (void)state;
    mlpc_config c = sched_cfg(MLPC_SCHED_STEP, 0.1f, 0.5f, 0.02f);
    c.sched_step = 3;
    mlpc_sched_state st;
    mlpc_sched_init(&st, &c);
    /* rate for the next epoch after epoch e: 0.1 * 0.5^floor(e/3), at least 0.02:
     * e 1,2 -> 0.1;  3,4,5 -> 0.05;  6,7,8 -> 0.025;  9 -> 0.0125 -> floor 0.02;  12 -> 0.00625 -> 0.02 */
    static const double want[13] = {0, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02};
    for (int e = 1; e <= 12; e++) {
        mlpc_sched_step(&st, &c, e, 1.0);
        char what[64];
        snprintf(what, sizeof what, "step schedule after epoch %d", e);
        NEAR(st.lr, want[e], 1e-8, what);
    }
}

static void test_sched_exponential(void **state)
{
    (void)state;
    mlpc_config c = sched_cfg(MLPC_SCHED_EXPONENTIAL, 0.1f, 0.9f, 0.07f);
    mlpc_sched_state st;
    mlpc_sched_init(&st, &c);
    /* after epoch e: 0.1 * 0.9^e, at least 0.07:
     * 0.09, 0.081, 0.0729, 0.06561 -> 0.07, 0.059049 -> 0.07 */
    static const double want[6] = {0, 0.09, 0.081, 0.0729, 0.07, 0.07};
    for (int e = 1; e <= 5; e++) {
        mlpc_sched_step(&st, &c, e, 1.0);
        char what[64];
        snprintf(what, sizeof what, "exponential schedule after epoch %d", e);
        NEAR(st.lr, want[e], 2e-8, what);
    }
}

static void test_sched_plateau(void **state)
{
    (void)state;
    mlpc_config c = sched_cfg(MLPC_SCHED_PLATEAU, 0.1f, 0.5f, 0.03f);
    c.sched_patience = 2;
    mlpc_sched_state st;
    mlpc_sched_init(&st, &c);
    /* epoch: monitored -> (best, wait) -> rate
     *  1: 1.0   improves         (1.0,  0) 0.1
     *  2: 0.9   improves         (0.9,  0) 0.1
     *  3: 0.95  no               (0.9,  1) 0.1
     *  4: 0.92  no, wait 2 >= 2  (0.9,  0) 0.05
     *  5: 0.91  no               (0.9,  1) 0.05
     *  6: 0.89  improves         (0.89, 0) 0.05
     *  7: 0.89  equal: no        (0.89, 1) 0.05
     *  8: 0.895 no, wait 2       (0.89, 0) 0.025 -> floor 0.03
     *  9: 0.9   no               (0.89, 1) 0.03
     * 10: 0.9   no, wait 2       (0.89, 0) 0.015 -> floor 0.03
     * 11: 0.5   improves         (0.5,  0) 0.03 */
    static const double mon[12] = {0, 1.0, 0.9, 0.95, 0.92, 0.91, 0.89, 0.89, 0.895, 0.9, 0.9, 0.5};
    static const double best[12] = {0, 1.0, 0.9, 0.9, 0.9, 0.9, 0.89, 0.89, 0.89, 0.89, 0.89, 0.5};
    static const int wait[12] = {0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0};
    static const double lr[12] = {0, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03};
    for (int e = 1; e <= 11; e++) {
        mlpc_sched_step(&st, &c, e, mon[e]);
        char what[64];
        snprintf(what, sizeof what, "plateau after epoch %d: lr", e);
        NEAR(st.lr, lr[e], 1e-8, what);
        snprintf(what, sizeof what, "plateau after epoch %d: best", e);
        NEAR(st.best, best[e], 0, what);
        assert_int_equal(st.wait, wait[e]);
    }
}

/* ---- one trainer step ------------------------------------------------------------ */

/* A 2-1 linear net, W = (0.5, -0.25), b = 0.1, on two rows
 *   x1 = (1, 2),  y1 = 1:  a1 = 0.5 - 0.5 + 0.1   = 0.1,  e1 = a1 - y1 = -0.9
 *   x2 = (3, -1), y2 = 0:  a2 = 1.5 + 0.25 + 0.1  = 1.85, e2 = 1.85
 * mse = mean over rows of e^2 = (0.81 + 3.4225) / 2 = 2.11625
 * dL/da_i = 2 e_i / 2 rows = e_i, so
 *   dW1 = -0.9*1 + 1.85*3  =  4.65
 *   dW2 = -0.9*2 + 1.85*-1 = -3.65
 *   db  = -0.9 + 1.85      =  0.95
 * quadratic (1/2 e^2, mean over rows) = 1.058125 with half those gradients. */
static mlpc_trainer *tiny(mlpc_config *cfg, mlpc_net **net, mlpc_loss loss, mlpc_opt opt, float lr, float l2)
{
    mlpc_config_default(cfg);
    assert_int_equal(mlpc_config_set_layers(cfg, "2-1", NULL), MLPC_OK);
    mlpc_config_set_acts(cfg, MLPC_ACT_LINEAR, MLPC_ACT_LINEAR);
    cfg->loss = loss;
    cfg->opt = opt;
    cfg->lr = lr;
    cfg->l2 = l2;
    cfg->batch = 2;
    mlpc_error err;
    *net = mlpc_net_create(cfg, &err);
    assert_non_null(*net);
    mlpc_trainer *tr = mlpc_trainer_create(*net, cfg, &err);
    assert_non_null(tr);
    float *p = mlpc_net_params(*net);
    assert_int_equal(mlpc_net_param_count(*net), 3);
    assert_true(mlpc_net_weights(*net, 0) == p && mlpc_net_biases(*net, 0) == p + 2);
    p[0] = 0.5f;
    p[1] = -0.25f;
    p[2] = 0.1f;
    return tr;
}

static const float tiny_x[4] = {1, 2, 3, -1};
static const float tiny_y[2] = {1, 0};

static void test_trainer_step_sgd(void **state)
{
    (void)state;
    struct {
        mlpc_loss loss;
        float l2;
        double loss_v, g[3], p[3];
    } cases[] = {
        /* mse, sgd lr 0.1: 0.5 - 0.465 = 0.035; -0.25 + 0.365 = 0.115; 0.1 - 0.095 = 0.005 */
        {MLPC_LOSS_MSE, 0.0f, 2.11625, {4.65, -3.65, 0.95}, {0.035, 0.115, 0.005}},
        /* quadratic: gradients halved: 0.5 - 0.2325 = 0.2675; -0.25 + 0.1825 = -0.0675; 0.1 - 0.0475 = 0.0525 */
        {MLPC_LOSS_QUADRATIC, 0.0f, 1.058125, {2.325, -1.825, 0.475}, {0.2675, -0.0675, 0.0525}},
        /* mse + L2 0.1 on the weights only: dW1 = 4.65 + 0.05 = 4.7 -> 0.5 - 0.47 = 0.03;
         * dW2 = -3.65 - 0.025 = -3.675 -> -0.25 + 0.3675 = 0.1175; b as without L2: 0.005 */
        {MLPC_LOSS_MSE, 0.1f, 2.11625, {4.65, -3.65, 0.95}, {0.03, 0.1175, 0.005}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mlpc_config cfg;
        mlpc_net *net;
        mlpc_trainer *tr = tiny(&cfg, &net, cases[c].loss, MLPC_OPT_SGD, 0.1f, cases[c].l2);
        double loss = 0;
        assert_int_equal(mlpc_trainer_step(tr, tiny_x, NULL, tiny_y, 2, &loss), MLPC_OK);
        NEAR(loss, cases[c].loss_v, 1e-6, "trainer step loss");
        const float *g = mlpc_trainer_grads(tr);
        const float *p = mlpc_net_params(net);
        for (int k = 0; k < 3; k++) {
            char what[64];
            snprintf(what, sizeof what, "case %zu gradient %d", c, k);
            NEAR(g[k], cases[c].g[k], 1e-6, what);
            snprintf(what, sizeof what, "case %zu parameter %d after one step", c, k);
            NEAR(p[k], cases[c].p[k], 2e-7, what);
        }
        mlpc_trainer_free(tr);
        mlpc_net_free(net);
    }
}

/* The trainer counts Adam's steps: with a nearly constant gradient, Adam
 * with bias correction moves each weight by about lr per step, i.e. 0.002
 * after two steps. A step counter stuck at 1 would give t2's m/sqrt(v) =
 * 0.19/sqrt(0.001999) = 4.25 times lr_t(1) = 3.16e-4: 1.34e-3 in step 2. */
static void test_trainer_step_adam_counts(void **state)
{
    (void)state;
    mlpc_config cfg;
    mlpc_net *net;
    mlpc_trainer *tr = tiny(&cfg, &net, MLPC_LOSS_MSE, MLPC_OPT_ADAM, 0.001f, 0.0f);
    double loss;
    assert_int_equal(mlpc_trainer_step(tr, tiny_x, NULL, tiny_y, 2, &loss), MLPC_OK);
    const float *p = mlpc_net_params(net);
    /* step 1 moves against the sign of (4.65, -3.65, 0.95) by lr (to 1e-5 of it) */
    NEAR(p[0], 0.5 - 0.001, 1e-7, "adam step 1 W1");
    NEAR(p[1], -0.25 + 0.001, 1e-7, "adam step 1 W2");
    NEAR(p[2], 0.1 - 0.001, 1e-7, "adam step 1 b");
    assert_int_equal(mlpc_trainer_step(tr, tiny_x, NULL, tiny_y, 2, &loss), MLPC_OK);
    NEAR(p[0], 0.5 - 0.002, 2e-5, "adam step 2 W1");
    NEAR(p[1], -0.25 + 0.002, 2e-5, "adam step 2 W2");
    NEAR(p[2], 0.1 - 0.002, 2e-5, "adam step 2 b");
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_l2),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_rmsprop_l2),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_l2),
        cmocka_unit_test(test_prefetched_same_bits),
        cmocka_unit_test(test_denormals),
        cmocka_unit_test(test_sched_constant),
        cmocka_unit_test(test_sched_step),
        cmocka_unit_test(test_sched_exponential),
        cmocka_unit_test(test_sched_plateau),
        cmocka_unit_test(test_trainer_step_sgd),
        cmocka_unit_test(test_trainer_step_adam_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
