/* test_train.c - the training loop through the public API: save -> load ->
 * identical predictions, resume equals an uninterrupted run, divergence
 * keeps the last good checkpoint, early stopping restores the best weights,
 * callbacks stop and change the rate, exact thread count, bad settings. */
#include "testutil.h"
#include "train/train.h" /* the trainer's counters */

#include <dirent.h>
#include <math.h>
#include <time.h>

#define NF 8
#define NC 3

/* three Gaussian blobs in NF dimensions */
static mlpc_dataset *blobs(int n, uint64_t seed)
{
    float *x = malloc(sizeof(float) * n * NF);
    int32_t *y = malloc(sizeof(int32_t) * n);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        y[i] = i % NC;
        for (int j = 0; j < NF; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            float u = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
            x[i * NF + j] = u + (j % NC == y[i] ? 1.0f : 0.0f);
        }
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays((size_t)n, NF, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    free(x);
    free(y);
    return d;
}

static void base_config(mlpc_config *c, mlpc_opt opt)
{
    mlpc_error err;
    mlpc_config_default(c);
    assert_int_equal(mlpc_config_set_layers(c, "8-16-12-3", &err), MLPC_OK);
    mlpc_config_set_acts(c, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    c->loss = MLPC_LOSS_CCE;
    c->opt = opt;
    c->lr = opt == MLPC_OPT_SGD ? 0.1f : 0.01f;
    c->momentum = opt == MLPC_OPT_SGD ? 0.9f : 0.0f;
    c->batch = 16;
    c->epochs = 6;
    c->seed = 42;
    c->norm = MLPC_NORM_STANDARD;
}

typedef struct run {
    mlpc_net *net;
    mlpc_trainer *tr;
    mlpc_dataset *train, *val;
} run;

static void run_open(run *r, const mlpc_config *c)
{
    mlpc_error err;
    r->train = blobs(200, 7);
    r->val = blobs(60, 99);
    r->net = mlpc_net_create(c, &err);
    assert_non_null(r->net);
    assert_int_equal(mlpc_net_fit_normalization(r->net, r->train, c->norm), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(r->net, r->train), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(r->net, r->val), MLPC_OK);
    r->tr = mlpc_trainer_create(r->net, c, &err);
    assert_non_null(r->tr);
    assert_int_equal(mlpc_trainer_set_data(r->tr, r->train, r->val, NULL), MLPC_OK);
}

static void run_close(run *r)
{
    mlpc_trainer_free(r->tr);
    mlpc_net_free(r->net);
    mlpc_dataset_free(r->train);
    mlpc_dataset_free(r->val);
}

static void test_learns(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM);
    run r;
    run_open(&r, &c);
    mlpc_epoch_stats first, st;
    assert_int_equal(mlpc_trainer_epoch(r.tr, &first), MLPC_OK);
    for (int e = 1; e < c.epochs; e++) assert_int_equal(mlpc_trainer_epoch(r.tr, &st), MLPC_OK);
    assert_true(st.loss < first.loss);
    assert_true(st.val_acc > 0.9);
    assert_int_equal(st.epoch, c.epochs);
    assert_true(isnan(st.test_acc));
    assert_true(st.samples_per_second > 0);
    run_close(&r);
}

static void test_save_load_predict(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_RMSPROP);
    run r;
    run_open(&r, &c);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    mlpc_error err;
    const char *path = tu_path("model.mlpc");
    assert_int_equal(mlpc_net_save(r.net, path, &err), MLPC_OK);
    mlpc_net *back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_int_equal(mlpc_net_norm_mode(back), MLPC_NORM_STANDARD);
    /* predict takes raw input: use fresh, un-normalized rows */
    mlpc_dataset *raw = blobs(50, 5);
    float p1[50 * NC], p2[50 * NC];
    assert_int_equal(mlpc_net_predict(r.net, mlpc_dataset_x(raw), 50, p1), MLPC_OK);
    assert_int_equal(mlpc_net_predict(back, mlpc_dataset_x(raw), 50, p2), MLPC_OK);
    assert_memory_equal(p1, p2, sizeof p1);
    /* evaluate on normalized data agrees too, and with 2 threads (rows are
     * split over threads, so the double loss sum may differ in the last bits) */
    mlpc_eval e1, e2;
    assert_int_equal(mlpc_net_evaluate(r.net, r.val, &e1), MLPC_OK);
    assert_int_equal(mlpc_net_set_threads(back, 2), MLPC_OK);
    assert_int_equal(mlpc_net_evaluate(back, r.val, &e2), MLPC_OK);
    assert_true(fabs(e1.loss - e2.loss) <= 1e-12 * fabs(e1.loss) && e1.acc == e2.acc);
    assert_non_null(mlpc_net_meta(back, "config"));
    assert_non_null(strstr(mlpc_net_meta(back, "config"), "\"opt\":\"rmsprop\""));
    mlpc_dataset_free(raw);
    mlpc_net_free(back);
    run_close(&r);
}

