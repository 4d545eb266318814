/* cmd_predict.c - `mlpc predict MODEL --input FILE`: predictions for new rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static cli_flag predict_flags[] = {
    CLI_FLAG("input", "FILE", NULL,
             "required: rows to predict, raw (the model's normalization is applied): "
             "CSV (.csv, .csv.gz; every column is a feature) or .npy",
             "Input"),
    CLI_FLAG("header", "MODE", "auto", "CSV header row: auto, yes or no", NULL),
    CLI_FLAG("delimiter", "CHAR", "auto",
             "CSV delimiter: auto (',' ';' or tab, else runs of spaces), tab, space or one character", NULL),
    CLI_FLAG("skip-rows", "N", "0", "CSV: lines to skip before the first row (metadata, comments)", NULL),
    CLI_FLAG("missing", "MODE", "auto",
             "missing values (empty, NA, NaN, N/A, ?, null): error, drop (the row: no line for it), mean (the "
             "training means stored in the model); auto: mean when the model stores them, else error",
             NULL),
    CLI_FLAG("output", "FILE", "-",
             "where to write: - for standard output, a .npy file, or else a CSV file (written to "
             "FILE.tmp, then renamed)",
             "Output"),
    CLI_FLAG(
        "proba", NULL, NULL,
        "classification: after the class, one column per output with its probability (to .npy: the "
        "probabilities alone); with class names in the model a header row class,NAME,... comes first",
        NULL),
    CLI_FLAG("threads", "N", "1", "compute threads; 0: one per CPU core", NULL),
    CLI_DEVICE_FLAGS,
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Writes one line per input row. For a classification model the line holds the\n"
    "predicted class (its name when the model stores class names, e.g. trained on\n"
    "string labels, 1..K or -1/+1; else 0-based, for a single sigmoid output 1 when it\n"
    "is >= 0.5), with\n"
    "--proba followed by every output; for a regression model the output values.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 4 internal error.";

int cmd_predict(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "predict", "mlpc predict MODEL --input FILE [--output FILE] [flags]", SUMMARY, predict_flags, (int)(sizeof predict_flags / sizeof predict_flags[0]), 1);
    mlpc_net *net = NULL;
    mlpc_dataset *ds = NULL;
    float *out = NULL;
    int *classes = NULL;
    cli_names nm = {NULL, 0};
    mlpc_error err;
    memset(&err, 0, sizeof err);
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
#define F(n) cli_flag_get(&c, n)
    if (c.n_pos != 1) {
        cli_error(&c, "missing MODEL (usage: %s)", c.usage);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    const char *model = c.pos[0];
    const char *input = F("input")->value;
    const char *output = F("output")->value;
    int proba = F("proba")->on;
    if (!input) {
        cli_error(&c, "--input FILE is required (usage: %s)", c.usage);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!output || !*output) {
        cli_error(&c, "--output: empty file name (use - for standard output)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int threads;
    mlpc_csv_options csv;
    mlpc_csv_options_default(&csv);
    csv.n_targets = 0; /* every column is a feature */
    if ((rc = cli_csv_dialect(&c, &csv))) goto done;
    if ((rc = cli_threads(&c, F("threads"), &threads))) goto done;
    int is_npy = cli_ends_with(input, ".npy");
    if (is_npy && F("header")->given) {
        cli_error(&c, "--header: only for CSV input, not %s", input);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    {
        cli_path paths[] = {{"MODEL", model, 0, NULL},
                            {"input", input, 0, NULL},
                            {"output", output, 1, NULL}};
        if ((rc = cli_check_distinct(&c, paths, 3))) goto done;
    }
    cli_device dev;
    if ((rc = cli_device_setup(&c, 0, &dev))) goto done;

    if ((rc = cli_check_input(&c, NULL, model))) goto done;
    net = mlpc_net_load(model, &err);
    if (!net) {
        rc = cli_lib_error(&c, model, err.code, err.msg);
        goto done;
    }
    int L = mlpc_net_layers(net);
    size_t n_in = (size_t)mlpc_net_size(net, 0), k = (size_t)mlpc_net_size(net, L);
    int classify = cli_model_classifies(net);
    if ((rc = cli_missing(&c, F("missing"), net, &csv.missing))) goto done;
    if ((rc = cli_net_names(&c, net, &nm))) goto done;
    if (proba && !classify) {
        cli_error(&c, "--proba: the model %s does regression, it has no class probabilities",
                  model);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    if ((rc = cli_check_input(&c, "input", input))) goto done;
    ds = is_npy ? mlpc_dataset_load_npy(input, NULL, &err)
                : mlpc_dataset_load_csv(input, &csv, &err);
    if (!ds) {
        rc = cli_lib_error(&c, input, err.code, err.msg);
        goto done;
    }
    size_t n = mlpc_dataset_rows(ds);
    if (mlpc_dataset_features(ds) == n_in) { /* missing features: the training means */
        mlpc_status ist = mlpc_net_impute(net, ds);
        if (ist) {
            rc = cli_lib_error(&c, input, ist, mlpc_dataset_error(ds)->msg);
            goto done;
        }
    }
    if (mlpc_dataset_features(ds) != n_in) {
        cli_error(&c, "--input %s: %zu %s, but the model %s expects %zu inputs", input,
                  mlpc_dataset_features(ds), is_npy ? "features" : "columns", model, n_in);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    if (n > 0) {
        if (k == 0 || n > SIZE_MAX / sizeof(float) / k) {
            cli_error(&c, "--input %s: too many rows", input);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        out = malloc(n * k * sizeof(float));
        if (classify) classes = malloc(n * sizeof(int));
        if (!out || (classify && !classes)) {
            cli_error(&c, "out of memory for %zu predictions", n);
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        if ((rc = cli_net_device(&c, &dev, net, threads))) goto done;
        mlpc_status st = mlpc_net_predict(net, mlpc_dataset_x(ds), n, out);
        if (st != MLPC_OK) {
            rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
            goto done;
        }
        if (classify) {
            for (size_t i = 0; i < n; i++) {
                const float *r = out + i * k;
                int best = 0;
                if (k == 1) {
                    best = r[0] >= 0.5f;
                } else {
                    for (size_t j = 1; j < k; j++)
                        if (r[j] > r[best]) best = (int)j;
                }
                classes[i] = best;
            }
        }
    } else {
        out = malloc(sizeof(float));
        if (classify) classes = malloc(sizeof(int));
    }
    const char *dest = strcmp(output, "-") == 0 ? NULL : output;
    int npy_out = dest && cli_ends_with(dest, ".npy");
    if (classify && npy_out)
        rc = cli_write_predictions(&c, dest, n, proba ? NULL : classes, proba ? out : NULL, k, &nm);
    else if (classify)
        rc = cli_write_predictions(&c, dest, n, classes, proba ? out : NULL, k, &nm);
    else
        rc = cli_write_predictions(&c, dest, n, NULL, out, k, NULL);
#undef F
done:
    free(out);
    free(classes);
    free(nm.names);
    if (ds) mlpc_dataset_free(ds);
    if (net) mlpc_net_free(net);
    cli_cmd_free(&c);
    return rc;
}
