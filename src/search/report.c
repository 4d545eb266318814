/*
 * report.c - `mlpc search --report DB`: the best trials as a table, the best
 * configuration as a ready `mlpc train` command line, the parallel
 * efficiency (trial CPU time / (wall time x cores)), the speedup against a
 * one-worker run of the same study when the database has one, memory and
 * dispatch overhead. Reads the database only.
 */
#include "search/search.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sess_sum {
    int n;
    double wall, cpu, core_s;
    int workers, threads, cores, ranks;
    double pss, pss_w, data, model, disp, disp_max;
    int have_mem, have_disp;
} sess_sum;

static void sessions(sqlite3 *db, int64_t study, sess_sum *s)
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT coalesce(wall_s,0), coalesce(trial_cpu_s,0), coalesce(cores,0), workers, threads,"
                           " ranks, pss_bytes, pss_workers_bytes, data_bytes, model_bytes, dispatch_ms, dispatch_max_ms"
                           " FROM sessions WHERE study_id=? ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(q, 1, study);
    while (sqlite3_step(q) == SQLITE_ROW) {
        s->n++;
        double w = sqlite3_column_double(q, 0);
        s->wall += w;
        s->cpu += sqlite3_column_double(q, 1);
        s->cores = sqlite3_column_int(q, 2);
        s->core_s += w * s->cores;
        s->workers = sqlite3_column_int(q, 3);
        s->threads = sqlite3_column_int(q, 4);
        s->ranks = sqlite3_column_int(q, 5);
        if (sqlite3_column_type(q, 6) != SQLITE_NULL && sqlite3_column_int64(q, 6) > 0) {
            s->have_mem = 1;
            s->pss = (double)sqlite3_column_int64(q, 6);
            s->pss_w = (double)sqlite3_column_int64(q, 7);
            s->data = (double)sqlite3_column_int64(q, 8);
            s->model = (double)sqlite3_column_int64(q, 9);
        }
        if (sqlite3_column_type(q, 10) != SQLITE_NULL) {
            s->have_disp = 1;
            s->disp = sqlite3_column_double(q, 10);
            s->disp_max = sqlite3_column_double(q, 11);
        }
    }
    sqlite3_finalize(q);
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

