/*
 * search.h - the hyperparameter search behind `mlpc search` (internal; the
 * user-facing description is docs/search.md).
 *
 * Pieces:
 *   space.c   SPACE.json -> srch_space; samplers (grid, random); a trial's
 *             point -> mlpc_config, params JSON and `mlpc train` command line
 *   asha.c    rungs and the deterministic ASHA promotion rule
 *   studydb.c the SQLite store (WAL); only the coordinator opens it
 *   shared.c  the data sets copied once into one MAP_SHARED region
 *   worker.c  worker processes: fork, socketpair, the trial loop
 *   coord.c   the coordinator (rank 0) and the relay loop of ranks > 0
 *   report.c  the report table, the best command line, efficiency
 *   mpi.c / nompi.c   the MPI transport, or its stub when built without MPI
 *
 * Everything here returns errors as values with one-line messages; only a
 * forked worker ends its own process (_exit).
 */
#ifndef MLPC_SEARCH_H
#define MLPC_SEARCH_H

#include "core/core.h"

#include <signal.h>
#include <sys/types.h>

#define SRCH_MAX_VALUES 64 /* entries of one list in SPACE.json */
#define SRCH_MAX_RUNGS 16
#define SRCH_MAX_TGT 256 /* regression target columns of a searched data set */
#define SRCH_EPOCH_BATCH 32 /* epoch records in one message */
#define SRCH_MAX_RANKS 1024

/* ---- the search space ---------------------------------------------------- */

typedef enum srch_pid {
    P_HIDDEN = 0, /* list of hidden-layer lists, e.g. [[8],[8,8]] */
    P_DEPTH,      /* hidden layer count */
    P_WIDTH,      /* width of every hidden layer */
    P_ACT,
    P_OUT_ACT,
    P_LOSS,
    P_INIT,
    P_OPT,
    P_LR,
    P_MOMENTUM,
    P_BATCH,
    P_EPOCHS,
    P_L2,
    P_THREADS,
    P_COUNT
} srch_pid;

typedef enum srch_ptype { PT_HIDDEN, PT_INT, PT_FLOAT, PT_ENUM } srch_ptype;

typedef struct srch_param {
    int given;   /* present in SPACE.json */
    int range;   /* 1: {"min","max"[,"step"|"n"][,"log"]}; 0: a list (a scalar is a list of 1) */
    int n;       /* list entries */
    double v[SRCH_MAX_VALUES]; /* list values (enum values as their index) */
    double min, max, step;     /* range; step 0: continuous */
    int npts;                  /* float range: grid points ("n") */
    int log;
} srch_param;

typedef enum srch_metric {
    SM_VAL_LOSS = 0,
    SM_VAL_ACC,
    SM_VAL_MSE,
    SM_LOSS,
    SM_ACC,
    SM_MSE,
    SM_COUNT
} srch_metric;

typedef struct srch_space {
    char path[512];      /* SPACE.json, for messages */
    char study[128];
    /* data (read by the CLI) */
    char data[64];       /* built-in name or "" */
    char train[512], train_labels[512], val[512], val_labels[512];
    char label_col[128], task[16], header[8];
    char val_split[32];  /* as written: "10000" or "0.1" or "" */
    int n_targets;
    mlpc_norm norm;
    /* search settings */
    int grid;            /* sampler: 1 grid, 0 random */
    int trials;          /* 0: the grid size (grid only) */
    uint64_t seed;
    int metric;          /* srch_metric, -1: auto */
    int maximize;        /* -1: auto from the metric */
    int asha;            /* pruner */
    int min_epochs, eta;
    srch_param p[P_COUNT];
    int n_hidden[SRCH_MAX_VALUES];
    int hidden[SRCH_MAX_VALUES][MLPC_MAX_LAYERS];
} srch_space;

/* One sampled configuration: a value per parameter (list index for hidden). */
typedef struct srch_point {
    double v[P_COUNT];
} srch_point;

/* Parses SPACE.json (text already read; path for messages). 0 or -1 with err. */
int srch_space_parse(srch_space *s, const char *path, const char *text, mlpc_error *err);
/* Checks the sampler against the space (after flags changed it). */
int srch_space_check(const srch_space *s, mlpc_error *err);
/* Sets defaults that depend on the data: metric, direction; checks them. */
int srch_space_resolve(srch_space *s, int has_val, int regress, mlpc_error *err);
/* Grid size (capped at 1e9; 0 on overflow) or 0 for random. */
uint64_t srch_grid_size(const srch_space *s);
/* Trial `number`'s point: from (seed, number) alone. */
int srch_sample(const srch_space *s, int number, srch_point *pt, mlpc_error *err);
uint64_t srch_trial_seed(uint64_t study_seed, int number);
/* The trial's full config for data with n_in inputs and n_out outputs. */
int srch_point_config(const srch_space *s, const srch_point *pt, int number, size_t n_in,
                      size_t n_out, int regress, mlpc_config *cfg, mlpc_error *err);
