/*
 * studydb.c - the search's SQLite database.
 *
 * One process writes it: the coordinator (rank 0). Workers and other ranks
 * never open it, so there is no "database is locked" between them; readers
 * (the report, a dashboard) can read while it runs thanks to WAL mode.
 * synchronous=NORMAL: a commit is in the WAL (in the OS) when it returns, so
 * a kill -9 of the search loses nothing committed; only a power cut can drop
 * the last commits, and those trials are then simply run again on --resume.
 * A second search on the same file is refused by an flock() on it.
 *
 * Tables (docs/search.md):
 *   studies(id, name, space, canon, hash, sampler, metric, direction, seed,
 *           n_trials, data, created, finished)
 *   sessions(id, study_id, started, ended, state, ranks, workers, threads,
 *           cores, mpi, hosts, wall_s, trial_cpu_s, trials_done, data_bytes,
 *           pss_bytes, pss_workers_bytes, model_bytes, dispatch_ms, dispatch_max_ms)
 *   trials(id, study_id, number, state, params, command, seed, value, epochs,
 *          attempts, started, ended, cpu_s, wall_s, host, rank, pid,
 *          session_id, error)
 *   metrics(trial_id, epoch, loss, acc, mse, val_loss, val_acc, val_mse, seconds)
 */
#include "search/search.h"
#include "core/clock.h"

#include "core/searchdb.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct srch_store {
    sqlite3 *db;
    char path[512];
    char msg[600];
    sqlite3_stmt *ins_metric, *end_trial, *begin_trial, *trim_trial; /* per event: prepared once */
    int created; /* the file did not exist before this open */
};

static const char *const STATES[] = {"queued", "running", "complete", "pruned", "failed"};
const char *srch_state_name(int s) { return s >= 0 && s <= TS_FAILED ? STATES[s] : "?"; }

static int state_parse(const char *s)
{
    for (int i = 0; i <= TS_FAILED; i++)
        if (s && !strcmp(s, STATES[i])) return i;
    return TS_QUEUED;
}

static int fail(srch_store *st, const char *what)
{
    snprintf(st->msg, sizeof st->msg, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return -1;
}

const char *srch_store_errmsg(srch_store *st) { return st->msg; }

static const char SCHEMA[] = MLPC_SEARCH_SCHEMA_SQL; /* core/searchdb.h */

srch_store *srch_store_open(const char *path, int create, mlpc_error *err)
{
    srch_store *st = calloc(1, sizeof *st);
    if (!st) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(st->path, sizeof st->path, "%s", path);
    st->created = create && access(path, F_OK) != 0;
    int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (!create && access(path, F_OK) != 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: %s", path, strerror(errno));
        free(st);
        return NULL;
    }
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot open the database: %s", path,
                    st->db ? sqlite3_errmsg(st->db) : "out of memory");
        srch_store_discard(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char *em = NULL;
    const char *setup = create ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                               : "PRAGMA query_only=1;";
    if (sqlite3_exec(st->db, setup, NULL, NULL, &em) != SQLITE_OK ||
        (create && sqlite3_exec(st->db, SCHEMA, NULL, NULL, &em) != SQLITE_OK)) {
        if (st->created)
            mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot create the search database: %s (is the disk full?)", path,
                        em ? em : "?");
        else
            mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: not a usable mlpc search database: %s", path, em ? em : "?");
        sqlite3_free(em);
        srch_store_discard(st);
        return NULL;
    }
    if (!create) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM studies", -1, &q, NULL) != SQLITE_OK) {
            mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: not an mlpc search database (%s)", path, sqlite3_errmsg(st->db));
            sqlite3_finalize(q);
            srch_store_close(st);
            return NULL;
        }
        sqlite3_finalize(q);
        return st;
    }
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO metrics(trial_id, epoch, loss, acc, mse, val_loss, val_acc, val_mse, seconds)"
                           " VALUES(?,?,?,?,?,?,?,?,?)",
                           -1, &st->ins_metric, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "UPDATE trials SET state=?, epochs=?, value=?, ended=?, cpu_s=coalesce(cpu_s,0)+?, wall_s=?, error=? WHERE id=?",
                           -1, &st->end_trial, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO trials(study_id, number, state, params, command, seed, value, epochs, attempts,"
                           " started, ended, cpu_s, wall_s, host, rank, pid, session_id, error)"
                           " VALUES(?1,?2,'running',?3,?4,?5,NULL,0,?6,?7,NULL,NULL,NULL,?8,?9,?10,?11,NULL)"
                           " ON CONFLICT(study_id, number) DO UPDATE SET state='running', value=NULL, epochs=0,"
                           " attempts=?6, started=?7, ended=NULL, wall_s=NULL, host=?8, rank=?9, pid=?10,"
                           " session_id=?11, error=NULL RETURNING id",
                           -1, &st->begin_trial, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "DELETE FROM metrics WHERE trial_id=? AND epoch>?", -1, &st->trim_trial, NULL) !=
            SQLITE_OK) {
        mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: %s", path, sqlite3_errmsg(st->db));
        srch_store_close(st);
        return NULL;
    }
    return st;
}

