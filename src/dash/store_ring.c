/* store_ring.c - live runs: the bounded single-producer single-consumer
 * rings the training thread fills (never blocking) and the pump drains into
 * the event log. */
#include <stdlib.h>
#include <string.h>

#include "dash/store_int.h"

dash_run *dash_store_add_live(dash_store *s, const char *name, int regress, size_t ring)
{
    size_t cap = 1;
    size_t want = ring ? ring : 4096;
    while (cap < want) cap <<= 1;
    dash_rec *buf = calloc(cap, sizeof *buf);
    if (!buf) return NULL;
    pthread_mutex_lock(&s->mu);
    dash_run *r = ds_new_run(s, name, "live");
    if (r) {
        r->ring = buf;
        r->ring_mask = cap - 1;
        r->live = 1;
        r->regress = regress;
        ds_emit_run(s, r);
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
        return ds_emit_run(s, run);
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
    return ds_append_event(s, b->s, b->len, r->kind == DASH_REC_BATCH);
}

int ds_drain_rings(dash_store *s)
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
