/* cmd_train.c - `mlpc train`: build a net from flags (and a JSON config
 * file), train it on a built-in or file data set, save the model. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "dash/dash.h"

static cli_flag train_flags[] = {
    /* name, meta, default, help, group */
    CLI_FLAG(
        "config", "FILE", NULL,
        "JSON object whose keys are these flags' names (\"out_act\" or \"out-act\"); flags on the "
        "command line win",
        "Configuration"),
    CLI_FLAG("data", "NAME", NULL,
             "built-in data set: mnist, fashion-mnist (from $MLPC_DATA or ./data; test set t10k) "
             "or lorenz (train rows 0-899, validation rows 900-1799)",
             "Data"),
    CLI_FLAG("train", "FILE", NULL,
             "training data: CSV (.csv, .csv.gz), or .npy/IDX with --train-labels", NULL),
    CLI_FLAG("train-labels", "FILE", NULL,
             "labels (or targets) for --train, row by row: CSV (one label column, strings or numbers, or one-hot "
             "columns; every column is read), .npy or IDX",
             NULL),
    CLI_FLAG("test", "FILE", NULL, "test data, evaluated after every epoch", NULL),
    CLI_FLAG("test-labels", "FILE", NULL, "labels (or targets) for --test: CSV, .npy or IDX", NULL),
    CLI_FLAG("target", "COLS", "last",
             "CSV target column(s): header names or 0-based indices, a comma list, ranges 3-5 or a:c. One "
             "column: the label (strings, 0..K-1, 1..K, -1/+1) or the first target; several: one-hot classes "
             "or regression targets. last: the last column (or trailing one-hot columns)",
             NULL),
    CLI_FLAG("label-col", "COLS", "last", "alias of --target", NULL),
    CLI_FLAG("task", "TASK", "classify",
             "CSV targets: classify (class labels or one-hot columns) or regress (float targets)", NULL),
    CLI_FLAG("n-targets", "N", "1", "regress: number of target columns from --target on", NULL),
    CLI_FLAG("missing", "MODE", "error",
             "missing values (empty, NA, NaN, N/A, ?, null): error, drop (the row), mean (a missing feature "
             "becomes the training mean, stored in the model; rows with a missing target are dropped)",
             NULL),
    CLI_FLAG("target-norm", "MODE", "standard",
             "regress: standard (the net trains on targets standardized with the training rows' mean and "
             "std, stored in the model; predict and eval answer in the original units) or none",
             NULL),
    CLI_FLAG("header", "MODE", "auto", "CSV header row: auto, yes or no", NULL),
    CLI_FLAG("delimiter", "CHAR", "auto",
             "CSV delimiter: auto (',' ';' or tab, else runs of spaces), tab, space or one character", NULL),
    CLI_FLAG("skip-rows", "N", "0", "CSV: lines to skip before the first row (metadata, comments)", NULL),
    CLI_FLAG("val-split", "N|FRACTION", "0",
             "N rows (or this fraction, 0 < FRACTION < 1) of the training data become the validation "
             "set; 0: none",
             NULL),
    CLI_FLAG("val-from", "WHERE", "random",
             "where --val-split takes its rows: random (drawn with --seed, stratified by class) or tail "
             "(the last rows, as Keras's validation_split)",
             NULL),
    CLI_FLAG(
        "layers", "SPEC", NULL,
        "required: layer widths from input to output, e.g. 784-30-10; the first must equal the "
        "data's features, the last its classes (or targets)",
        "Model"),
    CLI_FLAG("act", "NAME", "sigmoid",
             "hidden-layer activation: sigmoid, tanh, relu, leaky_relu, linear", NULL),
    CLI_FLAG(
        "out-act", "NAME", "auto",
        "output activation (sigmoid, tanh, relu, leaky_relu, linear, softmax); auto: softmax to "
        "classify, linear to regress",
        NULL),
    CLI_FLAG(
        "loss", "NAME", "auto",
        "quadratic, mse, bce or cce; auto: cce after softmax, bce after sigmoid when classifying, "
        "else mse",
        NULL),
    CLI_FLAG("init", "NAME", "auto",
             "weight init: auto (he for relu nets, else glorot), normal, glorot, he", NULL),
    CLI_FLAG("norm", "MODE", "scale",
             "input normalization fitted on the training set and stored in the model: none, scale "
             "(min-max to [0,1]), standard (per-feature z-score)",
             NULL),
    CLI_FLAG("opt", "NAME", "sgd", "optimizer: sgd, rmsprop, adam", "Optimizer"),
    CLI_FLAG("lr", "RATE", "auto", "learning rate; auto: 0.01 for sgd, 0.001 for rmsprop and adam",
             NULL),
    CLI_FLAG("momentum", "M", "0", "sgd momentum", NULL),
    CLI_FLAG("nesterov", NULL, NULL, "sgd: Nesterov momentum", NULL),
    CLI_FLAG("rho", "R", "0.9", "rmsprop decay", NULL),
    CLI_FLAG("beta1", "B", "0.9", "adam first-moment decay", NULL),
    CLI_FLAG("beta2", "B", "0.999", "adam second-moment decay", NULL),
    CLI_FLAG("eps", "E", "1e-7", "rmsprop and adam epsilon", NULL),
    CLI_FLAG("l2", "L", "0", "L2 weight decay (weights, not biases)", NULL),
    CLI_FLAG("sched", "NAME", "constant",
             "learning-rate schedule: constant, step, exponential, plateau", "Schedule"),
    CLI_FLAG("sched-factor", "F", "auto",
             "rate multiplier; auto: 0.5 for step and plateau, 0.95 for exponential", NULL),
    CLI_FLAG("sched-step", "N", "10", "step: epochs between cuts", NULL),
    CLI_FLAG("sched-patience", "N", "3", "plateau: epochs without improvement before a cut", NULL),
    CLI_FLAG("min-lr", "RATE", "0", "lower bound for scheduled rates", NULL),
    CLI_FLAG("batch", "N", "32", "mini-batch size", "Training loop"),
    CLI_FLAG("epochs", "N", "10", "epochs to train (with --resume: the total, counting those done)",
             NULL),
    CLI_FLAG("seed", "N", "1",
             "random seed for init and shuffling (same seed and threads give the same result)",
             NULL),
    CLI_FLAG("threads", "N|auto", "1",
             "compute threads (exactly N); 0: one per CPU core; auto: calibrated on this net and batch "
             "(cached per machine)",
             NULL),
    CLI_FLAG("precision", "P", "fp32",
             "products in fp32, or bf16 (AVX512_BF16 dot products, float32 sums, weights and optimizer; "
             "an error where the CPU lacks it); auto: bf16 where the CPU has it",
             NULL),
    CLI_FLAG("no-shuffle", NULL, NULL, "keep the training rows in file order", NULL),
    CLI_DEVICE_FLAGS,
    CLI_FLAG("early-stop", "PATIENCE", "0",
             "stop after PATIENCE epochs without improvement of --es-metric; 0: off",
             "Early stopping"),
    CLI_FLAG("es-metric", "NAME", "auto",
             "val_loss, val_acc, loss or acc; auto: val_loss with a validation set, else loss",
             NULL),
    CLI_FLAG("es-min-delta", "D", "0", "smallest change that counts as an improvement", NULL),
    CLI_FLAG("no-restore-best", NULL, NULL,
             "keep the last epoch's weights instead of the best epoch's", NULL),
    CLI_FLAG("save", "FILE", "none", "write the trained model to FILE", "Output"),
    CLI_FLAG(
        "checkpoint", "FILE", "auto",
        "write checkpoints (model and optimizer state, for --resume) at most every "
        "--checkpoint-every seconds, after the last epoch and when stopped by Ctrl-C; auto: "
        "<save>.ckpt with --save, else none",
        NULL),
    CLI_FLAG("checkpoint-every", "SECONDS", "30",
             "least time between two periodic checkpoints; 0: after every epoch", NULL),
    CLI_FLAG("resume", "FILE", "none", "continue training from this checkpoint up to --epochs",
             NULL),
    CLI_FLAG("metrics", "FILE", "none", "append one JSON line per epoch to FILE", NULL),
    CLI_FLAG(
        "run", "NAME", "auto",
        "run name in --metrics lines; auto: the --save file name without extension, else \"run\"",
        NULL),
    CLI_FLAG("quiet", NULL, NULL, "print nothing but errors", NULL),
    CLI_FLAG("progress", NULL, NULL, "also print the running loss ten times per epoch", NULL),
    CLI_FLAG("dashboard", NULL, NULL,
             "serve a live dashboard while training and print its URL; --dashboard=PORT picks the "
             "port (otherwise 6150 or the next free one; 0: any free port); see docs/dashboard.md",
             "Dashboard"),
    CLI_FLAG("bind", "ADDR", "127.0.0.1",
             "dashboard address; one that is not loopback (e.g. 0.0.0.0) needs a token", NULL),
    CLI_FLAG("token", "TOKEN", "auto",
             "dashboard token, required in the URL (?token=TOKEN); auto: generated for a "
             "non-loopback --bind, none on loopback",
             NULL),
    CLI_FLAG("allow-host", "NAME", NULL,
             "also accept this Host header (repeatable), e.g. localhost:8000 behind an SSH tunnel "
             "or a proxy; NAME without :PORT: any port",
             NULL),
    CLI_FLAG("linger", "SECONDS", "0",
             "keep the dashboard up this long after training ends; -1: until Ctrl-C", NULL),
    CLI_FLAG("layer-stats", NULL, NULL,
             "add per-layer RMS of weights and gradients (w_rms, g_rms) to --metrics lines; on "
             "with --dashboard",
             NULL),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

