/*
 * worker.c - the local worker processes.
 *
 * The coordinator forks W workers after the data is in shared memory. Each
 * talks to it over its own SOCK_SEQPACKET socket pair with fixed-size
 * messages (srch_msg): a trial's config in, epoch records (batched) and one
 * result out. A worker runs one trial at a time with cfg.threads compute
 * threads, checks for a STOP (pruned) every few milliseconds and at rung
 * epochs, and dies with its parent (PR_SET_PDEATHSIG).
 */
#include "search/search.h"
#include "core/clock.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int srch_send(int fd, const srch_msg *m)
{
    for (;;) {
        ssize_t n = send(fd, m, sizeof *m, MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof *m) return 0;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
}

int srch_recv(int fd, srch_msg *m)
{
    for (;;) {
        ssize_t n = recv(fd, m, sizeof *m, 0);
        if (n == (ssize_t)sizeof *m) return 1;
        if (n == 0) return 0;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
}

static void flush_epochs(int fd, srch_msg *ep)
{
    if (ep->u.epochs.n == 0) return;
    if (srch_send(fd, ep)) _exit(0); /* the coordinator is gone */
    ep->u.epochs.n = 0;
}

static void send_note(int fd, const srch_msg *in, int epochs, const char *text)
{
    srch_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_NOTE;
    m.trial = in->trial;
    m.attempt = in->attempt;
    m.slot = in->slot;
    m.u.done.epochs = epochs;
    snprintf(m.u.done.err, sizeof m.u.done.err, "%s", text);
    if (srch_send(fd, &m)) _exit(0);
}

/* A fresh net and trainer for the trial on the shared data; 0, or -1 with
 * the message in msg. */
static int make_trainer(const mlpc_config *cfg, const srch_shared *data, mlpc_net **net, mlpc_trainer **tr,
                        char *msg, size_t cap)
{
    mlpc_error err;
    memset(&err, 0, sizeof err);
    *net = mlpc_net_create(cfg, &err);
    if (*net && data->n_tgt && mlpc_net_set_target_stats(*net, data->n_tgt, data->tgt_mean, data->tgt_std)) {
        snprintf(msg, cap, "%.200s", mlpc_net_error(*net)->msg);
        return -1;
    }
    *tr = *net ? mlpc_trainer_create(*net, cfg, &err) : NULL;
    if (!*tr) {
        snprintf(msg, cap, "%.200s", err.msg);
        return -1;
    }
    mlpc_trainer_set_byte_rows(*tr, 0); /* workers share one float copy of the data */
    if (mlpc_trainer_set_data(*tr, data->train, data->val, NULL) != MLPC_OK) {
        snprintf(msg, cap, "%.200s", mlpc_trainer_error(*tr)->msg);
        return -1;
    }
    return 0;
}

/* Resumes the trainer from the trial's checkpoint when there is one of this
 * trial: returns the epochs done (their records in rec), 0 to start from
 * epoch 0 (a note says why when a file was there but not usable), or -1 when
 * the trainer was changed by a failed resume and must be made again. */
static int trial_resume(int fd, const srch_msg *in, mlpc_trainer *tr, srch_epoch *rec)
{
    const char *path = in->u.trial.ckpt;
    if (!path[0] || !rec || access(path, F_OK) != 0) return 0;
    char why[200], note[256];
    mlpc_error e;
    memset(&e, 0, sizeof e);
    mlpc_net *ck = mlpc_net_load(path, &e);
    int n = -1;
    if (!ck) { /* the message names the file: once is enough */
        size_t pl = strlen(path);
        const char *msg = !strncmp(e.msg, path, pl) && !strncmp(e.msg + pl, ": ", 2) ? e.msg + pl + 2 : e.msg;
        snprintf(why, sizeof why, "%.190s", msg);
    }
    else n = srch_ckpt_records(mlpc_net_meta(ck, "metrics"), in->u.trial.fp, rec, in->u.trial.cfg.epochs, why, sizeof why);
    mlpc_net_free(ck);
    int rc = 0;
    if (n > 0 && mlpc_trainer_resume(tr, path) != MLPC_OK) {
        snprintf(why, sizeof why, "%.190s", mlpc_trainer_error(tr)->msg);
        n = -1;
    } else if (n > 0 && mlpc_trainer_epochs_done(tr) != n) {
        snprintf(why, sizeof why, "its state is after epoch %d, its records after %d", mlpc_trainer_epochs_done(tr), n);
        n = -1;
        rc = -1;
    }
    if (n > 0) {
        snprintf(note, sizeof note, "resumed from its checkpoint after epoch %d", n);
        send_note(fd, in, n, note);
        return n;
    }
    snprintf(note, sizeof note, "checkpoint %.60s ignored: %.150s; starting from epoch 0", path, why);
    send_note(fd, in, 0, note);
    unlink(path);
    return rc;
}

/* SIGTERM from the coordinator (srch_pool_stop) ends the worker at once,
 * except while a trial checkpoint is being written: then it ends right
 * after the write, so no temporary file is left beside the checkpoint. The
 * handler is the CLI's (srch_opts.worker_signals, given g_term); it may run
 * on any of the trial's threads, and _exit ends them all. */
static srch_term g_term;

static void trial_checkpoint(const srch_msg *in, mlpc_net *net, mlpc_trainer *tr, const srch_epoch *rec, int n)
{
    char *meta = srch_ckpt_meta(in->u.trial.fp, rec, n);
    if (!meta) return;
    mlpc_net_set_meta(net, "metrics", meta);
    free(meta);
    /* a checkpoint that cannot be written only means the trial cannot resume */
    g_term.in_write = 1;
    mlpc_trainer_save_checkpoint(tr, in->u.trial.ckpt);
    g_term.in_write = 0;
    if (g_term.pending) _exit(0);
    mlpc_net_set_meta(net, "metrics", NULL);
}

/* For tests (MLPC_SEARCH_HOLD=N, docs/search.md): a worker running trial
 * number 0..N-1 stops itself with SIGSTOP after the first epoch of each run
 * of it (its records sent, its checkpoint written), and goes on at SIGCONT.
 * A test can then look at, kill or resume a search in a known state on any
 * machine speed, where waiting for a moment would race with the trials. */
static int g_hold = -1;

static void hold_for_test(int fd, const srch_msg *in, srch_msg *ep)
{
    if (g_hold < 0) {
        const char *v = getenv("MLPC_SEARCH_HOLD");
        char *end = NULL;
        long n = v && *v ? strtol(v, &end, 10) : 0;
        g_hold = v && *v && !*end && n > 0 && n < 1000000 ? (int)n : 0;
    }
    if (in->trial >= g_hold) return;
    flush_epochs(fd, ep);
    raise(SIGSTOP);
}

static void run_trial(int fd, const srch_msg *in, const srch_shared *data, double gap)
{
    const mlpc_config *cfg = &in->u.trial.cfg;
    srch_msg *ep = calloc(1, sizeof *ep), done;
    memset(&done, 0, sizeof done);
    done.type = MSG_DONE;
    done.trial = in->trial;
    done.attempt = in->attempt;
    done.slot = in->slot;
    done.u.done.pid = (int32_t)getpid();
    done.u.done.gap_s = gap;
    double w0 = mlpc_now(), c0 = mlpc_cpu_now();
    mlpc_net *net = NULL;
    mlpc_trainer *tr = NULL;
    int status = DONE_OK, epochs = 0, ckpt = in->u.trial.ckpt[0] && in->u.trial.ckpt_ms >= 0;
    srch_epoch *rec = ckpt ? calloc((size_t)cfg->epochs + 1, sizeof *rec) : NULL;
    if (!ep) {
        status = DONE_ERROR;
        snprintf(done.u.done.err, sizeof done.u.done.err, "out of memory");
        goto out;
    }
    *ep = done;
    ep->type = MSG_EPOCHS;
    if (make_trainer(cfg, data, &net, &tr, done.u.done.err, sizeof done.u.done.err)) {
        status = DONE_ERROR;
        goto out;
    }
    int rung = 0;
    epochs = trial_resume(fd, in, tr, rec);
    if (epochs < 0) {
        mlpc_trainer_free(tr);
        mlpc_net_free(net);
        epochs = 0;
        if (make_trainer(cfg, data, &net, &tr, done.u.done.err, sizeof done.u.done.err)) {
            status = DONE_ERROR;
            goto out;
        }
    }
    for (int i = 0; i < epochs; i++) { /* the records up to the checkpoint, again */
        ep->u.epochs.e[ep->u.epochs.n++] = rec[i];
        if (ep->u.epochs.n == SRCH_EPOCH_BATCH) flush_epochs(fd, ep);
    }
    while (rung < in->u.trial.n_rungs && in->u.trial.rungs[rung] <= epochs) rung++;
    double last_flush = mlpc_now(), last_poll = last_flush;
    double every = in->u.trial.ckpt_ms / 1e3, next_ckpt = last_flush + every;
    int first = epochs;
    while (epochs < cfg->epochs) {
        mlpc_epoch_stats st;
        mlpc_status s = mlpc_trainer_epoch(tr, &st);
        if (s != MLPC_OK) {
            status = s == MLPC_ERR_DIVERGED ? DONE_DIVERGED : DONE_ERROR;
            snprintf(done.u.done.err, sizeof done.u.done.err, "%.200s", mlpc_trainer_error(tr)->msg);
            break;
        }
        epochs++;
        srch_epoch *r = &ep->u.epochs.e[ep->u.epochs.n++];
        memset(r, 0, sizeof *r);
        r->epoch = epochs;
        r->loss = st.loss;
        r->acc = st.acc;
        r->val_loss = st.val_loss;
        r->val_acc = st.val_acc;
        r->val_mse = st.val_mse;
        r->mse = st.mse;
        r->seconds = st.epoch_seconds + st.eval_seconds;
        if (rec) rec[epochs - 1] = *r;
        int at_rung = rung < in->u.trial.n_rungs && epochs == in->u.trial.rungs[rung];
        if (at_rung) rung++;
        double t = mlpc_now();
        if (ep->u.epochs.n == SRCH_EPOCH_BATCH || at_rung || t - last_flush > 0.05 || epochs == cfg->epochs) {
            flush_epochs(fd, ep);
            last_flush = t;
        }
        if (rec && epochs < cfg->epochs && t >= next_ckpt) {
            trial_checkpoint(in, net, tr, rec, epochs);
            double now = mlpc_now(), cost = now - t;
            /* at most 5% of the trial's time goes to its checkpoints */
            next_ckpt = now + (every > 0 && every < 20 * cost ? 20 * cost : every);
        }
        if (epochs == first + 1) hold_for_test(fd, in, ep);
        if (at_rung || t - last_poll > 0.002) {
            last_poll = t;
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 0) > 0) {
                srch_msg m;
                int got = srch_recv(fd, &m);
                if (got <= 0 || m.type == MSG_SHUTDOWN) _exit(0);
                if (m.type == MSG_STOP && m.trial == in->trial) {
                    status = DONE_STOPPED;
                    break;
                }
            }
        }
    }
    flush_epochs(fd, ep);
out:
    /* a trial that ends here (pruned, diverged, failed) is never resumed;
     * a complete one's file goes when the coordinator records it */
    if (status != DONE_OK && in->u.trial.ckpt[0]) unlink(in->u.trial.ckpt);
    done.u.done.status = status;
    done.u.done.epochs = epochs;
    done.u.done.cpu_s = mlpc_cpu_now() - c0;
    done.u.done.wall_s = mlpc_now() - w0;
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    free(rec);
    free(ep);
    if (srch_send(fd, &done)) _exit(0);
}

