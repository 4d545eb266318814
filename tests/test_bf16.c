/* test_bf16.c - the bf16 GEMM (kernels/gemm_bf16.c, --precision bf16):
 * the rounding to bf16, the reference twin against the exact product within
 * a bound derived from bf16's unit roundoff, the AVX512_BF16 kernel bit for
 * bit against the reference (it sums in the same order), the same with
 * A given in bf16 (the batch gathered as bf16 rows), the backend's bf16
 * products the same for 1, 2 and 3 threads, and a trainer run in bf16.
 * Where the CPU has no AVX512_BF16 the tests that need it print a SKIP
 * line and check that the library says so (bf16 off, fp32 products). */
#include "testutil.h"

#include "backend/backend.h"
#include "kernels/kernels.h"
#include "train/train.h"

#include <float.h>
#include <math.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int have_bf16(const char *test)
{
    if (mlpc_gemm_bf16_select()) return 1;
    printf("SKIP %s: this CPU has no AVX512_BF16 (vdpbf16ps); the reference twin alone is tested\n", test);
    return 0;
}

/* ---- rounding ------------------------------------------------------------ */

static void test_round(void **state)
{
    (void)state;
    /* exactly representable values stay */
    assert_int_equal(mlpc_bf16_round(1.0f), 0x3f80);
    assert_int_equal(mlpc_bf16_round(-2.0f), 0xc000);
    assert_int_equal(mlpc_bf16_round(0.0f), 0x0000);
    assert_int_equal(mlpc_bf16_round(-0.0f), 0x8000);
    /* ties go to the even neighbour: 1 + 2^-8 is half-way between 1 and
     * 1 + 2^-7 (8 significand bits) -> 1; 1 + 3 2^-8 -> 1 + 2^-6 */
    assert_int_equal(mlpc_bf16_round(fbits(0x3f808000u)), 0x3f80);
    assert_int_equal(mlpc_bf16_round(fbits(0x3f818000u)), 0x3f82);
    /* above and below the half-way point */
    assert_int_equal(mlpc_bf16_round(fbits(0x3f808001u)), 0x3f81);
    assert_int_equal(mlpc_bf16_round(fbits(0x3f807fffu)), 0x3f80);
    /* denormals become signed zeros, as vcvtne2ps2bf16 does */
    assert_int_equal(mlpc_bf16_round(fbits(0x00000001u)), 0x0000);
    assert_int_equal(mlpc_bf16_round(fbits(0x807fffffu)), 0x8000);
    /* the largest float rounds to infinity; infinities and NaN stay */
    assert_int_equal(mlpc_bf16_round(FLT_MAX), 0x7f80);
    assert_int_equal(mlpc_bf16_round(INFINITY), 0x7f80);
    assert_int_equal(mlpc_bf16_round(-INFINITY), 0xff80);
    uint16_t n = mlpc_bf16_round(fbits(0x7f800001u)); /* a signalling NaN becomes quiet */
    assert_true(isnan(mlpc_bf16_float(n)));
    assert_int_equal(n & 0x40, 0x40);
    /* back to float32 is exact, and the relative error is at most 2^-8
     * (bf16 has 8 significand bits: unit roundoff u = 2^-8) */
    for (int i = 0; i < 100000; i++) {
        float x = frand() * ldexpf(1.0f, (int)(frand() * 60.0f));
        float y = mlpc_bf16_float(mlpc_bf16_round(x));
        assert_true(fabs((double)y - x) <= ldexp(1.0, -8) * fabs((double)x));
        assert_int_equal(bits(y) & 0xffffu, 0);
    }
}

/* ---- the reference against the exact product ----------------------------- */

/* op(A)[i][k] and op(B)[k][j] */
static float opa(int ta, const float *A, int lda, int i, int k) { return ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]; }
static float opb(int tb, const float *B, int ldb, int k, int j) { return tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]; }

/* The error bound of one element of the bf16 GEMM, argued:
 * each operand is rounded to bf16, a' = a (1 + d), |d| <= u = 2^-8 (round to
 * nearest, 8 significand bits); the product a'b' = ab (1 + e),
 * |e| <= 2u + u^2, is exact in float32 (8 x 8 significand bits <= 24). The
 * K products are then summed in float32 one rounding per addition
 * (unit roundoff v = 2^-24), a recursive sum of K terms: error at most
 * gamma_K sum |t_k| with gamma_K = K v / (1 - K v) (Higham, Accuracy and
 * Stability, 4.2), t_k the rounded products. So
 *   |C - sum a_k b_k| <= (2u + u^2 + gamma_K (1 + 2u + u^2)) sum |a_k b_k|.
 * The dominant term is 2u sum |a_k b_k|, not K u: the rounding of the
 * inputs does not grow with K, only the float32 sum does (with v, 65536x
 * smaller). No underflow: the test data are in [-1, 1), far from 2^-126. */
