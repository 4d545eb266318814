/* train_job.h - the state of one `mlpc train`, carried from phase to phase:
 * flags (train_flags.c), data and the net's shape (train_data.c), the
 * trainer, the run and the final evaluation and save (train_run.c). Every
 * phase returns 0 or an exit code after printing the error; train_job_free
 * (cmd_train.c) releases whatever the phases got this far. */
#ifndef MLPC_CLI_TRAIN_JOB_H
#define MLPC_CLI_TRAIN_JOB_H

#include <signal.h>

#include "cli.h"
#include "dash/dash.h"

/* What the epoch and batch callbacks need (train_run.c). */
typedef struct train_ctx {
    int quiet, progress, regress;
    int std_targets;   /* regress with stored target statistics: loss is on the standardized targets */
    int total_epochs, width;
    long every;
    FILE *metrics;
    const char *metrics_path;
    int metrics_errno; /* set when a metrics line could not be written */
    const char *run;
    dash_train *dash;  /* dashboard and progress bar (src/dash), or NULL */
    mlpc_net *net;     /* for --layer-stats */
    int layer_stats;
} train_ctx;

typedef struct train_job {
    cli_cmd c;
    int argc;
    char **argv;
    mlpc_error err;

    /* ---- 1. flags (train_flags.c) */
    mlpc_config cfg;
    int hidden_act, out_act, loss, es_metric; /* out_act, loss, es_metric: -1 auto until resolved */
    int threads_auto;                         /* --threads auto: decided after the layers are known */
    const char *layers;
    const char *data, *train_path, *train_labels, *test_path, *test_labels;
    mlpc_csv_options csv;
    int target_norm;
    size_t val_n; /* --val-split N, or */
    double val_frac; /* --val-split FRACTION */
    int has_val;
    cli_device dev;
    const char *save, *resume, *metrics_path, *ckpt, *run;
    char *ckpt_auto, *run_auto; /* malloc'ed "auto" values */
    double ckpt_every;
    int quiet, progress;
    int dash_port;
    char dash_err[512];
    dash_train_opts dopt;
    const char *allow_hosts[DASH_MAX_ALLOW_HOSTS + 1];

    /* ---- 2. data and 3. shape (train_data.c) */
    mlpc_dataset *train, *val, *test;
    cli_names train_names;
    const char *train_src; /* the training data's name in messages */
    size_t n_in, n_out;
    int regress;

    /* ---- 4. net and trainer, 5. the run, 6. the end (train_run.c) */
    mlpc_net *net;
    mlpc_trainer *tr;
    dash_train *dash;
    FILE *metrics;
    train_ctx ctx;
    char run_meta[256];
    char overrides[256];
    int sigs_caught; /* cli_signals_catch'ed: restore at the end */
    double seconds;
    int epochs_done;
    char reason[200];
    int ck_failed;
    char ck_last[512];
    mlpc_eval ev[3];
    char *cfg_json;
    sbuf mj;
} train_job;

/* The flag table of `mlpc train` (cmd_train.c). */
extern cli_flag cli_train_flags[];
extern const int cli_train_n_flags;

/* train_flags.c: every flag's value, checked before any data is read. -1
 * when --help was shown. */
int train_read_flags(train_job *j);
/* The settings stored in the model ("config"): JSON that `mlpc train
 * --config` accepts. malloc'ed, NULL when out of memory. */
char *train_config_json(train_job *j);

/* train_data.c */
int train_load_data(train_job *j);
int train_resolve_shape(train_job *j);
const char *train_src_name(const mlpc_dataset *d, const char *fallback);

/* train_run.c */
int train_build(train_job *j);
int train_run(train_job *j);
int train_finish(train_job *j);
void train_release_signals(train_job *j);

#endif /* MLPC_CLI_TRAIN_JOB_H */