/* A CSV field, always in quotes (RFC 4180: a quote inside is doubled). */
static void csv_field(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* A CSV field from free text: as it is, or in quotes when it holds a comma,
 * a quote or a line break (RFC 4180). */
static void csv_text(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n")) csv_field(out, s);
    else fputs(s, out);
}

static void param_str(const cJSON *p, const char *key, char *buf, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
    if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.4g", v->valuedouble);
    else snprintf(buf, cap, "-");
}

/* --csv: one line per trial (csv 1: with the header line) */
static int report_csv(sqlite3 *db, int64_t study, const char *name, int csv, FILE *out)
{
    sqlite3_stmt *q = NULL;
    if (csv == 1) fprintf(out, "study,number,state,epochs,value,seed,params\n");
    if (sqlite3_prepare_v2(db, "SELECT number, state, epochs, value, seed, params FROM trials WHERE study_id=? ORDER BY number", -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, study);
    while (sqlite3_step(q) == SQLITE_ROW) {
        csv_text(out, name);
        fprintf(out, ",%d,", sqlite3_column_int(q, 0));
        csv_text(out, col_text(q, 1));
        fprintf(out, ",%d,", sqlite3_column_int(q, 2));
        if (sqlite3_column_type(q, 3) != SQLITE_NULL) fprintf(out, "%.17g", sqlite3_column_double(q, 3));
        fprintf(out, ",%lld,", (long long)sqlite3_column_int64(q, 4));
        csv_field(out, col_text(q, 5));
        fputc('\n', out);
    }
    sqlite3_finalize(q);
    return 0;
}

/* the counts by state and the study's settings */
static int report_counts(sqlite3 *db, int64_t study, const char *dbpath, const char *name, int n_trials, FILE *out)
{
    sqlite3_stmt *q = NULL;
    int counts[5] = {0};
    if (sqlite3_prepare_v2(db, "SELECT state, count(*) FROM trials WHERE study_id=? GROUP BY state", -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, study);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *s = col_text(q, 0);
        for (int i = 0; i <= TS_FAILED; i++)
            if (!strcmp(s, srch_state_name(i))) counts[i] += sqlite3_column_int(q, 1);
    }
    sqlite3_finalize(q);
    int recorded = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];
    fprintf(out, "study \"%s\" in %s: %d trials: %d complete, %d pruned, %d failed, %d running, %d not started\n", name,
            dbpath, n_trials, counts[TS_COMPLETE], counts[TS_PRUNED], counts[TS_FAILED], counts[TS_RUNNING],
            n_trials - recorded + counts[TS_QUEUED]);
    return 0;
}

/* the best complete trials, ranked, and the best one's command */
static int report_ranked(sqlite3 *db, int64_t study, const char *metric, int maximize, int top, FILE *out)
{
    sqlite3_stmt *q = NULL;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT number, value, epochs, params, wall_s, command, host, rank FROM trials"
             " WHERE study_id=? AND state='complete' AND value IS NOT NULL ORDER BY value %s, number LIMIT ?",
             maximize ? "DESC" : "ASC");
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_int64(q, 1, study);
    sqlite3_bind_int(q, 2, top > 0 ? top : 10);
    int rank = 0;
    char best_cmd[4096] = "";
    int best_n = -1;
    double best_v = NAN;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (rank == 0)
            fprintf(out, "\n%4s %6s %13s %7s %-22s %-10s %-8s %-10s %6s %-8s %4s %8s\n", "rank", "trial", metric,
                    "epochs", "layers", "act", "opt", "lr", "batch", "l2", "thr", "wall s");
        cJSON *p = cJSON_Parse(col_text(q, 3));
        char lay[64], act[16], opt[16], lr[24], batch[24], l2[24], thr[24];
        param_str(p, "layers", lay, sizeof lay);
        param_str(p, "act", act, sizeof act);
        param_str(p, "opt", opt, sizeof opt);
        param_str(p, "lr", lr, sizeof lr);
        param_str(p, "batch", batch, sizeof batch);
        param_str(p, "l2", l2, sizeof l2);
        param_str(p, "threads", thr, sizeof thr);
        cJSON_Delete(p);
        double v = sqlite3_column_double(q, 1);
        fprintf(out, "%4d %6d %13.6g %7d %-22s %-10s %-8s %-10s %6s %-8s %4s %8.2f\n", ++rank, sqlite3_column_int(q, 0),
                v, sqlite3_column_int(q, 2), lay, act, opt, lr, batch, l2, thr, sqlite3_column_double(q, 4));
        if (rank == 1) {
            best_n = sqlite3_column_int(q, 0);
            best_v = v;
            snprintf(best_cmd, sizeof best_cmd, "%s", col_text(q, 5));
        }
    }
    sqlite3_finalize(q);
    if (best_n >= 0) {
        fprintf(out, "\nbest: trial %d, %s %.9g; to train it again:\n  %s\n", best_n, metric, best_v, best_cmd);
    } else {
        fprintf(out, "\nno complete trial yet\n");
    }
    return 0;
}

/* parallel efficiency, speedup against one worker, memory and dispatch
 * overhead, from the study's sessions */
