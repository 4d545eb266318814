/* test_gemm.c - every packed GEMM variant this CPU can run against the naive
 * reference (odd shapes, all transpose flags, padded leading dimensions,
 * alpha/beta), and the threaded backend GEMM: bitwise the same result for
 * 1, 2 and 3 threads. Also the small-batch kernels built on the avx512
 * GEMM's arithmetic (kernels/sparse.c, kernels/wgrad.c): bit for bit the
 * GEMM plus the optimizer's SGD step. */
#include "testutil.h"

#include "backend/backend.h"
#include "kernels/kernels.h"
#include "optim/optim.h"

#include <math.h>

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x1234567887654321ULL;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

#define SENTINEL 12345.0f

typedef struct variant {
    const char *name;
    mlpc_gemm_fn fn;
} variant;

static int variants(variant *v)
{
    int n = 0;
    v[n++] = (variant){"generic", mlpc_gemm_generic};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v[n++] = (variant){"avx2", mlpc_gemm_avx2};
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        v[n++] = (variant){"avx512", mlpc_gemm_avx512};
#endif
    return n;
}

/* A stored matrix of `rows` rows of `cols` used floats with leading dimension
 * ld; allocated to exactly (rows-1)*ld + cols floats so that ASan sees any
 * read past the last used element. Padding holds NaN (A, B: a kernel that
 * reads it poisons C) or SENTINEL (C: must stay untouched). */
static float *mat_new(int rows, int cols, int ld, float pad)
{
    size_t n = (size_t)(rows - 1) * ld + cols;
    float *m = malloc(n * sizeof(float));
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) m[i] = (int)(i % (size_t)ld) < cols ? frand() : pad;
    return m;
}

static size_t mat_size(int rows, int cols, int ld) { return (size_t)(rows - 1) * ld + cols; }

/* sum_k |op(A)[i][k]| |op(B)[k][j]| for the error bound */
static double abs_dot(int ta, int tb, int i, int j, int K, const float *A, int lda, const float *B, int ldb)
{
    double s = 0;
    for (int k = 0; k < K; k++) {
        float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        s += fabs((double)a * b);
    }
    return s;
}

/* sum_k |op(A)[i][k]| |op(B)[k][j]| for every element (M x N) */
static double *abs_products(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb)
{
    double *S = malloc((size_t)M * N * sizeof(double));
    assert_non_null(S);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) S[(size_t)i * N + j] = abs_dot(ta, tb, i, j, K, A, lda, B, ldb);
    return S;
}

/* Per-element error bounds: 1e-6 (K+4) (|alpha| sum_k |a_ik||b_kj| + |beta c_ij|),
 * about 16x the worst-case float accumulation error, but well below the
 * size of one missing or doubled product term. */
static double *tolerances(int M, int N, int K, float alpha, float beta, const double *S, const float *C0, int ldc)
{
    double *tol = malloc((size_t)M * N * sizeof(double));
    assert_non_null(tol);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double scale = fabs(alpha) * S[(size_t)i * N + j] + fabs((double)beta * C0[(size_t)i * ldc + j]);
            tol[(size_t)i * N + j] = 1e-6 * (K + 4) * scale + 1e-30;
        }
    return tol;
}

/* Checks one C against the reference; returns 0 if fine, else prints and returns 1. */
static int compare(const char *who, int ta, int tb, int M, int N, int K, float alpha, float beta, int lda,
                   int ldb, const double *tol, const float *C, const float *Cref, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            size_t p = (size_t)i * ldc + j;
            double t = tol[(size_t)i * N + j];
            double d = fabs((double)C[p] - Cref[p]);
            if (!(d <= t)) {
                print_error("%s: ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d: "
                            "C[%d][%d] = %.9g, reference %.9g (|diff| %.3g > tol %.3g)\n",
                            who, ta, tb, M, N, K, (double)alpha, (double)beta, lda, ldb, ldc, i, j,
                            (double)C[p], (double)Cref[p], d, t);
                return 1;
            }
        }
        for (int j = N; i + 1 < M && j < ldc; j++) /* padding of C untouched */
            if (C[(size_t)i * ldc + j] != SENTINEL) {
                print_error("%s: ta=%d tb=%d M=%d N=%d K=%d: wrote C padding at row %d col %d\n", who, ta,
                            tb, M, N, K, i, j);
                return 1;
            }
    }
    return 0;
}

/* Runs every variant and the reference on one shape for each (alpha, beta)
 * pair (C prefilled with fresh random values); returns failures. */
static int check_problem(const variant *v, int nv, float *pack, int ta, int tb, int M, int N, int K,
                         const float *alphas, const float *betas, int npairs, int pad)
{
    /* stored shapes: A is M x K (K x M when ta), B is K x N (N x K when tb) */
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + pad, ldb = bc + 2 * pad + (pad ? 1 : 0), ldc = N + pad + (pad ? 4 : 0);
    float *A = mat_new(ar, ac, lda, NAN);
    float *B = mat_new(br, bc, ldb, NAN);
    double *S = abs_products(ta, tb, M, N, K, A, lda, B, ldb);
    size_t cn = mat_size(M, N, ldc);
    float *Cref = malloc(cn * sizeof(float));
    float *C = malloc(cn * sizeof(float));
    assert_non_null(Cref);
    assert_non_null(C);
    int fails = 0;
    for (int q = 0; q < npairs; q++) {
        float alpha = alphas[q], beta = betas[q];
        float *C0 = mat_new(M, N, ldc, SENTINEL);
        memcpy(Cref, C0, cn * sizeof(float));
        mlpc_gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cref, ldc);
        double *tol = tolerances(M, N, K, alpha, beta, S, C0, ldc);
        for (int k = 0; k < nv; k++) {
            memcpy(C, C0, cn * sizeof(float));
            v[k].fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pack);
            fails += compare(v[k].name, ta, tb, M, N, K, alpha, beta, lda, ldb, tol, C, Cref, ldc);
        }
        free(tol);
        free(C0);
    }
    free(S);
    free(A);
    free(B);
    free(Cref);
    free(C);
    return fails;
}

