/* test_dash_bus.c - the dashboard's metrics bus and training hook: the
 * bounded ring never blocks (drops and counts when full), a concurrent
 * producer loses nothing it was not told about, metrics files are followed
 * as they grow, the log cap drops only batch events, the per-layer RMS, the
 * progress bar text, the --dashboard=PORT argument, and search databases
 * (a trial run again after its worker died starts over). */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "core/searchdb.h"
#include "dash/dash.h"

static dash_rec epoch_rec(int epoch, double loss)
{
    dash_rec r;
    memset(&r, 0, sizeof r);
    r.kind = DASH_REC_EPOCH;
    r.epoch = epoch;
    r.loss = loss;
    r.acc = 0.5;
    r.val_loss = r.val_acc = r.test_loss = r.test_acc = NAN;
    r.mse = r.val_mse = r.test_mse = NAN;
    r.lr = 0.1;
    r.seconds = 1.0;
    r.eval_seconds = 0.1;
    r.sps = 1000;
    return r;
}

/* The whole log as text (caller frees). */
static char *log_text(dash_store *s)
{
    size_t n = dash_store_log_len(s), off = 0;
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    size_t got = dash_store_read(s, &off, buf, n, 0);
    buf[got] = '\0';
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static void test_ring_drops_when_full(void **state)
{
    (void)state;
    dash_store *s = dash_store_create(0);
    dash_run *run = dash_store_add_live(s, "w1", 0, 8);
    assert_non_null(run);
    for (int i = 0; i < 8; i++) {
        dash_rec r = epoch_rec(i + 1, 1.0 / (i + 1));
        assert_int_equal(dash_run_push(run, &r), 0);
    }
    dash_rec r = epoch_rec(9, 0.1);
    assert_int_equal(dash_run_push(run, &r), -1); /* full: dropped, not blocked */
    assert_int_equal(dash_run_dropped(run), 1);
    assert_int_equal(dash_store_poll(s, 0), 8);
    assert_int_equal(dash_run_push(run, &r), 0); /* room again */
    assert_int_equal(dash_store_poll(s, 0), 1);
    char *t = log_text(s);
    assert_int_equal(count(t, "\"type\":\"epoch\""), 9);
    assert_int_equal(count(t, "\"type\":\"run\""), 1);
    assert_non_null(strstr(t, "data: {\"type\":\"run\",\"id\":1,\"name\":\"w1\",\"source\":\"live\""));
    assert_non_null(strstr(t, "\"val_loss\":null"));
    free(t);
    dash_store_free(s);
}

typedef struct prod {
    dash_run *run;
    int n, pushed;
} prod;

static void *producer(void *arg)
{
    prod *p = arg;
    for (int i = 0; i < p->n; i++) {
        dash_rec r = epoch_rec(i + 1, (double)i);
        r.kind = DASH_REC_BATCH;
        r.batch = i + 1;
        r.n_batches = p->n;
        if (dash_run_push(p->run, &r) == 0) p->pushed++;
    }
    return NULL;
}

static void test_concurrent_producer(void **state)
{
    (void)state;
    /* every push either went through or was counted as dropped, and what
     * went through all reaches the log */
    dash_store *s = dash_store_create(0);
    dash_run *run = dash_store_add_live(s, "fast", 0, 256);
    prod p = {run, 200000, 0};
    pthread_t th;
    assert_int_equal(dash_store_start_pump(s, 1), 0);
    pthread_create(&th, NULL, producer, &p);
    pthread_join(th, NULL);
    for (int i = 0; i < 10; i++) dash_store_poll(s, 0);
    char *t = log_text(s);
    assert_int_equal(count(t, "\"type\":\"batch\""), p.pushed);
    assert_int_equal((unsigned long)p.pushed + dash_run_dropped(run), (unsigned long)p.n);
    free(t);
    dash_store_free(s);
}

static void test_log_cap_keeps_epochs(void **state)
{
    (void)state;
    dash_store *s = dash_store_create(4096);
    dash_run *run = dash_store_add_live(s, "capped", 0, 4096);
    for (int i = 0; i < 200; i++) {
        dash_rec r = epoch_rec(1, 0.5);
        r.kind = DASH_REC_BATCH;
        r.batch = i + 1;
        r.n_batches = 1000;
        dash_run_push(run, &r);
        if (i % 50 == 49) {
            dash_rec e = epoch_rec(i / 50 + 1, 0.4);
            dash_run_push(run, &e);
        }
    }
    dash_store_poll(s, 0);
    assert_true(dash_store_log_len(s) <= 2 * 4096);
    char *t = log_text(s);
    assert_int_equal(count(t, "\"type\":\"epoch\""), 4);
    assert_true(count(t, "\"type\":\"batch\"") < 200);
    free(t);
    dash_store_free(s);
}

static void test_end_record_sets_status(void **state)
{
    (void)state;
    dash_store *s = dash_store_create(0);
    dash_run *run = dash_store_add_live(s, "r", 1, 16);
    dash_rec r;
    memset(&r, 0, sizeof r);
    r.kind = DASH_REC_END;
    r.status = DASH_STOPPED;
    dash_run_push(run, &r);
    dash_store_poll(s, 0);
    char *t = log_text(s);
    assert_non_null(strstr(t, "\"regress\":1,\"status\":\"running\""));
    assert_non_null(strstr(t, "\"regress\":1,\"status\":\"stopped\""));
    free(t);
    dash_store_free(s);
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_watch_folder(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/watch", tu_tmpdir());
    mkdir(dir, 0755);
    char sub[700], a[700], b[800];
    snprintf(sub, sizeof sub, "%s/trials", dir);
    mkdir(sub, 0755);
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/t1.jsonl", sub);
    append(a, "{\"run\":\"a\",\"epoch\":1,\"loss\":0.5}\n{\"run\":\"a\",\"epoch\":2,\"loss\":0.4}\n");
    append(a, "{\"run\":\"a\",\"epoch\":1,\"loss\":0.6}\n"); /* a second run with the same name */
    append(a, "not json\n{\"no_epoch\":1}\n");                  /* skipped */
    char err[256];
    dash_store *s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, dir, err, sizeof err), 0);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 2);
    char *t = log_text(s);
    assert_non_null(strstr(t, "\"name\":\"a\""));
    assert_non_null(strstr(t, "\"name\":\"a #2\""));
    assert_int_equal(count(t, "\"type\":\"epoch\""), 3);
    assert_non_null(strstr(t, "\"type\":\"epoch\",\"run\":1,\"x\":2"));
    free(t);

    /* a new file in a subfolder, written in pieces */
    append(b, "{\"run\":\"t1\",\"epoch\":1,\"lo");
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 2); /* half a line: nothing yet */
    append(b, "ss\":0.9,\"mse\":0.3}\n");
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 3);
    t = log_text(s);
    assert_non_null(strstr(t, "\"name\":\"t1\""));
    assert_non_null(strstr(t, "\"regress\":1,\"status\":\"running\"")); /* it just grew */
    assert_non_null(strstr(t, "\"loss\":0.9"));
    free(t);

    assert_int_equal(dash_store_watch(s, tu_path("does-not-exist"), err, sizeof err), -1);
    assert_non_null(strstr(err, "does-not-exist: No such file or directory"));
    dash_store_free(s);
}

