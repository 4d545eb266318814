/*
 * coord.c - the coordinator: schedules trials on worker slots within a core
 * budget, is the only writer of the store, makes the ASHA decisions, and
 * measures memory, dispatch overhead and CPU time. Under MPI, rank 0 runs
 * this loop and every other rank runs srch_relay(): its own workers, whose
 * messages it forwards to rank 0.
 *
 * ASHA, deterministic: trial i's decision at rung k compares it with the
 * trials numbered below i that reached rung k, and waits until each of them
 * has reached it (or can no longer). A trial does not idle while it waits:
 * it goes on training, and if it is pruned the epochs past the rung are
 * dropped. The outcome does not depend on timing, workers or ranks.
 *
 * Per event the work does not grow with the number of trials: decide()
 * visits only the running trials, each rung keeps a frontier below which
 * every trial is resolved and their values in an ordered tree (srch_ranks),
 * and dispatch() goes on from a cursor. Only a requeued trial (its worker
 * died) moves the frontiers back down to it.
 */
#include "search/search.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ctrial {
    int state; /* TS_* */
    int slot;  /* global slot while running, else -1 */
    int worker_done;
    int attempts;
    int64_t id; /* store row, 0 none */
    int epochs_total, threads, bad_config;
    int n_dec;  /* rungs below epochs_total: decision points */
    int seen;   /* epochs reported */
    int decided;
    int pruned_rung;
    double rv[SRCH_MAX_RUNGS];
    double last;
    double cpu_s, wall_s;
    double cost;
    unsigned counted; /* bit k: rv[k] is in the coordinator's rung_vals[k] */
    int listed;       /* in the coordinator's run[] */
} ctrial;

typedef struct cslot {
    int rank, local, trial, threads;
    int dead; /* its worker closed the socket; reaped after the messages are handled */
    int pid;
    char host[64];
} cslot;

typedef struct coord {
    srch_space *s;
    const srch_opts *o;
    srch_store *st;
    int64_t study, session;
    ctrial *t;
    int n, finals;
    int *order, *pos, cursor; /* pos[i]: trial i's place in order */
    int *run, n_run;          /* the running trials by number (and some that just stopped) */
    cslot *slots;
    int n_slots, cap_slots;
    int ranks, *rank_cores, *rank_used, *rank_base, hellos;
    int mpi;
    srch_pool pool;
    srch_shared *data;
    size_t n_in, n_out, rows;
    int regress;
    int rungs[SRCH_MAX_RUNGS], n_rungs;
    /* ASHA: every trial below front[k] is resolved at rung k, and the values
     * of those that reached it are in rung_vals[k] */
    int front[SRCH_MAX_RUNGS];
    srch_ranks rung_vals[SRCH_MAX_RUNGS];
    char host[64];
    /* measurements */
    double t0, cpu_total, gap_sum, gap_max;
    int gap_n, done_session;
    size_t pss_max, pss_workers_max, model_max;
    double next_pss;
    int failed_db;
    int must_commit; /* a trial finished or went back to the queue */
    /* trial checkpoints (trialckpt.c): on when ckpt_ms >= 0 */
    int ckpt_ms;
    uint64_t data_fp;
    volatile sig_atomic_t *stop; /* srch_opts.stop, may be NULL */
} coord;

/* the caller's stop flag (srch_opts.stop): a signal number, or 0 */
static int stop_signal(const coord *c) { return c->stop ? (int)*c->stop : 0; }

static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static double metric_of(const srch_epoch *e, int m)
{
    switch (m) {
    case SM_VAL_LOSS: return e->val_loss;
    case SM_VAL_ACC: return e->val_acc;
    case SM_VAL_MSE: return e->val_mse;
    case SM_LOSS: return e->loss;
    case SM_ACC: return e->acc;
    default: return e->mse;
    }
}

/* ---- memory ---------------------------------------------------------------- */

