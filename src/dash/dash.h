/*
 * dash.h - the live training dashboard, the terminal progress bar and the
 * static plot export.  Internal to the mlpc command (not part of libmlpc):
 * the CLI links build/libmlpc_dash.a, libmicrohttpd and cairo.
 *
 * Data flow (docs/dashboard.md has the full picture):
 *
 *   training thread --dash_run_push()--> per-run bounded SPSC ring (never blocks,
 *                                        drops and counts when full)
 *   metrics files   --dash_store_watch()-> polled for growth
 *   pump thread     --dash_store_poll()--> drains rings and files every 100 ms,
 *                                        appends JSON events to the store's log,
 *                                        wakes the page streams
 *   libmicrohttpd   --/events-----------> each open page reads the log from the
 *                                        start (replay) and then waits for more
 *
 * Nothing here calls exit(); errors come back as one line in a caller buffer.
 */
#ifndef MLPC_DASH_H
#define MLPC_DASH_H

#include <stddef.h>
#include <stdio.h>

#include "mlpc.h"

/* ---------------------------------------------------------------- records */

typedef enum dash_rec_kind {
    DASH_REC_BATCH = 1, /* running values within an epoch, every K batches */
    DASH_REC_EPOCH = 2, /* the epoch's statistics */
    DASH_REC_END = 3    /* the run finished (status in .status) */
} dash_rec_kind;

typedef enum dash_status {
    DASH_RUNNING = 0,
    DASH_DONE = 1,
    DASH_STOPPED = 2, /* early stopping or a callback */
    DASH_FAILED = 3   /* diverged or an error */
} dash_status;

/* One fixed-size record: the training thread fills it, the ring copies it.
 * Values that do not apply are NaN (written as null). */
typedef struct dash_rec {
    int kind;           /* dash_rec_kind */
    int status;         /* DASH_REC_END: dash_status */
    int epoch;          /* 1-based */
    long batch;         /* DASH_REC_BATCH: 1-based batch within the epoch */
    long n_batches;
    double time;        /* unix time in seconds */
    double loss, acc;   /* batch: running means over the epoch so far */
    double val_loss, val_acc, test_loss, test_acc, mse, val_mse, test_mse;
    double lr;
    double seconds;     /* batch: since the epoch began; epoch: training pass */
    double eval_seconds;
    double sps;         /* samples per second */
    int n_layers;       /* entries used in w_rms/g_rms, 0: none */
    float w_rms[MLPC_MAX_LAYERS];
    float g_rms[MLPC_MAX_LAYERS];
} dash_rec;

/* ---------------------------------------------------------------- store */

typedef struct dash_store dash_store;
typedef struct dash_run dash_run;

/* A store holds the runs and the event log that pages replay. max_bytes
 * caps the log (0: 256 MiB); past it, batch events are dropped and epoch
 * events still kept. NULL on out of memory. */
dash_store *dash_store_create(size_t max_bytes);
/* Stops the pump thread (if started) and frees everything. The server that
 * uses the store must be stopped first. */
void dash_store_free(dash_store *s);

/* A live run fed by the training thread. ring: records it can hold before
 * dropping (0: 4096). regress: 1 for a regression run (MSE instead of
 * accuracy). NULL on out of memory. The run is owned by the store. */
dash_run *dash_store_add_live(dash_store *s, const char *name, int regress, size_t ring);
/* Copies *r into the run's ring. Never blocks and never allocates: 0, or
 * -1 when the ring is full (the record is dropped and counted). Only one
 * thread may push to a given run. */
int dash_run_push(dash_run *run, const dash_rec *r);
/* Records dropped because the ring was full. */
unsigned long dash_run_dropped(const dash_run *run);

/* Watches a metrics file or a folder (searched for *.jsonl, three levels
 * deep) for new lines on every poll. 0, or -1 with a message in err. */
int dash_store_watch(dash_store *s, const char *path, char *err, size_t cap);
/* Reads the lines a metrics file has now, once, as finished runs (for
 * `train --dashboard --metrics FILE`: the earlier runs in that file). A
 * missing file is not an error. 0, or -1 with a message. */
