/* hook.c - what the training loop calls: the terminal progress bar and the
 * records for the live dashboard. Runs on the training thread, so it never
 * blocks: records go into the run's bounded ring (dash_run_push), the bar
 * is redrawn at most ten times a second, and the per-layer RMS is computed
 * only for the records that are published (every K batches, at least
 * min_interval_ms apart). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "dash/dash.h"
#include "dash/sbuf.h"

#define BAR_INTERVAL 0.1 /* seconds between two redraws of the progress bar */

struct dash_hook {
    dash_hook_opts o;
    int every;            /* trainer callback stride */
    long pub_every;       /* batches between two dashboard records */
    double last_pub;      /* epoch seconds of the last record (per epoch) */
    int last_pub_epoch;
    double last_draw;
    int last_draw_epoch;
    int bar_shown;        /* a bar is on the terminal line now */
    char line[512];
};

/* ------------------------------------------------------------------ RMS */

int dash_layer_rms(mlpc_net *net, const float *grads, float *w_rms, float *g_rms)
{
    int L = mlpc_net_layers(net);
    if (L > MLPC_MAX_LAYERS) L = MLPC_MAX_LAYERS;
    const float *base = mlpc_net_params(net);
    for (int l = 0; l < L; l++) {
        const float *w = mlpc_net_weights(net, l);
        size_t n = (size_t)mlpc_net_size(net, l) * (size_t)mlpc_net_size(net, l + 1);
        double sw = 0.0, sg = 0.0;
        for (size_t i = 0; i < n; i++) sw += (double)w[i] * (double)w[i];
        if (grads) {
            const float *g = grads + (w - base);
            for (size_t i = 0; i < n; i++) sg += (double)g[i] * (double)g[i];
        }
        w_rms[l] = n ? (float)sqrt(sw / (double)n) : 0.0f;
        g_rms[l] = grads && n ? (float)sqrt(sg / (double)n) : NAN;
    }
    return L;
}

int dash_rms_json(mlpc_net *net, const float *grads, char *buf, size_t cap)
{
    float w[MLPC_MAX_LAYERS], g[MLPC_MAX_LAYERS];
    int L = dash_layer_rms(net, grads, w, g);
    sbuf b;
    sb_init(&b);
    sb_raw(&b, "{"); /* so the first key gets no comma; dropped below */
    sb_karr(&b, "w_rms", w, L);
    sb_karr(&b, "g_rms", g, L);
    int n = -1;
    if (!b.oom && b.len < cap) {
        buf[0] = ',';
        memcpy(buf + 1, b.s + 1, b.len - 1);
        buf[b.len] = '\0';
        n = (int)b.len;
    }
    sb_free(&b);
    return n;
}

/* ------------------------------------------------------------------ progress bar */

void dash_eta_format(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0) s = 0;
    if (s < 10)
        snprintf(buf, cap, "%.1fs", s);
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600) {
        long t = lround(s);
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
    } else {
        long t = lround(s);
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    }
}