static size_t pss_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Pss:", 4)) {
            kb = (size_t)strtoull(line + 4, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

static void sample_pss(coord *c)
{
    size_t w = 0;
    for (int i = 0; i < c->pool.n; i++)
        if (c->pool.w[i].pid > 0) w += pss_of(c->pool.w[i].pid);
    size_t all = w + pss_of(getpid());
    if (w > c->pss_workers_max) c->pss_workers_max = w;
    if (all > c->pss_max) c->pss_max = all;
}

/* ---- slots and budgets ------------------------------------------------------ */

static int add_slots(coord *c, int rank, int n, int cores, const char *host, mlpc_error *err)
{
    if (c->n_slots + n > c->cap_slots) {
        int cap = (c->n_slots + n) * 2;
        cslot *ns = realloc(c->slots, sizeof *ns * (size_t)cap);
        if (!ns) return mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for worker slots"), -1;
        c->slots = ns;
        c->cap_slots = cap;
    }
    c->rank_base[rank] = c->n_slots;
    c->rank_cores[rank] = cores;
    for (int i = 0; i < n; i++) {
        cslot *sl = &c->slots[c->n_slots++];
        memset(sl, 0, sizeof *sl);
        sl->rank = rank;
        sl->local = i;
        sl->trial = -1;
        snprintf(sl->host, sizeof sl->host, "%s", host);
    }
    return 0;
}

/* ---- the trial table ---------------------------------------------------------- */

static void reset_run(ctrial *t)
{
    t->seen = 0;
    t->decided = 0;
    t->pruned_rung = -1;
    t->worker_done = 0;
    t->last = NAN;
    t->cpu_s = 0;
    t->wall_s = NAN;
    for (int k = 0; k < SRCH_MAX_RUNGS; k++) t->rv[k] = NAN;
}

static int build_config(coord *c, int i, mlpc_config *cfg, mlpc_error *err)
{
    srch_point pt;
    if (srch_sample(c->s, i, &pt, err)) return -1;
    return srch_point_config(c->s, &pt, i, c->n_in, c->n_out, c->regress, cfg, err);
}

static int cmp_cost_desc(const void *a, const void *b, void *u)
{
    const ctrial *t = u;
    int i = *(const int *)a, j = *(const int *)b;
    if (t[i].cost != t[j].cost) return t[i].cost > t[j].cost ? -1 : 1;
    return i - j;
}

static int init_trials(coord *c, mlpc_error *err)
{
    c->t = calloc((size_t)c->n, sizeof *c->t);
    c->order = calloc((size_t)c->n, sizeof *c->order);
    c->pos = calloc((size_t)c->n, sizeof *c->pos);
    c->run = calloc((size_t)c->n, sizeof *c->run);
    if (!c->t || !c->order || !c->pos || !c->run) return mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for %d trials", c->n), -1;
    int max_epochs = 1;
    for (int i = 0; i < c->n; i++) {
        ctrial *t = &c->t[i];
        reset_run(t);
        t->slot = -1;
        t->state = TS_QUEUED;
        mlpc_config cfg;
        mlpc_error e2;
        if (build_config(c, i, &cfg, &e2)) {
            t->bad_config = 1;
            t->threads = 1;
        } else {
            t->epochs_total = cfg.epochs;
            t->threads = cfg.threads;
            t->cost = srch_cost(&cfg, c->rows);
            if (cfg.epochs > max_epochs) max_epochs = cfg.epochs;
        }
        c->order[i] = i;
    }
    c->n_rungs = c->s->asha ? srch_rungs(c->s->min_epochs, c->s->eta, max_epochs, c->rungs, SRCH_MAX_RUNGS) : 0;
    for (int i = 0; i < c->n; i++) {
        ctrial *t = &c->t[i];
        t->n_dec = 0;
        while (t->n_dec < c->n_rungs && c->rungs[t->n_dec] < t->epochs_total) t->n_dec++;
    }
    /* without pruning the order of trials changes nothing: longest first
     * keeps every core busy to the end */
    if (!c->s->asha) qsort_r(c->order, (size_t)c->n, sizeof *c->order, cmp_cost_desc, c->t);
    for (int oi = 0; oi < c->n; oi++) c->pos[c->order[oi]] = oi;
    return 0;
}

static void free_trials(coord *c)
{
    free(c->t);
    free(c->order);
    free(c->pos);
    free(c->run);
    for (int k = 0; k < SRCH_MAX_RUNGS; k++) srch_ranks_free(&c->rung_vals[k]);
}

/* Trial i is running: into run[], kept in number order (decide() goes
 * through the trials in that order). */
static void run_add(coord *c, int i)
{
    if (c->t[i].listed) return;
    int lo = 0, hi = c->n_run;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->run[mid] < i) lo = mid + 1;
        else hi = mid;
    }
    memmove(c->run + lo + 1, c->run + lo, sizeof *c->run * (size_t)(c->n_run - lo));
    c->run[lo] = i;
    c->n_run++;
    c->t[i].listed = 1;
}

/* ---- the store ---------------------------------------------------------------- */

static void db_check(coord *c, int rc)
{
    if (rc) c->failed_db = 1; /* the loop stops and reports the store's message */
}

