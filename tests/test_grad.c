/* test_grad.c - finite-difference gradient checks. The library's float32
 * gradients (mlpc_trainer_gradient / mlpc_trainer_grads) are compared with
 * central differences of an independent float64 forward pass and loss
 * written here, for every parameter, over every activation x loss pair the
 * library accepts, with labels (one-hot) and with float targets. */
#include "testutil.h"

#include <math.h>

#define MAXL 8
#define MAXW 8
#define NROWS 7 /* batch rows */
#define FD_H 1e-5
/* |g - fd| <= RTOL |fd| + ATOL max_k |fd_k|: float32 rounding in the library
 * stays near 1e-7 of the largest gradient (2% of this tolerance), a wrong
 * derivative or a factor on one parameter does not */
#define RTOL 1e-4
#define ATOL 1e-5
#define KINK 1e-3 /* relu/leaky pre-activations kept this far from zero */
#define PMARGIN 1e-4 /* probabilities kept this far from the clip at 1e-7 */

typedef struct arch {
    int L;             /* weight layers */
    int sizes[MAXL + 1];
    mlpc_act act[MAXL];
    mlpc_loss loss;
} arch;

/* ---- random numbers (test-local) ----------------------------------------- */

static uint64_t rs;
static double urand(void) /* [0, 1) */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* ---- the float64 reference ------------------------------------------------- */

static size_t n_params(const arch *a)
{
    size_t n = 0;
    for (int l = 0; l < a->L; l++) n += (size_t)a->sizes[l] * a->sizes[l + 1] + a->sizes[l + 1];
    return n;
}

static double act_ref(mlpc_act f, double z)
{
    switch (f) {
    case MLPC_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case MLPC_ACT_TANH: return tanh(z);
    case MLPC_ACT_RELU: return z > 0 ? z : 0.0;
    case MLPC_ACT_LEAKY_RELU: return z > 0 ? z : 0.01 * z;
    default: return z; /* linear; softmax is done per row */
    }
}

typedef struct fwd_info {
    double min_kink; /* smallest |z| in relu / leaky layers */
    double pmin, pmax; /* output range (for the cross-entropy clip) */
} fwd_info;

/* Mean loss over the rows; y: one-hot of labels, or targets (n x out). */
static double ref_loss(const arch *a, const double *p, const float *x, const int32_t *labels,
                       const float *targets, int n, fwd_info *info)
{
    int out = a->sizes[a->L];
    double total = 0;
    if (info) {
        info->min_kink = INFINITY;
        info->pmin = INFINITY;
        info->pmax = -INFINITY;
    }
    for (int r = 0; r < n; r++) {
        double cur[MAXW], nxt[MAXW];
        for (int i = 0; i < a->sizes[0]; i++) cur[i] = x[(size_t)r * a->sizes[0] + i];
        const double *q = p;
        for (int l = 0; l < a->L; l++) {
            int ni = a->sizes[l], no = a->sizes[l + 1];
            const double *W = q, *b = q + (size_t)ni * no;
            q = b + no;
            for (int j = 0; j < no; j++) {
                double z = b[j];
                for (int i = 0; i < ni; i++) z += cur[i] * W[(size_t)i * no + j];
                if (info && (a->act[l] == MLPC_ACT_RELU || a->act[l] == MLPC_ACT_LEAKY_RELU) && fabs(z) < info->min_kink)
                    info->min_kink = fabs(z);
                nxt[j] = a->act[l] == MLPC_ACT_SOFTMAX ? z : act_ref(a->act[l], z);
            }
            if (a->act[l] == MLPC_ACT_SOFTMAX) {
                double mx = nxt[0], s = 0;
                for (int j = 1; j < no; j++) mx = nxt[j] > mx ? nxt[j] : mx;
                for (int j = 0; j < no; j++) s += (nxt[j] = exp(nxt[j] - mx));
                for (int j = 0; j < no; j++) nxt[j] /= s;
            }
            memcpy(cur, nxt, sizeof(double) * (size_t)no);
        }
        double l = 0;
        for (int j = 0; j < out; j++) {
            double y = targets ? targets[(size_t)r * out + j] : (double)(labels[r] == j);
            double o = cur[j];
            if (info) {
                info->pmin = o < info->pmin ? o : info->pmin;
                info->pmax = o > info->pmax ? o : info->pmax;
            }
            switch (a->loss) {
            case MLPC_LOSS_QUADRATIC: l += 0.5 * (o - y) * (o - y); break;
            case MLPC_LOSS_MSE: l += (o - y) * (o - y) / out; break;
            case MLPC_LOSS_BCE: l += -(y * log(o) + (1 - y) * log(1 - o)) / out; break;
            default: l += -y * log(o); break;
            }
        }
        total += l;
    }
    return total / n;
}

