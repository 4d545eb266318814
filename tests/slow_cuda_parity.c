/* slow_cuda_parity.c - the device training path against the CPU backend.
 *
 * Two targets run the same checks:
 *   gpu   the real plugin (build/libmlpc_cuda.so, or $MLPC_CUDA_PLUGIN) on
 *         cuda:0; without a usable GPU (CI) its tests are skipped and the
 *         program prints "skipped: no GPU (<reason>)";
 *   fake  the stand-in plugin (build/tests/fake_cuda_onegpu.so), whose
 *         sessions compute on the CPU with plain loops through the same
 *         protocol: the trainer's device path (state in and out, the row
 *         order, runs of batches between callbacks, evaluation, divergence)
 *         is checked on every machine.
 * Checks, per target:
 *   - W1-shaped (784-30-10 sigmoid, quadratic, SGD lr 3, batch 10) and
 *     W2-shaped (784-200-100-50-30-10 sigmoid/softmax, cce, RMSprop, batch
 *     1500) first-epoch loss within 1e-3 relative of the CPU (MNIST when
 *     present, else MNIST-shaped synthetic data; the fake target uses fewer
 *     rows for time);
 *   - per-layer gradients (W and b of every layer) of one batch within 1e-4
 *     relative (L2 norm) for each activation and loss, targets and labels;
 *   - every optimizer (sgd, momentum, nesterov, rmsprop, adam, L2) over two
 *     epochs: parameters within 1e-4 relative;
 *   - evaluation and prediction on the device equal the CPU's;
 *   - gpu only: graph replay gives the same bits as direct launches, and the
 *     W1 epoch time with and without graphs is printed; a capture made to fail
 *     (MLPC_CUDA_GRAPHS=fail) falls back to direct launches with a note and
 *     the same bits. */
#include "testutil.h"

#include "backend/device.h"
#include "train/train.h"

#include <limits.h>
#include <math.h>

typedef struct target {
    const char *name;
    char plugin[PATH_MAX + 64];
    int ok;
    char why[800];
    int small; /* fewer rows: the fake computes with naive loops */
} target;

static target T_GPU = {"gpu", "", 0, "", 0}, T_FAKE = {"fake", "", 0, "", 1};

static const char *beside(const char *name, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(out, cap, "%s/%s", exe, name);
    return out;
}

static void use(const target *t) { setenv("MLPC_CUDA_PLUGIN", t->plugin, 1); }

static void probe_target(target *t)
{
    if (access(t->plugin, R_OK) != 0) {
        snprintf(t->why, sizeof t->why, "no plugin at %.700s", t->plugin);
        return;
    }
    use(t);
    mlpc_device want = {MLPC_DEVICE_CUDA, 0}, got;
    mlpc_error e;
    mlpc_clearerr(&e);
    t->ok = mlpc_device_select(&want, &got, t->why, sizeof t->why, &e) == MLPC_OK;
    if (!t->ok) snprintf(t->why, sizeof t->why, "%s", e.msg);
}

/* ---- data ------------------------------------------------------------------------ */