static float *new_pack(void)
{
    float *p = aligned_alloc(64, mlpc_gemm_scratch_floats() * sizeof(float));
    assert_non_null(p);
    return p;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_select(void **state)
{
    (void)state;
    const char *name = NULL;
    mlpc_gemm_fn f = mlpc_gemm_select(&name);
    assert_non_null(f);
    assert_non_null(name);
    assert_true(strcmp(name, "generic") == 0 || strcmp(name, "avx2") == 0 || strcmp(name, "avx512") == 0);
    assert_true(mlpc_gemm_select(NULL) == f);
    variant v[3];
    int nv = variants(v), found = 0;
    for (int k = 0; k < nv; k++) found |= v[k].fn == f && strcmp(v[k].name, name) == 0;
    assert_true(found); /* the selected one is a variant this CPU supports */
    print_message("selected GEMM: %s (%d variants testable here)\n", name, nv);
}

/* all M, N, K in {1, 7, 31, 257} x 4 flag pairs x alpha {1, 0.5} x beta {0, 1, 0.25} */
static void test_odd_shapes(void **state)
{
    (void)state;
    static const int dims[] = {1, 7, 31, 257};
    static const float alphas[6] = {1.0f, 1.0f, 1.0f, 0.5f, 0.5f, 0.5f};
    static const float betas[6] = {0.0f, 1.0f, 0.25f, 0.0f, 1.0f, 0.25f};
    variant v[3];
    int nv = variants(v), fails = 0, problems = 0;
    float *pack = new_pack();
    for (int mi = 0; mi < 4; mi++)
        for (int ni = 0; ni < 4; ni++)
            for (int ki = 0; ki < 4; ki++)
                for (int f = 0; f < 4; f++) {
                    int pad = (mi + ni + ki + f) % 2 ? 3 : 0; /* padded and tight leading dimensions */
                    fails += check_problem(v, nv, pack, f >> 1, f & 1, dims[mi], dims[ni], dims[ki], alphas,
                                           betas, 6, pad);
                    problems += 6;
                }
    free(pack);
    print_message("%d problems x %d variants\n", problems, nv);
    assert_int_equal(fails, 0);
}

/* shapes that cross the KC=256 depth blocking, the NC column blocking
 * (NC = 64 NR: 256, 1024 or 2048 columns) and the MC row blocking */
static void test_blocking_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        {300, 513, 600}, {129, 1030, 257}, {127, 2050, 65}, {513, 33, 1100}, {1, 2100, 300}, {260, 1, 513},
    };
    variant v[3];
    int nv = variants(v), fails = 0;
    float *pack = new_pack();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int f = 0; f < 4; f++) {
            float alpha = s % 2 ? 0.5f : 1.0f, beta = f % 2 ? 0.25f : (s % 2 ? 1.0f : 0.0f);
            fails += check_problem(v, nv, pack, f >> 1, f & 1, shapes[s][0], shapes[s][1], shapes[s][2], &alpha,
                                   &beta, 1, 3);
        }
    free(pack);
    assert_int_equal(fails, 0);
}

/* alpha 0 and K 0: C = beta C, nothing read from A or B */
static void test_degenerate(void **state)
{
    (void)state;
    variant v[3];
    int nv = variants(v);
    float *pack = new_pack();
    float A[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, B[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    for (int k = 0; k < nv; k++) {
        float C[6] = {1, 2, 3, 4, 5, 6};
        v[k].fn(0, 0, 2, 3, 2, 0.0f, A, 2, B, 3, 0.5f, C, 3, pack);
        for (int i = 0; i < 6; i++) assert_float_equal(C[i], 0.5f * (float)(i + 1), 0.0f);
        float D[6] = {NAN, NAN, NAN, NAN, NAN, NAN}; /* beta 0 overwrites even NaN */
        v[k].fn(1, 1, 2, 3, 0, 1.0f, A, 2, B, 3, 0.0f, D, 3, pack);
        for (int i = 0; i < 6; i++) assert_float_equal(D[i], 0.0f, 0.0f);
    }
    free(pack);
}

/* ---- the threaded backend path ------------------------------------------- */

typedef struct tshape {
    int ta, tb, M, N, K;
    float alpha, beta;
} tshape;

static void test_threads_deterministic(void **state)
{
    (void)state;
    static const tshape shapes[] = {
        {1, 0, 1500, 200, 784, 1.0f, 0.0f}, /* dW of a 784-200 layer, batch 1500: split by rows */
        {1, 0, 784, 200, 1500, 1.0f, 0.0f}, /* split by rows, K crosses KC blocks */
        {0, 1, 200, 1500, 100, 1.0f, 0.0f}, /* D W^T: split by columns */
        {0, 0, 1000, 300, 784, 1.0f, 0.0f}, /* forward product */
        {0, 0, 64, 1000, 300, 1.0f, 0.0f},  /* split by columns, B read in place */
        {1, 1, 333, 777, 300, 1.0f, 1.0f},  /* accumulate into C (alpha 1, beta 1) */
        {0, 1, 777, 333, 300, 1.0f, 1.0f},
    };
    mlpc_ctx cx[3];
    for (int t = 0; t < 3; t++) {
        mlpc_error err;
        assert_int_equal(mlpc_ctx_init(&cx[t], t + 1, &err), MLPC_OK);
        assert_int_equal(cx[t].threads, t + 1);
        assert_non_null(cx[t].be);
        assert_non_null(cx[t].be->gemm);
    }
    const char *sel = NULL;
    mlpc_gemm_fn single = mlpc_gemm_select(&sel);
    assert_string_equal(mlpc_ctx_gemm_name(&cx[0]), sel);
    float *pack = new_pack();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const tshape *p = &shapes[s];
        int ar = p->ta ? p->K : p->M, ac = p->ta ? p->M : p->K;
        int br = p->tb ? p->N : p->K, bc = p->tb ? p->K : p->N;
        int lda = ac + (int)(s % 2), ldb = bc + 2 * (int)(s % 2), ldc = p->N + 3 * (int)(s % 2);
        float *A = mat_new(ar, ac, lda, NAN), *B = mat_new(br, bc, ldb, NAN);
        float *C0 = mat_new(p->M, p->N, ldc, SENTINEL);
        size_t cn = mat_size(p->M, p->N, ldc);
        float *C[4];
        for (int t = 0; t < 4; t++) {
            C[t] = malloc(cn * sizeof(float));
            assert_non_null(C[t]);
            memcpy(C[t], C0, cn * sizeof(float));
        }
        for (int t = 0; t < 3; t++)
            cx[t].be->gemm(&cx[t], p->ta, p->tb, p->M, p->N, p->K, p->alpha, A, lda, B, ldb, p->beta, C[t], ldc);
        /* C[3]: the selected kernel called directly, single-threaded */
        single(p->ta, p->tb, p->M, p->N, p->K, p->alpha, A, lda, B, ldb, p->beta, C[3], ldc, pack);
        for (int t = 1; t < 4; t++) {
            size_t bad = cn;
            for (size_t i = 0; i < cn && bad == cn; i++)
                if (memcmp(&C[0][i], &C[t][i], sizeof(float)) != 0) bad = i;
            if (bad != cn) {
                print_error("shape %zu (ta=%d tb=%d %dx%dx%d alpha %g beta %g): %s differs from 1 thread "
                            "at row %zu col %zu: %.9g vs %.9g\n",
                            s, p->ta, p->tb, p->M, p->N, p->K, (double)p->alpha, (double)p->beta,
                            t < 3 ? (t == 1 ? "2 threads" : "3 threads") : "the direct kernel call",
                            bad / (size_t)ldc, bad % (size_t)ldc, (double)C[t][bad], (double)C[0][bad]);
                fail();
            }
        }
        /* and the result is right */
        float *Cref = malloc(cn * sizeof(float));
        assert_non_null(Cref);
        memcpy(Cref, C0, cn * sizeof(float));
        mlpc_gemm_ref(p->ta, p->tb, p->M, p->N, p->K, p->alpha, A, lda, B, ldb, p->beta, Cref, ldc);
        double *S = abs_products(p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb);
        double *tol = tolerances(p->M, p->N, p->K, p->alpha, p->beta, S, C0, ldc);
        free(S);
        assert_int_equal(compare("3 threads", p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->beta, lda, ldb, tol,
                                 C[2], Cref, ldc),
                         0);
        free(tol);
        free(Cref);
        for (int t = 0; t < 4; t++) free(C[t]);
        free(A);
        free(B);
        free(C0);
    }
    free(pack);
    for (int t = 0; t < 3; t++) mlpc_ctx_free(&cx[t]);
}

/* short A (9..13 rows: one wide tile of up to 12 rows where the variant has
 * one) against narrow layers: right against the reference, and bit for bit
 * equal to computing the rows one at a time, so a batch's rows do not
 * depend on which tile they fall in */
static void test_wide_rows(void **state)
{
    (void)state;
    static const int ns[] = {1, 16, 17, 30, 32, 33};
    static const int ks[] = {10, 784};
    static const float alphas[2] = {1.0f, 1.0f}, betas[2] = {0.0f, 1.0f};
    variant v[3];
    int nv = variants(v), fails = 0;
    float *pack = new_pack();
    for (int M = 9; M <= 13; M++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                int N = ns[ni], K = ks[ki], pad = (M + (int)ni) % 2 ? 3 : 0;
                for (int f = 0; f < 4; f++)
                    fails += check_problem(v, nv, pack, f >> 1, f & 1, M, N, K, alphas, betas, 2, pad);
                /* whole vs row by row, forward shape (A and B not transposed) */
                int lda = K + pad, ldb = N + pad, ldc = N + pad;
                float *A = mat_new(M, K, lda, NAN), *B = mat_new(K, N, ldb, NAN);
                size_t cn = mat_size(M, N, ldc);
                float *C1 = calloc(cn, sizeof(float)), *C2 = calloc(cn, sizeof(float));
                assert_non_null(C1);
                assert_non_null(C2);
                for (int k = 0; k < nv; k++) {
                    v[k].fn(0, 0, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, ldc, pack);
                    for (int r = 0; r < M; r++)
                        v[k].fn(0, 0, 1, N, K, 1.0f, A + (size_t)r * lda, lda, B, ldb, 0.0f, C2 + (size_t)r * ldc,
                                ldc, pack);
                    for (int r = 0; r < M; r++)
                        if (memcmp(C1 + (size_t)r * ldc, C2 + (size_t)r * ldc, sizeof(float) * (size_t)N)) {
                            print_error("%s: M=%d N=%d K=%d: row %d differs from computing it alone\n", v[k].name,
                                        M, N, K, r);
                            fails++;
                            break;
                        }
                }
                free(A);
                free(B);
                free(C1);
                free(C2);
            }
    free(pack);
    assert_int_equal(fails, 0);
}

/* ---- the small-batch kernels (sparse.c, wgrad.c) --------------------------- */

/* whether the avx512 kernels can run here: then they must (a 0 return is a
 * failure), and mlpc_gemm_avx512 is the reference they must match */
static int have_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

static uint32_t fbits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* Bitwise comparison of n floats (row stride ld, for the message); returns 0
 * if equal, else prints the first difference and returns 1. */
static int same_bits(const char *ctx, const char *what, const float *got, const float *ref, size_t n, int ld)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &ref[i], sizeof(float)) != 0) {
            print_error("%s: %s differs first at index %zu (row %zu col %zu): %.9g (0x%08x), reference %.9g "
                        "(0x%08x)\n",
                        ctx, what, i, i / (size_t)ld, i % (size_t)ld, (double)got[i], fbits(got[i]),
                        (double)ref[i], fbits(ref[i]));
            return 1;
        }
    return 0;
}