/* resume after k epochs must equal the uninterrupted run, bit for bit */
static void resume_equals(mlpc_opt opt, mlpc_sched sched, int es)
{
    mlpc_config c;
    base_config(&c, opt);
    c.sched = sched;
    c.es_patience = es;
    run a, b;
    run_open(&a, &c);
    assert_int_equal(mlpc_trainer_run(a.tr), MLPC_OK);

    const char *ck = tu_path("resume.ckpt");
    mlpc_config half = c;
    half.epochs = 3;
    run_open(&b, &half);
    mlpc_trainer_set_checkpoint(b.tr, ck);
    assert_int_equal(mlpc_trainer_run(b.tr), MLPC_OK);
    mlpc_trainer_free(b.tr);
    mlpc_net_free(b.net);
    /* a fresh process would start from a new net with the same config */
    mlpc_error err;
    b.net = mlpc_net_create(&c, &err);
    assert_int_equal(mlpc_net_fit_normalization(b.net, a.train, MLPC_NORM_NONE), MLPC_OK);
    b.tr = mlpc_trainer_create(b.net, &c, &err);
    assert_non_null(b.tr);
    assert_int_equal(mlpc_trainer_set_data(b.tr, b.train, b.val, NULL), MLPC_OK);
    assert_int_equal(mlpc_trainer_resume(b.tr, ck), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(b.tr), 3);
    assert_int_equal(mlpc_trainer_run(b.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(b.tr), mlpc_trainer_epochs_done(a.tr));
    assert_memory_equal(mlpc_net_params(a.net), mlpc_net_params(b.net),
                        mlpc_net_param_count(a.net) * sizeof(float));
    assert_true(mlpc_trainer_lr(a.tr) == mlpc_trainer_lr(b.tr));
    run_close(&a);
    run_close(&b);
}

static void test_resume_sgd_momentum(void **s) { (void)s; resume_equals(MLPC_OPT_SGD, MLPC_SCHED_STEP, 0); }
static void test_resume_adam_plateau(void **s) { (void)s; resume_equals(MLPC_OPT_ADAM, MLPC_SCHED_PLATEAU, 0); }
static void test_resume_rmsprop_es(void **s) { (void)s; resume_equals(MLPC_OPT_RMSPROP, MLPC_SCHED_EXPONENTIAL, 2); }

static void test_resume_mismatch(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM);
    c.epochs = 1;
    run r;
    run_open(&r, &c);
    const char *ck = tu_path("mismatch.ckpt");
    mlpc_trainer_set_checkpoint(r.tr, ck);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    run_close(&r);
    c.batch = 32;
    run_open(&r, &c);
    assert_int_equal(mlpc_trainer_resume(r.tr, ck), MLPC_ERR_ARG);
    assert_non_null(strstr(mlpc_trainer_error(r.tr)->msg, "batch 16"));
    assert_non_null(strstr(mlpc_trainer_error(r.tr)->msg, "mismatch.ckpt"));
    /* a plain model file is not a checkpoint */
    mlpc_error err;
    const char *plain = tu_path("plain.mlpc");
    assert_int_equal(mlpc_net_save(r.net, plain, &err), MLPC_OK);
    assert_int_equal(mlpc_trainer_resume(r.tr, plain), MLPC_ERR_FORMAT);
    run_close(&r);
}

/* after epoch 2 the callback sets an absurd rate: epoch 3 diverges */
static int poison(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    (void)user;
    if (e->epoch == 2) mlpc_trainer_set_lr(tr, 1e30f);
    return 0;
}

static void test_divergence_keeps_checkpoint(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_SGD);
    c.momentum = 0.0f;
    mlpc_config_set_acts(&c, MLPC_ACT_RELU, MLPC_ACT_LINEAR);
    c.loss = MLPC_LOSS_MSE;
    /* regression on the one-hot labels */
    mlpc_dataset *cls = blobs(200, 7);
    float *t = calloc(200 * NC, sizeof(float));
    for (int i = 0; i < 200; i++) t[i * NC + mlpc_dataset_labels(cls)[i]] = 1.0f;
    mlpc_error err;
    mlpc_dataset *reg = mlpc_dataset_from_arrays(200, NF, mlpc_dataset_x(cls), NULL, 0, t, NC, &err);
    assert_non_null(reg);
    mlpc_net *net = mlpc_net_create(&c, &err);
    mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
    assert_int_equal(mlpc_trainer_set_data(tr, reg, NULL, NULL), MLPC_OK);
    const char *ck = tu_path("div.ckpt");
    mlpc_trainer_set_checkpoint(tr, ck);
    mlpc_trainer_on_epoch(tr, poison, NULL);
    assert_int_equal(mlpc_trainer_run(tr), MLPC_ERR_DIVERGED);
    const char *msg = mlpc_trainer_error(tr)->msg;
    assert_non_null(strstr(msg, "epoch 3"));
    assert_true(strstr(msg, "NaN") || strstr(msg, "Inf"));
    /* the checkpoint holds epoch 2 and the net was rolled back to it */
    mlpc_net *back = mlpc_net_load(ck, &err);
    assert_non_null(back);
    assert_memory_equal(mlpc_net_params(back), mlpc_net_params(net), mlpc_net_param_count(net) * sizeof(float));
    for (size_t i = 0; i < mlpc_net_param_count(net); i++) assert_true(isfinite(mlpc_net_params(net)[i]));
    assert_int_equal(mlpc_trainer_epochs_done(tr), 2);
    mlpc_net_free(back);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    mlpc_dataset_free(reg);
    mlpc_dataset_free(cls);
    free(t);
}

