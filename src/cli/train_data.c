/* train_data.c - `mlpc train`, phases 2 and 3: the data (built-in or
 * files, the validation split) and the net's shape resolved against it. */
#include <math.h>
#include <string.h>

#include "train_job.h"

#define F(n) cli_flag_get(&j->c, n)

const char *train_src_name(const mlpc_dataset *d, const char *fallback)
{
    const char *s = mlpc_dataset_source(d);
    return s && *s ? s : fallback;
}

/* --val-split: the training set's last (or random) rows become val. */
static int split_val(train_job *j)
{
    size_t n_rows = mlpc_dataset_rows(j->train);
    size_t nv = j->val_n ? j->val_n : (size_t)llround(j->val_frac * (double)n_rows);
    if (nv == 0 || nv >= n_rows) {
        char what[64];
        snprintf(what, sizeof what, "%zu", n_rows);
        return cli_bad_value(&j->c, F("val-split"),
                             nv == 0 ? "leaves no validation rows (of %s)"
                                     : "must leave training rows (the data has %s rows)",
                             what);
    }
    int shuffle = cli_is(F("val-from"), "random");
    if (!shuffle && !cli_is(F("val-from"), "tail"))
        return cli_bad_value(&j->c, F("val-from"), "must be random or tail");
    uint64_t seed = j->cfg.seed;
    if (F("split-seed")->given) {
        if (!shuffle) return cli_bad_value(&j->c, F("split-seed"), "applies to --val-from random only");
        int rc = cli_u64(&j->c, F("split-seed"), &seed);
        if (rc) return rc;
    }
    mlpc_dataset *a = NULL, *b = NULL;
    if (mlpc_dataset_split(j->train, nv, shuffle, seed, &a, &b, &j->err) != MLPC_OK)
        return cli_lib_error(&j->c, NULL, j->err.code, j->err.msg);
    mlpc_dataset_free(j->train);
    j->train = a;
    j->val = b;
    return 0;
}

/* The validation and test sets have the training set's features and targets. */
static int check_other_sets(train_job *j)
{
    mlpc_task task = mlpc_dataset_task(j->train);
    const mlpc_dataset *others[2] = {j->val, j->test};
    for (int i = 0; i < 2; i++) {
        const mlpc_dataset *o = others[i];
        if (!o) continue;
        const char *what = i == 0 ? "validation" : "--test";
        if (mlpc_dataset_features(o) != j->n_in) {
            cli_error(&j->c, "%s data %s: %zu features, but the training data %s has %zu", what,
                      train_src_name(o, "?"), mlpc_dataset_features(o), j->train_src, j->n_in);
            return CLI_EXIT_INPUT;
        }
        if (mlpc_dataset_task(o) != task || (j->regress && mlpc_dataset_outputs(o) != j->n_out)) {
            cli_error(&j->c, "%s data %s: its targets do not match the training data %s", what,
                      train_src_name(o, "?"), j->train_src);
            return CLI_EXIT_INPUT;
        }
    }
    return 0;
}

int train_load_data(train_job *j)
{
    int rc;
    const char *data = j->data;
    if (data) {
        rc = cli_load_builtin(&j->c, data, &j->train, &j->val, strcmp(data, "lorenz") ? &j->test : NULL);
        if (rc) return rc;
    } else {
        if ((rc = cli_load_files(&j->c, "train", j->train_path, "train-labels", j->train_labels, &j->csv,
                                 &j->train)))
            return rc;
        if ((rc = cli_data_names(&j->c, j->train, &j->train_names))) return rc;
        if (mlpc_dataset_task(j->train) == MLPC_TASK_CLASSIFY)
            cli_csv_classes(&j->csv, &j->train_names); /* --test maps through them */
        if (j->test_path &&
            (rc = cli_load_files(&j->c, "test", j->test_path, "test-labels", j->test_labels, &j->csv, &j->test)))
            return rc;
    }
    if (F("split-seed")->given && !j->val_n && !(j->val_frac > 0))
        return cli_bad_value(&j->c, F("split-seed"), "applies only with --val-split");
    if ((j->val_n || j->val_frac > 0) && (rc = split_val(j))) return rc;
    j->train_src = train_src_name(j->train, data ? data : j->train_path);
    j->n_in = mlpc_dataset_features(j->train);
    j->n_out = mlpc_dataset_outputs(j->train);
    j->regress = mlpc_dataset_task(j->train) == MLPC_TASK_REGRESS;
    return check_other_sets(j);
}

/* The "auto" output activation, loss and early-stopping metric. */
static int resolve_autos(train_job *j)
{
    mlpc_task task = j->regress ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    if (j->out_act < 0) j->out_act = mlpc_task_out_act(task); /* the task policy, src/nn/policy.c */
    if (j->loss < 0) j->loss = mlpc_task_loss(task, (mlpc_act)j->out_act);
    j->cfg.loss = (mlpc_loss)j->loss;
    if (j->es_metric < 0) j->es_metric = j->has_val ? MLPC_METRIC_VAL_LOSS : MLPC_METRIC_LOSS;
    if (j->regress && (j->es_metric == MLPC_METRIC_VAL_ACC || j->es_metric == MLPC_METRIC_ACC))
        return cli_bad_value(&j->c, F("es-metric"), "accuracy is not defined for regression (use %s)",
                             j->es_metric == MLPC_METRIC_ACC ? "loss" : "val_loss");
    j->cfg.es_metric = (mlpc_metric)j->es_metric;
    return 0;
}

int train_resolve_shape(train_job *j)
{
    int rc;
    mlpc_config *cfg = &j->cfg;
    if ((rc = resolve_autos(j))) return rc;
    if (mlpc_config_set_layers(cfg, j->layers, &j->err) != MLPC_OK)
        return cli_bad_value(&j->c, F("layers"), "%s", j->err.msg[0] ? j->err.msg : "bad layer spec");
    mlpc_config_set_acts(cfg, (mlpc_act)j->hidden_act, (mlpc_act)j->out_act);
    if ((size_t)cfg->sizes[0] != j->n_in) {
        cli_error(&j->c, "--layers: input width %d does not match the %zu features of %s", cfg->sizes[0],
                  j->n_in, j->train_src);
        return CLI_EXIT_USAGE;
    }
    size_t last = (size_t)cfg->sizes[cfg->n_layers];
    if (j->regress ? last != j->n_out : last < j->n_out) {
        cli_error(&j->c, "--layers: output width %zu does not match the %zu %s of %s", last, j->n_out,
                  j->regress ? "targets" : "classes", j->train_labels ? j->train_labels : j->train_src);
        return CLI_EXIT_USAGE;
    }
    if (mlpc_config_validate(cfg, &j->err) != MLPC_OK) {
        cli_error(&j->c, "%s", j->err.msg[0] ? j->err.msg : "invalid settings");
        return CLI_EXIT_USAGE;
    }
    if (j->threads_auto && cli_threads_auto(cfg, j->quiet, &cfg->threads, &j->err))
        return cli_lib_error(&j->c, NULL, j->err.code, j->err.msg);
    return 0;
}