static void worker_main(int fd, srch_shared *data, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    if (data->worker_signals) data->worker_signals(&g_term);
    srch_share_readonly(data);
    double idle_since = -1;
    for (;;) {
        srch_msg m;
        int got = srch_recv(fd, &m);
        if (got <= 0 || m.type == MSG_SHUTDOWN) _exit(0);
        if (m.type != MSG_TRIAL) continue; /* a late STOP of a finished trial */
        double gap = idle_since >= 0 ? mlpc_now() - idle_since : -1;
        run_trial(fd, &m, data, gap);
        idle_since = mlpc_now();
    }
}

static int spawn(srch_pool *p, int i, mlpc_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        mlpc_seterr(err, MLPC_ERR_IO, "socketpair for worker %d: %s", i, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        mlpc_seterr(err, MLPC_ERR_IO, "fork of worker %d: %s", i, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        for (int j = 0; j < p->n; j++)
            if (p->w[j].fd >= 0) close(p->w[j].fd);
        if (p->close_fd >= 0) close(p->close_fd);
        worker_main(sv[1], p->data, parent);
        _exit(0);
    }
    close(sv[1]);
    p->w[i].pid = pid;
    p->w[i].fd = sv[0];
    p->w[i].trial = -1;
    return 0;
}

int srch_pool_start(srch_pool *p, int n, srch_shared *data, int close_fd, mlpc_error *err)
{
    memset(p, 0, sizeof *p);
    p->w = calloc((size_t)n, sizeof *p->w);
    if (!p->w) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for %d workers", n);
        return -1;
    }
    p->n = n;
    p->data = data;
    p->close_fd = close_fd;
    for (int i = 0; i < n; i++) p->w[i].fd = -1;
    for (int i = 0; i < n; i++)
        if (spawn(p, i, err)) {
            srch_pool_stop(p);
            return -1;
        }
    return 0;
}