static double bound(int K, double sum_abs)
{
    const double u = ldexp(1.0, -8), v = ldexp(1.0, -24);
    double gk = K * v / (1.0 - K * v);
    return (2 * u + u * u + gk * (1 + 2 * u + u * u)) * sum_abs;
}

static void check_against_exact(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                                int ldb, const float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double t = (double)opa(ta, A, lda, i, k) * opb(tb, B, ldb, k, j);
                s += t;
                sa += fabs(t);
            }
            double c = C[(size_t)i * ldc + j];
            if (!(fabs(c - s) <= bound(K, sa))) {
                printf("C[%d][%d] = %.9g, exact %.9g, bound %.3g (ta %d tb %d %dx%dx%d)\n", i, j, c, s, bound(K, sa),
                       ta, tb, M, N, K);
                fail();
            }
        }
}

static float *mat(int rows, int ld)
{
    size_t n = (size_t)rows * ld;
    float *m = malloc(n * sizeof(float));
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) m[i] = frand();
    return m;
}

typedef struct shape {
    int ta, tb, M, N, K;
} shape;

static const shape shapes[] = {
    {0, 0, 1, 1, 1},       {0, 0, 13, 17, 3},    {1, 0, 29, 33, 31},   {0, 1, 12, 32, 64},
    {1, 1, 25, 47, 9},     {0, 0, 100, 200, 784}, {0, 1, 128, 784, 256}, {1, 0, 784, 30, 129},
    {0, 0, 97, 257, 1025}, {1, 0, 200, 10, 1500}, {0, 1, 37, 300, 513},  {1, 1, 50, 61, 1031},
    {1, 0, 30, 1100, 70}, /* three column panels of 384, 384 and 332 */
    {0, 0, 64, 40, 50},   /* rows in tiles of 12 x 4 + 8 + 8 (tile_rows: no 4-row tile) */
    {0, 1, 17, 33, 20},   /* 9 + 8 */
};

static void test_ref_bound(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const shape *p = &shapes[s];
        int lda = (p->ta ? p->M : p->K) + 1, ldb = (p->tb ? p->K : p->N) + 2, ldc = p->N;
        float *A = mat(p->ta ? p->K : p->M, lda), *B = mat(p->tb ? p->N : p->K, ldb);
        float *C = malloc((size_t)p->M * ldc * sizeof(float));
        assert_non_null(C);
        mlpc_gemm_bf16_ref(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C, ldc);
        check_against_exact(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C, ldc);
        free(A);
        free(B);
        free(C);
    }
    /* the bound is not loose by orders of magnitude: bf16 inputs are worse
     * than float32 ones (so the test can tell bf16 ran), and a K = 1
     * product of two bf16-exact values is exact */
    float a = 1.0f + ldexpf(1.0f, -7), b = 3.0f, c;
    mlpc_gemm_bf16_ref(0, 0, 1, 1, 1, &a, 1, &b, 1, &c, 1);
    assert_true(c == a * b);
    float x = 1.0f / 3.0f, y = 1.0f;
    mlpc_gemm_bf16_ref(0, 0, 1, 1, 1, &x, 1, &y, 1, &c, 1);
    assert_true(c != x && fabs((double)c - x) <= ldexp(1.0, -8) * x);
}

/* ---- the AVX512_BF16 kernel: bit for bit the reference -------------------- */

#define SENT 4242.0f

static void test_fast_equals_ref(void **state)
{
    (void)state;
    mlpc_gemm_bf16_fn f = mlpc_gemm_bf16_select();
    if (!have_bf16("test_fast_equals_ref")) return;
    float *pack = aligned_alloc(64, mlpc_gemm_bf16_scratch_floats() * sizeof(float));
    assert_non_null(pack);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const shape *p = &shapes[s];
        int lda = (p->ta ? p->M : p->K) + 3, ldb = (p->tb ? p->K : p->N) + 1, ldc = p->N + 5;
        float *A = mat(p->ta ? p->K : p->M, lda), *B = mat(p->tb ? p->N : p->K, ldb);
        /* some exact ties, zeros and wide magnitudes */
        for (int i = 0; i < 50; i++) {
            A[(size_t)(rng_state % (uint64_t)lda)] = fbits(0x3f808000u);
            B[(size_t)(rng_state % (uint64_t)ldb)] = -0.0f;
            A[(size_t)((rng_state >> 20) % (uint64_t)lda)] = frand() * 1e20f;
            (void)frand();
        }
        size_t cn = (size_t)p->M * ldc;
        float *C0 = malloc(cn * sizeof(float)), *C1 = malloc(cn * sizeof(float));
        assert_non_null(C0);
        assert_non_null(C1);
        for (size_t i = 0; i < cn; i++) C0[i] = C1[i] = SENT;
        mlpc_gemm_bf16_ref(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C0, ldc);
        f(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C1, ldc, pack);
        for (size_t i = 0; i < cn; i++)
            if (bits(C0[i]) != bits(C1[i])) {
                printf("shape %zu (ta %d tb %d %dx%dx%d): element %zu is %.9g, reference %.9g\n", s, p->ta, p->tb,
                       p->M, p->N, p->K, i, C1[i], C0[i]);
                fail();
            }
        free(A);
        free(B);
        free(C0);
        free(C1);
    }
    free(pack);
}

