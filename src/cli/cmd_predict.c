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
             "missing values (empty, NA, NaN, N/A, ?, null): error, mean (the training means stored in the "
             "model); auto: mean when the model stores them, else error (drop is refused: every row gets its line)",
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

#define F(n) cli_flag_get(c, n)

/* One `mlpc predict`: its flags, the model, the rows and the answers. */
typedef struct predict_job {
    const char *model, *input, *output;
    int proba, threads, is_npy, classify;
    mlpc_csv_options csv;
    cli_device dev;
    mlpc_net *net;
    mlpc_dataset *ds;
    size_t n, k; /* rows, outputs */
    float *out;
    int *classes;
    cli_names nm;
} predict_job;

/* Every flag's value, before the model or the input is read. */
static int read_flags(cli_cmd *c, predict_job *p)
{
    int rc;
    if (c->n_pos != 1) {
        cli_error(c, "missing MODEL (usage: %s)", c->usage);
        return CLI_EXIT_USAGE;
    }
    p->model = c->pos[0];
    p->input = F("input")->value;
    p->output = F("output")->value;
    p->proba = F("proba")->on;
    if (!p->input) {
        cli_error(c, "--input FILE is required (usage: %s)", c->usage);
        return CLI_EXIT_USAGE;
    }
    if (!p->output || !*p->output) {
        cli_error(c, "--output: empty file name (use - for standard output)");
        return CLI_EXIT_USAGE;
    }
    mlpc_csv_options_default(&p->csv);
    p->csv.n_targets = 0; /* every column is a feature */
    if ((rc = cli_csv_dialect(c, &p->csv))) return rc;
    if ((rc = cli_threads(c, F("threads"), &p->threads))) return rc;
    p->is_npy = cli_ends_with(p->input, ".npy");
    if (p->is_npy && F("header")->given) {
        cli_error(c, "--header: only for CSV input, not %s", p->input);
        return CLI_EXIT_USAGE;
    }
    cli_path paths[] = {{"MODEL", p->model, 0, NULL}, {"input", p->input, 0, NULL}, {"output", p->output, 1, NULL}};
    if ((rc = cli_check_distinct(c, paths, 3))) return rc;
    return cli_device_setup(c, 0, &p->dev);
}

/* The model, then the input rows (missing features imputed), checked
 * against each other. */
static int load(cli_cmd *c, predict_job *p)
{
    int rc;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if ((rc = cli_check_input(c, NULL, p->model))) return rc;
    p->net = mlpc_net_load(p->model, &err);
    if (!p->net) return cli_lib_error(c, p->model, err.code, err.msg);
    size_t n_in = (size_t)mlpc_net_size(p->net, 0);
    p->k = (size_t)mlpc_net_size(p->net, mlpc_net_layers(p->net));
    p->classify = cli_model_classifies(p->net);
    if ((rc = cli_missing(c, F("missing"), p->net, &p->csv.missing))) return rc;
    if (p->csv.missing == MLPC_MISSING_DROP) { /* output line i must answer input row i */
        cli_error(c, "--missing drop: predict writes one line per input row, and a dropped row would shift every "
                     "line after it; use --missing mean (a model trained with --missing mean) or fix the rows");
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_net_names(c, p->net, &p->nm))) return rc;
    if (p->proba && !p->classify) {
        cli_error(c, "--proba: the model %s does regression, it has no class probabilities", p->model);
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_check_input(c, "input", p->input))) return rc;
    p->ds = p->is_npy ? mlpc_dataset_load_npy(p->input, NULL, &err) : mlpc_dataset_load_csv(p->input, &p->csv, &err);
    if (!p->ds) return cli_lib_error(c, p->input, err.code, err.msg);
    p->n = mlpc_dataset_rows(p->ds);
    if (mlpc_dataset_features(p->ds) == n_in) { /* missing features: the training means */
        mlpc_status ist = mlpc_net_impute(p->net, p->ds);
        if (ist) return cli_lib_error(c, p->input, ist, mlpc_dataset_error(p->ds)->msg);
    }
    if (mlpc_dataset_features(p->ds) != n_in) {
        cli_error(c, "--input %s: %zu %s, but the model %s expects %zu inputs", p->input,
                  mlpc_dataset_features(p->ds), p->is_npy ? "features" : "columns", p->model, n_in);
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* The outputs of every row and, for a classifier, each row's class (the
 * largest output; one sigmoid output: >= 0.5). */
static int predict_rows(cli_cmd *c, predict_job *p)
{
    size_t n = p->n, k = p->k;
    if (n == 0) {
        p->out = malloc(sizeof(float));
        if (p->classify) p->classes = malloc(sizeof(int));
        return 0;
    }
    if (k == 0 || n > SIZE_MAX / sizeof(float) / k) {
        cli_error(c, "--input %s: too many rows", p->input);
        return CLI_EXIT_INPUT;
    }
    p->out = malloc(n * k * sizeof(float));
    if (p->classify) p->classes = malloc(n * sizeof(int));
    if (!p->out || (p->classify && !p->classes)) {
        cli_error(c, "out of memory for %zu predictions", n);
        return CLI_EXIT_INTERNAL;
    }
    int rc = cli_net_device(c, &p->dev, p->net, p->threads);
    if (rc) return rc;
    mlpc_status st = mlpc_net_predict(p->net, mlpc_dataset_x(p->ds), n, p->out);
    if (st != MLPC_OK) return cli_lib_error(c, NULL, st, mlpc_net_error(p->net)->msg);
    if (p->classify) {
        for (size_t i = 0; i < n; i++) {
            const float *r = p->out + i * k;
            int best = 0;
            if (k == 1) {
                best = r[0] >= 0.5f;
            } else {
                for (size_t j = 1; j < k; j++)
                    if (r[j] > r[best]) best = (int)j;
            }
            p->classes[i] = best;
        }
    }
    return 0;
}

static int write_answers(cli_cmd *c, const predict_job *p)
{
    const char *dest = strcmp(p->output, "-") == 0 ? NULL : p->output;
    int npy_out = dest && cli_ends_with(dest, ".npy");
    if (p->classify && npy_out)
        return cli_write_predictions(c, dest, p->n, p->proba ? NULL : p->classes, p->proba ? p->out : NULL,
                                     p->k, &p->nm);
    if (p->classify)
        return cli_write_predictions(c, dest, p->n, p->classes, p->proba ? p->out : NULL, p->k, &p->nm);
    return cli_write_predictions(c, dest, p->n, NULL, p->out, p->k, NULL);
}
#undef F

int cmd_predict(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "predict", "mlpc predict MODEL --input FILE [--output FILE] [flags]", SUMMARY, predict_flags, (int)(sizeof predict_flags / sizeof predict_flags[0]), 1);
    predict_job p;
    memset(&p, 0, sizeof p);
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc)
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
    else if (!(rc = read_flags(&c, &p)) && !(rc = load(&c, &p)) && !(rc = predict_rows(&c, &p)))
        rc = write_answers(&c, &p);
    free(p.out);
    free(p.classes);
    free(p.nm.names);
    if (p.ds) mlpc_dataset_free(p.ds);
    if (p.net) mlpc_net_free(p.net);
    cli_cmd_free(&c);
    return rc;
}