/* 0 if all n floats still hold SENTINEL, else prints the first one written
 * and returns 1 */
static int untouched(const char *ctx, const char *what, const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fbits(p[i]) != fbits(SENTINEL)) {
            print_error("%s: wrote %s[%zu], which it was not to write\n", ctx, what, i);
            return 1;
        }
    return 0;
}

static float *floats_new(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

static int32_t *idx_new(int n)
{
    int32_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    assert_non_null(p);
    return p;
}

static void fill(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* the column subsets: about half, none, all, only the first, only the last */
static const char *const subset_names[] = {"half", "none", "all", "first", "last"};
enum { NSUBSETS = 5 };

static int pick_cols(int K, int kind, int32_t *idx)
{
    int n = 0;
    for (int k = 0; k < K; k++) {
        int on = kind == 0 ? frand() < 0.0f : kind == 2 ? 1 : kind == 3 ? k == 0 : kind == 4 ? k == K - 1 : 0;
        if (on) idx[n++] = k;
    }
    return n;
}

/* rows x K used columns of stride ld: the unlisted columns +0.0, the listed
 * ones random of both signs with a few signed zeros among them */
static void zero_unlisted(float *A, int rows, int K, int ld, const int32_t *idx, int n)
{
    for (int r = 0; r < rows; r++) {
        float *a = A + (size_t)r * ld;
        int q = 0;
        for (int k = 0; k < K; k++) {
            if (q < n && idx[q] == k) {
                q++;
                float u = frand();
                if (u > 0.95f) a[k] = -0.0f;
                else if (u < -0.95f) a[k] = 0.0f;
                continue;
            }
            a[k] = 0.0f;
        }
    }
}

static int naive_active_cols(const float *X, int m, int n, int32_t *idx)
{
    int c = 0;
    for (int j = 0; j < n; j++) {
        int used = 0;
        for (int i = 0; i < m; i++) used |= fbits(X[(size_t)i * n + j]) != 0;
        if (used) idx[c++] = j;
    }
    return c;
}

/* runs mlpc_k_active_cols on X against the naive loop; expect >= 0 is the
 * count the case was built to have */
static int check_active(const char *what, const float *X, int m, int n, int expect)
{
    int32_t *got = idx_new(n), *ref = idx_new(n);
    int c = mlpc_k_active_cols(X, m, n, got), cr = naive_active_cols(X, m, n, ref), bad = 0;
    if (expect >= 0 && cr != expect) {
        print_error("active_cols %s m=%d n=%d: the naive loop finds %d columns, the case has %d\n", what, m, n,
                    cr, expect);
        bad = 1;
    } else if (c != cr) {
        print_error("active_cols %s m=%d n=%d: %d columns, naive loop %d\n", what, m, n, c, cr);
        bad = 1;
    } else {
        for (int i = 0; i < c; i++)
            if (got[i] != ref[i]) {
                print_error("active_cols %s m=%d n=%d: idx[%d] = %d, naive loop %d\n", what, m, n, i, (int)got[i],
                            (int)ref[i]);
                bad = 1;
                break;
            }
    }
    free(got);
    free(ref);
    return bad;
}

static void test_active_cols(void **state)
{
    (void)state;
    static const int ms[] = {1, 2, 13};
    static const int ns[] = {1, 63, 64, 65, 200, 784};
    float tiny;
    uint32_t one = 1;
    memcpy(&tiny, &one, sizeof tiny); /* the smallest subnormal */
    int fails = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            int m = ms[mi], n = ns[ni];
            size_t cnt = (size_t)m * n;
            float *X = floats_new(cnt);
            fill(X, cnt, 0.0f);
            fails += check_active("all +0.0", X, m, n, 0);
            const int cols[3] = {0, n / 2, n - 1};
            for (int c = 0; c < 3; c++) {
                int j = cols[c];
                fill(X, cnt, 0.0f);
                X[(size_t)(m - 1) * n + j] = -0.0f;
                fails += check_active("one -0.0", X, m, n, 1);
                fill(X, cnt, 0.0f);
                X[j] = NAN;
                fails += check_active("one NaN", X, m, n, 1);
                fill(X, cnt, 0.0f);
                X[(size_t)(m / 2) * n + j] = tiny;
                fails += check_active("one subnormal", X, m, n, 1);
            }
            /* -0.0 everywhere, then every column used by a different row */
            fill(X, cnt, -0.0f);
            fails += check_active("all -0.0", X, m, n, n);
            fill(X, cnt, 0.0f);
            for (int j = 0; j < n; j++) X[(size_t)(j % m) * n + j] = frand() < 0.0f ? -1.5f : 0.25f;
            fails += check_active("diagonal", X, m, n, n);
            /* random: half the columns candidates, each of their entries
             * nonzero (or -0.0) with probability about 0.3 */
            for (int rep = 0; rep < 4; rep++) {
                fill(X, cnt, 0.0f);
                for (int j = 0; j < n; j++) {
                    if (frand() < 0.0f) continue;
                    for (int i = 0; i < m; i++) {
                        float u = frand();
                        if (u > 0.4f) X[(size_t)i * n + j] = u > 0.9f ? -0.0f : frand();
                    }
                }
                fails += check_active("random", X, m, n, -1);
            }
            free(X);
        }
    assert_int_equal(fails, 0);
}

/* C = A B from the listed columns of A against mlpc_gemm_avx512 (beta 0) on
 * the same A (unlisted columns +0.0): bit for bit, padding of C included;
 * by the small-batch kernel (mlpc_k_gemm_cols, which computes nothing
 * without AVX-512) or the blocked one (mlpc_gemm_avx512_cols). Returns the
 * failures; adds the problems compared to *checked. */
static int cols_problems(const int *Ms, size_t nm, const int *Ns, size_t nn, const int *Ks, size_t nk, int blocked,
                         float *pack, int *checked)
{
    const int avx = have_avx512();
    int fails = 0;
    for (size_t mi = 0; mi < nm; mi++)
        for (size_t ni = 0; ni < nn; ni++)
            for (size_t ki = 0; ki < nk; ki++) {
                int M = Ms[mi], N = Ns[ni], K = Ks[ki];
                int pad = (mi + ni + ki) % 2 ? 3 : 0; /* padded and tight leading dimensions */
                int lda = K + pad, ldb = N + 2 * pad, ldc = N + (pad ? 5 : 0);
                float *B = mat_new(K, N, ldb, NAN);
                size_t cn = mat_size(M, N, ldc);
                float *C = floats_new(cn), *Cref = floats_new(cn);
                int32_t *idx = idx_new(K);
                for (int kind = 0; kind < NSUBSETS; kind++) {
                    int n = pick_cols(K, kind, idx);
                    float *A = mat_new(M, K, lda, NAN);
                    zero_unlisted(A, M, K, lda, idx, n);
                    fill(C, cn, SENTINEL);
                    fill(Cref, cn, SENTINEL);
                    int r = 1;
                    if (blocked)
                        mlpc_gemm_avx512_cols(M, N, K, A, lda, B, ldb, idx, n, C, ldc);
                    else
                        r = mlpc_k_gemm_cols(M, N, K, A, lda, B, ldb, idx, n, C, ldc);
                    char ctx[160];
                    snprintf(ctx, sizeof ctx, "%s M=%d N=%d K=%d lda=%d ldb=%d ldc=%d cols %s (%d)",
                             blocked ? "gemm_avx512_cols" : "gemm_cols", M, N, K, lda, ldb, ldc, subset_names[kind], n);
                    if (r != avx) {
                        print_error("%s: returned %d on a CPU %s AVX-512\n", ctx, r, avx ? "with" : "without");
                        fails++;
                    } else if (r) {
                        mlpc_gemm_avx512(0, 0, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, Cref, ldc, pack);
                        fails += same_bits(ctx, "C", C, Cref, cn, ldc);
                        (*checked)++;
                    } else {
                        fails += untouched(ctx, "C", C, cn); /* returned 0: computing nothing */
                    }
                    free(A);
                }
                free(idx);
                free(B);
                free(C);
                free(Cref);
            }
    return fails;
}

static void test_gemm_cols(void **state)
{
    (void)state;
    static const int Ms[] = {1, 7, 10, 12, 13, 25};
    static const int Ns[] = {1, 7, 16, 17, 30, 32, 33, 57};
    static const int Ks[] = {1, 7, 31, 257, 784};
    float *pack = new_pack();
    int checked = 0;
    int fails = cols_problems(Ms, sizeof Ms / sizeof *Ms, Ns, sizeof Ns / sizeof *Ns, Ks, sizeof Ks / sizeof *Ks, 0,
                              pack, &checked);
    free(pack);
    print_message("gemm_cols: %d problems compared bit for bit%s\n", checked, have_avx512() ? "" : " (no AVX-512 here)");
    assert_int_equal(fails, 0);
}

/* the blocked GEMM over listed columns (cpu.c: the gathered first layer
 * over a batch's used columns), at the shapes of whole batches and
 * threads' shares of them, and the weight gradient's rows of listed
 * columns (mlpc_gemm_avx512_tcols) against the dense A^T B's rows */
static void test_gemm_avx512_cols(void **state)
{
    (void)state;
    if (!have_avx512()) {
        printf("SKIP test_gemm_avx512_cols: this CPU has no AVX-512\n");
        return;
    }
    static const int Ms[] = {1, 8, 9, 64, 130, 200};
    static const int Ns[] = {10, 47, 48, 49, 200, 256};
    static const int Ks[] = {7, 200, 257, 784};
    float *pack = new_pack();
    int checked = 0;
    int fails = cols_problems(Ms, sizeof Ms / sizeof *Ms, Ns, sizeof Ns / sizeof *Ns, Ks, sizeof Ks / sizeof *Ks, 1,
                              pack, &checked);
    /* the weight gradient's rows of listed columns: A^T B over m batch rows */
    static const int ms[] = {1, 64, 65, 128, 300};
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++) {
                int m = ms[mi], N = Ns[ni], in = Ks[ki], lda = in + 3 * (int)(mi % 2);
                float *A = mat_new(m, in, lda, NAN), *B = mat_new(m, N, N, NAN);
                float *G = floats_new((size_t)in * N), *Gref = floats_new((size_t)in * N);
                int32_t *idx = idx_new(in);
                for (int kind = 0; kind < NSUBSETS + 1; kind++) {
                    int n = 0;
                    if (kind < NSUBSETS)
                        n = pick_cols(in, kind, idx);
                    else /* runs of 20 used columns in 28, as MNIST's rows */
                        for (int c = 0; c < in; c++)
                            if (c % 28 >= 4 && c % 28 < 24) idx[n++] = c;
                    fill(G, (size_t)in * N, SENTINEL);
                    mlpc_gemm_avx512_tcols(n, N, m, A, lda, idx, B, N, G, N, pack);
                    mlpc_gemm_avx512(1, 0, in, N, m, 1.0f, A, lda, B, N, 0.0f, Gref, N, pack);
                    for (int i = 0; i < n; i++)
                        if (memcmp(G + (size_t)i * N, Gref + (size_t)idx[i] * N, (size_t)N * sizeof(float))) {
                            print_error("gemm_avx512_tcols m=%d N=%d in=%d lda=%d kind %d: row %d (column %d) differs\n",
                                        m, N, in, lda, kind, i, idx[i]);
                            fails++;
                            break;
                        }
                    checked++;
                }
                free(A), free(B), free(G), free(Gref), free(idx);
            }
    free(pack);
    print_message("gemm_avx512_cols: %d problems compared bit for bit\n", checked);
    assert_int_equal(fails, 0);
}

