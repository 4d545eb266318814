/* train_flags.c - `mlpc train`, phase 1: every flag's value (command line
 * and --config file), checked before any data is read. The flags that set
 * one mlpc_config field (or one choice resolved later) go through one
 * table and one loop. */
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_job.h"

#define F(n) cli_flag_get(&j->c, n)

/* ------------------------------------------------------------------ the table */

typedef enum {
    TF_INT,       /* int field, cli_int with [min, max] */
    TF_FLOAT,     /* float field, cli_float with kind `min` (1: > 0, 2: >= 0) */
    TF_ENUM,      /* int or enum field, cli_enum_parse with kind `e` */
    TF_ON,        /* int field = the switch */
    TF_OFF,       /* int field = !the switch */
    TF_U64,       /* uint64_t field */
    TF_THREADS,   /* int field, cli_threads; "auto" sets threads_auto */
    TF_PRECISION, /* mlpc_precision field */
} tf_kind;

typedef struct train_field {
    const char *flag;
    tf_kind kind;
    size_t off; /* offsetof(train_job, ...) */
    long min, max;
    cli_enum e;
    int autos; /* "auto" leaves the field as it is, resolved later */
} train_field;

#define TJ(field) offsetof(train_job, field)

/* In the order they are checked (the first bad one is reported). */
static const train_field fields[] = {
    {"act", TF_ENUM, TJ(hidden_act), 0, 0, CLI_E_ACT, 0},
    {"out-act", TF_ENUM, TJ(out_act), 0, 0, CLI_E_ACT, 1},
    {"loss", TF_ENUM, TJ(loss), 0, 0, CLI_E_LOSS, 1},
    {"init", TF_ENUM, TJ(cfg.init), 0, 0, CLI_E_INIT, 0},
    {"norm", TF_ENUM, TJ(cfg.norm), 0, 0, CLI_E_NORM, 0},
    {"opt", TF_ENUM, TJ(cfg.opt), 0, 0, CLI_E_OPT, 0},
    {"lr", TF_FLOAT, TJ(cfg.lr), 1, 0, 0, 1},
    {"momentum", TF_FLOAT, TJ(cfg.momentum), 2, 0, 0, 0},
    {"nesterov", TF_ON, TJ(cfg.nesterov), 0, 0, 0, 0},
    {"rho", TF_FLOAT, TJ(cfg.rho), 1, 0, 0, 0},
    {"beta1", TF_FLOAT, TJ(cfg.beta1), 2, 0, 0, 0},
    {"beta2", TF_FLOAT, TJ(cfg.beta2), 2, 0, 0, 0},
    {"eps", TF_FLOAT, TJ(cfg.eps), 1, 0, 0, 0},
    {"l2", TF_FLOAT, TJ(cfg.l2), 2, 0, 0, 0},
    {"sched", TF_ENUM, TJ(cfg.sched), 0, 0, CLI_E_SCHED, 0},
    {"sched-factor", TF_FLOAT, TJ(cfg.sched_factor), 1, 0, 0, 1},
    {"sched-step", TF_INT, TJ(cfg.sched_step), 1, 1000000000, 0, 0},
    {"sched-patience", TF_INT, TJ(cfg.sched_patience), 0, 1000000000, 0, 0},
    {"min-lr", TF_FLOAT, TJ(cfg.min_lr), 2, 0, 0, 0},
    {"batch", TF_INT, TJ(cfg.batch), 1, 1 << 24, 0, 0},
    {"epochs", TF_INT, TJ(cfg.epochs), 1, 100000000, 0, 0},
    {"seed", TF_U64, TJ(cfg.seed), 0, 0, 0, 0},
    {"threads", TF_THREADS, TJ(cfg.threads), 0, 0, 0, 1},
    {"no-shuffle", TF_OFF, TJ(cfg.shuffle), 0, 0, 0, 0},
    {"precision", TF_PRECISION, TJ(cfg.precision), 0, 0, 0, 0},
    {"early-stop", TF_INT, TJ(cfg.es_patience), 0, 1000000000, 0, 0},
    {"es-metric", TF_ENUM, TJ(es_metric), 0, 0, CLI_E_METRIC, 1},
    {"es-min-delta", TF_FLOAT, TJ(cfg.es_min_delta), 2, 0, 0, 0},
    {"no-restore-best", TF_OFF, TJ(cfg.es_restore_best), 0, 0, 0, 0},
};