static int poison_inf(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    (void)user;
    if (e->epoch == 2) mlpc_trainer_set_lr(tr, INFINITY);
    return 0;
}

/* one batch per epoch: the update that blows up is the epoch's last, so the
 * check at the end of the epoch must catch it (parameters, validation loss) */
static void test_divergence_in_last_update(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_SGD);
    c.momentum = 0.9f;
    c.batch = 256; /* > 200 rows */
    run r;
    run_open(&r, &c);
    const char *ck = tu_path("last.ckpt");
    mlpc_trainer_set_checkpoint(r.tr, ck);
    mlpc_trainer_on_epoch(r.tr, poison_inf, NULL);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_ERR_DIVERGED);
    assert_non_null(strstr(mlpc_trainer_error(r.tr)->msg, "epoch 3"));
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 2);
    mlpc_error err;
    mlpc_net *back = mlpc_net_load(ck, &err);
    assert_non_null(back);
    for (size_t i = 0; i < mlpc_net_param_count(back); i++) assert_true(isfinite(mlpc_net_params(back)[i]));
    assert_memory_equal(mlpc_net_params(back), mlpc_net_params(r.net), mlpc_net_param_count(back) * sizeof(float));
    /* rolled back with the optimizer state: a sane rate trains on */
    mlpc_trainer_set_lr(r.tr, 0.05f);
    mlpc_trainer_on_epoch(r.tr, NULL, NULL);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    mlpc_net_free(back);
    run_close(&r);
}

/* early stopping: after epoch 3 the rate turns negative (gradient ascent),
 * so the validation loss gets worse from epoch 4 on */
typedef struct es_probe {
    mlpc_net *net;
    float *params_at[16]; /* parameters after each epoch */
    size_t n;
} es_probe;

static int spoil(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    es_probe *p = user;
    memcpy(p->params_at[e->epoch], mlpc_net_params(p->net), p->n * sizeof(float));
    if (e->epoch == 3) mlpc_trainer_set_lr(tr, -0.5f);
    return 0;
}

static void test_early_stopping_restores_best(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_SGD);
    c.momentum = 0.0f;
    c.epochs = 12;
    c.es_patience = 2;
    c.es_metric = MLPC_METRIC_VAL_LOSS;
    run r;
    run_open(&r, &c);
    es_probe p;
    p.n = mlpc_net_param_count(r.net);
    p.net = r.net;
    for (int i = 1; i < 16; i++) p.params_at[i] = malloc(p.n * sizeof(float));
    mlpc_trainer_on_epoch(r.tr, spoil, &p);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_true(mlpc_trainer_stopped(r.tr));
    assert_non_null(strstr(mlpc_trainer_stop_reason(r.tr), "early stopping"));
    int done = mlpc_trainer_epochs_done(r.tr);
    assert_true(done < 12);
    /* the best epoch is the last one before the spoiled rate (3), or earlier */
    int best = -1; /* the first epoch whose parameters the net holds now */
    for (int e = 1; e <= done && best < 0; e++)
        if (memcmp(p.params_at[e], mlpc_net_params(r.net), p.n * sizeof(float)) == 0) best = e;
    assert_true(best >= 1 && best <= 3);
    for (int i = 1; i < 16; i++) free(p.params_at[i]);
    run_close(&r);
}

static int stop_after_3_batches(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (*(int *)user)++;
    assert_true(b->n_batches == 13);
    assert_true(isfinite(b->run_loss));
    return b->batch >= 3;
}

static void test_batch_callback_stops(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM);
    run r;
    run_open(&r, &c);
    int calls = 0;
    mlpc_trainer_on_batch(r.tr, stop_after_3_batches, 1, &calls);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(calls, 3);
    assert_true(mlpc_trainer_stopped(r.tr));
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 1);
    run_close(&r);
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int record_tasks(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    *(int *)user = count_tasks();
    return 0;
}

static void test_exact_threads(void **state)
{
    (void)state;
    int before = count_tasks();
    for (int t = 1; t <= 3; t++) {
        mlpc_config c;
        base_config(&c, MLPC_OPT_ADAM);
        c.threads = t;
        c.epochs = 1;
        run r;
        run_open(&r, &c);
        int seen = 0;
        mlpc_trainer_on_batch(r.tr, record_tasks, 5, &seen);
        assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
        /* the caller is thread 0: t compute threads add t-1 tasks */
        assert_int_equal(seen, before + t - 1);
        run_close(&r);
        /* a joined thread can stay listed in /proc for a moment after
         * pthread_join returns: wait until it is gone (guard 30 s) */
        for (int i = 0; i < 3000 && count_tasks() != before; i++) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        assert_int_equal(count_tasks(), before);
    }
}