/* ---- A given in bf16: the same bits without converting A ---------------- */

/* A's values rounded to bf16, rows ldb apart (the rest zero) */
static uint16_t *bf16_copy(const float *A, int rows, int cols, int lda, int ldb)
{
    uint16_t *b = aligned_alloc(64, ((size_t)rows * ldb * sizeof(uint16_t) + 63) & ~(size_t)63);
    assert_non_null(b);
    memset(b, 0, (size_t)rows * ldb * sizeof(uint16_t));
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) b[(size_t)i * ldb + j] = mlpc_bf16_round(A[(size_t)i * lda + j]);
    return b;
}

static void test_bf16_input(void **state)
{
    (void)state;
    if (!have_bf16("test_bf16_input")) return;
    float *pack = aligned_alloc(64, mlpc_gemm_bf16_scratch_floats() * sizeof(float));
    assert_non_null(pack);
    mlpc_gemm_bf16a_fn fa = mlpc_gemm_bf16a_select();
    assert_non_null(fa);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int odd_ld = 0; odd_ld < 2; odd_ld++) { /* rows read in place, or copied (an odd stride) */
            const shape *p = &shapes[s];
            int rows = p->ta ? p->K : p->M, cols = p->ta ? p->M : p->K;
            int lda = cols + 1, ldab = ((cols + 1) & ~1) + odd_ld, ldb = p->tb ? p->K : p->N;
            float *A = mat(rows, lda), *B = mat(p->tb ? p->N : p->K, ldb);
            uint16_t *Ab = bf16_copy(A, rows, cols, lda, ldab);
            size_t cn = (size_t)p->M * p->N;
            float *C0 = malloc(cn * sizeof(float)), *C1 = malloc(cn * sizeof(float));
            assert_non_null(C0);
            assert_non_null(C1);
            mlpc_gemm_bf16_ref(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C0, p->N);
            fa(p->ta, p->tb, p->M, p->N, p->K, Ab, ldab, B, ldb, C1, p->N, pack);
            if (memcmp(C0, C1, cn * sizeof(float))) {
                printf("bf16 A, shape %zu (ta %d tb %d %dx%dx%d, ld %d): not the reference's bits\n", s, p->ta,
                       p->tb, p->M, p->N, p->K, ldab);
                fail();
            }
            free(A);
            free(B);
            free(Ab);
            free(C0);
            free(C1);
        }
    free(pack);
    /* a byte row to bf16: the float gather's value, rounded as the products
     * round it, for every byte, a tail of 9 and a zero pad after it */
    uint8_t u[2 * 256 + 9];
    float shift[sizeof u], scale[sizeof u], x[sizeof u];
    for (size_t j = 0; j < sizeof u; j++) {
        u[j] = (uint8_t)(j % 256);
        shift[j] = j < 256 ? 0.0f : 33.318f;
        scale[j] = j < 256 ? 1.0f : 1.0f / 78.567f;
    }
    uint16_t got[sizeof u + 1];
    uint32_t row = 0;
    memset(got, 0xff, sizeof got);
    assert_int_equal(mlpc_byte_rows_gather_bf16(u, sizeof u, &row, 1, shift, scale, got, (int)sizeof u + 1), 1);
    mlpc_byte_rows_gather(u, sizeof u, &row, 1, shift, scale, x);
    for (size_t j = 0; j < sizeof u; j++) assert_int_equal(got[j], mlpc_bf16_round(x[j]));
    assert_int_equal(got[sizeof u], 0);
    /* the backend: products that read the registered float rows read their
     * bf16 copy (the float rows hold NaN here), on 1, 2 and 3 threads; a
     * pointer outside them, or after the end, reads floats again */
    const int M = 1500, K = 784, N = 200;
    float *X = mat(M, K), *W = mat(K, N), *D = mat(M, N);
    uint16_t *Xb = bf16_copy(X, M, K, K, K);
    float *C[2], *R[2];
    for (int i = 0; i < 2; i++) {
        C[i] = malloc((size_t)(i ? K : M) * N * sizeof(float));
        R[i] = malloc((size_t)(i ? K : M) * N * sizeof(float));
        assert_non_null(C[i]);
        assert_non_null(R[i]);
    }
    mlpc_gemm_bf16_ref(0, 0, M, N, K, X, K, W, N, R[0], N); /* forward: M x N */
    mlpc_gemm_bf16_ref(1, 0, K, N, M, X, K, D, N, R[1], N); /* weight gradient: K x N */
    float *nan = malloc((size_t)M * K * sizeof(float));
    assert_non_null(nan);
    for (size_t i = 0; i < (size_t)M * K; i++) nan[i] = NAN;
    /* the row chain's second op: C[0] W^T, times the identity's derivative */
    float *C2 = malloc((size_t)M * K * sizeof(float)), *R2 = malloc((size_t)M * K * sizeof(float));
    float *zero = calloc(N, sizeof(float)), *one = malloc((size_t)M * K * sizeof(float));
    assert_true(C2 && R2 && zero && one);
    for (size_t i = 0; i < (size_t)M * K; i++) one[i] = 1.0f;
    mlpc_gemm_bf16_ref(0, 1, M, K, N, R[0], N, W, N, R2, K);
    for (int t = 1; t <= 3; t++) {
        mlpc_ctx cx;
        mlpc_error err;
        assert_int_equal(mlpc_ctx_init(&cx, t, &err), MLPC_OK);
        assert_int_equal(mlpc_ctx_bf16_input(&cx, nan, M, K, Xb, K), 0); /* bf16 off: refused */
        assert_int_equal(mlpc_ctx_set_bf16(&cx, 1), 1);
        assert_int_equal(mlpc_ctx_bf16_input(&cx, nan, M, K, Xb, K + 1), 0); /* an odd stride: refused */
        assert_int_equal(mlpc_ctx_bf16_input(&cx, nan, M, K, Xb, K), 1);
        cx.be->gemm(&cx, 0, 0, M, N, K, 1.0f, nan, K, W, N, 0.0f, C[0], N);
        cx.be->gemm(&cx, 1, 0, K, N, M, 1.0f, nan, K, D, N, 0.0f, C[1], N);
        assert_memory_equal(C[0], R[0], (size_t)M * N * sizeof(float));
        assert_memory_equal(C[1], R[1], (size_t)K * N * sizeof(float));
        /* and as the first op of a row chain (each thread its rows of
         * both), the second op reading the first one's rows */
        mlpc_row_op ops[2] = {{N, K, nan, K, W, N, zero, C[0], MLPC_ACT_LINEAR, 0},
                              {K, N, C[0], N, W, N, one, C2, MLPC_ACT_LINEAR, 1}};
        cx.be->row_chain(&cx, M, ops, 2);
        assert_memory_equal(C[0], R[0], (size_t)M * N * sizeof(float));
        assert_memory_equal(C2, R2, (size_t)M * K * sizeof(float));
        mlpc_ctx_bf16_input(&cx, NULL, 0, 0, NULL, 0);
        cx.be->gemm(&cx, 0, 0, M, N, K, 1.0f, nan, K, W, N, 0.0f, C[0], N);
        assert_true(isnan(C[0][0]));
        mlpc_ctx_free(&cx);
    }
    for (int i = 0; i < 2; i++) {
        free(C[i]);
        free(R[i]);
    }
    free(nan);
    free(C2);
    free(R2);
    free(zero);
    free(one);
    free(X);
    free(W);
    free(D);
    free(Xb);
}