/* One table entry: converts, range-checks and stores. 0 or an exit code. */
static int apply_field(train_job *j, const train_field *t)
{
    cli_flag *f = F(t->flag);
    char *at = (char *)j + t->off;
    int rc = 0, v;
    double d;
    if (t->autos && cli_is(f, "auto")) {
        if (t->kind == TF_THREADS) {
            j->threads_auto = 1;
            *(int *)(void *)at = 1; /* decided after the layers are known */
        }
        return 0;
    }
    switch (t->kind) {
    case TF_INT: return cli_int(&j->c, f, t->min, t->max, (int *)(void *)at);
    case TF_FLOAT:
        if ((rc = cli_float(&j->c, f, (int)t->min, &d))) return rc;
        *(float *)(void *)at = (float)d;
        return 0;
    case TF_ENUM:
        if ((rc = cli_enum_parse(&j->c, f, t->e, &v))) return rc;
        if (t->e == CLI_E_ACT && !t->autos && v == MLPC_ACT_SOFTMAX)
            return cli_bad_value(&j->c, f, "softmax is only for the output layer (--out-act)");
        memcpy(at, &v, sizeof v); /* the enum fields are int-sized */
        return 0;
    case TF_ON: *(int *)(void *)at = f->on; return 0;
    case TF_OFF: *(int *)(void *)at = !f->on; return 0;
    case TF_U64: return cli_u64(&j->c, f, (uint64_t *)(void *)at);
    case TF_THREADS: return cli_threads(&j->c, f, (int *)(void *)at);
    case TF_PRECISION:
        if (mlpc_precision_parse(f->value, (mlpc_precision *)(void *)at))
            return cli_bad_value(&j->c, f, "unknown precision (fp32, bf16, auto)");
        return 0;
    }
    return 0;
}

/* --layers, then the table; "auto" rates resolved by optimizer and schedule. */
static int read_model_flags(train_job *j)
{
    _Static_assert(sizeof(mlpc_opt) == sizeof(int) && sizeof(mlpc_precision) == sizeof(int),
                   "enum fields are int-sized");
    mlpc_config_default(&j->cfg);
    j->layers = F("layers")->value;
    if (!j->layers || !*j->layers) {
        cli_error(&j->c, "--layers is required, e.g. --layers 784-30-10 (see mlpc train --help)");
        return CLI_EXIT_USAGE;
    }
    mlpc_config probe = j->cfg;
    if (mlpc_config_set_layers(&probe, j->layers, &j->err) != MLPC_OK)
        return cli_bad_value(&j->c, F("layers"), "%s", j->err.msg[0] ? j->err.msg : "bad layer spec");
    j->out_act = j->loss = j->es_metric = -1;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int rc = apply_field(j, &fields[i]);
        if (rc) return rc;
    }
    if (cli_is(F("lr"), "auto")) j->cfg.lr = j->cfg.opt == MLPC_OPT_SGD ? 0.01f : 0.001f;
    if (cli_is(F("sched-factor"), "auto"))
        j->cfg.sched_factor = j->cfg.sched == MLPC_SCHED_EXPONENTIAL ? 0.95f : 0.5f;
    return 0;
}

/* ------------------------------------------------------------------ data flags */