static void report_sessions(sqlite3 *db, int64_t study, const char *hash, FILE *out)
{
    sqlite3_stmt *q = NULL;
    sess_sum s;
    sessions(db, study, &s);
    if (s.n > 0 && s.core_s > 0) {
        fprintf(out, "\nparallel efficiency %.3f: trial CPU %.2f s / (wall %.2f s x %d core%s)%s; %d worker%s x %d thread%s%s\n",
                s.cpu / s.core_s, s.cpu, s.wall, s.cores, s.cores == 1 ? "" : "s",
                s.n > 1 ? " over all sessions" : "", s.workers, s.workers == 1 ? "" : "s", s.threads,
                s.threads == 1 ? "" : "s", s.ranks > 1 ? " over all MPI ranks" : "");
        /* speedup: another finished study of the same space run with one worker */
        if (s.n == 1 && s.workers > 1 &&
            sqlite3_prepare_v2(db,
                               "SELECT st.name, se.wall_s FROM studies st JOIN sessions se ON se.study_id=st.id"
                               " WHERE st.hash=? AND st.id<>? AND st.finished IS NOT NULL AND se.workers=1"
                               " AND se.state='complete' AND (SELECT count(*) FROM sessions x WHERE x.study_id=st.id)=1"
                               " ORDER BY st.id DESC LIMIT 1",
                               -1, &q, NULL) == SQLITE_OK) {
            sqlite3_bind_text(q, 1, hash, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(q, 2, study);
            if (sqlite3_step(q) == SQLITE_ROW && s.wall > 0)
                fprintf(out, "speedup %.2fx against 1 worker (study \"%s\": wall %.2f s)\n",
                        sqlite3_column_double(q, 1) / s.wall, col_text(q, 0), sqlite3_column_double(q, 1));
            else
                fprintf(out, "speedup against 1 worker: unknown (run the same space with --workers 1 --study NAME into this db)\n");
            sqlite3_finalize(q);
        }
        if (s.have_mem) {
            double budget = 1.2 * s.data + s.workers * s.model;
            fprintf(out, "memory (PSS, rank 0): workers %.2f MB, with the coordinator %.2f MB; data %.2f MB shared once,"
                         " model %.2f MB x %d workers; 1.2 x data + W x model = %.2f MB: %s\n",
                    s.pss_w / 1e6, s.pss / 1e6, s.data / 1e6, s.model / 1e6, s.workers, budget / 1e6,
                    s.pss <= budget ? "within, coordinator included"
                    : s.pss_w <= budget ? "workers within; with the coordinator over (its code, C library and SQLite)"
                                        : "over: every process also holds its own code, C library and heap");
        }
        if (s.have_disp)
            fprintf(out, "dispatch overhead: %.3f ms mean, %.3f ms max per trial (a worker's idle time between two trials)\n",
                    s.disp, s.disp_max);
    }
}

static int report_one(sqlite3 *db, int64_t study, const char *dbpath, int top, int csv, FILE *out)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, metric, direction, sampler, seed, n_trials, hash, data FROM studies WHERE id=?", -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, study);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return -1;
    }
    char name[128], metric[32], dir[16], sampler[16], hash[32], data[256];
    snprintf(name, sizeof name, "%s", col_text(q, 0));
    snprintf(metric, sizeof metric, "%s", col_text(q, 1));
    snprintf(dir, sizeof dir, "%s", col_text(q, 2));
    snprintf(sampler, sizeof sampler, "%s", col_text(q, 3));
    long long seed = sqlite3_column_int64(q, 4);
    int n_trials = sqlite3_column_int(q, 5);
    snprintf(hash, sizeof hash, "%s", col_text(q, 6));
    snprintf(data, sizeof data, "%s", col_text(q, 7));
    sqlite3_finalize(q);
    int maximize = !strcmp(dir, "maximize");

    if (csv) return report_csv(db, study, name, csv, out);
    if (report_counts(db, study, dbpath, name, n_trials, out)) return -1;
    fprintf(out, "data %s, %s sampler, seed %lld, metric %s (%s)\n", data, sampler, seed, metric, dir);
    if (report_ranked(db, study, metric, maximize, top, out)) return -1;
    report_sessions(db, study, hash, out);
    return 0;
}

int srch_report(const char *path, const char *study, int top, int csv, FILE *out, mlpc_error *err)
{
    sqlite3 *db = NULL;
    if (access(path, F_OK) != 0) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot open the database: %s", path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q = NULL;
    int rc = -1, found = 0;
    if (sqlite3_prepare_v2(db, study ? "SELECT id FROM studies WHERE name=? ORDER BY id" : "SELECT id FROM studies ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: not an mlpc search database (%s)", path, sqlite3_errmsg(db));
        goto out;
    }
    if (study) sqlite3_bind_text(q, 1, study, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (found && !csv) fputs("\n", out);
        if (report_one(db, sqlite3_column_int64(q, 0), path, top, csv && !found ? 1 : csv ? 2 : 0, out)) {
            mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: unreadable study: %s", path, sqlite3_errmsg(db));
            goto out;
        }
        found++;
    }
    if (!found) {
        if (study) mlpc_seterr(err, MLPC_ERR_ARG, "%s: no study \"%s\"", path, study);
        else mlpc_seterr(err, MLPC_ERR_ARG, "%s: no study yet", path);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}