static void test_load_once(void **state)
{
    (void)state;
    const char *p = tu_write_str("once.jsonl", "{\"run\":\"old\",\"epoch\":1,\"loss\":0.5}\n"
                                               "{\"run\":\"old\",\"epoch\":2,\"loss\":0.4}");
    char err[256];
    dash_store *s = dash_store_create(0);
    assert_int_equal(dash_store_load_once(s, p, err, sizeof err), 0);
    assert_int_equal(dash_store_load_once(s, tu_path("missing.jsonl"), err, sizeof err), 0);
    dash_store_poll(s, 0);
    char *t = log_text(s);
    assert_non_null(strstr(t, "\"name\":\"old\""));
    assert_non_null(strstr(t, "\"status\":\"done\""));
    assert_int_equal(count(t, "\"type\":\"epoch\""), 2); /* the last line had no newline */
    free(t);
    /* lines appended later are not read: the file is the live run's own */
    append(p, "\n{\"run\":\"new\",\"epoch\":1,\"loss\":0.5}\n");
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 1);
    dash_store_free(s);
}

static void test_layer_rms(void **state)
{
    (void)state;
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error err;
    assert_int_equal(mlpc_config_set_layers(&cfg, "3-2-2", &err), MLPC_OK);
    mlpc_net *net = mlpc_net_create(&cfg, &err);
    assert_non_null(net);
    float *w0 = mlpc_net_weights(net, 0), *w1 = mlpc_net_weights(net, 1);
    for (int i = 0; i < 6; i++) w0[i] = 2.0f;               /* rms 2 */
    for (int i = 0; i < 4; i++) w1[i] = i % 2 ? 3.0f : -3.0f; /* rms 3 */
    mlpc_net_biases(net, 0)[0] = 100.0f;                    /* biases do not count */
    size_t np = mlpc_net_param_count(net);
    float *g = calloc(np, sizeof *g);
    g[w0 - mlpc_net_params(net)] = 6.0f; /* one of six: rms sqrt(6) */
    float wr[MLPC_MAX_LAYERS], gr[MLPC_MAX_LAYERS];
    assert_int_equal(dash_layer_rms(net, g, wr, gr), 2);
    assert_float_equal(wr[0], 2.0, 1e-6);
    assert_float_equal(wr[1], 3.0, 1e-6);
    assert_float_equal(gr[0], sqrt(6.0), 1e-5);
    assert_float_equal(gr[1], 0.0, 1e-9);
    char buf[256];
    assert_true(dash_rms_json(net, g, buf, sizeof buf) > 0);
    assert_string_equal(buf, ",\"w_rms\":[2,3],\"g_rms\":[2.44949,0]");
    assert_int_equal(dash_rms_json(net, g, buf, 8), -1);
    free(g);
    mlpc_net_free(net);
}

