/* config_file.c - JSON config files for `mlpc train --config FILE`.
 *
 * The file holds one object whose keys are the long flag names, with '-' or
 * '_' ("out-act" or "out_act"); values are strings, numbers or booleans
 * (switches), and "layers" may also be an array of widths. Flags given on the
 * command line win over the file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/file.h"

/* The value of a JSON item as flag text; NULL with *why set when it cannot be one. */
static char *item_text(const cJSON *it, int is_switch, int *on, const char **why)
{
    char tmp[64];
    if (is_switch) {
        if (cJSON_IsBool(it)) {
            *on = cJSON_IsTrue(it);
            return NULL;
        }
        *why = "must be true or false";
        return NULL;
    }
    if (cJSON_IsString(it)) {
        size_t n = strlen(it->valuestring) + 1;
        char *s = malloc(n);
        if (s)
            memcpy(s, it->valuestring, n);
        else
            *why = "out of memory";
        return s;
    }
    if (cJSON_IsNumber(it)) {
        snprintf(tmp, sizeof tmp, "%.17g", it->valuedouble);
        size_t n = strlen(tmp) + 1;
        char *s = malloc(n);
        if (s)
            memcpy(s, tmp, n);
        else
            *why = "out of memory";
        return s;
    }
    if (cJSON_IsArray(it)) {
        /* an array of widths: [784, 30, 10] -> "784-30-10" */
        size_t cap = 16 * (size_t)(cJSON_GetArraySize(it) + 1), len = 0;
        char *s = malloc(cap);
        if (!s) {
            *why = "out of memory";
            return NULL;
        }
        s[0] = '\0';
        const cJSON *e;
        cJSON_ArrayForEach(e, it)
        {
            if (!cJSON_IsNumber(e) || e->valuedouble < -1e15 || e->valuedouble > 1e15 ||
                e->valuedouble != (double)(long long)e->valuedouble) {
                free(s);
                *why = "must be a string or an array of integers";
                return NULL;
            }
            int n =
                snprintf(s + len, cap - len, "%s%lld", len ? "-" : "", (long long)e->valuedouble);
            if (n < 0 || (size_t)n >= cap - len) {
                free(s);
                *why = "array too long";
                return NULL;
            }
            len += (size_t)n;
        }
        return s;
    }
    *why = cJSON_IsBool(it) ? "must be a string or number, not true/false"
                            : "must be a string or number";
    return NULL;
}

/* The flag called name, or NULL. */
static cli_flag *find_flag(cli_cmd *c, const char *name)
{
    for (int i = 0; i < c->n_flags; i++)
        if (strcmp(c->flags[i].name, name) == 0) return &c->flags[i];
    return NULL;
}

/* Sets a flag from a config file unless the command line gave it. */
static void set_from(cli_flag *f, const char *v, int on, const char *path)
{
    if (!f || (f->given && !f->origin)) return;
    if (f->meta) {
        cli_flag_set_from(f, v, path);
    } else {
        f->on = on;
        f->given = 1;
        f->origin = path;
    }
}

/* The library's form of the settings (mlpc_config_to_json, stored by older
 * models and shown by mlpc info): "acts" per layer, "shuffle" and
 * "es_restore_best" the other way round, and every optimizer and schedule
 * field whether it applies or not. Those that do not apply to the object's
 * own "opt", "sched", "momentum" and "early_stop" are skipped (1), so the
 * object trains the same net without tripping the checks of flags that do
 * not apply. Returns 1 to skip the key, 0 to apply it as usual, -1 when
 * handled here, -2 on a bad "acts". */
static int library_key(cli_cmd *c, const cJSON *root, const cJSON *it, const char *name,
                       const char *path)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "opt");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(root, "sched");
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(root, "momentum");
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(root, "early_stop");
    const char *opt = cJSON_IsString(o) ? o->valuestring : "sgd";
    const char *sched = cJSON_IsString(sc) ? sc->valuestring : "constant";
    double momentum = cJSON_IsNumber(mo) ? mo->valuedouble : 0;
    int early = cJSON_IsNumber(es) && es->valuedouble > 0;
    if (!strcmp(name, "acts")) {
        int n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : 0;
        if (n < 1) return -2;
        for (int i = 0; i < n; i++) {
            const cJSON *e = cJSON_GetArrayItem(it, i);
            if (!cJSON_IsString(e)) return -2;
            if (i > 0 && i < n - 1 && strcmp(e->valuestring, cJSON_GetArrayItem(it, 0)->valuestring))
                return -2; /* one hidden activation for all hidden layers */
        }
        if (n > 1) set_from(find_flag(c, "act"), cJSON_GetArrayItem(it, 0)->valuestring, 0, path);
        set_from(find_flag(c, "out-act"), cJSON_GetArrayItem(it, n - 1)->valuestring, 0, path);
        return -1;
    }
    if (!strcmp(name, "shuffle") || !strcmp(name, "es-restore-best")) {
        if (!cJSON_IsBool(it)) return -2;
        if (!strcmp(name, "es-restore-best") && !early) return -1;
        set_from(find_flag(c, !strcmp(name, "shuffle") ? "no-shuffle" : "no-restore-best"), NULL,
                 !cJSON_IsTrue(it), path);
        return -1;
    }
    if (!strcmp(name, "momentum")) return strcmp(opt, "sgd") != 0;
    if (!strcmp(name, "nesterov")) return strcmp(opt, "sgd") != 0 || !(momentum > 0);
    if (!strcmp(name, "rho")) return strcmp(opt, "rmsprop") != 0;
    if (!strcmp(name, "beta1") || !strcmp(name, "beta2")) return strcmp(opt, "adam") != 0;
    if (!strcmp(name, "eps")) return strcmp(opt, "sgd") == 0;
    if (!strcmp(name, "sched-factor") || !strcmp(name, "min-lr"))
        return strcmp(sched, "constant") == 0;
    if (!strcmp(name, "sched-step")) return strcmp(sched, "step") != 0;
    if (!strcmp(name, "sched-patience")) return strcmp(sched, "plateau") != 0;
    if (!strcmp(name, "es-metric") || !strcmp(name, "es-min-delta")) return !early;
    return 0;
}

