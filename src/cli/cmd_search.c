/* cmd_search.c - `mlpc search SPACE.json`: parallel hyperparameter search
 * over worker processes (and MPI ranks), stored in SQLite; and
 * `mlpc search --report DB`. The format and the design: docs/search.md. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "cli.h"
#include "cli/signals.h"
#include "core/file.h"

extern char **environ;
#include "search/search.h"
#include "dash/dash.h"

static cli_flag search_flags[] = {
    CLI_FLAG("db", "FILE", "auto", "SQLite database of the search; auto: STUDY.db in the current folder",
             "Search"),
    CLI_FLAG("study", "NAME", "auto", "study name in the database; auto: \"study\" of SPACE.json, else its file name",
             NULL),
    CLI_FLAG("trials", "N", "space", "trial budget (overrides \"trials\"; grid: 0 or none means the whole grid)", NULL),
    CLI_FLAG("seed", "N", "space", "study seed (overrides \"seed\"; each trial's seed comes from it and the trial number)",
             NULL),
    CLI_FLAG("sampler", "NAME", "space", "grid or random (overrides \"sampler\")", NULL),
    CLI_FLAG("metric", "NAME", "space",
             "val_loss, val_acc, val_mse, loss, acc or mse (overrides \"metric\"; the space's default: val_loss with validation data, else loss)", NULL),
    CLI_FLAG("direction", "DIR", "space", "minimize or maximize (overrides \"direction\"; the space's default: maximize for accuracies)", NULL),
    CLI_FLAG("workers", "W", "auto", "worker processes on this machine (or MPI rank); auto: cores / threads", "Resources"),
    CLI_FLAG("threads", "C", "space", "compute threads of every trial (overrides \"threads\", which defaults to 1)", NULL),
    CLI_FLAG("oversubscribe", NULL, NULL, "allow workers x threads above the cores", NULL),
    CLI_FLAG("resume", NULL, NULL,
             "continue the study in --db: finished trials are kept, trials that were running start again", "Recovery"),
    CLI_FLAG("retry", "N", "0", "run a trial again up to N times when its worker dies (else it is marked failed)", NULL),
    CLI_FLAG("report", "DB", NULL, "print the report of the studies in DB and exit (with --study: only that one)",
             "Report"),
    CLI_FLAG("top", "N", "10", "rows of the best-trials table", NULL),
    CLI_FLAG("csv", NULL, NULL, "with --report: every trial as CSV (number, state, epochs, value, seed, params)", NULL),
    CLI_FLAG("dashboard", NULL, NULL,
             "serve the live dashboard of all trials and print its URL (MPI: on rank 0); "
             "--dashboard=PORT picks the port; see docs/dashboard.md", "Dashboard"),
    CLI_FLAG("bind", "ADDR", "127.0.0.1", "dashboard address; one that is not loopback needs a token", NULL),
    CLI_FLAG("token", "TOKEN", "auto", "dashboard token; auto: generated for a non-loopback --bind", NULL),
    CLI_FLAG("allow-host", "NAME", NULL,
             "also accept this Host header (repeatable), e.g. localhost:8000 behind an SSH tunnel "
             "or a proxy; NAME without :PORT: any port",
             NULL),
    CLI_FLAG("linger", "SECONDS", "0",
             "keep the dashboard up this long after the search ends; -1: until Ctrl-C", NULL),
    CLI_FLAG("quiet", NULL, NULL, "print nothing but errors", "Output"),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

#define N_FLAGS ((int)(sizeof search_flags / sizeof search_flags[0]))

static const char SUMMARY[] =
    "Searches hyperparameters (layers, widths, activation, optimizer, learning rate, batch,\n"
    "epochs, L2, threads) with a grid or random sampler and optional ASHA early stopping.\n"
    "W worker processes x C threads per trial fill the cores; the data is loaded once and\n"
    "shared read-only; one process writes the SQLite database, so a killed search loses\n"
    "nothing (--resume). Under `mpirun -np N mlpc search ...` rank 0 schedules and every\n"
    "rank runs its own workers. SPACE.json is described in docs/search.md.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 4 internal error,\n"
    "130 interrupted (continue with --resume).";


/* loads the data the space names, split and normalized like `mlpc train`
 * (regression targets standardized too: their statistics go to tgt) */