/* central differences for every parameter */
static void ref_grad(const arch *a, double *p, const float *x, const int32_t *labels, const float *targets,
                     int n, double *fd)
{
    size_t np = n_params(a);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k];
        p[k] = keep + FD_H;
        double lp = ref_loss(a, p, x, labels, targets, n, NULL);
        p[k] = keep - FD_H;
        double lm = ref_loss(a, p, x, labels, targets, n, NULL);
        p[k] = keep;
        fd[k] = (lp - lm) / (2 * FD_H);
    }
}

/* ---- the checker ------------------------------------------------------------ */

typedef struct verdict {
    double worst;  /* max |g - fd| / (RTOL |fd| + ATOL gmax); <= 1 passes */
    size_t at;     /* its parameter index */
    double g, fd;
} verdict;

static verdict check(const float *g, const double *fd, size_t np)
{
    double gmax = 0;
    for (size_t k = 0; k < np; k++) gmax = fabs(fd[k]) > gmax ? fabs(fd[k]) : gmax;
    if (gmax < 1e-6) gmax = 1e-6;
    verdict v = {0, 0, 0, 0};
    for (size_t k = 0; k < np; k++) {
        double r = fabs((double)g[k] - fd[k]) / (RTOL * fabs(fd[k]) + ATOL * gmax);
        if (!(r <= v.worst)) { /* NaN is worst */
            v.worst = isnan(r) ? INFINITY : r;
            v.at = k;
            v.g = g[k];
            v.fd = fd[k];
        }
    }
    return v;
}

/* parameter index -> "layer l W[i][j]" / "layer l b[j]" */
static void param_name(const arch *a, size_t k, char *buf, size_t cap)
{
    for (int l = 0; l < a->L; l++) {
        size_t nw = (size_t)a->sizes[l] * a->sizes[l + 1];
        if (k < nw) {
            snprintf(buf, cap, "layer %d W[%zu][%zu]", l + 1, k / (size_t)a->sizes[l + 1], k % (size_t)a->sizes[l + 1]);
            return;
        }
        k -= nw;
        if (k < (size_t)a->sizes[l + 1]) {
            snprintf(buf, cap, "layer %d b[%zu]", l + 1, k);
            return;
        }
        k -= (size_t)a->sizes[l + 1];
    }
    snprintf(buf, cap, "?");
}

static void describe(const arch *a, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i <= a->L; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "-" : "", a->sizes[i]);
    n += (size_t)snprintf(buf + n, cap - n, " acts");
    for (int l = 0; l < a->L; l++) n += (size_t)snprintf(buf + n, cap - n, " %s", mlpc_act_name(a->act[l]));
    snprintf(buf + n, cap - n, " loss %s", mlpc_loss_name(a->loss));
}

/* ---- one case ----------------------------------------------------------------- */

enum ymode { Y_LABELS, Y_TARGETS };

typedef struct result {
    verdict v;
    double loss_lib, loss_ref;
    float *g;   /* library gradients (caller frees) */
    double *fd; /* finite differences (caller frees) */
    double *p;  /* parameters as used (caller frees) */
    float x[NROWS * MAXW];
    int32_t labels[NROWS];
    float targets[NROWS * MAXW];
} result;