/* ---- the backend: bf16 on, the same bits for any thread count ------------ */

static void test_backend_threads(void **state)
{
    (void)state;
    static const shape bs[] = {
        {1, 0, 784, 200, 1500}, /* dW of W2's first layer: split by rows */
        {0, 1, 1500, 784, 200}, /* D W^T: split by rows */
        {0, 0, 128, 256, 784},  /* W5's forward product */
        {0, 0, 40, 1000, 300},  /* split by columns (not at a 32 boundary) */
    };
    mlpc_ctx cx[3];
    int on = 0;
    for (int t = 0; t < 3; t++) {
        mlpc_error err;
        assert_int_equal(mlpc_ctx_init(&cx[t], t + 1, &err), MLPC_OK);
        on = mlpc_ctx_set_bf16(&cx[t], 1);
        assert_int_equal(on, mlpc_gemm_bf16_select() != NULL);
        assert_int_equal(mlpc_ctx_bf16(&cx[t]), on);
    }
    if (!on) printf("SKIP test_backend_threads: this CPU has no AVX512_BF16; bf16 stays off\n");
    for (size_t s = 0; on && s < sizeof bs / sizeof *bs; s++) {
        const shape *p = &bs[s];
        int lda = p->ta ? p->M : p->K, ldb = p->tb ? p->K : p->N;
        float *A = mat(p->ta ? p->K : p->M, lda), *B = mat(p->tb ? p->N : p->K, ldb);
        size_t cn = (size_t)p->M * p->N;
        float *C[4];
        for (int t = 0; t < 4; t++) {
            C[t] = malloc(cn * sizeof(float));
            assert_non_null(C[t]);
        }
        for (int t = 0; t < 3; t++)
            cx[t].be->gemm(&cx[t], p->ta, p->tb, p->M, p->N, p->K, 1.0f, A, lda, B, ldb, 0.0f, C[t], p->N);
        mlpc_gemm_bf16_ref(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, C[3], p->N);
        for (int t = 0; t < 3; t++) assert_memory_equal(C[t], C[3], cn * sizeof(float));
        /* bf16 off again: the float32 product, which differs */
        mlpc_ctx_set_bf16(&cx[1], 0);
        cx[1].be->gemm(&cx[1], p->ta, p->tb, p->M, p->N, p->K, 1.0f, A, lda, B, ldb, 0.0f, C[1], p->N);
        assert_true(memcmp(C[1], C[3], cn * sizeof(float)) != 0);
        mlpc_ctx_set_bf16(&cx[1], 1);
        for (int t = 0; t < 4; t++) free(C[t]);
        free(A);
        free(B);
    }
    for (int t = 0; t < 3; t++) mlpc_ctx_free(&cx[t]);
}

