/* settings.c - the default configuration, layer specs, validation and the
 * JSON form stored in model files (the names of the enums: core/names.c). */
#include "nn/net.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mlpc_config_default(mlpc_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_layers = 0;
    c->loss = MLPC_LOSS_CCE;
    c->init = MLPC_INIT_AUTO;
    c->norm = MLPC_NORM_SCALE;
    c->opt = MLPC_OPT_SGD;
    c->lr = NAN; /* NaN: the optimizer's default */
    c->rho = 0.9f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-7f;
    c->sched = MLPC_SCHED_CONSTANT;
    c->sched_factor = NAN; /* NaN: the schedule's default */
    c->sched_step = 10;
    c->sched_patience = 3;
    c->batch = 32;
    c->epochs = 10;
    c->seed = 1;
    c->threads = 1;
    c->shuffle = 1;
    c->es_metric = MLPC_METRIC_VAL_LOSS;
    c->es_restore_best = 1;
}

/* Fills in the defaults that depend on other settings (lr per optimizer,
 * factor per schedule). */
static void resolve(mlpc_config *c)
{
    if (isnan(c->lr)) c->lr = c->opt == MLPC_OPT_SGD ? 0.01f : 0.001f;
    if (isnan(c->sched_factor)) c->sched_factor = c->sched == MLPC_SCHED_EXPONENTIAL ? 0.95f : 0.5f;
}

mlpc_status mlpc_config_set_layers(mlpc_config *c, const char *spec, mlpc_error *err)
{
    int sizes[MLPC_MAX_LAYERS + 2], n = 0;
    const char *p = spec;
    if (!spec || !*spec) return mlpc_seterr(err, MLPC_ERR_ARG, "layers: empty (expected e.g. 784-30-10)");
    while (*p) {
        if (n == MLPC_MAX_LAYERS + 1)
            return mlpc_seterr(err, MLPC_ERR_ARG, "layers '%s': more than %d layers", spec, MLPC_MAX_LAYERS);
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > MLPC_MAX_WIDTH || !isdigit((unsigned char)*p))
            return mlpc_seterr(err, MLPC_ERR_ARG,
                               "layers '%s': '%.*s' is not a width between 1 and %d", spec,
                               (int)strcspn(p, "-,x"), p, MLPC_MAX_WIDTH);
        sizes[n++] = (int)v;
        p = end;
        if (*p == '-' || *p == ',' || *p == 'x') {
            p++;
            if (!*p) return mlpc_seterr(err, MLPC_ERR_ARG, "layers '%s': ends with a separator", spec);
        } else if (*p) {
            return mlpc_seterr(err, MLPC_ERR_ARG, "layers '%s': unexpected '%c'", spec, *p);
        }
    }
    if (n < 2) return mlpc_seterr(err, MLPC_ERR_ARG, "layers '%s': need at least an input and an output width", spec);
    int old = c->n_layers;
    mlpc_act hidden = old > 1 ? c->act[0] : MLPC_ACT_SIGMOID;
    mlpc_act out = old > 0 ? c->act[old - 1]
                 : c->loss == MLPC_LOSS_CCE && sizes[n - 1] > 1 ? MLPC_ACT_SOFTMAX : MLPC_ACT_SIGMOID;
    c->n_layers = n - 1;
    for (int i = 0; i < n; i++) c->sizes[i] = sizes[i];
    if (old != c->n_layers) mlpc_config_set_acts(c, hidden, out);
    return MLPC_OK;
}

void mlpc_config_set_acts(mlpc_config *c, mlpc_act hidden, mlpc_act out)
{
    for (int l = 0; l + 1 < c->n_layers; l++) c->act[l] = hidden;
    if (c->n_layers > 0) c->act[c->n_layers - 1] = out;
}