/* W -= lr A^T D on the listed rows, G the whole gradient, against
 * mlpc_gemm_avx512 + mlpc_opt_apply (plain SGD) */
static void test_sgd_rows(void **state)
{
    (void)state;
    static const int ins[] = {1, 9, 31, 200, 784};
    static const int outs[] = {1, 10, 16, 17, 30, 32};
    static const int ms[] = {1, 3, 10, 16};
    const int avx = have_avx512();
    const float lr = 0.0375f;
    const mlpc_opt_step sgd = {.opt = MLPC_OPT_SGD, .lr = lr};
    float *pack = new_pack();
    int fails = 0, checked = 0;
    for (size_t ii = 0; ii < sizeof ins / sizeof *ins; ii++)
        for (size_t oi = 0; oi < sizeof outs / sizeof *outs; oi++)
            for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++) {
                int in = ins[ii], out = outs[oi], m = ms[mi];
                int lda = in + ((ii + oi + mi) % 2 ? 7 : 0);
                size_t wn = (size_t)in * out;
                float *D = mat_new(m, out, out, NAN);
                float *W0 = mat_new(in, out, out, NAN), *W = floats_new(wn), *Wref = floats_new(wn);
                float *G = floats_new(wn), *Gref = floats_new(wn);
                int32_t *idx = idx_new(in);
                for (int kind = 0; kind < NSUBSETS; kind++)
                    for (int withg = 0; withg < 2; withg++) {
                        int n = pick_cols(in, kind, idx);
                        float *A = mat_new(m, in, lda, NAN);
                        zero_unlisted(A, m, in, lda, idx, n);
                        memcpy(W, W0, wn * sizeof(float));
                        fill(G, wn, SENTINEL);
                        int r = mlpc_k_sgd_rows(in, out, m, A, lda, D, idx, n, W, lr, withg ? G : NULL);
                        char ctx[160];
                        snprintf(ctx, sizeof ctx, "sgd_rows in=%d out=%d m=%d lda=%d rows %s (%d) G %s", in, out,
                                 m, lda, subset_names[kind], n, withg ? "given" : "NULL");
                        if (r != avx) {
                            print_error("%s: returned %d on a CPU %s AVX-512\n", ctx, r, avx ? "with" : "without");
                            fails++;
                        } else if (r) {
                            mlpc_gemm_avx512(1, 0, in, out, m, 1.0f, A, lda, D, out, 0.0f, Gref, out, pack);
                            memcpy(Wref, W0, wn * sizeof(float));
                            mlpc_opt_apply(&sgd, Wref, Gref, NULL, NULL, wn);
                            fails += same_bits(ctx, "W", W, Wref, wn, out);
                            if (withg) fails += same_bits(ctx, "G", G, Gref, wn, out);
                            checked++;
                        } else {
                            fails += same_bits(ctx, "W (returned 0)", W, W0, wn, out);
                        }
                        if (!withg || !r) fails += untouched(ctx, "G", G, wn);
                        free(A);
                    }
                free(idx);
                free(D);
                free(W0);
                free(W);
                free(Wref);
                free(G);
                free(Gref);
            }
    /* out = 33: no kernel, nothing computed */
    {
        int in = 9, out = 33, m = 3, n = 0;
        size_t wn = (size_t)in * out;
        float *A = mat_new(m, in, in, NAN), *D = mat_new(m, out, out, NAN), *W0 = mat_new(in, out, out, NAN);
        float *W = floats_new(wn), *G = floats_new(wn);
        int32_t idx[9];
        for (int k = 0; k < in; k += 2) idx[n++] = k;
        zero_unlisted(A, m, in, in, idx, n);
        memcpy(W, W0, wn * sizeof(float));
        fill(G, wn, SENTINEL);
        assert_int_equal(mlpc_k_sgd_rows(in, out, m, A, in, D, idx, n, W, lr, G), 0);
        assert_memory_equal(W, W0, wn * sizeof(float));
        for (size_t i = 0; i < wn; i++) assert_true(fbits(G[i]) == fbits(SENTINEL));
        free(A);
        free(D);
        free(W0);
        free(W);
        free(G);
    }
    free(pack);
    print_message("sgd_rows: %d problems compared bit for bit%s\n", checked, avx ? "" : " (no AVX-512 here)");
    assert_int_equal(fails, 0);
}

