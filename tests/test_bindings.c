/* test_bindings.c - the binding API of mlpc.h ("bindings"): the version,
 * predict on a const net with a workspace (equal to mlpc_net_predict bit
 * for bit, from several threads at once), models in memory (the file's
 * bytes, every damaged buffer rejected), datasets over strided arrays,
 * and interrupting training from another thread. Public API, but for one
 * counter of the trainer. */
#include "testutil.h"
#include "train/train.h" /* the trainer's sparse-batch counter */

#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#define NF 8
#define NC 3

/* ---------------------------------------------------------------- helpers */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 40;
}

/* n rows of raw features (NF, shifted and scaled so normalization matters)
 * at row stride `stride` >= NF; the gaps hold NaN, which must never be read */
static float *raw_rows(size_t n, size_t stride, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (n ? n : 1) * stride);
    assert_non_null(x);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < stride; j++)
            x[i * stride + j] = j < NF ? 40.0f + 25.0f * ((float)lcg(&s) / 16777216.0f) + (float)j : NAN;
    return x;
}

/* three Gaussian blobs in NF dimensions (as test_train.c); sparse: the
 * last half of the columns is 0 (the trainer's sparse first layer) */
static mlpc_dataset *blobs_of(int n, uint64_t seed, int sparse)
{
    float *x = malloc(sizeof(float) * n * NF);
    int32_t *y = malloc(sizeof(int32_t) * n);
    assert_non_null(x);
    assert_non_null(y);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        y[i] = i % NC;
        for (int j = 0; j < NF; j++)
            x[i * NF + j] = sparse && j >= NF / 2 ? 0.0f
                                                  : (float)lcg(&s) / 16777216.0f - 0.5f + (j % NC == y[i] ? 1.0f : 0.0f);
    }
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays((size_t)n, NF, x, y, NC, NULL, 0, &err);
    assert_non_null(d);
    free(x);
    free(y);
    return d;
}

static void base_config(mlpc_config *c, mlpc_opt opt, const char *layers)
{
    mlpc_error err;
    mlpc_config_default(c);
    assert_int_equal(mlpc_config_set_layers(c, layers, &err), MLPC_OK);
    mlpc_config_set_acts(c, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    c->loss = MLPC_LOSS_CCE;
    c->opt = opt;
    c->lr = opt == MLPC_OPT_SGD ? 0.1f : 0.01f;
    c->batch = 16;
    c->epochs = 3;
    c->seed = 42;
    c->norm = MLPC_NORM_STANDARD;
}

/* a net of `layers` with standard normalization fitted on raw rows */
static mlpc_net *make_net(const char *layers, mlpc_norm norm)
{
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM, layers);
    mlpc_error err;
    mlpc_net *net = mlpc_net_create(&c, &err);
    assert_non_null(net);
    float *x = raw_rows(200, NF, 7);
    mlpc_dataset *d = mlpc_dataset_from_arrays(200, NF, x, NULL, 0, NULL, 0, &err);
    assert_non_null(d);
    assert_int_equal(mlpc_net_fit_normalization(net, d, norm), MLPC_OK);
    mlpc_dataset_free(d);
    free(x);
    return net;
}

/* rows of x at `stride` into dense rows */
static float *dense(const float *x, size_t n, size_t stride)
{
    float *d = malloc(sizeof(float) * (n ? n : 1) * NF);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) memcpy(d + i * NF, x + i * stride, NF * sizeof(float));
    return d;
}

static int has(const char *msg, const char *text)
{
    if (strstr(msg, text)) return 1;
    fprintf(stderr, "message '%s' lacks '%s'\n", msg, text);
    return 0;
}

/* ---------------------------------------------------------------- version */

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(mlpc_version(), MLPC_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", MLPC_VERSION_MAJOR, MLPC_VERSION_MINOR, MLPC_VERSION_PATCH);
    assert_string_equal(mlpc_version(), want);
}

/* ---------------------------------------------------------------- predict */

/* mlpc_net_predict_ws over rows at `stride` equals mlpc_net_predict over
 * the dense copy, bit for bit */