#define N_FLAGS ((int)(sizeof train_flags / sizeof train_flags[0]))

static const char SUMMARY[] =
    "Trains a dense network and optionally saves it. Data comes from a built-in set\n"
    "(--data) or from files (--train, --test). Every flag may also be given in a JSON\n"
    "file (--config). One line per epoch is printed; --metrics writes JSON Lines.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 3 training\n"
    "diverged, 4 internal error.";

/* ------------------------------------------------------------------ epoch callbacks */

typedef struct train_ctx {
    int quiet, progress, regress;
    int total_epochs, width;
    long every;
    FILE *metrics;
    const char *metrics_path;
    int metrics_errno; /* set when a metrics line could not be written */
    const char *run;
    dash_train *dash;  /* dashboard and progress bar (src/dash), or NULL */
    mlpc_net *net;     /* for --layer-stats */
    int layer_stats;
} train_ctx;

static int digits(int v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static int on_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *user)
{
    (void)tr;
    train_ctx *x = user;
    if (x->quiet || !x->progress) return 0;
    if (b->batch % x->every != 0 && b->batch != b->n_batches) return 0;
    if (x->regress || isnan(b->run_acc))
        printf("  epoch %*d  batch %*ld/%ld  loss %.4g  %.2fs\n", x->width, b->epoch,
               digits((int)b->n_batches), b->batch, b->n_batches, b->run_loss, b->seconds);
    else
        printf("  epoch %*d  batch %*ld/%ld  loss %.4f  acc %.4f  %.2fs\n", x->width, b->epoch,
               digits((int)b->n_batches), b->batch, b->n_batches, b->run_loss, b->run_acc,
               b->seconds);
    fflush(stdout);
    return 0;
}