/* ---- the trainer: --precision -------------------------------------------- */

#define TN 1200
#define TIN 40
#define TOUT 4

/* a learnable synthetic set: the class is the argmax of 4 fixed sums */
static mlpc_dataset *synth(void)
{
    static float x[TN * TIN];
    static int32_t y[TN];
    for (int i = 0; i < TN; i++) {
        float s[TOUT] = {0};
        for (int j = 0; j < TIN; j++) {
            x[i * TIN + j] = frand();
            s[j % TOUT] += x[i * TIN + j] * (float)(1 + j % 3);
        }
        int best = 0;
        for (int c = 1; c < TOUT; c++)
            if (s[c] > s[best]) best = c;
        y[i] = best;
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays(TN, TIN, x, y, TOUT, NULL, 0, &err);
    assert_non_null(d);
    return d;
}

/* trains epochs on d; the parameters into out (n_params floats), the last
 * epoch's training accuracy returned */
static double train(const mlpc_dataset *d, mlpc_precision prec, int threads, int batch, mlpc_opt opt, float *out,
                    size_t *np, mlpc_precision *ran)
{
    mlpc_config c;
    mlpc_error err;
    mlpc_config_default(&c);
    assert_int_equal(mlpc_config_set_layers(&c, "40-64-32-4", &err), MLPC_OK);
    mlpc_config_set_acts(&c, MLPC_ACT_RELU, MLPC_ACT_SOFTMAX);
    c.opt = opt;
    c.lr = opt == MLPC_OPT_SGD ? 0.1f : 0.003f;
    c.batch = batch;
    c.epochs = 4;
    c.threads = threads;
    c.precision = prec;
    mlpc_net *net = mlpc_net_create(&c, &err);
    assert_non_null(net);
    mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
    assert_non_null(tr);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
    mlpc_epoch_stats st;
    for (int e = 0; e < c.epochs; e++) assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
    *np = mlpc_net_param_count(net);
    memcpy(out, mlpc_net_params(net), *np * sizeof(float));
    *ran = mlpc_trainer_precision(tr, NULL);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    return st.acc;
}

static void test_trainer_precision(void **state)
{
    (void)state;
    mlpc_dataset *d = synth();
    static float p[4][40 * 64 + 64 + 64 * 32 + 32 + 32 * 4 + 4];
    size_t np = 0;
    mlpc_precision ran;
    int has = mlpc_cpu_has_bf16();
    if (!has) printf("SKIP test_trainer_precision (bf16 runs): this CPU has no AVX512_BF16\n");
    /* batch 100 (the big-batch path) with RMSprop, and batch 16 (the
     * small-batch weight gradient and sparse first layer paths) with SGD */
    const int batches[2] = {100, 16};
    const mlpc_opt opts[2] = {MLPC_OPT_RMSPROP, MLPC_OPT_SGD};
    for (int k = 0; has && k < 2; k++) {
        double a32 = train(d, MLPC_PRECISION_FP32, 1, batches[k], opts[k], p[0], &np, &ran);
        assert_int_equal(ran, MLPC_PRECISION_FP32);
        double a16 = train(d, MLPC_PRECISION_BF16, 1, batches[k], opts[k], p[1], &np, &ran);
        assert_int_equal(ran, MLPC_PRECISION_BF16);
        train(d, MLPC_PRECISION_BF16, 2, batches[k], opts[k], p[2], &np, &ran);
        train(d, MLPC_PRECISION_AUTO, 3, batches[k], opts[k], p[3], &np, &ran);
        assert_int_equal(ran, MLPC_PRECISION_BF16);
        /* the same bits for any thread count; bf16 ran (other bits than fp32) */
        assert_memory_equal(p[1], p[2], np * sizeof(float));
        assert_memory_equal(p[1], p[3], np * sizeof(float));
        assert_true(memcmp(p[0], p[1], np * sizeof(float)) != 0);
        /* and learns as well: four 1200-row epochs, within 3 points */
        printf("batch %d: training accuracy fp32 %.4f, bf16 %.4f\n", batches[k], a32, a16);
        assert_true(a32 > 0.6);
        assert_true(fabs(a16 - a32) < 0.03);
    }
    /* a CPU without AVX512_BF16 (MLPC_NO_BF16=1 stands in for one): bf16 is
     * refused in one line, auto falls back to fp32 and says why */
    mlpc_config c;
    mlpc_error err;
    mlpc_config_default(&c);
    assert_int_equal(mlpc_config_set_layers(&c, "40-8-4", &err), MLPC_OK);
    c.precision = MLPC_PRECISION_BF16;
    assert_int_equal(mlpc_config_validate(&c, &err), has ? MLPC_OK : MLPC_ERR_ARG);
    setenv("MLPC_NO_BF16", "1", 1);
    assert_int_equal(mlpc_cpu_has_bf16(), 0);
    assert_int_equal(mlpc_config_validate(&c, &err), MLPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "precision bf16: this CPU has no AVX512_BF16"));
    assert_null(strchr(err.msg, '\n'));
    mlpc_net *net = mlpc_net_create(&c, &err);
    assert_null(net);
    c.precision = MLPC_PRECISION_AUTO;
    net = mlpc_net_create(&c, &err);
    assert_non_null(net);
    mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
    assert_non_null(tr);
    const char *why = NULL;
    assert_int_equal(mlpc_trainer_precision(tr, &why), MLPC_PRECISION_FP32);
    assert_string_equal(why, "auto: this CPU has no AVX512_BF16");
    mlpc_trainer_free(tr);
    unsetenv("MLPC_NO_BF16");
    if (has) {
        tr = mlpc_trainer_create(net, &c, &err);
        assert_non_null(tr);
        assert_int_equal(mlpc_trainer_precision(tr, &why), MLPC_PRECISION_BF16);
        assert_string_equal(why, "auto: this CPU has AVX512_BF16");
        mlpc_trainer_free(tr);
    }
    mlpc_net_free(net);
    /* names */
    mlpc_precision v;
    assert_int_equal(mlpc_precision_parse("bf16", &v), 0);
    assert_int_equal(v, MLPC_PRECISION_BF16);
    assert_int_equal(mlpc_precision_parse("fp16", &v), -1);
    assert_string_equal(mlpc_precision_name(MLPC_PRECISION_AUTO), "auto");
    mlpc_dataset_free(d);
}

