/* cmd_info.c - `mlpc info MODEL`: what a model file holds. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static cli_flag info_flags[] = {
    CLI_FLAG("json", NULL, NULL, "print everything as one JSON object", "Output"),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Shows a model file's layers (widths, activations, parameter counts), loss,\n"
    "input normalization, total parameters, and the training settings and final\n"
    "metrics stored with it by mlpc train.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 4 internal error.";

/* Prints JSON text pretty, indented by two spaces per level and `indent` on
 * every line after the first; raw text when it does not parse. */
static void print_pretty(const char *json, int indent)
{
    cJSON *j = cJSON_Parse(json);
    char *s = j ? cJSON_Print(j) : NULL;
    const char *p = s ? s : json;
    for (const char *start = p; *p; p++) {
        if (*p == '\t') {
            /* cJSON indents with tabs and writes "key":<tab>value */
            fputs(p > start && p[-1] == ':' ? " " : "  ", stdout);
        } else {
            putchar(*p);
            if (*p == '\n') printf("%*s", indent, "");
        }
    }
    putchar('\n');
    if (s) cJSON_free(s);
    cJSON_Delete(j);
}

static cJSON *meta_item(const char *json)
{
    if (!json) return cJSON_CreateNull();
    cJSON *j = cJSON_Parse(json);
    return j ? j : cJSON_CreateString(json);
}

/* classes, target statistics and imputation means (null when absent) into o */
static void data_json(cJSON *o, const mlpc_net *net)
{
    int n = mlpc_net_class_names(net);
    cJSON *cl = n ? cJSON_CreateArray() : cJSON_CreateNull();
    for (int k = 0; k < n && cl; k++) cJSON_AddItemToArray(cl, cJSON_CreateString(mlpc_net_class_name(net, k)));
    cJSON_AddItemToObject(o, "classes", cl);
    const float *mean, *sd;
    int t = mlpc_net_target_stats(net, &mean, &sd);
    cJSON *tn = t ? cJSON_CreateObject() : cJSON_CreateNull();
    if (t && tn) {
        cJSON *m = cJSON_CreateArray(), *s = cJSON_CreateArray();
        for (int j = 0; j < t; j++) {
            cJSON_AddItemToArray(m, cJSON_CreateNumber(mean[j]));
            cJSON_AddItemToArray(s, cJSON_CreateNumber(sd[j]));
        }
        cJSON_AddStringToObject(tn, "mode", "standard");
        cJSON_AddItemToObject(tn, "mean", m);
        cJSON_AddItemToObject(tn, "std", s);
    }
    cJSON_AddItemToObject(o, "target_norm", tn);
    cJSON_AddBoolToObject(o, "missing_means", mlpc_net_imputation(net) != NULL);
}

static void data_text(const mlpc_net *net)
{
    int n = mlpc_net_class_names(net);
    if (n) {
        printf("classes  %d:", n);
        for (int k = 0; k < n; k++) printf("%s %s", k ? "," : "", mlpc_net_class_name(net, k));
        printf("\n");
    }
    const float *mean, *sd;
    int t = mlpc_net_target_stats(net, &mean, &sd);
    if (t) {
        printf("targets  standardized (mean, std):");
        for (int j = 0; j < t && j < 8; j++) printf("%s %.6g, %.6g", j ? ";" : "", (double)mean[j], (double)sd[j]);
        printf("%s\n", t > 8 ? "; ..." : "");
    }
    if (mlpc_net_imputation(net)) printf("missing  features filled with the training means\n");
}

static size_t layer_params(const mlpc_net *net, int l)
{
    return (size_t)mlpc_net_size(net, l) * (size_t)mlpc_net_size(net, l + 1) +
           (size_t)mlpc_net_size(net, l + 1);
}

