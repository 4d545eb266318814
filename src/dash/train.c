/* train.c - `mlpc train --dashboard` and the progress bar: starts the store,
 * its pump thread and the server, adds the live run, installs the batch
 * callback (one per trainer, so the --progress printer is chained through
 * it) and, at the end, lingers and stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dash/dash.h"

struct dash_train {
    dash_store *store;
    dash_server *srv;
    dash_hook *hook;
    double linger;
    int quiet;
    int finished;
};

static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 20 ? n : 80;
}

dash_train *dash_train_start(mlpc_trainer *tr, mlpc_net *net, const dash_train_opts *o,
                             char *err, size_t cap, int *exit_code)
{
    *exit_code = 4;
    err[0] = '\0';
    dash_train *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    t->linger = o->linger;
    t->quiet = o->quiet;
    dash_run *live = NULL;
    if (o->dashboard) {
        t->store = dash_store_create(0);
        if (!t->store) {
            snprintf(err, cap, "out of memory");
            goto fail;
        }
        if (o->metrics && dash_store_load_once(t->store, o->metrics, err, cap) != 0) {
            *exit_code = 1;
            goto fail;
        }
        live = dash_store_add_live(t->store, o->run, o->regress, 0);
        if (!live || dash_store_start_pump(t->store, 100) != 0) {
            snprintf(err, cap, "dashboard: cannot start: %s", live ? strerror(errno) : "out of memory");
            goto fail;
        }
        t->srv = dash_server_start(t->store, &o->server, err, cap);
        if (!t->srv) {
            *exit_code = strstr(err, "--") == err ? 2 : 1;
            goto fail;
        }
        FILE *out = o->quiet ? stderr : stdout;
        fprintf(out, "dashboard: %s\n", dash_server_url(t->srv));
        fflush(out);
    }
    int bar = o->bar < 0 ? (!o->quiet && isatty(STDERR_FILENO)) : o->bar;
    if (o->quiet || o->next) bar = 0; /* --progress prints its own lines */
    if (bar || live || o->next) {
        dash_hook_opts h;
        memset(&h, 0, sizeof h);
        h.bar = bar;
        h.bar_out = stderr;
        h.bar_keep = !isatty(STDOUT_FILENO);
        h.columns = bar ? term_columns() : 80;
        h.epochs = o->epochs;
        h.n_batches = o->n_batches;
        h.batch_size = o->batch;
        h.net = net;
        h.live = live;
        h.next = o->next;
        h.next_user = o->next_user;
        t->hook = dash_hook_create(&h);
        if (!t->hook) {
            snprintf(err, cap, "out of memory");
            goto fail;
        }
        mlpc_trainer_on_batch(tr, dash_hook_batch, dash_hook_every(t->hook), t->hook);
    }
    return t;
fail:
    dash_server_stop(t->srv);
    dash_store_free(t->store);
    free(t);
    return NULL;
}

void dash_train_epoch_begin(dash_train *t)
{
    if (t) dash_hook_epoch_begin(t->hook);
}

void dash_train_epoch(dash_train *t, mlpc_trainer *tr, const mlpc_epoch_stats *e)
{
    if (t && t->hook) dash_hook_epoch(t->hook, tr, e);
}

void dash_train_finish(dash_train *t, dash_status st)
{
    if (!t || t->finished) return;
    t->finished = 1;
    if (t->hook) dash_hook_end(t->hook, st);
}

double dash_train_linger(dash_train *t)
{
    if (!t || !t->srv || !t->finished || t->linger == 0) return 0;
    dash_store_poll(t->store, 0);
    FILE *out = t->quiet ? stderr : stdout;
    if (t->linger < 0)
        fprintf(out, "dashboard: still at %s (Ctrl-C to stop)\n", dash_server_url(t->srv));
    else
        fprintf(out, "dashboard: still at %s for %gs (Ctrl-C to stop)\n", dash_server_url(t->srv), t->linger);
    fflush(out);
    return t->linger;
}

void dash_train_free(dash_train *t)
{
    if (!t) return;
    dash_server_stop(t->srv);
    dash_store_free(t->store);
    dash_hook_free(t->hook);
    free(t);
}

/* ------------------------------------------------------------------ search */

struct dash_follow {
    dash_store *store;
    dash_server *srv;
};

dash_follow *dash_follow_start(const char *path, const dash_server_opts *o, int quiet, char *err,
                               size_t cap, int *exit_code)
{
    *exit_code = 4;
    dash_follow *f = calloc(1, sizeof *f);
    if (!f || !(f->store = dash_store_create(0))) {
        free(f);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (dash_server_check(o, err, cap)) {
        *exit_code = 2;
        goto fail;
    }
    if (dash_store_watch(f->store, path, err, cap)) {
        *exit_code = 1;
        goto fail;
    }
    dash_store_poll(f->store, 0);
    if (dash_store_start_pump(f->store, 100)) {
        snprintf(err, cap, "dashboard: cannot start the pump thread");
        goto fail;
    }
    f->srv = dash_server_start(f->store, o, err, cap);
    if (!f->srv) {
        *exit_code = strncmp(err, "--", 2) == 0 ? 2 : 1;
        goto fail;
    }
    FILE *out = quiet ? stderr : stdout;
    fprintf(out, "dashboard: %s\n", dash_server_url(f->srv));
    fflush(out);
    return f;
fail:
    dash_store_free(f->store);
    free(f);
    return NULL;
}

void dash_follow_stop(dash_follow *f)
{
    if (!f) return;
    dash_store_poll(f->store, 0);
    dash_server_stop(f->srv);
    dash_store_free(f->store);
    free(f);
}