static void check_predict_ws(mlpc_net *net, int ws_rows, size_t n, size_t stride)
{
    int n_out = mlpc_net_size(net, mlpc_net_layers(net));
    float *x = raw_rows(n, stride, 11);
    float *xd = dense(x, n, stride);
    float *want = malloc(sizeof(float) * (n ? n : 1) * n_out);
    float *got = malloc(sizeof(float) * (n ? n : 1) * n_out);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(mlpc_net_predict(net, xd, n, want), MLPC_OK);
    mlpc_error err;
    mlpc_workspace *ws = mlpc_workspace_create(net, ws_rows, &err);
    assert_non_null(ws);
    memset(got, 0xff, sizeof(float) * (n ? n : 1) * n_out);
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, n, stride == NF ? 0 : stride, got, &err), MLPC_OK);
    assert_int_equal(err.code, MLPC_OK);
    assert_memory_equal(got, want, sizeof(float) * n * n_out);
    mlpc_workspace_free(ws);
    free(x);
    free(xd);
    free(want);
    free(got);
}

static void test_predict_ws_equals_predict(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-16-12-3", MLPC_NORM_STANDARD);
    check_predict_ws(net, 0, 300, 11);   /* chunks of 256 rows, stride > width */
    check_predict_ws(net, 7, 300, 11);   /* chunks of 7 rows */
    check_predict_ws(net, 2048, 1500, NF); /* dense, more rows than predict's chunk */
    check_predict_ws(net, 0, 1, 9);
    check_predict_ws(net, 0, 0, NF);
    mlpc_net_free(net);
    net = make_net("8-5-3", MLPC_NORM_SCALE);
    check_predict_ws(net, 0, 300, 13);
    mlpc_net_free(net);
    net = make_net("8-5-3", MLPC_NORM_NONE);
    check_predict_ws(net, 0, 300, 13);
    mlpc_net_free(net);
}

typedef struct pred_job {
    const mlpc_net *net;
    const float *x;
    size_t n;
    const float *want;
    int ok;
} pred_job;

static void *predict_many(void *arg)
{
    pred_job *j = arg;
    mlpc_error err;
    mlpc_workspace *ws = mlpc_workspace_create(j->net, 64, &err);
    float *out = malloc(sizeof(float) * j->n * NC);
    j->ok = ws && out;
    for (int rep = 0; j->ok && rep < 20; rep++) {
        memset(out, 0, sizeof(float) * j->n * NC);
        j->ok = mlpc_net_predict_ws(j->net, ws, j->x, j->n, 0, out, &err) == MLPC_OK &&
                memcmp(out, j->want, sizeof(float) * j->n * NC) == 0;
    }
    free(out);
    mlpc_workspace_free(ws);
    return NULL;
}