static void say(const coord *c, const char *fmt, ...) MLPC_PRINTF(2, 3);
static void say(const coord *c, const char *fmt, ...)
{
    if (c->o->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void uncount(coord *c, int j, int k);

static void drop_ckpt(const coord *c, int i)
{
    char path[600];
    if (c->ckpt_ms >= 0 && !srch_ckpt_path(path, sizeof path, c->o->db, c->study, i)) unlink(path);
}

static void finalize(coord *c, int i, int state, int epochs, double value, const char *error)
{
    ctrial *t = &c->t[i];
    t->state = state;
    drop_ckpt(c, i); /* nothing resumes it now */
    if (state == TS_FAILED) /* a failed trial's NaN at a rung no longer competes there (resolved()) */
        for (int k = 0; k < c->n_rungs; k++)
            if (isnan(t->rv[k])) uncount(c, i, k);
    c->finals++;
    c->done_session++;
    c->must_commit = 1;
    db_check(c, srch_trial_end(c->st, t->id, state, epochs, value, t->cpu_s, t->wall_s, error));
    const char *m = srch_metric_name(c->s->metric);
    if (state == TS_COMPLETE)
        say(c, "trial %d complete: %s %.6g after %d epochs  (%d/%d done)\n", i, m, value, epochs, c->finals, c->n);
    else if (state == TS_PRUNED)
        say(c, "trial %d pruned at epoch %d: %s %.6g  (%d/%d done)\n", i, epochs, m, value, c->finals, c->n);
    else
        say(c, "trial %d failed: %s  (%d/%d done)\n", i, error && *error ? error : "?", c->finals, c->n);
}

/* ---- ASHA ----------------------------------------------------------------- */

/* whether trial j's standing at rung k is known; *has: it has a value there */
static int resolved(const coord *c, int j, int k, int *has)
{
    const ctrial *t = &c->t[j];
    int r = c->rungs[k];
    *has = 0;
    switch (t->state) {
    case TS_COMPLETE: *has = t->seen >= r; return 1;
    case TS_PRUNED: *has = t->pruned_rung >= k; return 1;
    case TS_FAILED: *has = t->seen >= r && !isnan(t->rv[k]); return 1;
    case TS_RUNNING:
        if (t->decided < k && t->decided < t->n_dec) return 0; /* an earlier decision is pending */
        if (t->seen >= r) {
            *has = 1;
            return 1;
        }
        return t->epochs_total < r;
    default: return 0;
    }
}

/* The frontier of rung k: moves up to trial i over the trials that are
 * resolved there, adding their values to rung_vals[k]. 1: every trial below
 * i is resolved at rung k; 0: one is not yet; -1: out of memory, or the
 * frontier is past i already (the caller then counts by a pass over the
 * trials).
 * A trial's standing at a rung, once resolved, changes only when it goes
 * back to the queue (retract) or fails with a NaN there (finalize). */
static int advance(coord *c, int k, int i)
{
    while (c->front[k] < i) {
        int j = c->front[k], has;
        if (!resolved(c, j, k, &has)) return 0;
        if (has) {
            if (srch_ranks_add(&c->rung_vals[k], c->t[j].rv[k], j)) return -1;
            c->t[j].counted |= 1u << k;
        }
        c->front[k]++;
    }
    return c->front[k] == i ? 1 : -1;
}

static void uncount(coord *c, int j, int k)
{
    ctrial *t = &c->t[j];
    if (!(t->counted & 1u << k)) return;
    srch_ranks_remove(&c->rung_vals[k], t->rv[k], j);
    t->counted &= ~(1u << k);
}

/* Trial j goes back to the queue (before its values are reset): the
 * frontiers above it come back down to it. */
static void retract(coord *c, int j)
{
    for (int k = 0; k < c->n_rungs; k++) {
        for (int x = j; x < c->front[k]; x++) uncount(c, x, k);
        if (c->front[k] > j) c->front[k] = j;
    }
}

/* Trial i's decision at rung k: 1 with *promote, or 0 while a trial below
 * i has not reached the rung (and still can). */
static int decision(coord *c, int i, int k, int *promote)
{
    int ok = advance(c, k, i);
    if (ok > 0) *promote = srch_asha_promote_ranked(c->t[i].rv[k], &c->rung_vals[k], c->s->eta, c->s->maximize);
    if (ok >= 0) return ok;
    double *vals = malloc(sizeof *vals * (size_t)(i + 1));
    if (!vals) return 0;
    int nv = 0;
    for (int j = 0; j < i; j++) {
        int has;
        if (!resolved(c, j, k, &has)) {
            free(vals);
            return 0;
        }
        if (has) vals[nv++] = c->t[j].rv[k];
    }
    vals[nv++] = c->t[i].rv[k];
    *promote = srch_asha_promote(c->t[i].rv[k], vals, nv, c->s->eta, c->s->maximize);
    free(vals);
    return 1;
}

static void send_to_slot(coord *c, int slot, srch_msg *m);

/* The running trials in number order: their rung decisions, and the end of
 * those whose run is complete. Trials that stopped leave run[] here. */
static void decide(coord *c)
{
    int kept = 0;
    for (int x = 0; x < c->n_run; x++) {
        int i = c->run[x];
        ctrial *t = &c->t[i];
        while (t->state == TS_RUNNING && t->decided < t->n_dec && t->seen >= c->rungs[t->decided]) {
            int k = t->decided, promote;
            if (!decision(c, i, k, &promote)) break;
            if (promote) {
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
        if (t->state == TS_RUNNING) c->run[kept++] = i;
        else t->listed = 0;
    }
    c->n_run = kept;
}

/* ---- dispatch ----------------------------------------------------------------- */

static void send_to_slot(coord *c, int slot, srch_msg *m)
{
    cslot *sl = &c->slots[slot];
    m->rank = sl->rank;
    m->slot = sl->local;
    if (sl->rank == 0) {
        srch_send(c->pool.w[sl->local].fd, m); /* a dead worker shows up as end of file */
    } else if (srch_mpi_send(sl->rank, m)) {
        fprintf(stderr, "mlpc search: sending to rank %d failed\n", sl->rank);
        srch_mpi_abort(4);
    }
}

static int free_slot(coord *c, int threads)
{
    for (int i = 0; i < c->n_slots; i++) {
        cslot *sl = &c->slots[i];
        if (sl->trial < 0 && !sl->dead && c->rank_used[sl->rank] + threads <= c->rank_cores[sl->rank]) return i;
    }
    return -1;
}

static void dispatch(coord *c)
{
    srch_msg *m = NULL;
    for (int oi = c->cursor; oi < c->n; oi++) {
        int i = c->order[oi];
        ctrial *t = &c->t[i];
        if (t->state != TS_QUEUED) {
            if (oi == c->cursor) c->cursor++;
            continue;
        }
        int slot = free_slot(c, t->threads);
        if (slot < 0) break; /* in order: wait for room */
        mlpc_config cfg;
        mlpc_error err;
        memset(&err, 0, sizeof err);
        char params[1024], cmd[4096];
        t->attempts++;
        reset_run(t);
        int bad = build_config(c, i, &cfg, &err);
        if (bad) {
            snprintf(params, sizeof params, "{}");
            snprintf(cmd, sizeof cmd, "%s", "");
        } else {
            srch_params_json(c->s, &cfg, params, sizeof params);
            srch_train_command(c->s, &cfg, cmd, sizeof cmd);
        }
        cslot *sl = &c->slots[slot];
        int pid = sl->rank == 0 ? (int)c->pool.w[sl->local].pid : sl->pid;
        if (bad) {
            t->id = srch_trial_begin(c->st, c->study, c->session, i, srch_trial_seed(c->s->seed, i), params, cmd,
                                     t->attempts, sl->host, sl->rank, pid);
            db_check(c, t->id < 0);
            t->state = TS_RUNNING;
            finalize(c, i, TS_FAILED, 0, NAN, err.msg);
            continue;
        }
        if (!m && !(m = calloc(1, sizeof *m))) return;
        memset(m, 0, sizeof *m);
        m->type = MSG_TRIAL;
        m->trial = i;
        m->attempt = t->attempts;
        m->u.trial.cfg = cfg;
        m->u.trial.n_rungs = t->n_dec;
        memcpy(m->u.trial.rungs, c->rungs, sizeof c->rungs);
        m->u.trial.ckpt_ms = c->ckpt_ms;
        m->u.trial.fp = srch_hash(c->data_fp, cmd, strlen(cmd));
        if (c->ckpt_ms < 0 || srch_ckpt_path(m->u.trial.ckpt, sizeof m->u.trial.ckpt, c->o->db, c->study, i))
            m->u.trial.ckpt[0] = '\0';
        t->state = TS_RUNNING;
        run_add(c, i);
        t->slot = slot;
        sl->trial = i;
        sl->threads = t->threads;
        c->rank_used[sl->rank] += t->threads;
        size_t mb = srch_model_bytes(&cfg, c->rows);
        if (mb > c->model_max) c->model_max = mb;
        send_to_slot(c, slot, m); /* first: the worker starts while the row is written */
        t->id = srch_trial_begin(c->st, c->study, c->session, i, srch_trial_seed(c->s->seed, i), params, cmd,
                                 t->attempts, sl->host, sl->rank, pid);
        db_check(c, t->id < 0);
    }
    free(m);
}

/* ---- events ------------------------------------------------------------------- */

static void release_slot(coord *c, int slot)
{
    cslot *sl = &c->slots[slot];
    if (sl->trial >= 0) {
        c->rank_used[sl->rank] -= sl->threads;
        if (c->t[sl->trial].slot == slot) c->t[sl->trial].slot = -1;
    }
    sl->trial = -1;
    sl->threads = 0;
}

static void worker_died(coord *c, int slot, int trial, int attempt, const char *why)
{
    cslot *sl = &c->slots[slot];
    if (sl->trial != trial) trial = sl->trial;
    release_slot(c, slot);
    if (trial < 0) return;
    ctrial *t = &c->t[trial];
    (void)attempt;
    if (t->state != TS_RUNNING) return;
    if (t->worker_done) return; /* its result is in; the death came after */
    if (t->attempts <= c->o->retries) {
        say(c, "trial %d: %s; running it again (attempt %d of %d)\n", trial, why, t->attempts + 1, c->o->retries + 1);
        db_check(c, srch_trial_requeue(c->st, t->id));
        c->must_commit = 1;
        retract(c, trial);
        t->state = TS_QUEUED;
        reset_run(t);
        if (c->pos[trial] < c->cursor) c->cursor = c->pos[trial]; /* every trial before the cursor is out of the queue */
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "%s", why);
    finalize(c, trial, TS_FAILED, t->seen, NAN, msg);
}

static int slot_of(const coord *c, const srch_msg *m)
{
    if (m->rank < 0 || m->rank >= c->ranks || c->rank_base[m->rank] < 0) return -1;
    int s = c->rank_base[m->rank] + m->slot;
    return s < c->n_slots && c->slots[s].rank == m->rank ? s : -1;
}

static void handle(coord *c, srch_msg *m, mlpc_error *err)
{
    if (m->type == MSG_HELLO) {
        if (m->rank <= 0 || m->rank >= c->ranks || c->rank_base[m->rank] >= 0) return;
        if (add_slots(c, m->rank, m->u.hello.workers, m->u.hello.cores, m->u.hello.host, err) == 0) {
            for (int i = 0; i < m->u.hello.workers; i++) c->slots[c->rank_base[m->rank] + i].pid = 0;
            c->hellos++;
            say(c, "rank %d on %s: %d worker%s x %d thread%s\n", m->rank, m->u.hello.host, m->u.hello.workers,
                m->u.hello.workers == 1 ? "" : "s", m->u.hello.threads, m->u.hello.threads == 1 ? "" : "s");
        }
        return;
    }
    int slot = slot_of(c, m);
    if (slot < 0) return;
    if (m->type == MSG_DIED) {
        worker_died(c, slot, m->trial, m->attempt, m->u.done.err);
        return;
    }
    if (m->trial < 0 || m->trial >= c->n) return;
    ctrial *t = &c->t[m->trial];
    int current = t->state == TS_RUNNING && t->attempts == m->attempt && !t->worker_done;
    if (m->type == MSG_NOTE) {
        m->u.done.err[sizeof m->u.done.err - 1] = '\0';
        if (current) say(c, "trial %d: %s\n", m->trial, m->u.done.err);
        return;
    }
    if (m->type == MSG_EPOCHS) {
        if (!current) return;
        int n = m->u.epochs.n < SRCH_EPOCH_BATCH ? m->u.epochs.n : SRCH_EPOCH_BATCH;
        db_check(c, srch_trial_epochs(c->st, t->id, m->u.epochs.e, n));
        for (int i = 0; i < n; i++) {
            const srch_epoch *e = &m->u.epochs.e[i];
            double v = metric_of(e, c->s->metric);
            t->seen = e->epoch;
            t->last = v;
            for (int k = 0; k < c->n_rungs; k++)
                if (c->rungs[k] == e->epoch) t->rv[k] = v;
        }
        return;
    }
    if (m->type != MSG_DONE) return;
    if (c->slots[slot].trial == m->trial) release_slot(c, slot);
    if (c->slots[slot].rank > 0) c->slots[slot].pid = m->u.done.pid;
    c->cpu_total += m->u.done.cpu_s;
    if (m->u.done.gap_s >= 0) {
        double g = m->u.done.gap_s * 1e3;
        c->gap_sum += g;
        c->gap_n++;
        if (g > c->gap_max) c->gap_max = g;
    }
    if (t->attempts != m->attempt) return;
    if (t->state == TS_PRUNED) { /* pruned while it ran: add the time it spent */
        drop_ckpt(c, m->trial); /* in case it wrote one after the decision */
        t->cpu_s = m->u.done.cpu_s;
        t->wall_s = m->u.done.wall_s;
        db_check(c, srch_trial_end(c->st, t->id, TS_PRUNED, c->rungs[t->pruned_rung], t->rv[t->pruned_rung],
                                   t->cpu_s, t->wall_s, NULL));
        return;
    }
    if (!current) return;
    t->worker_done = 1;
    t->cpu_s = m->u.done.cpu_s;
    t->wall_s = m->u.done.wall_s;
    int st = m->u.done.status;
    if (st == DONE_DIVERGED || st == DONE_ERROR || st == DONE_CRASHED || (st == DONE_OK && t->seen < t->epochs_total)) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", m->u.done.err[0] ? m->u.done.err : "the worker stopped early");
        finalize(c, m->trial, TS_FAILED, t->seen, NAN, msg);
    }
    /* a complete run is finalized by decide() once its rung decisions are made */
}

/* ---- resume --------------------------------------------------------------------- */

typedef struct load_ctx {
    coord *c;
    int kept[5], restarted;
    mlpc_error *err;
} load_ctx;

static int load_row(const srch_trial_row *r, void *u)
{
    load_ctx *x = u;
    coord *c = x->c;
    if (r->number < 0 || r->number >= c->n) return 0;
    ctrial *t = &c->t[r->number];
    t->id = r->id;
    t->attempts = r->attempts;
    if (r->state == TS_COMPLETE || r->state == TS_PRUNED || r->state == TS_FAILED) {
        t->state = r->state;
        t->seen = r->epochs;
        t->last = r->value;
        c->finals++;
        x->kept[r->state]++;
        int nk = 0;
        while (nk < c->n_rungs && c->rungs[nk] <= r->epochs) nk++;
        if (nk && srch_metric_at(c->st, r->id, c->s->metric, c->rungs, nk, t->rv)) return -1;
        if (r->state == TS_PRUNED) {
            t->pruned_rung = nk - 1;
            t->decided = nk - 1;
        } else {
            t->decided = t->n_dec;
        }
        return 0;
    }
    x->restarted++;
    return srch_trial_requeue(c->st, r->id);
}

/* ---- the loop ----------------------------------------------------------------------- */

static int loop(coord *c, mlpc_error *err)
{
    enum { MSG_BUF = 64 };
    struct pollfd *pf = calloc((size_t)c->pool.n, sizeof *pf);
    srch_msg *m = malloc(sizeof *m), *buf = malloc(sizeof *buf * MSG_BUF);
    if (!pf || !m || !buf) {
        free(pf);
        free(m);
        free(buf);
        return mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory"), -1;
    }
    int ready = 0, in_txn = 0;
    double last_commit = mlpc_now();
    c->next_pss = last_commit + 0.5;
    for (;;) {
        /* one transaction for many events: committed at once when a trial
         * finished (what --resume keeps), else every 200 ms (metrics) */
        if (!in_txn) db_check(c, srch_store_begin(c->st));
        in_txn = 1;
        /* read what the workers sent; a worker that finished gets its next
         * trial before any of it is written to the store */
        int nb = 0;
        for (int i = 0; ready > 0 && i < c->pool.n; i++) {
            if (!pf[i].revents) continue;
            int got;
            while (nb < MSG_BUF && (got = srch_recv(c->pool.w[i].fd, &buf[nb])) == 1) {
                buf[nb].rank = 0;
                buf[nb++].slot = i;
                struct pollfd one = {c->pool.w[i].fd, POLLIN, 0};
                if (poll(&one, 1, 0) <= 0 || !(one.revents & POLLIN)) break;
            }
            if (nb < MSG_BUF && got <= 0) c->slots[c->rank_base[0] + i].dead = 1;
        }
        for (int k = 0; k < nb; k++) {
            cslot *sl = &c->slots[c->rank_base[0] + buf[k].slot];
            if (buf[k].type == MSG_DONE && sl->trial == buf[k].trial && !sl->dead) release_slot(c, c->rank_base[0] + buf[k].slot);
        }
        if (nb && !stop_signal(c) && c->hellos >= c->ranks - 1) dispatch(c);
        for (int k = 0; k < nb; k++) handle(c, &buf[k], err);
        for (int i = 0; i < c->pool.n; i++) {
            int slot = c->rank_base[0] + i;
            if (!c->slots[slot].dead) continue;
            int trial = c->slots[slot].trial;
            char why[200];
            mlpc_error e2;
            c->slots[slot].dead = 0;
            int lost = srch_pool_reap(&c->pool, i, why, sizeof why, &e2);
            worker_died(c, slot, trial, trial >= 0 ? c->t[trial].attempts : 0, why);
            if (lost) { /* no new worker: stop, --resume continues */
                *err = e2;
                c->failed_db = 1;
            }
        }
        while (c->mpi && srch_mpi_poll(m) == 1) handle(c, m, err);
        decide(c);
        /* under MPI, start when every rank has said hello (2 minutes at most) */
        if (!stop_signal(c) && (c->hellos >= c->ranks - 1 || mlpc_now() - c->t0 > 120)) dispatch(c);
        decide(c); /* failed configs finalized by dispatch */
        double now = mlpc_now();
        int last = c->finals >= c->n || stop_signal(c) || c->failed_db;
        if (c->must_commit || last || now - last_commit >= 0.2) {
            db_check(c, srch_store_commit(c->st));
            in_txn = 0;
            c->must_commit = 0;
            last_commit = now;
        }
        if (last) break;
        if (now >= c->next_pss) {
            sample_pss(c);
            c->next_pss = now + 1.0;
        }
        for (int i = 0; i < c->pool.n; i++) pf[i] = (struct pollfd){c->pool.w[i].fd, POLLIN, 0};
        int timeout = c->mpi ? 1 : (int)((c->next_pss - now) * 1000) + 1;
        if (in_txn && timeout > 201) timeout = 201; /* the pending commit */
        ready = poll(pf, (nfds_t)c->pool.n, timeout);
        if (ready < 0 && errno != EINTR) {
            mlpc_seterr(err, MLPC_ERR_IO, "poll: %s", strerror(errno));
            if (in_txn) srch_store_commit(c->st);
            c->failed_db = 1;
            break;
        }
    }
    free(pf);
    free(m);
    free(buf);
    if (c->failed_db && err->code == MLPC_OK)
        mlpc_seterr(err, MLPC_ERR_IO, "%s (finished trials are kept; continue with --resume)", srch_store_errmsg(c->st));
    return c->failed_db ? -1 : 0;
}

/* ---- ranks > 0 ------------------------------------------------------------ */

/* The loop of an MPI rank other than 0: its own workers, whose messages it
 * forwards to rank 0, and rank 0's trials and stops, which it hands to them. */
static void relay(int rank, int workers, int cores, int tlo, srch_shared *sh, const char *host, mlpc_error *err)
{
    srch_pool pool;
    if (srch_pool_start(&pool, workers, sh, -1, err)) {
        fprintf(stderr, "mlpc search: rank %d: %s\n", rank, err->msg);
        srch_mpi_abort(4);
    }
    srch_msg *m = calloc(1, sizeof *m);
    struct pollfd *pf = calloc((size_t)workers, sizeof *pf);
    int *trial = malloc(sizeof(int) * (size_t)workers), *attempt = calloc((size_t)workers, sizeof(int));
    if (!m || !pf || !trial || !attempt) srch_mpi_abort(4);
    for (int i = 0; i < workers; i++) trial[i] = -1;
    m->type = MSG_HELLO;
    m->rank = rank;
    m->u.hello.workers = workers;
    m->u.hello.cores = cores;
    m->u.hello.threads = tlo;
    m->u.hello.mpi = 1;
    snprintf(m->u.hello.host, sizeof m->u.hello.host, "%s", host);
    srch_mpi_send(0, m);
    int running = 1;
    while (running) {
        for (int i = 0; i < workers; i++) pf[i] = (struct pollfd){pool.w[i].fd, POLLIN, 0};
        int ready = poll(pf, (nfds_t)workers, 1);
        for (int i = 0; ready > 0 && i < workers; i++) {
            if (!pf[i].revents) continue;
            int got = srch_recv(pool.w[i].fd, m);
            if (got == 1) {
                m->rank = rank;
                m->slot = i;
                if (m->type == MSG_DONE) trial[i] = -1;
                srch_mpi_send(0, m);
                continue;
            }
            char why[200];
            mlpc_error e2;
            if (srch_pool_reap(&pool, i, why, sizeof why, &e2)) srch_mpi_abort(4);
            memset(m, 0, sizeof *m);
            m->type = MSG_DIED;
            m->rank = rank;
            m->slot = i;
            m->trial = trial[i];
            m->attempt = attempt[i];
            snprintf(m->u.done.err, sizeof m->u.done.err, "%.150s on %.60s (rank %d)", why, host, rank);
            trial[i] = -1;
            srch_mpi_send(0, m);
        }
        while (srch_mpi_poll(m) == 1) {
            if (m->type == MSG_SHUTDOWN) {
                running = 0;
                break;
            }
            if (m->slot < 0 || m->slot >= workers) continue;
            if (m->type == MSG_TRIAL) {
                trial[m->slot] = m->trial;
                attempt[m->slot] = m->attempt;
            }
            if (m->type == MSG_TRIAL || (m->type == MSG_STOP && trial[m->slot] == m->trial))
                srch_send(pool.w[m->slot].fd, m);
        }
    }
    srch_pool_stop(&pool);
    memset(m, 0, sizeof *m);
    m->type = MSG_SHUTDOWN; /* goodbye: nothing more comes from this rank */
    m->rank = rank;
    srch_mpi_send(0, m);
    free(m);
    free(pf);
    free(trial);
    free(attempt);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* workers and threads for this rank's core budget; 0 or -1 with err */
static int plan(const srch_space *s, const srch_opts *o, int local_size, int *workers, int *cores,
                int *tlo, int *thi, mlpc_error *err)
{
    int ncpu = cpu_count();
    int budget = ncpu / (local_size > 0 ? local_size : 1);
    if (budget < 1) budget = 1;
    srch_threads_range(s, tlo, thi);
    if (*thi > budget && !o->oversubscribe)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%d threads per trial is more than the %d core%s of this %s; lower it or add --oversubscribe",
                           *thi, budget, budget == 1 ? "" : "s", local_size > 1 ? "rank" : "machine"), -1;
    int w = o->workers > 0 ? o->workers : budget / *tlo;
    if (w < 1) w = 1;
    if (w * *tlo > budget && !o->oversubscribe)
        return mlpc_seterr(err, MLPC_ERR_ARG, "--workers %d x %d thread%s = %d is more than the %d core%s of this %s; add --oversubscribe",
                           w, *tlo, *tlo == 1 ? "" : "s", w * *tlo, budget, budget == 1 ? "" : "s", local_size > 1 ? "rank" : "machine"), -1;
    if (o->oversubscribe && budget < w * *thi) budget = w * *thi;
    *workers = w;
    *cores = budget;
    return 0;
}

/* Rank 0: opens the store and the study in it (new, or resumed with the same
 * settings: canon); 0, or -1 with err set. */
static int open_study(coord *c, const char *canon, char *stored, int *lock_fd, mlpc_error *err)
{
    const srch_space *s = c->s;
    const srch_opts *o = c->o;
    c->st = srch_store_open(o->db, 1, err);
    if (!c->st) return -1;
    *lock_fd = srch_store_lock(o->db, err);
    if (*lock_fd < 0) return -1;
    c->study = srch_study_find(c->st, s->study, stored, 65536);
    if (c->study < 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s", srch_store_errmsg(c->st));
        return -1;
    }
    if (c->study > 0 && !o->resume) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: study \"%s\" is already there; add --resume to continue it, or give --study NEW or another --db",
                    o->db, s->study);
        return -1;
    }
    if (c->study > 0 && strcmp(stored, canon)) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: study \"%s\" was run with other settings (space, --trials, --seed, --metric or --direction differ); resume with the same ones, or give --study NEW",
                    o->db, s->study);
        return -1;
    }
    if (init_trials(c, err)) return -1;
    if (c->study == 0) {
        if (o->resume) say(c, "resume: study \"%s\" is not in %s yet; starting it\n", s->study, o->db);
        if (srch_store_begin(c->st) ||
            (c->study = srch_study_create(c->st, s, o->space_text ? o->space_text : "", canon, fnv1a(canon))) < 0 ||
            srch_store_commit(c->st)) {
            mlpc_seterr(err, MLPC_ERR_IO, "%s", srch_store_errmsg(c->st));
            return -1;
        }
    } else {
        load_ctx x;
        memset(&x, 0, sizeof x);
        x.c = c;
        x.err = err;
        if (srch_store_begin(c->st) || srch_trials_load(c->st, c->study, load_row, &x) || srch_store_commit(c->st)) {
            mlpc_seterr(err, MLPC_ERR_IO, "%s", srch_store_errmsg(c->st));
            return -1;
        }
        say(c, "resume: %d trials kept (%d complete, %d pruned, %d failed), %d restarted, %d to run\n",
            c->finals, x.kept[TS_COMPLETE], x.kept[TS_PRUNED], x.kept[TS_FAILED], x.restarted, c->n - c->finals);
        int died = srch_sessions_mark_died(c->st, c->study);
        if (died > 0)
            say(c, "resume: %d earlier session%s ended without finishing (killed); marked \"died\"\n", died,
                died == 1 ? "" : "s");
    }
    return 0;
}

