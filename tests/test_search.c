/* test_search.c - the hyperparameter search's pieces: SPACE.json parsing
 * (good and malformed files), samplers (deterministic, the grid visited once),
 * the ASHA rule, the SQLite store (one writer lock, requeue), shared data
 * views, whole searches with forked workers: every trial complete, and
 * the same results (ASHA included) for 1 and 2 workers, and the CSV report
 * (free text quoted as RFC 4180 says). The coordinator's bookkeeping is in
 * test_search_coord.c. */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <sys/mman.h>

#include "search/search.h"

static const char *GOOD =
    "{\"study\":\"t\",\"data\":\"lorenz\",\"sampler\":\"random\",\"trials\":5,\"seed\":7,"
    " \"params\":{\"depth\":{\"min\":1,\"max\":3},\"width\":[4,8],\"act\":[\"relu\",\"tanh\"],"
    " \"opt\":\"adam\",\"lr\":{\"min\":1e-4,\"max\":1e-1,\"log\":true},\"batch\":[16,32],"
    " \"epochs\":{\"min\":3,\"max\":9,\"step\":3},\"l2\":[0,0.0001],\"threads\":1}}";

static void test_parse_good(void **st)
{
    (void)st;
    srch_space s;
    mlpc_error err;
    assert_int_equal(srch_space_parse(&s, "good.json", GOOD, &err), 0);
    assert_string_equal(s.study, "t");
    assert_int_equal(s.trials, 5);
    assert_int_equal(s.p[P_DEPTH].range, 1);
    assert_int_equal(s.p[P_WIDTH].n, 2);
    assert_int_equal(s.p[P_LR].log, 1);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    assert_int_equal(s.metric, SM_VAL_LOSS);
    assert_int_equal(s.maximize, 0);
    /* every example shipped parses */
    const char *ex[] = {"examples/lorenz_search.json", "examples/mnist_search.json"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(ex[i], "rb");
        assert_non_null(f);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        if (srch_space_parse(&s, ex[i], buf, &err)) fail_msg("%s", err.msg);
    }
}

