/*
 * space.c - SPACE.json (docs/search.md), the grid and random samplers, and a
 * trial's point turned into an mlpc_config, a params JSON object and the
 * `mlpc train` command line that reproduces it.
 *
 * A trial's parameters come from (study seed, trial number) alone, so any
 * worker, rank or resumed run draws the same configuration.
 */
#include "search/search.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    srch_ptype type;
    double lo, hi; /* bounds of a value */
} PDEF[P_COUNT] = {
    [P_HIDDEN] = {"hidden", PT_HIDDEN, 1, MLPC_MAX_WIDTH},
    [P_DEPTH] = {"depth", PT_INT, 1, MLPC_MAX_LAYERS - 1},
    [P_WIDTH] = {"width", PT_INT, 1, MLPC_MAX_WIDTH},
    [P_ACT] = {"act", PT_ENUM, 0, 0},
    [P_OUT_ACT] = {"out_act", PT_ENUM, 0, 0},
    [P_LOSS] = {"loss", PT_ENUM, 0, 0},
    [P_INIT] = {"init", PT_ENUM, 0, 0},
    [P_OPT] = {"opt", PT_ENUM, 0, 0},
    [P_LR] = {"lr", PT_FLOAT, 1e-12, 1e6},
    [P_MOMENTUM] = {"momentum", PT_FLOAT, 0, 0.999999},
    [P_BATCH] = {"batch", PT_INT, 1, 1 << 24},
    [P_EPOCHS] = {"epochs", PT_INT, 1, 100000000},
    [P_L2] = {"l2", PT_FLOAT, 0, 1e6},
    [P_THREADS] = {"threads", PT_INT, 1, 4096},
};

static const char *const METRICS[SM_COUNT] = {"val_loss", "val_acc", "val_mse",
                                              "loss",     "acc",     "mse"};

const char *srch_metric_name(int m) { return m >= 0 && m < SM_COUNT ? METRICS[m] : "?"; }

int srch_metric_parse(const char *s)
{
    for (int i = 0; i < SM_COUNT; i++)
        if (!strcmp(s, METRICS[i])) return i;
    return -1;
}

/* enum parameters: name -> value with the library's parsers */
static int enum_parse(srch_pid id, const char *s, int *out)
{
    int r = -1;
    switch (id) {
    case P_ACT:
    case P_OUT_ACT: {
        mlpc_act a;
        r = mlpc_act_parse(s, &a);
        *out = (int)a;
        if (!r && id == P_ACT && a == MLPC_ACT_SOFTMAX) r = -1;
        break;
    }
    case P_LOSS: {
        mlpc_loss l;
        r = mlpc_loss_parse(s, &l);
        *out = (int)l;
        break;
    }
    case P_INIT: {
        mlpc_init i;
        r = mlpc_init_parse(s, &i);
        *out = (int)i;
        break;
    }
    case P_OPT: {
        mlpc_opt o;
        r = mlpc_opt_parse(s, &o);
        *out = (int)o;
        break;
    }
    default: break;
    }
    return r;
}

static const char *enum_name(srch_pid id, int v)
{
    switch (id) {
    case P_ACT:
    case P_OUT_ACT: return mlpc_act_name((mlpc_act)v);
    case P_LOSS: return mlpc_loss_name((mlpc_loss)v);
    case P_INIT: return mlpc_init_name((mlpc_init)v);
    case P_OPT: return mlpc_opt_name((mlpc_opt)v);
    default: return "?";
    }
}

/* ---- parsing ------------------------------------------------------------- */

static int bad(mlpc_error *err, const srch_space *s, const char *fmt, ...) MLPC_PRINTF(3, 4);
static int bad(mlpc_error *err, const srch_space *s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: %s", s->path, msg);
    return -1;
}

static int get_int(const cJSON *j, long lo, long hi, long *out)
{
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d == floor(d)) || d < (double)lo || d > (double)hi) return -1;
    *out = (long)d;
    return 0;
}

static int copy_str(const cJSON *j, char *dst, size_t cap)
{
    if (!cJSON_IsString(j) || strlen(j->valuestring) >= cap) return -1;
    strcpy(dst, j->valuestring);
    return 0;
}

/* one value of parameter id from a JSON scalar */
static int param_value(srch_space *s, srch_pid id, const cJSON *j, double *out, mlpc_error *err)
{
    const char *nm = PDEF[id].name;
    if (PDEF[id].type == PT_ENUM) {
        int v;
        if (!cJSON_IsString(j) || enum_parse(id, j->valuestring, &v))
            return bad(err, s, "params.%s: unknown value %s%s%s", nm,
                       cJSON_IsString(j) ? "\"" : "", cJSON_IsString(j) ? j->valuestring : "(not a string)",
                       cJSON_IsString(j) ? "\"" : "");
        *out = v;
        return 0;
    }
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
        return bad(err, s, "params.%s: a number is needed", nm);
    double d = j->valuedouble;
    if (PDEF[id].type == PT_INT && d != floor(d))
        return bad(err, s, "params.%s: %g is not an integer", nm, d);
    if (d < PDEF[id].lo || d > PDEF[id].hi)
        return bad(err, s, "params.%s: %g is outside %g..%g", nm, d, PDEF[id].lo, PDEF[id].hi);
    *out = d;
    return 0;
}

