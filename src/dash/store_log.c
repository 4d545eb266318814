/* store_log.c - the dashboard's event log (append-only, replayed by every
 * page stream) and the runs its events name. */
#include <stdlib.h>
#include <string.h>

#include "dash/store_int.h"

void ds_errf(char *err, size_t cap, const char *what, const char *why)
{
    if (err && cap) snprintf(err, cap, "%s: %s", what, why);
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
int ds_append_event(dash_store *s, const char *json, size_t n, int droppable)
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
int ds_emit_run_event(dash_store *s, dash_run *r, int reset)
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
    int n = b.oom ? 0 : ds_append_event(s, b.s, b.len, 0);
    sb_free(&b);
    r->status_sent = r->status;
    return n;
}

int ds_emit_run(dash_store *s, dash_run *r) { return ds_emit_run_event(s, r, 0); }

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

dash_run *ds_new_run(dash_store *s, const char *name, const char *source)
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

