/* args.c - flag parsing, value conversion and error reporting for the CLI. */
#include "args.h"
#include "core/file.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static void vprint_line(const char *cmd, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    /* exactly one line: fold any newline a message may carry */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fflush(stdout);
    if (cmd && *cmd)
        fprintf(stderr, "mlpc %s: %s\n", cmd, buf);
    else
        fprintf(stderr, "mlpc: %s\n", buf);
    fflush(stderr);
}

void cli_error(const cli_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_line(c ? c->name : NULL, fmt, ap);
    va_end(ap);
}

void cli_error_name(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_line(cmd, fmt, ap);
    va_end(ap);
}

cli_flag *cli_flag_get(cli_cmd *c, const char *name)
{
    for (int i = 0; i < c->n_flags; i++)
        if (strcmp(c->flags[i].name, name) == 0) return &c->flags[i];
    /* a programming error in a flag table: report it instead of crashing */
    cli_error(c, "internal error: no flag --%s", name);
    exit(CLI_EXIT_INTERNAL);
}

static cli_flag *find_flag(cli_cmd *c, const char *name, size_t len)
{
    for (int i = 0; i < c->n_flags; i++)
        if (strlen(c->flags[i].name) == len && strncmp(c->flags[i].name, name, len) == 0)
            return &c->flags[i];
    return NULL;
}

/* Edit distance, capped (names are short). */
static int edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            d[i][j] = v;
        }
    return d[la][lb];
}

static const char *suggest(const cli_cmd *c, const char *name, size_t len)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < c->n_flags; i++) {
        int dist = edit_distance(name, len, c->flags[i].name);
        if (dist == 2 && len < 5) continue; /* too far for a short name */
        if (dist < best_d) {
            best_d = dist;
            best = c->flags[i].name;
        }
    }
    return best;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

int cli_parse(cli_cmd *c, int argc, char **argv)
{
    int flags_done = 0;
    for (int i = 0; i < c->n_flags; i++) {
        cli_flag *f = &c->flags[i];
        f->value = f->def;
        f->given = 0;
        f->on = 0;
        f->origin = NULL;
        f->owned = NULL;
    }
    c->n_pos = 0;
    c->help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!flags_done && strcmp(a, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (!flags_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            c->help = 1;
            continue;
        }
        if (!flags_done && a[0] == '-' && a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            cli_flag *f = find_flag(c, name, len);
            if (!f) {
                const char *s = suggest(c, name, len);
                if (s)
                    cli_error(c, "unknown flag --%.*s (did you mean --%s? see mlpc %s --help)",
                              (int)len, name, s, c->name);
                else
                    cli_error(c, "unknown flag --%.*s (see mlpc %s --help)", (int)len, name,
                              c->name);
                return CLI_EXIT_USAGE;
            }
            if (!f->meta) { /* a switch */
                int v = 1;
                if (eq && parse_bool(eq + 1, &v) != 0) {
                    cli_error(c, "--%s=%s: a switch takes no value (or true/false)", f->name,
                              eq + 1);
                    return CLI_EXIT_USAGE;
                }
                f->on = v;
                f->given = 1;
                f->origin = NULL;
                continue;
            }
            const char *value;
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-' &&
                                         argv[i + 1][2] != '\0')) {
                value = argv[++i];
            } else {
                cli_error(c, "--%s: missing value (--%s %s)", f->name, f->name, f->meta);
                return CLI_EXIT_USAGE;
            }
            f->value = value;
            f->given = 1;
            f->origin = NULL;
            continue;
        }
        if (!flags_done && a[0] == '-' && a[1] != '\0') {
            cli_error(c, "unknown flag %s (see mlpc %s --help)", a, c->name);
            return CLI_EXIT_USAGE;
        }
        if (c->n_pos >= c->max_pos || c->n_pos >= (int)(sizeof c->pos / sizeof c->pos[0])) {
            cli_error(c, "unexpected argument '%s' (see mlpc %s --help)", a, c->name);
            return CLI_EXIT_USAGE;
        }
        c->pos[c->n_pos++] = a;
    }
    return 0;
}

void cli_flag_set_from(cli_flag *f, const char *value, const char *origin)
{
    free(f->owned);
    f->owned = NULL;
    if (value) {
        size_t n = strlen(value) + 1;
        f->owned = malloc(n);
        if (f->owned) memcpy(f->owned, value, n);
    }
    f->value = f->owned ? f->owned : f->def;
    f->given = 1;
    f->origin = origin;
}

