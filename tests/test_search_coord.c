/* test_search_coord.c - the search coordinator's bookkeeping (src/search/
 * coord.c, included here for its static functions) driven by simulated
 * workers: no process is forked and nothing is trained. Each step delivers
 * one message of one busy slot (epochs, the end of a trial, or the death of
 * its worker) exactly as loop() handles it; the store is an in-memory
 * SQLite database.
 *
 *  - The ASHA decisions (per-rung frontiers and ordered values) give, step
 *    by step, the same states as the pass over every earlier trial that the
 *    coordinator made before, with ties, NaN values, diverging trials and
 *    killed workers (--retry) in the mix.
 *
 * Speed is not asserted here (no timed unit tests); as a benchmark: MLPC_COORD_BENCH="100000 1000000" build/tests/test_search_coord
 * runs searches of that many trials to the end and prints the CPU time of
 * the coordinator's calls per step (MLPC_COORD_BENCH_STEPS=N: stop after N
 * steps; MLPC_COORD_BENCH_DONE=F: the first fraction F of the trials is
 * already complete, as after --resume). */
#include "search/coord.c"

#include <time.h>

#include "testutil.h"

#define SIM_MAXW 32

typedef void (*decide_fn)(coord *c);

typedef struct simw {
    int trial, attempt; /* what the worker runs; trial -1: idle */
    int epoch, total;   /* epochs sent so far, of total */
    int diverged;       /* it sent a NaN: it ends next */
} simw;

typedef struct sim {
    coord c;
    srch_space s;
    srch_opts o;
    srch_worker w[SIM_MAXW];
    simw sw[SIM_MAXW];
    int W;
    decide_fn decide;
    int old_cursor; /* rewind the dispatch cursor to 0 after a death, as the coordinator did */
    srch_msg *m;
    mlpc_error err;
    double t_decide, t_all; /* CPU seconds in decide(), in all of the coordinator's calls */
    long steps;
} sim;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s) { return mix(++*s); }

static double u01(uint64_t z) { return (double)(mix(z) >> 11) * 0x1p-53; }

/* the metric of trial i at epoch e: a quality per trial, better with
 * epochs, a little noise; every fifth trial on a coarse grid (ties) */
static double sim_value(int i, int e)
{
    double v = u01((uint64_t)i * 2 + 1) + 0.5 / e + 0.01 * u01(((uint64_t)i << 20) ^ (uint64_t)e);
    return i % 5 == 0 ? floor(v * 8) / 8 : v;
}

/* the epoch at which trial i diverges (its metric is NaN), 0: never */
static int sim_diverges(int i) { return i % 17 == 5 ? 1 + i % 7 : 0; }

static const char *SPACE_FMT =
    "{\"sampler\":\"random\",\"trials\":%d,\"seed\":3,\"data\":\"lorenz\",\"direction\":\"%s\",%s"
    " \"params\":{\"depth\":{\"min\":1,\"max\":2},\"width\":[4,8],\"act\":\"tanh\",\"opt\":\"adam\","
    " \"lr\":{\"min\":0.001,\"max\":0.1,\"log\":true},\"batch\":16,\"epochs\":[%s],\"threads\":[%s]}}";