static int read_data_flags(train_job *j)
{
    int rc;
    j->data = F("data")->value;
    j->train_path = F("train")->value;
    j->train_labels = F("train-labels")->value;
    j->test_path = F("test")->value;
    j->test_labels = F("test-labels")->value;
    mlpc_csv_options_default(&j->csv);
    if ((rc = cli_csv_dialect(&j->c, &j->csv))) return rc;
    if ((rc = cli_task(&j->c, F("task"), &j->csv.task))) return rc;
    if ((rc = cli_int(&j->c, F("n-targets"), 1, MLPC_MAX_WIDTH, &j->csv.n_targets))) return rc;
    if ((rc = cli_target_spec(&j->c, &j->csv.label_col))) return rc;
    if ((rc = cli_missing(&j->c, F("missing"), NULL, &j->csv.missing))) return rc;
    j->target_norm = MLPC_NORM_STANDARD;
    if (cli_is(F("target-norm"), "none"))
        j->target_norm = MLPC_NORM_NONE;
    else if (!cli_is(F("target-norm"), "standard"))
        return cli_bad_value(&j->c, F("target-norm"), "must be standard or none");
    if (j->train_labels && !j->train_path) {
        cli_error(&j->c, "--train-labels: needs --train FILE");
        return CLI_EXIT_USAGE;
    }
    if (j->test_labels && !j->test_path) {
        cli_error(&j->c, "--test-labels: needs --test FILE");
        return CLI_EXIT_USAGE;
    }
    if (j->data) {
        if (!cli_builtin_known(j->data))
            return cli_bad_value(&j->c, F("data"), "unknown data set (mnist, fashion-mnist, lorenz)");
        static const char *const file_only[] = {"train", "train-labels", "test",    "test-labels", "label-col",
                                                "task",  "n-targets",    "header",  "target",      "missing"};
        for (size_t i = 0; i < sizeof file_only / sizeof file_only[0]; i++) {
            if (F(file_only[i])->given) {
                cli_error(&j->c, "--%s: not used with --data %s (give either --data or --train FILE)",
                          file_only[i], j->data);
                return CLI_EXIT_USAGE;
            }
        }
    } else if (!j->train_path) {
        cli_error(&j->c, "no training data: give --data NAME or --train FILE (see mlpc train --help)");
        return CLI_EXIT_USAGE;
    }
    if (F("n-targets")->given && j->csv.task != MLPC_TASK_REGRESS) {
        cli_error(&j->c, "--n-targets: only with --task regress");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* --val-split: N rows or a fraction. */
static int read_val_split(train_job *j)
{
    cli_flag *f = F("val-split");
    const char *s = f->value ? f->value : "0";
    int rc;
    if (strpbrk(s, ".eE")) {
        if ((rc = cli_float(&j->c, f, 2, &j->val_frac))) return rc;
        if (!(j->val_frac > 0 && j->val_frac < 1) && j->val_frac != 0)
            return cli_bad_value(&j->c, f, "a fraction must be between 0 and 1");
    } else {
        int n;
        if ((rc = cli_int(&j->c, f, 0, 2000000000, &n))) return rc;
        j->val_n = (size_t)n;
    }
    int lorenz = j->data && !strcmp(j->data, "lorenz");
    if ((j->val_n || j->val_frac > 0) && lorenz)
        return cli_bad_value(&j->c, f, "--data lorenz has its own validation set");
    j->has_val = j->val_n > 0 || j->val_frac > 0 || lorenz;
    return 0;
}

/* ------------------------------------------------------------------ combinations */

/* Whether the user gave a flag (on the command line or in the config file);
 * a switch set false in a config file does not count. */
static int user_gave(const cli_flag *f) { return f->given && (f->meta || f->on); }

/* "--rho" or "config FILE: \"rho\"" */
static const char *flag_where(const cli_flag *f, char *buf, size_t cap)
{
    if (f->origin)
        snprintf(buf, cap, "--%s (from config %s)", f->name, f->origin);
    else
        snprintf(buf, cap, "--%s", f->name);
    return buf;
}

/* Output activation and loss that cannot work together. out_act and loss
 * are -1 for auto (out_act resolved here when the loss needs it). */
static int check_output_loss(train_job *j, int regress)
{
#define G(n) cli_flag_get(&j->c, n)
    char a[600], b[600];
    mlpc_task task = regress ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    int lo = j->loss;
    /* an automatic output follows an explicit loss (the library's policy);
     * with neither given it is chosen once the data is read */
    int oa = j->out_act < 0 && lo >= 0 ? (int)mlpc_task_resolve_out(task, -1, lo) : j->out_act;
    switch (mlpc_task_conflicts(task, oa, lo)) {
    case MLPC_CONFLICT_LOSS_NEEDS_OUT:
        cli_error(&j->c, "%s %s needs %s %s, not %s (see the table in docs/cli.md)",
                  flag_where(G("loss"), a, sizeof a), mlpc_loss_name((mlpc_loss)lo),
                  flag_where(G("out-act"), b, sizeof b), mlpc_act_name((mlpc_act)mlpc_task_needs_out(lo)),
                  mlpc_act_name((mlpc_act)oa));
        return CLI_EXIT_USAGE;
    case MLPC_CONFLICT_OUT_NEEDS_LOSS:
        cli_error(&j->c, "%s softmax needs %s cce, not %s (see the table in docs/cli.md)",
                  flag_where(G("out-act"), a, sizeof a), flag_where(G("loss"), b, sizeof b),
                  mlpc_loss_name((mlpc_loss)lo));
        return CLI_EXIT_USAGE;
    case MLPC_CONFLICT_NOT_REGRESSION: {
        const cli_flag *f = oa == MLPC_ACT_SOFTMAX && G("out-act")->given ? G("out-act") : G("loss");
        cli_error(&j->c, "%s %s: not for regression (%s); use a linear output and mse",
                  flag_where(f, a, sizeof a), f == G("loss") ? "cce" : "softmax",
                  G("task")->given ? "--task regress" : "--data lorenz");
        return CLI_EXIT_USAGE;
    }
    default: break;
    }
    j->out_act = oa;
    return 0;
}

/* Flags that only apply to some optimizers or schedules. */
static int check_opt_sched(train_job *j)
{
    char a[600], b[600];
    const mlpc_config *cfg = &j->cfg;
    const char *opt = mlpc_opt_name(cfg->opt), *sched = mlpc_sched_name(cfg->sched);
    if (user_gave(G("nesterov")) && !(cfg->momentum > 0)) {
        cli_error(&j->c, "%s needs --momentum > 0 (%s is %g)", flag_where(G("nesterov"), a, sizeof a),
                  flag_where(G("momentum"), b, sizeof b), (double)cfg->momentum);
        return CLI_EXIT_USAGE;
    }
    static const struct {
        const char *flag;
        int opt; /* the optimizer it applies to */
    } opt_only[] = {{"momentum", MLPC_OPT_SGD}, {"nesterov", MLPC_OPT_SGD},
                    {"rho", MLPC_OPT_RMSPROP},  {"beta1", MLPC_OPT_ADAM},
                    {"beta2", MLPC_OPT_ADAM}};
    for (size_t i = 0; i < sizeof opt_only / sizeof opt_only[0]; i++) {
        const cli_flag *f = G(opt_only[i].flag);
        if (user_gave(f) && (int)cfg->opt != opt_only[i].opt) {
            cli_error(&j->c, "%s applies only to --opt %s, but %s is %s",
                      flag_where(f, a, sizeof a), mlpc_opt_name((mlpc_opt)opt_only[i].opt),
                      flag_where(G("opt"), b, sizeof b), opt);
            return CLI_EXIT_USAGE;
        }
    }
    static const struct {
        const char *flag;
        unsigned scheds; /* bit per mlpc_sched it applies to */
        const char *which;
    } sched_only[] = {
        {"sched-step", 1u << MLPC_SCHED_STEP, "step"},
        {"sched-patience", 1u << MLPC_SCHED_PLATEAU, "plateau"},
        {"sched-factor",
         (1u << MLPC_SCHED_STEP) | (1u << MLPC_SCHED_EXPONENTIAL) | (1u << MLPC_SCHED_PLATEAU),
         "step, exponential or plateau"},
        {"min-lr",
         (1u << MLPC_SCHED_STEP) | (1u << MLPC_SCHED_EXPONENTIAL) | (1u << MLPC_SCHED_PLATEAU),
         "step, exponential or plateau"},
    };
    for (size_t i = 0; i < sizeof sched_only / sizeof sched_only[0]; i++) {
        const cli_flag *f = G(sched_only[i].flag);
        if (user_gave(f) && !cli_is(f, "auto") && !(sched_only[i].scheds & (1u << cfg->sched))) {
            cli_error(&j->c, "%s applies only to --sched %s, but %s is %s",
                      flag_where(f, a, sizeof a), sched_only[i].which,
                      flag_where(G("sched"), b, sizeof b), sched);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
#undef G
}

/* Settings that cannot work together, refused before any data is read (see
 * the table in docs/cli.md). */
static int check_combinations(train_job *j)
{
    int rc;
    if ((rc = cli_device_setup(&j->c, F("quiet")->on, &j->dev))) return rc;
    int em = j->es_metric;
    if (em >= 0 && !j->has_val && (em == MLPC_METRIC_VAL_LOSS || em == MLPC_METRIC_VAL_ACC))
        return cli_bad_value(&j->c, F("es-metric"), "needs a validation set (--val-split N)");
    int regress = j->csv.task == MLPC_TASK_REGRESS || (j->data && !strcmp(j->data, "lorenz"));
    if ((rc = check_output_loss(j, regress))) return rc;
    return check_opt_sched(j);
}

/* ------------------------------------------------------------------ outputs */

/* Checks that the folder of an output path exists; 0 or an exit code. */
static int check_output_dir(const cli_cmd *c, const char *flag, const char *path)
{
    if (!*path) {
        cli_error(c, "--%s: empty file name", flag);
        return CLI_EXIT_USAGE;
    }
    size_t n = strlen(path) + 1;
    char *copy = malloc(n);
    if (!copy) {
        cli_error(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    memcpy(copy, path, n);
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error(c, "--%s %s: folder %s does not exist", flag, path, dir);
        rc = CLI_EXIT_INPUT;
    } else if (access(dir, W_OK) != 0) {
        cli_error(c, "--%s %s: folder %s is not writable", flag, path, dir);
        rc = CLI_EXIT_INPUT;
    } else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error(c, "--%s %s: is a directory, not a file", flag, path);
        rc = CLI_EXIT_INPUT;
    }
    free(copy);
    return rc;
}

/* The value of a file flag, NULL for "none". */
static const char *opt_path(const cli_flag *f)
{
    if (!f->value || strcmp(f->value, "none") == 0) return NULL;
    return f->value;
}

/* --checkpoint auto: <save>.ckpt; --run auto: the --save file name without
 * extension. 0 or an exit code. */
static int auto_names(train_job *j)
{
    if (cli_is(F("checkpoint"), "auto")) {
        if (j->save) {
            size_t n = strlen(j->save) + 6;
            j->ckpt_auto = malloc(n);
            if (!j->ckpt_auto) {
                cli_error(&j->c, "out of memory");
                return CLI_EXIT_INTERNAL;
            }
            snprintf(j->ckpt_auto, n, "%s.ckpt", j->save);
            j->ckpt = j->ckpt_auto;
        }
    } else {
        j->ckpt = opt_path(F("checkpoint"));
    }
    j->run = F("run")->value;
    if (cli_is(F("run"), "auto")) {
        j->run = "run";
        if (j->save) {
            const char *base = strrchr(j->save, '/');
            base = base ? base + 1 : j->save;
            size_t n = strlen(base);
            const char *dot = strrchr(base, '.');
            if (dot && dot != base) n = (size_t)(dot - base);
            j->run_auto = malloc(n + 1);
            if (j->run_auto) {
                memcpy(j->run_auto, base, n);
                j->run_auto[n] = '\0';
                j->run = j->run_auto;
            }
        }
    }
    return 0;
}

static int read_output_flags(train_job *j)
{
    int rc;
    j->save = opt_path(F("save"));
    j->resume = opt_path(F("resume"));
    j->metrics_path = opt_path(F("metrics"));
    if ((rc = auto_names(j))) return rc;
    /* outputs never overwrite inputs (the checkpoint may be the one resumed from) */
    cli_path paths[] = {
        {"train", j->train_path, 0, NULL},      {"train-labels", j->train_labels, 0, NULL},
        {"test", j->test_path, 0, NULL},        {"test-labels", j->test_labels, 0, NULL},
        {"config", opt_path(F("config")), 0, NULL}, {"resume", j->resume, 0, "checkpoint"},
        {"save", j->save, 1, NULL},             {"checkpoint", j->ckpt, 1, "resume"},
        {"metrics", j->metrics_path, 1, NULL},
    };
    if ((rc = cli_check_distinct(&j->c, paths, (int)(sizeof paths / sizeof paths[0])))) return rc;
    j->ckpt_every = 30;
    if ((rc = cli_float(&j->c, F("checkpoint-every"), 2, &j->ckpt_every))) return rc;
    if (F("checkpoint-every")->given && !j->ckpt) {
        cli_error(&j->c, "--checkpoint-every: needs --checkpoint FILE or --save FILE");
        return CLI_EXIT_USAGE;
    }
    if (j->save && (rc = check_output_dir(&j->c, "save", j->save))) return rc;
    if (j->ckpt && (rc = check_output_dir(&j->c, "checkpoint", j->ckpt))) return rc;
    if (j->metrics_path && (rc = check_output_dir(&j->c, "metrics", j->metrics_path))) return rc;
    if (j->resume && (rc = cli_check_input(&j->c, "resume", j->resume))) return rc;
    j->quiet = F("quiet")->on;
    j->progress = F("progress")->on;
    return 0;
}

static int read_dashboard_flags(train_job *j)
{
    dash_train_opts *o = &j->dopt;
    double d;
    int rc;
    memset(o, 0, sizeof *o);
    o->dashboard = F("dashboard")->on;
    o->server.port = j->dash_port;
    o->server.bind = F("bind")->value;
    o->server.token = cli_is(F("token"), "auto") ? NULL : F("token")->value;
    if ((rc = cli_float(&j->c, F("linger"), 0, &d))) return rc;
    o->linger = d;
    o->server.n_allow_hosts = cli_collect(j->argc, j->argv, "allow-host", j->allow_hosts, DASH_MAX_ALLOW_HOSTS + 1);
    if (o->server.n_allow_hosts == 0 && F("allow-host")->given) { /* from --config */
        j->allow_hosts[0] = F("allow-host")->value;
        o->server.n_allow_hosts = 1;
    }
    if (o->server.n_allow_hosts > DASH_MAX_ALLOW_HOSTS)
        o->server.n_allow_hosts = DASH_MAX_ALLOW_HOSTS + 1; /* refused by the check */
    o->server.allow_hosts = j->allow_hosts;
    if (F("allow-host")->given && !o->dashboard) {
        cli_error(&j->c, "--allow-host: only with --dashboard");
        return CLI_EXIT_USAGE;
    }
    if (o->dashboard && dash_server_check(&o->server, j->dash_err, sizeof j->dash_err)) {
        cli_error(&j->c, "%s", j->dash_err);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------ phase 1 */

int train_read_flags(train_job *j)
{
    int rc;
    j->dash_port = -1;
    if (dash_take_port_arg(j->argc, j->argv, &j->dash_port, j->dash_err, sizeof j->dash_err)) {
        cli_error(&j->c, "%s", j->dash_err);
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_parse_or_help(&j->c, j->argc, j->argv))) return rc; /* -1: --help was shown */
    if (F("config")->given) {
        static const char *const deny[] = {"config", "help", NULL};
        if ((rc = cli_config_apply(&j->c, F("config")->value, deny))) return rc;
    }
    if ((rc = read_model_flags(j)) || (rc = read_data_flags(j)) || (rc = read_val_split(j)) ||
        (rc = check_combinations(j)) || (rc = read_output_flags(j)))
        return rc;
    return read_dashboard_flags(j);
}

/* ------------------------------------------------------------------ the stored config */

static void optimizer_json(sbuf *b, const mlpc_config *cfg)
{
    sb_kstr(b, "opt", mlpc_opt_name(cfg->opt));
    sb_knum(b, "lr", cfg->lr);
    if (cfg->opt == MLPC_OPT_SGD) {
        sb_knum(b, "momentum", cfg->momentum);
        if (cfg->momentum > 0) sb_raw(b, cfg->nesterov ? ",\"nesterov\":true" : ",\"nesterov\":false");
    } else {
        if (cfg->opt == MLPC_OPT_RMSPROP) sb_knum(b, "rho", cfg->rho);
        if (cfg->opt == MLPC_OPT_ADAM) {
            sb_knum(b, "beta1", cfg->beta1);
            sb_knum(b, "beta2", cfg->beta2);
        }
        sb_knum(b, "eps", cfg->eps);
    }
    sb_knum(b, "l2", cfg->l2);
    sb_kstr(b, "sched", mlpc_sched_name(cfg->sched));
    if (cfg->sched != MLPC_SCHED_CONSTANT) {
        sb_knum(b, "sched_factor", cfg->sched_factor);
        sb_knum(b, "min_lr", cfg->min_lr);
    }
    if (cfg->sched == MLPC_SCHED_STEP) sb_kint(b, "sched_step", cfg->sched_step);
    if (cfg->sched == MLPC_SCHED_PLATEAU) sb_kint(b, "sched_patience", cfg->sched_patience);
}

/* A JSON object of this command's flags (keys with '_'), only those that
 * apply, so that `mlpc train --config` accepts it as it is and trains the
 * same net. Data paths are not in it. */
char *train_config_json(train_job *j)
{
    const mlpc_config *cfg = &j->cfg;
    const cli_flag *val_split = cli_flag_get(&j->c, "val-split"), *n_targets = cli_flag_get(&j->c, "n-targets");
    sbuf b;
    sb_init(&b);
    b.digits = 7; /* the float32 values as given */
    char layers[MLPC_MAX_LAYERS * 9 + 16];
    size_t lp = 0;
    for (int i = 0; i <= cfg->n_layers; i++)
        lp += (size_t)snprintf(layers + lp, sizeof layers - lp, "%s%d", i ? "-" : "", cfg->sizes[i]);
    sb_raw(&b, "{");
    sb_kstr(&b, "layers", layers);
    sb_kstr(&b, "act", mlpc_act_name((mlpc_act)j->hidden_act));
    sb_kstr(&b, "out_act", mlpc_act_name((mlpc_act)j->out_act));
    sb_kstr(&b, "loss", mlpc_loss_name(cfg->loss));
    sb_kstr(&b, "init", mlpc_init_name(cfg->init));
    sb_kstr(&b, "norm", mlpc_norm_name(cfg->norm));
    optimizer_json(&b, cfg);
    sb_kint(&b, "batch", cfg->batch);
    sb_kint(&b, "epochs", cfg->epochs);
    sb_key(&b, "seed");
    sb_printf(&b, "%llu", (unsigned long long)cfg->seed);
    sb_kint(&b, "threads", cfg->threads);
    sb_raw(&b, cfg->shuffle ? ",\"no_shuffle\":false" : ",\"no_shuffle\":true");
    if (val_split->given) sb_kstr(&b, "val_split", val_split->value);
    if (!j->data) {
        sb_kstr(&b, "task", j->regress ? "regress" : "classify");
        if (j->regress && n_targets->given) sb_kstr(&b, "n_targets", n_targets->value);
    }
    sb_kint(&b, "early_stop", cfg->es_patience);
    if (cfg->es_patience > 0) {
        sb_kstr(&b, "es_metric", mlpc_metric_name(cfg->es_metric));
        sb_knum(&b, "es_min_delta", cfg->es_min_delta);
        sb_raw(&b, cfg->es_restore_best ? ",\"no_restore_best\":false" : ",\"no_restore_best\":true");
    }
    sb_raw(&b, "}");
    if (b.oom) {
        sb_free(&b);
        return NULL;
    }
    size_t n = strlen(b.s) + 1;
    char *out = malloc(n);
    if (out) memcpy(out, b.s, n);
    sb_free(&b);
    return out;
}