static void test_progress_bar_text(void **state)
{
    (void)state;
    char b[256];
    dash_bar_format(b, sizeof b, 100, 3, 10, 2500, 5000, 1.0, 0.0234, 0.95123);
    assert_string_equal(b, "epoch  3/10  2500/5000 [===============>..............] ETA 1.0s  loss "
                           "0.0234  acc 0.9512");
    dash_bar_format(b, sizeof b, 100, 10, 10, 5000, 5000, 2.5, 0.01, NAN);
    assert_non_null(strstr(b, "[==============================] 2.50s  loss 0.01"));
    dash_bar_format(b, sizeof b, 40, 1, 1, 1, 3, 1.0, 0.5, 0.5); /* narrow: no bar */
    assert_null(strchr(b, '['));
    assert_true(strlen(b) < 60);
    char e[32];
    dash_eta_format(e, sizeof e, 3.21);
    assert_string_equal(e, "3.2s");
    dash_eta_format(e, sizeof e, 42.4);
    assert_string_equal(e, "42s");
    dash_eta_format(e, sizeof e, 187);
    assert_string_equal(e, "3:07");
    dash_eta_format(e, sizeof e, 3723);
    assert_string_equal(e, "1:02:03");
    dash_eta_format(e, sizeof e, NAN);
    assert_string_equal(e, "0.0s");
}