/* pixel-like rows (bytes 0..15 as floats, n_in columns, no normalization):
 * the trainer keeps its byte copy of them */
static mlpc_dataset *pixel_rows(int n_in)
{
    static float x[TN * (TIN + 1)];
    static int32_t y[TN];
    for (int i = 0; i < TN; i++) {
        float s[TOUT] = {0};
        for (int j = 0; j < n_in; j++) {
            float v = (float)((rng_state >> 7) % 16);
            (void)frand();
            x[i * n_in + j] = v;
            s[j % TOUT] += v * (float)(1 + j % 3);
        }
        int best = 0;
        for (int c = 1; c < TOUT; c++)
            if (s[c] > s[best]) best = c;
        y[i] = best;
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays(TN, (size_t)n_in, x, y, TOUT, NULL, 0, &err);
    assert_non_null(d);
    return d;
}

static int no_op_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (void)tr;
    (void)b;
    (void)user;
    return 0;
}

/* bf16 training on byte rows gathers the batches as bf16 rows (an odd
 * input width gets a pad), and each forward reads the weights packed at the
 * last update: the same bits as gathering floats and packing everything in
 * the products (byte rows off, and a batch callback, after which the
 * packed weights are not trusted), for 1 and 2 threads */
static void test_trainer_bf16_input(void **state)
{
    (void)state;
    if (!have_bf16("test_trainer_bf16_input")) return;
    for (int n_in = TIN; n_in <= TIN + 1; n_in++) {
        mlpc_dataset *d = pixel_rows(n_in);
        char layers[32];
        snprintf(layers, sizeof layers, "%d-64-32-4", n_in);
        float *p[3] = {NULL, NULL, NULL};
        size_t np = 0;
        for (int r = 0; r < 3; r++) { /* byte rows on (1 and 2 threads), off */
            mlpc_config c;
            mlpc_error err;
            mlpc_config_default(&c);
            assert_int_equal(mlpc_config_set_layers(&c, layers, &err), MLPC_OK);
            mlpc_config_set_acts(&c, MLPC_ACT_RELU, MLPC_ACT_SOFTMAX);
            c.opt = MLPC_OPT_RMSPROP;
            c.lr = 0.001f;
            c.batch = 100;
            c.threads = r == 1 ? 2 : 1;
            c.norm = MLPC_NORM_NONE;
            c.precision = MLPC_PRECISION_BF16;
            mlpc_net *net = mlpc_net_create(&c, &err);
            assert_non_null(net);
            mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
            assert_non_null(tr);
            mlpc_trainer_set_byte_rows(tr, r < 2);
            if (r == 2) mlpc_trainer_on_batch(tr, no_op_batch, 1, NULL);
            assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
            assert_int_equal(mlpc_trainer_byte_rows(tr), r < 2);
            mlpc_epoch_stats st;
            for (int e = 0; e < 2; e++) assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
            assert_true(r < 2 ? tr->bf16_input_batches == 2 * TN / 100 : tr->bf16_input_batches == 0);
            /* all but each epoch's first batch read packed weights */
            assert_true(r < 2 ? tr->packed_w_batches == 2 * (TN / 100 - 1) : tr->packed_w_batches == 0);
            assert_true(isfinite(st.loss) && st.acc > 0.3);
            np = mlpc_net_param_count(net);
            p[r] = malloc(np * sizeof(float));
            assert_non_null(p[r]);
            memcpy(p[r], mlpc_net_params(net), np * sizeof(float));
            mlpc_trainer_free(tr);
            mlpc_net_free(net);
        }
        assert_memory_equal(p[0], p[1], np * sizeof(float));
        assert_memory_equal(p[0], p[2], np * sizeof(float));
        for (int r = 0; r < 3; r++) free(p[r]);
        mlpc_dataset_free(d);
    }
}