/* A coordinator with n trials on W simulated worker slots (W cores). */
static sim *sim_new(int n, int W, int min_epochs, int eta, int maximize, const char *epochs, const char *threads,
                    decide_fn fn)
{
    sim *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_true(W <= SIM_MAXW);
    char pruner[128] = "", text[1024];
    if (eta > 0) snprintf(pruner, sizeof pruner, "\"pruner\":{\"type\":\"asha\",\"min_epochs\":%d,\"eta\":%d},", min_epochs, eta);
    snprintf(text, sizeof text, SPACE_FMT, n, maximize ? "maximize" : "minimize", pruner, epochs, threads);
    if (srch_space_parse(&m->s, "sim.json", text, &m->err)) fail_msg("%s", m->err.msg);
    if (srch_space_resolve(&m->s, 1, 1, &m->err)) fail_msg("%s", m->err.msg);
    m->o.db = ":memory:";
    m->o.quiet = 1;
    m->o.retries = 2;
    m->W = W;
    m->decide = fn;
    coord *c = &m->c;
    c->s = &m->s;
    c->o = &m->o;
    c->n = n;
    c->n_in = 3;
    c->n_out = 3;
    c->rows = 900;
    c->regress = 1;
    c->st = srch_store_open(":memory:", 1, &m->err);
    assert_non_null(c->st);
    assert_int_equal(srch_store_begin(c->st), 0);
    c->study = srch_study_create(c->st, &m->s, text, "sim", 1);
    c->session = srch_session_start(c->st, c->study, 1, W, 1, W, 0, "sim", 0);
    assert_true(c->study > 0 && c->session > 0);
    if (init_trials(c, &m->err)) fail_msg("%s", m->err.msg);
    c->ranks = 1;
    c->rank_cores = calloc(1, sizeof(int));
    c->rank_used = calloc(1, sizeof(int));
    c->rank_base = malloc(sizeof(int));
    assert_true(c->rank_cores && c->rank_used && c->rank_base);
    c->rank_base[0] = -1;
    assert_int_equal(add_slots(c, 0, W, W, "sim", &m->err), 0);
    for (int i = 0; i < W; i++) {
        m->w[i] = (srch_worker){0, -1, -1, 0}; /* sends to fd -1 fail quietly */
        m->sw[i].trial = -1;
    }
    c->pool.n = W;
    c->pool.w = m->w;
    m->m = malloc(sizeof *m->m);
    assert_non_null(m->m);
    return m;
}

static void sim_free(sim *m)
{
    srch_store_commit(m->c.st);
    srch_store_close(m->c.st);
    free_trials(&m->c);
    free(m->c.slots);
    free(m->c.rank_cores);
    free(m->c.rank_used);
    free(m->c.rank_base);
    free(m->m);
    free(m);
}

/* The first `done` trials are complete already (as --resume loads them). */
static void sim_prefill(sim *m, int done)
{
    coord *c = &m->c;
    for (int i = 0; i < done; i++) {
        ctrial *t = &c->t[i];
        t->state = TS_COMPLETE;
        t->seen = t->epochs_total;
        t->last = sim_value(i, t->seen);
        for (int k = 0; k < c->n_rungs && c->rungs[k] <= t->seen; k++) t->rv[k] = sim_value(i, c->rungs[k]);
        t->decided = t->n_dec;
        c->finals++;
    }
}

/* which trial each busy slot runs now (a new one after a dispatch) */
static void sim_sync(sim *m)
{
    coord *c = &m->c;
    for (int s = 0; s < m->W; s++) {
        int tr = c->slots[s].trial;
        simw *w = &m->sw[s];
        if (tr < 0) {
            w->trial = -1;
        } else if (w->trial != tr || w->attempt != c->t[tr].attempts) {
            *w = (simw){tr, c->t[tr].attempts, 0, c->t[tr].epochs_total, 0};
        }
    }
}

/* what loop() does after reading the messages and reaping dead workers */
static void sim_tail(sim *m)
{
    coord *c = &m->c;
    double t0 = cpu_now();
    m->decide(c);
    double t1 = cpu_now();
    dispatch(c);
    double t2 = cpu_now();
    m->decide(c);
    double t3 = cpu_now();
    m->t_decide += (t1 - t0) + (t3 - t2);
}

enum { ACT_NONE, ACT_MSG, ACT_KILL };

typedef struct action {
    int kind, slot;
} action;