void srch_store_close(srch_store *st)
{
    if (!st) return;
    sqlite3_finalize(st->ins_metric);
    sqlite3_finalize(st->end_trial);
    sqlite3_finalize(st->begin_trial);
    sqlite3_finalize(st->trim_trial);
    sqlite3_close(st->db);
    free(st);
}

void srch_store_discard(srch_store *st)
{
    if (!st) return;
    char path[sizeof st->path + 16];
    int created = st->created;
    snprintf(path, sizeof path, "%s", st->path);
    srch_store_close(st);
    if (!created) return;
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    size_t n = strlen(path);
    for (int i = 0; i < 4; i++) {
        snprintf(path + n, sizeof path - n, "%s", ext[i]);
        unlink(path);
    }
}


int srch_store_lock(const char *path, mlpc_error *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: another mlpc search is running on this database", path);
        close(fd);
        return -1;
    }
    return fd;
}

int srch_store_begin(srch_store *st)
{
    return sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(st, "begin");
}

int srch_store_commit(srch_store *st)
{
    return sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(st, "commit");
}

/* prepares sql, binds nothing; the caller steps and finalizes */
static sqlite3_stmt *prep(srch_store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        fail(st, "prepare");
        return NULL;
    }
    return q;
}

static int step_done(srch_store *st, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok) fail(st, what);
    sqlite3_finalize(q);
    return ok ? 0 : -1;
}

int64_t srch_study_find(srch_store *st, const char *name, char *canon, size_t cap)
{
    sqlite3_stmt *q = prep(st, "SELECT id, canon FROM studies WHERE name=?");
    if (!q) return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int64_t id = 0;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        const unsigned char *c = sqlite3_column_text(q, 1);
        if (canon) snprintf(canon, cap, "%s", c ? (const char *)c : "");
    } else if (rc != SQLITE_DONE) {
        fail(st, "reading studies");
        id = -1;
    }
    sqlite3_finalize(q);
    return id;
}

int64_t srch_study_create(srch_store *st, const srch_space *s, const char *space_text,
                          const char *canon, uint64_t hash)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO studies(name, space, canon, hash, sampler, metric, direction, seed,"
                               " n_trials, data, created) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    if (!q) return -1;
    char h[20];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)hash);
    sqlite3_bind_text(q, 1, s->study, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, space_text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, canon, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, h, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 5, s->grid ? "grid" : "random", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, srch_metric_name(s->metric), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, s->maximize ? "maximize" : "minimize", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, (sqlite3_int64)s->seed);
    sqlite3_bind_int(q, 9, s->trials);
    sqlite3_bind_text(q, 10, s->data[0] ? s->data : s->train, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 11, mlpc_wall_now());
    if (step_done(st, q, "creating the study")) return -1;
    return sqlite3_last_insert_rowid(st->db);
}

