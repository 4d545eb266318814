/* store_int.h - the parts of the dashboard's store (dash/store*.c) shared
 * between its files; not used outside src/dash/store*.c.
 *
 *   store.c        create/free, the poll step, the pump thread, the readers
 *   store_log.c    the event log and the runs it names
 *   store_ring.c   live runs: the training thread's lock-free rings
 *   store_files.c  metrics files (JSON Lines) tailed for growth
 *   store_db.c     search databases followed: trials, study, search health
 *
 * Every ds_* function except the ring push is called with s->mu held. */
#ifndef MLPC_DASH_STORE_INT_H
#define MLPC_DASH_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/clock.h"
#include "dash/dash.h"
#include "dash/sbuf.h"

#define FILE_LIVE_SECONDS 30.0 /* a metrics file that grew this recently is a running run */
#define MAX_FILES 2000
#define MAX_DEPTH 3
#define READ_CHUNK (4u << 20) /* bytes read from one file per poll */
#define MAX_LINE (1u << 20)

typedef struct wfile wfile;
typedef struct wdb wdb;

struct dash_run {
    int id;
    char name[128];
    char source[512]; /* "live" or the metrics file */
    int regress;
    int live;
    int status, status_sent; /* dash_status; status_sent -1: no run event yet */
    /* live runs: single-producer single-consumer ring */
    dash_rec *ring;
    size_t ring_mask;
    _Atomic size_t head; /* next slot the producer writes */
    _Atomic size_t tail; /* next slot the consumer reads */
    atomic_ulong dropped;
    /* file runs */
    wfile *file;
    /* search trials (SQLite) */
    long long trial_id;
    int attempt;    /* trials.attempts of the rows read */
    int last_epoch; /* of this attempt */
    int final;      /* the trial ended and its last metrics were read */
};

typedef struct wkey {
    char name[128];
    dash_run *run;
    double last_epoch;
} wkey;

struct wfile {
    char *path;
    long long off;
    sbuf part; /* an incomplete last line */
    double mtime;
    int once;
    wkey *keys;
    int n_keys, cap_keys;
};

struct dash_store {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long gen; /* bumped on every append and wake */
    sbuf log;
    size_t max_bytes;
    unsigned long dropped_events;
    dash_run **runs;
    int n_runs, cap_runs;
    char **watch;
    int n_watch;
    wfile **files;
    int n_files;
    wdb **dbs;
    int n_dbs;
    char **tried; /* .db files seen in folders */
    int n_tried;
    double last_file_poll;
    pthread_t pump;
    int pump_on;
    atomic_int stop;
    int interval_ms;
};

/* store_log.c */
void ds_errf(char *err, size_t cap, const char *what, const char *why);
/* Appends one SSE message "data: JSON\n\n"; droppable (batch) events are
 * dropped past the cap. Returns 1 when appended. */
int ds_append_event(dash_store *s, const char *json, size_t n, int droppable);
/* The run's "run" event; reset: the page drops its points. */
int ds_emit_run_event(dash_store *s, dash_run *r, int reset);
int ds_emit_run(dash_store *s, dash_run *r);
dash_run *ds_new_run(dash_store *s, const char *name, const char *source);

/* store_ring.c */
int ds_drain_rings(dash_store *s);

/* store_files.c */
void ds_wfile_free(wfile *f);
/* Scans the watched paths, reads what the files gained, follows the
 * databases found and updates the file runs' status. */
int ds_poll_files(dash_store *s);

/* store_db.c */
void ds_wdb_free(wdb *w);
int ds_sqlite_magic(const char *path);
wdb *ds_open_db(const char *path, char *err, size_t cap);
/* A .db file found in a watched folder: followed when it is a search database. */
void ds_add_db(dash_store *s, const char *path);
/* `mlpc dashboard STUDY.db`: follows it, or -1 with a message. Takes the lock. */
int ds_watch_db(dash_store *s, const char *path, char *err, size_t cap);
int ds_poll_db(dash_store *s, wdb *w);
/* 0 when the search database's schema version (core/searchdb.h) can be
 * read by this mlpc, else -1 with the reason (no file name) in why. */
struct sqlite3;
int ds_check_version(struct sqlite3 *db, char *why, size_t cap);

#endif