static void fill_targets(const arch *a, result *r)
{
    int out = a->sizes[a->L];
    for (int i = 0; i < NROWS; i++) {
        r->labels[i] = (int32_t)(urand() * out);
        double s = 0;
        for (int j = 0; j < out; j++) {
            double t;
            if (a->loss == MLPC_LOSS_BCE || a->loss == MLPC_LOSS_CCE)
                t = 0.05 + 0.9 * urand(); /* soft targets in (0, 1) */
            else
                t = 2 * urand() - 1;
            r->targets[i * out + j] = (float)t;
            s += t;
        }
        /* softmax + cce: a distribution per row */
        if (a->loss == MLPC_LOSS_CCE && a->act[a->L - 1] == MLPC_ACT_SOFTMAX)
            for (int j = 0; j < out; j++) r->targets[i * out + j] = (float)(r->targets[i * out + j] / s);
    }
}

/* Builds the net and trainer, draws parameters and data until no relu kink
 * and no clipped probability is near, and fills r. Returns 0, or -1 when the
 * library refused the architecture. */
static int run_case(const arch *a, enum ymode ym, uint64_t seed, result *r)
{
    memset(r, 0, sizeof *r);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    cfg.n_layers = a->L;
    memcpy(cfg.sizes, a->sizes, sizeof(int) * (size_t)(a->L + 1));
    memcpy(cfg.act, a->act, sizeof(mlpc_act) * (size_t)a->L);
    cfg.loss = a->loss;
    cfg.batch = NROWS;
    cfg.seed = seed;
    mlpc_error err;
    if (mlpc_config_validate(&cfg, &err)) return -1;
    mlpc_net *net = mlpc_net_create(&cfg, &err);
    assert_non_null(net);
    mlpc_trainer *tr = mlpc_trainer_create(net, &cfg, &err);
    assert_non_null(tr);
    size_t np = n_params(a);
    assert_int_equal(mlpc_net_param_count(net), np);
    float *params = mlpc_net_params(net);
    r->p = malloc(np * sizeof(double));
    r->fd = malloc(np * sizeof(double));
    r->g = malloc(np * sizeof(float));
    assert_true(r->p && r->fd && r->g);
    int ok = 0;
    rs = seed * 0x9E3779B97F4A7C15ULL + 12345;
    for (int tries = 0; tries < 200 && !ok; tries++) {
        for (size_t k = 0; k < np; k++) params[k] = (float)(1.6 * urand() - 0.8);
        for (int i = 0; i < NROWS * a->sizes[0]; i++) r->x[i] = (float)(2 * urand() - 1);
        fill_targets(a, r);
        for (size_t k = 0; k < np; k++) r->p[k] = params[k];
        fwd_info info;
        ref_loss(a, r->p, r->x, ym == Y_LABELS ? r->labels : NULL, ym == Y_TARGETS ? r->targets : NULL, NROWS, &info);
        ok = info.min_kink > KINK;
        if (a->loss == MLPC_LOSS_BCE || a->loss == MLPC_LOSS_CCE)
            ok = ok && info.pmin > PMARGIN && info.pmax < 1 - PMARGIN;
    }
    assert_true(ok);
    const int32_t *lab = ym == Y_LABELS ? r->labels : NULL;
    const float *tgt = ym == Y_TARGETS ? r->targets : NULL;
    assert_int_equal(mlpc_trainer_gradient(tr, r->x, lab, tgt, NROWS, &r->loss_lib), MLPC_OK);
    memcpy(r->g, mlpc_trainer_grads(tr), np * sizeof(float));
    /* the gradient call must not move the parameters */
    for (size_t k = 0; k < np; k++) assert_true(params[k] == (float)r->p[k]);
    r->loss_ref = ref_loss(a, r->p, r->x, lab, tgt, NROWS, NULL);
    ref_grad(a, r->p, r->x, lab, tgt, NROWS, r->fd);
    r->v = check(r->g, r->fd, np);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    return 0;
}