/* Trial checkpoints: DB.trials/STUDY-NUMBER.ckpt every MLPC_SEARCH_CKPT_EVERY
 * seconds (default 1); 0, or -1 with err set. */
static int ckpt_setup(coord *c, mlpc_error *err)
{
    const srch_opts *o = c->o;
    const char *ev = getenv("MLPC_SEARCH_CKPT_EVERY");
    char *end = NULL;
    double sec = ev && *ev ? strtod(ev, &end) : 1.0;
    if (ev && *ev && (*end || !(sec >= -1 && sec <= 86400))) {
        mlpc_seterr(err, MLPC_ERR_ARG, "MLPC_SEARCH_CKPT_EVERY=%s: expected seconds (0: every epoch, -1: no trial checkpoints)", ev);
        return -1;
    }
    c->ckpt_ms = sec < 0 ? -1 : (int)(sec * 1000 + 0.5);
    if (c->ckpt_ms >= 0 && srch_ckpt_dir(o->db)) {
        say(c, "trial checkpoints: off (cannot make %s.trials: %s); a killed trial starts again from epoch 0\n", o->db,
            strerror(errno));
        c->ckpt_ms = -1;
    }
    return 0;
}

/* The slots of rank 0's workers, the header lines, the pool and the
 * session row; 0, or -1 with err set. */
