/* store_files.c - metrics files (JSON Lines, `mlpc train --metrics`) and
 * watched folders: new files are found, every file is read as it grows. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dash/store_int.h"

void ds_wfile_free(wfile *f)
{
    if (!f) return;
    free(f->path);
    sb_free(&f->part);
    free(f->keys);
    free(f);
}

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
                dash_run *r = ds_new_run(s, name, f->path);
                if (r) {
                    cJSON *mse = cJSON_GetObjectItemCaseSensitive(o, "mse");
                    r->regress = cJSON_IsNumber(mse);
                    r->file = f;
                    r->status = f->once ? DASH_DONE : DASH_RUNNING;
                    n += ds_emit_run(s, r);
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
                    n += ds_append_event(s, txt, strlen(txt), 0);
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
                ds_add_db(s, p);
        }
        free(p);
    }
    closedir(d);
}

int dash_store_watch(dash_store *s, const char *path, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ds_errf(err, cap, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        ds_errf(err, cap, path, "not a file or folder");
        return -1;
    }
    if (S_ISREG(st.st_mode) && ds_sqlite_magic(path)) return ds_watch_db(s, path, err, cap);
    pthread_mutex_lock(&s->mu);
    char **nw = realloc(s->watch, (size_t)(s->n_watch + 1) * sizeof *nw);
    char *copy = strdup(path);
    if (nw) s->watch = nw;
    if (!nw || !copy) {
        free(copy);
        pthread_mutex_unlock(&s->mu);
        ds_errf(err, cap, path, "out of memory");
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
    if (stat(path, &st) != 0) return errno == ENOENT ? 0 : (ds_errf(err, cap, path, strerror(errno)), -1);
    if (!S_ISREG(st.st_mode)) {
        ds_errf(err, cap, path, "not a regular file");
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
        ds_errf(err, cap, path, "out of memory");
        return -1;
    }
    return 0;
}


int ds_poll_files(dash_store *s)
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
    for (int i = 0; i < s->n_dbs; i++) n += ds_poll_db(s, s->dbs[i]);
    /* file runs are running while their file keeps growing */
    double now = mlpc_wall_now();
    for (int i = 0; i < s->n_runs; i++) {
        dash_run *r = s->runs[i];
        if (r->live || !r->file || r->file->once) continue;
        int newest = 1; /* only the last run of a file can still be running */
        for (int j = i + 1; j < s->n_runs && newest; j++)
            if (s->runs[j]->file == r->file) newest = 0;
        r->status = newest && now - r->file->mtime < FILE_LIVE_SECONDS ? DASH_RUNNING : DASH_DONE;
        if (r->status != r->status_sent) n += ds_emit_run(s, r);
    }
    return n;
}
