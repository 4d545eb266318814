/* store.c - the dashboard's metrics bus: creation, the poll step that
 * drains the live rings (store_ring.c) and polls the metrics files
 * (store_files.c) and search databases (store_db.c) into the event log
 * (store_log.c), the pump thread, and the readers that every page stream
 * uses to replay and follow the log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash/store_int.h"

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
    for (int i = 0; i < s->n_files; i++) ds_wfile_free(s->files[i]);
    free(s->files);
    for (int i = 0; i < s->n_dbs; i++) ds_wdb_free(s->dbs[i]);
    free(s->dbs);
    for (int i = 0; i < s->n_tried; i++) free(s->tried[i]);
    free(s->tried);
    sb_free(&s->log);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int dash_store_poll(dash_store *s, int poll_files_ms)
{
    pthread_mutex_lock(&s->mu);
    int n = ds_drain_rings(s);
    double now = mlpc_now();
    if ((s->n_watch || s->n_dbs) && (now - s->last_file_poll) * 1000.0 >= poll_files_ms) {
        s->last_file_poll = now;
        n += ds_poll_files(s);
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