static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* MNIST-shaped: 784 byte-valued pixels, mostly 0, labels from a random teacher */
static mlpc_dataset *synth_mnist(size_t n)
{
    float *x = malloc(n * 784 * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    float *teach = malloc(784 * 10 * sizeof(float));
    assert_true(x && y && teach);
    for (size_t i = 0; i < 784 * 10; i++) teach[i] = (float)(urand() - 0.5);
    for (size_t i = 0; i < n; i++) {
        float s[10] = {0};
        for (int j = 0; j < 784; j++) {
            float v = urand() < 0.2 ? (float)(int)(urand() * 256) : 0.0f;
            x[i * 784 + j] = v;
            for (int k = 0; k < 10; k++) s[k] += v * teach[j * 10 + k];
        }
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (s[k] > s[best]) best = k;
        y[i] = best;
    }
    mlpc_error e;
    mlpc_dataset *d = mlpc_dataset_from_arrays(n, 784, x, y, 10, NULL, 0, &e);
    assert_non_null(d);
    free(x);
    free(y);
    free(teach);
    return d;
}

static mlpc_dataset *mnist_or_synth(size_t n, int test)
{
    const char *dir = tu_mnist_dir();
    if (dir) {
        char a[600], b[600];
        snprintf(a, sizeof a, "%s/%s-images-idx3-ubyte", dir, test ? "t10k" : "train");
        snprintf(b, sizeof b, "%s/%s-labels-idx1-ubyte", dir, test ? "t10k" : "train");
        mlpc_error e;
        mlpc_dataset *d = mlpc_dataset_load_idx(a, b, &e);
        if (d && mlpc_dataset_rows(d) > n) {
            mlpc_dataset *s = mlpc_dataset_slice(d, 0, n, &e);
            mlpc_dataset_free(d);
            d = s;
        }
        if (d) return d;
    }
    return synth_mnist(n);
}

/* a small regression or classification set for the optimizer and gradient checks */
static mlpc_dataset *small_set(size_t n, int n_in, int n_out, int classify)
{
    float *x = malloc(n * (size_t)n_in * sizeof(float));
    float *t = malloc(n * (size_t)n_out * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int j = 0; j < n_in; j++) {
            x[i * n_in + j] = (float)(urand() * 2 - 1);
            s += x[i * n_in + j] * (float)(j % 3 - 1);
        }
        for (int k = 0; k < n_out; k++) t[i * n_out + k] = (float)(0.5 * sin(s + k) + 0.1 * urand());
        y[i] = (int32_t)(urand() * n_out);
        if (s > 0.3) y[i] = 0;
    }
    mlpc_error e;
    mlpc_dataset *d = classify ? mlpc_dataset_from_arrays(n, (size_t)n_in, x, y, n_out, NULL, 0, &e)
                               : mlpc_dataset_from_arrays(n, (size_t)n_in, x, NULL, 0, t, (size_t)n_out, &e);
    assert_non_null(d);
    free(x);
    free(t);
    free(y);
    return d;
}

/* ---- helpers -------------------------------------------------------------------------- */

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-30 ? fabs(b) : 1e-30); }

static double rel_norm(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

typedef struct run {
    mlpc_net *net;
    mlpc_trainer *tr;
} run;

/* a net and trainer for cfg on (normalized) train/val; on the device when dev */
static run make_run(const mlpc_config *cfg, mlpc_dataset *train, mlpc_dataset *val, int dev)
{
    mlpc_error e;
    run r;
    r.net = mlpc_net_create(cfg, &e);
    if (!r.net) fail_msg("%s", e.msg);
    r.tr = mlpc_trainer_create(r.net, cfg, &e);
    if (!r.tr) fail_msg("%s", e.msg);
    assert_int_equal(mlpc_trainer_set_data(r.tr, train, val, NULL), MLPC_OK);
    if (dev) {
        mlpc_device d = {MLPC_DEVICE_CUDA, 0};
        if (mlpc_trainer_set_device(r.tr, &d, 0)) fail_msg("set_device: %s", mlpc_trainer_error(r.tr)->msg);
    }
    return r;
}

static void free_run(run *r)
{
    mlpc_trainer_free(r->tr);
    mlpc_net_free(r->net);
}

static void normalize(mlpc_dataset *train, mlpc_dataset *val, const mlpc_config *cfg)
{
    mlpc_error e;
    mlpc_net *n = mlpc_net_create(cfg, &e);
    assert_non_null(n);
    assert_int_equal(mlpc_net_fit_normalization(n, train, MLPC_NORM_SCALE), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(n, train), MLPC_OK);
    if (val) assert_int_equal(mlpc_net_normalize(n, val), MLPC_OK);
    mlpc_net_free(n);
}

/* ---- first epoch of W1 and W2 -------------------------------------------------------------- */

static void first_epoch(const target *t, const char *what, mlpc_config *cfg, size_t rows, size_t val_rows)
{
    mlpc_dataset *train = mnist_or_synth(rows, 0), *val = mnist_or_synth(val_rows, 1);
    normalize(train, val, cfg);
    mlpc_epoch_stats sc, sd;
    run c = make_run(cfg, train, val, 0), d = make_run(cfg, train, val, 1);
    assert_int_equal(mlpc_trainer_epoch(c.tr, &sc), MLPC_OK);
    if (mlpc_trainer_epoch(d.tr, &sd)) fail_msg("device epoch: %s", mlpc_trainer_error(d.tr)->msg);
    printf("    %s %s, %zu rows: loss cpu %.7f %s %.7f (rel %.2e), val_loss %.7f vs %.7f, acc %.4f vs %.4f, "
           "epoch %.3fs vs %.3fs\n",
           t->name, what, rows, sc.loss, t->name, sd.loss, rel(sd.loss, sc.loss), sc.val_loss, sd.val_loss, sc.acc,
           sd.acc, sc.epoch_seconds, sd.epoch_seconds);
    if (rel(sd.loss, sc.loss) > 1e-3) fail_msg("%s: first-epoch loss %.7f vs cpu %.7f", what, sd.loss, sc.loss);
    if (rel(sd.val_loss, sc.val_loss) > 1e-3) fail_msg("%s: val_loss %.7f vs cpu %.7f", what, sd.val_loss, sc.val_loss);
    if (fabs(sd.acc - sc.acc) > 0.005) fail_msg("%s: acc %.4f vs cpu %.4f", what, sd.acc, sc.acc);
    assert_true(rel_norm(d.net->params, c.net->params, c.net->n_params) < 1e-2);
    free_run(&c);
    free_run(&d);
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
}

static void test_w1(void **state)
{
    target *t = *state;
    if (!t->ok) skip();
    use(t);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "784-30-10", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID);
    cfg.loss = MLPC_LOSS_QUADRATIC;
    cfg.opt = MLPC_OPT_SGD;
    cfg.lr = 3.0f;
    cfg.batch = 10;
    first_epoch(t, "W1 784-30-10 sgd batch 10", &cfg, t->small ? 2000 : 50000, t->small ? 500 : 10000);
}

