/*
 * targets.c - what a net keeps about its data besides the weights: class
 * names, regression target statistics (the net trains on standardized
 * targets and answers in the original units) and training means for
 * missing features.
 */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

void mlpc_net_free_extras(mlpc_net *net)
{
    for (int i = 0; i < net->n_names; i++) free(net->class_names[i]);
    free(net->class_names);
    net->class_names = NULL;
    net->n_names = 0;
    free(net->tgt_mean);
    free(net->tgt_std);
    free(net->imp_mean);
    net->tgt_mean = net->tgt_std = net->imp_mean = NULL;
}

/* ---- class names --------------------------------------------------------- */

mlpc_status mlpc_net_set_class_names(mlpc_net *net, const char *const *names, int n)
{
    int n_out = net->sizes[net->n_layers];
    if (n < 0 || (n > 0 && !names) || (n > 0 && n > n_out && !(n_out == 1 && n == 2)))
        return mlpc_seterr(&net->err, MLPC_ERR_ARG, "class names: %d names for %d outputs", n, n_out);
    char **c = n > 0 ? calloc((size_t)n, sizeof *c) : NULL;
    if (n > 0 && !c) return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for class names");
    for (int i = 0; i < n; i++)
        if (!(c[i] = strdup(names[i] ? names[i] : ""))) {
            while (i-- > 0) free(c[i]);
            free(c);
            return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for class names");
        }
    for (int i = 0; i < net->n_names; i++) free(net->class_names[i]);
    free(net->class_names);
    net->class_names = c;
    net->n_names = n;
    return MLPC_OK;
}

int mlpc_net_class_names(const mlpc_net *net) { return net ? net->n_names : 0; }

const char *mlpc_net_class_name(const mlpc_net *net, int k)
{
    return net && k >= 0 && k < net->n_names ? net->class_names[k] : NULL;
}

/* ---- target statistics --------------------------------------------------- */

mlpc_status mlpc_net_fit_target_norm(mlpc_net *net, const mlpc_dataset *d, mlpc_norm mode)
{
    size_t k = (size_t)net->sizes[net->n_layers];
    free(net->tgt_mean);
    free(net->tgt_std);
    net->tgt_mean = net->tgt_std = NULL;
    if (mode == MLPC_NORM_NONE) return MLPC_OK;
    if (mode != MLPC_NORM_STANDARD)
        return mlpc_seterr(&net->err, MLPC_ERR_ARG, "target norm: only none or standard, not %s", mlpc_norm_name(mode));
    if (!d->targets || d->n_out != k)
        return mlpc_seterr(&net->err, MLPC_ERR_SHAPE, "%s: target norm needs %zu regression target columns", d->source, k);
    net->tgt_mean = malloc(k * sizeof(float));
    net->tgt_std = malloc(k * sizeof(float));
    if (!net->tgt_mean || !net->tgt_std) {
        free(net->tgt_mean);
        free(net->tgt_std);
        net->tgt_mean = net->tgt_std = NULL;
        return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for target statistics");
    }
    for (size_t j = 0; j < k; j++) { /* two passes in double */
        double s = 0, ss = 0;
        for (size_t i = 0; i < d->n; i++) s += d->targets[i * k + j];
        double mean = d->n ? s / (double)d->n : 0;
        for (size_t i = 0; i < d->n; i++) ss += (d->targets[i * k + j] - mean) * (d->targets[i * k + j] - mean);
        double sd = d->n ? sqrt(ss / (double)d->n) : 0;
        net->tgt_mean[j] = (float)mean;
        net->tgt_std[j] = sd > 1e-12 && isfinite(sd) ? (float)sd : 1.0f;
    }
    return MLPC_OK;
}