/* weights packed by ranges of rows right after the optimizer wrote them
 * (mlpc_gemm_bf16_pack_b_rows) are the words of packing them whole
 * (mlpc_gemm_bf16_pack_b): whole slivers and a narrow last one, an odd K,
 * a range of odd length */
static void test_pack_rows(void **state)
{
    (void)state;
    if (!have_bf16("test_pack_rows")) return;
    static const int dims[][2] = {{784, 256}, {101, 70}, {30, 10}};
    for (size_t c = 0; c < sizeof dims / sizeof *dims; c++) {
        int K = dims[c][0], N = dims[c][1];
        size_t words = mlpc_gemm_bf16_packed_words(K, N);
        float *W = malloc((size_t)K * N * sizeof(float));
        uint32_t *whole = aligned_alloc(64, (words + 16) * sizeof(uint32_t));
        uint32_t *rows = aligned_alloc(64, (words + 16) * sizeof(uint32_t));
        assert_true(W && whole && rows);
        for (int i = 0; i < K * N; i++) W[i] = frand();
        mlpc_gemm_bf16_pack_b(0, K, N, W, N, whole, 0, mlpc_gemm_bf16_slivers(N));
        memset(rows, 0xab, words * sizeof(uint32_t));
        int cut[] = {0, 2, K / 2 + K / 2 % 2, K - 1 - (K - 1) % 2, K};
        for (int r = 0; r < 4; r++)
            if (cut[r] < cut[r + 1]) mlpc_gemm_bf16_pack_b_rows(K, N, W, N, rows, cut[r], cut[r + 1]);
        if (memcmp(whole, rows, words * sizeof(uint32_t))) {
            print_error("%d x %d: packed by rows differs from packed whole\n", K, N);
            fail();
        }
        free(W);
        free(whole);
        free(rows);
    }
}

/* the product over listed pairs of k (mlpc_gemm_bf16_pairs: cpu.c skips
 * the pairs a batch of bf16 rows has +0.0 in every row) against the
 * product over all pairs (mlpc_gemm_bf16_pb_avx512) on the same A, whose
 * unlisted pairs are +0.0: bit for bit, at W5's and W2's first layers and
 * odd shapes, with no pair, the first k block's pairs all skipped, one
 * pair, and every pair listed */