static int start_workers(coord *c, int size, const int plan_[4], int lock_fd, srch_shared *sh, mlpc_error *err)
{
    const srch_space *s = c->s;
    const srch_opts *o = c->o;
    int workers = plan_[0], cores = plan_[1], tlo = plan_[2], thi = plan_[3];
    c->ranks = size;
    c->rank_cores = calloc((size_t)size, sizeof(int));
    c->rank_used = calloc((size_t)size, sizeof(int));
    c->rank_base = malloc(sizeof(int) * (size_t)size);
    if (!c->rank_cores || !c->rank_used || !c->rank_base) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int r = 0; r < size; r++) c->rank_base[r] = -1;
    if (add_slots(c, 0, workers, cores, c->host, err)) return -1;
    {
        char thr[32];
        if (tlo == thi) snprintf(thr, sizeof thr, "%d thread%s", tlo, tlo == 1 ? "" : "s");
        else snprintf(thr, sizeof thr, "%d-%d threads", tlo, thi);
        say(c, "search \"%s\": %d trials, %s sampler%s, metric %s (%s), db %s\n", s->study, c->n,
            s->grid ? "grid" : "random", s->asha ? ", ASHA pruning" : "", srch_metric_name(s->metric),
            s->maximize ? "maximize" : "minimize", o->db);
        say(c, "workers: %d x %s = %d of %d cores on %s%s; data shared read-only: %.1f MB\n", workers, thr,
            workers * tlo, cores, c->host, o->oversubscribe ? " (oversubscribed)" : "", (double)sh->size / 1e6);
        if (c->mpi) say(c, "mpi: %d ranks (%s); rank 0 schedules and writes %s\n", size, srch_mpi_info(), o->db);
        else say(c, "mpi: %s\n", srch_mpi_built() ? "built in, not started by mpirun (one machine)" : "not built in (make MPI=1 with libopenmpi-dev to search across machines)");
    }
    c->t0 = mlpc_now();
    if (srch_pool_start(&c->pool, workers, sh, lock_fd, err)) return -1;
    if ((c->session = srch_session_start(c->st, c->study, size, workers, tlo, cores, c->mpi, c->host, sh->size)) < 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s", srch_store_errmsg(c->st));
        return -1;
    }

    return 0;
}