static void test_predict_ws_threads(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-32-16-3", MLPC_NORM_STANDARD);
    size_t n = 700;
    float *x = raw_rows(n, NF, 5);
    float *want = malloc(sizeof(float) * n * NC);
    assert_non_null(want);
    assert_int_equal(mlpc_net_predict(net, x, n, want), MLPC_OK);
    enum { T = 4 };
    pthread_t th[T];
    pred_job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (pred_job){net, x, n, want, 0};
        assert_int_equal(pthread_create(&th[t], NULL, predict_many, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        assert_true(jobs[t].ok);
    }
    free(x);
    free(want);
    mlpc_net_free(net);
}

static void test_predict_ws_errors(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-16-12-3", MLPC_NORM_STANDARD);
    mlpc_net *other = make_net("8-16-3", MLPC_NORM_STANDARD);
    mlpc_net *same = make_net("8-16-12-3", MLPC_NORM_SCALE);
    mlpc_error err;
    mlpc_workspace *ws = mlpc_workspace_create(net, 0, &err);
    assert_non_null(ws);
    float *x = raw_rows(10, NF, 3), out[10 * NC];
    /* a workspace of other layer sizes */
    assert_int_equal(mlpc_net_predict_ws(other, ws, x, 10, 0, out, &err), MLPC_ERR_SHAPE);
    assert_true(has(err.msg, "8-16-12-3") && has(err.msg, "8-16-3"));
    /* any net of the same sizes */
    assert_int_equal(mlpc_net_predict_ws(same, ws, x, 10, 0, out, &err), MLPC_OK);
    /* a stride below the width */
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, 10, 5, out, &err), MLPC_ERR_ARG);
    assert_true(has(err.msg, "stride 5"));
    /* non-finite inputs: row and column named, nothing else breaks */
    x[5 * NF + 3] = NAN;
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, 10, 0, out, &err), MLPC_ERR_ARG);
    assert_true(has(err.msg, "x[5][3]") && has(err.msg, "NaN"));
    x[5 * NF + 3] = 1.0f;
    x[9 * NF + 7] = -INFINITY;
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, 10, 0, out, &err), MLPC_ERR_ARG);
    assert_true(has(err.msg, "x[9][7]") && has(err.msg, "-inf"));
    x[9 * NF + 7] = 2.0f;
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, 10, 0, out, &err), MLPC_OK);
    assert_int_equal(err.code, MLPC_OK);
    /* missing arguments; bad workspace sizes */
    assert_int_equal(mlpc_net_predict_ws(net, NULL, x, 10, 0, out, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_net_predict_ws(net, ws, NULL, 10, 0, out, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_net_predict_ws(net, ws, x, 10, 0, NULL, NULL), MLPC_ERR_ARG);
    assert_null(mlpc_workspace_create(net, -1, &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
    assert_null(mlpc_workspace_create(NULL, 0, &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
    mlpc_workspace_free(NULL);
    mlpc_workspace_free(ws);
    free(x);
    mlpc_net_free(net);
    mlpc_net_free(other);
    mlpc_net_free(same);
}

/* ---------------------------------------------------------------- memory */

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_save_buffer_equals_file(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-16-12-3", MLPC_NORM_STANDARD);
    assert_int_equal(mlpc_net_set_meta(net, "metrics", "{\"val_acc\":0.5}"), MLPC_OK);
    mlpc_error err;
    const char *path = tu_path("m.mlpc");
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    size_t flen;
    unsigned char *file = read_whole(path, &flen);
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(mlpc_net_save_buffer(net, &buf, &len, &err), MLPC_OK);
    assert_int_equal(err.code, MLPC_OK);
    assert_int_equal(len, flen);
    assert_memory_equal(buf, file, len);
    mlpc_free(buf);
    mlpc_free(NULL);
    assert_int_equal(mlpc_net_save_buffer(net, NULL, &len, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_net_save_buffer(NULL, &buf, &len, &err), MLPC_ERR_ARG);
    assert_null(buf);
    free(file);
    mlpc_net_free(net);
}

static void test_load_buffer_round_trip(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-16-12-3", MLPC_NORM_STANDARD);
    mlpc_error err;
    void *buf;
    size_t len;
    assert_int_equal(mlpc_net_save_buffer(net, &buf, &len, &err), MLPC_OK);
    mlpc_net *back = mlpc_net_load_buffer(buf, len, "blob", &err);
    assert_non_null(back);
    assert_int_equal(err.code, MLPC_OK);
    assert_int_equal(mlpc_net_norm_mode(back), MLPC_NORM_STANDARD);
    assert_string_equal(mlpc_net_meta(back, "config"), mlpc_net_meta(net, "config"));
    size_t n = 100;
    float *x = raw_rows(n, NF, 9), a[100 * NC], b[100 * NC];
    assert_int_equal(mlpc_net_predict(net, x, n, a), MLPC_OK);
    assert_int_equal(mlpc_net_predict(back, x, n, b), MLPC_OK);
    assert_memory_equal(a, b, sizeof a);
    /* the loaded net saves to the same bytes */
    void *again;
    size_t len2;
    assert_int_equal(mlpc_net_save_buffer(back, &again, &len2, &err), MLPC_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
    mlpc_free(again);
    mlpc_free(buf);
    free(x);
    mlpc_net_free(back);
    mlpc_net_free(net);
}

static void expect_rejected(const void *buf, size_t len, const char *name, const char *text)
{
    mlpc_error err;
    memset(&err, 0, sizeof err);
    mlpc_net *net = mlpc_net_load_buffer(buf, len, name, &err);
    if (net) fprintf(stderr, "buffer of %zu bytes was accepted\n", len);
    assert_null(net);
    assert_int_not_equal(err.code, MLPC_OK);
    assert_true(err.msg[0] != '\0');
    assert_null(strchr(err.msg, '\n'));
    assert_true(has(err.msg, name ? name : "<memory>"));
    if (text) assert_true(has(err.msg, text));
}

static void test_load_buffer_damaged(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-16-12-3", MLPC_NORM_STANDARD);
    mlpc_error err;
    void *v;
    size_t len;
    assert_int_equal(mlpc_net_save_buffer(net, &v, &len, &err), MLPC_OK);
    unsigned char *buf = v;
    /* empty */
    expect_rejected(buf, 0, "blob", "empty");
    expect_rejected(NULL, 0, NULL, "empty");
    expect_rejected(NULL, 10, "blob", "no buffer");
    /* truncated at every length, each in a buffer of exactly that size (ASan
     * sees any read past it) */
    for (size_t k = 1; k < len; k++) {
        unsigned char *t = malloc(k);
        assert_non_null(t);
        memcpy(t, buf, k);
        expect_rejected(t, k, "blob", NULL);
        free(t);
    }
    /* one flipped bit in every byte */
    unsigned char *f = malloc(len);
    assert_non_null(f);
    for (size_t k = 0; k < len; k++) {
        memcpy(f, buf, len);
        f[k] ^= (unsigned char)(1u << (k % 8));
        expect_rejected(f, len, "blob", NULL);
    }
    /* trailing garbage */
    unsigned char *g = malloc(len + 3);
    assert_non_null(g);
    memcpy(g, buf, len);
    memset(g + len, 0, 3);
    expect_rejected(g, len + 3, "blob", NULL);
    /* not a model */
    expect_rejected("hello world, not a model at all", 31, "blob", "not an mlpc model");
    free(g);
    free(f);
    mlpc_free(buf);
    mlpc_net_free(net);
}

/* ---------------------------------------------------------------- datasets */

static void test_strided_dataset(void **state)
{
    (void)state;
    mlpc_error err;
    size_t n = 20, xs = 11, ts = 3;
    float *x = raw_rows(n, xs, 4);
    int32_t labels[20];
    float targets[20 * 3];
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % NC);
        for (size_t j = 0; j < ts; j++) targets[i * ts + j] = j < 2 ? (float)i + 0.5f * (float)j : NAN;
    }
    /* strided: copied into dense rows, even when asked to borrow */
    mlpc_dataset *d = mlpc_dataset_from_strided(n, NF, x, xs, labels, NC, NULL, 0, 0, 1, "strided", &err);
    assert_non_null(d);
    assert_false(mlpc_dataset_borrowed(d));
    assert_int_equal(mlpc_dataset_rows(d), n);
    assert_int_equal(mlpc_dataset_features(d), NF);
    assert_int_equal(mlpc_dataset_outputs(d), NC);
    assert_string_equal(mlpc_dataset_source(d), "strided");
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(mlpc_dataset_x(d) + i * NF, x + i * xs, NF * sizeof(float));
        assert_int_equal(mlpc_dataset_labels(d)[i], labels[i]);
    }
    mlpc_dataset_free(d);
    /* targets at a stride, features dense but not borrowed */
    float *xd = dense(x, n, xs);
    d = mlpc_dataset_from_strided(n, NF, xd, 0, NULL, 0, targets, 2, ts, 1, NULL, &err);
    assert_non_null(d);
    assert_false(mlpc_dataset_borrowed(d));
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_REGRESS);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(mlpc_dataset_targets(d) + i * 2, targets + i * ts, 2 * sizeof(float));
    mlpc_dataset_free(d);
    /* dense and borrow: the caller's arrays in place */
    d = mlpc_dataset_from_strided(n, NF, xd, NF, labels, NC, NULL, 0, 0, 1, "view", &err);
    assert_non_null(d);
    assert_true(mlpc_dataset_borrowed(d));
    assert_ptr_equal(mlpc_dataset_x(d), xd);
    assert_ptr_equal(mlpc_dataset_labels(d), labels);
    mlpc_dataset_free(d);
    /* dense, not borrowed: a copy */
    d = mlpc_dataset_from_strided(n, NF, xd, 0, labels, NC, NULL, 0, 0, 0, "copy", &err);
    assert_non_null(d);
    assert_false(mlpc_dataset_borrowed(d));
    assert_ptr_not_equal(mlpc_dataset_x(d), xd);
    assert_memory_equal(mlpc_dataset_x(d), xd, n * NF * sizeof(float));
    mlpc_dataset_free(d);
    /* features only */
    d = mlpc_dataset_from_strided(n, NF, x, xs, NULL, 0, NULL, 0, 0, 0, NULL, &err);
    assert_non_null(d);
    assert_false(mlpc_dataset_has_targets(d));
    mlpc_dataset_free(d);

    /* bad values: NULL, code ARG, the first bad row and column named */
    labels[4] = NC;
    assert_null(mlpc_dataset_from_strided(n, NF, x, xs, labels, NC, NULL, 0, 0, 1, "lab", &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
    assert_true(has(err.msg, "labels[4]") && has(err.msg, "lab"));
    labels[4] = -1;
    assert_null(mlpc_dataset_from_strided(n, NF, xd, 0, labels, NC, NULL, 0, 0, 1, "lab", &err));
    assert_true(has(err.msg, "labels[4]"));
    labels[4] = 1;
    x[2 * xs + 1] = NAN;
    assert_null(mlpc_dataset_from_strided(n, NF, x, xs, labels, NC, NULL, 0, 0, 1, NULL, &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
    assert_true(has(err.msg, "x[2][1]") && has(err.msg, "NaN"));
    x[2 * xs + 1] = 0.0f;
    targets[7 * ts + 1] = INFINITY;
    assert_null(mlpc_dataset_from_strided(n, NF, xd, 0, NULL, 0, targets, 2, ts, 1, NULL, &err));
    assert_true(has(err.msg, "targets[7][1]") && has(err.msg, "inf"));
    /* bad shapes */
    assert_null(mlpc_dataset_from_strided(n, NF, x, 5, labels, NC, NULL, 0, 0, 1, NULL, &err));
    assert_true(has(err.msg, "stride 5"));
    assert_null(mlpc_dataset_from_strided(n, NF, x, xs, labels, NC, targets, 2, ts, 1, NULL, &err));
    assert_null(mlpc_dataset_from_strided(n, NF, x, xs, labels, 1, NULL, 0, 0, 1, NULL, &err));
    assert_null(mlpc_dataset_from_strided(n, 0, x, xs, NULL, 0, NULL, 0, 0, 1, NULL, &err));
    assert_null(mlpc_dataset_from_strided(n, NF, NULL, 0, NULL, 0, NULL, 0, 0, 1, NULL, &err));
    free(xd);
    free(x);
}

static void test_dataset_error(void **state)
{
    (void)state;
    mlpc_net *net = make_net("8-5-3", MLPC_NORM_STANDARD);
    float x[4 * 5] = {0};
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_strided(4, 5, x, 0, NULL, 0, NULL, 0, 0, 0, "narrow", &err);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_error(d)->code, MLPC_OK);
    assert_int_equal(mlpc_net_normalize(net, d), MLPC_ERR_SHAPE);
    assert_int_equal(mlpc_dataset_error(d)->code, MLPC_ERR_SHAPE);
    assert_true(has(mlpc_dataset_error(d)->msg, "narrow"));
    mlpc_dataset_free(d);
    mlpc_net_free(net);
}

/* ---------------------------------------------------------------- interrupt */

typedef struct trained {
    mlpc_net *net;
    mlpc_trainer *tr;
    mlpc_dataset *train, *val;
} trained;

static void trained_open_with(trained *r, const mlpc_config *c, int sparse)
{
    mlpc_error err;
    r->net = mlpc_net_create(c, &err);
    assert_non_null(r->net);
    r->train = blobs_of(200, 1, sparse);
    r->val = blobs_of(90, 2, sparse);
    assert_int_equal(mlpc_net_fit_normalization(r->net, r->train, c->norm), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(r->net, r->train), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(r->net, r->val), MLPC_OK);
    r->tr = mlpc_trainer_create(r->net, c, &err);
    assert_non_null(r->tr);
    assert_int_equal(mlpc_trainer_set_data(r->tr, r->train, r->val, NULL), MLPC_OK);
}

static void trained_open(trained *r, const mlpc_config *c) { trained_open_with(r, c, 0); }

static void trained_close(trained *r)
{
    mlpc_trainer_free(r->tr);
    mlpc_net_free(r->net);
    mlpc_dataset_free(r->train);
    mlpc_dataset_free(r->val);
}

/* The batch callback at batch `at` of epoch 2 hands over to the other
 * thread and waits until it has called mlpc_trainer_interrupt: the stop
 * comes at that batch's boundary whatever the timing. */
typedef struct handoff {
    mlpc_trainer *tr;
    sem_t reached, done;
    int at, calls;
} handoff;

static int wait_for_interrupt(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    handoff *h = user;
    h->calls++;
    if (b->epoch == 2 && b->batch == h->at) {
        sem_post(&h->reached);
        while (sem_wait(&h->done) != 0) {
        }
    }
    return 0;
}

static void *interrupter(void *arg)
{
    handoff *h = arg;
    while (sem_wait(&h->reached) != 0) {
    }
    mlpc_trainer_interrupt(h->tr);
    sem_post(&h->done);
    return NULL;
}

static void check_interrupt_from_thread(mlpc_opt opt, int batch, int sparse)
{
    mlpc_config c;
    base_config(&c, opt, "8-16-12-3");
    c.momentum = 0.0f; /* plain SGD: the fused fast path */
    c.batch = batch;
    c.epochs = 5;
    if (sparse) c.norm = MLPC_NORM_NONE; /* keeps the zero columns */
    trained r;
    trained_open_with(&r, &c, sparse);
    handoff h = {.tr = r.tr, .at = 3};
    assert_int_equal(sem_init(&h.reached, 0, 0), 0);
    assert_int_equal(sem_init(&h.done, 0, 0), 0);
    mlpc_trainer_on_batch(r.tr, wait_for_interrupt, 1, &h);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter, &h), 0);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    pthread_join(th, NULL);
    long per_epoch = (200 + batch - 1) / batch;
    assert_int_equal(h.calls, per_epoch + 3); /* stopped right after batch 3 of epoch 2 */
    assert_true(mlpc_trainer_stopped(r.tr));
    assert_string_equal(mlpc_trainer_stop_reason(r.tr), "interrupted");
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 2); /* the partial epoch counts */
    assert_true(sparse ? r.tr->sparse_batches > 0 : r.tr->sparse_batches == 0);
    /* the net is usable */
    mlpc_eval ev;
    assert_int_equal(mlpc_net_evaluate(r.net, r.val, &ev), MLPC_OK);
    assert_true(isfinite(ev.loss));
    /* still interrupted: a run trains nothing */
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 2);
    /* cleared, more epochs: training continues to the new end */
    mlpc_trainer_clear_interrupt(r.tr);
    assert_false(mlpc_trainer_stopped(r.tr));
    assert_string_equal(mlpc_trainer_stop_reason(r.tr), "");
    mlpc_trainer_on_batch(r.tr, NULL, 1, NULL);
    assert_int_equal(mlpc_trainer_set_epochs(r.tr, 7), MLPC_OK);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 7);
    assert_false(mlpc_trainer_stopped(r.tr));
    assert_int_equal(mlpc_net_evaluate(r.net, r.val, &ev), MLPC_OK);
    assert_true(ev.acc > 0.5);
    assert_int_equal(mlpc_trainer_set_epochs(r.tr, -1), MLPC_ERR_ARG);
    sem_destroy(&h.reached);
    sem_destroy(&h.done);
    trained_close(&r);
}

static void test_interrupt_from_thread(void **state)
{
    (void)state;
    check_interrupt_from_thread(MLPC_OPT_ADAM, 16, 0);
    check_interrupt_from_thread(MLPC_OPT_SGD, 16, 0); /* fused plain SGD */
    check_interrupt_from_thread(MLPC_OPT_SGD, 10, 1); /* and the sparse first layer */
}

/* From a signal handler (as a Ctrl-C handler would): raised synchronously
 * in the batch callback, so the handler has run when the callback returns. */
static mlpc_trainer *volatile signal_tr;

static void on_sigusr1(int sig)
{
    (void)sig;
    mlpc_trainer_interrupt(signal_tr);
}

static int raise_at_batch_2(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (*(int *)user)++;
    if (b->epoch == 1 && b->batch == 2) raise(SIGUSR1);
    return 0;
}

static void test_interrupt_from_signal_handler(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM, "8-16-3");
    trained r;
    trained_open(&r, &c);
    signal_tr = r.tr;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    int calls = 0;
    mlpc_trainer_on_batch(r.tr, raise_at_batch_2, 1, &calls);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    sigaction(SIGUSR1, &old, NULL);
    assert_int_equal(calls, 2);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 1);
    assert_string_equal(mlpc_trainer_stop_reason(r.tr), "interrupted");
    trained_close(&r);
}