static void test_hook_publishes_and_chains(void **state)
{
    (void)state;
    dash_store *s = dash_store_create(0);
    dash_run *run = dash_store_add_live(s, "h", 0, 1024);
    dash_hook_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 2;
    o.n_batches = 1000;
    o.batch_size = 10;
    o.live = run;
    o.min_interval_ms = 50;
    dash_hook *h = dash_hook_create(&o);
    assert_int_equal(dash_hook_every(h), 20); /* n_batches / 50 */
    /* 1000 batches over 1 s: at most one record per 50 ms */
    for (long b = 20; b <= 1000; b += 20) {
        mlpc_batch_info bi = {1, b, 1000, 0.5, 0.8, 0.5, 0.8, 0.1f, (double)b / 1000.0};
        assert_int_equal(dash_hook_batch(NULL, &bi, h), 0);
    }
    dash_store_poll(s, 0);
    char *t = log_text(s);
    int n = count(t, "\"type\":\"batch\"");
    assert_true(n >= 15 && n <= 20);
    assert_non_null(strstr(t, "\"samples_per_second\":10000"));
    free(t);
    dash_hook_end(h, DASH_DONE);
    dash_store_poll(s, 0);
    t = log_text(s);
    assert_non_null(strstr(t, "\"status\":\"done\""));
    free(t);
    dash_hook_free(h);
    dash_store_free(s);
}

static void test_port_argument(void **state)
{
    (void)state;
    char a0[] = "--epochs", a1[] = "3", a2[] = "--dashboard=8123", a3[] = "--", a4[] = "--dashboard=9";
    char *argv[] = {a0, a1, a2, a3, a4};
    int port = -1;
    char err[128];
    assert_int_equal(dash_take_port_arg(5, argv, &port, err, sizeof err), 0);
    assert_int_equal(port, 8123);
    assert_string_equal(argv[2], "--dashboard");
    assert_string_equal(argv[4], "--dashboard=9"); /* after "--": untouched */
    char b0[] = "--dashboard=true";
    char *argv2[] = {b0};
    port = -1;
    assert_int_equal(dash_take_port_arg(1, argv2, &port, err, sizeof err), 0);
    assert_int_equal(port, -1);
    assert_string_equal(argv2[0], "--dashboard=true"); /* left to the switch parser */
    char c0[] = "--dashboard=70000";
    char *argv3[] = {c0};
    assert_int_equal(dash_take_port_arg(1, argv3, &port, err, sizeof err), -1);
    assert_non_null(strstr(err, "--dashboard=70000"));
}

static void test_runs_loader(void **state)
{
    (void)state;
    const char *p = tu_write_str(
        "runs.jsonl",
        "{\"run\":\"x\",\"epoch\":1,\"loss\":1,\"acc\":0.5,\"val_loss\":null,\"lr\":0.1,"
        "\"w_rms\":[1,2],\"g_rms\":[0.1,0.2]}\n"
        "{\"run\":\"x\",\"epoch\":2,\"loss\":0.5,\"acc\":0.7,\"lr\":0.1,\"w_rms\":[1.5,2.5],"
        "\"g_rms\":[0.1,0.2]}\n"
        "\n"
        "{\"run\":\"y\",\"epoch\":1,\"loss\":2,\"mse\":4}\n"
        "{\"run\":\"x\",\"epoch\":1,\"loss\":0.9}\n");
    dash_runs r;
    memset(&r, 0, sizeof r);
    char err[256];
    assert_int_equal(dash_runs_load(&r, p, err, sizeof err), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.s[0].name, "x");
    assert_int_equal(r.s[0].n, 2);
    assert_int_equal(r.s[0].n_layers, 2);
    assert_float_equal(r.s[0].w_rms[2 + 1], 2.5, 1e-12);
    assert_true(isnan(r.s[0].val_loss[0]));
    assert_string_equal(r.s[1].name, "y");
    assert_true(r.s[1].regress);
    assert_string_equal(r.s[2].name, "x #2");
    dash_runs_free(&r);
    const char *bad = tu_write_str("bad.jsonl", "{\"epoch\":1}\n[1,2]\n");
    assert_int_equal(dash_runs_load(&r, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.jsonl:2: not a JSON object"));
    dash_runs_free(&r);
    const char *empty = tu_write_str("empty.jsonl", "\n");
    assert_int_equal(dash_runs_load(&r, empty, err, sizeof err), -1);
    assert_non_null(strstr(err, "no metrics lines"));
    dash_runs_free(&r);
}

static void sql(sqlite3 *db, const char *q)
{
    char *em = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &em) != SQLITE_OK) fail_msg("%s: %s", q, em);
}