static int load_data(cli_cmd *c, const srch_space *s, mlpc_dataset **train, mlpc_dataset **val, float tgt[2][SRCH_MAX_TGT],
                     int *n_tgt)
{
    int rc;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (s->data[0]) {
        if ((rc = cli_load_builtin(c, s->data, train, strcmp(s->data, "lorenz") ? NULL : val, NULL))) return rc;
    } else {
        mlpc_csv_options csv;
        mlpc_csv_options_default(&csv);
        if (s->header[0]) csv.header = !strcmp(s->header, "yes") ? 1 : !strcmp(s->header, "no") ? 0 : -1;
        if (!strcmp(s->task, "regress")) csv.task = MLPC_TASK_REGRESS;
        csv.n_targets = s->n_targets;
        csv.label_col = s->label_col[0] ? s->label_col : NULL;
        if ((rc = cli_load_files(c, "train", s->train, "train-labels", s->train_labels[0] ? s->train_labels : NULL,
                                 &csv, train)))
            return rc;
    }
    if (s->val_split[0] && strcmp(s->val_split, "0")) {
        size_t n = mlpc_dataset_rows(*train);
        double v = atof(s->val_split);
        size_t nv = strchr(s->val_split, '.') ? (size_t)llround(v * (double)n) : (size_t)v;
        if (nv == 0 || nv >= n) {
            cli_error(c, "%s: val_split %s: must leave training and validation rows (the data has %zu rows)", s->path,
                      s->val_split, n);
            return CLI_EXIT_USAGE;
        }
        /* as `mlpc train --val-split N --split-seed SEED`: random rows,
         * stratified by class, drawn with the study's seed */
        mlpc_dataset *a = NULL, *b = NULL;
        if (mlpc_dataset_split(*train, nv, 1, s->seed, &a, &b, &err) != MLPC_OK)
            return cli_lib_error(c, NULL, err.code, err.msg);
        mlpc_dataset_free(*train);
        *train = a;
        *val = b;
    }
    /* normalization fitted on the training rows, applied once to the data
     * every worker shares (what `mlpc train --norm` does per run) */
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    cfg.n_layers = 1;
    cfg.sizes[0] = (int)mlpc_dataset_features(*train);
    cfg.sizes[1] = (int)mlpc_dataset_outputs(*train);
    if (cfg.sizes[1] < 1) cfg.sizes[1] = 1;
    cfg.act[0] = MLPC_ACT_LINEAR;
    cfg.loss = MLPC_LOSS_MSE;
    mlpc_net *net = mlpc_net_create(&cfg, &err);
    if (!net) return cli_lib_error(c, NULL, err.code, err.msg);
    mlpc_status st = mlpc_net_fit_normalization(net, *train, s->norm);
    *n_tgt = 0;
    if (!st && mlpc_dataset_task(*train) == MLPC_TASK_REGRESS) {
        if (cfg.sizes[1] > SRCH_MAX_TGT) {
            mlpc_net_free(net);
            cli_error(c, "%s: %d target columns; a search takes at most %d", s->path, cfg.sizes[1], SRCH_MAX_TGT);
            return CLI_EXIT_USAGE;
        }
        const float *mean, *sd;
        st = mlpc_net_fit_target_norm(net, *train, MLPC_NORM_STANDARD);
        *n_tgt = st ? 0 : mlpc_net_target_stats(net, &mean, &sd);
        for (int j = 0; j < *n_tgt; j++) {
            tgt[0][j] = mean[j];
            tgt[1][j] = sd[j];
        }
    }
    if (!st) st = mlpc_net_normalize(net, *train);
    if (!st && *val) st = mlpc_net_normalize(net, *val);
    rc = st ? cli_lib_error(c, NULL, st, mlpc_net_error(net)->msg) : 0;
    mlpc_net_free(net);
    return rc;
}