/* MPI: tells the other ranks to shut down and drains what they still send
 * until each says goodbye (guard: 60 s). */
static void mpi_goodbye(int size)
{
    srch_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_SHUTDOWN;
    for (int r = 1; r < size; r++) srch_mpi_send(r, &m);
    int byes = 0;
    double until = mlpc_now() + 60;
    while (byes < size - 1 && mlpc_now() < until) {
        if (srch_mpi_poll(&m) == 1) {
            if (m.type == MSG_SHUTDOWN) byes++;
        } else {
            usleep(1000);
        }
    }
}

/* After the loop: running trials queued again after a stop, the session
 * row, the study finished; 0 when the search completed, else -1 with err
 * set (the loop's error, or MLPC_ERR_STOPPED). */
static int finish_run(coord *c, int lrc, double wall, mlpc_error *err)
{
    const srch_opts *o = c->o;
    int size = c->ranks;
    int total_workers = 0, total_cores = 0;
    for (int i = 0; i < c->n_slots; i++) total_workers++;
    for (int r = 0; r < size; r++) total_cores += c->rank_cores[r];
    if (stop_signal(c)) { /* running trials go back to the queue; --resume runs them */
        srch_store_begin(c->st);
        for (int i = 0; i < c->n; i++)
            if (c->t[i].state == TS_RUNNING && c->t[i].id > 0) srch_trial_requeue(c->st, c->t[i].id);
        srch_store_commit(c->st);
    }
    srch_store_begin(c->st);
    srch_session_update(c->st, c->session, wall, c->cpu_total, c->done_session, c->pss_max, c->pss_workers_max, c->model_max,
                        c->gap_n ? c->gap_sum / c->gap_n : -1, c->gap_n ? c->gap_max : -1,
                        stop_signal(c) ? "interrupted" : lrc ? "failed" : "complete");
    /* sessions.workers/cores: all ranks */
    srch_session_fix_totals(c->st, c->session, total_workers, total_cores);
    if (c->finals >= c->n) srch_study_finish(c->st, c->study);
    srch_store_commit(c->st);
    if (c->finals >= c->n) srch_ckpt_clear(o->db, c->study); /* nothing is left to resume */
    if (lrc) return -1;
    if (stop_signal(c)) {
        mlpc_seterr(err, MLPC_ERR_STOPPED, "interrupted (signal %d): %d of %d trials done; continue with --resume",
                    stop_signal(c), c->finals, c->n);
        return -1;
    }
    return 0;
}