static int parse_hidden_one(srch_space *s, const cJSON *a, int k, mlpc_error *err)
{
    int n = cJSON_GetArraySize(a);
    if (n < 1 || n > MLPC_MAX_LAYERS - 1)
        return bad(err, s, "params.hidden: a layer list needs 1..%d widths", MLPC_MAX_LAYERS - 1);
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        long w;
        if (get_int(e, 1, MLPC_MAX_WIDTH, &w))
            return bad(err, s, "params.hidden: widths must be integers 1..%d", MLPC_MAX_WIDTH);
        s->hidden[k][i] = (int)w;
    }
    s->n_hidden[k] = n;
    return 0;
}

static int parse_param(srch_space *s, srch_pid id, const cJSON *j, mlpc_error *err)
{
    srch_param *p = &s->p[id];
    const char *nm = PDEF[id].name;
    if (p->given) return bad(err, s, "params.%s: given twice", nm);
    p->given = 1;
    if (id == P_HIDDEN) {
        if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0)
            return bad(err, s, "params.hidden: a list of widths ([16,16]) or of lists ([[8],[8,8]]) is needed");
        if (!cJSON_IsArray(j->child)) { /* one fixed list */
            p->n = 1;
            return parse_hidden_one(s, j, 0, err);
        }
        int n = cJSON_GetArraySize(j);
        if (n > SRCH_MAX_VALUES) return bad(err, s, "params.hidden: more than %d lists", SRCH_MAX_VALUES);
        int k = 0;
        for (const cJSON *e = j->child; e; e = e->next, k++) {
            if (!cJSON_IsArray(e)) return bad(err, s, "params.hidden: every entry must be a list of widths");
            if (parse_hidden_one(s, e, k, err)) return -1;
            p->v[k] = k;
        }
        p->n = n;
        return 0;
    }
    if (cJSON_IsArray(j)) {
        int n = cJSON_GetArraySize(j);
        if (n == 0) return bad(err, s, "params.%s: empty list", nm);
        if (n > SRCH_MAX_VALUES) return bad(err, s, "params.%s: more than %d values", nm, SRCH_MAX_VALUES);
        int k = 0;
        for (const cJSON *e = j->child; e; e = e->next, k++)
            if (param_value(s, id, e, &p->v[k], err)) return -1;
        p->n = n;
        return 0;
    }
    if (cJSON_IsObject(j)) {
        if (PDEF[id].type == PT_ENUM) return bad(err, s, "params.%s: a range needs numbers; give a list of names", nm);
        const cJSON *mn = NULL, *mx = NULL, *st = NULL, *np = NULL, *lg = NULL;
        for (const cJSON *e = j->child; e; e = e->next) {
            if (!strcmp(e->string, "min")) mn = e;
            else if (!strcmp(e->string, "max")) mx = e;
            else if (!strcmp(e->string, "step")) st = e;
            else if (!strcmp(e->string, "n")) np = e;
            else if (!strcmp(e->string, "log")) lg = e;
            else return bad(err, s, "params.%s: unknown range key \"%s\" (min, max, step, n, log)", nm, e->string);
        }
        if (!mn || !mx) return bad(err, s, "params.%s: a range needs \"min\" and \"max\"", nm);
        if (param_value(s, id, mn, &p->min, err) || param_value(s, id, mx, &p->max, err)) return -1;
        if (p->min > p->max) return bad(err, s, "params.%s: min %g is above max %g", nm, p->min, p->max);
        if (lg) {
            if (!cJSON_IsBool(lg)) return bad(err, s, "params.%s: \"log\" must be true or false", nm);
            p->log = cJSON_IsTrue(lg);
            if (p->log && p->min <= 0) return bad(err, s, "params.%s: a log range needs min > 0", nm);
        }
        if (st) {
            if (!cJSON_IsNumber(st) || !(st->valuedouble > 0) || !isfinite(st->valuedouble))
                return bad(err, s, "params.%s: \"step\" must be a positive number", nm);
            p->step = st->valuedouble;
            if (PDEF[id].type == PT_INT && p->step != floor(p->step))
                return bad(err, s, "params.%s: \"step\" must be an integer", nm);
            if (p->log) return bad(err, s, "params.%s: give \"step\" or \"log\", not both", nm);
        } else if (PDEF[id].type == PT_INT && !p->log) {
            p->step = 1;
        }
        if (np) {
            long n;
            if (get_int(np, 2, 100000, &n)) return bad(err, s, "params.%s: \"n\" must be an integer 2..100000", nm);
            if (PDEF[id].type != PT_FLOAT || st)
                return bad(err, s, "params.%s: \"n\" (grid points) is for float ranges without \"step\"", nm);
            p->npts = (int)n;
        }
        p->range = 1;
        return 0;
    }
    p->n = 1;
    return param_value(s, id, j, &p->v[0], err);
}