static double unix_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int on_epoch(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    (void)tr;
    train_ctx *x = user;
    dash_train_epoch_begin(x->dash);
    if (!x->quiet) {
        if (x->regress) {
            printf("epoch %*d/%d  loss %.4g", x->width, e->epoch, x->total_epochs, e->loss);
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
        sb_printf(&b, "%.3f", unix_time());
        sb_kint(&b, "epoch", e->epoch);
        sb_knum(&b, "loss", e->loss);
        sb_knum(&b, "acc", e->acc);
        sb_knum(&b, "val_loss", e->val_loss);
        sb_knum(&b, "val_acc", e->val_acc);
        sb_knum(&b, "test_loss", e->test_loss);
        sb_knum(&b, "test_acc", e->test_acc);
        if (x->regress) {
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

/* ------------------------------------------------------------------ helpers */

/* Ctrl-C and SIGTERM while training: the trainer stops at the next batch
 * boundary (mlpc_trainer_interrupt is async-signal-safe), the model is
 * evaluated and saved as after any early stop, and the command exits
 * 128 + the signal's number. */
static mlpc_trainer *volatile sig_trainer;
static volatile sig_atomic_t sig_caught;

static void on_stop_signal(int sig)
{
    if (!sig_caught) sig_caught = sig;
    if (sig_trainer) mlpc_trainer_interrupt(sig_trainer);
}

static void catch_stop_signals(mlpc_trainer *tr, struct sigaction old[2])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sig_caught = 0;
    sig_trainer = tr;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void release_stop_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sig_trainer = NULL;
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

static const char *src_name(const mlpc_dataset *d, const char *fallback)
{
    const char *s = mlpc_dataset_source(d);
    return s && *s ? s : fallback;
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

static void eval_text(const char *name, const mlpc_eval *e, int regress)
{
    if (regress)
        printf("  %s_loss %.4g  %s_mse %.4g", name, e->loss, name, e->mse);
    else
        printf("  %s_loss %.4f  %s_acc %.4f", name, e->loss, name, e->acc);
}

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

/* Settings that cannot work together, refused before any data is read (see
 * the table in docs/cli.md). out_act and loss are -1 for auto (resolved
 * here when the other one needs it). Returns 0 or CLI_EXIT_USAGE. */
static int check_combinations(cli_cmd *c, int regress, int *out_act, int *loss,
                              const mlpc_config *cfg)
{
#define G(n) cli_flag_get(c, n)
    char a[600], b[600];
    int oa = *out_act, lo = *loss;
    /* auto output activation follows an explicit loss */
    if (oa < 0 && lo == MLPC_LOSS_BCE) oa = MLPC_ACT_SIGMOID;
    if (oa < 0 && lo == MLPC_LOSS_CCE && !regress) oa = MLPC_ACT_SOFTMAX;
    /* mse or quadratic when classifying: sigmoid outputs (softmax needs cce) */
    if (oa < 0 && lo >= 0 && !regress) oa = MLPC_ACT_SIGMOID;
    if (lo >= 0) {
        const char *want = NULL;
        if (lo == MLPC_LOSS_CCE && oa >= 0 && oa != MLPC_ACT_SOFTMAX) want = "softmax";
        if (lo == MLPC_LOSS_BCE && oa >= 0 && oa != MLPC_ACT_SIGMOID) want = "sigmoid";
        if (want) {
            cli_error(c, "%s %s needs %s %s, not %s (see the table in docs/cli.md)",
                      flag_where(G("loss"), a, sizeof a), mlpc_loss_name((mlpc_loss)lo),
                      flag_where(G("out-act"), b, sizeof b), want, mlpc_act_name((mlpc_act)oa));
            return CLI_EXIT_USAGE;
        }
    }
    if (oa == MLPC_ACT_SOFTMAX && lo >= 0 && lo != MLPC_LOSS_CCE) {
        cli_error(c, "%s softmax needs %s cce, not %s (see the table in docs/cli.md)",
                  flag_where(G("out-act"), a, sizeof a), flag_where(G("loss"), b, sizeof b),
                  mlpc_loss_name((mlpc_loss)lo));
        return CLI_EXIT_USAGE;
    }
    if (regress && (oa == MLPC_ACT_SOFTMAX || lo == MLPC_LOSS_CCE)) {
        const cli_flag *f = oa == MLPC_ACT_SOFTMAX && G("out-act")->given ? G("out-act") : G("loss");
        cli_error(c, "%s %s: not for regression (%s); use a linear output and mse",
                  flag_where(f, a, sizeof a), f == G("loss") ? "cce" : "softmax",
                  G("task")->given ? "--task regress" : "--data lorenz");
        return CLI_EXIT_USAGE;
    }
    *out_act = oa;
    /* flags that only apply to some optimizers or schedules */
    const char *opt = mlpc_opt_name(cfg->opt), *sched = mlpc_sched_name(cfg->sched);
    if (user_gave(G("nesterov")) && !(cfg->momentum > 0)) {
        cli_error(c, "%s needs --momentum > 0 (%s is %g)", flag_where(G("nesterov"), a, sizeof a),
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
            cli_error(c, "%s applies only to --opt %s, but %s is %s",
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
            cli_error(c, "%s applies only to --sched %s, but %s is %s",
                      flag_where(f, a, sizeof a), sched_only[i].which,
                      flag_where(G("sched"), b, sizeof b), sched);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
#undef G
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

/* The settings stored in the model ("config", shown by mlpc info): a JSON
 * object of this command's flags (keys with '_'), only those that apply, so
 * that `mlpc train --config` accepts it as it is and trains the same net.
 * Data paths are not in it. malloc'ed, NULL when out of memory. */
static char *flag_config_json(const mlpc_config *cfg, int hidden_act, int out_act, int regress,
                              const char *data, const cli_flag *val_split,
                              const cli_flag *n_targets)
{
    sbuf b;
    sb_init(&b);
    b.digits = 7; /* the float32 values as given */
    char layers[MLPC_MAX_LAYERS * 9 + 16];
    size_t lp = 0;
    for (int i = 0; i <= cfg->n_layers; i++)
        lp += (size_t)snprintf(layers + lp, sizeof layers - lp, "%s%d", i ? "-" : "", cfg->sizes[i]);
    sb_raw(&b, "{");
    sb_kstr(&b, "layers", layers);
    sb_kstr(&b, "act", mlpc_act_name((mlpc_act)hidden_act));
    sb_kstr(&b, "out_act", mlpc_act_name((mlpc_act)out_act));
    sb_kstr(&b, "loss", mlpc_loss_name(cfg->loss));
    sb_kstr(&b, "init", mlpc_init_name(cfg->init));
    sb_kstr(&b, "norm", mlpc_norm_name(cfg->norm));
    sb_kstr(&b, "opt", mlpc_opt_name(cfg->opt));
    sb_knum(&b, "lr", cfg->lr);
    if (cfg->opt == MLPC_OPT_SGD) {
        sb_knum(&b, "momentum", cfg->momentum);
        if (cfg->momentum > 0) sb_raw(&b, cfg->nesterov ? ",\"nesterov\":true" : ",\"nesterov\":false");
    } else {
        if (cfg->opt == MLPC_OPT_RMSPROP) sb_knum(&b, "rho", cfg->rho);
        if (cfg->opt == MLPC_OPT_ADAM) {
            sb_knum(&b, "beta1", cfg->beta1);
            sb_knum(&b, "beta2", cfg->beta2);
        }
        sb_knum(&b, "eps", cfg->eps);
    }
    sb_knum(&b, "l2", cfg->l2);
    sb_kstr(&b, "sched", mlpc_sched_name(cfg->sched));
    if (cfg->sched != MLPC_SCHED_CONSTANT) {
        sb_knum(&b, "sched_factor", cfg->sched_factor);
        sb_knum(&b, "min_lr", cfg->min_lr);
    }
    if (cfg->sched == MLPC_SCHED_STEP) sb_kint(&b, "sched_step", cfg->sched_step);
    if (cfg->sched == MLPC_SCHED_PLATEAU) sb_kint(&b, "sched_patience", cfg->sched_patience);
    sb_kint(&b, "batch", cfg->batch);
    sb_kint(&b, "epochs", cfg->epochs);
    sb_key(&b, "seed");
    sb_printf(&b, "%llu", (unsigned long long)cfg->seed);
    sb_kint(&b, "threads", cfg->threads);
    sb_raw(&b, cfg->shuffle ? ",\"no_shuffle\":false" : ",\"no_shuffle\":true");
    if (val_split->given) sb_kstr(&b, "val_split", val_split->value);
    if (!data) {
        sb_kstr(&b, "task", regress ? "regress" : "classify");
        if (regress && n_targets->given) sb_kstr(&b, "n_targets", n_targets->value);
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

/* ------------------------------------------------------------------ the command */

int cmd_train(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "train", "mlpc train --layers SPEC (--data NAME | --train FILE [--test FILE]) [flags]", SUMMARY, train_flags, N_FLAGS, 0);

    mlpc_dataset *train = NULL, *val = NULL, *test = NULL;
    mlpc_net *net = NULL;
    mlpc_trainer *tr = NULL;
    cli_names train_names = {NULL, 0};
    dash_train *dash = NULL;
    int dash_port = -1;
    char dash_err[512];
    FILE *metrics = NULL;
    const char *metrics_path = NULL;
    char *ckpt_auto = NULL, *run_auto = NULL, *cfg_json = NULL;
    sbuf mj;
    sb_init(&mj);
    mj.digits = 9; /* float32 values exactly */
    mlpc_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    struct sigaction old_sigs[2];
    int sigs_caught = 0; /* old_sigs holds the handlers to put back */
    if (dash_take_port_arg(argc, argv, &dash_port, dash_err, sizeof dash_err)) {
        cli_error(&c, "%s", dash_err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
#define F(n) cli_flag_get(&c, n)
    if (F("config")->given) {
        static const char *const deny[] = {"config", "help", NULL};
        rc = cli_config_apply(&c, F("config")->value, deny);
        if (rc) goto done;
    }

    /* ---- 1. every flag's value, before touching any data */
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    int v;
    double d;

    const char *layers = F("layers")->value;
    if (!layers || !*layers) {
        cli_error(&c, "--layers is required, e.g. --layers 784-30-10 (see mlpc train --help)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    {
        mlpc_config probe = cfg;
        if (mlpc_config_set_layers(&probe, layers, &err) != MLPC_OK) {
            rc = cli_bad_value(&c, F("layers"), "%s", err.msg[0] ? err.msg : "bad layer spec");
            goto done;
        }
    }
    int hidden_act, out_act = -1, loss = -1, es_metric = -1;
    if ((rc = cli_enum_parse(&c, F("act"), CLI_E_ACT, &hidden_act))) goto done;
    if (hidden_act == MLPC_ACT_SOFTMAX) {
        rc = cli_bad_value(&c, F("act"), "softmax is only for the output layer (--out-act)");
        goto done;
    }
    if (!cli_is(F("out-act"), "auto") &&
        (rc = cli_enum_parse(&c, F("out-act"), CLI_E_ACT, &out_act)))
        goto done;
    if (!cli_is(F("loss"), "auto") && (rc = cli_enum_parse(&c, F("loss"), CLI_E_LOSS, &loss)))
        goto done;
    if ((rc = cli_enum_parse(&c, F("init"), CLI_E_INIT, &v))) goto done;
    cfg.init = (mlpc_init)v;
    if ((rc = cli_enum_parse(&c, F("norm"), CLI_E_NORM, &v))) goto done;
    cfg.norm = (mlpc_norm)v;
    if ((rc = cli_enum_parse(&c, F("opt"), CLI_E_OPT, &v))) goto done;
    cfg.opt = (mlpc_opt)v;
    if (cli_is(F("lr"), "auto")) {
        cfg.lr = cfg.opt == MLPC_OPT_SGD ? 0.01f : 0.001f;
    } else {
        if ((rc = cli_float(&c, F("lr"), 1, &d))) goto done;
        cfg.lr = (float)d;
    }
    if ((rc = cli_float(&c, F("momentum"), 2, &d))) goto done;
    cfg.momentum = (float)d;
    cfg.nesterov = F("nesterov")->on;
    if ((rc = cli_float(&c, F("rho"), 1, &d))) goto done;
    cfg.rho = (float)d;
    if ((rc = cli_float(&c, F("beta1"), 2, &d))) goto done;
    cfg.beta1 = (float)d;
    if ((rc = cli_float(&c, F("beta2"), 2, &d))) goto done;
    cfg.beta2 = (float)d;
    if ((rc = cli_float(&c, F("eps"), 1, &d))) goto done;
    cfg.eps = (float)d;
    if ((rc = cli_float(&c, F("l2"), 2, &d))) goto done;
    cfg.l2 = (float)d;
    if ((rc = cli_enum_parse(&c, F("sched"), CLI_E_SCHED, &v))) goto done;
    cfg.sched = (mlpc_sched)v;
    if (cli_is(F("sched-factor"), "auto")) {
        cfg.sched_factor = cfg.sched == MLPC_SCHED_EXPONENTIAL ? 0.95f : 0.5f;
    } else {
        if ((rc = cli_float(&c, F("sched-factor"), 1, &d))) goto done;
        cfg.sched_factor = (float)d;
    }
    if ((rc = cli_int(&c, F("sched-step"), 1, 1000000000, &cfg.sched_step))) goto done;
    if ((rc = cli_int(&c, F("sched-patience"), 0, 1000000000, &cfg.sched_patience))) goto done;
    if ((rc = cli_float(&c, F("min-lr"), 2, &d))) goto done;
    cfg.min_lr = (float)d;
    if ((rc = cli_int(&c, F("batch"), 1, 1 << 24, &cfg.batch))) goto done;
    if ((rc = cli_int(&c, F("epochs"), 1, 100000000, &cfg.epochs))) goto done;
    if ((rc = cli_u64(&c, F("seed"), &cfg.seed))) goto done;
    int threads_auto = cli_is(F("threads"), "auto");
    if (threads_auto)
        cfg.threads = 1; /* decided after the layers are known */
    else if ((rc = cli_threads(&c, F("threads"), &cfg.threads)))
        goto done;
    cfg.shuffle = !F("no-shuffle")->on;
    if (mlpc_precision_parse(F("precision")->value, &cfg.precision)) {
        rc = cli_bad_value(&c, F("precision"), "unknown precision (fp32, bf16, auto)");
        goto done;
    }
    if ((rc = cli_int(&c, F("early-stop"), 0, 1000000000, &cfg.es_patience))) goto done;
    if (!cli_is(F("es-metric"), "auto") &&
        (rc = cli_enum_parse(&c, F("es-metric"), CLI_E_METRIC, &es_metric)))
        goto done;
    if ((rc = cli_float(&c, F("es-min-delta"), 2, &d))) goto done;
    cfg.es_min_delta = (float)d;
    cfg.es_restore_best = !F("no-restore-best")->on;

    /* data flags */
    const char *data = F("data")->value;
    const char *train_path = F("train")->value, *train_labels = F("train-labels")->value;
    const char *test_path = F("test")->value, *test_labels = F("test-labels")->value;
    mlpc_csv_options csv;
    mlpc_csv_options_default(&csv);
    if ((rc = cli_csv_dialect(&c, &csv))) goto done;
    if ((rc = cli_task(&c, F("task"), &csv.task))) goto done;
    if ((rc = cli_int(&c, F("n-targets"), 1, MLPC_MAX_WIDTH, &csv.n_targets))) goto done;
    if ((rc = cli_target_spec(&c, &csv.label_col))) goto done;
    if ((rc = cli_missing(&c, F("missing"), NULL, &csv.missing))) goto done;
    int target_norm = MLPC_NORM_STANDARD;
    if (cli_is(F("target-norm"), "none")) target_norm = MLPC_NORM_NONE;
    else if (!cli_is(F("target-norm"), "standard")) {
        rc = cli_bad_value(&c, F("target-norm"), "must be standard or none");
        goto done;
    }
    if (train_labels && !train_path) {
        cli_error(&c, "--train-labels: needs --train FILE");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (test_labels && !test_path) {
        cli_error(&c, "--test-labels: needs --test FILE");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (data) {
        if (!cli_builtin_known(data)) {
            rc = cli_bad_value(&c, F("data"), "unknown data set (mnist, fashion-mnist, lorenz)");
            goto done;
        }
        static const char *const file_only[] = {"train", "train-labels", "test",    "test-labels", "label-col",
                                                "task",  "n-targets",    "header",  "target",      "missing"};
        for (size_t i = 0; i < sizeof file_only / sizeof file_only[0]; i++) {
            if (F(file_only[i])->given) {
                cli_error(&c, "--%s: not used with --data %s (give either --data or --train FILE)",
                          file_only[i], data);
                rc = CLI_EXIT_USAGE;
                goto done;
            }
        }
    } else if (!train_path) {
        cli_error(&c, "no training data: give --data NAME or --train FILE (see mlpc train --help)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (F("n-targets")->given && csv.task != MLPC_TASK_REGRESS) {
        cli_error(&c, "--n-targets: only with --task regress");
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    /* validation split: N rows or a fraction */
    size_t val_n = 0;
    double val_frac = 0;
    {
        cli_flag *f = F("val-split");
        const char *s = f->value ? f->value : "0";
        if (strpbrk(s, ".eE")) {
            if ((rc = cli_float(&c, f, 2, &val_frac))) goto done;
            if (!(val_frac > 0 && val_frac < 1) && val_frac != 0) {
                rc = cli_bad_value(&c, f, "a fraction must be between 0 and 1");
                goto done;
            }
        } else {
            int n;
            if ((rc = cli_int(&c, f, 0, 2000000000, &n))) goto done;
            val_n = (size_t)n;
        }
        if ((val_n || val_frac > 0) && data && !strcmp(data, "lorenz")) {
            rc = cli_bad_value(&c, f, "--data lorenz has its own validation set");
            goto done;
        }
    }
    int has_val = val_n > 0 || val_frac > 0 || (data && !strcmp(data, "lorenz"));
    cli_device dev;
    if ((rc = cli_device_setup(&c, F("quiet")->on, &dev))) goto done;
    if (es_metric >= 0 && !has_val &&
        (es_metric == MLPC_METRIC_VAL_LOSS || es_metric == MLPC_METRIC_VAL_ACC)) {
        rc = cli_bad_value(&c, F("es-metric"), "needs a validation set (--val-split N)");
        goto done;
    }

    if ((rc = check_combinations(&c, csv.task == MLPC_TASK_REGRESS ||
                                         (data && !strcmp(data, "lorenz")),
                                 &out_act, &loss, &cfg)))
        goto done;

    /* outputs */
    const char *save = opt_path(F("save"));
    const char *resume = opt_path(F("resume"));
    metrics_path = opt_path(F("metrics"));
    const char *ckpt = NULL;
    if (cli_is(F("checkpoint"), "auto")) {
        if (save) {
            size_t n = strlen(save) + 6;
            ckpt_auto = malloc(n);
            if (!ckpt_auto) {
                cli_error(&c, "out of memory");
                rc = CLI_EXIT_INTERNAL;
                goto done;
            }
            snprintf(ckpt_auto, n, "%s.ckpt", save);
            ckpt = ckpt_auto;
        }
    } else {
        ckpt = opt_path(F("checkpoint"));
    }
    const char *run = F("run")->value;
    if (cli_is(F("run"), "auto")) {
        run = "run";
        if (save) {
            const char *base = strrchr(save, '/');
            base = base ? base + 1 : save;
            size_t n = strlen(base);
            const char *dot = strrchr(base, '.');
            if (dot && dot != base) n = (size_t)(dot - base);
            run_auto = malloc(n + 1);
            if (run_auto) {
                memcpy(run_auto, base, n);
                run_auto[n] = '\0';
                run = run_auto;
            }
        }
    }
    {
        /* outputs never overwrite inputs (the checkpoint may be the one resumed from) */
        cli_path paths[] = {
            {"train", train_path, 0, NULL},       {"train-labels", train_labels, 0, NULL},
            {"test", test_path, 0, NULL},         {"test-labels", test_labels, 0, NULL},
            {"config", opt_path(F("config")), 0, NULL}, {"resume", resume, 0, "checkpoint"},
            {"save", save, 1, NULL},              {"checkpoint", ckpt, 1, "resume"},
            {"metrics", metrics_path, 1, NULL},
        };
        if ((rc = cli_check_distinct(&c, paths, (int)(sizeof paths / sizeof paths[0])))) goto done;
    }
    double ckpt_every = 30;
    if ((rc = cli_float(&c, F("checkpoint-every"), 2, &ckpt_every))) goto done;
    if (F("checkpoint-every")->given && !ckpt) {
        cli_error(&c, "--checkpoint-every: needs --checkpoint FILE or --save FILE");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (save && (rc = check_output_dir(&c, "save", save))) goto done;
    if (ckpt && (rc = check_output_dir(&c, "checkpoint", ckpt))) goto done;
    if (metrics_path && (rc = check_output_dir(&c, "metrics", metrics_path))) goto done;
    if (resume && (rc = cli_check_input(&c, "resume", resume))) goto done;
    int quiet = F("quiet")->on, progress = F("progress")->on;
    dash_train_opts dopt;
    memset(&dopt, 0, sizeof dopt);
    dopt.dashboard = F("dashboard")->on;
    dopt.server.port = dash_port;
    dopt.server.bind = F("bind")->value;
    dopt.server.token = cli_is(F("token"), "auto") ? NULL : F("token")->value;
    if ((rc = cli_float(&c, F("linger"), 0, &d))) goto done;
    dopt.linger = d;
    const char *allow_hosts[DASH_MAX_ALLOW_HOSTS + 1];
    dopt.server.n_allow_hosts =
        cli_collect(argc, argv, "allow-host", allow_hosts, DASH_MAX_ALLOW_HOSTS + 1);
    if (dopt.server.n_allow_hosts == 0 && F("allow-host")->given) { /* from --config */
        allow_hosts[0] = F("allow-host")->value;
        dopt.server.n_allow_hosts = 1;
    }
    if (dopt.server.n_allow_hosts > DASH_MAX_ALLOW_HOSTS)
        dopt.server.n_allow_hosts = DASH_MAX_ALLOW_HOSTS + 1; /* refused by the check */
    dopt.server.allow_hosts = allow_hosts;
    if (F("allow-host")->given && !dopt.dashboard) {
        cli_error(&c, "--allow-host: only with --dashboard");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (dopt.dashboard && dash_server_check(&dopt.server, dash_err, sizeof dash_err)) {
        cli_error(&c, "%s", dash_err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    /* ---- 2. data */
    const char *data_name = data ? data : train_path;
    if (data) {
        rc = cli_load_builtin(&c, data, &train, &val, strcmp(data, "lorenz") ? &test : NULL);
        if (rc) goto done;
    } else {
        if ((rc = cli_load_files(&c, "train", train_path, "train-labels", train_labels, &csv,
                                 &train)))
            goto done;
        if ((rc = cli_data_names(&c, train, &train_names))) goto done;
        if (mlpc_dataset_task(train) == MLPC_TASK_CLASSIFY) cli_csv_classes(&csv, &train_names); /* --test maps through them */
        if (test_path &&
            (rc = cli_load_files(&c, "test", test_path, "test-labels", test_labels, &csv, &test)))
            goto done;
    }
    size_t n_rows = mlpc_dataset_rows(train);
    if (val_n || val_frac > 0) {
        size_t nv = val_n ? val_n : (size_t)llround(val_frac * (double)n_rows);
        if (nv == 0 || nv >= n_rows) {
            char what[64];
            snprintf(what, sizeof what, "%zu", n_rows);
            rc = cli_bad_value(&c, F("val-split"),
                               nv == 0 ? "leaves no validation rows (of %s)"
                                       : "must leave training rows (the data has %s rows)",
                               what);
            goto done;
        }
        int shuffle = cli_is(F("val-from"), "random");
        if (!shuffle && !cli_is(F("val-from"), "tail")) {
            rc = cli_bad_value(&c, F("val-from"), "must be random or tail");
            goto done;
        }
        mlpc_dataset *a = NULL, *b = NULL;
        if (mlpc_dataset_split(train, nv, shuffle, cfg.seed, &a, &b, &err) != MLPC_OK) {
            rc = cli_lib_error(&c, NULL, err.code, err.msg);
            goto done;
        }
        mlpc_dataset_free(train);
        train = a;
        val = b;
    }
    const char *train_src = src_name(train, data_name);
    size_t n_in = mlpc_dataset_features(train), n_out = mlpc_dataset_outputs(train);
    mlpc_task task = mlpc_dataset_task(train);
    int regress = task == MLPC_TASK_REGRESS;
    const mlpc_dataset *others[2] = {val, test};
    for (int i = 0; i < 2; i++) {
        const mlpc_dataset *o = others[i];
        if (!o) continue;
        const char *what = i == 0 ? "validation" : "--test";
        if (mlpc_dataset_features(o) != n_in) {
            cli_error(&c, "%s data %s: %zu features, but the training data %s has %zu", what,
                      src_name(o, "?"), mlpc_dataset_features(o), train_src, n_in);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        if (mlpc_dataset_task(o) != task || (regress && mlpc_dataset_outputs(o) != n_out)) {
            cli_error(&c, "%s data %s: its targets do not match the training data %s", what,
                      src_name(o, "?"), train_src);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
    }

    /* ---- 3. the net's shape, resolved against the data */
    if (out_act < 0) out_act = regress ? MLPC_ACT_LINEAR : MLPC_ACT_SOFTMAX;
    if (loss < 0) {
        if (!regress && out_act == MLPC_ACT_SOFTMAX)
            loss = MLPC_LOSS_CCE;
        else if (!regress && out_act == MLPC_ACT_SIGMOID)
            loss = MLPC_LOSS_BCE;
        else
            loss = MLPC_LOSS_MSE;
    }
    cfg.loss = (mlpc_loss)loss;
    if (es_metric < 0) es_metric = has_val ? MLPC_METRIC_VAL_LOSS : MLPC_METRIC_LOSS;
    if (regress && (es_metric == MLPC_METRIC_VAL_ACC || es_metric == MLPC_METRIC_ACC)) {
        rc = cli_bad_value(&c, F("es-metric"), "accuracy is not defined for regression (use %s)",
                           es_metric == MLPC_METRIC_ACC ? "loss" : "val_loss");
        goto done;
    }
    cfg.es_metric = (mlpc_metric)es_metric;
    if (mlpc_config_set_layers(&cfg, layers, &err) != MLPC_OK) {
        rc = cli_bad_value(&c, F("layers"), "%s", err.msg[0] ? err.msg : "bad layer spec");
        goto done;
    }
    mlpc_config_set_acts(&cfg, (mlpc_act)hidden_act, (mlpc_act)out_act);
    if ((size_t)cfg.sizes[0] != n_in) {
        cli_error(&c, "--layers: input width %d does not match the %zu features of %s",
                  cfg.sizes[0], n_in, train_src);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    {
        size_t last = (size_t)cfg.sizes[cfg.n_layers];
        if (regress ? last != n_out : last < n_out) {
            cli_error(&c, "--layers: output width %zu does not match the %zu %s of %s", last, n_out,
                      regress ? "targets" : "classes", train_labels ? train_labels : train_src);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
    }

    if (mlpc_config_validate(&cfg, &err) != MLPC_OK) {
        cli_error(&c, "%s", err.msg[0] ? err.msg : "invalid settings");
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    if (threads_auto && cli_threads_auto(&cfg, quiet, &cfg.threads, &err)) {
        rc = cli_lib_error(&c, NULL, err.code, err.msg);
        goto done;
    }

    /* ---- 4. net, normalization, trainer */
    net = mlpc_net_create(&cfg, &err);
    if (!net) {
        rc = cli_lib_error(&c, NULL, err.code, err.msg);
        goto done;
    }
    mlpc_dataset *sets[3] = {train, val, test};
    {
        cli_prep prep = {csv.missing, (mlpc_norm)target_norm, cfg.norm, (mlpc_act)out_act,
                         train_labels ? train_labels : train_src};
        if ((rc = cli_train_prepare(&c, net, sets, &prep))) goto done;
    }
    mlpc_status st;
    tr = mlpc_trainer_create(net, &cfg, &err);
    if (!tr) {
        rc = cli_lib_error(&c, NULL, err.code, err.msg);
        goto done;
    }
    /* the task and the rows' fingerprint go into every checkpoint (a sigmoid
     * output with the quadratic cost classifies, as in W1); the final
     * metrics replace them in the saved model */
    char run_meta[256];
    start_meta(run_meta, sizeof run_meta, regress, train, val ? mlpc_dataset_rows(val) : 0);
    if ((st = mlpc_net_set_meta(net, "metrics", run_meta))) {
        rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
        goto done;
    }
    st = mlpc_trainer_set_data(tr, train, val, test);
    if (st != MLPC_OK) {
        rc = cli_lib_error(&c, NULL, st, mlpc_trainer_error(tr)->msg);
        goto done;
    }
    if (dev.dev.kind != MLPC_DEVICE_CPU) {
        st = mlpc_trainer_set_device(tr, &dev.dev, dev.mem_limit);
        if (st != MLPC_OK) {
            cli_error(&c, "--device %s: %s", F("device")->value, mlpc_trainer_error(tr)->msg);
            rc = st == MLPC_ERR_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
            goto done;
        }
    }
    cli_device_log(&c, &dev, net, cfg.threads, 1);
    if (metrics_path) {
        metrics = fopen(metrics_path, "a");
        if (!metrics) {
            cli_error(&c, "--metrics %s: %s", metrics_path, strerror(errno));
            rc = CLI_EXIT_INPUT;
            goto done;
        }
    }
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.quiet = quiet;
    ctx.progress = progress;
    ctx.regress = regress;
    ctx.total_epochs = cfg.epochs;
    ctx.width = digits(cfg.epochs);
    ctx.metrics = metrics;
    ctx.metrics_path = metrics_path;
    ctx.run = run;
    {
        size_t rows = mlpc_dataset_rows(train);
        long nb = (long)((rows + (size_t)cfg.batch - 1) / (size_t)cfg.batch);
        ctx.every = nb / 10 > 0 ? nb / 10 : 1;
    }
    ctx.net = net;
    ctx.layer_stats = F("layer-stats")->on || dopt.dashboard;
    dopt.quiet = quiet;
    dopt.bar = -1;
    dopt.run = run;
    dopt.metrics = metrics_path;
    dopt.regress = regress;
    dopt.epochs = cfg.epochs;
    dopt.batch = cfg.batch;
    dopt.n_batches = (long)((mlpc_dataset_rows(train) + (size_t)cfg.batch - 1) / (size_t)cfg.batch);
    dopt.next = progress && !quiet ? on_batch : NULL;
    dopt.next_user = &ctx;
    dash = ctx.dash = dash_train_start(tr, net, &dopt, dash_err, sizeof dash_err, &rc);
    if (!dash) {
        cli_error(&c, "%s", dash_err);
        goto done;
    }
    mlpc_trainer_on_epoch(tr, on_epoch, &ctx);
    if (ckpt) {
        mlpc_trainer_set_checkpoint(tr, ckpt);
        mlpc_trainer_set_checkpoint_every(tr, ckpt_every);
        /* <save>.ckpt: the model's fsyncs in the same folder follow at once */
        if (ckpt == ckpt_auto) mlpc_trainer_set_checkpoint_final_sync(tr, 0);
    }
    char overrides[256] = "";
    if (resume) {
        st = mlpc_trainer_resume(tr, resume);
        if (st != MLPC_OK) {
            rc = cli_lib_error(&c, resume, st, mlpc_trainer_error(tr)->msg);
            goto done;
        }
        if ((rc = resume_same_rows(&c, resume, mlpc_net_meta(net, "metrics"), run_meta))) goto done;
        if ((st = mlpc_net_set_meta(net, "metrics", run_meta))) {
            rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
            goto done;
        }
        resume_overrides(&c, tr, &cfg, overrides, sizeof overrides);
    }

    if (!quiet) {
        printf("run%s%s: layers %s  act %s/%s  loss %s  opt %s  lr %g  batch %d  epochs %d  "
               "threads %d  norm %s  data %s: %zu train",
               strcmp(run, "run") ? " " : "", strcmp(run, "run") ? run : "", layers,
               mlpc_act_name((mlpc_act)hidden_act), mlpc_act_name((mlpc_act)out_act),
               mlpc_loss_name(cfg.loss), mlpc_opt_name(cfg.opt), (double)mlpc_trainer_lr(tr), cfg.batch,
               cfg.epochs, cfg.threads, mlpc_norm_name(cfg.norm), data ? data : train_src,
               mlpc_dataset_rows(train));
        if (val) printf(", %zu val", mlpc_dataset_rows(val));
        if (test) printf(", %zu test", mlpc_dataset_rows(test));
        printf(" rows");
        const char *pwhy = "";
        mlpc_precision prec = mlpc_trainer_precision(tr, &pwhy);
        if (prec != MLPC_PRECISION_FP32 || cfg.precision != MLPC_PRECISION_FP32)
            printf("  precision %s%s%s%s", mlpc_precision_name(prec), *pwhy ? " (" : "", pwhy, *pwhy ? ")" : "");
        if (dev.dev.kind != MLPC_DEVICE_CPU) {
            char dn[32];
            printf("  device %s", mlpc_device_name(&dev.dev, dn, sizeof dn));
        }
        printf("\n");
        const mlpc_dataset *read[3] = {train, val, test};
        for (int i = 0; i < 3; i++) /* every automatic choice made reading a CSV, in one line */
            if (read[i] && *mlpc_dataset_describe(read[i]) && (i != 1 || strcmp(src_name(val, ""), train_src)))
                printf("%s (%s)\n", mlpc_dataset_describe(read[i]), src_name(read[i], "?"));
        if (resume)
            printf("resumed from %s after epoch %d%s\n", resume, mlpc_trainer_epochs_done(tr), overrides);
        fflush(stdout);
    }

    /* ---- 5. train */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    catch_stop_signals(tr, old_sigs);
    sigs_caught = 1;
    st = mlpc_trainer_run(tr);
    if (dev.log && *mlpc_trainer_device_note(tr)) { /* the CUDA graph fallback */
        fflush(stdout);
        fprintf(stderr, "mlpc %s: device: %s\n", c.name, mlpc_trainer_device_note(tr));
        fflush(stderr);
    }
    dash_train_finish(dash, st == MLPC_OK && !mlpc_trainer_stopped(tr)
                                ? DASH_DONE
                                : (st == MLPC_OK || st == MLPC_ERR_STOPPED ? DASH_STOPPED
                                                                           : DASH_FAILED));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (ctx.metrics_errno) {
        cli_error(&c, "--metrics %s: write failed: %s", metrics_path, strerror(ctx.metrics_errno));
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    if (st == MLPC_ERR_DIVERGED) {
        int at = mlpc_trainer_epochs_done(tr) + 1;
        if (ckpt && mlpc_trainer_epochs_done(tr) > 0 && access(ckpt, F_OK) == 0)
            cli_error(&c,
                      "training diverged at epoch %d (loss is NaN); last good checkpoint kept "
                      "at %s",
                      at, ckpt);
        else
            cli_error(&c,
                      "training diverged at epoch %d (loss is NaN); no checkpoint was written%s",
                      at, ckpt ? "" : " (use --checkpoint FILE or --save FILE)");
        rc = CLI_EXIT_DIVERGED;
        goto done;
    }
    if (st != MLPC_OK && st != MLPC_ERR_STOPPED) {
        rc = cli_lib_error(&c, NULL, st, mlpc_trainer_error(tr)->msg);
        goto done;
    }

    /* ---- 6. final metrics of the model as it will be saved. The trainer
     * (and its thread pool) goes first, so the evaluation's threads never
     * run beside the trainer's: --threads N is N threads at every moment. */
    int epochs_done = mlpc_trainer_epochs_done(tr);
    char reason_buf[200] = "";
    if (mlpc_trainer_stopped(tr) && mlpc_trainer_stop_reason(tr))
        snprintf(reason_buf, sizeof reason_buf, "%s", mlpc_trainer_stop_reason(tr));
    const char *reason = reason_buf[0] ? reason_buf : NULL;
    const char *ck_msg = NULL;
    int ck_failed = mlpc_trainer_checkpoint_failures(tr, &ck_msg);
    char ck_last[512];
    snprintf(ck_last, sizeof ck_last, "%s", ck_msg ? ck_msg : "");
    sig_trainer = NULL; /* a late signal must not reach the freed trainer */
    mlpc_trainer_free(tr);
    tr = NULL;
    mlpc_net_set_threads(net, cfg.threads);
    mlpc_eval ev[3];
    const char *names[3] = {"train", "val", "test"};
    for (int i = 0; i < 3; i++) {
        if (!sets[i]) continue;
        st = mlpc_net_evaluate(net, sets[i], &ev[i]);
        if (st != MLPC_OK) {
            rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
            goto done;
        }
    }
    if (!quiet) {
        printf("done: %d epoch%s in %.2fs", epochs_done, epochs_done == 1 ? "" : "s", seconds);
        for (int i = 0; i < 3; i++)
            if (sets[i]) eval_text(names[i], &ev[i], regress);
        if (reason && *reason) printf("  (stopped: %s)", reason);
        printf("\n");
        fflush(stdout);
    }
    if (save) {
        cfg_json = flag_config_json(&cfg, hidden_act, out_act, regress, data, F("val-split"),
                                    F("n-targets"));
        if (!cfg_json) {
            cli_error(&c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        sb_raw(&mj, "{");
        sb_kstr(&mj, "task", regress ? "regress" : "classify");
        sb_kstr(&mj, "data", data ? data : train_src);
        sb_kstr(&mj, "run", run);
        sb_kint(&mj, "epochs", epochs_done);
        sb_knum(&mj, "seconds", seconds);
        if (reason && *reason) sb_kstr(&mj, "stop_reason", reason);
        for (int i = 0; i < 3; i++)
            if (sets[i]) eval_json(&mj, names[i], &ev[i], regress);
        sb_raw(&mj, "}");
        if (mj.oom) {
            cli_error(&c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        if ((st = mlpc_net_set_meta(net, "config", cfg_json)) != MLPC_OK ||
            (st = mlpc_net_set_meta(net, "metrics", mj.s)) != MLPC_OK) {
            rc = cli_lib_error(&c, NULL, st, mlpc_net_error(net)->msg);
            goto done;
        }
        if (mlpc_net_save(net, save, &err) != MLPC_OK) {
            rc = cli_lib_error(&c, save, err.code, err.msg);
            goto done;
        }
        if (!quiet) printf("saved %s\n", save);
    }
    if (sig_caught && ckpt && !quiet && access(ckpt, F_OK) == 0 && epochs_done < cfg.epochs)
        print_resume_command(argc, argv, ckpt);
    rc = sig_caught ? 128 + sig_caught : 0;
    if (ck_failed) { /* training went on; the model is saved; the run still failed to checkpoint */
        cli_error(&c, "%d checkpoint write%s failed (the last: %s)%s", ck_failed, ck_failed == 1 ? "" : "s", ck_last,
                  save ? "; the model was saved" : "");
        rc = CLI_EXIT_INPUT;
    }
#undef F
done:
    if (metrics && fclose(metrics) != 0 && rc == 0) {
        cli_error(&c, "--metrics %s: write failed: %s", metrics_path ? metrics_path : "",
                  strerror(errno));
        rc = CLI_EXIT_INPUT;
    }
    dash_train_free(dash); /* after --linger, if training finished */
    if (sigs_caught) release_stop_signals(old_sigs);
    if (tr) mlpc_trainer_free(tr);
    if (net) mlpc_net_free(net);
    if (train) mlpc_dataset_free(train);
    if (val) mlpc_dataset_free(val);
    if (test) mlpc_dataset_free(test);
    free(ckpt_auto);
    free(run_auto);
    free(train_names.names);
    free(cfg_json);
    sb_free(&mj);
    cli_cmd_free(&c);
    return rc;
}