static void test_deterministic_across_threads(void **state)
{
    (void)state;
    float *ref = NULL;
    size_t n = 0;
    for (int t = 1; t <= 2; t++) {
        mlpc_config c;
        base_config(&c, MLPC_OPT_ADAM);
        c.threads = t;
        c.batch = 200;
        mlpc_config_set_layers(&c, "8-300-200-3", NULL);
        mlpc_config_set_acts(&c, MLPC_ACT_RELU, MLPC_ACT_SOFTMAX);
        run r;
        run_open(&r, &c);
        assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
        n = mlpc_net_param_count(r.net);
        if (!ref) {
            ref = malloc(n * sizeof(float));
            memcpy(ref, mlpc_net_params(r.net), n * sizeof(float));
        } else {
            assert_memory_equal(ref, mlpc_net_params(r.net), n * sizeof(float));
        }
        run_close(&r);
    }
    free(ref);
}

static void test_bad_settings(void **state)
{
    (void)state;
    mlpc_error err;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM);
    c.batch = 0;
    assert_null(mlpc_net_create(&c, &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "batch 0"));
    base_config(&c, MLPC_OPT_ADAM);
    assert_int_equal(mlpc_config_set_layers(&c, "8-x-3", &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_config_set_layers(&c, "8--3", &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_config_set_layers(&c, "8", &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_config_set_layers(&c, "8-0-3", &err), MLPC_ERR_ARG);
    mlpc_act a;
    assert_int_equal(mlpc_act_parse("swish", &a), -1);
    assert_int_equal(mlpc_act_parse("relu", &a), 0);
    assert_int_equal(a, MLPC_ACT_RELU);
    /* softmax in a hidden layer */
    base_config(&c, MLPC_OPT_ADAM);
    mlpc_config_set_acts(&c, MLPC_ACT_SOFTMAX, MLPC_ACT_SOFTMAX);
    assert_null(mlpc_net_create(&c, &err));
    assert_non_null(strstr(err.msg, "softmax"));
    /* cce with a linear output */
    base_config(&c, MLPC_OPT_ADAM);
    mlpc_config_set_acts(&c, MLPC_ACT_TANH, MLPC_ACT_LINEAR);
    assert_null(mlpc_net_create(&c, &err));
    assert_non_null(strstr(err.msg, "cce"));
    /* data that does not fit the net */
    base_config(&c, MLPC_OPT_ADAM);
    mlpc_config_set_layers(&c, "7-4-3", &err);
    mlpc_net *net = mlpc_net_create(&c, &err);
    mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
    mlpc_dataset *d = blobs(30, 1);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_ERR_SHAPE);
    assert_non_null(strstr(mlpc_trainer_error(tr)->msg, "8 features"));
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    /* labels beyond the outputs */
    mlpc_config_set_layers(&c, "8-4-2", &err);
    net = mlpc_net_create(&c, &err);
    tr = mlpc_trainer_create(net, &c, &err);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_ERR_SHAPE);
    assert_non_null(strstr(mlpc_trainer_error(tr)->msg, "label 2"));
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    mlpc_dataset_free(d);
}

/* ---- byte rows and the fused update ------------------------------------ */

#define PF 200 /* "pixels": 200 x 40 weights span several L1 blocks of the fused update */

