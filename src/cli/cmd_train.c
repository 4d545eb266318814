/* cmd_train.c - `mlpc train`: build a net from flags (and a JSON config
 * file), train it on a built-in or file data set, save the model. The
 * flags are here; the phases, one function each, carry a train_job
 * (train_job.h) through train_flags.c, train_data.c and train_run.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/signals.h"
#include "train_job.h"

cli_flag cli_train_flags[] = {
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
             "where --val-split takes its rows: random (drawn with --split-seed, stratified by class) or tail "
             "(the last rows, as Keras's validation_split)",
             NULL),
    CLI_FLAG("split-seed", "N", NULL,
             "seed of the random validation split (default: --seed); mlpc search's trial commands give the "
             "study's, so every trial validates on the same rows",
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

const int cli_train_n_flags = (int)(sizeof cli_train_flags / sizeof cli_train_flags[0]);

static const char SUMMARY[] =
    "Trains a dense network and optionally saves it. Data comes from a built-in set\n"
    "(--data) or from files (--train, --test). Every flag may also be given in a JSON\n"
    "file (--config). One line per epoch is printed; --metrics writes JSON Lines.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 3 training\n"
    "diverged, 4 internal error.";

/* ------------------------------------------------------------------ the command */

/* Releases what the phases got; the exit code, after --metrics is closed. */
static int train_job_free(train_job *j, int rc)
{
    if (j->metrics && fclose(j->metrics) != 0 && rc == 0) {
        cli_error(&j->c, "--metrics %s: write failed: %s", j->metrics_path ? j->metrics_path : "",
                  strerror(errno));
        rc = CLI_EXIT_INPUT;
    }
    train_release_signals(j);
    double linger = dash_train_linger(j->dash); /* --linger, once training finished */
    if (linger != 0) {
        cli_signals_catch(NULL);
        cli_signals_wait(linger);
        cli_signals_restore();
    }
    dash_train_free(j->dash);
    if (j->tr) mlpc_trainer_free(j->tr);
    if (j->net) mlpc_net_free(j->net);
    if (j->train) mlpc_dataset_free(j->train);
    if (j->val) mlpc_dataset_free(j->val);
    if (j->test) mlpc_dataset_free(j->test);
    free(j->ckpt_auto);
    free(j->run_auto);
    free(j->train_names.names);
    free(j->cfg_json);
    sb_free(&j->mj);
    cli_cmd_free(&j->c);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_job job;
    train_job *j = &job;
    memset(j, 0, sizeof *j);
    cli_cmd_init(&j->c, "train", "mlpc train --layers SPEC (--data NAME | --train FILE [--test FILE]) [flags]",
                 SUMMARY, cli_train_flags, cli_train_n_flags, 0);
    j->argc = argc;
    j->argv = argv;
    sb_init(&j->mj);
    j->mj.digits = 9; /* float32 values exactly */
    int rc = train_read_flags(j); /* 1. every flag, before touching any data */
    if (rc < 0) return train_job_free(j, 0); /* --help was shown */
    if (!rc) rc = train_load_data(j);     /* 2. the data */
    if (!rc) rc = train_resolve_shape(j); /* 3. the net's shape, resolved against the data */
    if (!rc) rc = train_build(j);         /* 4. net, normalization, trainer */
    if (!rc) rc = train_run(j);           /* 5. train */
    if (!rc) rc = train_finish(j);        /* 6. final metrics, save */
    return train_job_free(j, rc);
}