/* G = A^T D over the first `rows` columns of A, and with W the SGD step in
 * the same pass, against mlpc_gemm_avx512 + mlpc_opt_apply */
static void test_wgrad_small(void **state)
{
    (void)state;
    static const int rowss[] = {1, 7, 8, 9, 128, 136};
    static const int outs[] = {1, 10, 16, 17, 30, 32, 40, 57};
    static const int ms[] = {1, 10, 16};
    static const char *const modes[] = {"G only", "G and W", "W only"};
    const int avx = have_avx512();
    const float lr = 0.0125f;
    const mlpc_opt_step sgd = {.opt = MLPC_OPT_SGD, .lr = lr};
    float *pack = new_pack();
    int fails = 0, checked = 0;
    for (size_t ri = 0; ri < sizeof rowss / sizeof *rowss; ri++)
        for (size_t oi = 0; oi < sizeof outs / sizeof *outs; oi++)
            for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++) {
                int rows = rowss[ri], out = outs[oi], m = ms[mi];
                int lda = rows + ((ri + oi + mi) % 2 ? 5 : 0); /* A's other columns are NaN */
                size_t gn = (size_t)rows * out;
                float *A = mat_new(m, rows, lda, NAN), *D = mat_new(m, out, out, NAN);
                float *W0 = mat_new(rows, out, out, NAN), *W = floats_new(gn), *Wref = floats_new(gn);
                float *G = floats_new(gn), *Gref = floats_new(gn);
                memcpy(Wref, W0, gn * sizeof(float));
                if (avx) {
                    mlpc_gemm_avx512(1, 0, rows, out, m, 1.0f, A, lda, D, out, 0.0f, Gref, out, pack);
                    mlpc_opt_apply(&sgd, Wref, Gref, NULL, NULL, gn);
                }
                for (int mode = 0; mode < 3; mode++) {
                    int withw = mode > 0, withg = mode < 2;
                    int expect = avx && (!withw || out <= 32);
                    memcpy(W, W0, gn * sizeof(float));
                    fill(G, gn, SENTINEL);
                    int r = mlpc_k_wgrad_small(rows, out, m, A, lda, D, withg ? G : NULL, withw ? W : NULL, lr);
                    char ctx[160];
                    snprintf(ctx, sizeof ctx, "wgrad_small rows=%d out=%d m=%d lda=%d %s", rows, out, m, lda,
                             modes[mode]);
                    if (r != expect) {
                        print_error("%s: returned %d, expected %d\n", ctx, r, expect);
                        fails++;
                        continue;
                    }
                    if (r) {
                        if (withg) fails += same_bits(ctx, "G", G, Gref, gn, out);
                        if (withw) fails += same_bits(ctx, "W", W, Wref, gn, out);
                        checked++;
                    }
                    if (!r || !withw) fails += same_bits(ctx, "W (not to be written)", W, W0, gn, out);
                    if (!r || !withg) fails += untouched(ctx, "G", G, gn);
                }
                free(A);
                free(D);
                free(W0);
                free(W);
                free(Wref);
                free(G);
                free(Gref);
            }
    free(pack);
    print_message("wgrad_small: %d problems compared bit for bit%s\n", checked, avx ? "" : " (no AVX-512 here)");
    assert_int_equal(fails, 0);
}

