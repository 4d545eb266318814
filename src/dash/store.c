/* store.c - the dashboard's metrics bus: per-run bounded rings filled by the
 * training thread, metrics files polled for growth, and the append-only
 * event log that every page stream replays and then follows. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dash/dash.h"
#include "dash/sbuf.h"

#define FILE_LIVE_SECONDS 30.0 /* a metrics file that grew this recently is a running run */
#define MAX_FILES 2000
#define MAX_DEPTH 3
#define READ_CHUNK (4u << 20) /* bytes read from one file per poll */
#define MAX_LINE (1u << 20)

typedef struct wfile wfile;
typedef struct wdb wdb;

struct dash_run {
    int id;
    char name[128];
    char source[512]; /* "live" or the metrics file */
    int regress;
    int live;
    int status, status_sent; /* dash_status; status_sent -1: no run event yet */
    /* live runs: single-producer single-consumer ring */
    dash_rec *ring;
    size_t ring_mask;
    _Atomic size_t head; /* next slot the producer writes */
    _Atomic size_t tail; /* next slot the consumer reads */
    atomic_ulong dropped;
    /* file runs */
    wfile *file;
    /* search trials (SQLite) */
    long long trial_id;
    int attempt;    /* trials.attempts of the rows read */
    int last_epoch; /* of this attempt */
    int final;      /* the trial ended and its last metrics were read */
};

typedef struct wkey {
    char name[128];
    dash_run *run;
    double last_epoch;
} wkey;

struct wfile {
    char *path;
    long long off;
    sbuf part; /* an incomplete last line */
    double mtime;
    int once;
    wkey *keys;
    int n_keys, cap_keys;
};