/* params as compact JSON and the `mlpc train` command that reproduces the trial. */
int srch_params_json(const srch_space *s, const mlpc_config *cfg, char *buf, size_t cap);
int srch_train_command(const srch_space *s, const mlpc_config *cfg, char *buf, size_t cap);
/* Canonical text of every setting that defines the study's trials (for
 * --resume and for finding a W=1 baseline). */
int srch_space_canon(const srch_space *s, char *buf, size_t cap);
/* Smallest and largest threads per trial in the space. */
void srch_threads_range(const srch_space *s, int *lo, int *hi);
const char *srch_metric_name(int m);
int srch_metric_parse(const char *s);
/* Rough relative cost of a trial (for longest-first dispatch). */
double srch_cost(const mlpc_config *cfg, size_t rows);
/* Bytes a worker allocates to train this config (params, gradients,
 * moments, activations, row index). */
size_t srch_model_bytes(const mlpc_config *cfg, size_t rows);

/* ---- ASHA ------------------------------------------------------------------ */

/* Rung epochs min_epochs * eta^k below max_epochs; returns their count. */
int srch_rungs(int min_epochs, int eta, int max_epochs, int *rungs, int cap);
/* Optuna's successive-halving rule: is `value` within the top
 * max(1, floor(n / eta)) of competing[0..n) (which includes value)? NaN is worst. */
int srch_asha_promote(double value, const double *competing, int n, int eta, int maximize);

/* The values at one rung, ordered (a treap keyed by value, then id), so that
 * the rule above costs O(log n). NaN values are only counted. */
typedef struct srch_rank_node {
    double v;
    int id, l, r, size; /* l, r: node indexes, 0 none */
    uint32_t pri;
} srch_rank_node;

typedef struct srch_ranks {
    srch_rank_node *node; /* node[0] is unused */
    int root, used, cap, free_list;
    int n_nan;
} srch_ranks;

/* Adds value v of trial id (each id at most once): 0, or -1 out of memory. */
int srch_ranks_add(srch_ranks *r, double v, int id);
/* Removes what srch_ranks_add(r, v, id) added. */
void srch_ranks_remove(srch_ranks *r, double v, int id);
int srch_ranks_count(const srch_ranks *r); /* values, NaN included */
/* How many values are strictly better than v (larger when maximize). */
int srch_ranks_better(const srch_ranks *r, double v, int maximize);
void srch_ranks_free(srch_ranks *r);
/* srch_asha_promote(value, the values of `others` and value itself). */
int srch_asha_promote_ranked(double value, const srch_ranks *others, int eta, int maximize);

/* ---- messages between coordinator, ranks and workers ---------------------- */

enum {
    MSG_HELLO = 1, /* rank r -> 0 at start, worker -> its rank at start */
    MSG_TRIAL,     /* -> worker */
    MSG_STOP,      /* -> worker: prune the running trial */
    MSG_EPOCHS,    /* worker -> coordinator */
    MSG_DONE,      /* worker -> coordinator */
    MSG_DIED,      /* rank r -> 0: a worker died (its trial failed) */
    MSG_SHUTDOWN,  /* 0 -> rank r, rank -> worker */
    MSG_NOTE       /* worker -> coordinator: resumed from the trial's checkpoint (u.done.epochs), or why not (u.done.err) */
};

enum { DONE_OK = 0, DONE_STOPPED, DONE_DIVERGED, DONE_ERROR, DONE_CRASHED };

typedef struct srch_epoch {
    int32_t epoch, pad;
    double loss, acc, mse, val_loss, val_acc, val_mse, seconds;
} srch_epoch;

typedef struct srch_msg {
    int32_t type, rank, slot, trial;
    int32_t attempt, pad;
    union {
        struct {
            int32_t workers, cores, threads, pid, mpi;
            char host[64];
        } hello;
        struct {
            mlpc_config cfg;
            int32_t rungs[SRCH_MAX_RUNGS];
            int32_t n_rungs;
            int32_t ckpt_ms;  /* least time between two trial checkpoints; < 0: none */
            uint64_t fp;      /* the trial's fingerprint: its command line and the data */
            char ckpt[512];   /* the trial's checkpoint file, "" none */
        } trial;
        struct {
            int32_t n, pad;
            srch_epoch e[SRCH_EPOCH_BATCH];
        } epochs;
        struct {
            int32_t status, epochs, pid, pad;
            double cpu_s, wall_s, gap_s; /* gap_s: idle time before this trial, -1 unknown */
            char err[256];
        } done;
    } u;
} srch_msg;