void cli_cmd_free(cli_cmd *c)
{
    for (int i = 0; i < c->n_flags; i++) {
        free(c->flags[i].owned);
        c->flags[i].owned = NULL;
    }
}

/* Writes `text` wrapped at 79 columns, continuation lines indented by `indent`. */
static void wrap(FILE *out, int col, int indent, const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        size_t w = strcspn(p, " ");
        if (col > indent && col + 1 + (int)w > 79) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        p += w;
    }
}

void cli_help(const cli_cmd *c, FILE *out)
{
    const int indent = 30;
    fprintf(out, "usage: %s\n", c->usage);
    if (c->summary) fprintf(out, "\n%s\n", c->summary);
    for (int i = 0; i < c->n_flags; i++) {
        const cli_flag *f = &c->flags[i];
        if (f->group || i == 0) fprintf(out, "\n%s:\n", f->group ? f->group : "Flags");
        char left[96];
        if (f->meta)
            snprintf(left, sizeof left, "  --%s %s", f->name, f->meta);
        else
            snprintf(left, sizeof left, "  --%s", f->name);
        fputs(left, out);
        int col = (int)strlen(left);
        if (col + 2 > indent) {
            fprintf(out, "\n%*s", indent, "");
        } else {
            fprintf(out, "%*s", indent - col, "");
        }
        col = indent;
        char text[1024];
        if (strcmp(f->name, "help") == 0)
            snprintf(text, sizeof text, "%s", f->help);
        else if (f->meta)
            snprintf(text, sizeof text, "%s (default: %s)", f->help, f->def ? f->def : "none");
        else
            snprintf(text, sizeof text, "%s (default: off)", f->help);
        wrap(out, col, indent, text);
        fputc('\n', out);
    }
}

int cli_bad_value(const cli_cmd *c, const cli_flag *f, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *v = f->value ? f->value : "";
    if (f->origin)
        cli_error(c, "config %s: \"%s\" %s: %s", f->origin, f->name, v, msg);
    else
        cli_error(c, "--%s %s: %s", f->name, v, msg);
    return CLI_EXIT_USAGE;
}

int cli_is(const cli_flag *f, const char *s)
{
    return f->value && strcmp(f->value, s) == 0;
}

int cli_int(const cli_cmd *c, const cli_flag *f, long min, long max, int *out)
{
    const char *s = f->value ? f->value : "";
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    int ok = *s && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')) && *end == '\0' &&
             errno == 0;
    if (ok && v > max) return cli_bad_value(c, f, "must be at most %ld", max);
    if (!ok || v < min) {
        if (min == 1) return cli_bad_value(c, f, "must be a positive integer");
        if (min == 0) return cli_bad_value(c, f, "must be a non-negative integer");
        return cli_bad_value(c, f, "must be an integer from %ld to %ld", min, max);
    }
    if (v > INT_MAX) return cli_bad_value(c, f, "must be at most %d", INT_MAX);
    *out = (int)v;
    return 0;
}

int cli_u64(const cli_cmd *c, const cli_flag *f, uint64_t *out)
{
    const char *s = f->value ? f->value : "";
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!(*s >= '0' && *s <= '9') || *end != '\0' || errno != 0)
        return cli_bad_value(c, f, "must be an integer from 0 to %llu",
                             (unsigned long long)UINT64_MAX);
    *out = (uint64_t)v;
    return 0;
}

int cli_float(const cli_cmd *c, const cli_flag *f, int kind, double *out)
{
    const char *s = f->value ? f->value : "";
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int ok = *s && *s != ' ' && *s != '\t' && *end == '\0' && isfinite(v) && errno != ERANGE;
    if (ok && kind == 1 && !(v > 0)) ok = 0;
    if (ok && kind == 2 && !(v >= 0)) ok = 0;
    if (!ok) {
        if (kind == 1) return cli_bad_value(c, f, "must be a positive number");
        if (kind == 2) return cli_bad_value(c, f, "must be a non-negative number");
        return cli_bad_value(c, f, "must be a number");
    }
    *out = v;
    return 0;
}

int cli_header(const cli_cmd *c, const cli_flag *f, int *out)
{
    if (cli_is(f, "auto"))
        *out = -1;
    else if (cli_is(f, "yes"))
        *out = 1;
    else if (cli_is(f, "no"))
        *out = 0;
    else
        return cli_bad_value(c, f, "must be auto, yes or no");
    return 0;
}

