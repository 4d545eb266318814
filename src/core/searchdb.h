/*
 * searchdb.h - the search database's schema, in one place: written by
 * src/search/studydb.c, read by the dashboard (src/dash/store_db.c), which
 * checks the version before it reads. Text only (no code), so both folders
 * above the library may include it (scripts/check-layers.sh).
 *
 * Bump MLPC_SEARCH_SCHEMA_VERSION when a reader would misread the tables
 * (a column renamed or its meaning changed); adding a column does not need it.
 * docs/search.md describes the tables.
 */
#ifndef MLPC_CORE_SEARCHDB_H
#define MLPC_CORE_SEARCHDB_H

#define MLPC_SEARCH_SCHEMA_VERSION 1
#define MLPC_SEARCH_SCHEMA_VERSION_STR "1"

#define MLPC_SEARCH_SCHEMA_SQL                                                                      \
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"                           \
    "INSERT OR IGNORE INTO meta VALUES('schema', '" MLPC_SEARCH_SCHEMA_VERSION_STR "');"           \
    "CREATE TABLE IF NOT EXISTS studies("                                                          \
    " id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, space TEXT, canon TEXT, hash TEXT,"       \
    " sampler TEXT, metric TEXT, direction TEXT, seed INTEGER, n_trials INTEGER, data TEXT,"       \
    " created REAL, finished REAL);"                                                               \
    "CREATE TABLE IF NOT EXISTS sessions("                                                         \
    " id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id), started REAL,"     \
    " ended REAL, state TEXT, ranks INTEGER, workers INTEGER, threads INTEGER, cores INTEGER,"     \
    " mpi INTEGER, hosts TEXT, wall_s REAL, trial_cpu_s REAL, trials_done INTEGER,"                \
    " data_bytes INTEGER, pss_bytes INTEGER, pss_workers_bytes INTEGER, model_bytes INTEGER,"      \
    " dispatch_ms REAL, dispatch_max_ms REAL);"                                                    \
    "CREATE TABLE IF NOT EXISTS trials("                                                           \
    " id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id),"                   \
    " number INTEGER NOT NULL, state TEXT NOT NULL, params TEXT, command TEXT, seed INTEGER,"      \
    " value REAL, epochs INTEGER, attempts INTEGER, started REAL, ended REAL, cpu_s REAL,"         \
    " wall_s REAL, host TEXT, rank INTEGER, pid INTEGER, session_id INTEGER, error TEXT,"          \
    " UNIQUE(study_id, number));"                                                                  \
    "CREATE TABLE IF NOT EXISTS metrics("                                                          \
    " trial_id INTEGER NOT NULL REFERENCES trials(id), epoch INTEGER NOT NULL, loss REAL,"         \
    " acc REAL, mse REAL, val_loss REAL, val_acc REAL, val_mse REAL, seconds REAL,"                \
    " PRIMARY KEY(trial_id, epoch)) WITHOUT ROWID;"

/* What the dashboard reads (each a SELECT the schema above answers). */
#define MLPC_SEARCH_SQL_VERSION "SELECT value FROM meta WHERE key = 'schema'"
#define MLPC_SEARCH_SQL_TRIALS                                                                     \
    "SELECT t.id, t.number, t.state, coalesce(t.params,''), s.name, coalesce(t.attempts,0),"       \
    " t.value, t.epochs, t.started, t.ended, t.cpu_s, t.wall_s, t.error, t.study_id"              \
    " FROM trials t JOIN studies s ON s.id = t.study_id ORDER BY t.id"
#define MLPC_SEARCH_SQL_ROWS                                                                       \
    "SELECT epoch, loss, acc, mse, val_loss, val_acc, val_mse, seconds"                            \
    " FROM metrics WHERE trial_id = ? AND epoch > ? ORDER BY epoch"
#define MLPC_SEARCH_SQL_STUDIES                                                                    \
    "SELECT id, name, metric, direction, sampler, canon, n_trials, finished FROM studies ORDER BY id"
/* the study's latest session and what its trials used so far (?1 study, ?2 now) */
#define MLPC_SEARCH_SQL_HEALTH                                                                     \
    "SELECT se.id, se.started, se.ended, coalesce(se.workers,0), coalesce(se.cores,0),"            \
    " (SELECT count(*) FROM trials t WHERE t.session_id = se.id AND t.state = 'running'),"         \
    " (SELECT coalesce(sum(t.cpu_s),0) FROM trials t WHERE t.session_id = se.id"                   \
    "   AND t.ended IS NOT NULL),"                                                                 \
    " (SELECT coalesce(sum(CASE WHEN t.ended IS NOT NULL THEN t.wall_s"                            \
    "   ELSE max(0, coalesce(se.ended, ?2) - t.started) END),0)"                                   \
    "   FROM trials t WHERE t.session_id = se.id AND t.started IS NOT NULL),"                      \
    " (SELECT count(*) FROM trials t WHERE t.session_id = se.id"                                   \
    "   AND t.state IN ('complete','pruned','failed'))"                                            \
    " FROM sessions se WHERE se.study_id = ?1 ORDER BY se.id DESC LIMIT 1"

#endif