/* ---- all layers' weight gradients in one region (backend weight_grads) -- */

/* what the ready callback saw: each parameter handed over once, weights
 * flagged as weights, and the gradient final when handed over */
typedef struct ready_log {
    unsigned char *seen;
    const float *grads;
    float *at_ready; /* the gradient's value when its range was handed over */
    int bad_flag;
    const size_t *w_off, *b_off;
    int n;
} ready_log;

static void log_ready(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight)
{
    ready_log *r = user;
    assert_int_equal(cx->threads, 1); /* the work on a range stays on its thread */
    int layer_w = 0;
    for (int l = 0; l < r->n; l++)
        if (off >= r->w_off[l] && off < r->b_off[l]) layer_w = 1;
    if (layer_w != is_weight) r->bad_flag = 1;
    for (size_t i = off; i < off + n; i++) {
        r->seen[i]++;
        r->at_ready[i] = r->grads[i];
    }
}

/* G and gb of every layer and the ready calls, through weight_grads on 2
 * and 3 threads (split layers, whole layers side by side, bf16 splits
 * with D packed once in parts of one shared buffer), bit for bit those of
 * weight_grad, col_sum and ready layer by layer on one thread */
static void weight_grads_equal(int bf16)
{
    enum { M = 256, NL = 5 };
    static const int sizes[NL + 1] = {300, 200, 100, 30, 10, 3};
    size_t w_off[NL], b_off[NL], np = 0;
    float *A[NL], *D[NL];
    for (int l = 0; l < NL; l++) {
        w_off[l] = np;
        np += (size_t)sizes[l] * sizes[l + 1];
        b_off[l] = np;
        np += (size_t)sizes[l + 1];
        A[l] = mat_new(M, sizes[l], sizes[l], NAN);
        D[l] = mat_new(M, sizes[l + 1], sizes[l + 1], NAN);
    }
    float *g[3], *at[3];
    for (int t = 0; t < 3; t++) {
        mlpc_error err;
        mlpc_ctx cx;
        assert_int_equal(mlpc_ctx_init(&cx, t + 1, &err), MLPC_OK);
        if (bf16 && !mlpc_ctx_set_bf16(&cx, 1)) fail();
        g[t] = calloc(np, sizeof(float));
        at[t] = calloc(np, sizeof(float));
        unsigned char *seen = calloc(np, 1);
        assert_true(g[t] && at[t] && seen);
        ready_log r = {seen, g[t], at[t], 0, w_off, b_off, NL};
        mlpc_grad_layer L[NL];
        for (int l = 0; l < NL; l++)
            L[l] = (mlpc_grad_layer){sizes[l], sizes[l + 1], A[l], D[l], g[t] + w_off[l], g[t] + b_off[l],
                                     w_off[l], b_off[l]};
        if (t == 0) { /* the reference: layer by layer */
            for (int l = NL - 1; l >= 0; l--) {
                cx.be->weight_grad(&cx, L[l].in, L[l].out, M, L[l].A, L[l].D, L[l].G, NULL, L[l].off, log_ready, &r);
                cx.be->col_sum(&cx, L[l].D, M, L[l].out, L[l].gb);
                mlpc_ctx one = mlpc_ctx_thread(&cx, 0);
                log_ready(&r, &one, L[l].b_off, (size_t)L[l].out, 0);
            }
        } else {
            assert_non_null(cx.be->weight_grads);
            cx.be->weight_grads(&cx, M, L, NL, log_ready, &r);
        }
        for (size_t i = 0; i < np; i++) assert_int_equal(seen[i], 1);
        assert_int_equal(r.bad_flag, 0);
        free(seen);
        mlpc_ctx_free(&cx);
    }
    for (int t = 1; t < 3; t++) {
        assert_memory_equal(g[0], g[t], np * sizeof(float));
        assert_memory_equal(g[t], at[t], np * sizeof(float)); /* final when handed over */
    }
    for (int t = 0; t < 3; t++) {
        free(g[t]);
        free(at[t]);
    }
    for (int l = 0; l < NL; l++) {
        free(A[l]);
        free(D[l]);
    }
}

