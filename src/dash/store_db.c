/* store_db.c - search databases (src/search/studydb.c, schema in
 * core/searchdb.h) followed while the search writes them: trials become
 * runs, their metrics rows epoch events; each trial's row (parameters,
 * state, value, epochs, times) a "trial" event, each study a "study" event
 * and the search's use of its workers over time "health" events. Opened
 * read-only after a schema version check; the search writes in WAL mode, so
 * reading never blocks it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/searchdb.h"
#include "dash/store_int.h"

#define HEALTH_EVERY_S 1.0 /* least time between two health events of a running study */
#define MAX_STUDIES 64

typedef struct wstudy {
    long long id;
    unsigned long long sig; /* of the study event sent; 0: none */
    double last_health;
    unsigned long long health_sig;
} wstudy;

/* one trial row followed */
typedef struct wtrial {
    long long id;
    dash_run *run;
    unsigned long long sig; /* of the trial event sent; 0: none */
} wtrial;

struct wdb {
    char *path;
    sqlite3 *db;
    sqlite3_stmt *trials, *rows, *studies, *health;
    wtrial *t;
    int n, cap;
    wstudy st[MAX_STUDIES];
    int n_st;
};

void ds_wdb_free(wdb *w)
{
    if (!w) return;
    sqlite3_finalize(w->trials);
    sqlite3_finalize(w->rows);
    sqlite3_finalize(w->studies);
    sqlite3_finalize(w->health);
    sqlite3_close(w->db);
    free(w->path);
    free(w->t);
    free(w);
}

/* A search database found in a watched folder (tried once per path). */
void ds_add_db(dash_store *s, const char *path)
{
    for (int i = 0; i < s->n_dbs; i++)
        if (!strcmp(s->dbs[i]->path, path)) return;
    for (int i = 0; i < s->n_tried; i++)
        if (!strcmp(s->tried[i], path)) return;
    char **nt = realloc(s->tried, (size_t)(s->n_tried + 1) * sizeof *nt);
    if (!nt) return;
    s->tried = nt;
    if (!(s->tried[s->n_tried] = strdup(path))) return;
    s->n_tried++;
    char err[8];
    wdb *w = ds_sqlite_magic(path) ? ds_open_db(path, err, sizeof err) : NULL;
    if (!w) return; /* some other .db file */
    wdb **nd = realloc(s->dbs, (size_t)(s->n_dbs + 1) * sizeof *nd);
    if (!nd) {
        ds_wdb_free(w);
        return;
    }
    s->dbs = nd;
    s->dbs[s->n_dbs++] = w;
}

int ds_watch_db(dash_store *s, const char *path, char *err, size_t cap)
{
    wdb *w = ds_open_db(path, err, cap);
    if (!w) return -1;
    pthread_mutex_lock(&s->mu);
    wdb **nd = realloc(s->dbs, (size_t)(s->n_dbs + 1) * sizeof *nd);
    if (!nd) {
        pthread_mutex_unlock(&s->mu);
        ds_wdb_free(w);
        ds_errf(err, cap, path, "out of memory");
        return -1;
    }
    s->dbs = nd;
    s->dbs[s->n_dbs++] = w;
    s->last_file_poll = -1e30;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int ds_sqlite_magic(const char *path)
{
    char head[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == 16 && memcmp(head, "SQLite format 3", 16) == 0;
}

/* The schema version the search wrote (meta 'schema'): 0 when readable, or
 * -1 with the reason in why. */
int ds_check_version(sqlite3 *db, char *why, size_t cap)
{
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, MLPC_SEARCH_SQL_VERSION, -1, &q, NULL) != SQLITE_OK) {
        snprintf(why, cap, "not an mlpc search database (%s)", sqlite3_errmsg(db));
    } else if (sqlite3_step(q) != SQLITE_ROW || sqlite3_column_type(q, 0) == SQLITE_NULL) {
        snprintf(why, cap, "not an mlpc search database (no schema version in its meta table)");
    } else {
        int v = sqlite3_column_int(q, 0);
        if (v >= 1 && v <= MLPC_SEARCH_SCHEMA_VERSION)
            rc = 0;
        else
            snprintf(why, cap,
                     "search database schema %d, this mlpc reads schema 1 to %d: use the mlpc that "
                     "wrote it, or a newer one",
                     v, MLPC_SEARCH_SCHEMA_VERSION);
    }
    sqlite3_finalize(q);
    return rc;
}