static void test_w2(void **state)
{
    target *t = *state;
    if (!t->ok) skip();
    use(t);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "784-200-100-50-30-10", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
    cfg.loss = MLPC_LOSS_CCE;
    cfg.opt = MLPC_OPT_RMSPROP;
    cfg.batch = 1500;
    first_epoch(t, "W2 784-200-100-50-30-10 rmsprop batch 1500", &cfg, t->small ? 3100 : 60000,
                t->small ? 500 : 10000);
}

/* ---- gradients per layer --------------------------------------------------------------------- */

static void grads_case(const target *t, const char *layers, mlpc_act hid, mlpc_act out, mlpc_loss loss, int classify)
{
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, layers, &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, hid, out);
    cfg.loss = loss;
    cfg.batch = 37;
    int L = cfg.n_layers;
    mlpc_dataset *d = small_set(100, cfg.sizes[0], cfg.sizes[L], classify);
    run c = make_run(&cfg, d, NULL, 0), g = make_run(&cfg, d, NULL, 1);
    size_t np = c.net->n_params;
    float *gd = malloc(np * sizeof(float));
    double lc, lg;
    int m = 37;
    const int32_t *lab = mlpc_dataset_labels(d);
    const float *tg = mlpc_dataset_targets(d);
    assert_int_equal(mlpc_trainer_gradient(c.tr, mlpc_dataset_x(d), lab, tg, m, &lc), MLPC_OK);
    if (mlpc_trainer_device_gradient(g.tr, mlpc_dataset_x(d), lab, tg, m, gd, &lg))
        fail_msg("device gradient: %s", mlpc_trainer_error(g.tr)->msg);
    const float *gc = mlpc_trainer_grads(c.tr);
    printf("    %s %s %s/%s %s: loss %.7g vs %.7g;", t->name, layers, mlpc_act_name(hid), mlpc_act_name(out),
           mlpc_loss_name(loss), lc, lg);
    int bad = rel(lg, lc) > 1e-5;
    for (int l = 0; l < L; l++) {
        size_t w0 = c.net->w_off[l], b0 = c.net->b_off[l], nb = (size_t)cfg.sizes[l + 1];
        double rw = rel_norm(gd + w0, gc + w0, b0 - w0), rb = rel_norm(gd + b0, gc + b0, nb);
        printf(" layer %d W %.1e b %.1e;", l + 1, rw, rb);
        bad |= rw > 1e-4 || rb > 1e-4;
    }
    printf("\n");
    if (bad) fail_msg("%s %s/%s %s: gradients differ from the CPU", layers, mlpc_act_name(hid), mlpc_act_name(out),
                      mlpc_loss_name(loss));
    free(gd);
    free_run(&c);
    free_run(&g);
    mlpc_dataset_free(d);
}