mlpc_status mlpc_arch_check(int n_layers, const int *sizes, const mlpc_act *act, mlpc_loss loss,
                            mlpc_error *err)
{
    if (n_layers < 1 || n_layers > MLPC_MAX_LAYERS)
        return mlpc_seterr(err, MLPC_ERR_ARG, "layers: %d weight layers (need 1 to %d)", n_layers, MLPC_MAX_LAYERS);
    for (int i = 0; i <= n_layers; i++)
        if (sizes[i] < 1 || sizes[i] > MLPC_MAX_WIDTH)
            return mlpc_seterr(err, MLPC_ERR_ARG, "layers: width %d of layer %d is outside 1..%d", sizes[i], i, MLPC_MAX_WIDTH);
    for (int l = 0; l < n_layers; l++) {
        if ((unsigned)act[l] >= MLPC_ACT_COUNT)
            return mlpc_seterr(err, MLPC_ERR_ARG, "act: unknown activation %d in layer %d", (int)act[l], l + 1);
        if (act[l] == MLPC_ACT_SOFTMAX && l != n_layers - 1)
            return mlpc_seterr(err, MLPC_ERR_ARG, "act: softmax is only allowed on the output layer");
    }
    if ((unsigned)loss >= MLPC_LOSS_COUNT) return mlpc_seterr(err, MLPC_ERR_ARG, "loss: unknown loss %d", (int)loss);
    mlpc_act out = act[n_layers - 1];
    if (out == MLPC_ACT_SOFTMAX && sizes[n_layers] < 2)
        return mlpc_seterr(err, MLPC_ERR_ARG, "out-act softmax needs at least 2 outputs, the net has %d", sizes[n_layers]);
    if (loss == MLPC_LOSS_BCE && out != MLPC_ACT_SIGMOID && out != MLPC_ACT_SOFTMAX)
        return mlpc_seterr(err, MLPC_ERR_ARG, "loss bce needs outputs in (0,1): use out-act sigmoid (not %s)", mlpc_act_name(out));
    if (loss == MLPC_LOSS_CCE && out != MLPC_ACT_SOFTMAX && out != MLPC_ACT_SIGMOID)
        return mlpc_seterr(err, MLPC_ERR_ARG, "loss cce needs probabilities: use out-act softmax (not %s)", mlpc_act_name(out));
    return MLPC_OK;
}

#define BAD(...) return mlpc_seterr(err, MLPC_ERR_ARG, __VA_ARGS__)

mlpc_status mlpc_config_validate(const mlpc_config *c0, mlpc_error *err)
{
    mlpc_config c = *c0;
    resolve(&c);
    if (c.n_layers < 1) BAD("layers: not set (e.g. --layers 784-30-10)");
    mlpc_status st = mlpc_arch_check(c.n_layers, c.sizes, c.act, c.loss, err);
    if (st) return st;
    if ((unsigned)c.init >= MLPC_INIT_COUNT) BAD("init: unknown initializer");
    if ((unsigned)c.norm >= MLPC_NORM_COUNT) BAD("norm: unknown normalization");
    if ((unsigned)c.opt >= MLPC_OPT_COUNT) BAD("opt: unknown optimizer");
    if ((unsigned)c.sched >= MLPC_SCHED_COUNT) BAD("sched: unknown schedule");
    if ((unsigned)c.es_metric >= MLPC_METRIC_COUNT) BAD("es-metric: unknown metric");
    if (!(c.lr > 0.0f) || !isfinite(c.lr)) BAD("lr %g: must be a positive number", (double)c.lr);
    if (!(c.momentum >= 0.0f && c.momentum < 1.0f)) BAD("momentum %g: must be in [0, 1)", (double)c.momentum);
    if (!(c.rho > 0.0f && c.rho < 1.0f)) BAD("rho %g: must be in (0, 1)", (double)c.rho);
    if (!(c.beta1 >= 0.0f && c.beta1 < 1.0f)) BAD("beta1 %g: must be in [0, 1)", (double)c.beta1);
    if (!(c.beta2 >= 0.0f && c.beta2 < 1.0f)) BAD("beta2 %g: must be in [0, 1)", (double)c.beta2);
    if (!(c.eps > 0.0f)) BAD("eps %g: must be positive", (double)c.eps);
    if (!(c.l2 >= 0.0f) || !isfinite(c.l2)) BAD("l2 %g: must be zero or positive", (double)c.l2);
    if (!(c.sched_factor > 0.0f && c.sched_factor <= 1.0f)) BAD("sched-factor %g: must be in (0, 1]", (double)c.sched_factor);
    if (c.sched_step < 1) BAD("sched-step %d: must be at least 1", c.sched_step);
    if (c.sched_patience < 1) BAD("sched-patience %d: must be at least 1", c.sched_patience);
    if (!(c.min_lr >= 0.0f)) BAD("min-lr %g: must be zero or positive", (double)c.min_lr);
    if (c.batch < 1) BAD("batch %d: must be a positive integer", c.batch);
    if (c.batch > (1 << 24)) BAD("batch %d: too large (at most %d)", c.batch, 1 << 24);
    if (c.epochs < 0) BAD("epochs %d: must be zero or positive", c.epochs);
    if (c.threads < 1 || c.threads > MLPC_MAX_THREADS) BAD("threads %d: must be between 1 and %d", c.threads, MLPC_MAX_THREADS);
    if ((unsigned)c.precision >= MLPC_PRECISION_COUNT) BAD("precision %d: must be fp32, bf16 or auto", (int)c.precision);
    if (c.precision == MLPC_PRECISION_BF16 && !mlpc_cpu_has_bf16())
        BAD("precision bf16: this CPU has no AVX512_BF16 (vdpbf16ps); use fp32, or auto to take bf16 only where it runs");
    if (c.es_patience < 0) BAD("early-stop %d: patience must be zero or positive", c.es_patience);
    if (!(c.es_min_delta >= 0.0f)) BAD("es-min-delta %g: must be zero or positive", (double)c.es_min_delta);
    return MLPC_OK;
}