mlpc_status mlpc_net_set_target_stats(mlpc_net *net, int k, const float *mean, const float *std)
{
    free(net->tgt_mean);
    free(net->tgt_std);
    net->tgt_mean = net->tgt_std = NULL;
    if (k == 0) return MLPC_OK;
    if (k != net->sizes[net->n_layers] || !mean || !std)
        return mlpc_seterr(&net->err, MLPC_ERR_SHAPE, "target statistics: %d columns for a net with %d outputs", k,
                           net->sizes[net->n_layers]);
    for (int j = 0; j < k; j++)
        if (!isfinite(mean[j]) || !isfinite(std[j]) || !(std[j] > 0))
            return mlpc_seterr(&net->err, MLPC_ERR_ARG, "target statistics: column %d has mean %g, std %g", j,
                               (double)mean[j], (double)std[j]);
    net->tgt_mean = malloc((size_t)k * sizeof(float));
    net->tgt_std = malloc((size_t)k * sizeof(float));
    if (!net->tgt_mean || !net->tgt_std) {
        free(net->tgt_mean);
        free(net->tgt_std);
        net->tgt_mean = net->tgt_std = NULL;
        return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for target statistics");
    }
    memcpy(net->tgt_mean, mean, (size_t)k * sizeof(float));
    memcpy(net->tgt_std, std, (size_t)k * sizeof(float));
    return MLPC_OK;
}

int mlpc_net_target_stats(const mlpc_net *net, const float **mean, const float **std)
{
    if (mean) *mean = net->tgt_mean;
    if (std) *std = net->tgt_std;
    return net->tgt_mean ? net->sizes[net->n_layers] : 0;
}

void mlpc_net_unscale_outputs(const mlpc_net *net, float *out, size_t n)
{
    if (!net->tgt_mean) return;
    size_t k = (size_t)net->sizes[net->n_layers];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) out[i * k + j] = out[i * k + j] * net->tgt_std[j] + net->tgt_mean[j];
}

double mlpc_net_sse_original(const mlpc_net *net, const float *out, const float *t, int m)
{
    size_t k = (size_t)net->sizes[net->n_layers];
    double s = 0;
    for (size_t i = 0; i < (size_t)m; i++)
        for (size_t j = 0; j < k; j++) {
            double e = ((double)out[i * k + j] - t[i * k + j]) * net->tgt_std[j];
            s += e * e;
        }
    return s;
}

/* ---- missing features ---------------------------------------------------- */

mlpc_status mlpc_net_fit_imputation(mlpc_net *net, const mlpc_dataset *d)
{
    size_t n_in = (size_t)net->sizes[0];
    if (d->n_in != n_in)
        return mlpc_seterr(&net->err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %zu inputs", d->source, d->n_in, n_in);
    float *m = malloc(n_in * sizeof(float));
    if (!m) return mlpc_seterr(&net->err, MLPC_ERR_NOMEM, "out of memory for imputation means");
    for (size_t j = 0; j < n_in; j++) {
        double s = 0;
        size_t c = 0;
        for (size_t i = 0; i < d->n; i++) {
            float v = d->x[i * n_in + j];
            if (!isnan(v)) s += v, c++;
        }
        m[j] = c ? (float)(s / (double)c) : 0.0f;
    }
    free(net->imp_mean);
    net->imp_mean = m;
    return MLPC_OK;
}

mlpc_status mlpc_net_impute(const mlpc_net *net, mlpc_dataset *d)
{
    size_t n_in = (size_t)net->sizes[0];
    if (d->n_in != n_in)
        return mlpc_seterr(&d->err, MLPC_ERR_SHAPE, "%s: %zu features, the net takes %zu inputs", d->source, d->n_in, n_in);
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < n_in; j++) {
            float *v = &d->x[i * n_in + j];
            if (!isnan(*v)) continue;
            if (!net->imp_mean)
                return mlpc_seterr(&d->err, MLPC_ERR_ARG,
                                   "%s: row %zu, feature %zu is missing and the model stores no training means "
                                   "(train with missing values set to mean)", d->source, i + 1, j + 1);
            *v = net->imp_mean[j];
        }
    return MLPC_OK;
}

const float *mlpc_net_imputation(const mlpc_net *net) { return net->imp_mean; }