/* The trial checkpoints: written by the worker at most every ckpt_ms, with
 * the epoch records so far, so a trial whose worker or coordinator died
 * resumes after its last checkpoint (the records are sent again) instead of
 * from epoch 0. The file is DB.trials/STUDY-NUMBER.ckpt. */
int srch_ckpt_path(char *buf, size_t cap, const char *db, int64_t study, int number);
/* Removes the study's checkpoint files (and the folder when it is empty). */
void srch_ckpt_clear(const char *db, int64_t study);
/* A 64-bit fingerprint of bytes, continuing from h (0 to start). */
uint64_t srch_hash(uint64_t h, const void *p, size_t n);
/* Makes the folder DB.trials: 0, or -1 (errno says why). */
int srch_ckpt_dir(const char *db);
/* The meta text of a trial checkpoint with records 1..n (malloc'ed, NULL out of memory). */
char *srch_ckpt_meta(uint64_t fp, const srch_epoch *rec, int n);
/* Reads the records back from a checkpoint's meta text: their count (1..cap),
 * or -1 with the reason in why (another trial's, malformed). */
int srch_ckpt_records(const char *meta, uint64_t fp, srch_epoch *rec, int cap, char *why, size_t wcap);

/* ---- shared data ------------------------------------------------------------ */

/* A worker's SIGTERM state, read and set by the handler the CLI installs
 * (srch_opts.worker_signals): while in_write is set (a trial checkpoint is
 * being written) SIGTERM only sets pending, and the worker exits right
 * after the write; otherwise the handler ends the worker. */
typedef struct srch_term {
    volatile sig_atomic_t in_write, pending;
} srch_term;

typedef struct srch_shared {
    void *base;
    size_t size;
    mlpc_dataset *train, *val; /* views into base */
    int n_tgt;                 /* srch_opts' target statistics (0: none) */
    const float *tgt_mean, *tgt_std;
    void (*worker_signals)(srch_term *t); /* srch_opts' */
} srch_shared;

/* Copies train (and val, may be NULL) into one MAP_SHARED anonymous region
 * and makes views over it; the originals are left to the caller. */
int srch_share(srch_shared *sh, const mlpc_dataset *train, const mlpc_dataset *val,
               mlpc_error *err);
void srch_unshare(srch_shared *sh);
/* After fork in a worker: the region becomes read-only. */
void srch_share_readonly(srch_shared *sh);

/* ---- local workers -------------------------------------------------------- */

typedef struct srch_worker {
    pid_t pid;
    int fd;    /* SOCK_SEQPACKET to the worker */
    int trial; /* running trial, -1 idle */
    int threads;
} srch_worker;

typedef struct srch_pool {
    int n;
    srch_worker *w;
    srch_shared *data;
    int close_fd; /* closed in the children (the store's lock), -1 none */
} srch_pool;

int srch_pool_start(srch_pool *p, int n, srch_shared *data, int close_fd, mlpc_error *err);
/* Replaces worker i (after it died). Its status is described in why. */
int srch_pool_reap(srch_pool *p, int i, char *why, size_t cap, mlpc_error *err);
void srch_pool_stop(srch_pool *p);
int srch_send(int fd, const srch_msg *m);
int srch_recv(int fd, srch_msg *m); /* 1 message, 0 end of file, -1 error */

/* ---- the SQLite store ------------------------------------------------------- */

typedef struct srch_store srch_store;

enum { TS_QUEUED = 0, TS_RUNNING, TS_COMPLETE, TS_PRUNED, TS_FAILED };
const char *srch_state_name(int s);

srch_store *srch_store_open(const char *path, int create, mlpc_error *err);
void srch_store_close(srch_store *st);
/* Closes the store and, when this process created the file and the caller
 * gives up on it (nothing was stored), removes it with its -wal, -shm and
 * -journal files, so a failed creation (a full disk) leaves nothing behind. */
void srch_store_discard(srch_store *st);
/* Marks the study's sessions still "running" as "died" (their coordinator
 * was killed: the flock proves none is alive). Returns how many, or -1. */
int srch_sessions_mark_died(srch_store *st, int64_t study);
/* Takes the store's exclusive run lock (a second search on the same file
 * fails at once). Returns the lock's fd or -1. */
