/* runs.c - metrics JSON Lines files read into per-run series (for `mlpc plot`).
 * The rules match the live dashboard's file watcher: a line is one epoch; a
 * new run starts at a new "run" name and when the epoch does not grow. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/dash.h"

#define N_FIELDS 10

static void field_ptrs(dash_series *s, double ***out)
{
    out[0] = &s->epoch;
    out[1] = &s->loss;
    out[2] = &s->acc;
    out[3] = &s->val_loss;
    out[4] = &s->val_acc;
    out[5] = &s->mse;
    out[6] = &s->val_mse;
    out[7] = &s->lr;
    out[8] = &s->sps;
    out[9] = &s->secs;
}

static const char *const FIELD_KEYS[N_FIELDS] = {"epoch",   "loss", "acc", "val_loss",
                                                 "val_acc", "mse",  "val_mse", "lr",
                                                 "samples_per_second", "epoch_seconds"};

static void series_free(dash_series *s)
{
    double **p[N_FIELDS];
    field_ptrs(s, p);
    for (int i = 0; i < N_FIELDS; i++) free(*p[i]);
    free(s->w_rms);
    free(s->g_rms);
    memset(s, 0, sizeof *s);
}

void dash_runs_free(dash_runs *r)
{
    for (int i = 0; i < r->n; i++) series_free(&r->s[i]);
    free(r->s);
    memset(r, 0, sizeof *r);
}

static int grow_series(dash_series *s)
{
    int cap = s->cap ? s->cap * 2 : 64;
    double **p[N_FIELDS];
    field_ptrs(s, p);
    for (int i = 0; i < N_FIELDS; i++) {
        double *n = realloc(*p[i], (size_t)cap * sizeof(double));
        if (!n) return -1;
        *p[i] = n;
    }
    if (s->n_layers > 0) {
        double *w = realloc(s->w_rms, (size_t)cap * (size_t)s->n_layers * sizeof(double));
        if (w) s->w_rms = w;
        double *g = realloc(s->g_rms, (size_t)cap * (size_t)s->n_layers * sizeof(double));
        if (g) s->g_rms = g;
        if (!w || !g) return -1;
    }
    s->cap = cap;
    return 0;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void file_stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, cap, "%s", base);
    char *dot = strstr(out, ".jsonl");
    if (dot && dot != out) *dot = '\0';
}

static dash_series *new_series(dash_runs *r, const char *name, int n_layers)
{
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        dash_series *ns = realloc(r->s, (size_t)cap * sizeof *ns);
        if (!ns) return NULL;
        r->s = ns;
        r->cap = cap;
    }
    dash_series *s = &r->s[r->n++];
    memset(s, 0, sizeof *s);
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(s->name, sizeof s->name, "%s", name);
        else
            snprintf(s->name, sizeof s->name, "%.100s #%d", name, k);
        int used = 0;
        for (int i = 0; i < r->n - 1 && !used; i++) used = !strcmp(r->s[i].name, s->name);
        if (!used) break;
    }
    s->n_layers = n_layers;
    return s;
}

/* The last series of this file (from index `first`) with this name (as
 * stored: cut below the series name's size, with room for a " #k" suffix). */
static dash_series *find_series(dash_runs *runs, int first, const char *name)
{
    for (int i = runs->n - 1; i >= first; i--) {
        const char *base = runs->s[i].name;
        size_t bl = strlen(name);
        if (!strncmp(base, name, bl) && (base[bl] == '\0' || !strncmp(base + bl, " #", 2)))
            return &runs->s[i];
    }
    return NULL;
}

/* Adds one metrics record o (its epoch given) to its series, a new one when
 * the epochs start over or the layer count changes; 0 or -1 (out of memory,
 * err set). */
static int add_record(dash_runs *runs, int first, const char *stem, const cJSON *o, double epoch,
                      const char *path, char *err, size_t cap)
{
    const cJSON *rn = cJSON_GetObjectItemCaseSensitive(o, "run");
    const char *name = cJSON_IsString(rn) && rn->valuestring[0] ? rn->valuestring : stem;
    const cJSON *wa = cJSON_GetObjectItemCaseSensitive(o, "w_rms");
    const cJSON *ga = cJSON_GetObjectItemCaseSensitive(o, "g_rms");
    int nl = cJSON_IsArray(wa) ? cJSON_GetArraySize(wa) : 0;
    if (nl > MLPC_MAX_LAYERS) nl = MLPC_MAX_LAYERS;
    char cut[100];
    snprintf(cut, sizeof cut, "%.99s", name);
    dash_series *s = find_series(runs, first, cut);
    if (!s || (s->n > 0 && !(epoch > s->epoch[s->n - 1])) || (nl && s->n_layers != nl && s->n)) {
        s = new_series(runs, cut, nl);
        if (!s) {
            snprintf(err, cap, "%s: out of memory", path);
            return -1;
        }
    }
    if (s->n_layers == 0 && nl > 0 && s->n == 0) s->n_layers = nl;
    if (s->n == s->cap && grow_series(s)) {
        snprintf(err, cap, "%s: out of memory", path);
        return -1;
    }
    double **fp[N_FIELDS];
    field_ptrs(s, fp);
    for (int i = 0; i < N_FIELDS; i++) (*fp[i])[s->n] = num(o, FIELD_KEYS[i]);
    if (!isnan(s->mse[s->n])) s->regress = 1;
    for (int l = 0; l < s->n_layers; l++) {
        const cJSON *w = l < nl ? cJSON_GetArrayItem(wa, l) : NULL;
        const cJSON *g = cJSON_IsArray(ga) ? cJSON_GetArrayItem(ga, l) : NULL;
        s->w_rms[(size_t)s->n * (size_t)s->n_layers + (size_t)l] =
            cJSON_IsNumber(w) ? w->valuedouble : NAN;
        s->g_rms[(size_t)s->n * (size_t)s->n_layers + (size_t)l] =
            cJSON_IsNumber(g) ? g->valuedouble : NAN;
    }
    s->n++;
    return 0;
}

int dash_runs_load(dash_runs *runs, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char stem[128];
    file_stem(path, stem, sizeof stem);
    int first = runs->n;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long lineno = 0, good = 0;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || *p == '\0') continue;
        cJSON *o = cJSON_ParseWithOpts(p, NULL, 1);
        if (!o && line[len - 1] != '\n' && getc(f) == EOF) {
            /* the writer was stopped in the middle of its last line (a full
             * disk): what came before is whole */
            fprintf(stderr, "mlpc: warning: %s:%ld: an incomplete last line is skipped\n", path, lineno);
            break;
        }
        if (!o || !cJSON_IsObject(o)) {
            snprintf(err, cap, "%s:%ld: not a JSON object (a metrics file from --metrics?)", path,
                     lineno);
            cJSON_Delete(o);
            rc = -1;
            break;
        }
        double epoch = num(o, "epoch");
        if (isnan(epoch)) {
            snprintf(err, cap, "%s:%ld: no \"epoch\" number (a metrics file from --metrics?)",
                     path, lineno);
            cJSON_Delete(o);
            rc = -1;
            break;
        }
        if (add_record(runs, first, stem, o, epoch, path, err, cap)) {
            cJSON_Delete(o);
            rc = -1;
            break;
        }
        good++;
        cJSON_Delete(o);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, cap, "%s: read error", path);
        rc = -1;
    }
    if (rc == 0 && good == 0) {
        snprintf(err, cap, "%s: no metrics lines (write them with mlpc train --metrics FILE)",
                 path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}
