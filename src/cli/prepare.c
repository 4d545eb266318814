/* prepare.c - what `mlpc train` does between loading the data and training:
 * the class names, the training means for missing features, the target
 * statistics and the input normalization go into the net, and every data
 * set is brought to what the net sees. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Regression targets the output activation cannot reach (25..346 through a
 * sigmoid, or standardized targets below 0) train to a flat line: one
 * warning line on stderr, then training. Run on what the net sees. */
static void warn_target_range(const cli_cmd *c, const mlpc_dataset *d, mlpc_act out, const char *src, int standardized)
{
    const float *t = mlpc_dataset_targets(d);
    size_t n = mlpc_dataset_rows(d) * mlpc_dataset_outputs(d);
    double lo = out == MLPC_ACT_SIGMOID ? 0 : out == MLPC_ACT_TANH ? -1 : 0, hi = out == MLPC_ACT_RELU ? INFINITY : 1;
    if (!t || n == 0 || (out != MLPC_ACT_SIGMOID && out != MLPC_ACT_TANH && out != MLPC_ACT_RELU)) return;
    float mn = t[0], mx = t[0];
    for (size_t i = 1; i < n; i++) {
        if (t[i] < mn) mn = t[i];
        if (t[i] > mx) mx = t[i];
    }
    if (mn >= lo && mx <= hi) return;
    fprintf(stderr, "mlpc %s: warning: the %stargets of %s span [%g, %g] but a %s output gives %s%g, %g): "
                    "use --out-act linear%s\n",
            c->name, standardized ? "standardized " : "", src, (double)mn, (double)mx, mlpc_act_name(out),
            out == MLPC_ACT_RELU ? "[" : "(", lo, hi,
            standardized ? " (or --target-norm none with targets inside that range)" : " or scale the targets");
}

int cli_train_prepare(const cli_cmd *c, mlpc_net *net, mlpc_dataset *sets[3], const cli_prep *p)
{
    mlpc_dataset *train = sets[0];
    int regress = mlpc_dataset_task(train) == MLPC_TASK_REGRESS;
    cli_names nm;
    int rc = cli_data_names(c, train, &nm);
    if (rc) return rc;
    mlpc_status st = mlpc_net_set_class_names(net, (const char *const *)nm.names, nm.n);
    free(nm.names);
    if (!st && p->missing == MLPC_MISSING_MEAN) st = mlpc_net_fit_imputation(net, train);
    if (!st && regress) st = mlpc_net_fit_target_norm(net, train, p->target_norm);
    if (!st) st = mlpc_net_fit_normalization(net, train, p->norm);
    if (st) return cli_lib_error(c, NULL, st, mlpc_net_error(net)->msg);
    for (int i = 0; i < 3; i++)
        if (sets[i] && (st = mlpc_net_normalize(net, sets[i])))
            return cli_lib_error(c, NULL, st, mlpc_dataset_error(sets[i])->msg);
    if (regress) warn_target_range(c, train, p->out_act, p->train_src, p->target_norm != MLPC_NORM_NONE);
    return 0;
}

int cli_regress_metrics(const cli_cmd *c, mlpc_net *net, mlpc_dataset *d, double *mae, double *r2)
{
    size_t n = mlpc_dataset_rows(d), k = mlpc_dataset_outputs(d);
    const float *t = mlpc_dataset_targets(d);
    *mae = *r2 = NAN;
    if (!t || n == 0 || k == 0) return 0;
    mlpc_status st = mlpc_net_impute(net, d);
    if (st) return cli_lib_error(c, NULL, st, mlpc_dataset_error(d)->msg);
    float *out = malloc(n * k * sizeof(float));
    if (!out) {
        cli_error(c, "out of memory for %zu predictions", n);
        return CLI_EXIT_INTERNAL;
    }
    if ((st = mlpc_net_predict(net, mlpc_dataset_x(d), n, out))) {
        free(out);
        return cli_lib_error(c, NULL, st, mlpc_net_error(net)->msg);
    }
    double abs_sum = 0, r2_sum = 0;
    for (size_t j = 0; j < k; j++) {
        double mean = 0, sse = 0, sst = 0;
        for (size_t i = 0; i < n; i++) mean += t[i * k + j];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double e = (double)out[i * k + j] - t[i * k + j], dv = t[i * k + j] - mean;
            abs_sum += fabs(e);
            sse += e * e;
            sst += dv * dv;
        }
        r2_sum += sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0);
    }
    free(out);
    *mae = abs_sum / ((double)n * (double)k);
    *r2 = r2_sum / (double)k;
    return 0;
}