/* Applies the derived defaults in place (used by net and trainer creation). */
void mlpc_config_resolve(mlpc_config *c) { resolve(c); }

int mlpc_config_to_json(const mlpc_config *c0, char *buf, size_t cap)
{
    mlpc_config c = *c0;
    resolve(&c);
    char layers[MLPC_MAX_LAYERS * 9 + 16] = "", acts[MLPC_MAX_LAYERS * 14 + 16] = "";
    size_t lp = 0, ap = 0;
    for (int i = 0; i <= c.n_layers; i++)
        lp += (size_t)snprintf(layers + lp, sizeof layers - lp, "%s%d", i ? "-" : "", c.sizes[i]);
    for (int l = 0; l < c.n_layers; l++)
        ap += (size_t)snprintf(acts + ap, sizeof acts - ap, "%s\"%s\"", l ? "," : "", mlpc_act_name(c.act[l]));
    int n = snprintf(buf, cap,
        "{\"layers\":\"%s\",\"acts\":[%s],\"loss\":\"%s\",\"init\":\"%s\",\"norm\":\"%s\","
        "\"opt\":\"%s\",\"lr\":%.7g,\"momentum\":%.7g,\"nesterov\":%s,\"rho\":%.7g,\"beta1\":%.7g,"
        "\"beta2\":%.7g,\"eps\":%.7g,\"l2\":%.7g,\"sched\":\"%s\",\"sched_factor\":%.7g,"
        "\"sched_step\":%d,\"sched_patience\":%d,\"min_lr\":%.7g,\"batch\":%d,\"epochs\":%d,"
        "\"seed\":%llu,\"threads\":%d,\"shuffle\":%s,\"early_stop\":%d,\"es_metric\":\"%s\","
        "\"es_min_delta\":%.7g,\"es_restore_best\":%s}",
        layers, acts, mlpc_loss_name(c.loss), mlpc_init_name(c.init), mlpc_norm_name(c.norm),
        mlpc_opt_name(c.opt), (double)c.lr, (double)c.momentum, c.nesterov ? "true" : "false",
        (double)c.rho, (double)c.beta1, (double)c.beta2, (double)c.eps, (double)c.l2,
        mlpc_sched_name(c.sched), (double)c.sched_factor, c.sched_step, c.sched_patience,
        (double)c.min_lr, c.batch, c.epochs, (unsigned long long)c.seed, c.threads,
        c.shuffle ? "true" : "false", c.es_patience, mlpc_metric_name(c.es_metric),
        (double)c.es_min_delta, c.es_restore_best ? "true" : "false");
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