/* Reads and parses the file: its one JSON object in *root, or an exit code
 * after one line naming the file (and the line and column of bad JSON). */
static int read_json(cli_cmd *c, const char *path, cJSON **root)
{
    int rc = cli_check_input(c, "config", path);
    if (rc) return rc;
    char *text = NULL;
    size_t len = 0;
    mlpc_error e;
    if (mlpc_read_whole(path, "a config file", (size_t)16 << 20, (unsigned char **)&text, &len, &e)) {
        cli_error(c, "--config %s", e.msg);
        return e.code == MLPC_ERR_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_INPUT;
    }
    const char *end = NULL;
    *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!*root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1, col = 1;
        if (at && at >= text && at <= text + strlen(text)) {
            for (const char *p = text; p < at; p++) {
                if (*p == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            cli_error(c, "--config %s: invalid JSON at line %d, column %d", path, line, col);
        } else {
            cli_error(c, "--config %s: invalid JSON", path);
        }
        free(text);
        return CLI_EXIT_INPUT;
    }
    free(text);
    if (!cJSON_IsObject(*root)) {
        cli_error(c, "--config %s: must hold one JSON object ({\"layers\": \"784-30-10\", ...})",
                  path);
        cJSON_Delete(*root);
        *root = NULL;
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* One key of the object: sets its flag unless the command line gave it. 0
 * or an exit code. */
static int apply_item(cli_cmd *c, cJSON *root, const cJSON *it, const char *path, const char *const *deny,
                      int library_form)
{
    const char *key = it->string ? it->string : "";
    char name[128];
    size_t k = 0;
    for (; key[k] && k + 1 < sizeof name; k++)
        name[k] = key[k] == '_' ? '-' : key[k];
    name[k] = '\0';
    if (library_form && strlen(key) < sizeof name) {
        int how = library_key(c, root, it, name, path);
        if (how == -2) {
            cli_error(c, "config %s: \"%s\": %s", path, key,
                      !strcmp(name, "acts") ? "must be an array of activation names, the "
                                              "hidden ones all the same"
                                            : "must be true or false");
            return CLI_EXIT_USAGE;
        }
        if (how) return 0;
    }
    cli_flag *f = NULL;
    for (int i = 0; i < c->n_flags; i++)
        if (strcmp(c->flags[i].name, name) == 0) f = &c->flags[i];
    int denied = 0;
    for (const char *const *d = deny; d && *d; d++)
        if (strcmp(*d, name) == 0) denied = 1;
    if (!f || denied || strlen(key) >= sizeof name) {
        cli_error(c, "config %s: unknown key \"%s\" (keys are the long flag names, see mlpc %s --help)", path,
                  key, c->name);
        return CLI_EXIT_USAGE;
    }
    if (cJSON_IsNull(it)) return 0;       /* null: keep the default */
    if (f->given && !f->origin) return 0; /* the command line wins */
    const char *why = NULL;
    int on = 0;
    char *v = item_text(it, f->meta == NULL, &on, &why);
    if (why) {
        free(v);
        cli_error(c, "config %s: \"%s\": %s", path, key, why);
        return strcmp(why, "out of memory") == 0 ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
    }
    if (f->meta) {
        cli_flag_set_from(f, v, path);
        free(v);
    } else {
        f->on = on;
        f->given = 1;
        f->origin = path;
    }
    return 0;
}

int cli_config_apply(cli_cmd *c, const char *path, const char *const *deny)
{
    cJSON *root = NULL;
    int rc = read_json(c, path, &root);
    if (rc) return rc;
    /* the library's form (mlpc info of an older model) has "acts" */
    int library_form = cJSON_GetObjectItemCaseSensitive(root, "acts") != NULL &&
                       strcmp(c->name, "train") == 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if ((rc = apply_item(c, root, it, path, deny, library_form))) break;
    }
    cJSON_Delete(root);
    return rc;
}