static int parse_pruner(srch_space *s, const cJSON *j, mlpc_error *err)
{
    if (cJSON_IsString(j)) {
        if (!strcmp(j->valuestring, "none")) return 0;
        if (!strcmp(j->valuestring, "asha")) {
            s->asha = 1;
            return 0;
        }
        return bad(err, s, "pruner: unknown \"%s\" (none or asha)", j->valuestring);
    }
    if (!cJSON_IsObject(j)) return bad(err, s, "pruner: \"none\", \"asha\" or {\"type\":\"asha\",\"min_epochs\":N,\"eta\":N}");
    for (const cJSON *e = j->child; e; e = e->next) {
        long v;
        if (!strcmp(e->string, "type")) {
            if (!cJSON_IsString(e) || (strcmp(e->valuestring, "asha") && strcmp(e->valuestring, "none")))
                return bad(err, s, "pruner.type: \"asha\" or \"none\"");
            s->asha = !strcmp(e->valuestring, "asha");
        } else if (!strcmp(e->string, "min_epochs")) {
            if (get_int(e, 1, 100000000, &v)) return bad(err, s, "pruner.min_epochs: an integer >= 1");
            s->min_epochs = (int)v;
        } else if (!strcmp(e->string, "eta")) {
            if (get_int(e, 2, 100, &v)) return bad(err, s, "pruner.eta: an integer 2..100");
            s->eta = (int)v;
        } else {
            return bad(err, s, "pruner: unknown key \"%s\" (type, min_epochs, eta)", e->string);
        }
    }
    return 0;
}

int srch_space_check(const srch_space *s, mlpc_error *err)
{
    if (s->grid) {
        for (int i = 0; i < P_COUNT; i++) {
            const srch_param *p = &s->p[i];
            if (p->range && PDEF[i].type == PT_FLOAT && !p->step && !p->npts) return bad(err, s, "params.%s: the grid sampler needs \"step\" or \"n\" for a float range", PDEF[i].name);
            if (p->range && PDEF[i].type == PT_INT && p->log) return bad(err, s, "params.%s: the grid sampler needs \"step\" for an integer range, not \"log\"", PDEF[i].name);
        }
        uint64_t g = srch_grid_size(s);
        if (g == 0 || g > 10000000) return bad(err, s, "the grid has more than 10000000 points; use \"sampler\": \"random\"");
    } else if (s->trials == 0) {
        return bad(err, s, "trials: the random sampler needs a trial count (\"trials\" or --trials)");
    }
    return 0;
}

/* the "params" object: each parameter by its definition in PDEF, then the
 * layers given one way */
static int parse_params(srch_space *s, const cJSON *params, mlpc_error *err)
{
    for (const cJSON *e = params->child; e; e = e->next) {
        int id = -1;
        for (int i = 0; i < P_COUNT; i++)
            if (!strcmp(e->string, PDEF[i].name)) id = i;
        if (id < 0) {
            if (!strcmp(e->string, "norm")) { bad(err, s, "params.norm: norm is one value for the study (top-level \"norm\"): the data is normalized once and shared"); return -1; }
            bad(err, s, "params: unknown parameter \"%s\" (hidden, depth, width, act, out_act, loss, init, opt, lr, momentum, batch, epochs, l2, threads)", e->string);
            return -1;
        }
        if (parse_param(s, (srch_pid)id, e, err)) return -1;
    }
    if (s->p[P_HIDDEN].given && (s->p[P_DEPTH].given || s->p[P_WIDTH].given)) { bad(err, s, "params: give \"hidden\" or \"depth\" and \"width\", not both"); return -1; }
    if (!s->p[P_HIDDEN].given && !(s->p[P_DEPTH].given && s->p[P_WIDTH].given)) { bad(err, s, "params: the layers are missing: give \"hidden\" (e.g. [[8],[8,8]]) or \"depth\" and \"width\""); return -1; }
    return 0;
}

