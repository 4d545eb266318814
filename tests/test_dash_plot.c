/* test_dash_plot.c - `mlpc plot`'s renderer: axis ticks, and PNG, SVG and PDF
 * files from metrics lines (checked by their headers and PNG size). */
#include "testutil.h"

#include <math.h>

#include <sqlite3.h>

#include "core/searchdb.h"
#include "dash/dash.h"

/* fontconfig (behind cairo's text) keeps a process-wide cache it never
 * frees; that is not a leak of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static void test_nice_ticks(void **state)
{
    (void)state;
    double t[16];
    int n = dash_nice_ticks(0, 10, 6, t);
    assert_int_equal(n, 6);
    assert_float_equal(t[0], 0, 1e-12);
    assert_float_equal(t[1], 2, 1e-12);
    assert_float_equal(t[5], 10, 1e-12);
    n = dash_nice_ticks(0.013, 0.087, 6, t);
    assert_true(n >= 3 && n <= 6);
    for (int i = 0; i < n; i++) assert_true(t[i] >= 0.013 - 1e-12 && t[i] <= 0.087 + 1e-12);
    assert_float_equal(t[1] - t[0], 0.02, 1e-12);
    n = dash_nice_ticks(-1, 1, 5, t);
    assert_float_equal(t[n / 2], 0.0, 0.0); /* exactly zero, not 1e-17 */
    assert_int_equal(dash_nice_ticks(3, 3, 5, t), 1);
}

static dash_runs sample_runs(void)
{
    char text[1 << 14];
    size_t off = 0;
    for (int run = 0; run < 3; run++)
        for (int e = 1; e <= 12; e++)
            off += (size_t)snprintf(
                text + off, sizeof text - off,
                "{\"run\":\"r%d\",\"epoch\":%d,\"loss\":%g,\"acc\":%g,\"val_loss\":%g,\"val_acc\":%g,"
                "\"lr\":%g,\"epoch_seconds\":%g,\"samples_per_second\":%g,\"w_rms\":[%g,%g],"
                "\"g_rms\":[%g,%g]}\n",
                run, e, 1.0 / (e + run), 1 - 0.5 / e, 1.2 / (e + run), 1 - 0.6 / e,
                0.1 * pow(0.9, e), 0.2 + 0.01 * run, 5e4 + 1e3 * e, 0.5 + 0.05 * e, 1 + 0.1 * e,
                1e-2 / e, 1e-3 / e);
    const char *p = tu_write("plot.jsonl", text, off);
    dash_runs r;
    memset(&r, 0, sizeof r);
    char err[256];
    assert_int_equal(dash_runs_load(&r, p, err, sizeof err), 0);
    assert_int_equal(r.n, 3);
    return r;
}

static void head_is(const char *path, const char *magic, size_t n, long min_size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[16] = {0};
    assert_int_equal(fread(buf, 1, n, f), n);
    assert_memory_equal(buf, magic, n);
    fseek(f, 0, SEEK_END);
    assert_true(ftell(f) > min_size);
    fclose(f);
}