struct dash_store {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long gen; /* bumped on every append and wake */
    sbuf log;
    size_t max_bytes;
    unsigned long dropped_events;
    dash_run **runs;
    int n_runs, cap_runs;
    char **watch;
    int n_watch;
    wfile **files;
    int n_files;
    wdb **dbs;
    int n_dbs;
    char **tried; /* .db files seen in folders */
    int n_tried;
    double last_file_poll;
    pthread_t pump;
    int pump_on;
    atomic_int stop;
    int interval_ms;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void errf(char *err, size_t cap, const char *what, const char *why)
{
    if (err && cap) snprintf(err, cap, "%s: %s", what, why);
}

dash_store *dash_store_create(size_t max_bytes)
{
    dash_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    sb_init(&s->log);
    s->max_bytes = max_bytes ? max_bytes : (size_t)256 << 20;
    s->last_file_poll = -1e30;
    atomic_init(&s->stop, 0);
    return s;
}

static void wfile_free(wfile *f)
{
    if (!f) return;
    free(f->path);
    sb_free(&f->part);
    free(f->keys);
    free(f);
}

/* A search database (src/search/store.c): trials become runs, their rows in
 * the metrics table epoch events. Opened read-only; the search writes it in
 * WAL mode, so reading never blocks it. */
struct wdb {
    char *path;
    sqlite3 *db;
    sqlite3_stmt *trials, *rows;
    dash_run **runs; /* indexed by position in `ids` */
    long long *ids;
    int n, cap;
};

static int sqlite_magic(const char *path);
static wdb *open_db(const char *path, char *err, size_t cap);

static void wdb_free(wdb *w)
{
    if (!w) return;
    sqlite3_finalize(w->trials);
    sqlite3_finalize(w->rows);
    sqlite3_close(w->db);
    free(w->path);
    free(w->runs);
    free(w->ids);
    free(w);
}

void dash_store_free(dash_store *s)
{
    if (!s) return;
    if (s->pump_on) {
        atomic_store(&s->stop, 1);
        pthread_join(s->pump, NULL);
    }
    for (int i = 0; i < s->n_runs; i++) {
        free(s->runs[i]->ring);
        free(s->runs[i]);
    }
    free(s->runs);
    for (int i = 0; i < s->n_watch; i++) free(s->watch[i]);
    free(s->watch);
    for (int i = 0; i < s->n_files; i++) wfile_free(s->files[i]);
    free(s->files);
    for (int i = 0; i < s->n_dbs; i++) wdb_free(s->dbs[i]);
    free(s->dbs);
    for (int i = 0; i < s->n_tried; i++) free(s->tried[i]);
    free(s->tried);
    sb_free(&s->log);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ------------------------------------------------------------------ the log */

static const char *status_name(int st)
{
    switch (st) {
    case DASH_DONE: return "done";
    case DASH_STOPPED: return "stopped";
    case DASH_FAILED: return "failed";
    default: return "running";
    }
}

/* Appends one SSE message "data: JSON\n\n"; batch events are dropped past
 * the cap. Called with the lock held. */
static int append_event(dash_store *s, const char *json, size_t n, int droppable)
{
    size_t limit = droppable ? s->max_bytes : s->max_bytes * 2;
    if (s->log.len + n + 8 > limit) {
        s->dropped_events++;
        return 0;
    }
    sb_raw(&s->log, "data: ");
    sb_mem(&s->log, json, n);
    sb_raw(&s->log, "\n\n");
    s->gen++;
    return 1;
}

/* reset: the run starts over, the page drops its points (a search trial that
 * runs again) */
static int emit_run_event(dash_store *s, dash_run *r, int reset)
{
    sbuf b;
    sb_init(&b);
    sb_raw(&b, "{");
    sb_kstr(&b, "type", "run");
    sb_kint(&b, "id", r->id);
    sb_kstr(&b, "name", r->name);
    sb_kstr(&b, "source", r->source);
    sb_kint(&b, "live", r->live);
    sb_kint(&b, "regress", r->regress);
    sb_kstr(&b, "status", status_name(r->status));
    if (reset) sb_kint(&b, "reset", 1);
    sb_raw(&b, "}");
    int n = b.oom ? 0 : append_event(s, b.s, b.len, 0);
    sb_free(&b);
    r->status_sent = r->status;
    return n;
}

static int emit_run(dash_store *s, dash_run *r) { return emit_run_event(s, r, 0); }

/* A name not used by another run: "w1", else "w1 #2", "w1 #3", ... */
static void unique_name(dash_store *s, const char *want, char *out, size_t cap)
{
    char nm[100]; /* cut once, so " #k" always fits and stays distinct */
    snprintf(nm, sizeof nm, "%.99s", want);
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(out, cap, "%s", nm);
        else
            snprintf(out, cap, "%s #%d", nm, k);
        int used = 0;
        for (int i = 0; i < s->n_runs && !used; i++) used = !strcmp(s->runs[i]->name, out);
        if (!used) return;
    }
}

static dash_run *new_run(dash_store *s, const char *name, const char *source)
{
    if (s->n_runs == s->cap_runs) {
        int cap = s->cap_runs ? s->cap_runs * 2 : 16;
        dash_run **nr = realloc(s->runs, (size_t)cap * sizeof *nr);
        if (!nr) return NULL;
        s->runs = nr;
        s->cap_runs = cap;
    }
    dash_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->id = s->n_runs + 1;
    unique_name(s, name && *name ? name : "run", r->name, sizeof r->name);
    snprintf(r->source, sizeof r->source, "%s", source);
    r->status_sent = -1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
    s->runs[s->n_runs++] = r;
    return r;
}

dash_run *dash_store_add_live(dash_store *s, const char *name, int regress, size_t ring)
{
    size_t cap = 1;
    size_t want = ring ? ring : 4096;
    while (cap < want) cap <<= 1;
    dash_rec *buf = calloc(cap, sizeof *buf);
    if (!buf) return NULL;
    pthread_mutex_lock(&s->mu);
    dash_run *r = new_run(s, name, "live");
    if (r) {
        r->ring = buf;
        r->ring_mask = cap - 1;
        r->live = 1;
        r->regress = regress;
        emit_run(s, r);
        pthread_cond_broadcast(&s->cv);
    } else {
        free(buf);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

int dash_run_push(dash_run *run, const dash_rec *r)
{
    size_t h = atomic_load_explicit(&run->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&run->tail, memory_order_acquire);
    if (h - t > run->ring_mask) {
        atomic_fetch_add_explicit(&run->dropped, 1, memory_order_relaxed);
        return -1;
    }
    run->ring[h & run->ring_mask] = *r;
    atomic_store_explicit(&run->head, h + 1, memory_order_release);
    return 0;
}

unsigned long dash_run_dropped(const dash_run *run)
{
    return atomic_load_explicit(&((dash_run *)run)->dropped, memory_order_relaxed);
}

static void rec_common(sbuf *b, const dash_rec *r)
{
    if (r->n_layers > 0) {
        sb_karr(b, "w_rms", r->w_rms, r->n_layers);
        sb_karr(b, "g_rms", r->g_rms, r->n_layers);
    }
}

/* One ring record as an event. Called with the lock held. */
static int emit_rec(dash_store *s, dash_run *run, const dash_rec *r, sbuf *b)
{
    if (r->kind == DASH_REC_END) {
        run->status = r->status;
        return emit_run(s, run);
    }
    sb_clear(b);
    sb_raw(b, "{");
    if (r->kind == DASH_REC_BATCH) {
        sb_kstr(b, "type", "batch");
        sb_kint(b, "run", run->id);
        double frac = r->n_batches > 0 ? (double)r->batch / (double)r->n_batches : 1.0;
        sb_key(b, "x");
        sb_printf(b, "%.6f", (double)(r->epoch - 1) + frac);
        sb_kint(b, "epoch", r->epoch);
        sb_kint(b, "batch", r->batch);
        sb_kint(b, "n_batches", r->n_batches);
        sb_key(b, "time");
        sb_printf(b, "%.3f", r->time);
        sb_knum(b, "loss", r->loss);
        sb_knum(b, "acc", r->acc);
        sb_knum(b, "lr", r->lr);
        sb_knum(b, "seconds", r->seconds);
        sb_knum(b, "samples_per_second", r->sps);
    } else {
        sb_kstr(b, "type", "epoch");
        sb_kint(b, "run", run->id);
        sb_kint(b, "x", r->epoch);
        sb_kint(b, "epoch", r->epoch);
        sb_key(b, "time");
        sb_printf(b, "%.3f", r->time);
        sb_knum(b, "loss", r->loss);
        sb_knum(b, "acc", r->acc);
        sb_knum(b, "val_loss", r->val_loss);
        sb_knum(b, "val_acc", r->val_acc);
        sb_knum(b, "test_loss", r->test_loss);
        sb_knum(b, "test_acc", r->test_acc);
        sb_knum(b, "mse", r->mse);
        sb_knum(b, "val_mse", r->val_mse);
        sb_knum(b, "test_mse", r->test_mse);
        sb_knum(b, "lr", r->lr);
        sb_knum(b, "epoch_seconds", r->seconds);
        sb_knum(b, "eval_seconds", r->eval_seconds);
        sb_knum(b, "samples_per_second", r->sps);
    }
    rec_common(b, r);
    sb_raw(b, "}");
    if (b->oom) return 0;
    return append_event(s, b->s, b->len, r->kind == DASH_REC_BATCH);
}

static int drain_rings(dash_store *s)
{
    int n = 0;
    sbuf b;
    sb_init(&b);
    for (int i = 0; i < s->n_runs; i++) {
        dash_run *run = s->runs[i];
        if (!run->live) continue;
        size_t t = atomic_load_explicit(&run->tail, memory_order_relaxed);
        size_t h = atomic_load_explicit(&run->head, memory_order_acquire);
        for (; t != h; t++) {
            dash_rec r = run->ring[t & run->ring_mask];
            atomic_store_explicit(&run->tail, t + 1, memory_order_release);
            n += emit_rec(s, run, &r, &b);
        }
    }
    sb_free(&b);
    return n;
}

/* ------------------------------------------------------------------ metrics files */

static void file_stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, cap, "%s", base);
    char *dot = strstr(out, ".jsonl");
    if (dot && dot != out) *dot = '\0';
}

static wkey *file_key(wfile *f, const char *name_in)
{
    char name[sizeof f->keys[0].name]; /* keys hold names cut to their size */
    snprintf(name, sizeof name, "%s", name_in);
    for (int i = 0; i < f->n_keys; i++)
        if (!strcmp(f->keys[i].name, name)) return &f->keys[i];
    if (f->n_keys == f->cap_keys) {
        int cap = f->cap_keys ? f->cap_keys * 2 : 4;
        wkey *k = realloc(f->keys, (size_t)cap * sizeof *k);
        if (!k) return NULL;
        f->keys = k;
        f->cap_keys = cap;
    }
    wkey *k = &f->keys[f->n_keys++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

/* One complete line of a metrics file. Called with the lock held. */
static int file_line(dash_store *s, wfile *f, const char *line)
{
    while (*line == ' ' || *line == '\t' || *line == '\r') line++;
    if (*line != '{') return 0;
    cJSON *o = cJSON_ParseWithOpts(line, NULL, 1); /* the whole line, no trailing text */
    if (!o) return 0;
    int n = 0;
    cJSON *ep = cJSON_GetObjectItemCaseSensitive(o, "epoch");
    if (cJSON_IsObject(o) && cJSON_IsNumber(ep)) {
        double epoch = ep->valuedouble;
        cJSON *rn = cJSON_GetObjectItemCaseSensitive(o, "run");
        char stem[128];
        file_stem(f->path, stem, sizeof stem);
        const char *name = cJSON_IsString(rn) && rn->valuestring[0] ? rn->valuestring : stem;
        wkey *k = file_key(f, name);
        if (k) {
            if (!k->run || !(epoch > k->last_epoch)) {
                dash_run *r = new_run(s, name, f->path);
                if (r) {
                    cJSON *mse = cJSON_GetObjectItemCaseSensitive(o, "mse");
                    r->regress = cJSON_IsNumber(mse);
                    r->file = f;
                    r->status = f->once ? DASH_DONE : DASH_RUNNING;
                    n += emit_run(s, r);
                }
                k->run = r;
            }
            k->last_epoch = epoch;
            if (k->run) {
                cJSON_DeleteItemFromObjectCaseSensitive(o, "type");
                cJSON_DeleteItemFromObjectCaseSensitive(o, "run");
                cJSON_DeleteItemFromObjectCaseSensitive(o, "x");
                cJSON_AddStringToObject(o, "type", "epoch");
                cJSON_AddNumberToObject(o, "run", k->run->id);
                cJSON_AddNumberToObject(o, "x", epoch);
                char *txt = cJSON_PrintUnformatted(o);
                if (txt) {
                    n += append_event(s, txt, strlen(txt), 0);
                    cJSON_free(txt);
                }
            }
        }
    }
    cJSON_Delete(o);
    return n;
}

/* Reads what was appended to f since the last time, up to `limit` bytes in
 * total (-1: no limit beyond READ_CHUNK). Called with the lock held. */
static int file_poll(dash_store *s, wfile *f, long long upto)
{
    struct stat st;
    if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    f->mtime = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9;
    long long size = (long long)st.st_size;
    if (upto >= 0 && size > upto) size = upto;
    if (size < f->off) { /* truncated or replaced: read again from the start */
        f->off = 0;
        sb_clear(&f->part);
        for (int i = 0; i < f->n_keys; i++) f->keys[i].run = NULL;
    }
    if (size == f->off) return 0;
    FILE *fp = fopen(f->path, "rb");
    if (!fp) return 0;
    int n = 0;
    if (fseeko(fp, (off_t)f->off, SEEK_SET) == 0) {
        size_t want = (size_t)(size - f->off);
        if (want > READ_CHUNK) want = READ_CHUNK;
        char *buf = malloc(want + 1);
        size_t got = buf ? fread(buf, 1, want, fp) : 0;
        f->off += (long long)got;
        size_t start = 0;
        for (size_t i = 0; i < got; i++) {
            if (buf[i] != '\n') continue;
            buf[i] = '\0';
            if (f->part.len) {
                sb_raw(&f->part, buf + start);
                if (!f->part.oom) n += file_line(s, f, f->part.s);
                sb_free(&f->part);
            } else {
                n += file_line(s, f, buf + start);
            }
            start = i + 1;
        }
        if (start < got) {
            if (f->part.len + (got - start) > MAX_LINE)
                sb_free(&f->part); /* not a metrics line: drop it */
            else
                sb_mem(&f->part, buf + start, got - start);
        }
        free(buf);
    }
    fclose(fp);
    return n;
}

static wfile *add_file(dash_store *s, const char *path, int once)
{
    for (int i = 0; i < s->n_files; i++)
        if (!strcmp(s->files[i]->path, path)) return s->files[i];
    if (s->n_files >= MAX_FILES) return NULL;
    wfile **nf = realloc(s->files, (size_t)(s->n_files + 1) * sizeof *nf);
    if (!nf) return NULL;
    s->files = nf;
    wfile *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->path = strdup(path);
    if (!f->path) {
        free(f);
        return NULL;
    }
    sb_init(&f->part);
    f->once = once;
    s->files[s->n_files++] = f;
    return f;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* A search database found in a watched folder (tried once per path). */
static void add_db(dash_store *s, const char *path)
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
    wdb *w = sqlite_magic(path) ? open_db(path, err, sizeof err) : NULL;
    if (!w) return; /* some other .db file */
    wdb **nd = realloc(s->dbs, (size_t)(s->n_dbs + 1) * sizeof *nd);
    if (!nd) {
        wdb_free(w);
        return;
    }
    s->dbs = nd;
    s->dbs[s->n_dbs++] = w;
}

static void scan_dir(dash_store *s, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules")) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) break;
        snprintf(p, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
                scan_dir(s, p, depth + 1);
            else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".jsonl"))
                add_file(s, p, 0);
            else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".db"))
                add_db(s, p);
        }
        free(p);
    }
    closedir(d);
}