int srch_space_parse(srch_space *s, const char *path, const char *text, mlpc_error *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->norm = MLPC_NORM_SCALE;
    s->grid = 1;
    s->seed = 1;
    s->metric = -1;
    s->maximize = -1;
    s->min_epochs = 1;
    s->eta = 3;
    s->n_targets = 1;
    {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        snprintf(s->study, sizeof s->study, "%s", b);
        char *dot = strrchr(s->study, '.');
        if (dot && dot != s->study) *dot = '\0';
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1, col = 1;
        if (at && at >= text && at <= text + strlen(text))
            for (const char *q = text; q < at; q++) {
                if (*q == '\n') line++, col = 1;
                else col++;
            }
        return bad(err, s, "invalid JSON at line %d, column %d", line, col);
    }
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        bad(err, s, "the top level must be a JSON object");
        goto done;
    }
    const cJSON *params = NULL;
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *k = e->string;
        long v;
        if (!strcmp(k, "study")) {
            if (copy_str(e, s->study, sizeof s->study) || !s->study[0]) { bad(err, s, "study: a non-empty name of at most 127 characters"); goto done; }
        } else if (!strcmp(k, "data")) {
            if (copy_str(e, s->data, sizeof s->data) ||
                (strcmp(s->data, "lorenz") && strcmp(s->data, "mnist") && strcmp(s->data, "fashion-mnist"))) {
                bad(err, s, "data: a built-in set: lorenz, mnist or fashion-mnist (or give \"train\": FILE)");
                goto done;
            }
        } else if (!strcmp(k, "train") || !strcmp(k, "train_labels")) {
            char *dst = !strcmp(k, "train") ? s->train : s->train_labels;
            if (copy_str(e, dst, sizeof s->train) || !dst[0]) { bad(err, s, "%s: a file name", k); goto done; }
        } else if (!strcmp(k, "val_split")) {
            if (cJSON_IsNumber(e) && e->valuedouble >= 0 && isfinite(e->valuedouble)) {
                if (e->valuedouble == floor(e->valuedouble))
                    snprintf(s->val_split, sizeof s->val_split, "%.0f", e->valuedouble);
                else if (e->valuedouble < 1)
                    snprintf(s->val_split, sizeof s->val_split, "%.9g", e->valuedouble);
                else { bad(err, s, "val_split: rows (an integer) or a fraction 0..1"); goto done; }
            } else { bad(err, s, "val_split: rows (an integer) or a fraction 0..1"); goto done; }
        } else if (!strcmp(k, "task")) {
            if (copy_str(e, s->task, sizeof s->task) || (strcmp(s->task, "classify") && strcmp(s->task, "regress"))) { bad(err, s, "task: classify or regress"); goto done; }
        } else if (!strcmp(k, "label_col")) {
            if (cJSON_IsNumber(e) && !get_int(e, 0, 1000000, &v)) snprintf(s->label_col, sizeof s->label_col, "%ld", v);
            else if (copy_str(e, s->label_col, sizeof s->label_col) || !s->label_col[0]) { bad(err, s, "label_col: a column name or 0-based index"); goto done; }
        } else if (!strcmp(k, "n_targets")) {
            if (get_int(e, 1, MLPC_MAX_WIDTH, &v)) { bad(err, s, "n_targets: an integer >= 1"); goto done; }
            s->n_targets = (int)v;
        } else if (!strcmp(k, "header")) {
            if (copy_str(e, s->header, sizeof s->header) || (strcmp(s->header, "auto") && strcmp(s->header, "yes") && strcmp(s->header, "no"))) { bad(err, s, "header: auto, yes or no"); goto done; }
        } else if (!strcmp(k, "norm")) {
            if (!cJSON_IsString(e) || mlpc_norm_parse(e->valuestring, &s->norm)) { bad(err, s, "norm: none, scale or standard (one value: the data is normalized once and shared)"); goto done; }
        } else if (!strcmp(k, "sampler")) {
            if (!cJSON_IsString(e) || (strcmp(e->valuestring, "grid") && strcmp(e->valuestring, "random"))) { bad(err, s, "sampler: grid or random"); goto done; }
            s->grid = !strcmp(e->valuestring, "grid");
        } else if (!strcmp(k, "trials")) {
            if (get_int(e, 0, 10000000, &v)) { bad(err, s, "trials: an integer 0..10000000 (0: the whole grid)"); goto done; }
            s->trials = (int)v;
        } else if (!strcmp(k, "seed")) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble != floor(e->valuedouble) || e->valuedouble > 9007199254740991.0) { bad(err, s, "seed: an integer 0..2^53-1"); goto done; }
            s->seed = (uint64_t)e->valuedouble;
        } else if (!strcmp(k, "metric")) {
            if (!cJSON_IsString(e) || (s->metric = srch_metric_parse(e->valuestring)) < 0) { bad(err, s, "metric: val_loss, val_acc, val_mse, loss, acc or mse"); goto done; }
        } else if (!strcmp(k, "direction")) {
            if (!cJSON_IsString(e)) { bad(err, s, "direction: minimize or maximize"); goto done; }
            if (!strcmp(e->valuestring, "minimize") || !strcmp(e->valuestring, "min")) s->maximize = 0;
            else if (!strcmp(e->valuestring, "maximize") || !strcmp(e->valuestring, "max")) s->maximize = 1;
            else { bad(err, s, "direction: minimize or maximize"); goto done; }
        } else if (!strcmp(k, "pruner")) {
            if (parse_pruner(s, e, err)) goto done;
        } else if (!strcmp(k, "params")) {
            if (!cJSON_IsObject(e)) { bad(err, s, "params: an object of parameter: value, list or range"); goto done; }
            params = e;
        } else if (!strcmp(k, "comment") || k[0] == '_') {
            /* free text */
        } else {
            bad(err, s, "unknown key \"%s\" (see docs/search.md)", k);
            goto done;
        }
    }
    if (!s->data[0] && !s->train[0]) { bad(err, s, "no data: give \"data\": \"lorenz\" (or mnist, fashion-mnist) or \"train\": FILE"); goto done; }
    if (s->data[0] && s->train[0]) { bad(err, s, "give \"data\" or \"train\", not both"); goto done; }
    if (s->data[0] && (s->train_labels[0] || s->task[0] || s->label_col[0] || s->header[0])) { bad(err, s, "train_labels, task, label_col and header are for \"train\" files, not \"data\""); goto done; }
    if (!strcmp(s->data, "lorenz") && s->val_split[0] && strcmp(s->val_split, "0")) { bad(err, s, "val_split: lorenz has its own validation rows (900-1799)"); goto done; }
    if (!params) { bad(err, s, "no \"params\" object"); goto done; }
    if (parse_params(s, params, err)) goto done;
    if (srch_space_check(s, err)) goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