static void test_gradients(void **state)
{
    target *t = *state;
    if (!t->ok) skip();
    use(t);
    grads_case(t, "6-9-4", MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID, MLPC_LOSS_QUADRATIC, 1);
    grads_case(t, "6-9-7-4", MLPC_ACT_RELU, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, 1);
    grads_case(t, "6-9-7-4", MLPC_ACT_TANH, MLPC_ACT_SIGMOID, MLPC_LOSS_BCE, 1);
    grads_case(t, "5-8-3", MLPC_ACT_LEAKY_RELU, MLPC_ACT_LINEAR, MLPC_LOSS_MSE, 0);
    grads_case(t, "5-8-3", MLPC_ACT_TANH, MLPC_ACT_TANH, MLPC_LOSS_QUADRATIC, 0);
    grads_case(t, "5-40-3", MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX, MLPC_LOSS_MSE, 0);   /* softmax, not fused */
    grads_case(t, "5-8-3", MLPC_ACT_LINEAR, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, 0);     /* targets: sum y != 1 */
    grads_case(t, "6-70-40", MLPC_ACT_RELU, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, 1);     /* rows wider than a warp */
}

/* ---- optimizers ---------------------------------------------------------------------------------- */

static void opt_case(const target *t, const char *what, mlpc_opt opt, float lr, float mom, int nesterov, float l2)
{
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "5-16-8-3", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_LINEAR);
    cfg.loss = MLPC_LOSS_MSE;
    cfg.opt = opt;
    cfg.lr = lr;
    cfg.momentum = mom;
    cfg.nesterov = nesterov;
    cfg.l2 = l2;
    cfg.batch = 32;
    mlpc_dataset *d = small_set(250, 5, 3, 0); /* 8 batches, the last of 26 rows */
    run c = make_run(&cfg, d, NULL, 0), g = make_run(&cfg, d, NULL, 1);
    mlpc_epoch_stats sc, sg;
    for (int ep = 0; ep < 2; ep++) {
        assert_int_equal(mlpc_trainer_epoch(c.tr, &sc), MLPC_OK);
        if (mlpc_trainer_epoch(g.tr, &sg)) fail_msg("device epoch: %s", mlpc_trainer_error(g.tr)->msg);
    }
    size_t np = c.net->n_params;
    double rp = rel_norm(g.net->params, c.net->params, np);
    double rm = rel_norm(g.tr->m, c.tr->m, np), rv = rel_norm(g.tr->v, c.tr->v, np);
    printf("    %s %s: params %.1e, m %.1e, v %.1e, loss %.7g vs %.7g, steps %ld vs %ld\n", t->name, what, rp, rm, rv,
           sc.loss, sg.loss, c.tr->step, g.tr->step);
    assert_int_equal(g.tr->step, c.tr->step);
    if (rp > 1e-4 || rm > 1e-4 || rv > 1e-4 || rel(sg.loss, sc.loss) > 1e-4) fail_msg("%s differs from the CPU", what);
    free_run(&c);
    free_run(&g);
    mlpc_dataset_free(d);
}

static void test_optimizers(void **state)
{
    target *t = *state;
    if (!t->ok) skip();
    use(t);
    opt_case(t, "sgd", MLPC_OPT_SGD, 0.05f, 0.0f, 0, 0.0f);
    opt_case(t, "sgd l2", MLPC_OPT_SGD, 0.05f, 0.0f, 0, 0.01f);
    opt_case(t, "momentum", MLPC_OPT_SGD, 0.05f, 0.9f, 0, 0.0f);
    opt_case(t, "nesterov l2", MLPC_OPT_SGD, 0.05f, 0.9f, 1, 0.001f);
    opt_case(t, "rmsprop", MLPC_OPT_RMSPROP, 0.001f, 0.0f, 0, 0.0f);
    opt_case(t, "rmsprop l2", MLPC_OPT_RMSPROP, 0.001f, 0.0f, 0, 0.01f);
    opt_case(t, "adam", MLPC_OPT_ADAM, 0.001f, 0.0f, 0, 0.0f);
    opt_case(t, "adam l2", MLPC_OPT_ADAM, 0.001f, 0.0f, 0, 0.001f);
}

/* ---- callbacks, divergence, evaluation and prediction --------------------------------------------- */

static int stop_at_5(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (void)tr;
    int *calls = user;
    (*calls)++;
    return b->batch >= 5;
}