/* A search database as src/search/studydb.c writes it (the tables read). */
static void test_watch_search_db(void **state)
{
    (void)state;
    const char *path = tu_path("search.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql(db, "PRAGMA journal_mode=WAL;"
            MLPC_SEARCH_SCHEMA_SQL /* core/searchdb.h, as mlpc search writes it */
            "INSERT INTO studies(id, name) VALUES(1, 'w4');"
            "INSERT INTO trials(id, study_id, number, state, params) VALUES(1, 1, 0, 'complete', '{\"layers\":\"3-8-3\"}');"
            "INSERT INTO trials(id, study_id, number, state, params) VALUES(2, 1, 1, 'running', '{\"layers\":\"3-16-3\"}');"
            "INSERT INTO trials(id, study_id, number, state, params) VALUES(3, 1, 2, 'queued', '{}');"
            "INSERT INTO metrics VALUES(1, 1, 0.9, NULL, 0.9, 1.0, NULL, 1.0, 0.01);"
            "INSERT INTO metrics VALUES(1, 2, 0.5, NULL, 0.5, 0.6, NULL, 0.6, 0.01);"
            "INSERT INTO metrics VALUES(2, 1, 0.8, NULL, 0.8, 0.9, NULL, 0.9, 0.01);");
    char err[256];
    dash_store *s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, path, err, sizeof err), 0);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 2); /* the queued trial is not a run yet */
    char *t = log_text(s);
    assert_non_null(strstr(t, "\"name\":\"w4 #0 3-8-3\""));
    assert_non_null(strstr(t, "\"name\":\"w4 #1 3-16-3\""));
    assert_non_null(strstr(t, "\"regress\":1,\"status\":\"done\""));
    assert_non_null(strstr(t, "\"regress\":1,\"status\":\"running\""));
    assert_int_equal(count(t, "\"type\":\"epoch\""), 3);
    free(t);
    /* the search goes on: a new epoch, a trial ends, a queued one starts */
    sql(db, "INSERT INTO metrics VALUES(2, 2, 0.4, NULL, 0.4, 0.5, NULL, 0.5, 0.01);"
            "UPDATE trials SET state='pruned' WHERE id=2;"
            "UPDATE trials SET state='running' WHERE id=3;"
            "INSERT INTO metrics VALUES(3, 1, 0.7, NULL, 0.7, 0.8, NULL, 0.8, 0.01);");
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 3);
    t = log_text(s);
    assert_int_equal(count(t, "\"type\":\"epoch\""), 5);
    assert_non_null(strstr(t, "\"status\":\"stopped\""));
    assert_non_null(strstr(t, "\"type\":\"epoch\",\"run\":2,\"x\":2"));
    free(t);
    dash_store_poll(s, 0); /* nothing new: nothing appended */
    size_t len = dash_store_log_len(s);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_log_len(s), len);
    dash_store_free(s);
    sqlite3_close(db);

    /* a SQLite file that is not a search database */
    const char *other = tu_path("other.db");
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    sql(db, "CREATE TABLE x(a);");
    sqlite3_close(db);
    s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, other, err, sizeof err), -1);
    assert_non_null(strstr(err, "other.db: not an mlpc search database"));
    /* in a watched folder, search databases are found and other .db files ignored */
    assert_int_equal(dash_store_watch(s, tu_tmpdir(), err, sizeof err), 0);
    dash_store_poll(s, 0);
    dash_store_poll(s, 0);
    t = log_text(s);
    assert_non_null(strstr(t, "\"name\":\"w4 #0 3-8-3\""));
    free(t);
    dash_store_free(s);
}

/* The study view's data: a "study" event (metric, direction, pruner), one
 * "trial" event per trial that ran (parameters, state, epochs, value, times;
 * again when its row changes; a pruned trial keeps its run) and "health"
 * events (workers busy, efficiency) for the running session; the schema
 * version is checked before anything is read. */