/* --dashboard: the coordinator creates the store inside srch_run, so a
 * thread waits for the database to hold its tables and then starts
 * `mlpc dashboard DB` as a separate process (the coordinator forks workers,
 * which must not share the server's sockets and threads). It is stopped
 * when the search ends. */
typedef struct dash_waiter_state {
    const char *db, *bind, *token;
    const char *allow[DASH_MAX_ALLOW_HOSTS];
    int n_allow;
    int port, quiet, started;
    pthread_t thread;
    atomic_int stop, go, forked;
    pid_t child;
    int notify; /* read end: a byte (or EOF) once the dashboard printed its URL */
} dash_waiter_state;

static void *dash_waiter(void *arg)
{
    dash_waiter_state *w = arg;
    while (!atomic_load(&w->stop) && !atomic_load(&w->go)) usleep(10000);
    if (atomic_load(&w->stop)) return NULL;
    int pfd[2] = {-1, -1};
    if (pipe2(pfd, O_CLOEXEC) != 0) pfd[0] = pfd[1] = -1;
    /* the main thread waits in dash_ready meanwhile: setenv races nothing */
    if (pfd[1] >= 0) setenv("MLPC_DASH_NOTIFY_FD", "3", 1);
    char port[32];
    const char *argv[12 + 2 * DASH_MAX_ALLOW_HOSTS];
    int n = 0;
    argv[n++] = "mlpc";
    argv[n++] = "dashboard";
    argv[n++] = w->db;
    if (w->port >= 0) {
        snprintf(port, sizeof port, "%d", w->port);
        argv[n++] = "--port";
        argv[n++] = port;
    }
    argv[n++] = "--bind";
    argv[n++] = w->bind;
    if (w->token) {
        argv[n++] = "--token";
        argv[n++] = w->token;
    }
    for (int i = 0; i < w->n_allow; i++) {
        argv[n++] = "--allow-host";
        argv[n++] = w->allow[i];
    }
    if (w->quiet) argv[n++] = "--quiet";
    argv[n] = NULL;
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) { /* only async-signal-safe calls until exec */
        /* the dashboard ends with this thread, also when the search is
         * killed with SIGKILL (the thread stays alive until the search ends) */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(0);
        if (pfd[1] >= 0 && dup2(pfd[1], 3) < 0) _exit(127); /* dup2 keeps it open across exec */
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    unsetenv("MLPC_DASH_NOTIFY_FD");
    if (pfd[1] >= 0) close(pfd[1]);
    if (pid < 0) {
        fprintf(stderr, "mlpc search: --dashboard: cannot start mlpc dashboard: %s\n", strerror(errno));
        if (pfd[0] >= 0) close(pfd[0]);
        atomic_store(&w->forked, 1);
        return NULL;
    }
    w->child = pid;
    w->notify = pfd[0];
    atomic_store(&w->forked, 1);
    while (!atomic_load(&w->stop)) usleep(100000);
    return NULL;
}

/* srch_run's on_ready: the store holds the study, no trial has run yet.
 * Starts the dashboard and waits (guard: 60 s) until it has printed its
 * URL, so the page can be opened while the search runs on any machine. */
static void dash_ready(void *user)
{
    dash_waiter_state *w = user;
    atomic_store(&w->go, 1);
    for (int i = 0; i < 6000 && !atomic_load(&w->forked); i++) usleep(10000);
    if (!atomic_load(&w->forked) || w->notify < 0) return;
    struct pollfd p = {w->notify, POLLIN, 0};
    while (poll(&p, 1, 60000) < 0 && errno == EINTR) {
    }
    close(w->notify);
    w->notify = -1;
}

/* --linger: the search is over; its dashboard process serves on until the
 * time is up or a signal comes (the waiter thread, whose end would stop it,
 * is still alive). */
