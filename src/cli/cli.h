/* cli.h - the pieces of the mlpc command-line tool shared between files. */
#ifndef MLPC_CLI_H
#define MLPC_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "args.h"

/* Subcommands: argv holds the arguments after the subcommand's name. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_devices(int argc, char **argv);

/* cmd_devices.c: --device, --gpu-memory-limit and --log-device, the same on
 * train, eval and predict (put CLI_DEVICE_FLAGS in the flag table). */
#define CLI_DEVICE_FLAGS                                                                            \
    CLI_FLAG("device", "DEV", "cpu",                                                                \
             "where to compute: cpu, cuda (= cuda:0), cuda:N, or auto (the GPU when one works, "    \
             "else the CPU; one line on stderr says which and why); see mlpc devices",              \
             "Device"),                                                                             \
        CLI_FLAG("gpu-memory-limit", "SIZE", "none",                                                \
                 "hard cap on the GPU memory this run may allocate, e.g. 1024M or 2G (K, M, G, T "  \
                 "suffixes); a run that needs more stops with an error before allocating anything", \
                 NULL),                                                                             \
        CLI_FLAG("log-device", NULL, NULL,                                                          \
                 "print on stderr where each layer's work runs (device, GEMM variant, threads)", NULL)

typedef struct cli_device {
    mlpc_device dev;    /* the device selected (auto resolved) */
    uint64_t mem_limit; /* bytes, 0: none */
    int log;            /* --log-device */
} cli_device;

/* Parses the three flags and selects the device (before any data is read):
 * a device that does not work is one line and CLI_EXIT_USAGE; --device auto
 * prints its choice and the reason on stderr unless quiet. 0 or an exit code. */
int cli_device_setup(cli_cmd *c, int quiet, cli_device *out);
/* --log-device: one stderr line per layer saying where it runs. */
void cli_device_log(const cli_cmd *c, const cli_device *d, const mlpc_net *net, int threads, int training);
/* eval and predict: threads and the device for a loaded net, then the
 * --log-device lines. 0, or the exit code after printing the error. */
int cli_net_device(cli_cmd *c, const cli_device *d, mlpc_net *net, int threads);

/* config_file.c: reads a JSON config file whose keys are the long flag names
 * ("out-act" or "out_act") and sets every flag not given on the command
 * line. Keys listed in `deny` (NULL-terminated) are refused. Returns 0 or
 * an exit code after printing the error. */
int cli_config_apply(cli_cmd *c, const char *path, const char *const *deny);

/* JSON text is built with the dashboard's growable buffer (src/dash/sbuf.h). */
#include "dash/sbuf.h"

/* Writes predictions to `path` ("-" or NULL: stdout). CSV unless the path
 * ends in ".npy". Files are written to PATH.tmp and renamed into place, so a
 * failure leaves no partial file. classes: n ints (classification) or NULL;
 * values: n x k floats or NULL (not written when NULL). Returns 0 or an exit
 * code after printing the error. */
/* Class names (a model's): names[0..n), n 0 for none. */
typedef struct cli_names {
    const char **names;
    int n;
} cli_names;
/* nm (may be NULL): classes are written as their names, and with values
 * (--proba) a header row "class,NAME,..." comes first (CSV only). */
int cli_write_predictions(const cli_cmd *c, const char *path, size_t n, const int *classes,
                          const float *values, size_t k, const cli_names *nm);
/* The net's class names into *nm (names owned by the net; free nm->names). */
int cli_net_names(const cli_cmd *c, const mlpc_net *net, cli_names *nm);
/* Makes csv map labels through a classifier's names (a model's, or the
 * training set's for --test): n_class_names = nm->n (0: class indices). */
void cli_csv_classes(mlpc_csv_options *csv, const cli_names *nm);
/* A dataset's class names into *nm (owned by the dataset; free nm->names). */
int cli_data_names(const cli_cmd *c, const mlpc_dataset *d, cli_names *nm);
/* --missing error|drop|mean into *out; "auto" (predict, eval): mean when
 * the model stores training means, else error. */
int cli_missing(const cli_cmd *c, const cli_flag *f, const mlpc_net *net, mlpc_missing *out);
/* prepare.c: the net's class names, imputation means, target statistics
 * and normalization fitted on sets[0] (train), and sets[0..3) (train, val,
 * test; NULL where absent) normalized; warns about targets the output
 * activation cannot reach. Returns 0 or an exit code after the error. */
typedef struct cli_prep {
    mlpc_missing missing;
    mlpc_norm target_norm; /* none or standard */
    mlpc_norm norm;
    mlpc_act out_act;
    const char *train_src; /* for the warning */
} cli_prep;
int cli_train_prepare(const cli_cmd *c, mlpc_net *net, mlpc_dataset *sets[3], const cli_prep *p);
/* Mean absolute error and R^2 (the mean over target columns, as
 * scikit-learn's r2_score) of net's predictions on d's raw rows, in the
 * targets' original units; missing features are imputed first. */
int cli_regress_metrics(const cli_cmd *c, mlpc_net *net, mlpc_dataset *d, double *mae, double *r2);
/* --target (or its alias --label-col): NULL for the default (last column). */
int cli_target_spec(cli_cmd *c, const char **spec);

/* data.c: loading data sets for train and eval. */

/* Loads a training or test set given as files: FILE.npy with a .npy labels
 * file, an IDX image file with an IDX labels file, or a CSV file (plain or
 * gzip) read with `csv`. Messages name the flag and file. Returns 0 or an
 * exit code after printing the error. */
int cli_load_files(const cli_cmd *c, const char *flag, const char *path, const char *lflag,
                   const char *labels, const mlpc_csv_options *csv, mlpc_dataset **out);

/* Built-in sets (--data NAME): "mnist" and "fashion-mnist" from $MLPC_DATA or
 * ./data (IDX files, plain or .gz), "lorenz" generated. Pointers for parts
 * not wanted may be NULL. mnist: train = train-*, test = t10k-*; lorenz:
 * train = rows [0, 900), val = rows [900, 1800). */
int cli_load_builtin(const cli_cmd *c, const char *name, mlpc_dataset **train, mlpc_dataset **val,
                     mlpc_dataset **test);
/* 1 for a known built-in name. */
int cli_builtin_known(const char *name);

/* Whether a trained model classifies: the "task" stored in its metrics (or
 * config) JSON, else a softmax output or a cce/bce loss. */
int cli_model_classifies(const mlpc_net *net);

/* 1 when path ends with suffix. */
int cli_ends_with(const char *path, const char *suffix);
/* Appends n bytes to f as one record: all or, on an error, none (the file
 * is cut back). 0, or -1 with errno set. */
int cli_append_whole(FILE *f, const char *s, size_t n);

/* thread_count_cache.c: --threads auto: the cached or freshly calibrated thread count for cfg on
 * this machine; prints the choice unless quiet. 0 ok, -1 error (in err). */
int cli_threads_auto(const mlpc_config *cfg, int quiet, int *threads, mlpc_error *err);

/* paths.c: one path a command reads or writes; flag without "--" (or
 * "MODEL" for a positional argument); path NULL: not given. */
typedef struct cli_path {
    const char *flag;
    const char *path;
    int output;
    const char *except; /* a flag that may name the same file (--checkpoint and --resume) */
} cli_path;
/* Refuses (one line, CLI_EXIT_USAGE) an output that is the same file as an
 * input or another output: same device and inode, so through symlinks and
 * hard links too. 0 when all are distinct. At most 32 paths. */
int cli_check_distinct(const cli_cmd *c, const cli_path *p, int n);

#endif