/* Interrupted between epochs (before mlpc_trainer_run) and at every later
 * call: nothing trains, the trainer says why. */
static void test_interrupt_before_run(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_ADAM, "8-16-3");
    trained r;
    trained_open(&r, &c);
    size_t np = mlpc_net_param_count(r.net);
    float *before = malloc(np * sizeof(float));
    assert_non_null(before);
    memcpy(before, mlpc_net_params(r.net), np * sizeof(float));
    mlpc_trainer_interrupt(r.tr);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 0);
    assert_string_equal(mlpc_trainer_stop_reason(r.tr), "interrupted");
    assert_memory_equal(before, mlpc_net_params(r.net), np * sizeof(float));
    mlpc_trainer_interrupt(NULL);
    mlpc_trainer_clear_interrupt(NULL);
    mlpc_trainer_clear_interrupt(r.tr);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 3);
    free(before);
    trained_close(&r);
}

/* Early stopping with restore: the rate is spoiled after epoch 3, and the
 * run is interrupted in epoch 6 (patience not yet spent): the net gets the
 * best epoch's weights, as early stopping would leave them. */
typedef struct es_probe {
    mlpc_net *net;
    size_t n;
    int spoil;
    float *params_at[16];
} es_probe;

static int record_and_spoil(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    es_probe *p = user;
    memcpy(p->params_at[e->epoch], mlpc_net_params(p->net), p->n * sizeof(float));
    if (e->epoch == 3 && p->spoil) mlpc_trainer_set_lr(tr, -0.5f);
    return 0;
}