int srch_pool_reap(srch_pool *p, int i, char *why, size_t cap, mlpc_error *err)
{
    srch_worker *w = &p->w[i];
    int st = 0;
    close(w->fd);
    w->fd = -1;
    if (w->pid > 0) {
        kill(w->pid, SIGKILL); /* it closed its socket: make sure it is gone */
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(st))
            snprintf(why, cap, "worker pid %d was killed by signal %d (%s)", (int)w->pid, WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else
            snprintf(why, cap, "worker pid %d exited with status %d", (int)w->pid, WEXITSTATUS(st));
    }
    w->pid = 0;
    return spawn(p, i, err);
}

/* SIGTERM first: a worker writing a trial checkpoint finishes the write
 * (on_term); SIGKILL if it has not ended after 30 s. */
static void stop_worker(pid_t pid)
{
    kill(pid, SIGTERM);
    kill(pid, SIGCONT); /* a stopped worker gets its SIGTERM only once it runs */
    for (int i = 0; i < 3000; i++) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

void srch_pool_stop(srch_pool *p)
{
    if (!p->w) return;
    for (int i = 0; i < p->n; i++) {
        srch_worker *w = &p->w[i];
        if (w->fd >= 0) close(w->fd);
        if (w->pid > 0) stop_worker(w->pid);
    }
    free(p->w);
    memset(p, 0, sizeof *p);
}
