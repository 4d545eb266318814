/* plot_study.c - `mlpc plot STUDY.db`: a search study's figures drawn with
 * the cairo code of plot.c: optimization history (objective against trial
 * number, with the running best), parallel coordinates of the parameters
 * that vary against the objective, and the search's health (workers busy
 * trials in progress and CPU efficiency over the elapsed time), as the dashboard's study view
 * shows them. */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/searchdb.h"
#include "dash/dash.h"
#include "dash/plot_int.h"
#include "dash/store_int.h"

#define MAX_KEYS DPLOT_MAX_NAMES

typedef struct trial_row {
    int number, pruned, complete;
    double value, started, ended, cpu;
    cJSON *params;
} trial_row;

typedef struct study_data {
    char name[128], metric[32];
    int maximize, workers, cores;
    double t0;
    trial_row *t;
    int n;
} study_data;

static void study_free(study_data *d)
{
    for (int i = 0; i < d->n; i++) cJSON_Delete(d->t[i].params);
    free(d->t);
}

static double dcol(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

/* The study (by name, or the first) and its trials. 0, or -1 with a message. */
static int load_study(sqlite3 *db, const char *want, study_data *d, char *err, size_t cap)
{
    sqlite3_stmt *q = NULL;
    long long id = -1;
    if (sqlite3_prepare_v2(db, MLPC_SEARCH_SQL_STUDIES, -1, &q, NULL) != SQLITE_OK) goto sqlerr;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *nm = (const char *)sqlite3_column_text(q, 1);
        if (want && (!nm || strcmp(nm, want))) continue;
        id = sqlite3_column_int64(q, 0);
        snprintf(d->name, sizeof d->name, "%s", nm ? nm : "");
        const char *m = (const char *)sqlite3_column_text(q, 2), *dir = (const char *)sqlite3_column_text(q, 3);
        snprintf(d->metric, sizeof d->metric, "%s", m ? m : "value");
        d->maximize = dir && !strcmp(dir, "maximize");
        break;
    }
    sqlite3_finalize(q);
    if (id < 0) {
        snprintf(err, cap, want ? "no study \"%s\" in it" : "no study in it", want);
        return -1;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT number, state, coalesce(params,'{}'), value, started, ended, cpu_s"
                           " FROM trials WHERE study_id = ? AND state <> 'queued' ORDER BY number",
                           -1, &q, NULL) != SQLITE_OK)
        goto sqlerr;
    sqlite3_bind_int64(q, 1, id);
    int cap_t = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (d->n == cap_t) {
            cap_t = cap_t ? cap_t * 2 : 64;
            trial_row *nt = realloc(d->t, (size_t)cap_t * sizeof *nt);
            if (!nt) break;
            d->t = nt;
        }
        trial_row *t = &d->t[d->n++];
        const char *st = (const char *)sqlite3_column_text(q, 1);
        t->number = sqlite3_column_int(q, 0);
        t->pruned = st && !strcmp(st, "pruned");
        t->complete = st && !strcmp(st, "complete");
        t->params = cJSON_Parse((const char *)sqlite3_column_text(q, 2));
        t->value = dcol(q, 3);
        t->started = dcol(q, 4);
        t->ended = dcol(q, 5);
        t->cpu = dcol(q, 6);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(db, MLPC_SEARCH_SQL_HEALTH, -1, &q, NULL) != SQLITE_OK) goto sqlerr;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_double(q, 2, mlpc_wall_now());
    d->t0 = NAN;
    if (sqlite3_step(q) == SQLITE_ROW) {
        d->t0 = dcol(q, 1);
        d->workers = sqlite3_column_int(q, 3);
        d->cores = sqlite3_column_int(q, 4);
    }
    sqlite3_finalize(q);
    return 0;
sqlerr:
    snprintf(err, cap, "not an mlpc search database (%s)", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return -1;
}

/* ------------------------------------------------------------------ history */

static void history(const study_data *d, panel *p, double *buf)
{
    double *x = buf, *done = buf + d->n, *pr = buf + 2 * d->n, *best = buf + 3 * d->n;
    double b = NAN;
    for (int i = 0; i < d->n; i++) {
        const trial_row *t = &d->t[i];
        x[i] = t->number;
        done[i] = t->complete ? t->value : NAN;
        pr[i] = t->pruned ? t->value : NAN;
        if (t->complete && isfinite(t->value) && (isnan(b) || (d->maximize ? t->value > b : t->value < b)))
            b = t->value;
        best[i] = b;
    }
    p->xlabel = "trial (dots: objective; grey: pruned, at its rung; red: best so far)";
    dplot_add(p, x, pr, d->n, 1, 7, 0);
    p->lines[p->n - 1].dots = 1;
    dplot_add(p, x, done, d->n, 1, 0, 0);
    p->lines[p->n - 1].dots = 1;
    dplot_add(p, x, best, d->n, 1, 3, 0);
}

/* ------------------------------------------------------------------ parallel coordinates */