/* Chooses the next event from the state of m and fills m->m. */
static action sim_choose(sim *m, uint64_t *rng)
{
    coord *c = &m->c;
    action a = {ACT_NONE, -1};
    int busy[SIM_MAXW], nb = 0;
    for (int s = 0; s < m->W; s++)
        if (m->sw[s].trial >= 0) busy[nb++] = s;
    if (!nb) return a;
    uint64_t r = rnd(rng);
    a.slot = busy[r % (uint64_t)nb];
    r /= (uint64_t)nb;
    simw *w = &m->sw[a.slot];
    const ctrial *t = &c->t[w->trial];
    if (c->o->retries && r % 61 == 0) {
        a.kind = ACT_KILL;
        return a;
    }
    r /= 61;
    srch_msg *msg = m->m;
    memset(msg, 0, sizeof *msg);
    msg->rank = 0;
    msg->slot = a.slot;
    msg->trial = w->trial;
    msg->attempt = w->attempt;
    int stopped = t->state != TS_RUNNING; /* pruned while it runs: told to stop */
    a.kind = ACT_MSG;
    if (w->diverged || w->epoch >= w->total || (stopped && r % 2)) {
        msg->type = MSG_DONE;
        msg->u.done.status = w->diverged ? DONE_DIVERGED : stopped ? DONE_STOPPED : DONE_OK;
        msg->u.done.epochs = w->epoch;
        msg->u.done.cpu_s = 0.001 * w->epoch;
        msg->u.done.wall_s = 0.001 * w->epoch;
        msg->u.done.gap_s = -1;
        if (w->diverged) snprintf(msg->u.done.err, sizeof msg->u.done.err, "diverged");
        return a;
    }
    msg->type = MSG_EPOCHS;
    int want = 1 + (int)(r / 2 % 4), n = 0;
    while (n < want && w->epoch < w->total) {
        int e = ++w->epoch;
        double v = sim_diverges(w->trial) == e ? NAN : sim_value(w->trial, e);
        srch_epoch *ep = &msg->u.epochs.e[n++];
        ep->epoch = e;
        ep->loss = ep->mse = ep->val_loss = ep->val_mse = v;
        ep->acc = ep->val_acc = NAN;
        ep->seconds = 0.001;
        if (isnan(v)) {
            w->diverged = 1;
            break;
        }
        int at_rung = 0; /* a worker sends at once at a rung epoch */
        for (int k = 0; k < c->n_rungs; k++) at_rung |= c->rungs[k] == e;
        if (at_rung) break;
    }
    msg->u.epochs.n = n;
    return a;
}

/* Delivers the event as loop() handles it. */
static void sim_apply(sim *m, action a)
{
    coord *c = &m->c;
    double t0 = cpu_now();
    if (a.kind == ACT_MSG) {
        srch_msg *msg = m->m;
        if (msg->type == MSG_DONE && c->slots[a.slot].trial == msg->trial) release_slot(c, a.slot);
        dispatch(c);
        handle(c, msg, &m->err);
    } else if (a.kind == ACT_KILL) {
        int trial = c->slots[a.slot].trial;
        worker_died(c, a.slot, trial, trial >= 0 ? c->t[trial].attempts : 0, "worker pid 1 was killed by signal 9");
        if (m->old_cursor) c->cursor = 0;
    }
    sim_tail(m);
    m->t_all += cpu_now() - t0;
    if (++m->steps % 256 == 0) { /* as the loop commits (not timed) */
        assert_int_equal(srch_store_commit(c->st), 0);
        assert_int_equal(srch_store_begin(c->st), 0);
    }
    sim_sync(m);
}

/* One step of m alone: 0 when the search is over. */
static int sim_step(sim *m, uint64_t *rng)
{
    if (m->c.finals >= m->c.n) return 0;
    action a = sim_choose(m, rng);
    sim_apply(m, a);
    if (a.kind == ACT_NONE && m->c.finals < m->c.n) {
        int busy = 0;
        for (int s = 0; s < m->W; s++) busy |= m->sw[s].trial >= 0;
        if (!busy) fail_msg("the search stalled with %d of %d trials done", m->c.finals, m->c.n);
    }
    return 1;
}

/* ---- the decisions as the coordinator made them before: a pass over every
 * trial, and for each decision a pass over every earlier trial ---------- */