/* A weight gradient of many rows against few weights is summed in two
 * halves of the batch (cpu.c, ks_half): G = A0^T D0 + A1^T D1, split where
 * the first of 2 threads' rows end, and so are the column sums of every
 * batch of 256 rows or more. Checked bit for bit against the kernel's two
 * products added (fp32 and bf16), through weight_grad and col_sum on 1, 2
 * and 3 threads and through weight_grads on 2 and 3; a shape with few rows
 * against its weights is one product. */
static void ignore_ready(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight)
{
    (void)user, (void)cx, (void)off, (void)n, (void)is_weight;
}

/* each parameter handed over once, and final then (any thread count: a
 * small region goes layer by layer) */
static void halves_ready(void *user, mlpc_ctx *cx, size_t off, size_t n, int is_weight)
{
    ready_log *r = user;
    (void)cx;
    if ((off < r->b_off[0]) != is_weight) r->bad_flag = 1;
    for (size_t i = off; i < off + n; i++) {
        r->seen[i]++;
        r->at_ready[i] = r->grads[i];
    }
}

static void halves_case(int bf16, int in, int out, int m, int halves)
{
    float *A = mat_new(m, in, in, NAN), *D = mat_new(m, out, out, NAN);
    size_t gn = (size_t)in * out;
    float *want = calloc(gn, sizeof(float)), *part = calloc(gn, sizeof(float));
    float *wb = calloc((size_t)out, sizeof(float)), *pb = calloc((size_t)out, sizeof(float));
    float *pack = aligned_alloc(64, mlpc_gemm_scratch_floats() * sizeof(float));
    assert_true(want && part && wb && pb && pack);
    long h = 0, h1 = 0;
    if (m >= 256) mlpc_split(m, 8, 0, 2, &h1, &h); /* the first thread's rows: [0, h) */
    long hg = halves ? h : m;                      /* where the weight gradient's first sum ends */
    mlpc_gemm_bf16_fn bf = bf16 ? mlpc_gemm_bf16_select() : NULL;
    for (int p = 0; p < 2; p++) {
        long k0 = p ? hg : 0, k1 = p ? m : hg;
        if (k1 <= k0) continue;
        float *C = p ? part : want;
        if (bf)
            bf(1, 0, in, out, (int)(k1 - k0), A + k0 * in, in, D + k0 * out, out, C, out, pack);
        else
            mlpc_gemm_select(NULL)(1, 0, in, out, (int)(k1 - k0), 1.0f, A + k0 * in, in, D + k0 * out, out, 0.0f, C,
                                   out, pack);
    }
    if (hg < m)
        for (size_t i = 0; i < gn; i++) want[i] += part[i];
    long hb = h ? h : m; /* the column sums' first half */
    mlpc_k_col_sum(D, (int)hb, out, 0, out, wb);
    if (hb < m) {
        mlpc_k_col_sum(D + hb * out, (int)(m - hb), out, 0, out, pb);
        for (int j = 0; j < out; j++) wb[j] += pb[j];
    }
    float *G = calloc(gn, sizeof(float)), *gb = calloc((size_t)out, sizeof(float));
    assert_true(G && gb);
    for (int t = 1; t <= 3; t++) {
        mlpc_error err;
        mlpc_ctx cx;
        assert_int_equal(mlpc_ctx_init(&cx, t, &err), MLPC_OK);
        if (bf16) assert_true(mlpc_ctx_set_bf16(&cx, 1));
        unsigned char *seen = calloc(gn + out, 1);
        float *at = calloc(gn + out, sizeof(float));
        assert_true(seen && at);
        size_t w_off[1] = {0}, b_off[1] = {gn};
        for (int way = 0; way < (t > 1 ? 2 : 1); way++) {
            memset(G, 0xff, gn * sizeof(float));
            memset(gb, 0xff, (size_t)out * sizeof(float));
            if (way == 0) {
                cx.be->weight_grad(&cx, in, out, m, A, D, G, NULL, 0, ignore_ready, NULL);
                cx.be->col_sum(&cx, D, m, out, gb);
            } else { /* in one region, beside a small layer; G and gb in one arena */
                float *arena = calloc(gn + out, sizeof(float));
                assert_non_null(arena);
                memset(seen, 0, gn + out);
                ready_log r = {seen, arena, at, 0, w_off, b_off, 1};
                mlpc_grad_layer L[1] = {{in, out, A, D, arena, arena + gn, 0, gn}};
                cx.be->weight_grads(&cx, m, L, 1, halves_ready, &r);
                for (size_t i = 0; i < gn + out; i++) assert_int_equal(seen[i], 1);
                assert_int_equal(r.bad_flag, 0);
                assert_memory_equal(at, arena, (gn + out) * sizeof(float)); /* final when handed over */
                memcpy(G, arena, gn * sizeof(float));
                memcpy(gb, arena + gn, (size_t)out * sizeof(float));
                free(arena);
            }
            char ctx[96];
            snprintf(ctx, sizeof ctx, "%s %dx%d m %d, %d threads, %s", bf16 ? "bf16" : "fp32", in, out, m, t,
                     way ? "weight_grads" : "weight_grad");
            assert_int_equal(same_bits(ctx, "G", G, want, gn, (int)gn), 0);
            assert_int_equal(same_bits(ctx, "gb", gb, wb, (size_t)out, out), 0);
        }
        free(seen);
        free(at);
        mlpc_ctx_free(&cx);
    }
    if (!bf16) { /* and the halves' sum is the product over the whole batch */
        float *ref = calloc(gn, sizeof(float));
        assert_non_null(ref);
        mlpc_gemm_ref(1, 0, in, out, m, 1.0f, A, in, D, out, 0.0f, ref, out);
        double *S = abs_products(1, 0, in, out, m, A, in, D, out);
        double *tol = tolerances(in, out, m, 1.0f, 0.0f, S, ref, out);
        assert_int_equal(compare("halves", 1, 0, in, out, m, 1.0f, 0.0f, in, out, tol, want, ref, out), 0);
        free(S);
        free(tol);
        free(ref);
    }
    free(A), free(D), free(want), free(part), free(wb), free(pb), free(pack), free(G), free(gb);
}