static void dash_linger(const dash_waiter_state *w, double linger)
{
    if (!w->started || w->child <= 0 || linger == 0) return;
    FILE *out = w->quiet ? stderr : stdout;
    if (linger < 0)
        fprintf(out, "dashboard: still serving (Ctrl-C to stop)\n");
    else
        fprintf(out, "dashboard: still serving for %gs (Ctrl-C to stop)\n", linger);
    fflush(out);
    cli_signals_catch(NULL);
    for (double left = linger; linger < 0 || left > 0; left -= 0.1) {
        if (cli_signals_wait(0.1)) break;
        if (waitpid(w->child, NULL, WNOHANG) == w->child) break; /* it ended by itself */
    }
    cli_signals_restore();
}

#define F(n) cli_flag_get(c, n)

/* --report DB: prints the study's table; 0 or an exit code */
static int report_only(cli_cmd *c, int top)
{
    if (c->n_pos) {
        cli_error(c, "--report DB takes no SPACE.json (got '%s')", c->pos[0]);
        return CLI_EXIT_USAGE;
    }
    const char *db = F("report")->value;
    int rc = cli_check_input(c, "report", db);
    if (rc) return rc;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (srch_report(db, F("study")->given ? F("study")->value : NULL, top, F("csv")->on, stdout, &err))
        return cli_lib_error(c, db, err.code, err.msg);
    return 0;
}

/* Reads and parses SPACE.json (the one positional argument) into *s, its
 * text into *text (the caller frees both); 0 or an exit code. */