static void decide_ref(coord *c)
{
    double *vals = NULL;
    for (int i = 0; i < c->n; i++) {
        ctrial *t = &c->t[i];
        if (t->state != TS_RUNNING) continue;
        while (t->decided < t->n_dec && t->seen >= c->rungs[t->decided]) {
            int k = t->decided, nv = 0, ok = 1;
            if (!vals && !(vals = malloc(sizeof *vals * (size_t)c->n))) return;
            for (int j = 0; j < i && ok; j++) {
                int has;
                if (!resolved(c, j, k, &has)) ok = 0;
                else if (has) vals[nv++] = c->t[j].rv[k];
            }
            if (!ok) break;
            vals[nv++] = t->rv[k];
            if (srch_asha_promote(t->rv[k], vals, nv, c->s->eta, c->s->maximize)) {
                t->decided++;
                continue;
            }
            t->pruned_rung = k;
            if (!t->worker_done && t->slot >= 0) {
                srch_msg m;
                memset(&m, 0, sizeof m);
                m.type = MSG_STOP;
                m.trial = i;
                m.attempt = t->attempts;
                send_to_slot(c, t->slot, &m);
            }
            t->seen = c->rungs[k];
            finalize(c, i, TS_PRUNED, c->rungs[k], t->rv[k], NULL);
            break;
        }
        if (t->state == TS_RUNNING && t->worker_done && t->decided >= t->n_dec)
            finalize(c, i, TS_COMPLETE, t->seen, t->last, NULL);
    }
    free(vals);
}

static void same_state(const sim *a, const sim *b, long step)
{
    const coord *x = &a->c, *y = &b->c;
    if (x->finals != y->finals)
        fail_msg("step %ld: %d vs %d trials done", step, x->finals, y->finals);
    for (int i = 0; i < x->n; i++) {
        const ctrial *p = &x->t[i], *q = &y->t[i];
        if (p->state != q->state || p->decided != q->decided || p->seen != q->seen || p->attempts != q->attempts ||
            p->slot != q->slot || p->worker_done != q->worker_done ||
            (p->state == TS_PRUNED && p->pruned_rung != q->pruned_rung) || memcmp(p->rv, q->rv, sizeof p->rv))
            fail_msg("step %ld: trial %d: state %s/%s, decided %d/%d, seen %d/%d, attempts %d/%d", step, i,
                     srch_state_name(p->state), srch_state_name(q->state), p->decided, q->decided, p->seen, q->seen,
                     p->attempts, q->attempts);
    }
    for (int s = 0; s < a->W; s++)
        if (x->slots[s].trial != y->slots[s].trial) fail_msg("step %ld: slot %d: trial %d/%d", step, s, x->slots[s].trial, y->slots[s].trial);
}

/* The same events into the coordinator and into the reference: the same
 * states after every step. */
static void differential(int n, int W, int min_epochs, int eta, int maximize, const char *epochs, const char *threads,
                         uint64_t seed, int *pruned, int *failed, int *retried)
{
    sim *a = sim_new(n, W, min_epochs, eta, maximize, epochs, threads, decide);
    sim *b = sim_new(n, W, min_epochs, eta, maximize, epochs, threads, decide_ref);
    b->old_cursor = 1;
    uint64_t rng = seed;
    sim_tail(a);
    sim_tail(b);
    sim_sync(a);
    sim_sync(b);
    same_state(a, b, 0);
    long step = 0;
    while (a->c.finals < a->c.n) {
        action act = sim_choose(a, &rng);
        memcpy(b->m, a->m, sizeof *b->m);
        if (act.slot >= 0) b->sw[act.slot] = a->sw[act.slot]; /* the epochs it sent */
        sim_apply(a, act);
        sim_apply(b, act);
        same_state(a, b, ++step);
        if (step > 100L * n) fail_msg("no end after %ld steps (%d of %d done)", step, a->c.finals, n);
    }
    assert_int_equal(b->c.finals, n);
    for (int i = 0; i < n; i++) {
        *pruned += a->c.t[i].state == TS_PRUNED;
        *failed += a->c.t[i].state == TS_FAILED;
        *retried += a->c.t[i].attempts > 1;
    }
    sim_free(a);
    sim_free(b);
}