int srch_space_resolve(srch_space *s, int has_val, int regress, mlpc_error *err)
{
    if (s->metric < 0) s->metric = has_val ? SM_VAL_LOSS : SM_LOSS;
    int m = s->metric;
    if (!has_val && m <= SM_VAL_MSE)
        return bad(err, s, "metric %s: needs a validation set (\"val_split\")", METRICS[m]);
    if (regress && (m == SM_VAL_ACC || m == SM_ACC))
        return bad(err, s, "metric %s: accuracy is not defined for regression", METRICS[m]);
    if (!regress && (m == SM_VAL_MSE || m == SM_MSE))
        return bad(err, s, "metric %s: mse is for regression; use %s", METRICS[m], m == SM_MSE ? "loss" : "val_loss");
    if (s->maximize < 0) s->maximize = m == SM_VAL_ACC || m == SM_ACC;
    /* output activation and loss: every pair the space can draw must work
     * (the rule of mlpc train, docs/cli.md); ranges are not allowed for enums */
    {
        const srch_param *pa = &s->p[P_OUT_ACT], *pl = &s->p[P_LOSS];
        int na = pa->given ? pa->n : 1, nl = pl->given ? pl->n : 1;
        for (int i = 0; i < na; i++) {
            mlpc_task task = regress ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
            for (int j = 0; j < nl; j++) {
                int out = mlpc_task_resolve_out(task, pa->given ? (int)pa->v[i] : -1, pl->given ? (int)pl->v[j] : -1);
                int loss = pl->given ? (int)pl->v[j] : (int)mlpc_task_loss(task, (mlpc_act)out);
                const char *why = mlpc_task_check(task, (mlpc_act)out, (mlpc_loss)loss);
                if (why)
                    return bad(err, s, "out_act %s with loss %s: %s (see the table in docs/cli.md)",
                               mlpc_act_name((mlpc_act)out), mlpc_loss_name((mlpc_loss)loss), why);
            }
        }
    }
    /* momentum applies to sgd only: some trial must use sgd */
    if (s->p[P_MOMENTUM].given) {
        const srch_param *po = &s->p[P_OPT];
        int sgd = !po->given;
        for (int i = 0; po->given && i < po->n; i++) sgd |= (int)po->v[i] == MLPC_OPT_SGD;
        if (!sgd) return bad(err, s, "momentum: applies only to opt sgd, which the space's opt does not include");
    }
    if (s->grid) {
        uint64_t g = srch_grid_size(s);
        if (s->trials == 0) s->trials = (int)g;
        if ((uint64_t)s->trials > g) /* more would run grid points again */
            return bad(err, s, "trials %d: the grid has only %llu points (0: the whole grid)", s->trials,
                       (unsigned long long)g);
    }
    if (s->trials < 1) return bad(err, s, "trials: at least 1");
    return 0;
}

/* ---- sampling ------------------------------------------------------------- */

/* choices of a parameter on the grid */
static uint64_t choices(const srch_param *p, srch_ptype t)
{
    if (!p->given) return 1;
    if (!p->range) return (uint64_t)p->n;
    if (t == PT_FLOAT && p->npts) return (uint64_t)p->npts;
    if (!p->step) return 0;
    return (uint64_t)floor((p->max - p->min) / p->step + 1e-9) + 1;
}

uint64_t srch_grid_size(const srch_space *s)
{
    if (!s->grid) return 0;
    uint64_t g = 1;
    for (int i = 0; i < P_COUNT; i++) {
        uint64_t c = choices(&s->p[i], PDEF[i].type);
        if (c == 0 || g > 1000000000ULL / c) return 0;
        g *= c;
    }
    return g;
}

