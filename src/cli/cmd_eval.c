/* cmd_eval.c - `mlpc eval MODEL`: loss and accuracy (or mse) of a saved
 * model on a labelled data set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static cli_flag eval_flags[] = {
    CLI_FLAG("data", "NAME", NULL,
             "built-in set: mnist, fashion-mnist (the t10k test set) or lorenz (rows 900-1799)",
             "Data"),
    CLI_FLAG("test", "FILE", NULL,
             "labelled data: CSV (.csv, .csv.gz), or .npy/IDX with --test-labels", NULL),
    CLI_FLAG("test-labels", "FILE", NULL,
             "labels (or targets) for --test: CSV (one label column or one-hot columns), .npy or IDX", NULL),
    CLI_FLAG("target", "COLS", "last",
             "CSV target column(s): names or 0-based indices, a comma list, ranges 3-5 or a:c (as for train)",
             NULL),
    CLI_FLAG("label-col", "COLS", "last", "alias of --target", NULL),
    CLI_FLAG("missing", "MODE", "auto",
             "missing values: error, drop (the row), mean (the model's training means); auto: mean when the "
             "model stores them, else error",
             NULL),
    CLI_FLAG("task", "TASK", "auto",
             "CSV targets: classify or regress; auto: what the model was trained for", NULL),
    CLI_FLAG("header", "MODE", "auto", "CSV header row: auto, yes or no", NULL),
    CLI_FLAG("delimiter", "CHAR", "auto",
             "CSV delimiter: auto (',' ';' or tab, else runs of spaces), tab, space or one character", NULL),
    CLI_FLAG("skip-rows", "N", "0", "CSV: lines to skip before the first row (metadata, comments)", NULL),
    CLI_FLAG("threads", "N", "1", "compute threads; 0: one per CPU core", "Output"),
    CLI_FLAG("json", NULL, NULL, "print the result as one JSON object", NULL),
    CLI_DEVICE_FLAGS,
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Evaluates a saved model on labelled data (the model's input normalization is\n"
    "applied first) and prints the mean loss, the accuracy (classification) or the\n"
    "mean squared error, mean absolute error and R^2 (regression, in the targets'\n"
    "original units), and the number of rows. Labels map through the class names\n"
    "stored in the model (a label it does not know is an error).\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 4 internal error.";

#define F(n) cli_flag_get(c, n)

/* What the flags ask for. */
typedef struct eval_opts {
    const char *model, *data, *test, *labels;
    int threads;
    int task; /* -1: auto (the model's) */
    mlpc_csv_options csv;
} eval_opts;

/* Every flag's value, before the model or any data is read. */
static int read_flags(cli_cmd *c, eval_opts *o)
{
    int rc;
    if (c->n_pos != 1) {
        cli_error(c, "missing MODEL (usage: %s)", c->usage);
        return CLI_EXIT_USAGE;
    }
    o->model = c->pos[0];
    if ((rc = cli_threads(c, F("threads"), &o->threads))) return rc;
    o->data = F("data")->value;
    o->test = F("test")->value;
    o->labels = F("test-labels")->value;
    mlpc_csv_options_default(&o->csv);
    if ((rc = cli_csv_dialect(c, &o->csv))) return rc;
    o->task = -1;
    if (!cli_is(F("task"), "auto")) {
        mlpc_task t;
        if ((rc = cli_task(c, F("task"), &t))) return rc;
        o->task = (int)t;
    }
    if ((rc = cli_target_spec(c, &o->csv.label_col))) return rc;
    if (o->data && o->test) {
        cli_error(c, "--test: not used with --data %s (give one of them)", o->data);
        return CLI_EXIT_USAGE;
    }
    if (!o->data && !o->test) {
        cli_error(c, "no data: give --data NAME or --test FILE (see mlpc eval --help)");
        return CLI_EXIT_USAGE;
    }
    if (o->labels && !o->test) {
        cli_error(c, "--test-labels: needs --test FILE");
        return CLI_EXIT_USAGE;
    }
    if (o->data && !cli_builtin_known(o->data))
        return cli_bad_value(c, F("data"), "unknown data set (mnist, fashion-mnist, lorenz)");
    return 0;
}

/* The data set (built-in or files); *src names it in messages. */
static int load_data(cli_cmd *c, const eval_opts *o, mlpc_csv_options *csv, mlpc_dataset **ds,
                     const char **src)
{
    int rc;
    if (o->data) {
        if (!strcmp(o->data, "lorenz"))
            rc = cli_load_builtin(c, o->data, NULL, ds, NULL);
        else
            rc = cli_load_builtin(c, o->data, NULL, NULL, ds);
        if (rc) return rc;
        *src = mlpc_dataset_source(*ds);
        if (!*src || !**src) *src = o->data;
        return 0;
    }
    *src = o->test;
    return cli_load_files(c, "test", o->test, "test-labels", o->labels, csv, ds);
}