static int varies(const study_data *d, const char *key)
{
    char *first = NULL;
    int v = 0;
    for (int i = 0; i < d->n && !v; i++) {
        char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(d->t[i].params, key));
        if (!first)
            first = s;
        else {
            v = strcmp(first, s ? s : "") != 0;
            cJSON_free(s);
        }
    }
    cJSON_free(first);
    return v;
}

/* position 0..1 of each trial's value of `key` on its axis: numbers
 * linearly (log when they span 20x or more), text in sorted order */
static void axis_pos(const study_data *d, const char *key, double *out)
{
    double lo = INFINITY, hi = -INFINITY;
    int text = 0;
    for (int i = 0; i < d->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->t[i].params, key);
        if (cJSON_IsNumber(v)) {
            lo = fmin(lo, v->valuedouble);
            hi = fmax(hi, v->valuedouble);
        } else {
            text = 1;
        }
    }
    int lg = !text && lo > 0 && hi / lo >= 20;
    for (int i = 0; i < d->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->t[i].params, key);
        if (!text) {
            double a = lg ? log10(lo) : lo, b = lg ? log10(hi) : hi;
            double x = lg ? log10(v->valuedouble) : v->valuedouble;
            out[i] = b > a ? (x - a) / (b - a) : 0.5;
            continue;
        }
        /* rank among the distinct texts */
        char *mine = cJSON_PrintUnformatted(v);
        int below = 0, distinct = 0;
        char **seen = calloc((size_t)d->n, sizeof *seen);
        for (int j = 0; seen && j < d->n; j++) {
            char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(d->t[j].params, key));
            int dup = 0;
            for (int k = 0; k < distinct && !dup; k++) dup = !strcmp(seen[k], s ? s : "");
            if (dup || !s) {
                cJSON_free(s);
                continue;
            }
            seen[distinct++] = s;
            if (mine && strcmp(s, mine) < 0) below++;
        }
        out[i] = distinct > 1 ? (double)below / (distinct - 1) : 0.5;
        for (int k = 0; k < distinct; k++) cJSON_free(seen[k]);
        free(seen);
        cJSON_free(mine);
    }
}

/* Lines through the axes (the parameters that vary, then the objective);
 * buf: n x (MAX_KEYS + 1) positions and MAX_KEYS + 1 x values. */
static void parallel(const study_data *d, panel *p, double *buf, const char **names)
{
    int k = 0;
    const cJSON *first = d->n ? d->t[0].params : NULL;
    for (const cJSON *e = first ? first->child : NULL; e && k < MAX_KEYS; e = e->next)
        if (e->string && varies(d, e->string)) names[k++] = e->string;
    int na = k + 1, stride = MAX_KEYS + 1;
    double *xs = buf + (size_t)d->n * stride, *col = malloc((size_t)d->n * sizeof *col);
    if (!col) return;
    for (int a = 0; a < na; a++) xs[a] = a;
    for (int a = 0; a < k; a++) {
        axis_pos(d, names[a], col);
        for (int i = 0; i < d->n; i++) buf[(size_t)i * stride + a] = col[i];
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < d->n; i++)
        if (isfinite(d->t[i].value)) {
            lo = fmin(lo, d->t[i].value);
            hi = fmax(hi, d->t[i].value);
        }
    for (int i = 0; i < d->n; i++) {
        double v = d->t[i].value;
        double q = hi > lo ? (v - lo) / (hi - lo) : 0.5;
        buf[(size_t)i * stride + k] = isfinite(v) ? q : NAN;
        double good = d->maximize ? q : 1 - q;
        /* complete: dark blue for the best quarter, light blue else; pruned: grey dashed */
        int color = d->t[i].pruned ? 7 : good >= 0.75 ? 10 : 20;
        if (isfinite(v)) dplot_add(p, xs, buf + (size_t)i * stride, na, 1, color, d->t[i].pruned);
    }
    free(col);
    names[k] = d->metric;
    p->xnames = names;
    p->n_xnames = na;
    p->xlabel = "each axis from its lowest (0) to its highest value (1); dark: best quarter; grey dashed: pruned";
}

/* ------------------------------------------------------------------ health */

static int cmp_time(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return x < y ? -1 : x > y;
}

/* trials in progress (started, not ended: running, or waiting at an ASHA
 * rung for its decision) after each start and end; CPU efficiency at each end */