/* --json: one object; NULL when out of memory. malloc'ed (cJSON_free). */
static char *info_json(const mlpc_net *net, const char *model, const char *spec)
{
    int L = mlpc_net_layers(net);
    cJSON *o = cJSON_CreateObject();
    cJSON *layers = cJSON_CreateArray();
    int ok = o && layers;
    for (int l = 0; ok && l < L; l++) {
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(layers, e);
        if (!ok) {
            cJSON_Delete(e);
            break;
        }
        cJSON_AddNumberToObject(e, "in", mlpc_net_size(net, l));
        cJSON_AddNumberToObject(e, "out", mlpc_net_size(net, l + 1));
        cJSON_AddStringToObject(e, "act", mlpc_act_name(mlpc_net_act(net, l)));
        cJSON_AddNumberToObject(e, "params", (double)layer_params(net, l));
    }
    if (ok) {
        cJSON_AddStringToObject(o, "file", model);
        cJSON_AddStringToObject(o, "layers_spec", spec);
        cJSON_AddNumberToObject(o, "inputs", mlpc_net_size(net, 0));
        cJSON_AddNumberToObject(o, "outputs", mlpc_net_size(net, L));
        cJSON_AddItemToObject(o, "layers", layers);
        layers = NULL;
        cJSON_AddStringToObject(o, "loss", mlpc_loss_name(mlpc_net_loss(net)));
        cJSON_AddStringToObject(o, "norm", mlpc_norm_name(mlpc_net_norm_mode(net)));
        cJSON_AddNumberToObject(o, "params", (double)mlpc_net_param_count(net));
        cJSON_AddStringToObject(o, "task", cli_model_classifies(net) ? "classify" : "regress");
        data_json(o, net);
        cJSON_AddItemToObject(o, "config", meta_item(mlpc_net_meta(net, "config")));
        cJSON_AddItemToObject(o, "metrics", meta_item(mlpc_net_meta(net, "metrics")));
    }
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(layers);
    cJSON_Delete(o);
    return s;
}

static void info_text(const mlpc_net *net, const char *model, const char *spec)
{
    int L = mlpc_net_layers(net);
    size_t total = mlpc_net_param_count(net);
    const char *cfg = mlpc_net_meta(net, "config"), *met = mlpc_net_meta(net, "metrics");
    printf("model    %s\n", model);
    printf("layers   %s (%d weight layer%s)\n", spec, L, L == 1 ? "" : "s");
    printf("  layer      in     out  act          params\n");
    for (int l = 0; l < L; l++)
        printf("  %5d %7d %7d  %-10s %8zu\n", l + 1, mlpc_net_size(net, l),
               mlpc_net_size(net, l + 1), mlpc_act_name(mlpc_net_act(net, l)),
               layer_params(net, l));
    printf("loss     %s\n", mlpc_loss_name(mlpc_net_loss(net)));
    printf("norm     %s\n", mlpc_norm_name(mlpc_net_norm_mode(net)));
    printf("task     %s\n", cli_model_classifies(net) ? "classify" : "regress");
    data_text(net);
    printf("params   %zu (%.1f KiB as float32)\n", total, (double)total * 4.0 / 1024.0);
    printf("config   ");
    if (cfg)
        print_pretty(cfg, 0);
    else
        printf("(none)\n");
    printf("metrics  ");
    if (met)
        print_pretty(met, 0);
    else
        printf("(none)\n");
}

/* Loads MODEL and prints it. */
static int info_run(cli_cmd *c, mlpc_net **net)
{
    int rc;
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (c->n_pos != 1) {
        cli_error(c, "missing MODEL (usage: %s)", c->usage);
        return CLI_EXIT_USAGE;
    }
    const char *model = c->pos[0];
    if ((rc = cli_check_input(c, NULL, model))) return rc;
    *net = mlpc_net_load(model, &err);
    if (!*net) return cli_lib_error(c, model, err.code, err.msg);
    int L = mlpc_net_layers(*net);
    char spec[64 * (MLPC_MAX_LAYERS + 1)];
    size_t used = 0;
    spec[0] = '\0';
    for (int i = 0; i <= L; i++) {
        int n = snprintf(spec + used, sizeof spec - used, "%s%d", i ? "-" : "", mlpc_net_size(*net, i));
        if (n < 0 || (size_t)n >= sizeof spec - used) break;
        used += (size_t)n;
    }
    if (cli_flag_get(c, "json")->on) {
        char *s = info_json(*net, model, spec);
        if (!s) {
            cli_error(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        printf("%s\n", s);
        cJSON_free(s);
    } else {
        info_text(*net, model, spec);
    }
    if (fflush(stdout) != 0) {
        cli_error(c, "writing to standard output failed");
        return CLI_EXIT_INPUT;
    }
    return 0;
}

int cmd_info(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "info", "mlpc info MODEL [--json]", SUMMARY, info_flags, (int)(sizeof info_flags / sizeof info_flags[0]), 1);
    mlpc_net *net = NULL;
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc)
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
    else
        rc = info_run(&c, &net);
    if (net) mlpc_net_free(net);
    cli_cmd_free(&c);
    return rc;
}