static void test_pairs(void **state)
{
    (void)state;
    if (!have_bf16("test_pairs")) return;
    static const int dims[][3] = {{128, 256, 784}, {64, 256, 784}, {750, 200, 784}, {13, 70, 1100}, {5, 33, 2}};
    for (size_t c = 0; c < sizeof dims / sizeof *dims; c++) {
        int M = dims[c][0], N = dims[c][1], K = dims[c][2], lda = K + 4, np = K / 2;
        float *W = malloc((size_t)K * N * sizeof(float)), *C = malloc((size_t)M * N * sizeof(float));
        float *Cref = malloc((size_t)M * N * sizeof(float));
        float *pack = aligned_alloc(64, mlpc_gemm_bf16_scratch_floats() * sizeof(float));
        size_t words = mlpc_gemm_bf16_packed_words(K, N);
        uint32_t *Bw = aligned_alloc(64, (words + 16) * sizeof(uint32_t));
        uint16_t *A = aligned_alloc(64, ((size_t)M * lda * sizeof(uint16_t) + 63) / 64 * 64);
        int32_t *px = malloc((size_t)np * sizeof(int32_t));
        assert_true(W && C && Cref && pack && Bw && A && px);
        for (int i = 0; i < K * N; i++) W[i] = frand();
        mlpc_gemm_bf16_pack_b(0, K, N, W, N, Bw, 0, mlpc_gemm_bf16_slivers(N));
        for (int kind = 0; kind < 5; kind++) {
            int n = 0;
            for (int p = 0; p < np; p++) {
                int on = kind == 0 ? (p * 7 + 3) % 10 < 6 : kind == 1 ? 0 : kind == 2 ? p >= 256 && p % 3 : kind == 3 ? p == np - 1 : 1;
                if (on) px[n++] = p;
            }
            for (int i = 0; i < M; i++)
                for (int k = 0; k < lda; k++) {
                    int q = 0;
                    while (q < n && px[q] < k / 2) q++;
                    int used = k < K && q < n && px[q] == k / 2;
                    float v = frand();
                    if (used && k % 5 == 0) v = -0.0f; /* a signed zero in a used pair */
                    A[(size_t)i * lda + k] = used ? mlpc_bf16_round(v) : 0;
                }
            memset(C, 0xff, (size_t)M * N * sizeof(float));
            mlpc_gemm_bf16_pairs(M, N, K, A, lda, Bw, px, n, C, N);
            mlpc_gemm_bf16_pb_avx512(0, M, N, K, NULL, A, lda, Bw, Cref, N, pack);
            if (memcmp(C, Cref, (size_t)M * N * sizeof(float))) {
                print_error("pairs %d x %d x %d, kind %d (%d of %d pairs): differs from the product over all\n", M, N,
                            K, kind, n, np);
                fail();
            }
        }
        free(W), free(C), free(Cref), free(pack), free(Bw), free(A), free(px);
    }
    /* the weight gradient's rows of listed columns, A^T D with A the batch
     * in bf16 rows: those rows of the product over all, D given as floats
     * or packed whole */
    static const int wdims[][3] = {{128, 256, 784}, {64, 128, 300}, {750, 200, 784}, {7, 33, 40}};
    for (size_t c = 0; c < sizeof wdims / sizeof *wdims; c++) {
        int m = wdims[c][0], N = wdims[c][1], in = wdims[c][2], lda = in + 2;
        uint16_t *A = aligned_alloc(64, ((size_t)m * lda * sizeof(uint16_t) + 63) / 64 * 64);
        float *D = malloc((size_t)m * N * sizeof(float)), *G = malloc((size_t)in * N * sizeof(float));
        float *Gref = malloc((size_t)in * N * sizeof(float));
        float *pack = aligned_alloc(64, mlpc_gemm_bf16_scratch_floats() * sizeof(float));
        uint32_t *Dw = aligned_alloc(64, (mlpc_gemm_bf16_packed_words(m, N) + 16) * sizeof(uint32_t));
        int32_t *cols = malloc((size_t)in * sizeof(int32_t));
        assert_true(A && D && G && Gref && pack && Dw && cols);
        for (size_t i = 0; i < (size_t)m * lda; i++) A[i] = mlpc_bf16_round(frand());
        for (int i = 0; i < m * N; i++) D[i] = frand();
        mlpc_gemm_bf16_pack_b(0, m, N, D, N, Dw, 0, mlpc_gemm_bf16_slivers(N));
        mlpc_gemm_bf16a_avx512(1, 0, in, N, m, A, lda, D, N, Gref, N, pack);
        /* kinds: MNIST-like rows (groups of 16 spanning gaps of 8), groups
         * wider than 32 (3 in 7), all, every other one (a span of 31) */
        for (int kind = 0; kind < 4; kind++) {
            int n = 0;
            for (int k = 0; k < in; k++)
                if (kind == 0 ? k % 28 >= 4 && k % 28 < 24 : kind == 1 ? (k * 5 + 1) % 7 < 3 : kind == 3 ? k % 2 == 0 : 1)
                    cols[n++] = k;
            for (int packed = 0; packed < 2; packed++) {
                memset(G, 0xff, (size_t)in * N * sizeof(float));
                mlpc_gemm_bf16_tcols(n, N, m, A, lda, cols, D, N, packed ? Dw : NULL, G, N, pack);
                for (int i = 0; i < n; i++)
                    if (memcmp(G + (size_t)i * N, Gref + (size_t)cols[i] * N, (size_t)N * sizeof(float))) {
                        print_error("tcols m %d N %d in %d kind %d packed %d: row %d (column %d) differs\n", m, N, in,
                                    kind, packed, i, cols[i]);
                        fail();
                    }
            }
        }
        free(A), free(D), free(G), free(Gref), free(pack), free(Dw), free(cols);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_ref_bound),
        cmocka_unit_test(test_fast_equals_ref),
        cmocka_unit_test(test_bf16_input),
        cmocka_unit_test(test_backend_threads),
        cmocka_unit_test(test_pack_rows),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_trainer_precision),
        cmocka_unit_test(test_trainer_bf16_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