static int read_space(cli_cmd *c, char **text, srch_space **s)
{
    if (F("csv")->on) {
        cli_error(c, "--csv: only with --report DB");
        return CLI_EXIT_USAGE;
    }
    if (c->n_pos != 1) {
        cli_error(c, "missing SPACE.json (see mlpc search --help and docs/search.md)");
        return CLI_EXIT_USAGE;
    }
    const char *path = c->pos[0];
    int rc = cli_check_input(c, NULL, path);
    if (rc) return rc;
    size_t text_len = 0;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (mlpc_read_whole(path, "a search space file", (size_t)16 << 20, (unsigned char **)text, &text_len, &err)) {
        cli_error(c, "%s", err.msg);
        return err.code == MLPC_ERR_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_INPUT;
    }
    *s = malloc(sizeof **s);
    if (!*s) {
        cli_error(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    if (srch_space_parse(*s, path, *text, &err)) {
        cli_error(c, "%s", err.msg);
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* The flags that override the file's study settings, then the check of the
 * whole; 0 or an exit code. */
static int space_flags(cli_cmd *c, srch_space *s)
{
    int rc;
    if (F("study")->given) {
        const char *v = F("study")->value;
        if (!*v || strlen(v) >= sizeof s->study)
            return cli_bad_value(c, F("study"), "a non-empty name of at most %zu characters", sizeof s->study - 1);
        snprintf(s->study, sizeof s->study, "%s", v);
    }
    if (F("trials")->given && (rc = cli_int(c, F("trials"), 0, 10000000, &s->trials))) return rc;
    if (F("seed")->given) {
        uint64_t seed;
        if ((rc = cli_u64(c, F("seed"), &seed))) return rc;
        if (seed > ((1ULL << 53) - 1)) return cli_bad_value(c, F("seed"), "must be below 2^53");
        s->seed = seed;
    }
    if (F("sampler")->given) {
        if (!cli_is(F("sampler"), "grid") && !cli_is(F("sampler"), "random"))
            return cli_bad_value(c, F("sampler"), "grid or random");
        s->grid = cli_is(F("sampler"), "grid");
    }
    if (F("metric")->given && (s->metric = srch_metric_parse(F("metric")->value)) < 0)
        return cli_bad_value(c, F("metric"), "val_loss, val_acc, val_mse, loss, acc or mse");
    if (F("direction")->given) {
        const char *d = F("direction")->value;
        if (!strcmp(d, "minimize") || !strcmp(d, "min")) s->maximize = 0;
        else if (!strcmp(d, "maximize") || !strcmp(d, "max")) s->maximize = 1;
        else return cli_bad_value(c, F("direction"), "minimize or maximize");
    }
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (srch_space_check(s, &err)) {
        cli_error(c, "%s", err.msg);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* How to run: workers, threads, retries, the database (STUDY.db for
 * "auto", its name then in *db_auto), --linger; 0 or an exit code. */
static int run_flags(cli_cmd *c, const srch_space *s, srch_opts *o, char **db_auto, double *linger)
{
    int rc;
    if (!cli_is(F("workers"), "auto") && (rc = cli_int(c, F("workers"), 1, 4096, &o->workers))) return rc;
    if (F("threads")->given && (rc = cli_int(c, F("threads"), 1, 4096, &o->threads))) return rc;
    if ((rc = cli_int(c, F("retry"), 0, 1000, &o->retries))) return rc;
    o->oversubscribe = F("oversubscribe")->on;
    o->resume = F("resume")->on;
    o->quiet = F("quiet")->on;
    if (cli_is(F("db"), "auto")) {
        size_t n = strlen(s->study) + 4;
        *db_auto = malloc(n);
        if (!*db_auto) {
            cli_error(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        snprintf(*db_auto, n, "%s.db", s->study);
        o->db = *db_auto;
    } else {
        o->db = F("db")->value;
        struct stat stb;
        if (!*o->db || (stat(o->db, &stb) == 0 && S_ISDIR(stb.st_mode)))
            return cli_bad_value(c, F("db"), "must be a file name");
    }
    if ((rc = cli_float(c, F("linger"), 0, linger))) return rc;
    if (F("linger")->given && !F("dashboard")->on) {
        cli_error(c, "--linger: only with --dashboard");
        return CLI_EXIT_USAGE;
    }
    if (F("allow-host")->given && !F("dashboard")->on) {
        cli_error(c, "--allow-host: only with --dashboard");
        return CLI_EXIT_USAGE;
    }
    /* the database never overwrites the space or the data it names */
    cli_path paths[] = {{"SPACE", c->pos[0], 0, NULL},
                        {"train", s->train[0] ? s->train : NULL, 0, NULL},
                        {"train-labels", s->train_labels[0] ? s->train_labels : NULL, 0, NULL},
                        {"val", s->val[0] ? s->val : NULL, 0, NULL},
                        {"val-labels", s->val_labels[0] ? s->val_labels : NULL, 0, NULL},
                        {"db", o->db, 1, NULL}};
    return cli_check_distinct(c, paths, 6);
}

/* --dashboard (rank 0 only): checks its flags and starts the thread that
 * launches `mlpc dashboard DB` once the store exists; 0 or an exit code. */
static int start_dashboard(cli_cmd *c, int argc, char **argv, int port, srch_opts *o, dash_waiter_state *dw)
{
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!F("dashboard")->on || (rank && strcmp(rank, "0") != 0)) return 0;
    memset(dw, 0, sizeof *dw);
    dw->db = o->db;
    dw->notify = -1;
    dw->quiet = o->quiet;
    dw->port = port;
    dw->bind = F("bind")->value;
    dw->token = cli_is(F("token"), "auto") ? NULL : F("token")->value;
    dash_server_opts so;
    memset(&so, 0, sizeof so);
    so.port = port;
    so.bind = dw->bind;
    so.token = dw->token;
    const char *allow_hosts[DASH_MAX_ALLOW_HOSTS + 1];
    so.n_allow_hosts = cli_collect(argc, argv, "allow-host", allow_hosts, DASH_MAX_ALLOW_HOSTS + 1);
    if (so.n_allow_hosts > DASH_MAX_ALLOW_HOSTS) so.n_allow_hosts = DASH_MAX_ALLOW_HOSTS + 1;
    so.allow_hosts = allow_hosts;
    dw->n_allow = so.n_allow_hosts <= DASH_MAX_ALLOW_HOSTS ? so.n_allow_hosts : 0;
    for (int i = 0; i < dw->n_allow; i++) dw->allow[i] = allow_hosts[i];
    char msg[512];
    if (dash_server_check(&so, msg, sizeof msg)) {
        cli_error(c, "%s", msg);
        return CLI_EXIT_USAGE;
    }
    if (pthread_create(&dw->thread, NULL, dash_waiter, dw) != 0) {
        cli_error(c, "--dashboard: cannot start its thread");
        return CLI_EXIT_INTERNAL;
    }
    dw->started = 1;
    o->on_ready = dash_ready;
    o->user = dw;
    return 0;
}

/* Runs the search, then prints its report; 0 or an exit code (130 after
 * ^C or SIGTERM: the search stops dispatching and ends, its running trials
 * queued again for --resume). */
static int run_search(cli_cmd *c, srch_space *s, srch_opts *o, mlpc_dataset **train, mlpc_dataset **val)
{
    mlpc_error err;
    memset(&err, 0, sizeof err);
    o->stop = &cli_signal;
    o->worker_signals = cli_signals_worker;
    cli_signals_ignore_pipe();
    cli_signals_catch(NULL);
    int r = srch_run(s, o, train, val, &err);
    cli_signals_restore();
    if (r < 0) {
        if (err.code == MLPC_ERR_STOPPED) {
            cli_error(c, "%s", err.msg);
            return 130;
        }
        int rc = cli_lib_error(c, NULL, err.code, err.msg);
        return err.code == MLPC_ERR_UNSUPPORTED ? CLI_EXIT_USAGE : rc;
    }
    if (r == 0 && !o->quiet) {
        printf("\n");
        if (srch_report(o->db, s->study, o->top, 0, stdout, &err)) return cli_lib_error(c, o->db, err.code, err.msg);
    }
    return 0;
}

/* Stops the dashboard's thread and process, if started. */
static void stop_dashboard(dash_waiter_state *dw)
{
    if (!dw->started) return;
    atomic_store(&dw->stop, 1);
    pthread_join(dw->thread, NULL);
    if (dw->child > 0) {
        kill(dw->child, SIGTERM);
        while (waitpid(dw->child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}
#undef F

int cmd_search(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "search", "mlpc search SPACE.json [flags]   |   mlpc search --report DB [--study NAME] [--top N] [--csv]", SUMMARY, search_flags, N_FLAGS, 1);
    mlpc_dataset *train = NULL, *val = NULL;
    char *text = NULL, *db_auto = NULL;
    srch_space *s = NULL;
    dash_waiter_state dw;
    memset(&dw, 0, sizeof dw);
    srch_opts o;
    memset(&o, 0, sizeof o);
    float tgt[2][SRCH_MAX_TGT];
    int dash_port = -1, top = 0;
    double linger = 0;
    char dash_err[512];
    mlpc_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    if (dash_take_port_arg(argc, argv, &dash_port, dash_err, sizeof dash_err)) {
        cli_error(&c, "%s", dash_err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
    if ((rc = cli_int(&c, cli_flag_get(&c, "top"), 1, 1000000, &top))) goto done;
    if (cli_flag_get(&c, "report")->given) {
        rc = report_only(&c, top);
        goto done;
    }
    /* ---- the space, the flags over it, how to run */
    if ((rc = read_space(&c, &text, &s)) || (rc = space_flags(&c, s)) ||
        (rc = run_flags(&c, s, &o, &db_auto, &linger)))
        goto done;
    o.space_text = text;
    o.top = top;
    /* ---- data, once */
    if ((rc = load_data(&c, s, &train, &val, tgt, &o.n_tgt))) goto done;
    o.tgt_mean = tgt[0];
    o.tgt_std = tgt[1];
    if (srch_space_resolve(s, val != NULL, mlpc_dataset_task(train) == MLPC_TASK_REGRESS, &err)) {
        cli_error(&c, "%s", err.msg);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    /* ---- the run */
    if ((rc = start_dashboard(&c, argc, argv, dash_port, &o, &dw)) || (rc = run_search(&c, s, &o, &train, &val)))
        goto done;
    dash_linger(&dw, linger); /* the search finished: not after an error or a signal */
done:
    stop_dashboard(&dw);
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
    free(text);
    free(db_auto);
    free(s);
    cli_cmd_free(&c);
    return rc;
}