static int interrupt_in_epoch_6(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    if (b->epoch == 6 && b->batch == 2) mlpc_trainer_interrupt(tr);
    return 0;
}

static void test_interrupt_restores_best(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_SGD, "8-16-12-3");
    c.momentum = 0.0f;
    c.epochs = 12;
    c.es_patience = 20;
    c.es_restore_best = 1;
    c.es_metric = MLPC_METRIC_VAL_LOSS;
    trained r;
    trained_open(&r, &c);
    es_probe p = {r.net, mlpc_net_param_count(r.net), 1, {0}};
    for (int i = 1; i < 16; i++) p.params_at[i] = malloc(p.n * sizeof(float));
    mlpc_trainer_on_epoch(r.tr, record_and_spoil, &p);
    mlpc_trainer_on_batch(r.tr, interrupt_in_epoch_6, 1, NULL);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_string_equal(mlpc_trainer_stop_reason(r.tr), "interrupted");
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 6);
    int best = -1; /* the epoch whose parameters the net holds now */
    for (int e = 1; e <= 6 && best < 0; e++)
        if (memcmp(p.params_at[e], mlpc_net_params(r.net), p.n * sizeof(float)) == 0) best = e;
    assert_true(best >= 1 && best <= 3);
    for (int i = 1; i < 16; i++) free(p.params_at[i]);
    trained_close(&r);
}