int srch_store_lock(const char *path, mlpc_error *err);
int srch_store_begin(srch_store *st);
int srch_store_commit(srch_store *st);
/* Finds the study; returns its id, 0 when absent, -1 on error. */
int64_t srch_study_find(srch_store *st, const char *name, char *canon, size_t cap);
int64_t srch_study_create(srch_store *st, const srch_space *s, const char *space_text,
                          const char *canon, uint64_t hash);
int srch_study_finish(srch_store *st, int64_t study);
int64_t srch_session_start(srch_store *st, int64_t study, int ranks, int workers, int threads,
                           int cores, int mpi, const char *hosts, size_t data_bytes);
int srch_session_update(srch_store *st, int64_t session, double wall_s, double cpu_s, int done,
                        size_t pss, size_t pss_workers, size_t model_bytes, double dispatch_ms,
                        double dispatch_max_ms, const char *state);

/* Sets the session's total workers and cores over all ranks. */
int srch_session_fix_totals(srch_store *st, int64_t session, int workers, int cores);

typedef struct srch_trial_row {
    int number, state, epochs, attempts;
    double value;
    int64_t id;
} srch_trial_row;
/* Calls fn for every trial row of the study. */
int srch_trials_load(srch_store *st, int64_t study, int (*fn)(const srch_trial_row *, void *),
                     void *user);
/* The metric column (srch_metric) of trial id at the given epochs (NaN when absent). */
int srch_metric_at(srch_store *st, int64_t trial_id, int metric, const int *epochs, int n,
                   double *out);
int64_t srch_trial_begin(srch_store *st, int64_t study, int64_t session, int number,
                         uint64_t seed, const char *params, const char *command, int attempts,
                         const char *host, int rank, int pid);
int srch_trial_epochs(srch_store *st, int64_t trial_id, const srch_epoch *e, int n);
int srch_trial_end(srch_store *st, int64_t trial_id, int state, int epochs, double value,
                   double cpu_s, double wall_s, const char *error);
/* Puts a running trial back in the queue: its metrics are deleted. */
int srch_trial_requeue(srch_store *st, int64_t trial_id);
const char *srch_store_errmsg(srch_store *st);

/* ---- the coordinator ------------------------------------------------------ */

typedef struct srch_opts {
    const char *db;
    int workers;      /* 0: cores / threads */
    int threads;      /* 0: from the space (default 1) */
    int oversubscribe;
    int resume;
    int retries;      /* a trial whose worker died is run again up to this many times */
    int top;
    int quiet;
    const char *space_text;
    /* called once on rank 0 when the store holds the study and before the
     * first trial is dispatched (the CLI starts the dashboard there), or NULL */
    void (*on_ready)(void *user);
    void *user;
    /* regression: the targets of train/val are standardized with these
     * (n_tgt columns; 0: not), and every trial's net carries them, so its
     * val mse is in the original units, as `mlpc train` reports it */
    int n_tgt;
    const float *tgt_mean, *tgt_std;
    /* signals are the caller's (the CLI's): the search stops dispatching and
     * ends (running trials queued again for --resume) once *stop is nonzero
     * (its value, a signal number, is reported), and each forked worker calls
     * worker_signals right away. Both may be NULL. */
    volatile sig_atomic_t *stop;
    void (*worker_signals)(srch_term *t);
} srch_opts;

/* Runs the search. train/val are normalized already; once they are copied
 * into shared memory they are freed and set to NULL (one copy in memory). Returns 0 on rank 0
 * (or alone) when done, 1 on an MPI rank > 0 when done, -1 on error. */
int srch_run(srch_space *s, const srch_opts *o, mlpc_dataset **train, mlpc_dataset **val,
             mlpc_error *err);
/* Prints the report of a study (name NULL: every study) of the store. */
int srch_report(const char *db, const char *study, int top, int csv, FILE *out, mlpc_error *err);

/* ---- MPI transport (mpi.c, or nompi.c without MPI) ------------------------ */

int srch_mpi_built(void);        /* 1 when compiled with MPI */
const char *srch_mpi_info(void); /* "Open MPI v4.1.4" or why not */
int srch_mpi_launched(void);     /* the environment says mpirun started us with size > 1 */
int srch_mpi_init(int *rank, int *size, int *local_size, mlpc_error *err);
void srch_mpi_finalize(void);
void srch_mpi_abort(int code);
int srch_mpi_send(int dest, const srch_msg *m);
/* Non-blocking receive: 1 with a message, 0 none, -1 error. */
int srch_mpi_poll(srch_msg *m);

#endif /* MLPC_SEARCH_H */