int dash_store_load_once(dash_store *s, const char *path, char *err, size_t cap);

/* One pump step: drains the live rings, polls the watched files (at most
 * every poll_files_ms since the last file poll; 0: now), appends events and
 * wakes the readers. Returns the number of events appended. */
int dash_store_poll(dash_store *s, int poll_files_ms);
/* Starts a thread that calls dash_store_poll every interval_ms (0: 100).
 * 0, or -1 when the thread cannot be started. */
int dash_store_start_pump(dash_store *s, int interval_ms);

/* Readers of the log (the page streams). The log only grows. */
size_t dash_store_log_len(dash_store *s);
/* Copies up to cap bytes of the log from *off on, advancing *off. When
 * nothing is new it waits up to wait_ms (or until dash_store_wake). Returns
 * the bytes copied; 0 when it timed out or was woken with nothing new. */
size_t dash_store_read(dash_store *s, size_t *off, char *buf, size_t cap, int wait_ms);
/* Wakes every reader waiting in dash_store_read. */
void dash_store_wake(dash_store *s);
/* Number of runs known. */
int dash_store_runs(dash_store *s);

/* ---------------------------------------------------------------- server */

#define DASH_DEFAULT_PORT 6150

typedef struct dash_server_opts {
    const char *bind;  /* address to listen on; NULL: 127.0.0.1 */
    int port;          /* 0: any free port; -1: DASH_DEFAULT_PORT or one of the next 20 */
    const char *token; /* NULL: generated when the bind is not loopback, none on loopback;
                          "" : refuse to run without one on a non-loopback bind;
                          text: required on every request, whatever the bind */
    int require_token; /* 1: a token even on loopback (generated when none is given) */
    int max_conns;     /* concurrent connections; 0: 32 */
    int keepalive_ms;  /* ping an idle stream this often; 0: 3000 (a gone client is noticed then) */
    /* further Host header values accepted (--allow-host, for SSH tunnels and
     * proxies): "NAME:PORT" exactly, or "NAME" with any port; at most
     * DASH_MAX_ALLOW_HOSTS, each shorter than 256 bytes */
    const char *const *allow_hosts;
    int n_allow_hosts;
} dash_server_opts;
#define DASH_MAX_ALLOW_HOSTS 16

typedef struct dash_server dash_server;

/* Starts libmicrohttpd on its own threads serving the page, its assets and
 * /events from the store. NULL with a one-line message in err. */
dash_server *dash_server_start(dash_store *store, const dash_server_opts *o, char *err,
                               size_t cap);
/* Ends the streams, stops the threads, frees the server. NULL is allowed. */
void dash_server_stop(dash_server *srv);
int dash_server_port(const dash_server *srv);
/* "http://127.0.0.1:6150/" with "?token=..." when a token is required. */
const char *dash_server_url(const dash_server *srv);
/* Connections past the gate (served, or waiting for their next request). */
int dash_server_connections(const dash_server *srv);
/* Connections held at the gate while their request headers come in. */
int dash_server_held(const dash_server *srv);
/* Of those, the ones closed for going quiet or taking too long. */
long dash_server_swept(const dash_server *srv);

/* Policy pieces, exposed for the tests. */
/* 1 when the Host header equals one of the allowed names (case-insensitive):
 * an entry "NAME:PORT" matches exactly, an entry "NAME" matches "NAME" and
 * "NAME:<any port>". */
int dash_host_in_list(const char *host, const char *const *allow, int n);
/* 1 for "localhost", any 127.0.0.0/8 address, ::1 and ::ffff:127.x.y.z. */
int dash_addr_is_loopback(const char *addr);
/* 1 when a Host header names the address the connection arrived on
 * (local_ip, an IP literal) and the bound port: "IP:PORT", "[IPv6]:PORT",
 * or "localhost:PORT" when local_ip is loopback; the port may be left out
 * only when it is 80. */
int dash_host_allowed(const char *host, const char *local_ip, int port);
/* Constant-time comparison of two NUL-terminated tokens; 1 when equal. */
int dash_token_equal(const char *a, const char *b);
/* Fills buf (at least 33 bytes) with 128 random bits as hex. 0 or -1. */
int dash_token_generate(char *buf, size_t cap);