/* n rows of byte-valued features (0..255) and 3 classes */
static mlpc_dataset *pixels(int n, uint64_t seed)
{
    float *x = malloc(sizeof(float) * n * PF);
    int32_t *y = malloc(sizeof(int32_t) * n);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        y[i] = i % NC;
        for (int j = 0; j < PF; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int u = (int)((s >> 33) % 200) + (j % NC == y[i] ? 55 : 0);
            x[i * PF + j] = (float)u;
        }
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays((size_t)n, PF, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    free(x);
    free(y);
    return d;
}

static void pixel_config(mlpc_config *c, mlpc_opt opt, int batch)
{
    mlpc_error err;
    mlpc_config_default(c);
    assert_int_equal(mlpc_config_set_layers(c, "200-40-20-3", &err), MLPC_OK);
    mlpc_config_set_acts(c, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
    c->loss = MLPC_LOSS_CCE;
    c->opt = opt;
    c->lr = opt == MLPC_OPT_SGD ? 0.5f : 0.01f;
    c->momentum = opt == MLPC_OPT_SGD ? 0.9f : 0.0f;
    c->nesterov = opt == MLPC_OPT_SGD;
    c->l2 = 1e-3f;
    c->batch = batch;
    c->epochs = 2;
    c->seed = 3;
    c->norm = MLPC_NORM_SCALE;
}

/* a trainer on pixel data d (normalized in place with the first trainer
 * made for it); the normalization is fitted on the raw copy `raw`; byte
 * rows on or off */
static mlpc_trainer *pixel_trainer(const mlpc_config *c, const mlpc_dataset *raw, mlpc_dataset *d,
                                   int normalize, mlpc_net **net, int bytes)
{
    mlpc_error err;
    *net = mlpc_net_create(c, &err);
    assert_non_null(*net);
    assert_int_equal(mlpc_net_fit_normalization(*net, raw, c->norm), MLPC_OK);
    if (normalize) assert_int_equal(mlpc_net_normalize(*net, d), MLPC_OK);
    mlpc_trainer *tr = mlpc_trainer_create(*net, c, &err);
    assert_non_null(tr);
    mlpc_trainer_set_byte_rows(tr, bytes);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
    return tr;
}

/* byte rows are found on pixel data and give bit-identical training; they
 * are not used on data that is not bytes, nor when switched off */
static void test_byte_rows_exact(void **state)
{
    (void)state;
    mlpc_config c;
    pixel_config(&c, MLPC_OPT_ADAM, 10);
    mlpc_dataset *raw = pixels(250, 5), *d = pixels(250, 5);
    mlpc_net *na, *nb;
    mlpc_trainer *a = pixel_trainer(&c, raw, d, 1, &na, 1), *b = pixel_trainer(&c, raw, d, 0, &nb, 0);
    assert_int_equal(mlpc_trainer_byte_rows(a), 1);
    assert_int_equal(mlpc_trainer_byte_rows(b), 0);
    for (int e = 0; e < 2; e++) {
        mlpc_epoch_stats sa, sb;
        assert_int_equal(mlpc_trainer_epoch(a, &sa), MLPC_OK);
        assert_int_equal(mlpc_trainer_epoch(b, &sb), MLPC_OK);
        assert_memory_equal(&sa.loss, &sb.loss, sizeof sa.loss);
    }
    size_t np = mlpc_net_param_count(na);
    assert_memory_equal(mlpc_net_params(na), mlpc_net_params(nb), np * sizeof(float));
    /* switching on after set_data builds the copy too */
    mlpc_trainer_set_byte_rows(b, 1);
    assert_int_equal(mlpc_trainer_byte_rows(b), 1);
    mlpc_trainer_free(a);
    mlpc_trainer_free(b);
    mlpc_net_free(na);
    mlpc_net_free(nb);
    mlpc_dataset_free(d);
    mlpc_dataset_free(raw);
    /* Gaussian features are not bytes */
    run r;
    mlpc_config g;
    base_config(&g, MLPC_OPT_SGD);
    run_open(&r, &g);
    assert_int_equal(mlpc_trainer_byte_rows(r.tr), 0);
    run_close(&r);
}

/* the epoch loop updates each layer's parameters as soon as their
 * gradients are ready (in L1-sized blocks for small batches): the result is
 * bit for bit that of mlpc_trainer_step on the same batches, which computes
 * all gradients first and then updates */
static void fused_equals_steps(mlpc_opt opt, int batch)
{
    mlpc_config c;
    pixel_config(&c, opt, batch);
    c.shuffle = 0; /* batches in row order, as the manual loop takes them */
    mlpc_dataset *raw = pixels(230, 11), *d = pixels(230, 11);
    mlpc_net *na, *nb;
    mlpc_trainer *a = pixel_trainer(&c, raw, d, 1, &na, 1);
    assert_int_equal(mlpc_trainer_byte_rows(a), 1);
    mlpc_trainer *b = pixel_trainer(&c, raw, d, 0, &nb, 1);
    mlpc_epoch_stats st;
    assert_int_equal(mlpc_trainer_epoch(a, &st), MLPC_OK);
    const float *x = mlpc_dataset_x(d);
    const int32_t *y = mlpc_dataset_labels(d);
    double sum = 0.0;
    for (int lo = 0; lo < 230; lo += batch) {
        int m = 230 - lo < batch ? 230 - lo : batch;
        double loss;
        assert_int_equal(mlpc_trainer_step(b, x + (size_t)lo * PF, y + lo, NULL, m, &loss), MLPC_OK);
        sum += loss * m;
    }
    size_t np = mlpc_net_param_count(na);
    const float *pa = mlpc_net_params(na), *pb = mlpc_net_params(nb);
    for (size_t i = 0; i < np; i++)
        if (memcmp(&pa[i], &pb[i], sizeof(float))) {
            print_error("opt %d batch %d: parameter %zu is %.9g after the epoch, %.9g after the steps\n", (int)opt,
                        batch, i, (double)pa[i], (double)pb[i]);
            fail();
        }
    assert_true(fabs(st.loss - sum / 230) <= 1e-12 * fabs(st.loss));
    mlpc_trainer_free(a);
    mlpc_trainer_free(b);
    mlpc_net_free(na);
    mlpc_net_free(nb);
    mlpc_dataset_free(d);
    mlpc_dataset_free(raw);
}

static void test_fused_update_equals_steps(void **state)
{
    (void)state;
    static const mlpc_opt opts[] = {MLPC_OPT_SGD, MLPC_OPT_ADAM, MLPC_OPT_RMSPROP};
    for (int o = 0; o < 3; o++) {
        fused_equals_steps(opts[o], 10);  /* small batch: weight gradients in L1 blocks */
        fused_equals_steps(opts[o], 100); /* one block per layer */
    }
}

/* "strokes": each row is zero but for a window of 40 byte-valued columns
 * starting in the first 60, so a batch of 10 uses at most 100 of the 200
 * columns and the first layer skips the rest (kernels/sparse.c) */
static mlpc_dataset *strokes(int n, uint64_t seed)
{
    float *x = calloc((size_t)n * PF, sizeof(float));
    int32_t *y = malloc(sizeof(int32_t) * n);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        y[i] = i % NC;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int start = (int)((s >> 33) % 60);
        for (int j = start; j < start + 40; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i * PF + j] = (float)((int)((s >> 33) % 200) + (j % NC == y[i] ? 55 : 1));
        }
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays((size_t)n, PF, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    free(x);
    free(y);
    return d;
}

typedef struct grads_at {
    long batch;
    size_t np;
    float *g;
} grads_at;

static int copy_grads(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    grads_at *ga = user;
    if (b->batch == ga->batch) memcpy(ga->g, mlpc_trainer_grads(tr), ga->np * sizeof(float));
    return 0;
}

/* plain SGD at batch 10 on sparse rows: the backend does the step inside
 * the gradient pass, the first layer skips the columns that are zero in the
 * whole batch (kernels/sparse.c; 30 and 16 wide: the skipping update too,
 * 33 wide: the dense update), and the weight gradients are written only for
 * the batches a callback sees and the last one. Parameters after each
 * epoch, the gradients seen by the callback and those after the epoch are
 * all bit for bit those of mlpc_trainer_step on the same batches (233 rows:
 * the last batch is short). */
static void sparse_sgd_equals_steps(const char *layers, int B, int threads)
{
    enum { N = 233 };
    mlpc_config c;
    pixel_config(&c, MLPC_OPT_SGD, B);
    c.threads = threads;
    mlpc_error err;
    assert_int_equal(mlpc_config_set_layers(&c, layers, &err), MLPC_OK);
    c.momentum = 0.0f;
    c.nesterov = 0;
    c.l2 = 0.0f;
    c.lr = 3.0f;
    c.shuffle = 0;
    mlpc_dataset *raw = strokes(N, 7), *d = strokes(N, 7);
    mlpc_net *na, *nb;
    mlpc_trainer *a = pixel_trainer(&c, raw, d, 1, &na, 1);
    mlpc_trainer *b = pixel_trainer(&c, raw, d, 0, &nb, 1);
    const float *x = mlpc_dataset_x(d);
    const int32_t *y = mlpc_dataset_labels(d);
    size_t np = mlpc_net_param_count(na);
    grads_at ga = {5, np, calloc(np, sizeof(float))};
    float *gb5 = calloc(np, sizeof(float));
    mlpc_trainer_on_batch(a, copy_grads, 5, &ga);
    for (int e = 0; e < 2; e++) {
        mlpc_epoch_stats st;
        assert_int_equal(mlpc_trainer_epoch(a, &st), MLPC_OK);
        /* every batch of up to 64 rows took the skipping path (at most
         * 100 of 200 columns) */
        long small = 0;
        for (int lo = 0; lo < N; lo += B) small += (N - lo < B ? N - lo : B) <= 64;
        assert_int_equal(a->sparse_batches, (e + 1) * small);
        for (int lo = 0; lo < N; lo += B) {
            int m = N - lo < B ? N - lo : B;
            double loss;
            assert_int_equal(mlpc_trainer_step(b, x + (size_t)lo * PF, y + lo, NULL, m, &loss), MLPC_OK);
            if (lo / B + 1 == 5) memcpy(gb5, mlpc_trainer_grads(b), np * sizeof(float));
        }
        const float *pa = mlpc_net_params(na), *pb = mlpc_net_params(nb);
        for (size_t i = 0; i < np; i++)
            if (memcmp(&pa[i], &pb[i], sizeof(float))) {
                print_error("%s, epoch %d: parameter %zu is %.9g after the epoch, %.9g after the steps\n", layers,
                            e + 1, i, (double)pa[i], (double)pb[i]);
                fail();
            }
        assert_memory_equal(ga.g, gb5, np * sizeof(float));
        assert_memory_equal(mlpc_trainer_grads(a), mlpc_trainer_grads(b), np * sizeof(float));
    }
    free(ga.g);
    free(gb5);
    mlpc_trainer_free(a);
    mlpc_trainer_free(b);
    mlpc_net_free(na);
    mlpc_net_free(nb);
    mlpc_dataset_free(d);
    mlpc_dataset_free(raw);
}

static void test_sparse_sgd_equals_steps(void **state)
{
    (void)state;
    sparse_sgd_equals_steps("200-30-12-3", 10, 1);
    sparse_sgd_equals_steps("200-16-3", 10, 1);
    sparse_sgd_equals_steps("200-33-3", 10, 1);
    /* a batch over 64: the whole gradient, then the SGD step over threads */
    sparse_sgd_equals_steps("200-30-12-3", 100, 2);
    /* 2^18 weights and more on 2 threads: dense products, the fused step
     * in the gradient blocks split over the pool */
    sparse_sgd_equals_steps("200-1400-3", 10, 2);
}

/* a small batch on a layer with more than 2^18 weights: the fused update's
 * blocks are split over the threads, with the same bits as one thread */
static void test_fused_wide_layer_threads(void **state)
{
    (void)state;
    enum { N = 120, F = 600 };
    float *x = malloc(sizeof(float) * N * F);
    int32_t *y = malloc(sizeof(int32_t) * N);
    assert_non_null(x);
    assert_non_null(y);
    uint64_t r = 9;
    for (int i = 0; i < N * F; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((r >> 40) & 0xFFFF) / 65536.0f;
    }
    for (int i = 0; i < N; i++) y[i] = i % NC;
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays(N, F, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    float *params[2];
    for (int t = 0; t < 2; t++) {
        mlpc_config c;
        mlpc_config_default(&c);
        assert_int_equal(mlpc_config_set_layers(&c, "600-512-3", &err), MLPC_OK);
        mlpc_config_set_acts(&c, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
        c.loss = MLPC_LOSS_CCE;
        c.opt = MLPC_OPT_ADAM;
        c.lr = 0.01f;
        c.batch = 10;
        c.seed = 4;
        c.threads = t + 1;
        c.norm = MLPC_NORM_NONE;
        mlpc_net *net = mlpc_net_create(&c, &err);
        assert_non_null(net);
        mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
        assert_non_null(tr);
        assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
        mlpc_epoch_stats st;
        assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
        size_t np = mlpc_net_param_count(net);
        params[t] = malloc(np * sizeof(float));
        assert_non_null(params[t]);
        memcpy(params[t], mlpc_net_params(net), np * sizeof(float));
        if (t == 1) assert_memory_equal(params[0], params[1], np * sizeof(float));
        mlpc_trainer_free(tr);
        mlpc_net_free(net);
    }
    free(params[0]);
    free(params[1]);
    mlpc_dataset_free(d);
    free(x);
    free(y);
}

/* W2-like batches (m x inputs over 2^16 floats) are gathered by all
 * threads and the big weight gradients run the optimizer in each thread's
 * rows: parameters after an epoch are bit for bit those of one thread, for
 * byte-valued inputs (the 8-bit copy's gather) and for others (the float
 * rows' copy), with RMSprop and with plain SGD (its step fused there) */
static void wide_batch_threads_z(int bytes, mlpc_opt opt, int batch, mlpc_precision prec, int zero)
{
    enum { N = 450, F = 600 };
    float *x = malloc(sizeof(float) * N * F);
    int32_t *y = malloc(sizeof(int32_t) * N);
    assert_non_null(x);
    assert_non_null(y);
    uint64_t r = 11;
    for (int i = 0; i < N * F; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = bytes ? (float)(r >> 56) : (float)((r >> 40) & 0xFFFF) / 65536.0f; /* raw pixels or fractions */
        if (zero && (i % F < 200 || i % F % 7 < 2)) x[i] = 0.0f; /* the first k block and 2 of 7 after it */
    }
    for (int i = 0; i < N; i++) y[i] = i % NC;
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays(N, F, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    float *params[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    /* t = 3: 2 threads with the byte copy off, so the float rows are
     * gathered first, where byte rows are gathered by the first layer's
     * product block by block (mlpc_ctx_gather_input): the same bits */
    /* zero: unused columns, skipped by the first product of byte rows
     * (cpu.c, zc_list); t = 4: 2 threads with that off, the dense product;
     * t = 5: 1 thread with the update-chunks and pack-window knobs off (W
     * packed for bf16 after the whole layer's update; listed columns of the
     * weight gradient's A^T packed one by one) */
    int runs = zero ? 6 : bytes && prec == MLPC_PRECISION_FP32 ? 4 : 3;
    for (int t = 0; t < runs; t++) {
        if (t == 3 && !(bytes && prec == MLPC_PRECISION_FP32)) continue;
        mlpc_config c;
        mlpc_config_default(&c);
        assert_int_equal(mlpc_config_set_layers(&c, "600-120-40-3", &err), MLPC_OK);
        mlpc_config_set_acts(&c, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
        c.loss = MLPC_LOSS_CCE;
        c.opt = opt;
        c.lr = opt == MLPC_OPT_SGD ? 0.5f : 0.01f;
        c.momentum = 0.0f;
        c.batch = batch; /* 200: 200 x 600 floats, the last batch 50 rows; 300: the
                          * last two layers' gradients and all column sums in
                          * halves of the batch, the last batch 150 rows */
        c.precision = prec;
        c.seed = 5;
        c.threads = t < 3 ? t + 1 : t == 5 ? 1 : 2;
        mlpc_knob_set(MLPC_KNOB_ZERO_COLS, t != 4);
        mlpc_knob_set(MLPC_KNOB_UPDATE_CHUNKS, t != 5);
        mlpc_knob_set(MLPC_KNOB_PACK_WINDOW, t != 5);
        c.norm = bytes ? MLPC_NORM_SCALE : MLPC_NORM_NONE;
        mlpc_net *net = mlpc_net_create(&c, &err);
        assert_non_null(net);
        mlpc_trainer *tr = mlpc_trainer_create(net, &c, &err);
        assert_non_null(tr);
        if (bytes) {
            mlpc_net_fit_normalization(net, d, MLPC_NORM_SCALE);
            mlpc_net_normalize(net, d);
        }
        if (t == 3) mlpc_trainer_set_byte_rows(tr, 0);
        assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
        assert_int_equal(tr->byte_rows != NULL, bytes && t != 3); /* which gather */
        mlpc_epoch_stats st;
        for (int e = 0; e < 2; e++) assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
        size_t np = mlpc_net_param_count(net);
        params[t] = malloc(np * sizeof(float));
        assert_non_null(params[t]);
        memcpy(params[t], mlpc_net_params(net), np * sizeof(float));
        if (t) assert_memory_equal(params[0], params[t], np * sizeof(float));
        if (zero && t == 0) /* the skipping was used: the first layer's forward in bf16, or gathered */
            assert_true(prec == MLPC_PRECISION_BF16 ? tr->bf16_input_batches > 0 : tr->byte_rows != NULL);
        mlpc_trainer_free(tr);
        mlpc_net_free(net);
        if (bytes) { /* normalized in place: back to the raw values for the next run */
            mlpc_dataset_free(d);
            d = mlpc_dataset_from_arrays(N, F, x, y, NC, NULL, 0, &err);
            assert_non_null(d);
        }
    }
    mlpc_knob_set(MLPC_KNOB_ZERO_COLS, 1);
    mlpc_knob_set(MLPC_KNOB_UPDATE_CHUNKS, 1);
    mlpc_knob_set(MLPC_KNOB_PACK_WINDOW, 1);
    for (int t = 0; t < runs; t++) free(params[t]); /* NULL where skipped */
    mlpc_dataset_free(d);
    free(x);
    free(y);
}

static void wide_batch_threads(int bytes, mlpc_opt opt, int batch, mlpc_precision prec)
{
    wide_batch_threads_z(bytes, opt, batch, prec, 0);
}

static void test_wide_batch_threads(void **state)
{
    (void)state;
    wide_batch_threads(1, MLPC_OPT_RMSPROP, 200, MLPC_PRECISION_FP32);
    wide_batch_threads(0, MLPC_OPT_RMSPROP, 200, MLPC_PRECISION_FP32);
    wide_batch_threads(1, MLPC_OPT_SGD, 200, MLPC_PRECISION_FP32);
    wide_batch_threads(1, MLPC_OPT_RMSPROP, 300, MLPC_PRECISION_FP32);
    wide_batch_threads(0, MLPC_OPT_ADAM, 300, MLPC_PRECISION_FP32);
    wide_batch_threads(1, MLPC_OPT_SGD, 300, MLPC_PRECISION_FP32);
    /* half the columns zero in every row: W2's and W5's batch sizes */
    wide_batch_threads_z(1, MLPC_OPT_RMSPROP, 300, MLPC_PRECISION_FP32, 1);
    wide_batch_threads_z(1, MLPC_OPT_ADAM, 128, MLPC_PRECISION_FP32, 1);
    if (!mlpc_cpu_has_bf16()) {
        printf("SKIP test_wide_batch_threads (bf16): this CPU has no AVX512_BF16\n");
        return;
    }
    wide_batch_threads(1, MLPC_OPT_RMSPROP, 300, MLPC_PRECISION_BF16);
    wide_batch_threads(0, MLPC_OPT_RMSPROP, 200, MLPC_PRECISION_BF16);
    wide_batch_threads(1, MLPC_OPT_ADAM, 128, MLPC_PRECISION_BF16); /* W5's batch: the 600 x 120 layer split */
    wide_batch_threads_z(1, MLPC_OPT_ADAM, 128, MLPC_PRECISION_BF16, 1); /* zero pairs skipped */
    wide_batch_threads_z(1, MLPC_OPT_RMSPROP, 300, MLPC_PRECISION_BF16, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns),
        cmocka_unit_test(test_save_load_predict),
        cmocka_unit_test(test_resume_sgd_momentum),
        cmocka_unit_test(test_resume_adam_plateau),
        cmocka_unit_test(test_resume_rmsprop_es),
        cmocka_unit_test(test_resume_mismatch),
        cmocka_unit_test(test_divergence_keeps_checkpoint),
        cmocka_unit_test(test_divergence_in_last_update),
        cmocka_unit_test(test_early_stopping_restores_best),
        cmocka_unit_test(test_batch_callback_stops),
        cmocka_unit_test(test_exact_threads),
        cmocka_unit_test(test_deterministic_across_threads),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_byte_rows_exact),
        cmocka_unit_test(test_fused_update_equals_steps),
        cmocka_unit_test(test_fused_wide_layer_threads),
        cmocka_unit_test(test_wide_batch_threads),
        cmocka_unit_test(test_sparse_sgd_equals_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