int srch_run(srch_space *s, const srch_opts *o, mlpc_dataset **trainp, mlpc_dataset **valp, mlpc_error *err)
{
    mlpc_dataset *train = *trainp, *val = *valp;
    coord c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.o = o;
    c.n = s->trials;
    c.n_in = mlpc_dataset_features(train);
    c.n_out = mlpc_dataset_outputs(train);
    c.rows = mlpc_dataset_rows(train);
    c.regress = mlpc_dataset_task(train) == MLPC_TASK_REGRESS;
    gethostname(c.host, sizeof c.host - 1);
    int rc = -1, lock_fd = -1, rank = 0, size = 1, local_size = 1;
    srch_shared sh;
    memset(&sh, 0, sizeof sh);
    char *canon = malloc(65536), *stored = malloc(65536);
    if (!canon || !stored) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->threads > 0) { /* --threads: every trial */
        srch_param *p = &s->p[P_THREADS];
        memset(p, 0, sizeof *p);
        p->given = 1;
        p->n = 1;
        p->v[0] = o->threads;
    }
    if (srch_space_canon(s, canon, 65536) < 0) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: the space is too large", s->path);
        goto out;
    }

    if (srch_mpi_launched()) {
        if (!srch_mpi_built()) {
            mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "started by mpirun, but this mlpc was built without MPI, so each rank would run the whole search; rebuild with make MPI=1 after apt-get install libopenmpi-dev openmpi-bin");
            goto out;
        }
        setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
        if (srch_mpi_init(&rank, &size, &local_size, err)) goto out;
        c.mpi = size > 1;
    }
    int workers, cores, tlo, thi;
    if (plan(s, o, local_size, &workers, &cores, &tlo, &thi, err)) {
        if (c.mpi) {
            fprintf(stderr, "mlpc search: rank %d: %s\n", rank, err->msg);
            srch_mpi_abort(2);
        }
        goto out;
    }
    if (srch_share(&sh, train, val, err)) goto out;
    sh.n_tgt = o->n_tgt;
    sh.worker_signals = o->worker_signals;
    c.stop = o->stop;
    sh.tgt_mean = o->tgt_mean;
    sh.tgt_std = o->tgt_std;
    c.data = &sh;
    c.data_fp = srch_hash(0, sh.base, sh.size);
    /* the shared region is now the only copy: the workers fork without another */
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
    *trainp = *valp = NULL;
    malloc_trim(0);

    if (rank > 0) { /* ---- a relay rank */
        relay(rank, workers, cores, tlo, &sh, c.host, err);
        rc = 1;
        goto out;
    }

    /* ---- rank 0: the store, trial checkpoints, the workers */
    int plan_[4] = {workers, cores, tlo, thi};
    if (open_study(&c, canon, stored, &lock_fd, err) || ckpt_setup(&c, err) ||
        start_workers(&c, size, plan_, lock_fd, &sh, err))
        goto abort_ranks;
    if (o->on_ready) o->on_ready(o->user);
    int lrc = loop(&c, err);
    sample_pss(&c);
    double wall = mlpc_now() - c.t0;
    srch_pool_stop(&c.pool);
    if (c.mpi) mpi_goodbye(size);
    rc = finish_run(&c, lrc, wall, err);
    goto out;

abort_ranks:
    if (c.mpi) {
        fprintf(stderr, "mlpc search: %s\n", err->msg);
        srch_mpi_abort(2);
    }
out:
    srch_pool_stop(&c.pool);
    if (lock_fd >= 0) close(lock_fd);
    if (c.study <= 0)
        srch_store_discard(c.st); /* nothing stored: a file this run created goes */
    else
        srch_store_close(c.st);
    srch_unshare(&sh);
    free_trials(&c);
    free(c.slots);
    free(c.rank_cores);
    free(c.rank_used);
    free(c.rank_base);
    free(canon);
    free(stored);
    if (c.mpi) srch_mpi_finalize();
    return rc;
}