static void test_loop(void **state)
{
    target *t = *state;
    if (!t->ok) skip();
    use(t);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "6-12-4", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_RELU, MLPC_ACT_SOFTMAX);
    cfg.loss = MLPC_LOSS_CCE;
    cfg.opt = MLPC_OPT_ADAM;
    cfg.batch = 16;
    mlpc_dataset *d = small_set(300, 6, 4, 1), *v = small_set(70, 6, 4, 1);
    /* a batch callback every 2 batches stopping at batch 5: the same on both */
    run c = make_run(&cfg, d, v, 0), g = make_run(&cfg, d, v, 1);
    int cc = 0, cg = 0;
    mlpc_trainer_on_batch(c.tr, stop_at_5, 2, &cc);
    mlpc_trainer_on_batch(g.tr, stop_at_5, 2, &cg);
    mlpc_epoch_stats sc, sg;
    assert_int_equal(mlpc_trainer_epoch(c.tr, &sc), MLPC_OK);
    assert_int_equal(mlpc_trainer_epoch(g.tr, &sg), MLPC_OK);
    assert_int_equal(cc, cg);
    assert_int_equal(g.tr->step, c.tr->step);
    assert_true(mlpc_trainer_stopped(g.tr));
    assert_true(rel(sg.loss, sc.loss) < 1e-5);
    assert_true(rel(sg.val_loss, sc.val_loss) < 1e-5);
    assert_true(fabs(sg.val_acc - sc.val_acc) < 1e-9);
    /* evaluation and prediction through a net on the device */
    mlpc_device dev = {MLPC_DEVICE_CUDA, 0};
    mlpc_eval ec, eg;
    assert_int_equal(mlpc_net_evaluate(c.net, v, &ec), MLPC_OK);
    assert_int_equal(mlpc_net_set_device(c.net, &dev, 0), MLPC_OK);
    assert_int_equal(mlpc_net_evaluate(c.net, v, &eg), MLPC_OK);
    printf("    %s eval: loss %.9g vs %.9g, acc %.4f vs %.4f\n", t->name, ec.loss, eg.loss, ec.acc, eg.acc);
    assert_true(rel(eg.loss, ec.loss) < 1e-5);
    assert_true(fabs(eg.acc - ec.acc) < 1e-9);
    float pc[70 * 4], pg[70 * 4];
    assert_int_equal(mlpc_net_set_device(c.net, NULL, 0), MLPC_OK); /* back to the CPU */
    assert_int_equal(mlpc_net_predict(c.net, mlpc_dataset_x(v), 70, pc), MLPC_OK);
    assert_int_equal(mlpc_net_set_device(c.net, &dev, 0), MLPC_OK);
    assert_int_equal(mlpc_net_predict(c.net, mlpc_dataset_x(v), 70, pg), MLPC_OK);
    assert_true(rel_norm(pg, pc, 70 * 4) < 1e-5);
    /* the memory cap of a net */
    assert_int_equal(mlpc_net_set_device(c.net, &dev, 1024), MLPC_ERR_ARG);
    assert_non_null(strstr(mlpc_net_error(c.net)->msg, "--gpu-memory-limit"));
    free_run(&c);
    free_run(&g);

    /* divergence: lr 1e30 makes the loss infinite; the epoch is rolled back on both */
    cfg.opt = MLPC_OPT_SGD;
    cfg.lr = 1e30f;
    c = make_run(&cfg, d, v, 0);
    g = make_run(&cfg, d, v, 1);
    float *p0 = malloc(c.net->n_params * sizeof(float));
    memcpy(p0, g.net->params, c.net->n_params * sizeof(float));
    assert_int_equal(mlpc_trainer_epoch(c.tr, &sc), MLPC_ERR_DIVERGED);
    assert_int_equal(mlpc_trainer_epoch(g.tr, &sg), MLPC_ERR_DIVERGED);
    printf("    %s divergence: cpu \"%s\", %s \"%s\"\n", t->name, mlpc_trainer_error(c.tr)->msg, t->name,
           mlpc_trainer_error(g.tr)->msg);
    assert_int_equal(memcmp(p0, g.net->params, c.net->n_params * sizeof(float)), 0);
    assert_int_equal(g.tr->step, 0);
    assert_int_equal(mlpc_trainer_epochs_done(g.tr), 0);
    free(p0);
    free_run(&c);
    free_run(&g);
    mlpc_dataset_free(d);
    mlpc_dataset_free(v);
}