wdb *ds_open_db(const char *path, char *err, size_t cap)
{
    wdb *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        ds_errf(err, cap, path, "out of memory");
        return NULL;
    }
    char why[300];
    if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(why, sizeof why, "cannot open the database (%s)",
                 w->db ? sqlite3_errmsg(w->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(w->db, 50);
    if (ds_check_version(w->db, why, sizeof why)) goto fail;
    if (sqlite3_prepare_v2(w->db, MLPC_SEARCH_SQL_TRIALS, -1, &w->trials, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db, MLPC_SEARCH_SQL_ROWS, -1, &w->rows, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db, MLPC_SEARCH_SQL_STUDIES, -1, &w->studies, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db, MLPC_SEARCH_SQL_HEALTH, -1, &w->health, NULL) != SQLITE_OK) {
        snprintf(why, sizeof why, "not an mlpc search database (%s)", sqlite3_errmsg(w->db));
        goto fail;
    }
    return w;
fail:
    ds_errf(err, cap, path, why);
    ds_wdb_free(w);
    return NULL;
}

static double col(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

static const char *coltext(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

static int trial_status(const char *st)
{
    if (!strcmp(st, "complete")) return DASH_DONE;
    if (!strcmp(st, "pruned")) return DASH_STOPPED;
    if (!strcmp(st, "failed")) return DASH_FAILED;
    return DASH_RUNNING;
}

/* FNV-1a over bytes, to notice a changed row without keeping it */
static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static unsigned long long row_sig(sqlite3_stmt *q, int from, int to)
{
    unsigned long long h = 1469598103934665603ULL;
    for (int i = from; i < to; i++) {
        const unsigned char *t = sqlite3_column_text(q, i);
        h = t ? fnv(h, t, strlen((const char *)t) + 1) : fnv(h, "\1null", 6);
    }
    return h ? h : 1;
}

static wstudy *study_slot(wdb *w, long long id)
{
    for (int i = 0; i < w->n_st; i++)
        if (w->st[i].id == id) return &w->st[i];
    if (w->n_st == MAX_STUDIES) return NULL;
    wstudy *st = &w->st[w->n_st++];
    memset(st, 0, sizeof *st);
    st->id = id;
    st->last_health = -1e30;
    return st;
}

/* "pruner=asha/MIN/ETA" in the study's canonical text (srch_space_canon) */
static void pruner_of(const char *canon, char *kind, size_t cap, int *min_epochs, int *eta)
{
    snprintf(kind, cap, "none");
    *min_epochs = *eta = 0;
    const char *p = strstr(canon, " pruner=");
    if (!p) return;
    char k[16] = "";
    if (sscanf(p + 8, "%15[a-z]/%d/%d", k, min_epochs, eta) >= 1) snprintf(kind, cap, "%s", k);
}

/* One "study" event per study, again when its row changes (finished). */
static int poll_studies(dash_store *s, wdb *w, sbuf *b)
{
    int n = 0;
    sqlite3_reset(w->studies);
    while (sqlite3_step(w->studies) == SQLITE_ROW) {
        wstudy *st = study_slot(w, sqlite3_column_int64(w->studies, 0));
        unsigned long long sig = row_sig(w->studies, 0, 8);
        if (!st || st->sig == sig) continue;
        st->sig = sig;
        char kind[16];
        int min_epochs, eta;
        pruner_of(coltext(w->studies, 5), kind, sizeof kind, &min_epochs, &eta);
        sb_clear(b);
        sb_raw(b, "{");
        sb_kstr(b, "type", "study");
        sb_kint(b, "id", (long)st->id);
        sb_kstr(b, "name", coltext(w->studies, 1));
        sb_kstr(b, "db", w->path);
        sb_kstr(b, "metric", coltext(w->studies, 2));
        sb_kstr(b, "direction", coltext(w->studies, 3));
        sb_kstr(b, "sampler", coltext(w->studies, 4));
        sb_kstr(b, "pruner", kind);
        sb_kint(b, "min_epochs", min_epochs);
        sb_kint(b, "eta", eta);
        sb_kint(b, "n_trials", sqlite3_column_int(w->studies, 6));
        sb_knum(b, "finished", col(w->studies, 7));
        sb_raw(b, "}");
        if (!b->oom) n += ds_append_event(s, b->s, b->len, 0);
    }
    return n;
}

/* The search's health: workers busy, CPU/wall efficiency (trial CPU time of
 * the trials ended / (elapsed x cores), as `mlpc search --report` computes
 * it at the end) and parallelism (trial wall time / elapsed), for each
 * study's latest session, at most every HEALTH_EVERY_S while it changes. */
static int poll_health(dash_store *s, wdb *w, sbuf *b)
{
    int n = 0;
    double now = mlpc_wall_now();
    for (int i = 0; i < w->n_st; i++) {
        wstudy *st = &w->st[i];
        if (now - st->last_health < HEALTH_EVERY_S) continue;
        sqlite3_reset(w->health);
        sqlite3_bind_int64(w->health, 1, st->id);
        sqlite3_bind_double(w->health, 2, now);
        /* reset before leaving: a statement left on a row keeps its read
         * transaction, and later polls would see that old snapshot */
        if (sqlite3_step(w->health) != SQLITE_ROW) {
            sqlite3_reset(w->health);
            continue;
        }
        unsigned long long sig = row_sig(w->health, 0, 9);
        int running = sqlite3_column_type(w->health, 2) == SQLITE_NULL;
        if (sig == st->health_sig && !running) {
            sqlite3_reset(w->health);
            continue;
        }
        st->health_sig = sig;
        st->last_health = now;
        double started = col(w->health, 1), ended = col(w->health, 2);
        double t = running ? now : ended;
        double elapsed = t - started;
        int cores = sqlite3_column_int(w->health, 4);
        double cpu = col(w->health, 6), wall = col(w->health, 7);
        sb_clear(b);
        sb_raw(b, "{");
        sb_kstr(b, "type", "health");
        sb_kint(b, "study", (long)st->id);
        sb_kint(b, "session", sqlite3_column_int(w->health, 0));
        sb_key(b, "time");
        sb_printf(b, "%.3f", t);
        sb_knum(b, "elapsed", elapsed);
        sb_kint(b, "running", running);
        sb_kint(b, "workers", sqlite3_column_int(w->health, 3));
        sb_kint(b, "cores", cores);
        sb_kint(b, "busy", sqlite3_column_int(w->health, 5));
        sb_kint(b, "done", sqlite3_column_int(w->health, 8));
        sb_knum(b, "trial_cpu_s", cpu);
        sb_knum(b, "trial_wall_s", wall);
        sb_knum(b, "efficiency", elapsed > 0 && cores > 0 ? cpu / (elapsed * cores) : NAN);
        sb_knum(b, "parallelism", elapsed > 0 ? wall / elapsed : NAN);
        sb_raw(b, "}");
        sqlite3_reset(w->health);
        if (!b->oom) n += ds_append_event(s, b->s, b->len, 0);
    }
    return n;
}

/* a unix time to the millisecond (sb_knum keeps 7 digits), or null */
static void ktime(sbuf *b, const char *key, double v)
{
    if (isnan(v)) {
        sb_knum(b, key, v);
        return;
    }
    sb_key(b, key);
    sb_printf(b, "%.3f", v);
}

/* The trial's row as a "trial" event: parameters, state, value, epochs,
 * times. Sent after its run event, again whenever the row changes. */
static int emit_trial(dash_store *s, wtrial *t, sqlite3_stmt *q, sbuf *b)
{
    unsigned long long sig = row_sig(q, 1, 14) ^ (unsigned long long)t->run->status;
    if (sig == t->sig || t->run->status_sent < 0) return 0;
    t->sig = sig;
    sb_clear(b);
    sb_raw(b, "{");
    sb_kstr(b, "type", "trial");
    sb_kint(b, "run", t->run->id);
    sb_kint(b, "study", (long)sqlite3_column_int64(q, 13));
    sb_kint(b, "number", sqlite3_column_int(q, 1));
    sb_kstr(b, "state", coltext(q, 2));
    sb_kint(b, "attempts", sqlite3_column_int(q, 5));
    cJSON *pj = cJSON_Parse(coltext(q, 3));
    char *pt = cJSON_IsObject(pj) ? cJSON_PrintUnformatted(pj) : NULL;
    sb_key(b, "params");
    sb_raw(b, pt ? pt : "{}");
    cJSON_free(pt);
    cJSON_Delete(pj);
    sb_knum(b, "value", col(q, 6));
    sb_kint(b, "epochs", sqlite3_column_int(q, 7));
    ktime(b, "started", col(q, 8));
    ktime(b, "ended", col(q, 9));
    sb_knum(b, "cpu_s", col(q, 10));
    sb_knum(b, "wall_s", col(q, 11));
    if (sqlite3_column_type(q, 12) != SQLITE_NULL) sb_kstr(b, "error", coltext(q, 12));
    sb_raw(b, "}");
    return b->oom ? 0 : ds_append_event(s, b->s, b->len, 0);
}

/* The trial's followed entry, made (with its run) when first seen running. */
static wtrial *trial_entry(dash_store *s, wdb *w, sqlite3_stmt *q, int *hint, int queued)
{
    long long id = sqlite3_column_int64(q, 0);
    /* rows come in id order, so the next trial is usually the next entry */
    int k = *hint < w->n && w->t[*hint].id == id ? *hint : -1;
    for (int j = 0; k < 0 && j < w->n; j++)
        if (w->t[j].id == id) k = j;
    if (k < 0 && queued) return NULL; /* not a run yet */
    if (k < 0) {
        if (w->n == w->cap) {
            int c = w->cap ? w->cap * 2 : 64;
            wtrial *nt = realloc(w->t, (size_t)c * sizeof *nt);
            if (!nt) return NULL;
            w->t = nt;
            w->cap = c;
        }
        const char *params = coltext(q, 3), *study = coltext(q, 4);
        char name[128], src[512];
        cJSON *pj = cJSON_Parse(params);
        cJSON *ly = cJSON_GetObjectItemCaseSensitive(pj, "layers");
        snprintf(name, sizeof name, "%.60s #%d%s%.40s", *study ? study : "trial",
                 sqlite3_column_int(q, 1), cJSON_IsString(ly) ? " " : "",
                 cJSON_IsString(ly) ? ly->valuestring : "");
        cJSON_Delete(pj);
        snprintf(src, sizeof src, "%.200s: %.290s", w->path, params);
        dash_run *r = ds_new_run(s, name, src);
        if (!r) return NULL;
        r->trial_id = id;
        r->attempt = sqlite3_column_int(q, 5);
        k = w->n++;
        w->t[k].id = id;
        w->t[k].run = r;
        w->t[k].sig = 0;
    }
    *hint = k + 1;
    return &w->t[k];
}

/* The trial's new metrics rows as epoch events. */
static int trial_rows(dash_store *s, wdb *w, dash_run *r, sbuf *b)
{
    int n = 0;
    sqlite3_reset(w->rows);
    sqlite3_bind_int64(w->rows, 1, r->trial_id);
    sqlite3_bind_int(w->rows, 2, r->last_epoch);
    while (sqlite3_step(w->rows) == SQLITE_ROW) {
        int epoch = sqlite3_column_int(w->rows, 0);
        double mse = col(w->rows, 3);
        if (r->status_sent < 0 || r->regress != !isnan(mse)) { /* with its first row */
            r->regress = !isnan(mse);
            n += ds_emit_run(s, r);
        }
        sb_clear(b);
        sb_raw(b, "{");
        sb_kstr(b, "type", "epoch");
        sb_kint(b, "run", r->id);
        sb_kint(b, "x", epoch);
        sb_kint(b, "epoch", epoch);
        sb_knum(b, "loss", col(w->rows, 1));
        sb_knum(b, "acc", col(w->rows, 2));
        sb_knum(b, "mse", mse);
        sb_knum(b, "val_loss", col(w->rows, 4));
        sb_knum(b, "val_acc", col(w->rows, 5));
        sb_knum(b, "val_mse", col(w->rows, 6));
        sb_knum(b, "epoch_seconds", col(w->rows, 7));
        sb_raw(b, "}");
        if (!b->oom) n += ds_append_event(s, b->s, b->len, 0);
        r->last_epoch = epoch;
    }
    return n;
}

int ds_poll_db(dash_store *s, wdb *w)
{
    int n = 0;
    sbuf b;
    sb_init(&b);
    n += poll_studies(s, w, &b);
    sqlite3_reset(w->trials);
    int hint = 0;
    while (sqlite3_step(w->trials) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(w->trials, 2);
        if (!state) continue;
        int queued = !strcmp(state, "queued");
        int attempt = sqlite3_column_int(w->trials, 5);
        wtrial *t = trial_entry(s, w, w->trials, &hint, queued);
        if (!t) continue;
        dash_run *r = t->run;
        /* Back in the queue (its worker died: --retry, or --resume), or
         * running again: the search deleted the earlier attempt's rows and
         * the trial starts over at epoch 1. The page drops its points, and
         * the rows are read from the first again. */
        if (queued || attempt != r->attempt) {
            if (r->last_epoch > 0 || r->final) {
                r->last_epoch = 0;
                r->final = 0;
                r->status = DASH_RUNNING;
                if (r->status_sent >= 0) n += ds_emit_run_event(s, r, 1);
            }
            r->attempt = attempt;
        }
        if (!r->final && !queued) {
            int status = trial_status(state);
            r->status = status;
            n += trial_rows(s, w, r, &b);
            /* a trial is on the page once it runs, also before its first epoch ends */
            if (r->status_sent < 0 || r->status != r->status_sent) n += ds_emit_run(s, r);
            if (status != DASH_RUNNING) r->final = 1;
        }
        n += emit_trial(s, t, w->trials, &b);
    }
    n += poll_health(s, w, &b);
    sb_free(&b);
    return n;
}