static void test_weight_grad_halves(void **state)
{
    (void)state;
    for (int bf16 = 0; bf16 < 2; bf16++) {
        if (bf16 && !mlpc_cpu_has_bf16()) {
            printf("SKIP test_weight_grad_halves (bf16): this CPU has no AVX512_BF16\n");
            break;
        }
        halves_case(bf16, 100, 30, 300, 1);   /* 300 x (50 + 30) > 2 x 3,000: halves */
        halves_case(bf16, 784, 200, 1500, 1); /* W2's first layer */
        halves_case(bf16, 300, 200, 256, 0);  /* 256 x (150 + 200) < 2 x 60,000: one product, sums in halves */
        halves_case(bf16, 64, 16, 255, 0);    /* under 256 rows: all one sum */
    }
}

/* Input rows registered as pending byte rows (mlpc_ctx_gather_input):
 * the forward's first product gathers them block by block (one thread and
 * split by rows, through gemm_bias_act and row_chain), and any other
 * operation that reads them first gathers them all; every result is bit
 * for bit the one on the rows gathered beforehand, and the rows are there
 * afterwards. */
static void gather_case(int threads, int m, int way)
{
    enum { NB = 700, K = 75, N1 = 40, N2 = 9 };
    uint8_t *bytes = malloc((size_t)NB * K);
    uint32_t *idx = malloc(sizeof(uint32_t) * (size_t)m);
    float *shift = malloc(sizeof(float) * K), *scale = malloc(sizeof(float) * K);
    float *X = malloc(sizeof(float) * (size_t)m * K), *a = malloc(sizeof(float) * (size_t)m * K);
    float *W1 = mat_new(K, N1, N1, NAN), *b1 = mat_new(1, N1, N1, NAN), *W2 = mat_new(N1, N2, N2, NAN);
    float *b2 = mat_new(1, N2, N2, NAN), *D = mat_new(m, N1, N1, NAN);
    float *C1[2], *C2[2], *G[2];
    for (int i = 0; i < 2; i++) {
        C1[i] = malloc(sizeof(float) * (size_t)m * N1);
        C2[i] = malloc(sizeof(float) * (size_t)m * N2);
        G[i] = malloc(sizeof(float) * K * N1);
        assert_true(C1[i] && C2[i] && G[i]);
    }
    assert_true(bytes && idx && shift && scale && X && a);
    for (size_t i = 0; i < (size_t)NB * K; i++) bytes[i] = (uint8_t)(frand() * 128.0f + 128.0f);
    for (int j = 0; j < K; j++) {
        shift[j] = (float)(j % 7);
        scale[j] = 1.0f / (float)(200 + j);
    }
    for (int i = 0; i < m; i++) idx[i] = (uint32_t)((i * 379u + 11u) % NB);
    mlpc_byte_rows_gather(bytes, K, idx, m, shift, scale, X);
    mlpc_error err;
    mlpc_ctx cx;
    assert_int_equal(mlpc_ctx_init(&cx, threads, &err), MLPC_OK);
    for (int r = 0; r < 2; r++) { /* r 0: rows gathered first; 1: pending */
        const float *in = X;
        if (r) {
            memset(a, 0xff, sizeof(float) * (size_t)m * K); /* NaN until gathered */
            assert_true(mlpc_ctx_gather_input(&cx, a, m, K, bytes, idx, shift, scale, idx, m / 2));
            in = a;
        }
        mlpc_row_op ops[2] = {{N1, K, in, K, W1, N1, b1, C1[r], MLPC_ACT_SIGMOID, 0},
                              {N2, N1, C1[r], N1, W2, N2, b2, C2[r], MLPC_ACT_SOFTMAX, 0}};
        if (way == 0) { /* the chain of the forward */
            cx.be->row_chain(&cx, m, ops, 2);
        } else if (way == 1) { /* layer by layer */
            cx.be->gemm_bias_act(&cx, m, N1, K, in, K, W1, N1, b1, C1[r], MLPC_ACT_SIGMOID);
            cx.be->gemm_bias_act(&cx, m, N2, N1, C1[r], N1, W2, N2, b2, C2[r], MLPC_ACT_SOFTMAX);
        } else if (way == 2) { /* another reader first: the weight gradient */
            cx.be->weight_grad(&cx, K, N1, m, in, D, G[r], NULL, 0, ignore_ready, NULL);
        } else { /* ended before any use */
            if (r) assert_int_equal(mlpc_ctx_gather_input(&cx, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0), 0);
        }
    }
    assert_memory_equal(a, X, sizeof(float) * (size_t)m * K); /* gathered, whatever the way */
    if (way < 2) {
        assert_memory_equal(C1[0], C1[1], sizeof(float) * (size_t)m * N1);
        assert_memory_equal(C2[0], C2[1], sizeof(float) * (size_t)m * N2);
    } else if (way == 2) {
        assert_memory_equal(G[0], G[1], sizeof(float) * K * N1);
    }
    /* bf16 products read their own copy: not registered */
    if (mlpc_ctx_set_bf16(&cx, 1))
        assert_int_equal(mlpc_ctx_gather_input(&cx, a, m, K, bytes, idx, shift, scale, NULL, 0), 0);
    mlpc_ctx_free(&cx);
    for (int i = 0; i < 2; i++) {
        free(C1[i]);
        free(C2[i]);
        free(G[i]);
    }
    free(bytes);
    free(idx);
    free(shift);
    free(scale);
    free(X);
    free(a);
    free(W1);
    free(b1);
    free(W2);
    free(b2);
    free(D);
}

static void test_gather_input(void **state)
{
    (void)state;
    for (int t = 1; t <= 3; t++)
        for (int way = 0; way < 4; way++) {
            gather_case(t, 300, way); /* blocks of 128 rows and a rest */
            gather_case(t, 97, way);  /* under one block; on 2 and 3 threads too few rows for the chain */
        }
}

static void test_weight_grads(void **state)
{
    (void)state;
    weight_grads_equal(0);
    if (mlpc_cpu_has_bf16())
        weight_grads_equal(1);
    else
        printf("SKIP test_weight_grads (bf16): this CPU has no AVX512_BF16\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_gemm_avx512_cols),
        cmocka_unit_test(test_odd_shapes),
        cmocka_unit_test(test_blocking_shapes),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_threads_deterministic),
        cmocka_unit_test(test_weight_grads),
        cmocka_unit_test(test_weight_grad_halves),
        cmocka_unit_test(test_gather_input),
        cmocka_unit_test(test_wide_rows),
        cmocka_unit_test(test_active_cols),
        cmocka_unit_test(test_gemm_cols),
        cmocka_unit_test(test_sgd_rows),
        cmocka_unit_test(test_wgrad_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