static void test_parse_bad(void **st)
{
    (void)st;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "invalid JSON"},
        {"{", "invalid JSON"},
        {"[1,2]", "top level must be a JSON object"},
        {"{\"data\":\"lorenz\"}", "no \"params\""},
        {"{\"params\":{\"depth\":1,\"width\":4}}", "no data"},
        {"{\"data\":\"cifar\",\"params\":{}}", "data:"},
        {"{\"data\":\"lorenz\",\"bogus\":1,\"params\":{}}", "unknown key \"bogus\""},
        {"{\"data\":\"lorenz\",\"params\":{\"depth\":1}}", "layers are missing"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[[8]],\"depth\":1}}", "not both"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[[0]]}}", "widths must be integers"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[]}}", "params.hidden"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"act\":\"swish\"}}", "params.act: unknown value \"swish\""},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"act\":\"softmax\"}}", "params.act"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"l2\":{\"min\":0,\"max\":1,\"log\":true}}}", "log range needs min > 0"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"lr\":{\"min\":1,\"max\":0.1}}}", "above max"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"lr\":{\"max\":0.1}}}", "needs \"min\" and \"max\""},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"lr\":{\"min\":0.1,\"max\":1,\"foo\":2}}}", "unknown range key \"foo\""},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"batch\":1.5}}", "not an integer"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"batch\":[]}}", "empty list"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"epochs\":\"ten\"}}", "a number is needed"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"norm\":[\"scale\"]}}", "params.norm"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"dropout\":0.5}}", "unknown parameter \"dropout\""},
        {"{\"data\":\"lorenz\",\"sampler\":\"random\",\"params\":{\"hidden\":[8]}}", "needs a trial count"},
        {"{\"data\":\"lorenz\",\"params\":{\"hidden\":[8],\"lr\":{\"min\":0.1,\"max\":1}}}", "grid sampler needs"},
        {"{\"data\":\"lorenz\",\"sampler\":\"bayes\",\"params\":{\"hidden\":[8]}}", "sampler: grid or random"},
        {"{\"data\":\"lorenz\",\"pruner\":{\"type\":\"asha\",\"eta\":1},\"params\":{\"hidden\":[8]}}", "pruner.eta"},
        {"{\"data\":\"lorenz\",\"pruner\":\"median\",\"params\":{\"hidden\":[8]}}", "pruner: unknown"},
        {"{\"data\":\"lorenz\",\"metric\":\"f1\",\"params\":{\"hidden\":[8]}}", "metric:"},
        {"{\"data\":\"lorenz\",\"seed\":-1,\"params\":{\"hidden\":[8]}}", "seed:"},
        {"{\"data\":\"lorenz\",\"val_split\":100,\"params\":{\"hidden\":[8]}}", "own validation rows"},
        {"{\"data\":\"lorenz\",\"params\":{\"depth\":{\"min\":1,\"max\":99},\"width\":8}}", "outside"},
        {"{\"data\":\"lorenz\",\"params\":{\"depth\":{\"min\":1,\"max\":3,\"log\":true},\"width\":8}}", "grid sampler needs \"step\""},
        {"{\"data\":\"lorenz\",\"params\":{\"width\":{\"min\":1,\"max\":100000},\"depth\":{\"min\":1,\"max\":31},"
         "\"batch\":{\"min\":1,\"max\":100000}}}", "more than 10000000 points"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srch_space s;
        mlpc_error err;
        memset(&err, 0, sizeof err);
        if (srch_space_parse(&s, "bad.json", cases[i].text, &err) == 0)
            fail_msg("case %zu parsed: %s", i, cases[i].text);
        if (!strstr(err.msg, cases[i].want) || strncmp(err.msg, "bad.json: ", 10) || strchr(err.msg, '\n'))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
    }
    /* metric checks against the data */
    srch_space s;
    mlpc_error err;
    assert_int_equal(srch_space_parse(&s, "m.json", "{\"data\":\"lorenz\",\"metric\":\"val_acc\",\"params\":{\"hidden\":[8]}}", &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), -1);
    assert_non_null(strstr(err.msg, "regression"));
    assert_int_equal(srch_space_parse(&s, "m.json", "{\"data\":\"mnist\",\"params\":{\"hidden\":[8]}}", &err), 0);
    s.metric = SM_VAL_LOSS;
    assert_int_equal(srch_space_resolve(&s, 0, 0, &err), -1);
    assert_non_null(strstr(err.msg, "validation"));
}

