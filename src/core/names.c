/* names.c - the names of the public enums (activations, losses, inits,
 * optimizers, schedules, normalizations, metrics) and their parsers: in
 * core so that every layer (the CUDA loader in backend/ too) can name them. */
#include "core/core.h"

#include <string.h>

static const char *const act_names[] = {"sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"};
static const char *const loss_names[] = {"quadratic", "mse", "bce", "cce"};
static const char *const init_names[] = {"auto", "normal", "glorot", "he"};
static const char *const opt_names[] = {"sgd", "rmsprop", "adam"};
static const char *const sched_names[] = {"constant", "step", "exponential", "plateau"};
static const char *const norm_names[] = {"none", "scale", "standard"};
static const char *const metric_names[] = {"val_loss", "val_acc", "loss", "acc"};
static const char *const precision_names[] = {"fp32", "bf16", "auto"};

#define NAME_OF(tab, v) ((unsigned)(v) < sizeof tab / sizeof *tab ? tab[v] : "?")

const char *mlpc_act_name(mlpc_act a) { return NAME_OF(act_names, a); }
const char *mlpc_loss_name(mlpc_loss l) { return NAME_OF(loss_names, l); }
const char *mlpc_init_name(mlpc_init i) { return NAME_OF(init_names, i); }
const char *mlpc_opt_name(mlpc_opt o) { return NAME_OF(opt_names, o); }
const char *mlpc_sched_name(mlpc_sched s) { return NAME_OF(sched_names, s); }
const char *mlpc_norm_name(mlpc_norm n) { return NAME_OF(norm_names, n); }
const char *mlpc_metric_name(mlpc_metric m) { return NAME_OF(metric_names, m); }
const char *mlpc_precision_name(mlpc_precision p) { return NAME_OF(precision_names, p); }

static int find(const char *const *tab, int n, const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tab[i], s) == 0) return i;
    return -1;
}

#define PARSER(fn, type, tab, ...)                                        \
    int fn(const char *s, type *out)                                      \
    {                                                                     \
        static const struct { const char *alias; int v; } al[] = {__VA_ARGS__}; \
        int i = find(tab, (int)(sizeof tab / sizeof *tab), s);            \
        for (size_t k = 0; i < 0 && s && k < sizeof al / sizeof *al; k++) \
            if (al[k].alias && strcmp(al[k].alias, s) == 0) i = al[k].v;  \
        if (i < 0) return -1;                                             \
        *out = (type)i;                                                   \
        return 0;                                                         \
    }

PARSER(mlpc_act_parse, mlpc_act, act_names, {"leaky", MLPC_ACT_LEAKY_RELU}, {"identity", MLPC_ACT_LINEAR})
PARSER(mlpc_loss_parse, mlpc_loss, loss_names, {"binary_crossentropy", MLPC_LOSS_BCE},
       {"categorical_crossentropy", MLPC_LOSS_CCE}, {"crossentropy", MLPC_LOSS_CCE})
PARSER(mlpc_init_parse, mlpc_init, init_names, {"nielsen", MLPC_INIT_NORMAL}, {"xavier", MLPC_INIT_GLOROT})
PARSER(mlpc_opt_parse, mlpc_opt, opt_names, {NULL, 0})
PARSER(mlpc_sched_parse, mlpc_sched, sched_names, {"exp", MLPC_SCHED_EXPONENTIAL}, {"none", MLPC_SCHED_CONSTANT})
PARSER(mlpc_norm_parse, mlpc_norm, norm_names, {"minmax", MLPC_NORM_SCALE}, {"zscore", MLPC_NORM_STANDARD})
PARSER(mlpc_metric_parse, mlpc_metric, metric_names, {NULL, 0})
PARSER(mlpc_precision_parse, mlpc_precision, precision_names, {"float32", MLPC_PRECISION_FP32},
       {"bfloat16", MLPC_PRECISION_BF16})