static void test_search_db_study(void **state)
{
    (void)state;
    const char *path = tu_path("study.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char q[2048];
    double now = (double)time(NULL);
    sql(db, "PRAGMA journal_mode=WAL;" MLPC_SEARCH_SCHEMA_SQL);
    snprintf(q, sizeof q,
             "INSERT INTO studies(id, name, metric, direction, sampler, canon, n_trials)"
             " VALUES(1, 'st', 'val_acc', 'maximize', 'random', 'data=x sampler=random pruner=asha/1/3', 4);"
             "INSERT INTO sessions(id, study_id, started, state, workers, cores) VALUES(1, 1, %.3f, 'running', 2, 2);"
             "INSERT INTO trials(id, study_id, number, state, params, value, epochs, attempts, started, ended,"
             " cpu_s, wall_s, session_id) VALUES"
             " (1, 1, 0, 'complete', '{\"layers\":\"3-8-3\",\"lr\":0.01}', 0.9, 3, 1, %.3f, %.3f, 4, 4, 1),"
             " (2, 1, 1, 'pruned', '{\"layers\":\"3-4-3\",\"lr\":0.1}', 0.5, 1, 1, %.3f, %.3f, 2, 2, 1),"
             " (3, 1, 2, 'running', '{\"layers\":\"3-2-3\",\"lr\":0.001}', NULL, NULL, 1, %.3f, NULL, NULL, NULL, 1),"
             " (4, 1, 3, 'queued', '{}', NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL);"
             "INSERT INTO metrics VALUES(1, 1, 0.9, 0.5, NULL, 1.0, 0.6, NULL, 1),"
             " (1, 2, 0.5, 0.7, NULL, 0.6, 0.8, NULL, 1), (1, 3, 0.4, 0.8, NULL, 0.5, 0.9, NULL, 1),"
             " (2, 1, 1.5, 0.3, NULL, 1.4, 0.5, NULL, 1);",
             now - 10, now - 10, now - 6, now - 6, now - 4, now - 2);
    sql(db, q);
    char err[256];
    dash_store *s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, path, err, sizeof err), 0);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 3); /* running before its first epoch ends: a run */
    char *t = log_text(s);
    assert_non_null(strstr(t, "\"type\":\"study\",\"id\":1,\"name\":\"st\""));
    assert_non_null(strstr(t, "\"direction\":\"maximize\",\"sampler\":\"random\",\"pruner\":\"asha\","
                              "\"min_epochs\":1,\"eta\":3,\"n_trials\":4"));
    assert_int_equal(count(t, "\"type\":\"trial\""), 3);
    const char *pr = strstr(t, "\"type\":\"trial\",\"run\":2,\"study\":1,\"number\":1,\"state\":\"pruned\"");
    assert_non_null(pr);
    assert_true(strstr(t, "\"type\":\"run\",\"id\":2,") < pr); /* its run first */
    assert_non_null(strstr(pr, "\"params\":{\"layers\":\"3-4-3\",\"lr\":0.1},\"value\":0.5,\"epochs\":1"));
    assert_non_null(strstr(t, "\"number\":2,\"state\":\"running\",\"attempts\":1,\"params\":{\"layers\":\"3-2-3\",\"lr\":0.001},\"value\":null"));
    const char *h = strstr(t, "\"type\":\"health\"");
    assert_non_null(h);
    assert_non_null(strstr(h, "\"running\":1,\"workers\":2,\"cores\":2,\"busy\":1,\"done\":2,\"trial_cpu_s\":6,"));
    double elapsed = atof(strstr(h, "\"elapsed\":") + 10);
    double eff = atof(strstr(h, "\"efficiency\":") + 13);
    assert_true(elapsed >= 9.5 && elapsed < 60);
    assert_true(fabs(eff - 6.0 / (elapsed * 2)) < 1e-3);
    free(t);
    /* the running trial ends: one more trial event, its state "complete" */
    sql(db, "INSERT INTO metrics VALUES(3, 1, 0.8, 0.6, NULL, 0.9, 0.7, NULL, 1);"
            "UPDATE trials SET state='complete', value=0.7, epochs=1, cpu_s=1, wall_s=1 WHERE id=3;");
    dash_store_poll(s, 0);
    t = log_text(s);
    assert_int_equal(count(t, "\"type\":\"trial\""), 4);
    assert_non_null(strstr(t, "\"number\":2,\"state\":\"complete\""));
    free(t);
    dash_store_free(s);

    /* a newer schema is refused, naming the versions */
    sql(db, "UPDATE meta SET value='99' WHERE key='schema';");
    s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "study.db: search database schema 99, this mlpc reads schema 1 to 1"));
    sql(db, "DROP TABLE meta;");
    assert_int_equal(dash_store_watch(s, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an mlpc search database"));
    dash_store_free(s);
    sqlite3_close(db);
}

/* The epoch events of run `id` in the log after its last reset (the page's
 * view of it): their epochs into ep (at most cap), the count returned. */
static int epochs_since_reset(const char *log, int id, int *ep, int cap)
{
    char run[64], reset[64], rec[64];
    snprintf(run, sizeof run, "\"type\":\"run\",\"id\":%d,", id);
    snprintf(rec, sizeof rec, "\"type\":\"epoch\",\"run\":%d,\"x\":", id);
    snprintf(reset, sizeof reset, "\"reset\":1");
    const char *from = log;
    for (const char *p = log; (p = strstr(p, run)) != NULL; p++) {
        const char *end = strstr(p, "\n\n"); /* the end of the event */
        const char *r = strstr(p, reset);
        if (r && end && r < end) from = end;
    }
    int n = 0;
    for (const char *p = from; (p = strstr(p, rec)) != NULL; p += strlen(rec))
        if (n < cap) ep[n++] = atoi(p + strlen(rec));
        else n++;
    return n;
}

/* A trial whose worker died runs again (mlpc search --retry): the search
 * requeues it (state queued, its metrics deleted), then starts it again with
 * attempts + 1 and writes epochs from 1. The dashboard's run starts over too:
 * a reset, then the new attempt's epochs only, whether or not a poll saw
 * the queued state in between, and whether the new attempt has fewer or
 * more epochs than the first one had. */
static void test_search_db_retry(void **state)
{
    (void)state;
    const char *path = tu_path("retry.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql(db, "PRAGMA journal_mode=WAL;"
            MLPC_SEARCH_SCHEMA_SQL /* core/searchdb.h, as mlpc search writes it */
            "INSERT INTO studies(id, name) VALUES(1, 'r');"
            "INSERT INTO trials(id, study_id, number, state, params, attempts) VALUES(1, 1, 0, 'running', '{\"layers\":\"3-8-3\"}', 1);"
            "INSERT INTO trials(id, study_id, number, state, params, attempts) VALUES(2, 1, 1, 'running', '{\"layers\":\"3-4-3\"}', 1);"
            "INSERT INTO trials(id, study_id, number, state, params, attempts) VALUES(3, 1, 2, 'running', '{\"layers\":\"3-2-3\"}', 1);");
    for (int id = 1; id <= 3; id++)
        for (int e = 1; e <= 5; e++) {
            char q[200];
            snprintf(q, sizeof q, "INSERT INTO metrics VALUES(%d, %d, %g, NULL, 1, 1, NULL, 1, 0.01);", id, e, 1.0 / e);
            sql(db, q);
        }
    char err[256];
    dash_store *s = dash_store_create(0);
    assert_int_equal(dash_store_watch(s, path, err, sizeof err), 0);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_runs(s), 3);
    char *t = log_text(s);
    int ep[16];
    for (int id = 1; id <= 3; id++) assert_int_equal(epochs_since_reset(t, id, ep, 16), 5);
    free(t);
    /* the workers of trials 1 and 2 die: requeued (as srch_trial_requeue) */
    sql(db, "UPDATE trials SET state='queued' WHERE id IN (1, 2);"
            "DELETE FROM metrics WHERE trial_id IN (1, 2);");
    dash_store_poll(s, 0); /* sees them queued */
    t = log_text(s);
    assert_int_equal(count(t, "\"reset\":1"), 2);
    assert_int_equal(epochs_since_reset(t, 1, ep, 16), 0);
    assert_int_equal(epochs_since_reset(t, 2, ep, 16), 0);
    free(t);
    /* they run again (as srch_trial_begin): trial 1 reaches epoch 2, trial 2 epoch 7 */
    sql(db, "UPDATE trials SET state='running', attempts=2 WHERE id IN (1, 2);"
            "INSERT INTO metrics VALUES(1, 1, 0.7, NULL, 0.7, 0.7, NULL, 0.7, 0.01);"
            "INSERT INTO metrics VALUES(1, 2, 0.6, NULL, 0.6, 0.6, NULL, 0.6, 0.01);");
    for (int e = 1; e <= 7; e++) {
        char q[200];
        snprintf(q, sizeof q, "INSERT INTO metrics VALUES(2, %d, 0.5, NULL, 0.5, 0.5, NULL, 0.5, 0.01);", e);
        sql(db, q);
    }
    /* trial 3 dies and runs again between two polls: the dashboard never sees it queued */
    sql(db, "UPDATE trials SET attempts=2 WHERE id=3;"
            "DELETE FROM metrics WHERE trial_id=3;"
            "INSERT INTO metrics VALUES(3, 1, 0.9, NULL, 0.9, 0.9, NULL, 0.9, 0.01);"
            "INSERT INTO metrics VALUES(3, 2, 0.8, NULL, 0.8, 0.8, NULL, 0.8, 0.01);"
            "INSERT INTO metrics VALUES(3, 3, 0.7, NULL, 0.7, 0.7, NULL, 0.7, 0.01);");
    dash_store_poll(s, 0);
    t = log_text(s);
    assert_int_equal(count(t, "\"reset\":1"), 3); /* no second reset for 1 and 2 */
    assert_int_equal(epochs_since_reset(t, 1, ep, 16), 2);
    assert_true(ep[0] == 1 && ep[1] == 2);
    assert_int_equal(epochs_since_reset(t, 2, ep, 16), 7);
    for (int e = 0; e < 7; e++) assert_int_equal(ep[e], e + 1);
    assert_int_equal(epochs_since_reset(t, 3, ep, 16), 3);
    for (int e = 0; e < 3; e++) assert_int_equal(ep[e], e + 1);
    free(t);
    /* then it goes on as usual: trial 1's next epoch, and its end */
    sql(db, "INSERT INTO metrics VALUES(1, 3, 0.5, NULL, 0.5, 0.5, NULL, 0.5, 0.01);"
            "UPDATE trials SET state='complete' WHERE id=1;");
    dash_store_poll(s, 0);
    size_t len = dash_store_log_len(s);
    dash_store_poll(s, 0);
    assert_int_equal(dash_store_log_len(s), len);
    t = log_text(s);
    assert_int_equal(count(t, "\"reset\":1"), 3);
    assert_int_equal(epochs_since_reset(t, 1, ep, 16), 3);
    assert_int_equal(ep[2], 3);
    assert_non_null(strstr(t, "\"name\":\"r #0 3-8-3\",\"source\""));
    free(t);
    dash_store_free(s);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_drops_when_full),  cmocka_unit_test(test_concurrent_producer),
        cmocka_unit_test(test_log_cap_keeps_epochs),  cmocka_unit_test(test_end_record_sets_status),
        cmocka_unit_test(test_watch_folder),          cmocka_unit_test(test_load_once),
        cmocka_unit_test(test_layer_rms),             cmocka_unit_test(test_progress_bar_text),
        cmocka_unit_test(test_hook_publishes_and_chains), cmocka_unit_test(test_port_argument),
        cmocka_unit_test(test_runs_loader),           cmocka_unit_test(test_watch_search_db),
        cmocka_unit_test(test_search_db_retry),       cmocka_unit_test(test_search_db_study),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