static void test_same_decisions(void **st)
{
    (void)st;
    static const struct {
        int n, W, min_epochs, eta, maximize;
        const char *epochs, *threads;
    } cases[] = {
        {300, 1, 1, 3, 0, "3,6,9,20", "1"},
        {300, 4, 1, 3, 0, "3,6,9,20", "1,2"},
        {300, 8, 2, 2, 1, "3,6,9,20", "1"},
        {250, 16, 1, 2, 0, "2,4,8,16,27", "1,2,3"},
        {200, 3, 3, 4, 1, "2,5,13,40", "1"},
        {200, 6, 1, 0, 0, "2,5,13", "1,2"}, /* no pruning: longest first */
    };
    int pruned = 0, failed = 0, retried = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        differential(cases[i].n, cases[i].W, cases[i].min_epochs, cases[i].eta, cases[i].maximize, cases[i].epochs,
                     cases[i].threads, 1000 + i, &pruned, &failed, &retried);
    /* the runs went through every path */
    assert_true(pruned > 100);
    assert_true(failed > 10);
    assert_true(retried > 10);
}

/* The rung values in order: srch_asha_promote_ranked is srch_asha_promote. */
static void test_ranks(void **st)
{
    (void)st;
    enum { N = 600 };
    srch_ranks r;
    memset(&r, 0, sizeof r);
    double v[N];
    int in[N] = {0}, n_in = 0;
    uint64_t s = 7;
    for (int step = 0; step < 6000; step++) {
        int id = (int)(rnd(&s) % N);
        if (!in[id]) {
            uint64_t z = rnd(&s);
            v[id] = z % 23 == 0 ? NAN : z % 7 == 0 ? (double)(z % 5) : z % 11 == 0 ? -0.0 : u01(z) - 0.5;
            assert_int_equal(srch_ranks_add(&r, v[id], id), 0);
            in[id] = 1;
            n_in++;
        } else if (rnd(&s) % 3 == 0) {
            srch_ranks_remove(&r, v[id], id);
            in[id] = 0;
            n_in--;
        }
        assert_int_equal(srch_ranks_count(&r), n_in);
        double q = step % 5 == 0 ? v[id] : step % 5 == 1 ? 0.0 : u01(rnd(&s)) - 0.5;
        double all[N + 1];
        int n = 0;
        for (int j = 0; j < N; j++)
            if (in[j]) all[n++] = v[j];
        all[n++] = q;
        for (int mx = 0; mx < 2; mx++)
            for (int eta = 2; eta <= 4; eta++)
                if (srch_asha_promote_ranked(q, &r, eta, mx) != srch_asha_promote(q, all, n, eta, mx))
                    fail_msg("step %d: %g among %d values (eta %d, %s)", step, q, n, eta, mx ? "max" : "min");
    }
    srch_ranks_free(&r);
}

/* MLPC_COORD_BENCH="N ..." */
static int bench(const char *list)
{
    const char *cap_s = getenv("MLPC_COORD_BENCH_STEPS"), *done_s = getenv("MLPC_COORD_BENCH_DONE");
    long cap = cap_s ? atol(cap_s) : 0;
    double done = done_s ? atof(done_s) : 0;
    printf("%9s %6s %9s %10s %9s %9s %9s %12s %12s\n", "trials", "done", "steps", "complete", "pruned", "failed",
           "init s", "decide us/st", "coord us/st");
    for (const char *p = list; *p;) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p) break;
        p = end;
        double t0 = cpu_now();
        sim *m = sim_new((int)n, 16, 1, 3, 0, "3,6,9,20", "1", decide);
        int pre = (int)(done * (double)n);
        sim_prefill(m, pre);
        double init = cpu_now() - t0;
        uint64_t rng = 5;
        sim_tail(m);
        sim_sync(m);
        while ((!cap || m->steps < cap) && sim_step(m, &rng)) {
        }
        int k[5] = {0};
        for (int i = 0; i < m->c.n; i++) k[m->c.t[i].state]++;
        printf("%9ld %6d %9ld %10d %9d %9d %9.2f %12.2f %12.2f\n", n, pre, m->steps, k[TS_COMPLETE], k[TS_PRUNED],
               k[TS_FAILED], init, m->t_decide / (double)m->steps * 1e6, m->t_all / (double)m->steps * 1e6);
        fflush(stdout);
        sim_free(m);
    }
    return 0;
}

int main(void)
{
    const char *b = getenv("MLPC_COORD_BENCH");
    if (b && *b) return bench(b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranks),
        cmocka_unit_test(test_same_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