/* gpu: replayed graphs compute the same bits as direct launches; timing of W1 */
static void test_graphs(void **state)
{
    target *t = *state;
    if (!t->ok || t->small) skip();
    use(t);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "784-30-10", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID);
    cfg.loss = MLPC_LOSS_QUADRATIC;
    cfg.lr = 3.0f;
    cfg.batch = 10;
    mlpc_dataset *d = mnist_or_synth(50000, 0);
    normalize(d, NULL, &cfg);
    /* graphs, direct launches, and a capture made to fail (MLPC_CUDA_GRAPHS=fail:
     * the session falls back to direct launches with a note) */
    static const char *const mode[3] = {"1", "0", "fail"};
    double secs[3];
    float *params[3];
    char note[512] = "";
    for (int k = 0; k < 3; k++) {
        setenv("MLPC_CUDA_GRAPHS", mode[k], 1);
        run g = make_run(&cfg, d, NULL, 1);
        mlpc_epoch_stats s;
        assert_int_equal(mlpc_trainer_epoch(g.tr, &s), MLPC_OK);
        assert_int_equal(mlpc_trainer_epoch(g.tr, &s), MLPC_OK);
        secs[k] = s.epoch_seconds;
        params[k] = malloc(g.net->n_params * sizeof(float));
        memcpy(params[k], g.net->params, g.net->n_params * sizeof(float));
        size_t np = g.net->n_params;
        if (k < 2) assert_string_equal(mlpc_trainer_device_note(g.tr), "");
        else snprintf(note, sizeof note, "%s", mlpc_trainer_device_note(g.tr));
        free_run(&g);
        if (k) assert_int_equal(memcmp(params[0], params[k], np * sizeof(float)), 0);
    }
    unsetenv("MLPC_CUDA_GRAPHS");
    printf("    gpu W1 epoch 2 (5000 batches of 10): %.3fs with CUDA graphs, %.3fs launching each kernel "
           "(%.1f vs %.1f us per step); same parameters bit for bit\n",
           secs[0], secs[1], secs[0] / 5000 * 1e6, secs[1] / 5000 * 1e6);
    printf("    gpu forced capture failure: %.3fs, same parameters bit for bit; note: %s\n", secs[2], note);
    if (!strstr(note, "CUDA graph failed")) fail_msg("a failed capture left no note: \"%s\"", note);
    free(params[0]);
    free(params[1]);
    free(params[2]);
    mlpc_dataset_free(d);
}

int main(void)
{
    const char *env = getenv("MLPC_CUDA_PLUGIN");
    if (env && *env)
        snprintf(T_GPU.plugin, sizeof T_GPU.plugin, "%s", env);
    else
        beside("../libmlpc_cuda.so", T_GPU.plugin, sizeof T_GPU.plugin);
    beside("fake_cuda_onegpu.so", T_FAKE.plugin, sizeof T_FAKE.plugin);
    probe_target(&T_GPU);
    probe_target(&T_FAKE);
    if (!T_GPU.ok) printf("skipped: no GPU (%s)\n", T_GPU.why);
    else printf("GPU: %s\n", T_GPU.why);
    if (!T_FAKE.ok) printf("the stand-in plugin is missing (%s): make tests\n", T_FAKE.why);
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        {"gpu: gradients per layer", test_gradients, NULL, NULL, &T_GPU},
        {"gpu: optimizers", test_optimizers, NULL, NULL, &T_GPU},
        {"gpu: callbacks, divergence, eval, predict", test_loop, NULL, NULL, &T_GPU},
        {"gpu: W1 first epoch", test_w1, NULL, NULL, &T_GPU},
        {"gpu: W2 first epoch", test_w2, NULL, NULL, &T_GPU},
        {"gpu: graphs", test_graphs, NULL, NULL, &T_GPU},
        {"fake: gradients per layer", test_gradients, NULL, NULL, &T_FAKE},
        {"fake: optimizers", test_optimizers, NULL, NULL, &T_FAKE},
        {"fake: callbacks, divergence, eval, predict", test_loop, NULL, NULL, &T_FAKE},
        {"fake: W1 first epoch", test_w1, NULL, NULL, &T_FAKE},
        {"fake: W2 first epoch", test_w2, NULL, NULL, &T_FAKE},
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