int cli_csv_dialect(cli_cmd *c, mlpc_csv_options *o)
{
    int rc = cli_header(c, cli_flag_get(c, "header"), &o->header);
    if (rc) return rc;
    const cli_flag *d = cli_flag_get(c, "delimiter");
    const char *v = d->value;
    if (cli_is(d, "auto"))
        o->delim = 0;
    else if (cli_is(d, "tab") || !strcmp(v, "\\t"))
        o->delim = '\t';
    else if (cli_is(d, "space") || !strcmp(v, " "))
        o->delim = ' ';
    else if (strlen(v) == 1 && v[0] != '"' && v[0] != '\n' && v[0] != '\r' && v[0] != '.' && v[0] != '-' &&
             !(v[0] >= '0' && v[0] <= '9'))
        o->delim = v[0];
    else
        return cli_bad_value(c, d, "must be auto, tab, space or one character (not a quote, digit, '.' or '-')");
    return cli_int(c, cli_flag_get(c, "skip-rows"), 0, 1000000, &o->skip_rows);
}

int cli_task(const cli_cmd *c, const cli_flag *f, mlpc_task *out)
{
    if (cli_is(f, "classify"))
        *out = MLPC_TASK_CLASSIFY;
    else if (cli_is(f, "regress"))
        *out = MLPC_TASK_REGRESS;
    else
        return cli_bad_value(c, f, "unknown task (classify, regress)");
    return 0;
}

static int enum_count(cli_enum k)
{
    switch (k) {
    case CLI_E_ACT: return MLPC_ACT_COUNT;
    case CLI_E_LOSS: return MLPC_LOSS_COUNT;
    case CLI_E_INIT: return MLPC_INIT_COUNT;
    case CLI_E_OPT: return MLPC_OPT_COUNT;
    case CLI_E_SCHED: return MLPC_SCHED_COUNT;
    case CLI_E_NORM: return MLPC_NORM_COUNT;
    case CLI_E_METRIC: return MLPC_METRIC_COUNT;
    }
    return 0;
}

static const char *enum_what(cli_enum k)
{
    switch (k) {
    case CLI_E_ACT: return "activation";
    case CLI_E_LOSS: return "loss";
    case CLI_E_INIT: return "init";
    case CLI_E_OPT: return "optimizer";
    case CLI_E_SCHED: return "schedule";
    case CLI_E_NORM: return "normalization";
    case CLI_E_METRIC: return "metric";
    }
    return "value";
}

const char *cli_enum_name(cli_enum k, int v)
{
    const char *s = NULL;
    switch (k) {
    case CLI_E_ACT: s = mlpc_act_name((mlpc_act)v); break;
    case CLI_E_LOSS: s = mlpc_loss_name((mlpc_loss)v); break;
    case CLI_E_INIT: s = mlpc_init_name((mlpc_init)v); break;
    case CLI_E_OPT: s = mlpc_opt_name((mlpc_opt)v); break;
    case CLI_E_SCHED: s = mlpc_sched_name((mlpc_sched)v); break;
    case CLI_E_NORM: s = mlpc_norm_name((mlpc_norm)v); break;
    case CLI_E_METRIC: s = mlpc_metric_name((mlpc_metric)v); break;
    }
    return s ? s : "?";
}