static void free_result(result *r)
{
    free(r->g);
    free(r->fd);
    free(r->p);
}

/* Runs one case and reports; returns 1 on failure. */
static double group_worst; /* largest error/tolerance ratio seen in a group */

static int grad_case(const arch *a, enum ymode ym, uint64_t seed, int *ran)
{
    result r;
    if (run_case(a, ym, seed, &r)) return 0; /* not a valid combination */
    (*ran)++;
    char d[256], pn[64];
    describe(a, d, sizeof d);
    int bad = 0;
    group_worst = r.v.worst > group_worst ? r.v.worst : group_worst;
    double lrel = fabs(r.loss_lib - r.loss_ref) / fmax(fabs(r.loss_ref), 1e-2);
    if (!(lrel <= 1e-5)) {
        print_error("%s (%s): loss %.10g, float64 reference %.10g (relative diff %.3g)\n", d,
                    ym == Y_LABELS ? "labels" : "targets", r.loss_lib, r.loss_ref, lrel);
        bad = 1;
    }
    if (!(r.v.worst <= 1.0)) {
        param_name(a, r.v.at, pn, sizeof pn);
        print_error("%s (%s): gradient mismatch at parameter %zu (%s): analytic %.8g, numeric %.8g "
                    "(error %.2fx the tolerance)\n",
                    d, ym == Y_LABELS ? "labels" : "targets", r.v.at, pn, r.v.g, r.v.fd, r.v.worst);
        bad = 1;
    }
    free_result(&r);
    return bad;
}

/* every (hidden, output) activation pair for one loss, on two nets, with
 * labels and with targets */
static void grad_group(mlpc_loss loss)
{
    static const mlpc_act hidden[] = {MLPC_ACT_SIGMOID, MLPC_ACT_TANH, MLPC_ACT_RELU, MLPC_ACT_LEAKY_RELU,
                                      MLPC_ACT_LINEAR};
    int fails = 0, ran = 0;
    group_worst = 0;
    for (int h = 0; h < 5; h++)
        for (int o = 0; o < MLPC_ACT_COUNT; o++)
            for (int ym = 0; ym < 2; ym++) {
                arch small = {2, {5, 4, 3}, {hidden[h], (mlpc_act)o}, loss};
                arch deep = {4, {6, 5, 4, 3, 4}, {hidden[h], hidden[(h + 1) % 5], hidden[h], (mlpc_act)o}, loss};
                uint64_t seed = 1000 * (uint64_t)loss + 100 * (uint64_t)h + 10 * (uint64_t)o + (uint64_t)ym + 1;
                fails += grad_case(&small, (enum ymode)ym, seed, &ran);
                fails += grad_case(&deep, (enum ymode)ym, seed + 7, &ran);
            }
    print_message("%s: %d gradient checks, %d failed, worst error %.3fx the tolerance\n", mlpc_loss_name(loss), ran,
                  fails, group_worst);
    assert_true(ran > 0);
    assert_int_equal(fails, 0);
}

static void test_grad_quadratic(void **state) { (void)state; grad_group(MLPC_LOSS_QUADRATIC); }
static void test_grad_mse(void **state) { (void)state; grad_group(MLPC_LOSS_MSE); }
static void test_grad_bce(void **state) { (void)state; grad_group(MLPC_LOSS_BCE); }
static void test_grad_cce(void **state) { (void)state; grad_group(MLPC_LOSS_CCE); }