int dash_store_watch(dash_store *s, const char *path, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        errf(err, cap, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        errf(err, cap, path, "not a file or folder");
        return -1;
    }
    if (S_ISREG(st.st_mode) && sqlite_magic(path)) { /* a search database */
        wdb *w = open_db(path, err, cap);
        if (!w) return -1;
        pthread_mutex_lock(&s->mu);
        wdb **nd = realloc(s->dbs, (size_t)(s->n_dbs + 1) * sizeof *nd);
        if (!nd) {
            pthread_mutex_unlock(&s->mu);
            wdb_free(w);
            errf(err, cap, path, "out of memory");
            return -1;
        }
        s->dbs = nd;
        s->dbs[s->n_dbs++] = w;
        s->last_file_poll = -1e30;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    char **nw = realloc(s->watch, (size_t)(s->n_watch + 1) * sizeof *nw);
    char *copy = strdup(path);
    if (nw) s->watch = nw;
    if (!nw || !copy) {
        free(copy);
        pthread_mutex_unlock(&s->mu);
        errf(err, cap, path, "out of memory");
        return -1;
    }
    /* strip trailing slashes so file names read well */
    for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--) copy[n - 1] = '\0';
    s->watch[s->n_watch++] = copy;
    s->last_file_poll = -1e30; /* poll on the next step */
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int dash_store_load_once(dash_store *s, const char *path, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT ? 0 : (errf(err, cap, path, strerror(errno)), -1);
    if (!S_ISREG(st.st_mode)) {
        errf(err, cap, path, "not a regular file");
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    wfile *f = add_file(s, path, 1);
    if (f) {
        /* file_poll reads a chunk at a time: read up to the size seen */
        long long before = -1;
        while (f->off < (long long)st.st_size && f->off != before) {
            before = f->off;
            file_poll(s, f, (long long)st.st_size);
        }
        /* a last line without its newline is complete in a finished file */
        if (f->part.len && !f->part.oom) file_line(s, f, f->part.s);
        sb_free(&f->part);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (!f) {
        errf(err, cap, path, "out of memory");
        return -1;
    }
    return 0;
}

static int sqlite_magic(const char *path)
{
    char head[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == 16 && memcmp(head, "SQLite format 3", 16) == 0;
}

static wdb *open_db(const char *path, char *err, size_t cap)
{
    wdb *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        errf(err, cap, path, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db,
                           "SELECT t.id, t.number, t.state, coalesce(t.params,''), s.name, "
                           "coalesce(t.attempts,0) FROM trials t JOIN studies s ON s.id = t.study_id ORDER BY t.id",
                           -1, &w->trials, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db,
                           "SELECT epoch, loss, acc, mse, val_loss, val_acc, val_mse, seconds "
                           "FROM metrics WHERE trial_id = ? AND epoch > ? ORDER BY epoch",
                           -1, &w->rows, NULL) != SQLITE_OK) {
        char why[300];
        snprintf(why, sizeof why, "not an mlpc search database (%s)",
                 w->db ? sqlite3_errmsg(w->db) : "out of memory");
        errf(err, cap, path, why);
        wdb_free(w);
        return NULL;
    }
    sqlite3_busy_timeout(w->db, 50);
    return w;
}

static double col(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

static int trial_status(const char *st)
{
    if (!strcmp(st, "complete")) return DASH_DONE;
    if (!strcmp(st, "pruned")) return DASH_STOPPED;
    if (!strcmp(st, "failed")) return DASH_FAILED;
    return DASH_RUNNING;
}

static int poll_db(dash_store *s, wdb *w)
{
    int n = 0;
    sbuf b;
    sb_init(&b);
    sqlite3_reset(w->trials);
    int hint = 0;
    while (sqlite3_step(w->trials) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(w->trials, 0);
        int number = sqlite3_column_int(w->trials, 1);
        const char *state = (const char *)sqlite3_column_text(w->trials, 2);
        const char *params = (const char *)sqlite3_column_text(w->trials, 3);
        const char *study = (const char *)sqlite3_column_text(w->trials, 4);
        int attempt = sqlite3_column_int(w->trials, 5);
        if (!state) continue;
        int queued = !strcmp(state, "queued");
        /* rows come in id order, so the next trial is usually the next entry */
        int k = hint < w->n && w->ids[hint] == id ? hint : -1;
        for (int j = 0; k < 0 && j < w->n; j++)
            if (w->ids[j] == id) k = j;
        if (k < 0 && queued) continue; /* not a run yet */
        if (k < 0) {
            k = w->n;
            if (w->n == w->cap) {
                int c = w->cap ? w->cap * 2 : 64;
                dash_run **nr = realloc(w->runs, (size_t)c * sizeof *nr);
                if (nr) w->runs = nr;
                long long *ni = realloc(w->ids, (size_t)c * sizeof *ni);
                if (ni) w->ids = ni;
                if (!nr || !ni) break;
                w->cap = c;
            }
            char name[128], src[512];
            cJSON *pj = params ? cJSON_Parse(params) : NULL;
            cJSON *ly = cJSON_GetObjectItemCaseSensitive(pj, "layers");
            snprintf(name, sizeof name, "%.60s #%d%s%.40s", study ? study : "trial", number,
                     cJSON_IsString(ly) ? " " : "", cJSON_IsString(ly) ? ly->valuestring : "");
            cJSON_Delete(pj);
            snprintf(src, sizeof src, "%.200s: %.290s", w->path, params ? params : "");
            dash_run *r = new_run(s, name, src);
            if (!r) break;
            r->trial_id = id;
            r->attempt = attempt;
            w->ids[w->n] = id;
            w->runs[w->n++] = r;
        }
        hint = k + 1;
        dash_run *r = w->runs[k];
        /* Back in the queue (its worker died: --retry, or --resume), or
         * running again: the search deleted the earlier attempt's rows and
         * the trial starts over at epoch 1. The page drops its points, and
         * the rows are read from the first again. */
        if (queued || attempt != r->attempt) {
            if (r->last_epoch > 0 || r->final) {
                r->last_epoch = 0;
                r->final = 0;
                r->status = DASH_RUNNING;
                if (r->status_sent >= 0) n += emit_run_event(s, r, 1);
            }
            r->attempt = attempt;
        }
        if (queued || r->final) continue;
        int status = trial_status(state);
        r->status = status;
        /* the trial's new rows */
        sqlite3_reset(w->rows);
        sqlite3_bind_int64(w->rows, 1, id);
        sqlite3_bind_int(w->rows, 2, r->last_epoch);
        while (sqlite3_step(w->rows) == SQLITE_ROW) {
            int epoch = sqlite3_column_int(w->rows, 0);
            double mse = col(w->rows, 3);
            if (r->status_sent < 0) { /* announce the run with its first row */
                r->regress = !isnan(mse);
                n += emit_run(s, r);
            }
            sb_clear(&b);
            sb_raw(&b, "{");
            sb_kstr(&b, "type", "epoch");
            sb_kint(&b, "run", r->id);
            sb_kint(&b, "x", epoch);
            sb_kint(&b, "epoch", epoch);
            sb_knum(&b, "loss", col(w->rows, 1));
            sb_knum(&b, "acc", col(w->rows, 2));
            sb_knum(&b, "mse", mse);
            sb_knum(&b, "val_loss", col(w->rows, 4));
            sb_knum(&b, "val_acc", col(w->rows, 5));
            sb_knum(&b, "val_mse", col(w->rows, 6));
            sb_knum(&b, "epoch_seconds", col(w->rows, 7));
            sb_raw(&b, "}");
            if (!b.oom) n += append_event(s, b.s, b.len, 0);
            r->last_epoch = epoch;
        }
        if (r->status_sent >= 0 && r->status != r->status_sent) n += emit_run(s, r);
        if (status != DASH_RUNNING) r->final = 1;
    }
    sb_free(&b);
    return n;
}

static int poll_files(dash_store *s)
{
    int n = 0;
    for (int i = 0; i < s->n_watch; i++) {
        struct stat st;
        if (stat(s->watch[i], &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            scan_dir(s, s->watch[i], 1);
        else if (S_ISREG(st.st_mode))
            add_file(s, s->watch[i], 0);
    }
    for (int i = 0; i < s->n_files; i++)
        if (!s->files[i]->once) {
            /* a file may hold more than one chunk: read until it is caught up */
            for (int k = 0; k < 64; k++) {
                long long before = s->files[i]->off;
                n += file_poll(s, s->files[i], -1);
                if (s->files[i]->off == before) break;
            }
        }
    for (int i = 0; i < s->n_dbs; i++) n += poll_db(s, s->dbs[i]);
    /* file runs are running while their file keeps growing */
    double now = real_now();
    for (int i = 0; i < s->n_runs; i++) {
        dash_run *r = s->runs[i];
        if (r->live || !r->file || r->file->once) continue;
        int newest = 1; /* only the last run of a file can still be running */
        for (int j = i + 1; j < s->n_runs && newest; j++)
            if (s->runs[j]->file == r->file) newest = 0;
        r->status = newest && now - r->file->mtime < FILE_LIVE_SECONDS ? DASH_RUNNING : DASH_DONE;
        if (r->status != r->status_sent) n += emit_run(s, r);
    }
    return n;
}

int dash_store_poll(dash_store *s, int poll_files_ms)
{
    pthread_mutex_lock(&s->mu);
    int n = drain_rings(s);
    double now = mono_now();
    if ((s->n_watch || s->n_dbs) && (now - s->last_file_poll) * 1000.0 >= poll_files_ms) {
        s->last_file_poll = now;
        n += poll_files(s);
    }
    if (n) pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void *pump_main(void *arg)
{
    dash_store *s = arg;
    while (!atomic_load(&s->stop)) {
        dash_store_poll(s, 500);
        struct timespec ts = {0, (long)s->interval_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    dash_store_poll(s, 0); /* what arrived last */
    return NULL;
}

int dash_store_start_pump(dash_store *s, int interval_ms)
{
    if (s->pump_on) return 0;
    s->interval_ms = interval_ms > 0 ? (interval_ms > 999 ? 999 : interval_ms) : 100;
    if (pthread_create(&s->pump, NULL, pump_main, s) != 0) return -1;
    s->pump_on = 1;
    return 0;
}

/* ------------------------------------------------------------------ readers */

size_t dash_store_log_len(dash_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->log.len;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int dash_store_runs(dash_store *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_runs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t dash_store_read(dash_store *s, size_t *off, char *buf, size_t cap, int wait_ms)
{
    pthread_mutex_lock(&s->mu);
    if (*off >= s->log.len && wait_ms > 0) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += wait_ms / 1000;
        dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        unsigned long gen = s->gen;
        while (*off >= s->log.len && gen == s->gen)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT) break;
    }
    size_t n = 0;
    if (*off < s->log.len) {
        n = s->log.len - *off;
        if (n > cap) n = cap;
        memcpy(buf, s->log.s + *off, n);
        *off += n;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void dash_store_wake(dash_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->gen++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
