/* data.c - loading the data sets named on the command line. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int has_targets_or_fail(const cli_cmd *c, const char *flag, const char *path,
                               mlpc_dataset **out)
{
    if (mlpc_dataset_rows(*out) == 0) {
        cli_error(c, "--%s %s: no data rows", flag, path);
        mlpc_dataset_free(*out);
        *out = NULL;
        return CLI_EXIT_INPUT;
    }
    if (!mlpc_dataset_has_targets(*out)) {
        cli_error(c, "--%s %s: no labels or targets", flag, path);
        mlpc_dataset_free(*out);
        *out = NULL;
        return CLI_EXIT_INPUT;
    }
    return 0;
}

int cli_load_files(const cli_cmd *c, const char *flag, const char *path, const char *lflag,
                   const char *labels, const mlpc_csv_options *csv, mlpc_dataset **out)
{
    *out = NULL;
    int npy = cli_ends_with(path, ".npy");
    if (npy && !labels) {
        cli_error(c, "--%s %s: a .npy file carries no labels; add --%s FILE", flag, path, lflag);
        return CLI_EXIT_USAGE;
    }
    int rc = cli_check_input(c, flag, path);
    if (!rc && labels) rc = cli_check_input(c, lflag, labels);
    if (rc) return rc;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (labels)
        *out = mlpc_dataset_load_pair(path, labels, csv, &err);
    else
        *out = mlpc_dataset_load_csv(path, csv, &err);
    if (!*out) return cli_lib_error(c, path, err.code, err.msg);
    return has_targets_or_fail(c, flag, path, out);
}

static int names_into(const cli_cmd *c, int n, const char *(*get)(const void *, int), const void *h, cli_names *nm)
{
    nm->names = NULL;
    nm->n = 0;
    if (n <= 0) return 0;
    nm->names = malloc((size_t)n * sizeof *nm->names);
    if (!nm->names) {
        cli_error(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    for (int k = 0; k < n; k++) nm->names[k] = get(h, k);
    nm->n = n;
    return 0;
}

static const char *net_name(const void *h, int k) { return mlpc_net_class_name(h, k); }
static const char *data_name(const void *h, int k) { return mlpc_dataset_class_name(h, k); }

int cli_net_names(const cli_cmd *c, const mlpc_net *net, cli_names *nm)
{
    return names_into(c, mlpc_net_class_names(net), net_name, net, nm);
}

int cli_data_names(const cli_cmd *c, const mlpc_dataset *d, cli_names *nm)
{
    return names_into(c, mlpc_dataset_class_names(d), data_name, d, nm);
}

void cli_csv_classes(mlpc_csv_options *csv, const cli_names *nm)
{
    csv->class_names = (const char *const *)nm->names;
    csv->n_class_names = nm->n;
}

int cli_missing(const cli_cmd *c, const cli_flag *f, const mlpc_net *net, mlpc_missing *out)
{
    if (cli_is(f, "auto") && net)
        *out = mlpc_net_imputation(net) ? MLPC_MISSING_MEAN : MLPC_MISSING_ERROR;
    else if (cli_is(f, "error"))
        *out = MLPC_MISSING_ERROR;
    else if (cli_is(f, "drop"))
        *out = MLPC_MISSING_DROP;
    else if (cli_is(f, "mean"))
        *out = MLPC_MISSING_MEAN;
    else
        return cli_bad_value(c, f, "must be error, drop or mean%s", net ? " (or auto)" : "");
    return 0;
}

int cli_target_spec(cli_cmd *c, const char **spec)
{
    cli_flag *t = cli_flag_get(c, "target"), *l = cli_flag_get(c, "label-col");
    if (t->given && l->given) {
        cli_error(c, "--label-col: an alias of --target; give one of them");
        return CLI_EXIT_USAGE;
    }
    cli_flag *f = t->given ? t : l;
    *spec = cli_is(f, "last") ? NULL : f->value;
    if (*spec && !**spec) return cli_bad_value(c, f, "must be column names or 0-based indices");
    return 0;
}

int cli_builtin_known(const char *name)
{
    return name &&
           (!strcmp(name, "mnist") || !strcmp(name, "fashion-mnist") || !strcmp(name, "lorenz"));
}

/* DIR/base, or DIR/base.gz when only that exists; NULL (after the error) when neither. */
static char *idx_path(const cli_cmd *c, const char *name, const char *dir, const char *base)
{
    size_t n = strlen(dir) + strlen(base) + 8;
    char *p = malloc(n);
    if (!p) {
        cli_error(c, "out of memory");
        return NULL;
    }
    snprintf(p, n, "%s/%s", dir, base);
    if (access(p, F_OK) == 0) return p;
    snprintf(p, n, "%s/%s.gz", dir, base);
    if (access(p, F_OK) == 0) return p;
    cli_error(c,
              "--data %s: %s/%s not found (nor .gz); set MLPC_DATA to the folder that holds "
              "%s/",
              name, dir, base, name);
    free(p);
    return NULL;
}

