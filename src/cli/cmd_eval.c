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

int cmd_eval(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "eval", "mlpc eval MODEL (--data NAME | --test FILE [--test-labels FILE]) [flags]", SUMMARY, eval_flags, (int)(sizeof eval_flags / sizeof eval_flags[0]), 1);
    mlpc_net *net = NULL;
    mlpc_dataset *ds = NULL;
    cli_names nm = {NULL, 0};
    double mae = NAN, r2 = NAN;
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
    int threads;
    if ((rc = cli_threads(&c, F("threads"), &threads))) goto done;
    const char *data = F("data")->value, *test = F("test")->value,
               *labels = F("test-labels")->value;
    mlpc_csv_options csv;
    mlpc_csv_options_default(&csv);
    if ((rc = cli_csv_dialect(&c, &csv))) goto done;
    int task = -1; /* auto */
    if (!cli_is(F("task"), "auto")) {
        mlpc_task t;
        if ((rc = cli_task(&c, F("task"), &t))) goto done;
        task = (int)t;
    }
    if ((rc = cli_target_spec(&c, &csv.label_col))) goto done;
    if (data && test) {
        cli_error(&c, "--test: not used with --data %s (give one of them)", data);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!data && !test) {
        cli_error(&c, "no data: give --data NAME or --test FILE (see mlpc eval --help)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (labels && !test) {
        cli_error(&c, "--test-labels: needs --test FILE");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (data && !cli_builtin_known(data)) {
        rc = cli_bad_value(&c, F("data"), "unknown data set (mnist, fashion-mnist, lorenz)");
        goto done;
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
    size_t n_in = (size_t)mlpc_net_size(net, 0), n_out = (size_t)mlpc_net_size(net, L);
    int classify = task < 0 ? cli_model_classifies(net) : task == MLPC_TASK_CLASSIFY;
    csv.task = classify ? MLPC_TASK_CLASSIFY : MLPC_TASK_REGRESS;
    csv.n_targets = classify ? 1 : (int)n_out;
    if ((rc = cli_missing(&c, F("missing"), net, &csv.missing))) goto done;
    if ((rc = cli_net_names(&c, net, &nm))) goto done;
    if (classify) cli_csv_classes(&csv, &nm);

    const char *src;
    if (data) {
        if (!strcmp(data, "lorenz"))
            rc = cli_load_builtin(&c, data, NULL, &ds, NULL);
        else
            rc = cli_load_builtin(&c, data, NULL, NULL, &ds);
        if (rc) goto done;
        src = mlpc_dataset_source(ds);
        if (!src || !*src) src = data;
    } else {
        if ((rc = cli_load_files(&c, "test", test, "test-labels", labels, &csv, &ds))) goto done;
        src = test;
    }
    if (mlpc_dataset_features(ds) != n_in) {
        cli_error(&c, "%s: %zu features, but the model %s expects %zu inputs", src,
                  mlpc_dataset_features(ds), model, n_in);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    int ds_classify = mlpc_dataset_task(ds) == MLPC_TASK_CLASSIFY;
    if (ds_classify != classify) {
        cli_error(&c, "%s: has %s, but the model %s %s", src,
                  ds_classify ? "class labels" : "regression targets", model,
                  classify ? "classifies" : "does regression");
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    if (classify ? mlpc_dataset_outputs(ds) > n_out : mlpc_dataset_outputs(ds) != n_out) {
        cli_error(&c, "%s: %zu %s, but the model %s has %zu outputs", src, mlpc_dataset_outputs(ds),
                  classify ? "classes" : "targets", model, n_out);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    if ((rc = cli_net_device(&c, &dev, net, threads))) goto done;
    if (!classify && (rc = cli_regress_metrics(&c, net, ds, &mae, &r2))) goto done;
    mlpc_status st = mlpc_net_normalize(net, ds);
    mlpc_eval ev;
    memset(&ev, 0, sizeof ev);
    if (st != MLPC_OK) {
        rc = cli_lib_error(&c, NULL, st, mlpc_dataset_error(ds)->msg);
        goto done;
    }
    st = mlpc_net_evaluate(net, ds, &ev);
    if (st != MLPC_OK) {
        rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
        goto done;
    }
    if (F("json")->on) {
        sbuf b;
        sb_init(&b);
        b.digits = 9; /* float32 values exactly */
        sb_raw(&b, "{");
        sb_kstr(&b, "model", model);
        sb_kstr(&b, "data", src);
        sb_knum(&b, "loss", ev.loss);
        if (classify)
            sb_knum(&b, "acc", ev.acc);
        else {
            sb_knum(&b, "mse", ev.mse);
            sb_knum(&b, "mae", mae);
            sb_knum(&b, "r2", r2);
        }
        sb_kint(&b, "n", (long long)ev.n);
        sb_raw(&b, "}");
        if (b.oom) {
            sb_free(&b);
            cli_error(&c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        printf("%s\n", b.s);
        sb_free(&b);
    } else if (classify) {
        printf("loss %.6f  acc %.4f  n %zu\n", ev.loss, ev.acc, ev.n);
    } else {
        printf("loss %.6g  mse %.6g  mae %.6g  r2 %.4f  n %zu\n", ev.loss, ev.mse, mae, r2, ev.n);
    }
    if (fflush(stdout) != 0) {
        cli_error(&c, "writing to standard output failed");
        rc = CLI_EXIT_INPUT;
    }
#undef F
done:
    if (ds) mlpc_dataset_free(ds);
    free(nm.names);
    if (net) mlpc_net_free(net);
    cli_cmd_free(&c);
    return rc;
}