static void test_sampler(void **st)
{
    (void)st;
    srch_space s;
    mlpc_error err;
    assert_int_equal(srch_space_parse(&s, "good.json", GOOD, &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    for (int i = 0; i < s.trials; i++) {
        srch_point a, b;
        assert_int_equal(srch_sample(&s, i, &a, &err), 0);
        assert_int_equal(srch_sample(&s, i, &b, &err), 0);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(a.v[P_DEPTH] >= 1 && a.v[P_DEPTH] <= 3);
        assert_true(a.v[P_LR] >= 1e-4 && a.v[P_LR] <= 1e-1);
        assert_true(a.v[P_EPOCHS] == 3 || a.v[P_EPOCHS] == 6 || a.v[P_EPOCHS] == 9);
        mlpc_config cfg;
        assert_int_equal(srch_point_config(&s, &a, i, 3, 3, 1, &cfg, &err), 0);
        assert_int_equal(cfg.n_layers, (int)a.v[P_DEPTH] + 1);
        assert_int_equal(cfg.seed, srch_trial_seed(7, i));
        char cmd[2048];
        assert_true(srch_train_command(&s, &cfg, cmd, sizeof cmd) > 0);
        assert_non_null(strstr(cmd, "mlpc train --data lorenz --layers 3-"));
        assert_null(strstr(cmd, "--target-norm")); /* trials standardize like train's default */
    }
    assert_true(srch_trial_seed(7, 0) != srch_trial_seed(7, 1));
    assert_true(srch_trial_seed(7, 0) != srch_trial_seed(8, 0));

    /* grid: 3 depths x 4 widths x 5 batches = 60 points; a budget of 45 visits 45 distinct ones */
    const char *grid = "{\"data\":\"lorenz\",\"trials\":45,\"params\":{\"depth\":{\"min\":1,\"max\":3},"
                       "\"width\":[2,4,8,16],\"batch\":{\"min\":10,\"max\":50,\"step\":10}}}";
    assert_int_equal(srch_space_parse(&s, "g.json", grid, &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    assert_int_equal((int)srch_grid_size(&s), 60);
    int seen[4][17][6];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 45; i++) {
        srch_point p;
        assert_int_equal(srch_sample(&s, i, &p, &err), 0);
        int *c = &seen[(int)p.v[P_DEPTH]][(int)p.v[P_WIDTH]][(int)p.v[P_BATCH] / 10];
        assert_int_equal(*c, 0);
        (*c)++;
    }
    /* the whole grid when trials is 0 */
    assert_int_equal(srch_space_parse(&s, "g.json", "{\"data\":\"lorenz\",\"params\":{\"hidden\":[[1],[2],[3]],\"lr\":{\"min\":0.001,\"max\":0.1,\"n\":3,\"log\":true}}}", &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    assert_int_equal(s.trials, 9);
    srch_point p;
    assert_int_equal(srch_sample(&s, 1, &p, &err), 0);
    assert_true(fabs(p.v[P_LR] - 0.01) < 1e-9);
}

static void test_asha_rule(void **st)
{
    (void)st;
    int r[SRCH_MAX_RUNGS];
    assert_int_equal(srch_rungs(1, 3, 30, r, SRCH_MAX_RUNGS), 4); /* 1 3 9 27 */
    assert_int_equal(r[3], 27);
    assert_int_equal(srch_rungs(5, 2, 5, r, SRCH_MAX_RUNGS), 0);
    double v[] = {1, 2, 3, 4, 5, 6};
    assert_true(srch_asha_promote(1, v, 1, 3, 0));  /* alone: goes on */
    assert_true(srch_asha_promote(1, v, 2, 3, 0));  /* best of 2 */
    assert_false(srch_asha_promote(2, v, 2, 3, 0)); /* second of 2: keep 1 */
    assert_true(srch_asha_promote(2, v, 6, 3, 0));  /* top 2 of 6 */
    assert_false(srch_asha_promote(3, v, 6, 3, 0));
    assert_true(srch_asha_promote(6, v, 6, 3, 1));  /* maximize */
    assert_false(srch_asha_promote(NAN, v, 6, 3, 0));
}

static void test_store(void **st)
{
    (void)st;
    const char *db = tu_path("store.db");
    mlpc_error err;
    srch_store *s1 = srch_store_open(db, 1, &err);
    assert_non_null(s1);
    int fd = srch_store_lock(db, &err);
    assert_true(fd >= 0);
    assert_int_equal(srch_store_lock(db, &err), -1); /* one search per database */
    assert_non_null(strstr(err.msg, "another mlpc search"));
    srch_space s;
    assert_int_equal(srch_space_parse(&s, "good.json", GOOD, &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    assert_int_equal(srch_store_begin(s1), 0);
    int64_t study = srch_study_create(s1, &s, GOOD, "canon", 42);
    assert_true(study > 0);
    char canon[64];
    assert_int_equal(srch_study_find(s1, "t", canon, sizeof canon), study);
    assert_string_equal(canon, "canon");
    assert_int_equal(srch_study_find(s1, "none", canon, sizeof canon), 0);
    int64_t sess = srch_session_start(s1, study, 1, 2, 1, 2, 0, "h", 100);
    int64_t t0 = srch_trial_begin(s1, study, sess, 0, 5, "{}", "mlpc train", 1, "h", 0, 1);
    int64_t t1 = srch_trial_begin(s1, study, sess, 1, 6, "{}", "mlpc train", 1, "h", 0, 2);
    assert_true(t0 > 0 && t1 > 0 && t0 != t1);
    srch_epoch e[3];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 3; i++) {
        e[i].epoch = i + 1;
        e[i].val_loss = 10 - i;
        e[i].loss = NAN;
    }
    assert_int_equal(srch_trial_epochs(s1, t0, e, 3), 0);
    assert_int_equal(srch_trial_epochs(s1, t1, e, 3), 0);
    assert_int_equal(srch_trial_end(s1, t0, TS_COMPLETE, 3, 8, 0.5, 0.6, NULL), 0);
    assert_int_equal(srch_trial_end(s1, t1, TS_PRUNED, 1, 10, 0.1, 0.2, NULL), 0); /* drops epochs 2, 3 */
    assert_int_equal(srch_trial_requeue(s1, t1), 0);
    int ep[3] = {1, 2, 3};
    double v[3];
    assert_int_equal(srch_metric_at(s1, t0, SM_VAL_LOSS, ep, 3, v), 0);
    assert_true(v[0] == 10 && v[2] == 8);
    assert_int_equal(srch_metric_at(s1, t1, SM_VAL_LOSS, ep, 3, v), 0);
    assert_true(isnan(v[0])); /* requeued: metrics gone */
    /* the same trial number again: the row is reused */
    assert_int_equal(srch_trial_begin(s1, study, sess, 1, 6, "{}", "mlpc train", 2, "h", 0, 3), t1);
    assert_int_equal(srch_store_commit(s1), 0);
    close(fd);
    srch_store_close(s1);
    /* not a database */
    const char *junk = tu_write_str("junk.db", "this is not sqlite at all, not at all, not at all, no");
    assert_null(srch_store_open(junk, 1, &err));
    assert_non_null(strstr(err.msg, "junk.db"));
    assert_int_equal(srch_report(junk, NULL, 5, 0, stdout, &err), -1);
    assert_int_equal(srch_report(tu_path("missing.db"), NULL, 5, 0, stdout, &err), -1);
}

static void test_shared_view(void **st)
{
    (void)st;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int32_t y[3] = {0, 1, 1};
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_from_arrays(3, 2, x, y, 2, NULL, 0, &err);
    srch_shared sh;
    assert_int_equal(srch_share(&sh, d, NULL, &err), 0);
    assert_int_equal(mlpc_dataset_rows(sh.train), 3);
    assert_memory_equal(mlpc_dataset_x(sh.train), x, sizeof x);
    assert_memory_equal(mlpc_dataset_labels(sh.train), y, sizeof y);
    assert_true((const char *)mlpc_dataset_x(sh.train) >= (const char *)sh.base &&
                (const char *)mlpc_dataset_x(sh.train) < (const char *)sh.base + sh.size);
    srch_unshare(&sh); /* frees the views, not the arrays they borrow */
    mlpc_dataset_free(d);
    assert_null(mlpc_dataset_view(3, 0, x, NULL, 0, NULL, 0, "v", &err));
    mlpc_dataset *v = mlpc_dataset_view(3, 2, x, y, 2, NULL, 0, "v", &err);
    assert_non_null(v);
    assert_int_equal(mlpc_dataset_outputs(v), 2);
    mlpc_dataset_free(v);
}

/* a tiny regression set: y = (x0 + x1, x0 - x1) */
static void small_data(mlpc_dataset **train, mlpc_dataset **val)
{
    float x[200 * 2], t[200 * 2];
    uint64_t s = 99;
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 2; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i * 2 + j] = (float)((s >> 40) & 0xFFFF) / 65536.0f;
        }
        t[i * 2] = x[i * 2] + x[i * 2 + 1];
        t[i * 2 + 1] = x[i * 2] - x[i * 2 + 1];
    }
    mlpc_error err;
    *train = mlpc_dataset_from_arrays(150, 2, x, NULL, 0, t, 2, &err);
    *val = mlpc_dataset_from_arrays(50, 2, x + 300, NULL, 0, t + 300, 2, &err);
    assert_non_null(*train);
    assert_non_null(*val);
}

static int run_search(const char *db, const char *study, int workers, const char *text)
{
    srch_space s;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (srch_space_parse(&s, "mem.json", text, &err)) fail_msg("%s", err.msg);
    snprintf(s.study, sizeof s.study, "%s", study);
    if (srch_space_resolve(&s, 1, 1, &err)) fail_msg("%s", err.msg);
    mlpc_dataset *train, *val;
    small_data(&train, &val);
    srch_opts o;
    memset(&o, 0, sizeof o);
    o.db = db;
    o.workers = workers;
    o.quiet = 1;
    o.oversubscribe = 1;
    o.space_text = text;
    int rc = srch_run(&s, &o, &train, &val, &err);
    if (rc) fail_msg("search: %s", err.msg);
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
    return rc;
}

static char *dump(const char *db, const char *study)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mlpc_error err;
    assert_int_equal(srch_report(db, study, 5, 1, f, &err), 0);
    fclose(f);
    return buf;
}

/* One CSV record (RFC 4180) at *p split into fields (255 bytes at most
 * each); returns the count and moves *p past the record's line break. */
static int csv_record(const char **p, char fields[][256], int max)
{
    const char *s = *p;
    int n = 0;
    for (;;) {
        char *f = fields[n < max ? n : max - 1];
        size_t len = 0;
        if (*s == '"') {
            for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
                if (*s == '"') s++; /* "" is one quote */
                if (len < 255) f[len++] = *s;
            }
            if (*s == '"') s++;
        } else {
            for (; *s && *s != ',' && *s != '\n'; s++)
                if (len < 255) f[len++] = *s;
        }
        f[len] = '\0';
        n++;
        if (*s != ',') break;
        s++;
    }
    if (*s == '\n') s++;
    *p = s;
    return n;
}

/* --report --csv: study names with commas, quotes and line breaks are
 * quoted (RFC 4180), so every record has its 7 fields; plain names stay bare. */
static void test_report_csv(void **st)
{
    (void)st;
    static const char *names[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r,\"all\"\n"};
    static const char *params = "{\"layers\":\"2-8-2\",\"note\":\"x,\\\"y\\\"\"}";
    enum { N = sizeof names / sizeof names[0] };
    const char *db = tu_path("csv.db");
    mlpc_error err;
    srch_store *w = srch_store_open(db, 1, &err);
    assert_non_null(w);
    srch_space s;
    assert_int_equal(srch_space_parse(&s, "good.json", GOOD, &err), 0);
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    assert_int_equal(srch_store_begin(w), 0);
    for (int i = 0; i < N; i++) {
        snprintf(s.study, sizeof s.study, "%s", names[i]);
        int64_t study = srch_study_create(w, &s, GOOD, "canon", 42);
        int64_t sess = srch_session_start(w, study, 1, 1, 1, 1, 0, "h", 100);
        int64_t t = srch_trial_begin(w, study, sess, i, 5, params, "mlpc train", 1, "h", 0, 1);
        assert_true(study > 0 && sess > 0 && t > 0);
        assert_int_equal(srch_trial_end(w, t, TS_COMPLETE, 3, 0.25, 0.5, 0.6, NULL), 0);
    }
    assert_int_equal(srch_store_commit(w), 0);
    srch_store_close(w);
    char *out = dump(db, NULL);
    const char *p = out;
    char f[8][256];
    assert_int_equal(csv_record(&p, f, 8), 7);
    assert_string_equal(f[0], "study");
    for (int i = 0; i < N; i++) {
        int n = csv_record(&p, f, 8);
        if (n != 7 || strcmp(f[0], names[i]))
            fail_msg("record %d: %d fields, study \"%s\" for \"%s\" in:\n%s", i + 1, n, f[0], names[i], out);
        assert_int_equal(atoi(f[1]), i);
        assert_string_equal(f[2], "complete");
        assert_string_equal(f[4], "0.25");
        assert_string_equal(f[6], params);
    }
    assert_string_equal(p, "");
    assert_non_null(strstr(out, "\nplain,0,complete,3,0.25,"));
    assert_non_null(strstr(out, "\n\"a,b\",1,"));
    assert_non_null(strstr(out, "\n\"say \"\"hi\"\"\",2,"));
    free(out);
}

static const char *ASHA =
    "{\"sampler\":\"random\",\"trials\":12,\"seed\":5,\"data\":\"lorenz\","
    " \"pruner\":{\"type\":\"asha\",\"min_epochs\":2,\"eta\":2},"
    " \"params\":{\"depth\":{\"min\":1,\"max\":2},\"width\":[4,8],\"act\":\"tanh\",\"opt\":\"adam\","
    " \"lr\":{\"min\":0.001,\"max\":0.1,\"log\":true},\"batch\":16,\"epochs\":[4,8,12]}}";

static void test_search_runs(void **st)
{
    (void)st;
    const char *db = tu_path("run.db");
    run_search(db, "w1", 1, ASHA);
    run_search(db, "w2", 2, ASHA);
    char *a = dump(db, "w1"), *b = dump(db, "w2");
    /* the same trials, states and values bit for bit (study name aside) */
    char *pa = strchr(a, '\n'), *pb = strchr(b, '\n');
    assert_non_null(pa);
    assert_non_null(pb);
    for (char *p = a; *p; p++)
        if (!strncmp(p, "w1,", 3)) p[1] = 'X';
    for (char *p = b; *p; p++)
        if (!strncmp(p, "w2,", 3)) p[1] = 'X';
    assert_string_equal(a, b);
    assert_non_null(strstr(a, ",pruned,"));
    assert_non_null(strstr(a, ",complete,"));
    assert_null(strstr(a, ",failed,"));
    assert_null(strstr(a, ",running,"));
    free(a);
    free(b);
    /* the study is there: without --resume a second run is refused */
    srch_space s;
    mlpc_error err;
    assert_int_equal(srch_space_parse(&s, "mem.json", ASHA, &err), 0);
    snprintf(s.study, sizeof s.study, "w1");
    assert_int_equal(srch_space_resolve(&s, 1, 1, &err), 0);
    mlpc_dataset *train, *val;
    small_data(&train, &val);
    srch_opts o;
    memset(&o, 0, sizeof o);
    o.db = db;
    o.quiet = 1;
    assert_int_equal(srch_run(&s, &o, &train, &val, &err), -1);
    assert_non_null(strstr(err.msg, "--resume"));
    /* with --resume and nothing left, nothing runs again */
    o.resume = 1;
    small_data(&train, &val);
    assert_int_equal(srch_run(&s, &o, &train, &val, &err), 0);
    /* a changed space is refused */
    small_data(&train, &val);
    s.seed = 6;
    assert_int_equal(srch_run(&s, &o, &train, &val, &err), -1);
    assert_non_null(strstr(err.msg, "other settings"));
    /* too many threads per trial for the cores */
    s.seed = 5;
    small_data(&train, &val);
    o.threads = 100000;
    o.resume = 0;
    snprintf(s.study, sizeof s.study, "big");
    assert_int_equal(srch_run(&s, &o, &train, &val, &err), -1);
    assert_non_null(strstr(err.msg, "--oversubscribe"));
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_bad),  cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_asha_rule),  cmocka_unit_test(test_store),      cmocka_unit_test(test_shared_view),
        cmocka_unit_test(test_search_runs), cmocka_unit_test(test_report_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