/* Without early stopping the net keeps the last weights trained. */
static void test_interrupt_keeps_last_without_es(void **state)
{
    (void)state;
    mlpc_config c;
    base_config(&c, MLPC_OPT_SGD, "8-16-12-3");
    c.epochs = 12;
    trained r;
    trained_open(&r, &c);
    es_probe p = {r.net, mlpc_net_param_count(r.net), 0, {0}};
    for (int i = 1; i < 16; i++) p.params_at[i] = malloc(p.n * sizeof(float));
    mlpc_trainer_on_epoch(r.tr, record_and_spoil, &p);
    mlpc_trainer_on_batch(r.tr, interrupt_in_epoch_6, 1, NULL);
    assert_int_equal(mlpc_trainer_run(r.tr), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 6);
    assert_memory_equal(p.params_at[6], mlpc_net_params(r.net), p.n * sizeof(float));
    for (int i = 1; i < 16; i++) free(p.params_at[i]);
    trained_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_predict_ws_equals_predict),
        cmocka_unit_test(test_predict_ws_threads),
        cmocka_unit_test(test_predict_ws_errors),
        cmocka_unit_test(test_save_buffer_equals_file),
        cmocka_unit_test(test_load_buffer_round_trip),
        cmocka_unit_test(test_load_buffer_damaged),
        cmocka_unit_test(test_strided_dataset),
        cmocka_unit_test(test_dataset_error),
        cmocka_unit_test(test_interrupt_from_thread),
        cmocka_unit_test(test_interrupt_from_signal_handler),
        cmocka_unit_test(test_interrupt_before_run),
        cmocka_unit_test(test_interrupt_restores_best),
        cmocka_unit_test(test_interrupt_keeps_last_without_es),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