/* ---------------------------------------------------------------- metrics files */

/* Runs parsed from metrics JSON Lines files (for `mlpc plot`). A file may
 * hold several runs: a new one starts at each new "run" name and when the
 * epoch number does not grow. */
typedef struct dash_series {
    char name[128];  /* run name, made unique */
    int regress;     /* has mse fields */
    int n, cap;      /* epochs */
    int n_layers;
    double *epoch, *loss, *acc, *val_loss, *val_acc, *mse, *val_mse, *lr, *sps, *secs;
    double *w_rms, *g_rms; /* n x n_layers (NaN where absent) */
} dash_series;

typedef struct dash_runs {
    dash_series *s;
    int n, cap;
} dash_runs;

/* Appends the runs of one file. 0, or -1 with "FILE:LINE: why" in err. */
int dash_runs_load(dash_runs *runs, const char *path, char *err, size_t cap);
void dash_runs_free(dash_runs *runs);

/* ---------------------------------------------------------------- plot */

typedef struct dash_plot_opts {
    int width, height; /* pixels for PNG, points for SVG/PDF; 0: 1500 x 960 */
    int log_loss;      /* log scale for the loss panel */
    const char *title; /* NULL: none */
} dash_plot_opts;

/* Renders the dashboard's figures for runs to path; the format comes from
 * the extension: .png, .svg or .pdf. 0, or -1 with a message. */
int dash_plot(const dash_runs *runs, const char *path, const dash_plot_opts *o, char *err,
              size_t cap);
/* `mlpc plot STUDY.db`: a search study's figures (optimization history,
 * parallel coordinates, trials in progress, CPU efficiency) to path (.png, .svg,
 * .pdf). study: its name, NULL: the first in the database. 0, or -1 with
 * "DB: why" in err. */
int dash_plot_study(const char *db, const char *study, const char *path, const dash_plot_opts *o,
                    char *err, size_t cap);
/* 1 when the file begins with SQLite's header (a search database). */
int dash_is_sqlite(const char *path);
/* Tick positions for an axis from lo to hi: at most max, "nice" steps
 * (1, 2, 5 x 10^k). Returns the count. */
int dash_nice_ticks(double lo, double hi, int max, double *ticks);

/* ---------------------------------------------------------------- training hook */

/* Per-layer RMS of the weights (not biases) and of their gradients (the
 * last batch's, from mlpc_trainer_grads). Returns the layer count. */
int dash_layer_rms(mlpc_net *net, const float *grads, float *w_rms, float *g_rms);

/* Progress bar text (no newline): "epoch 3/10  2340/5000 [=====>....]
 * ETA 1.2s  loss 0.0234  acc 0.9512", fitted into `columns`. */
int dash_bar_format(char *buf, size_t cap, int columns, int epoch, int epochs, long batch,
                    long n_batches, double seconds, double loss, double acc);
/* "1.2s", "42s", "3:07", "1:02:03" */
void dash_eta_format(char *buf, size_t cap, double seconds);

typedef struct dash_hook_opts {
    int bar;            /* draw the progress bar on `bar_out` */
    FILE *bar_out;      /* stderr */
    int bar_keep;       /* end each epoch's bar with a newline (stdout is not the terminal) */
    int columns;        /* terminal width; 0: 80 */
    int epochs;         /* total, for "epoch i/n" */
    long n_batches;     /* per epoch, to pick the publishing stride */
    int batch_size;     /* for samples/s within an epoch */
    mlpc_net *net;      /* for the per-layer RMS */
    dash_run *live;     /* NULL: no dashboard */
    int min_interval_ms;/* dashboard: least time between batch records; 0: 25 */
    mlpc_batch_fn next; /* another batch callback to call first (may be NULL) */
    void *next_user;
} dash_hook_opts;

typedef struct dash_hook dash_hook;

dash_hook *dash_hook_create(const dash_hook_opts *o);
void dash_hook_free(dash_hook *h);
/* The batch callback: mlpc_trainer_on_batch(tr, dash_hook_batch,
 * dash_hook_every(h), h). */