static int ndigits(long v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

int dash_bar_format(char *buf, size_t cap, int columns, int epoch, int epochs, long batch,
                    long n_batches, double seconds, double loss, double acc)
{
    if (cap == 0) return 0;
    if (columns <= 0) columns = 80;
    if (n_batches < 1) n_batches = 1;
    if (batch > n_batches) batch = n_batches;
    char head[64], tail[160], eta[32];
    snprintf(head, sizeof head, "epoch %*d/%d  %*ld/%ld ", ndigits(epochs), epoch, epochs,
             ndigits(n_batches), batch, n_batches);
    double left = batch > 0 ? seconds * (double)(n_batches - batch) / (double)batch : NAN;
    if (batch >= n_batches) {
        snprintf(eta, sizeof eta, "%.2fs", seconds);
    } else {
        char e[24];
        dash_eta_format(e, sizeof e, left);
        snprintf(eta, sizeof eta, "ETA %s", e);
    }
    if (isnan(acc))
        snprintf(tail, sizeof tail, " %s  loss %.4g", eta, loss);
    else
        snprintf(tail, sizeof tail, " %s  loss %.4f  acc %.4f", eta, loss, acc);
    int room = columns - 1 - (int)strlen(head) - (int)strlen(tail) - 2;
    int w = room > 30 ? 30 : room;
    if (w < 5) /* too narrow for a bar: text only */
        return snprintf(buf, cap, "%s%s", head, tail);
    char bar[40];
    int done = (int)((double)w * (double)batch / (double)n_batches);
    for (int i = 0; i < w; i++)
        bar[i] = i < done ? '=' : (i == done ? '>' : '.');
    if (batch >= n_batches) bar[w - 1] = '=';
    bar[w] = '\0';
    return snprintf(buf, cap, "%s[%s]%s", head, bar, tail);
}

static void bar_draw(dash_hook *h, const mlpc_batch_info *b)
{
    dash_bar_format(h->line, sizeof h->line, h->o.columns, b->epoch, h->o.epochs, b->batch,
                    b->n_batches, b->seconds, b->run_loss, b->run_acc);
    fprintf(h->o.bar_out, "\r%s\033[K", h->line);
    fflush(h->o.bar_out);
    h->bar_shown = 1;
}

/* ------------------------------------------------------------------ the hook */

dash_hook *dash_hook_create(const dash_hook_opts *o)
{
    dash_hook *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->o = *o;
    if (!h->o.bar_out) h->o.bar_out = stderr;
    if (h->o.min_interval_ms <= 0) h->o.min_interval_ms = 25;
    long nb = o->n_batches > 0 ? o->n_batches : 1;
    h->pub_every = nb / 50 > 0 ? nb / 50 : 1; /* about 50 chances per epoch, time-throttled */
    h->every = (o->bar || o->next) ? 1 : (int)(h->pub_every > 1 << 30 ? 1 << 30 : h->pub_every);
    h->last_pub_epoch = -1;
    h->last_draw_epoch = -1;
    return h;
}

void dash_hook_free(dash_hook *h) { free(h); }

int dash_hook_every(const dash_hook *h) { return h->every; }

int dash_hook_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    dash_hook *h = user;
    if (h->o.next) {
        int stop = h->o.next(tr, b, h->o.next_user);
        if (stop) return stop;
    }
    if (h->o.bar && (b->epoch != h->last_draw_epoch || b->seconds - h->last_draw >= BAR_INTERVAL ||
                     b->batch == b->n_batches)) {
        h->last_draw_epoch = b->epoch;
        h->last_draw = b->seconds;
        bar_draw(h, b);
    }
    if (h->o.live && b->batch % h->pub_every == 0 && b->batch < b->n_batches) {
        if (b->epoch != h->last_pub_epoch) {
            h->last_pub_epoch = b->epoch;
            h->last_pub = 0.0;
        }
        if ((b->seconds - h->last_pub) * 1000.0 >= h->o.min_interval_ms) {
            h->last_pub = b->seconds;
            dash_rec r;
            memset(&r, 0, sizeof r);
            r.kind = DASH_REC_BATCH;
            r.epoch = b->epoch;
            r.batch = b->batch;
            r.n_batches = b->n_batches;
            r.time = mlpc_wall_now();
            r.loss = b->run_loss;
            r.acc = b->run_acc;
            r.lr = b->lr;
            r.seconds = b->seconds;
            /* samples so far over time so far (only the last batch can be short) */
            r.sps = h->o.batch_size > 0 && b->seconds > 0
                        ? (double)b->batch * (double)h->o.batch_size / b->seconds
                        : NAN;
            r.val_loss = r.val_acc = r.test_loss = r.test_acc = NAN;
            r.mse = r.val_mse = r.test_mse = r.eval_seconds = NAN;
            if (h->o.net) r.n_layers = dash_layer_rms(h->o.net, mlpc_trainer_grads(tr), r.w_rms, r.g_rms);
            dash_run_push(h->o.live, &r);
        }
    }
    return 0;
}

void dash_hook_epoch_begin(dash_hook *h)
{
    if (!h || !h->bar_shown) return;
    if (h->o.bar_keep)
        fputc('\n', h->o.bar_out);
    else
        fputs("\r\033[K", h->o.bar_out);
    fflush(h->o.bar_out);
    h->bar_shown = 0;
}

void dash_hook_epoch(dash_hook *h, mlpc_trainer *tr, const mlpc_epoch_stats *e)
{
    if (!h || !h->o.live) return;
    dash_rec r;
    memset(&r, 0, sizeof r);
    r.kind = DASH_REC_EPOCH;
    r.epoch = e->epoch;
    r.time = mlpc_wall_now();
    r.loss = e->loss;
    r.acc = e->acc;
    r.val_loss = e->val_loss;
    r.val_acc = e->val_acc;
    r.test_loss = e->test_loss;
    r.test_acc = e->test_acc;
    r.mse = e->mse;
    r.val_mse = e->val_mse;
    r.test_mse = e->test_mse;
    r.lr = e->lr;
    r.seconds = e->epoch_seconds;
    r.eval_seconds = e->eval_seconds;
    r.sps = e->samples_per_second;
    if (h->o.net) r.n_layers = dash_layer_rms(h->o.net, mlpc_trainer_grads(tr), r.w_rms, r.g_rms);
    dash_run_push(h->o.live, &r);
}

void dash_hook_end(dash_hook *h, dash_status status)
{
    if (!h) return;
    dash_hook_epoch_begin(h);
    if (!h->o.live) return;
    dash_rec r;
    memset(&r, 0, sizeof r);
    r.kind = DASH_REC_END;
    r.status = status;
    r.time = mlpc_wall_now();
    dash_run_push(h->o.live, &r);
}

/* ------------------------------------------------------------------ CLI helper */

int dash_take_port_arg(int argc, char **argv, int *port, char *err, size_t cap)
{
    static char plain[] = "--dashboard";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (strncmp(argv[i], "--dashboard=", 12) != 0) continue;
        const char *v = argv[i] + 12;
        if (!*v || strspn(v, "0123456789") != strlen(v)) continue; /* true/false: a switch */
        long p = strlen(v) > 6 ? 100000 : strtol(v, NULL, 10);
        if (p > 65535) {
            snprintf(err, cap, "--dashboard=%s: the port must be 0-65535 (0: any free port)", v);
            return -1;
        }
        *port = (int)p;
        argv[i] = plain;
    }
    return 0;
}