int srch_study_finish(srch_store *st, int64_t study)
{
    sqlite3_stmt *q = prep(st, "UPDATE studies SET finished=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_double(q, 1, mlpc_wall_now());
    sqlite3_bind_int64(q, 2, study);
    return step_done(st, q, "finishing the study");
}

int srch_sessions_mark_died(srch_store *st, int64_t study)
{
    sqlite3_stmt *q = prep(st, "UPDATE sessions SET state='died' WHERE study_id=? AND state='running'");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, study);
    if (step_done(st, q, "marking dead sessions")) return -1;
    return sqlite3_changes(st->db);
}

int64_t srch_session_start(srch_store *st, int64_t study, int ranks, int workers, int threads,
                           int cores, int mpi, const char *hosts, size_t data_bytes)
{
    sqlite3_stmt *q = prep(st, "INSERT INTO sessions(study_id, started, state, ranks, workers, threads, cores,"
                               " mpi, hosts, data_bytes) VALUES(?,?,'running',?,?,?,?,?,?,?)");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, study);
    sqlite3_bind_double(q, 2, mlpc_wall_now());
    sqlite3_bind_int(q, 3, ranks);
    sqlite3_bind_int(q, 4, workers);
    sqlite3_bind_int(q, 5, threads);
    sqlite3_bind_int(q, 6, cores);
    sqlite3_bind_int(q, 7, mpi);
    sqlite3_bind_text(q, 8, hosts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 9, (sqlite3_int64)data_bytes);
    if (step_done(st, q, "starting a session")) return -1;
    return sqlite3_last_insert_rowid(st->db);
}

int srch_session_update(srch_store *st, int64_t session, double wall_s, double cpu_s, int done,
                        size_t pss, size_t pss_workers, size_t model_bytes, double dispatch_ms,
                        double dispatch_max_ms, const char *state)
{
    sqlite3_stmt *q = prep(st, "UPDATE sessions SET ended=?, wall_s=?, trial_cpu_s=?, trials_done=?,"
                               " pss_bytes=?, pss_workers_bytes=?, model_bytes=?, dispatch_ms=?,"
                               " dispatch_max_ms=?, state=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_double(q, 1, mlpc_wall_now());
    sqlite3_bind_double(q, 2, wall_s);
    sqlite3_bind_double(q, 3, cpu_s);
    sqlite3_bind_int(q, 4, done);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)pss);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)pss_workers);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)model_bytes);
    if (dispatch_ms >= 0) sqlite3_bind_double(q, 8, dispatch_ms);
    if (dispatch_max_ms >= 0) sqlite3_bind_double(q, 9, dispatch_max_ms);
    sqlite3_bind_text(q, 10, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 11, session);
    return step_done(st, q, "updating the session");
}

int srch_session_fix_totals(srch_store *st, int64_t session, int workers, int cores)
{
    sqlite3_stmt *q = prep(st, "UPDATE sessions SET workers=?, cores=? WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int(q, 1, workers);
    sqlite3_bind_int(q, 2, cores);
    sqlite3_bind_int64(q, 3, session);
    return step_done(st, q, "updating the session");
}

int srch_trials_load(srch_store *st, int64_t study, int (*fn)(const srch_trial_row *, void *), void *user)
{
    sqlite3_stmt *q = prep(st, "SELECT id, number, state, coalesce(epochs,0), coalesce(attempts,0), value"
                               " FROM trials WHERE study_id=? ORDER BY number");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, study);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        srch_trial_row r;
        r.id = sqlite3_column_int64(q, 0);
        r.number = sqlite3_column_int(q, 1);
        r.state = state_parse((const char *)sqlite3_column_text(q, 2));
        r.epochs = sqlite3_column_int(q, 3);
        r.attempts = sqlite3_column_int(q, 4);
        r.value = sqlite3_column_type(q, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 5);
        if (fn(&r, user)) {
            sqlite3_finalize(q);
            return -1;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(st, "reading trials");
}

int srch_metric_at(srch_store *st, int64_t trial_id, int metric, const int *epochs, int n, double *out)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM metrics WHERE trial_id=? AND epoch=?", srch_metric_name(metric));
    sqlite3_stmt *q = prep(st, sql);
    if (!q) return -1;
    for (int i = 0; i < n; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, trial_id);
        sqlite3_bind_int(q, 2, epochs[i]);
        out[i] = NAN;
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
            out[i] = sqlite3_column_double(q, 0);
    }
    sqlite3_finalize(q);
    return 0;
}