int dash_hook_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *hook);
int dash_hook_every(const dash_hook *h);
/* Call at the start of the epoch callback, before printing the epoch line:
 * clears (or ends) the progress bar. */
void dash_hook_epoch_begin(dash_hook *h);
/* Publishes the epoch's statistics (with the per-layer RMS) to the dashboard. */
void dash_hook_epoch(dash_hook *h, mlpc_trainer *tr, const mlpc_epoch_stats *e);
/* Marks the live run finished. */
void dash_hook_end(dash_hook *h, dash_status status);

/* ",\"w_rms\":[...],\"g_rms\":[...]" for a metrics line. Returns the length,
 * or -1 when cap is too small. */
int dash_rms_json(mlpc_net *net, const float *grads, char *buf, size_t cap);

/* ---------------------------------------------------------------- mlpc train glue */

/* What `mlpc train` asks for; src/dash/train.c does the rest. */
typedef struct dash_train_opts {
    int dashboard;          /* serve the page */
    dash_server_opts server;
    double linger;          /* seconds to keep serving after training; < 0: until a signal */
    int quiet;              /* no progress bar; the URL goes to stderr */
    int bar;                /* -1: when stderr is a terminal (the default), 0 no, 1 yes */
    const char *run;        /* run name */
    const char *metrics;    /* --metrics file: its earlier runs are shown (may be NULL) */
    int regress;
    int epochs, batch;
    long n_batches;
    mlpc_batch_fn next;     /* another batch callback (--progress lines), may be NULL */
    void *next_user;
} dash_train_opts;

typedef struct dash_train dash_train;

/* Validates the dashboard flags without starting anything (for the usage
 * errors that come before any data is read). 0, or -1 with a message. */
int dash_server_check(const dash_server_opts *o, char *err, size_t cap);
/* Starts what the options ask for (server, pump, progress bar) and installs
 * the trainer's batch callback when one is needed. Prints the URL. NULL with
 * a message in err and *exit_code set (1: I/O such as a port in use, 2:
 * usage, 4: internal). */
dash_train *dash_train_start(mlpc_trainer *tr, mlpc_net *net, const dash_train_opts *o,
                             char *err, size_t cap, int *exit_code);
/* From the trainer's epoch callback: _begin before printing the epoch line,
 * the other after it. NULL is allowed. */
void dash_train_epoch_begin(dash_train *t);
void dash_train_epoch(dash_train *t, mlpc_trainer *tr, const mlpc_epoch_stats *e);
/* Training ended with this status (the page shows it). */
void dash_train_finish(dash_train *t, dash_status st);
/* After a finish with --linger: prints that the page is still up and returns
 * how long to keep it (seconds, < 0: until a signal); 0 when there is
 * nothing to wait for. The caller waits (the CLI, which owns the signal
 * handlers), then calls dash_train_free. NULL ok. */
double dash_train_linger(dash_train *t);
/* Stops the server and frees. NULL ok. */
void dash_train_free(dash_train *t);

/* For `mlpc search --dashboard`: serves the dashboard over a search database
 * (or a folder of metrics files) while the search runs: store, pump thread,
 * server; prints "dashboard: URL" (on stderr when quiet). NULL with a message
 * and *exit_code (1 I/O, 2 usage, 4 internal) on failure. */
typedef struct dash_follow dash_follow;
dash_follow *dash_follow_start(const char *path, const dash_server_opts *o, int quiet, char *err,
                               size_t cap, int *exit_code);
void dash_follow_stop(dash_follow *f); /* NULL ok */

/* ---------------------------------------------------------------- CLI helper */

/* Finds "--dashboard=PORT" (PORT all digits) among argv[0..argc) before any
 * "--", replaces it in argv by "--dashboard" and stores PORT in *port.
 * Returns 0, or -1 when PORT is out of range (message in err). */
int dash_take_port_arg(int argc, char **argv, int *port, char *err, size_t cap);

/* Built-in assets (generated at build time from web/). */
typedef struct dash_asset {
    const char *path; /* "/", "/app.js", ... */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} dash_asset;
extern const dash_asset dash_assets[];
extern const size_t dash_n_assets;

#endif