/* The data fits the model: its features, task and outputs. */
static int check_fit(const cli_cmd *c, const mlpc_dataset *ds, const char *src, const char *model,
                     const mlpc_net *net, int classify)
{
    int L = mlpc_net_layers(net);
    size_t n_in = (size_t)mlpc_net_size(net, 0), n_out = (size_t)mlpc_net_size(net, L);
    if (mlpc_dataset_features(ds) != n_in) {
        cli_error(c, "%s: %zu features, but the model %s expects %zu inputs", src,
                  mlpc_dataset_features(ds), model, n_in);
        return CLI_EXIT_INPUT;
    }
    int ds_classify = mlpc_dataset_task(ds) == MLPC_TASK_CLASSIFY;
    if (ds_classify != classify) {
        cli_error(c, "%s: has %s, but the model %s %s", src,
                  ds_classify ? "class labels" : "regression targets", model,
                  classify ? "classifies" : "does regression");
        return CLI_EXIT_INPUT;
    }
    if (classify ? mlpc_dataset_outputs(ds) > n_out : mlpc_dataset_outputs(ds) != n_out) {
        cli_error(c, "%s: %zu %s, but the model %s has %zu outputs", src, mlpc_dataset_outputs(ds),
                  classify ? "classes" : "targets", model, n_out);
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* The result: one text line, or one JSON object with --json. */
static int print_result(cli_cmd *c, const char *model, const char *src, const mlpc_eval *ev,
                        int classify, int std_targets, double mae, double r2)
{
    if (F("json")->on) {
        sbuf b;
        sb_init(&b);
        b.digits = 9; /* float32 values exactly */
        sb_raw(&b, "{");
        sb_kstr(&b, "model", model);
        sb_kstr(&b, "data", src);
        sb_knum(&b, "loss", ev->loss);
        if (std_targets) sb_kstr(&b, "loss_on", "standardized targets");
        if (classify)
            sb_knum(&b, "acc", ev->acc);
        else {
            sb_knum(&b, "mse", ev->mse);
            sb_knum(&b, "mae", mae);
            sb_knum(&b, "r2", r2);
        }
        sb_kint(&b, "n", (long long)ev->n);
        sb_raw(&b, "}");
        if (b.oom) {
            sb_free(&b);
            cli_error(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        printf("%s\n", b.s);
        sb_free(&b);
    } else if (classify) {
        printf("loss %.6f  acc %.4f  n %zu\n", ev->loss, ev->acc, ev->n);
    } else {
        printf("loss %.6g%s  mse %.6g  mae %.6g  r2 %.4f  n %zu\n", ev->loss, std_targets ? " (standardized)" : "",
               ev->mse, mae, r2, ev->n);
    }
    if (fflush(stdout) != 0) {
        cli_error(c, "writing to standard output failed");
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* Loads the model and the data, evaluates, prints. */
static int eval_run(cli_cmd *c, eval_opts *o, mlpc_net **net, mlpc_dataset **ds, cli_names *nm)
{
    int rc;
    cli_device dev;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if ((rc = cli_device_setup(c, 0, &dev))) return rc;
    if ((rc = cli_check_input(c, NULL, o->model))) return rc;
    *net = mlpc_net_load(o->model, &err);
    if (!*net) return cli_lib_error(c, o->model, err.code, err.msg);
    int classify = o->task < 0 ? cli_model_classifies(*net) : o->task == MLPC_TASK_CLASSIFY;
    o->csv.task = classify ? MLPC_TASK_CLASSIFY : MLPC_TASK_REGRESS;
    o->csv.n_targets = classify ? 1 : mlpc_net_size(*net, mlpc_net_layers(*net));
    if ((rc = cli_missing(c, F("missing"), *net, &o->csv.missing))) return rc;
    if ((rc = cli_net_names(c, *net, nm))) return rc;
    if (classify) cli_csv_classes(&o->csv, nm);
    const char *src;
    if ((rc = load_data(c, o, &o->csv, ds, &src))) return rc;
    if ((rc = check_fit(c, *ds, src, o->model, *net, classify))) return rc;
    if ((rc = cli_net_device(c, &dev, *net, o->threads))) return rc;
    double mae = NAN, r2 = NAN;
    if (!classify && (rc = cli_regress_metrics(c, *net, *ds, &mae, &r2))) return rc;
    mlpc_status st = mlpc_net_normalize(*net, *ds);
    mlpc_eval ev;
    memset(&ev, 0, sizeof ev);
    if (st != MLPC_OK) return cli_lib_error(c, NULL, st, mlpc_dataset_error(*ds)->msg);
    st = mlpc_net_evaluate(*net, *ds, &ev);
    if (st != MLPC_OK) return cli_lib_error(c, NULL, st, mlpc_net_error(*net)->msg);
    int std_targets = !classify && mlpc_net_target_stats(*net, NULL, NULL) > 0;
    return print_result(c, o->model, src, &ev, classify, std_targets, mae, r2);
}
#undef F

int cmd_eval(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "eval", "mlpc eval MODEL (--data NAME | --test FILE [--test-labels FILE]) [flags]", SUMMARY, eval_flags, (int)(sizeof eval_flags / sizeof eval_flags[0]), 1);
    mlpc_net *net = NULL;
    mlpc_dataset *ds = NULL;
    cli_names nm = {NULL, 0};
    eval_opts o;
    memset(&o, 0, sizeof o);
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc)
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
    else if (!(rc = read_flags(&c, &o)))
        rc = eval_run(&c, &o, &net, &ds, &nm);
    if (ds) mlpc_dataset_free(ds);
    free(nm.names);
    if (net) mlpc_net_free(net);
    cli_cmd_free(&c);
    return rc;
}