/* value number k of a parameter on the grid */
static double grid_value(const srch_param *p, srch_ptype t, uint64_t k)
{
    if (!p->range) return p->v[k];
    if (t == PT_FLOAT && p->npts) {
        double f = (double)k / (double)(p->npts - 1);
        return p->log ? exp(log(p->min) + f * (log(p->max) - log(p->min))) : p->min + f * (p->max - p->min);
    }
    return p->min + (double)k * p->step;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t srch_trial_seed(uint64_t study_seed, int number)
{
    /* 53 bits: exact in JSON, SQLite and double */
    return mix64(study_seed * 0x9E3779B97F4A7C15ULL + (uint64_t)number + 1) & ((1ULL << 53) - 1);
}

/* a seeded bijection of [0, n): a 4-round Feistel network over the next even
 * power of two, cycle-walking values >= n */
static uint64_t permute(uint64_t i, uint64_t n, uint64_t seed)
{
    int bits = 2;
    while (bits < 62 && (1ULL << bits) < n) bits += 2;
    int h = bits / 2;
    uint64_t mask = (1ULL << h) - 1;
    do {
        uint64_t l = i >> h, r = i & mask;
        for (int round = 0; round < 4; round++) {
            uint64_t f = mix64(r ^ (seed + (uint64_t)round * 0x632BE59BD9B4E019ULL)) & mask;
            uint64_t t = l ^ f;
            l = r;
            r = t;
        }
        i = (l << h) | r;
    } while (i >= n);
    return i;
}

static double random_value(const srch_param *p, srch_ptype t, mlpc_rng *r)
{
    double u = mlpc_rng_uniform(r);
    if (!p->range) {
        int k = (int)(u * p->n);
        return p->v[k < p->n ? k : p->n - 1];
    }
    if (p->log) {
        double lo = log(p->min), hi = log(t == PT_INT ? p->max + 1 : p->max);
        double v = exp(lo + u * (hi - lo));
        if (t == PT_INT) {
            v = floor(v);
            if (v > p->max) v = p->max;
            if (v < p->min) v = p->min;
        }
        return v;
    }
    if (p->step) {
        uint64_t c = (uint64_t)floor((p->max - p->min) / p->step + 1e-9) + 1;
        uint64_t k = (uint64_t)(u * (double)c);
        if (k >= c) k = c - 1;
        return p->min + (double)k * p->step;
    }
    if (t == PT_FLOAT && p->npts) {
        int k = (int)(u * p->npts);
        if (k >= p->npts) k = p->npts - 1;
        return grid_value(p, t, (uint64_t)k);
    }
    return p->min + u * (p->max - p->min);
}

int srch_sample(const srch_space *s, int number, srch_point *pt, mlpc_error *err)
{
    memset(pt, 0, sizeof *pt);
    if (number < 0 || number >= s->trials) {
        mlpc_seterr(err, MLPC_ERR_ARG, "trial %d is outside 0..%d", number, s->trials - 1);
        return -1;
    }
    if (s->grid) {
        uint64_t g = srch_grid_size(s);
        uint64_t k = (uint64_t)s->trials >= g ? (uint64_t)number : permute((uint64_t)number, g, s->seed);
        for (int i = P_COUNT - 1; i >= 0; i--) { /* the last parameter varies fastest */
            uint64_t c = choices(&s->p[i], PDEF[i].type);
            if (!s->p[i].given) continue;
            pt->v[i] = grid_value(&s->p[i], PDEF[i].type, k % c);
            k /= c;
        }
        return 0;
    }
    mlpc_rng r;
    mlpc_rng_seed(&r, mix64(s->seed ^ 0x5EA4C4ULL) + (uint64_t)number * 0x9E3779B97F4A7C15ULL);
    for (int i = 0; i < P_COUNT; i++) /* one draw per parameter, in a fixed order */
        pt->v[i] = s->p[i].given ? random_value(&s->p[i], PDEF[i].type, &r) : (mlpc_rng_uniform(&r), 0.0);
    return 0;
}

void srch_threads_range(const srch_space *s, int *lo, int *hi)
{
    const srch_param *p = &s->p[P_THREADS];
    if (!p->given) {
        *lo = *hi = 1;
    } else if (p->range) {
        *lo = (int)p->min;
        *hi = (int)p->max;
    } else {
        *lo = *hi = (int)p->v[0];
        for (int i = 1; i < p->n; i++) {
            if (p->v[i] < *lo) *lo = (int)p->v[i];
            if (p->v[i] > *hi) *hi = (int)p->v[i];
        }
    }
}

/* ---- a point as a config --------------------------------------------------- */

int srch_point_config(const srch_space *s, const srch_point *pt, int number, size_t n_in,
                      size_t n_out, int regress, mlpc_config *cfg, mlpc_error *err)
{
    mlpc_config_default(cfg);
    const srch_param *p = s->p;
    int hid[MLPC_MAX_LAYERS], nh;
    if (p[P_HIDDEN].given) {
        int k = (int)pt->v[P_HIDDEN];
        nh = s->n_hidden[k];
        memcpy(hid, s->hidden[k], sizeof(int) * (size_t)nh);
    } else {
        nh = (int)pt->v[P_DEPTH];
        for (int i = 0; i < nh; i++) hid[i] = (int)pt->v[P_WIDTH];
    }
    cfg->n_layers = nh + 1;
    cfg->sizes[0] = (int)n_in;
    for (int i = 0; i < nh; i++) cfg->sizes[i + 1] = hid[i];
    cfg->sizes[nh + 1] = (int)n_out;
    mlpc_act act = p[P_ACT].given ? (mlpc_act)(int)pt->v[P_ACT] : MLPC_ACT_SIGMOID;
    mlpc_task task = regress ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    mlpc_act out = mlpc_task_resolve_out(task, p[P_OUT_ACT].given ? (int)pt->v[P_OUT_ACT] : -1,
                                         p[P_LOSS].given ? (int)pt->v[P_LOSS] : -1);
    for (int l = 0; l < cfg->n_layers; l++) cfg->act[l] = l + 1 == cfg->n_layers ? out : act;
    cfg->loss = p[P_LOSS].given ? (mlpc_loss)(int)pt->v[P_LOSS] : mlpc_task_loss(task, out);
    if (p[P_INIT].given) cfg->init = (mlpc_init)(int)pt->v[P_INIT];
    cfg->norm = s->norm;
    cfg->opt = p[P_OPT].given ? (mlpc_opt)(int)pt->v[P_OPT] : MLPC_OPT_SGD;
    cfg->lr = p[P_LR].given ? (float)pt->v[P_LR] : cfg->opt == MLPC_OPT_SGD ? 0.01f : 0.001f;
    if (p[P_MOMENTUM].given) cfg->momentum = (float)pt->v[P_MOMENTUM];
    if (p[P_BATCH].given) cfg->batch = (int)pt->v[P_BATCH];
    if (p[P_EPOCHS].given) cfg->epochs = (int)pt->v[P_EPOCHS];
    if (p[P_L2].given) cfg->l2 = (float)pt->v[P_L2];
    cfg->threads = p[P_THREADS].given ? (int)pt->v[P_THREADS] : 1;
    cfg->seed = srch_trial_seed(s->seed, number);
    cfg->es_patience = 0;
    if (mlpc_config_validate(cfg, err) != MLPC_OK) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: trial %d: %s", s->path, number, m);
        return -1;
    }
    return 0;
}