int64_t srch_trial_begin(srch_store *st, int64_t study, int64_t session, int number, uint64_t seed,
                         const char *params, const char *command, int attempts, const char *host,
                         int rank, int pid)
{
    sqlite3_stmt *q = st->begin_trial;
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, study);
    sqlite3_bind_int(q, 2, number);
    sqlite3_bind_text(q, 3, params, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, command, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)seed);
    sqlite3_bind_int(q, 6, attempts);
    sqlite3_bind_double(q, 7, mlpc_wall_now());
    sqlite3_bind_text(q, 8, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 9, rank);
    sqlite3_bind_int(q, 10, pid);
    sqlite3_bind_int64(q, 11, session);
    int64_t id = -1;
    if (sqlite3_step(q) == SQLITE_ROW) id = sqlite3_column_int64(q, 0);
    else fail(st, "recording a trial");
    sqlite3_reset(q); /* RETURNING: the statement ends here */
    return id;
}

static void bind_num(sqlite3_stmt *q, int i, double v)
{
    if (isfinite(v)) sqlite3_bind_double(q, i, v);
    else sqlite3_bind_null(q, i);
}

int srch_trial_epochs(srch_store *st, int64_t trial_id, const srch_epoch *e, int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *q = st->ins_metric;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, trial_id);
        sqlite3_bind_int(q, 2, e[i].epoch);
        bind_num(q, 3, e[i].loss);
        bind_num(q, 4, e[i].acc);
        bind_num(q, 5, e[i].mse);
        bind_num(q, 6, e[i].val_loss);
        bind_num(q, 7, e[i].val_acc);
        bind_num(q, 8, e[i].val_mse);
        bind_num(q, 9, e[i].seconds);
        if (sqlite3_step(q) != SQLITE_DONE) return fail(st, "recording metrics");
    }
    return 0;
}

int srch_trial_end(srch_store *st, int64_t trial_id, int state, int epochs, double value, double cpu_s,
                   double wall_s, const char *error)
{
    sqlite3_stmt *q = st->end_trial;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, srch_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, epochs);
    bind_num(q, 3, value);
    sqlite3_bind_double(q, 4, mlpc_wall_now());
    sqlite3_bind_double(q, 5, cpu_s);
    bind_num(q, 6, wall_s);
    if (error && *error) sqlite3_bind_text(q, 7, error, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, 7);
    sqlite3_bind_int64(q, 8, trial_id);
    if (sqlite3_step(q) != SQLITE_DONE) return fail(st, "ending a trial");
    if (state == TS_PRUNED) {
        sqlite3_stmt *d = st->trim_trial;
        sqlite3_reset(d);
        sqlite3_bind_int64(d, 1, trial_id);
        sqlite3_bind_int(d, 2, epochs);
        if (sqlite3_step(d) != SQLITE_DONE) return fail(st, "trimming a pruned trial");
    }
    return 0;
}

int srch_trial_requeue(srch_store *st, int64_t trial_id)
{
    sqlite3_stmt *q = prep(st, "UPDATE trials SET state='queued', value=NULL, epochs=0, ended=NULL WHERE id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, trial_id);
    if (step_done(st, q, "requeueing a trial")) return -1;
    q = prep(st, "DELETE FROM metrics WHERE trial_id=?");
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, trial_id);
    return step_done(st, q, "requeueing a trial");
}