static void test_formats(void **state)
{
    (void)state;
    dash_runs r = sample_runs();
    char err[256];
    dash_plot_opts o;
    memset(&o, 0, sizeof o);
    o.log_loss = 1;
    o.title = "test";
    const char *png = tu_path("c.png"), *svg = tu_path("c.svg"), *pdf = tu_path("c.pdf");
    assert_int_equal(dash_plot(&r, png, &o, err, sizeof err), 0);
    head_is(png, "\x89PNG\r\n\x1a\n", 8, 20000);
    assert_int_equal(dash_plot(&r, svg, &o, err, sizeof err), 0);
    head_is(svg, "<?xml", 5, 10000);
    assert_int_equal(dash_plot(&r, pdf, &o, err, sizeof err), 0);
    head_is(pdf, "%PDF", 4, 5000);
    /* the image has the requested size: width and height in the IHDR chunk */
    o.width = 800;
    o.height = 500;
    assert_int_equal(dash_plot(&r, png, &o, err, sizeof err), 0);
    FILE *f = fopen(png, "rb");
    unsigned char h[24];
    assert_int_equal(fread(h, 1, 24, f), 24);
    fclose(f);
    assert_int_equal((h[16] << 24) | (h[17] << 16) | (h[18] << 8) | h[19], 800);
    assert_int_equal((h[20] << 24) | (h[21] << 16) | (h[22] << 8) | h[23], 500);
    dash_runs_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    dash_runs r = sample_runs();
    char err[256];
    assert_int_equal(dash_plot(&r, tu_path("x.gif"), NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "x.gif: use a .png, .svg or .pdf file name"));
    assert_int_equal(dash_plot(&r, "/nonexistent-dir/x.png", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.png"));
    dash_plot_opts o;
    memset(&o, 0, sizeof o);
    o.width = 10;
    o.height = 10;
    assert_int_equal(dash_plot(&r, tu_path("y.png"), &o, err, sizeof err), -1);
    dash_runs_free(&r);
    /* no runs at all still draws empty panels */
    dash_runs none;
    memset(&none, 0, sizeof none);
    assert_int_equal(dash_plot(&none, tu_path("empty.png"), NULL, err, sizeof err), 0);
}

static void sql(sqlite3 *db, const char *q)
{
    char *em = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &em) != SQLITE_OK) fail_msg("%s: %s", q, em);
}

/* `mlpc plot STUDY.db`: the study's figures in the three formats; a study
 * that is not there, and a schema from a newer mlpc, are refused by name. */
static void test_study(void **state)
{
    (void)state;
    const char *path = tu_path("study.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql(db, MLPC_SEARCH_SCHEMA_SQL
            "INSERT INTO studies(id, name, metric, direction, canon) VALUES(1, 's', 'val_acc', 'maximize', 'pruner=asha/1/3');"
            "INSERT INTO sessions(id, study_id, started, ended, workers, cores) VALUES(1, 1, 100, 130, 2, 4);");
    for (int i = 0; i < 12; i++) {
        char q[512];
        snprintf(q, sizeof q,
                 "INSERT INTO trials(study_id, number, state, params, value, epochs, started, ended, cpu_s, wall_s, session_id)"
                 " VALUES(1, %d, '%s', '{\"layers\":\"%s\",\"lr\":%g,\"opt\":\"adam\"}', %g, %d, %d, %d, 2, 2, 1);",
                 i, i % 3 ? "complete" : "pruned", i % 2 ? "3-8-3" : "3-16-3", 0.0001 * (i + 1) * (i + 1),
                 0.5 + 0.03 * i, i % 3 ? 9 : 1, 100 + 2 * i, 103 + 2 * i);
        sql(db, q);
    }
    sqlite3_close(db);
    char err[512];
    dash_plot_opts o;
    memset(&o, 0, sizeof o);
    const char *png = tu_path("study.png"), *svg = tu_path("study.svg"), *pdf = tu_path("study.pdf");
    assert_int_equal(dash_is_sqlite(path), 1);
    assert_int_equal(dash_plot_study(path, NULL, png, &o, err, sizeof err), 0);
    head_is(png, "\x89PNG", 4, 20000);
    assert_int_equal(dash_plot_study(path, "s", svg, &o, err, sizeof err), 0);
    head_is(svg, "<?xml", 5, 5000);
    assert_int_equal(dash_plot_study(path, NULL, pdf, &o, err, sizeof err), 0);
    head_is(pdf, "%PDF", 4, 2000);
    assert_int_equal(dash_plot_study(path, "other", png, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "study.db: no study \"other\" in it"));
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql(db, "UPDATE meta SET value='7' WHERE key='schema';");
    sqlite3_close(db);
    assert_int_equal(dash_plot_study(path, NULL, png, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "study.db: search database schema 7, this mlpc reads schema 1 to"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_ticks),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_study),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