/* the shortest decimal text that reads back as the same float */
static void float_text(float f, char *buf, size_t cap)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)f);
        if ((float)strtod(buf, NULL) == f) return;
    }
}

static int layers_text(const mlpc_config *cfg, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i <= cfg->n_layers && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "-" : "", cfg->sizes[i]);
    return n < cap ? 0 : -1;
}

int srch_params_json(const srch_space *s, const mlpc_config *cfg, char *buf, size_t cap)
{
    (void)s;
    char lay[MLPC_MAX_LAYERS * 9], lr[32], mo[32], l2[32];
    layers_text(cfg, lay, sizeof lay);
    float_text(cfg->lr, lr, sizeof lr);
    float_text(cfg->momentum, mo, sizeof mo);
    float_text(cfg->l2, l2, sizeof l2);
    int n = snprintf(buf, cap,
                     "{\"layers\":\"%s\",\"act\":\"%s\",\"out_act\":\"%s\",\"loss\":\"%s\",\"init\":\"%s\","
                     "\"opt\":\"%s\",\"lr\":%s,\"momentum\":%s,\"batch\":%d,\"epochs\":%d,\"l2\":%s,"
                     "\"threads\":%d,\"norm\":\"%s\"}",
                     lay, mlpc_act_name(cfg->act[0]), mlpc_act_name(cfg->act[cfg->n_layers - 1]),
                     mlpc_loss_name(cfg->loss), mlpc_init_name(cfg->init), mlpc_opt_name(cfg->opt),
                     lr, mo, cfg->batch, cfg->epochs, l2,
                     cfg->threads, mlpc_norm_name(cfg->norm));
    return n > 0 && (size_t)n < cap ? n : -1;
}