static int load_idx_pair(const cli_cmd *c, const char *name, const char *dir, const char *img,
                         const char *lab, mlpc_dataset **out)
{
    char *ip = idx_path(c, name, dir, img);
    if (!ip) return CLI_EXIT_INPUT;
    char *lp = idx_path(c, name, dir, lab);
    if (!lp) {
        free(ip);
        return CLI_EXIT_INPUT;
    }
    mlpc_error err;
    memset(&err, 0, sizeof err);
    int rc = cli_check_input(c, "data", ip);
    if (!rc) rc = cli_check_input(c, "data", lp);
    if (!rc) {
        *out = mlpc_dataset_load_idx(ip, lp, &err);
        if (!*out) rc = cli_lib_error(c, ip, err.code, err.msg);
    }
    free(ip);
    free(lp);
    return rc;
}

int cli_load_builtin(const cli_cmd *c, const char *name, mlpc_dataset **train, mlpc_dataset **val,
                     mlpc_dataset **test)
{
    if (train) *train = NULL;
    if (val) *val = NULL;
    if (test) *test = NULL;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (strcmp(name, "lorenz") == 0) {
        mlpc_lorenz_options o;
        mlpc_lorenz_options_default(&o);
        if (train && !(*train = mlpc_dataset_lorenz(&o, 0, 900, &err)))
            return cli_lib_error(c, NULL, err.code, err.msg);
        if (val && !(*val = mlpc_dataset_lorenz(&o, 900, 900, &err)))
            return cli_lib_error(c, NULL, err.code, err.msg);
        return 0;
    }
    const char *env = getenv("MLPC_DATA");
    const char *root = env && *env ? env : "data";
    size_t n = strlen(root) + strlen(name) + 2;
    char *dir = malloc(n);
    if (!dir) {
        cli_error(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    snprintf(dir, n, "%s/%s", root, name);
    int rc = 0;
    if (train)
        rc = load_idx_pair(c, name, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           train);
    if (!rc && test)
        rc = load_idx_pair(c, name, dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", test);
    free(dir);
    return rc;
}

static int task_from_json(const char *json)
{
    if (!json) return -1;
    cJSON *root = cJSON_Parse(json);
    if (!root) return -1;
    int r = -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "task");
    if (cJSON_IsString(t)) {
        if (!strcmp(t->valuestring, "classify"))
            r = 1;
        else if (!strcmp(t->valuestring, "regress"))
            r = 0;
    }
    cJSON_Delete(root);
    return r;
}

int cli_model_classifies(const mlpc_net *net)
{
    int r = task_from_json(mlpc_net_meta(net, "metrics"));
    if (r < 0) r = task_from_json(mlpc_net_meta(net, "config"));
    if (r >= 0) return r;
    int L = mlpc_net_layers(net);
    mlpc_loss loss = mlpc_net_loss(net);
    return mlpc_net_act(net, L - 1) == MLPC_ACT_SOFTMAX || loss == MLPC_LOSS_CCE ||
           loss == MLPC_LOSS_BCE;
}
