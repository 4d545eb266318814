/* train_run.c - `mlpc train`, phases 4 to 6: the net, normalization and
 * trainer; the run (epoch lines, --metrics, checkpoints, Ctrl-C, the
 * dashboard); the final evaluation and the save. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/core.h"
#include "cli/signals.h"
#include "train_job.h"

#define F(n) cli_flag_get(&j->c, n)

/* ------------------------------------------------------------------ epoch callbacks */

static int digits(int v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* the mark after a loss computed on standardized regression targets (the
 * mse values beside it are in the targets' original units) */
#define STD_MARK(on) ((on) ? " (standardized)" : "")

static int on_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (void)tr;
    train_ctx *x = user;
    if (x->quiet || !x->progress) return 0;
    if (b->batch % x->every != 0 && b->batch != b->n_batches) return 0;
    if (x->regress || isnan(b->run_acc))
        printf("  epoch %*d  batch %*ld/%ld  loss %.4g%s  %.2fs\n", x->width, b->epoch,
               digits((int)b->n_batches), b->batch, b->n_batches, b->run_loss, STD_MARK(x->std_targets),
               b->seconds);
    else
        printf("  epoch %*d  batch %*ld/%ld  loss %.4f  acc %.4f  %.2fs\n", x->width, b->epoch,
               digits((int)b->n_batches), b->batch, b->n_batches, b->run_loss, b->run_acc,
               b->seconds);
    fflush(stdout);
    return 0;
}

static int on_epoch(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    (void)tr;
    train_ctx *x = user;
    dash_train_epoch_begin(x->dash);
    if (!x->quiet) {
        if (x->regress) {
            printf("epoch %*d/%d  loss %.4g%s", x->width, e->epoch, x->total_epochs, e->loss,
                   STD_MARK(x->std_targets));
            if (x->std_targets && !isnan(e->mse)) printf("  mse %.4g", e->mse);
            if (!isnan(e->val_mse))
                printf("  val_mse %.4g", e->val_mse);
            else if (!isnan(e->val_loss))
                printf("  val_loss %.4g", e->val_loss);
            if (!isnan(e->test_mse))
                printf("  test_mse %.4g", e->test_mse);
            else if (!isnan(e->test_loss))
                printf("  test_loss %.4g", e->test_loss);
        } else {
            printf("epoch %*d/%d  loss %.4f  acc %.4f", x->width, e->epoch, x->total_epochs,
                   e->loss, e->acc);
            if (!isnan(e->val_acc)) printf("  val_acc %.4f", e->val_acc);
            if (!isnan(e->test_acc)) printf("  test_acc %.4f", e->test_acc);
        }
        printf("  lr %g  %.2fs  %.0f samples/s\n", (double)e->lr, e->epoch_seconds,
               e->samples_per_second);
        fflush(stdout);
    }
    if (x->metrics) {
        sbuf b;
        sb_init(&b);
        b.digits = 9; /* float32 values exactly */
        sb_raw(&b, "{");
        sb_kstr(&b, "run", x->run);
        sb_key(&b, "time");
        sb_printf(&b, "%.3f", mlpc_wall_now());
        sb_kint(&b, "epoch", e->epoch);
        sb_knum(&b, "loss", e->loss);
        sb_knum(&b, "acc", e->acc);
        sb_knum(&b, "val_loss", e->val_loss);
        sb_knum(&b, "val_acc", e->val_acc);
        sb_knum(&b, "test_loss", e->test_loss);
        sb_knum(&b, "test_acc", e->test_acc);
        if (x->regress) {
            if (x->std_targets) sb_kstr(&b, "loss_on", "standardized targets");
            sb_knum(&b, "mse", e->mse);
            sb_knum(&b, "val_mse", e->val_mse);
            sb_knum(&b, "test_mse", e->test_mse);
        }
        sb_key(&b, "lr");
        if (isfinite(e->lr))
            sb_printf(&b, "%.7g", (double)e->lr);
        else
            sb_raw(&b, "null");
        sb_knum(&b, "epoch_seconds", e->epoch_seconds);
        sb_knum(&b, "eval_seconds", e->eval_seconds);
        sb_knum(&b, "samples_per_second", e->samples_per_second);
        char rms[2048];
        if (x->layer_stats &&
            dash_rms_json(x->net, mlpc_trainer_grads(tr), rms, sizeof rms) > 0)
            sb_raw(&b, rms);
        sb_raw(&b, "}\n");
        int bad = b.oom;
        if (!bad) {
            errno = 0;
            if (cli_append_whole(x->metrics, b.s, b.len) != 0) bad = 1;
        }
        sb_free(&b);
        if (bad) {
            x->metrics_errno = errno ? errno : EIO;
            return 1; /* stop training: the record would be incomplete */
        }
    }
    dash_train_epoch(x->dash, tr, e);
    return 0;
}

/* Ctrl-C and SIGTERM while training: the trainer stops at the next batch
 * boundary (mlpc_trainer_interrupt is async-signal-safe), the model is
 * evaluated and saved as after any early stop, and the command exits
 * 128 + the signal's number. */
static mlpc_trainer *volatile sig_trainer;

/* cli_signals' callback; cli_signal holds the signal's number */
static void interrupt_trainer(int sig)
{
    (void)sig;
    mlpc_trainer *tr = sig_trainer;
    if (tr) mlpc_trainer_interrupt(tr);
}

/* After --resume: what the command line says wins over the checkpoint. The
 * rate is the checkpoint's (its schedule may have cut it) unless --lr is
 * given; a run that had stopped (early stopping) goes on when --epochs or
 * --early-stop is given. What was overridden is listed in `out`. */
static void resume_overrides(cli_cmd *c, mlpc_trainer *tr, const mlpc_config *cfg, char *out,
                             size_t cap)
{
    size_t n = 0;
    const cli_flag *lr = cli_flag_get(c, "lr"), *ep = cli_flag_get(c, "epochs"), *es = cli_flag_get(c, "early-stop");
    if (lr && lr->given && mlpc_trainer_lr(tr) != cfg->lr) {
        n += (size_t)snprintf(out + n, cap - n, "%s--lr %g (the checkpoint's rate was %g)", n ? ", " : "; overridden: ",
                              (double)cfg->lr, (double)mlpc_trainer_lr(tr));
        mlpc_trainer_set_lr(tr, cfg->lr);
    }
    if (n < cap && mlpc_trainer_stopped(tr) && ((ep && ep->given) || (es && es->given))) {
        mlpc_trainer_clear_interrupt(tr); /* clears the stopped state too */
        snprintf(out + n, cap - n, "%s%s (the checkpoint's run had stopped early)", n ? ", " : "; overridden: ",
                 ep && ep->given ? "--epochs" : "--early-stop");
    }
}

/* A fingerprint of the training rows (features and targets, in order): a
 * checkpoint records it, so --resume on other data or another split is
 * refused instead of silently continuing on different rows. */
static uint64_t rows_hash(const mlpc_dataset *d)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ mlpc_dataset_rows(d);
    size_t nx = mlpc_dataset_rows(d) * mlpc_dataset_features(d);
    const uint32_t *x = (const uint32_t *)(const void *)mlpc_dataset_x(d);
    for (size_t i = 0; i < nx; i++) h = (h ^ x[i]) * 0x100000001b3ULL;
    const int32_t *lab = mlpc_dataset_labels(d);
    const uint32_t *tg = (const uint32_t *)(const void *)mlpc_dataset_targets(d);
    size_t nt = lab ? mlpc_dataset_rows(d) : tg ? mlpc_dataset_rows(d) * mlpc_dataset_outputs(d) : 0;
    for (size_t i = 0; i < nt; i++) h = (h ^ (lab ? (uint32_t)lab[i] : tg[i])) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

/* The run's "metrics" meta before training: the task (so eval, predict and
 * info treat a checkpoint as the model it belongs to) and the training
 * rows' fingerprint (checked by --resume). */
static void start_meta(char *buf, size_t cap, int regress, const mlpc_dataset *train, size_t val_rows)
{
    snprintf(buf, cap, "{\"task\":\"%s\",\"train_rows\":%zu,\"val_rows\":%zu,\"rows_hash\":\"%016llx\"}",
             regress ? "regress" : "classify", mlpc_dataset_rows(train), val_rows,
             (unsigned long long)rows_hash(train));
}

/* After --resume: the checkpoint's training rows must be this run's. 0, or
 * an exit code after one line saying what differs. */
static int resume_same_rows(const cli_cmd *c, const char *ckpt, const char *ck_meta, const char *ours)
{
    cJSON *a = ck_meta ? cJSON_Parse(ck_meta) : NULL, *b = cJSON_Parse(ours);
    const cJSON *ha = cJSON_GetObjectItemCaseSensitive(a, "rows_hash");
    int rc = 0;
    if (cJSON_IsString(ha) && b) { /* older checkpoints have none: nothing to compare */
        const cJSON *hb = cJSON_GetObjectItemCaseSensitive(b, "rows_hash");
        if (!cJSON_IsString(hb) || strcmp(ha->valuestring, hb->valuestring)) {
            const cJSON *ra = cJSON_GetObjectItemCaseSensitive(a, "train_rows"),
                        *rb = cJSON_GetObjectItemCaseSensitive(b, "train_rows"),
                        *va = cJSON_GetObjectItemCaseSensitive(a, "val_rows"),
                        *vb = cJSON_GetObjectItemCaseSensitive(b, "val_rows");
            cli_error(c,
                      "--resume %s: the checkpoint was trained on other rows (%.0f training, %.0f validation; "
                      "this run: %.0f, %.0f%s): give the same data, --val-split, --val-from and --seed",
                      ckpt, cJSON_IsNumber(ra) ? ra->valuedouble : -1, cJSON_IsNumber(va) ? va->valuedouble : -1,
                      cJSON_IsNumber(rb) ? rb->valuedouble : -1, cJSON_IsNumber(vb) ? vb->valuedouble : -1,
                      cJSON_IsNumber(ra) && cJSON_IsNumber(rb) && ra->valuedouble == rb->valuedouble
                          ? ", other values"
                          : "");
            rc = CLI_EXIT_USAGE;
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

static void eval_json(sbuf *b, const char *key, const mlpc_eval *e, int regress)
{
    sb_key(b, key);
    sb_raw(b, "{");
    sb_knum(b, "loss", e->loss);
    if (regress)
        sb_knum(b, "mse", e->mse);
    else
        sb_knum(b, "acc", e->acc);
    sb_kint(b, "n", (long long)e->n);
    sb_raw(b, "}");
}

static void eval_text(const char *name, const mlpc_eval *e, int regress, int std_targets)
{
    if (regress)
        printf("  %s_loss %.4g%s  %s_mse %.4g", name, e->loss, STD_MARK(std_targets), name, e->mse);
    else
        printf("  %s_loss %.4f  %s_acc %.4f", name, e->loss, name, e->acc);
}

/* One shell word, quoted when it needs to be. */
static void print_shell_word(const char *w)
{
    int plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
            plain = 0;
    if (plain) {
        fputs(w, stdout);
        return;
    }
    putchar('\'');
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

/* After an interrupt: the command that continues the run from its
 * checkpoint (this command's arguments with --resume CKPT). */
static void print_resume_command(int argc, char **argv, const char *ckpt)
{
    printf("resume with: mlpc train");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--resume") && i + 1 < argc) {
            i++;
            continue;
        }
        if (!strncmp(a, "--resume=", 9)) continue;
        putchar(' ');
        print_shell_word(a);
    }
    printf(" --resume ");
    print_shell_word(ckpt);
    printf("\n");
    fflush(stdout);
}


/* ------------------------------------------------------------------ 4. net and trainer */

/* The net, its normalization (and target scaling), the trainer on the data
 * and the device. */
static int build_net(train_job *j)
{
    mlpc_status st;
    int rc;
    j->net = mlpc_net_create(&j->cfg, &j->err);
    if (!j->net) return cli_lib_error(&j->c, NULL, j->err.code, j->err.msg);
    mlpc_dataset *sets[3] = {j->train, j->val, j->test};
    cli_prep prep = {j->csv.missing, (mlpc_norm)j->target_norm, j->cfg.norm, (mlpc_act)j->out_act,
                     j->train_labels ? j->train_labels : j->train_src};
    if ((rc = cli_train_prepare(&j->c, j->net, sets, &prep))) return rc;
    j->tr = mlpc_trainer_create(j->net, &j->cfg, &j->err);
    if (!j->tr) return cli_lib_error(&j->c, NULL, j->err.code, j->err.msg);
    /* the task and the rows' fingerprint go into every checkpoint (a sigmoid
     * output with the quadratic cost classifies, as in W1); the final
     * metrics replace them in the saved model */
    start_meta(j->run_meta, sizeof j->run_meta, j->regress, j->train, j->val ? mlpc_dataset_rows(j->val) : 0);
    if ((st = mlpc_net_set_meta(j->net, "metrics", j->run_meta)))
        return cli_lib_error(&j->c, NULL, st, mlpc_net_error(j->net)->msg);
    st = mlpc_trainer_set_data(j->tr, j->train, j->val, j->test);
    if (st != MLPC_OK) return cli_lib_error(&j->c, NULL, st, mlpc_trainer_error(j->tr)->msg);
    if (j->dev.dev.kind != MLPC_DEVICE_CPU) {
        st = mlpc_trainer_set_device(j->tr, &j->dev.dev, j->dev.mem_limit);
        if (st != MLPC_OK) {
            cli_error(&j->c, "--device %s: %s", F("device")->value, mlpc_trainer_error(j->tr)->msg);
            return st == MLPC_ERR_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
        }
    }
    cli_device_log(&j->c, &j->dev, j->net, j->cfg.threads, 1);
    return 0;
}

/* --metrics, the epoch callbacks, the dashboard and progress bar,
 * checkpoints. */
static int start_outputs(train_job *j)
{
    int rc = 0;
    if (j->metrics_path) {
        j->metrics = fopen(j->metrics_path, "a");
        if (!j->metrics) {
            cli_error(&j->c, "--metrics %s: %s", j->metrics_path, strerror(errno));
            return CLI_EXIT_INPUT;
        }
    }
    long nb = (long)((mlpc_dataset_rows(j->train) + (size_t)j->cfg.batch - 1) / (size_t)j->cfg.batch);
    train_ctx *x = &j->ctx;
    memset(x, 0, sizeof *x);
    x->quiet = j->quiet;
    x->progress = j->progress;
    x->regress = j->regress;
    x->std_targets = j->regress && mlpc_net_target_stats(j->net, NULL, NULL) > 0;
    x->total_epochs = j->cfg.epochs;
    x->width = digits(j->cfg.epochs);
    x->metrics = j->metrics;
    x->metrics_path = j->metrics_path;
    x->run = j->run;
    x->every = nb / 10 > 0 ? nb / 10 : 1;
    x->net = j->net;
    x->layer_stats = F("layer-stats")->on || j->dopt.dashboard;
    dash_train_opts *o = &j->dopt;
    o->quiet = j->quiet;
    o->bar = -1;
    o->run = j->run;
    o->metrics = j->metrics_path;
    o->regress = j->regress;
    o->epochs = j->cfg.epochs;
    o->batch = j->cfg.batch;
    o->n_batches = nb;
    o->next = j->progress && !j->quiet ? on_batch : NULL;
    o->next_user = x;
    j->dash = x->dash = dash_train_start(j->tr, j->net, o, j->dash_err, sizeof j->dash_err, &rc);
    if (!j->dash) {
        cli_error(&j->c, "%s", j->dash_err);
        return rc;
    }
    mlpc_trainer_on_epoch(j->tr, on_epoch, x);
    if (j->ckpt) {
        mlpc_trainer_set_checkpoint(j->tr, j->ckpt);
        mlpc_trainer_set_checkpoint_every(j->tr, j->ckpt_every);
        /* <save>.ckpt: the model's fsyncs in the same folder follow at once */
        if (j->ckpt == j->ckpt_auto) mlpc_trainer_set_checkpoint_final_sync(j->tr, 0);
    }
    return 0;
}

/* The schedule and early-stopping settings of the checkpoint's run
 * (config keys, the flags that set them, and when they apply). */
static const struct {
    const char *key, *flag;
    int when; /* 0 always, 1 sched not constant, 2 sched step, 3 sched plateau, 4 early stopping on */
} RESUME_KEYS[] = {
    {"sched", "sched", 0},           {"sched_factor", "sched-factor", 1}, {"min_lr", "min-lr", 1},
    {"sched_step", "sched-step", 2}, {"sched_patience", "sched-patience", 3},
    {"early_stop", "early-stop", 0}, {"es_metric", "es-metric", 4},       {"es_min_delta", "es-min-delta", 4},
};

static int key_applies(const cJSON *cfg, int when)
{
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(cfg, "sched");
    const char *sched = cJSON_IsString(sc) ? sc->valuestring : "constant";
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(cfg, "early_stop");
    switch (when) {
    case 1: return strcmp(sched, "constant") != 0;
    case 2: return strcmp(sched, "step") == 0;
    case 3: return strcmp(sched, "plateau") == 0;
    case 4: return cJSON_IsNumber(es) && es->valuedouble > 0;
    default: return 1;
    }
}

static void json_value_text(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsString(v))
        snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, cap, "%g", v->valuedouble);
    else
        snprintf(buf, cap, "?");
}

/* --resume: the checkpoint's schedule and early stopping hold unless the
 * command line changes them. A flag given that changes one is listed in
 * j->overrides; a setting that would change without its flag (the flag
 * left out of the resumed command) is refused in one line, since the run
 * would silently go on under another schedule. */
static int resume_settings(train_job *j)
{
    mlpc_error err;
    mlpc_net *ck = mlpc_net_load(j->resume, &err);
    if (!ck) return cli_lib_error(&j->c, j->resume, err.code, err.msg);
    char ours[4096];
    cJSON *a = cJSON_Parse(mlpc_net_meta(ck, "config") ? mlpc_net_meta(ck, "config") : "");
    cJSON *b = mlpc_config_to_json(&j->cfg, ours, sizeof ours) < 0 ? NULL : cJSON_Parse(ours);
    mlpc_net_free(ck);
    int rc = 0;
    size_t n = strlen(j->overrides);
    for (size_t i = 0; a && b && !rc && i < sizeof RESUME_KEYS / sizeof RESUME_KEYS[0]; i++) {
        if (!key_applies(a, RESUME_KEYS[i].when) && !key_applies(b, RESUME_KEYS[i].when)) continue;
        const cJSON *va = cJSON_GetObjectItemCaseSensitive(a, RESUME_KEYS[i].key);
        const cJSON *vb = cJSON_GetObjectItemCaseSensitive(b, RESUME_KEYS[i].key);
        char ta[64], tb[64];
        json_value_text(va, ta, sizeof ta);
        json_value_text(vb, tb, sizeof tb);
        if (!va || !strcmp(ta, tb)) continue;
        if (cli_flag_get(&j->c, RESUME_KEYS[i].flag)->given) {
            n += (size_t)snprintf(j->overrides + n, n < sizeof j->overrides ? sizeof j->overrides - n : 0,
                                  "%s--%s %s (the checkpoint's was %s)", n ? ", " : "; overridden: ",
                                  RESUME_KEYS[i].flag, tb, ta);
            if (n >= sizeof j->overrides) n = sizeof j->overrides - 1;
        } else {
            cli_error(&j->c, "--resume %s: the checkpoint's run used --%s %s and this command would use %s; give --%s %s "
                             "to keep it, or --%s with the value wanted",
                      j->resume, RESUME_KEYS[i].flag, ta, tb, RESUME_KEYS[i].flag, ta, RESUME_KEYS[i].flag);
            rc = CLI_EXIT_USAGE;
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

/* --resume: the checkpoint's state, on the same rows. */
static int resume(train_job *j)
{
    mlpc_status st = mlpc_trainer_resume(j->tr, j->resume);
    int rc;
    if (st != MLPC_OK) return cli_lib_error(&j->c, j->resume, st, mlpc_trainer_error(j->tr)->msg);
    if ((rc = resume_same_rows(&j->c, j->resume, mlpc_net_meta(j->net, "metrics"), j->run_meta))) return rc;
    if ((st = mlpc_net_set_meta(j->net, "metrics", j->run_meta)))
        return cli_lib_error(&j->c, NULL, st, mlpc_net_error(j->net)->msg);
    resume_overrides(&j->c, j->tr, &j->cfg, j->overrides, sizeof j->overrides);
    return resume_settings(j);
}

/* The "run ..." line, the CSV choices and "resumed from". */
static void print_header(const train_job *j)
{
    const mlpc_config *cfg = &j->cfg;
    const char *run = j->run;
    printf("run%s%s: layers %s  act %s/%s  loss %s  opt %s  lr %g  batch %d  epochs %d  "
           "threads %d  norm %s  data %s: %zu train",
           strcmp(run, "run") ? " " : "", strcmp(run, "run") ? run : "", j->layers,
           mlpc_act_name((mlpc_act)j->hidden_act), mlpc_act_name((mlpc_act)j->out_act),
           mlpc_loss_name(cfg->loss), mlpc_opt_name(cfg->opt), (double)mlpc_trainer_lr(j->tr), cfg->batch,
           cfg->epochs, cfg->threads, mlpc_norm_name(cfg->norm), j->data ? j->data : j->train_src,
           mlpc_dataset_rows(j->train));
    if (j->val) printf(", %zu val", mlpc_dataset_rows(j->val));
    if (j->test) printf(", %zu test", mlpc_dataset_rows(j->test));
    printf(" rows");
    if (j->ctx.std_targets) printf("  targets standardized");
    const char *pwhy = "";
    mlpc_precision prec = mlpc_trainer_precision(j->tr, &pwhy);
    if (prec != MLPC_PRECISION_FP32 || cfg->precision != MLPC_PRECISION_FP32)
        printf("  precision %s%s%s%s", mlpc_precision_name(prec), *pwhy ? " (" : "", pwhy, *pwhy ? ")" : "");
    if (j->dev.dev.kind != MLPC_DEVICE_CPU) {
        char dn[32];
        printf("  device %s", mlpc_device_name(&j->dev.dev, dn, sizeof dn));
    }
    printf("\n");
    const mlpc_dataset *read[3] = {j->train, j->val, j->test};
    for (int i = 0; i < 3; i++) /* every automatic choice made reading a CSV, in one line */
        if (read[i] && *mlpc_dataset_describe(read[i]) &&
            (i != 1 || strcmp(train_src_name(j->val, ""), j->train_src)))
            printf("%s (%s)\n", mlpc_dataset_describe(read[i]), train_src_name(read[i], "?"));
    if (j->resume)
        printf("resumed from %s after epoch %d%s\n", j->resume, mlpc_trainer_epochs_done(j->tr), j->overrides);
    fflush(stdout);
}

int train_build(train_job *j)
{
    int rc;
    if ((rc = build_net(j)) || (rc = start_outputs(j))) return rc;
    if (j->resume && (rc = resume(j))) return rc;
    if (!j->quiet) print_header(j);
    return 0;
}

/* ------------------------------------------------------------------ 5. the run */

/* The run's end as an exit code: 0 (done or stopped), or one error line. */
static int run_outcome(train_job *j, mlpc_status st)
{
    if (j->ctx.metrics_errno) {
        cli_error(&j->c, "--metrics %s: write failed: %s", j->metrics_path, strerror(j->ctx.metrics_errno));
        return CLI_EXIT_INPUT;
    }
    if (st == MLPC_ERR_DIVERGED) {
        const char *ckpt = j->ckpt;
        int at = mlpc_trainer_epochs_done(j->tr) + 1;
        if (ckpt && mlpc_trainer_epochs_done(j->tr) > 0 && access(ckpt, F_OK) == 0)
            cli_error(&j->c,
                      "training diverged at epoch %d (loss is NaN); last good checkpoint kept "
                      "at %s",
                      at, ckpt);
        else
            cli_error(&j->c,
                      "training diverged at epoch %d (loss is NaN); no checkpoint was written%s",
                      at, ckpt ? "" : " (use --checkpoint FILE or --save FILE)");
        return CLI_EXIT_DIVERGED;
    }
    if (st != MLPC_OK && st != MLPC_ERR_STOPPED)
        return cli_lib_error(&j->c, NULL, st, mlpc_trainer_error(j->tr)->msg);
    return 0;
}

int train_run(train_job *j)
{
    double t0 = mlpc_now();
    sig_trainer = j->tr;
    cli_signals_catch(interrupt_trainer);
    j->sigs_caught = 1;
    mlpc_status st = mlpc_trainer_run(j->tr);
    if (j->dev.log && *mlpc_trainer_device_note(j->tr)) { /* the CUDA graph fallback */
        fflush(stdout);
        fprintf(stderr, "mlpc %s: device: %s\n", j->c.name, mlpc_trainer_device_note(j->tr));
        fflush(stderr);
    }
    dash_train_finish(j->dash, st == MLPC_OK && !mlpc_trainer_stopped(j->tr)
                                   ? DASH_DONE
                                   : (st == MLPC_OK || st == MLPC_ERR_STOPPED ? DASH_STOPPED
                                                                              : DASH_FAILED));
    j->seconds = mlpc_now() - t0;
    return run_outcome(j, st);
}

void train_release_signals(train_job *j)
{
    if (j->sigs_caught) cli_signals_restore();
    sig_trainer = NULL;
    j->sigs_caught = 0;
}

/* ------------------------------------------------------------------ 6. the end */

/* The final metrics of the model as it will be saved. The trainer (and its
 * thread pool) goes first, so the evaluation's threads never run beside the
 * trainer's: --threads N is N threads at every moment. */
static int final_eval(train_job *j)
{
    mlpc_trainer *tr = j->tr;
    j->epochs_done = mlpc_trainer_epochs_done(tr);
    if (mlpc_trainer_stopped(tr) && mlpc_trainer_stop_reason(tr))
        snprintf(j->reason, sizeof j->reason, "%s", mlpc_trainer_stop_reason(tr));
    const char *ck_msg = NULL;
    j->ck_failed = mlpc_trainer_checkpoint_failures(tr, &ck_msg);
    snprintf(j->ck_last, sizeof j->ck_last, "%s", ck_msg ? ck_msg : "");
    sig_trainer = NULL; /* a late signal must not reach the freed trainer */
    mlpc_trainer_free(tr);
    j->tr = NULL;
    mlpc_net_set_threads(j->net, j->cfg.threads);
    const mlpc_dataset *sets[3] = {j->train, j->val, j->test};
    for (int i = 0; i < 3; i++) {
        if (!sets[i]) continue;
        mlpc_status st = mlpc_net_evaluate(j->net, sets[i], &j->ev[i]);
        if (st != MLPC_OK) return cli_lib_error(&j->c, NULL, st, mlpc_net_error(j->net)->msg);
    }
    return 0;
}

static const char *const set_names[3] = {"train", "val", "test"};

/* --save: the model with its config and final metrics. */
static int save_model(train_job *j)
{
    const mlpc_dataset *sets[3] = {j->train, j->val, j->test};
    sbuf *mj = &j->mj;
    mlpc_status st;
    j->cfg_json = train_config_json(j);
    if (!j->cfg_json) {
        cli_error(&j->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    sb_raw(mj, "{");
    sb_kstr(mj, "task", j->regress ? "regress" : "classify");
    sb_kstr(mj, "data", j->data ? j->data : j->train_src);
    sb_kstr(mj, "run", j->run);
    sb_kint(mj, "epochs", j->epochs_done);
    sb_knum(mj, "seconds", j->seconds);
    if (j->reason[0]) sb_kstr(mj, "stop_reason", j->reason);
    for (int i = 0; i < 3; i++)
        if (sets[i]) eval_json(mj, set_names[i], &j->ev[i], j->regress);
    sb_raw(mj, "}");
    if (mj->oom) {
        cli_error(&j->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    if ((st = mlpc_net_set_meta(j->net, "config", j->cfg_json)) != MLPC_OK ||
        (st = mlpc_net_set_meta(j->net, "metrics", mj->s)) != MLPC_OK)
        return cli_lib_error(&j->c, NULL, st, mlpc_net_error(j->net)->msg);
    if (mlpc_net_save(j->net, j->save, &j->err) != MLPC_OK)
        return cli_lib_error(&j->c, j->save, j->err.code, j->err.msg);
    if (!j->quiet) printf("saved %s\n", j->save);
    return 0;
}

int train_finish(train_job *j)
{
    int rc;
    if ((rc = final_eval(j))) return rc;
    if (!j->quiet) {
        const mlpc_dataset *sets[3] = {j->train, j->val, j->test};
        printf("done: %d epoch%s in %.2fs", j->epochs_done, j->epochs_done == 1 ? "" : "s", j->seconds);
        for (int i = 0; i < 3; i++)
            if (sets[i]) eval_text(set_names[i], &j->ev[i], j->regress, j->ctx.std_targets);
        if (j->reason[0]) printf("  (stopped: %s)", j->reason);
        printf("\n");
        fflush(stdout);
    }
    if (j->save && (rc = save_model(j))) return rc;
    if (cli_signal && j->ckpt && !j->quiet && access(j->ckpt, F_OK) == 0 && j->epochs_done < j->cfg.epochs)
        print_resume_command(j->argc, j->argv, j->ckpt);
    rc = cli_signal ? 128 + cli_signal : 0;
    if (j->ck_failed) { /* training went on; the model is saved; the run still failed to checkpoint */
        cli_error(&j->c, "%d checkpoint write%s failed (the last: %s)%s", j->ck_failed, j->ck_failed == 1 ? "" : "s",
                  j->ck_last, j->save ? "; the model was saved" : "");
        rc = CLI_EXIT_INPUT;
    }
    return rc;
}