int cli_enum_parse(const cli_cmd *c, const cli_flag *f, cli_enum k, int *out)
{
    const char *s = f->value ? f->value : "";
    int rc = -1;
    switch (k) {
    case CLI_E_ACT: {
        mlpc_act v;
        rc = mlpc_act_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_LOSS: {
        mlpc_loss v;
        rc = mlpc_loss_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_INIT: {
        mlpc_init v;
        rc = mlpc_init_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_OPT: {
        mlpc_opt v;
        rc = mlpc_opt_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_SCHED: {
        mlpc_sched v;
        rc = mlpc_sched_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_NORM: {
        mlpc_norm v;
        rc = mlpc_norm_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    case CLI_E_METRIC: {
        mlpc_metric v;
        rc = mlpc_metric_parse(s, &v);
        if (rc == 0) *out = (int)v;
        break;
    }
    }
    if (rc == 0) return 0;
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < enum_count(k); i++) {
        int n =
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", cli_enum_name(k, i));
        if (n < 0 || (size_t)n >= sizeof list - used) break;
        used += (size_t)n;
    }
    return cli_bad_value(c, f, "unknown %s (%s)", enum_what(k), list);
}

int cli_exit_for(mlpc_status s)
{
    switch (s) {
    case MLPC_OK:
    case MLPC_ERR_STOPPED: return CLI_EXIT_OK;
    case MLPC_ERR_ARG: return CLI_EXIT_USAGE;
    case MLPC_ERR_IO:
    case MLPC_ERR_FORMAT:
    case MLPC_ERR_SHAPE:
    case MLPC_ERR_UNSUPPORTED: return CLI_EXIT_INPUT;
    case MLPC_ERR_DIVERGED: return CLI_EXIT_DIVERGED;
    case MLPC_ERR_NOMEM: return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_INTERNAL;
}

int cli_lib_error(const cli_cmd *c, const char *path, mlpc_status code, const char *msg)
{
    if (code == MLPC_OK) code = MLPC_ERR_IO; /* a failure without a code */
    const char *m = msg && *msg ? msg : mlpc_status_str(code);
    if (path && *path && !strstr(m, mlpc_path_name(path)))
        cli_error(c, "%s: %s", path, m);
    else
        cli_error(c, "%s", m);
    return cli_exit_for(code);
}

int cli_check_input(const cli_cmd *c, const char *flag, const char *path)
{
    char what[600];
    if (flag)
        snprintf(what, sizeof what, "--%s %s", flag, path ? path : "");
    else
        snprintf(what, sizeof what, "%s", path ? path : "");
    if (!path || !*path) {
        cli_error(c, "%s: empty file name", flag ? what : "(model)");
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(path, "-")) { /* standard input: one input of the command at most */
        static char first[64];
        const char *me = flag ? flag : "(model)";
        if (first[0] && strcmp(first, me)) {
            cli_error(c, "%s: only one input can be - (standard input), and %s%s is - already", what,
                      strcmp(first, "(model)") ? "--" : "", first);
            return CLI_EXIT_USAGE;
        }
        snprintf(first, sizeof first, "%s", me);
        mlpc_error e;
        memset(&e, 0, sizeof e);
        if (mlpc_file_check(path, "a data file", &e) != MLPC_OK) {
            cli_error(c, "%s: %s", what, e.msg);
            return CLI_EXIT_INPUT;
        }
        return 0;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error(c, "%s: %s", what, strerror(errno));
        return CLI_EXIT_INPUT;
    }
    if (S_ISDIR(st.st_mode)) {
        cli_error(c, "%s: is a directory, not a file", what);
        return CLI_EXIT_INPUT;
    }
    if (!S_ISREG(st.st_mode)) { /* reading a FIFO would wait for a writer forever */
        cli_error(c, "%s: is %s, not a regular file", what,
                  S_ISFIFO(st.st_mode)  ? "a FIFO (named pipe)"
                  : S_ISCHR(st.st_mode) ? "a character device"
                  : S_ISBLK(st.st_mode) ? "a block device"
                  : S_ISSOCK(st.st_mode) ? "a socket"
                                         : "a special file");
        return CLI_EXIT_INPUT;
    }
    return 0;
}

int cli_threads(const cli_cmd *c, const cli_flag *f, int *out)
{
    int rc = cli_int(c, f, 0, MLPC_MAX_THREADS, out);
    if (rc || *out != 0) return rc;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    *out = n > 0 ? (int)(n > MLPC_MAX_THREADS ? MLPC_MAX_THREADS : n) : 1;
    return 0;
}

void cli_cmd_init(cli_cmd *c, const char *name, const char *usage, const char *summary, cli_flag *flags,
                  int n_flags, int max_pos)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->usage = usage;
    c->summary = summary;
    c->flags = flags;
    c->n_flags = n_flags;
    c->max_pos = max_pos;
}

int cli_parse_or_help(cli_cmd *c, int argc, char **argv)
{
    int rc = cli_parse(c, argc, argv);
    if (rc) return rc;
    if (c->help) {
        cli_help(c, stdout);
        return -1;
    }
    return 0;
}

int cli_collect(int argc, char **argv, const char *name, const char **out, int max)
{
    int n = 0;
    size_t nl = strlen(name);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (strncmp(a, "--", 2) || strncmp(a + 2, name, nl)) continue;
        const char *v = NULL;
        if (a[2 + nl] == '=')
            v = a + 3 + nl;
        else if (a[2 + nl] == '\0' && i + 1 < argc)
            v = argv[++i];
        if (!v) continue;
        if (n < max) out[n] = v;
        n++;
    }
    return n;
}
