/* config.c - JSON config files for `mlpc train --config FILE`.
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

int cli_config_apply(cli_cmd *c, const char *path, const char *const *deny)
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
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
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
    if (!cJSON_IsObject(root)) {
        cli_error(c, "--config %s: must hold one JSON object ({\"layers\": \"784-30-10\", ...})",
                  path);
        cJSON_Delete(root);
        return CLI_EXIT_INPUT;
    }
    const cJSON *it;
    rc = 0;
    cJSON_ArrayForEach(it, root)
    {
        const char *key = it->string ? it->string : "";
        char name[128];
        size_t k = 0;
        for (; key[k] && k + 1 < sizeof name; k++)
            name[k] = key[k] == '_' ? '-' : key[k];
        name[k] = '\0';
        cli_flag *f = NULL;
        for (int i = 0; i < c->n_flags; i++)
            if (strcmp(c->flags[i].name, name) == 0) f = &c->flags[i];
        int denied = 0;
        for (const char *const *d = deny; d && *d; d++)
            if (strcmp(*d, name) == 0) denied = 1;
        if (!f || denied || strlen(key) >= sizeof name) {
            cli_error(
                c,
                "config %s: unknown key \"%s\" (keys are the long flag names, see mlpc %s --help)",
                path, key, c->name);
            rc = CLI_EXIT_USAGE;
            break;
        }
        if (cJSON_IsNull(it)) continue;       /* null: keep the default */
        if (f->given && !f->origin) continue; /* the command line wins */
        const char *why = NULL;
        int on = 0;
        char *v = item_text(it, f->meta == NULL, &on, &why);
        if (why) {
            free(v);
            cli_error(c, "config %s: \"%s\": %s", path, key, why);
            rc = strcmp(why, "out of memory") == 0 ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
            break;
        }
        if (f->meta) {
            cli_flag_set_from(f, v, path);
            free(v);
        } else {
            f->on = on;
            f->given = 1;
            f->origin = path;
        }
    }
    cJSON_Delete(root);
    return rc;
}