static void health(const study_data *d, panel *busy, panel *eff, double *buf)
{
    double *ev = buf; /* pairs (time, +1/-1) */
    int m = 0;
    for (int i = 0; i < d->n; i++) {
        if (isfinite(d->t[i].started)) {
            ev[2 * m] = d->t[i].started;
            ev[2 * m++ + 1] = 1;
        }
        if (isfinite(d->t[i].ended)) {
            ev[2 * m] = d->t[i].ended;
            ev[2 * m++ + 1] = -1;
        }
    }
    qsort(ev, (size_t)m, 2 * sizeof *ev, cmp_time);
    double t0 = isfinite(d->t0) ? d->t0 : m ? ev[0] : 0;
    double *tx = buf + 2 * (size_t)m, *nb = tx + 2 * m, *ex = nb + 2 * m, *ey = ex + m;
    int level = 0, ne = 0;
    double cpu = 0;
    for (int i = 0; i < m; i++) { /* steps: the level before, then after each event */
        tx[2 * i] = tx[2 * i + 1] = ev[2 * i] - t0;
        nb[2 * i] = level;
        level += (int)ev[2 * i + 1];
        nb[2 * i + 1] = level;
    }
    for (int i = 0; i < d->n; i++) /* in end order: trials end roughly in number order */
        if (isfinite(d->t[i].ended)) ne++;
    double *ends = malloc((size_t)(ne + 1) * 2 * sizeof *ends);
    if (ends) {
        int j = 0;
        for (int i = 0; i < d->n; i++)
            if (isfinite(d->t[i].ended)) {
                ends[2 * j] = d->t[i].ended;
                ends[2 * j++ + 1] = isfinite(d->t[i].cpu) ? d->t[i].cpu : 0;
            }
        qsort(ends, (size_t)ne, 2 * sizeof *ends, cmp_time);
        for (int i = 0; i < ne; i++) {
            cpu += ends[2 * i + 1];
            ex[i] = ends[2 * i] - t0;
            ey[i] = ex[i] > 0 && d->cores > 0 ? cpu / (ex[i] * d->cores) : NAN;
        }
        free(ends);
    }
    busy->xlabel = eff->xlabel = "elapsed (s)";
    dplot_add(busy, tx, nb, 2 * m, 1, 2, 0);
    dplot_add(eff, ex, ey, ne, 1, 3, 0);
}

/* ------------------------------------------------------------------ the figure */

static void draw(cairo_t *cr, panel *P, int W, int H, const char *title)
{
    cairo_set_source_rgb(cr, 0.96, 0.96, 0.97);
    cairo_paint(cr);
    double fs = (double)(W < H * 1.5 ? W / 1.5 : H) / 960.0 * 17.0;
    if (fs < 8) fs = 8;
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, fs * 1.3);
    dplot_text(cr, W / 2.0, fs * 0.6, title, 0.5, 0.0);
    double top = fs * 2.6, gap = fs * 0.6;
    double cw = (W - 3 * gap) / 2.0, ch = (H - top - 3 * gap) / 2.0;
    for (int k = 0; k < 4; k++)
        dplot_panel(cr, &P[k], gap + (k % 2) * (cw + gap), top + gap + (k / 2) * (ch + gap), cw, ch, fs);
}

int dash_plot_study(const char *db_path, const char *study, const char *path,
                    const dash_plot_opts *o, char *err, size_t cap)
{
    int W = o && o->width > 0 ? o->width : 1500, H = o && o->height > 0 ? o->height : 960;
    char why[400];
    sqlite3 *db = NULL;
    study_data d;
    memset(&d, 0, sizeof d);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, cap, "%s: cannot open the database (%s)", db_path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 1000);
    int rc = ds_check_version(db, why, sizeof why) || load_study(db, study, &d, why, sizeof why) ? -1 : 0;
    sqlite3_close(db);
    if (rc) {
        snprintf(err, cap, "%s: %s", db_path, why);
        study_free(&d);
        return -1;
    }
    size_t nb = (size_t)d.n * (MAX_KEYS + 8) + 64;
    double *buf = calloc(nb * 2, sizeof *buf);
    panel *P = calloc(4, sizeof *P);
    const char *names[MAX_KEYS + 1];
    if (!buf || !P) {
        snprintf(err, cap, "out of memory");
        rc = -1;
        goto done;
    }
    char t0[160], t1[160];
    snprintf(t0, sizeof t0, "Optimization history: %s (%s)", d.metric, d.maximize ? "maximize" : "minimize");
    snprintf(t1, sizeof t1, "Parallel coordinates: parameters against %s", d.metric);
    P[0].title = t0;
    P[1].title = t1;
    P[2].title = "Trials in progress (started, not ended)";
    P[3].title = "CPU efficiency: trial CPU / (elapsed x cores)";
    history(&d, &P[0], buf);
    parallel(&d, &P[1], buf + 4 * (size_t)d.n, names);
    health(&d, &P[2], &P[3], buf + nb);
    cairo_surface_t *sf = dplot_open(path, W, H, err, cap);
    if (!sf) {
        rc = -1;
        goto done;
    }
    cairo_t *cr = cairo_create(sf);
    char title[300];
    snprintf(title, sizeof title, "%s%sstudy %s: %d trials, %d workers on %d cores",
             o && o->title ? o->title : "", o && o->title ? " - " : "", d.name, d.n, d.workers, d.cores);
    draw(cr, P, W, H, title);
    cairo_destroy(cr);
    rc = dplot_close(sf, path, err, cap);
done:
    free(P);
    free(buf);
    study_free(&d);
    return rc;
}

int dash_is_sqlite(const char *path) { return ds_sqlite_magic(path); }