/* The combinations the library refuses are exactly the documented ones. */
static void test_valid_pairs(void **state)
{
    (void)state;
    int valid = 0;
    for (int l = 0; l < MLPC_LOSS_COUNT; l++)
        for (int o = 0; o < MLPC_ACT_COUNT; o++) {
            mlpc_config cfg;
            mlpc_config_default(&cfg);
            assert_int_equal(mlpc_config_set_layers(&cfg, "5-4-3", NULL), MLPC_OK);
            mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, (mlpc_act)o);
            cfg.loss = (mlpc_loss)l;
            int want = l == MLPC_LOSS_QUADRATIC || l == MLPC_LOSS_MSE || o == MLPC_ACT_SIGMOID || o == MLPC_ACT_SOFTMAX;
            int got = mlpc_config_validate(&cfg, NULL) == MLPC_OK;
            if (got != want) print_error("loss %s, out-act %s: validate says %d\n", mlpc_loss_name(l), mlpc_act_name(o), got);
            assert_int_equal(got, want);
            valid += got;
            /* softmax as a hidden activation is refused */
            mlpc_config_set_acts(&cfg, MLPC_ACT_SOFTMAX, MLPC_ACT_SOFTMAX);
            assert_int_not_equal(mlpc_config_validate(&cfg, NULL), MLPC_OK);
        }
    assert_int_equal(valid, 6 + 6 + 2 + 2);
}

/* The checker is not vacuous: it rejects a gradient 10% off everywhere, 1%
 * off on one parameter, twice a single parameter, and the gradient of a net
 * whose hidden activation derivative differs (tanh instead of sigmoid). */
static void test_checker_detects_errors(void **state)
{
    (void)state;
    arch a = {2, {5, 4, 3}, {MLPC_ACT_SIGMOID, MLPC_ACT_LINEAR}, MLPC_LOSS_MSE};
    result r;
    assert_int_equal(run_case(&a, Y_TARGETS, 77, &r), 0);
    size_t np = n_params(&a);
    assert_true(r.v.worst <= 1.0); /* the real one passes */
    print_message("correct gradient: worst error %.3fx the tolerance\n", r.v.worst);

    double *bad = malloc(np * sizeof(double));
    assert_non_null(bad);
    size_t big = 0;
    for (size_t k = 0; k < np; k++) big = fabs(r.fd[k]) > fabs(r.fd[big]) ? k : big;

    for (size_t k = 0; k < np; k++) bad[k] = r.fd[k] * 1.1;
    verdict v = check(r.g, bad, np);
    print_message("fd * 1.1: worst %.2fx\n", v.worst);
    assert_true(v.worst > 1.0);

    memcpy(bad, r.fd, np * sizeof(double));
    bad[big] *= 1.01;
    v = check(r.g, bad, np);
    assert_true(v.worst > 1.0);
    assert_int_equal(v.at, big);

    /* a factor 2 on a middle-sized parameter only (a bias of the output layer) */
    size_t kb = np - 1;
    memcpy(bad, r.fd, np * sizeof(double));
    bad[kb] *= 2.0;
    v = check(r.g, bad, np);
    print_message("fd[%zu] * 2 (fd %.3g, largest %.3g): worst %.2fx\n", kb, r.fd[kb], r.fd[big], v.worst);
    assert_true(v.worst > 1.0);

    /* wrong activation derivative: numeric gradient of the tanh net */
    arch wrong = a;
    wrong.act[0] = MLPC_ACT_TANH;
    ref_grad(&wrong, r.p, r.x, NULL, r.targets, NROWS, bad);
    v = check(r.g, bad, np);
    print_message("other hidden derivative: worst %.2fx\n", v.worst);
    assert_true(v.worst > 1.0);

    /* and a factor 2 error in the loss (mse gradient against quadratic's, 3 outputs: 2/3) */
    arch quad = a;
    quad.loss = MLPC_LOSS_QUADRATIC;
    ref_grad(&quad, r.p, r.x, NULL, r.targets, NROWS, bad);
    v = check(r.g, bad, np);
    assert_true(v.worst > 1.0);

    free(bad);
    free_result(&r);
}

/* Categorical cross-entropy with softmax on targets that are not a
 * distribution (rows not summing to 1): the loss is still -sum y log a and
 * its gradient wrt z is a sum(y) - y, not a - y. */