/* appends ' ARG' shell-quoted when needed */
static void arg(char *buf, size_t cap, size_t *n, const char *a)
{
    int plain = *a != '\0';
    for (const char *q = a; *q; q++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:+,", *q)) plain = 0;
    if (*n >= cap) return;
    if (plain) {
        *n += (size_t)snprintf(buf + *n, cap - *n, " %s", a);
        return;
    }
    *n += (size_t)snprintf(buf + *n, cap - *n, " '");
    for (const char *q = a; *q && *n < cap; q++)
        *n += (size_t)(*q == '\'' ? snprintf(buf + *n, cap - *n, "'\\''") : snprintf(buf + *n, cap - *n, "%c", *q));
    if (*n < cap) *n += (size_t)snprintf(buf + *n, cap - *n, "'");
}

int srch_train_command(const srch_space *s, const mlpc_config *cfg, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "mlpc train");
    char v[MLPC_MAX_LAYERS * 9];
    if (s->data[0]) {
        arg(buf, cap, &n, "--data");
        arg(buf, cap, &n, s->data);
    } else {
        arg(buf, cap, &n, "--train");
        arg(buf, cap, &n, s->train);
        if (s->train_labels[0]) {
            arg(buf, cap, &n, "--train-labels");
            arg(buf, cap, &n, s->train_labels);
        }
        const char *fl[] = {"--task", s->task, "--label-col", s->label_col, "--header", s->header};
        for (int i = 0; i < 6; i += 2)
            if (fl[i + 1][0]) {
                arg(buf, cap, &n, fl[i]);
                arg(buf, cap, &n, fl[i + 1]);
            }
        if (s->n_targets != 1) {
            snprintf(v, sizeof v, "%d", s->n_targets);
            arg(buf, cap, &n, "--n-targets");
            arg(buf, cap, &n, v);
        }
    }
    if (s->val_split[0] && strcmp(s->val_split, "0")) {
        arg(buf, cap, &n, "--val-split");
        arg(buf, cap, &n, s->val_split);
        snprintf(v, sizeof v, "%llu", (unsigned long long)s->seed);
        arg(buf, cap, &n, "--split-seed");
        arg(buf, cap, &n, v);
    }
    layers_text(cfg, v, sizeof v);
    arg(buf, cap, &n, "--layers");
    arg(buf, cap, &n, v);
    const char *pairs[] = {"--act", mlpc_act_name(cfg->act[0]), "--out-act", mlpc_act_name(cfg->act[cfg->n_layers - 1]),
                           "--loss", mlpc_loss_name(cfg->loss), "--init", mlpc_init_name(cfg->init),
                           "--norm", mlpc_norm_name(cfg->norm), "--opt", mlpc_opt_name(cfg->opt)};
    for (int i = 0; i < 12; i += 2) {
        arg(buf, cap, &n, pairs[i]);
        arg(buf, cap, &n, pairs[i + 1]);
    }
    char f[32];
    float_text(cfg->lr, f, sizeof f);
    arg(buf, cap, &n, "--lr");
    arg(buf, cap, &n, f);
    if (cfg->momentum != 0.0f) {
        float_text(cfg->momentum, f, sizeof f);
        arg(buf, cap, &n, "--momentum");
        arg(buf, cap, &n, f);
    }
    if (cfg->l2 != 0.0f) {
        float_text(cfg->l2, f, sizeof f);
        arg(buf, cap, &n, "--l2");
        arg(buf, cap, &n, f);
    }
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " --batch %d --epochs %d --seed %llu --threads %d", cfg->batch,
                              cfg->epochs, (unsigned long long)cfg->seed, cfg->threads);
    return n < cap ? (int)n : -1;
}

int srch_space_canon(const srch_space *s, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap,
                                "data=%s train=%s train_labels=%s val_split=%s task=%s label_col=%s header=%s "
                                "n_targets=%d norm=%s sampler=%s trials=%d seed=%llu metric=%s direction=%s pruner=%s/%d/%d",
                                s->data, s->train, s->train_labels, s->val_split, s->task, s->label_col, s->header,
                                s->n_targets, mlpc_norm_name(s->norm), s->grid ? "grid" : "random", s->trials,
                                (unsigned long long)s->seed, srch_metric_name(s->metric),
                                s->maximize ? "max" : "min", s->asha ? "asha" : "none", s->min_epochs, s->eta);
    for (int i = 0; i < P_COUNT && n < cap; i++) {
        const srch_param *p = &s->p[i];
        if (!p->given) continue;
        n += (size_t)snprintf(buf + n, cap - n, " %s=", PDEF[i].name);
        if (i == P_HIDDEN) {
            for (int k = 0; k < p->n && n < cap; k++)
                for (int j = 0; j < s->n_hidden[k] && n < cap; j++)
                    n += (size_t)snprintf(buf + n, cap - n, "%s%d", j ? "-" : k ? "," : "", s->hidden[k][j]);
        } else if (p->range) {
            n += (size_t)snprintf(buf + n, cap - n, "[%.17g,%.17g,step %.17g,n %d,log %d]", p->min, p->max, p->step, p->npts, p->log);
        } else {
            for (int k = 0; k < p->n && n < cap; k++) {
                if (PDEF[i].type == PT_ENUM)
                    n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? "," : "", enum_name((srch_pid)i, (int)p->v[k]));
                else
                    n += (size_t)snprintf(buf + n, cap - n, "%s%.17g", k ? "," : "", p->v[k]);
            }
        }
    }
    return n < cap ? (int)n : -1;
}

/* ---- cost and memory estimates ------------------------------------------- */

double srch_cost(const mlpc_config *cfg, size_t rows)
{
    double macs = 0, width = 0;
    for (int l = 0; l < cfg->n_layers; l++) {
        macs += (double)cfg->sizes[l] * cfg->sizes[l + 1];
        width += cfg->sizes[l + 1];
    }
    double batches = ceil((double)rows / cfg->batch);
    /* 3 GEMMs per layer per row, plus per-element and per-batch overheads */
    return (double)cfg->epochs * ((double)rows * (3.0 * macs + 8.0 * width) + batches * 400.0 * cfg->n_layers);
}

size_t srch_model_bytes(const mlpc_config *cfg, size_t rows)
{
    size_t params = 0, acts = 0;
    int b = cfg->batch > 1024 ? cfg->batch : 1024;
    for (int l = 0; l < cfg->n_layers; l++) params += (size_t)cfg->sizes[l] * cfg->sizes[l + 1] + (size_t)cfg->sizes[l + 1];
    for (int l = 0; l <= cfg->n_layers; l++) acts += (size_t)cfg->sizes[l];
    /* params, grads, m, v, saved, best; activations and deltas; row index */
    return 6 * params * sizeof(float) + 2 * acts * (size_t)b * sizeof(float) + rows * sizeof(uint32_t);
}