static void test_cce_softmax_unnormalized_targets(void **state)
{
    (void)state;
    arch a = {2, {5, 4, 3}, {MLPC_ACT_TANH, MLPC_ACT_SOFTMAX}, MLPC_LOSS_CCE};
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    cfg.n_layers = 2;
    memcpy(cfg.sizes, a.sizes, sizeof a.sizes);
    memcpy(cfg.act, a.act, sizeof a.act);
    cfg.loss = a.loss;
    cfg.batch = NROWS;
    mlpc_net *net = mlpc_net_create(&cfg, NULL);
    mlpc_trainer *tr = mlpc_trainer_create(net, &cfg, NULL);
    assert_non_null(tr);
    size_t np = n_params(&a);
    float *params = mlpc_net_params(net);
    double *p = malloc(np * sizeof(double)), *fd = malloc(np * sizeof(double));
    assert_true(p && fd);
    float x[NROWS * 5], y[NROWS * 3];
    rs = 4242;
    for (size_t k = 0; k < np; k++) p[k] = params[k] = (float)(1.6 * urand() - 0.8);
    for (int i = 0; i < NROWS * 5; i++) x[i] = (float)(2 * urand() - 1);
    for (int i = 0; i < NROWS * 3; i++) y[i] = (float)(0.1 + urand()); /* rows sum to 0.3..3.3 */
    double loss;
    assert_int_equal(mlpc_trainer_gradient(tr, x, NULL, y, NROWS, &loss), MLPC_OK);
    double lref = ref_loss(&a, p, x, NULL, y, NROWS, NULL);
    assert_true(fabs(loss - lref) <= 1e-5 * fabs(lref));
    ref_grad(&a, p, x, NULL, y, NROWS, fd);
    verdict v = check(mlpc_trainer_grads(tr), fd, np);
    if (!(v.worst <= 1.0)) {
        char pn[64];
        param_name(&a, v.at, pn, sizeof pn);
        print_error("softmax+cce, unnormalized targets: parameter %zu (%s): analytic %.8g, numeric %.8g (%.2fx tol)\n",
                    v.at, pn, v.g, v.fd, v.worst);
    }
    assert_true(v.worst <= 1.0);
    free(p);
    free(fd);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
}

/* A batch of one row and a batch of the trainer's full size give the same
 * per-row gradient as the mean of single rows (the batch mean). */
static void test_batch_mean(void **state)
{
    (void)state;
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "4-3-2", NULL), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    cfg.batch = 4;
    mlpc_net *net = mlpc_net_create(&cfg, NULL);
    mlpc_trainer *tr = mlpc_trainer_create(net, &cfg, NULL);
    assert_non_null(tr);
    size_t np = mlpc_net_param_count(net);
    float x[16];
    int32_t lab[4] = {0, 1, 1, 0};
    rs = 99;
    for (int i = 0; i < 16; i++) x[i] = (float)(2 * urand() - 1);
    double *sum = calloc(np, sizeof(double)), loss, lsum = 0;
    assert_non_null(sum);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mlpc_trainer_gradient(tr, x + 4 * i, lab + i, NULL, 1, &loss), MLPC_OK);
        lsum += loss;
        for (size_t k = 0; k < np; k++) sum[k] += mlpc_trainer_grads(tr)[k] / 4.0;
    }
    assert_int_equal(mlpc_trainer_gradient(tr, x, lab, NULL, 4, &loss), MLPC_OK);
    assert_true(fabs(loss - lsum / 4) <= 1e-6 * fabs(loss));
    for (size_t k = 0; k < np; k++) assert_true(fabs(mlpc_trainer_grads(tr)[k] - sum[k]) <= 1e-6 + 1e-5 * fabs(sum[k]));
    free(sum);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_pairs),
        cmocka_unit_test(test_checker_detects_errors),
        cmocka_unit_test(test_grad_quadratic),
        cmocka_unit_test(test_grad_mse),
        cmocka_unit_test(test_grad_bce),
        cmocka_unit_test(test_grad_cce),
        cmocka_unit_test(test_cce_softmax_unnormalized_targets),
        cmocka_unit_test(test_batch_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
