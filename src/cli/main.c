/* main.c - `mlpc`: dispatch to the subcommands, --help and --version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "search/search.h"

static const char USAGE[] =
    "usage: mlpc <command> [flags]\n"
    "\n"
    "Trains dense neural networks (multilayer perceptrons) on the CPU or a CUDA GPU.\n"
    "\n"
    "Commands:\n"
    "  train     train a network on a built-in or file data set, save the model\n"
    "  eval      loss and accuracy (or mse) of a saved model on labelled data\n"
    "  predict   predictions of a saved model for new rows (CSV or .npy)\n"
    "  info      layers, settings and metrics stored in a model file\n"
    "  dashboard live training dashboard in the browser for metrics files on disk\n"
    "  plot      the dashboard's figures from metrics files into a PNG, SVG or PDF\n"
    "  search    parallel hyperparameter search from SPACE.json (SQLite store, MPI)\n"
    "  devices   the CPU and CUDA GPUs mlpc can use (--device), or why there is no GPU\n"
    "  help CMD  the flags of a command (same as mlpc CMD --help)\n"
    "\n"
    "Flags:\n"
    "  --help    show this help and exit\n"
    "  --version print the version and exit\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  bad input file or I/O error (missing, unreadable, malformed, wrong width)\n"
    "  2  usage error (unknown flag, bad value, inconsistent flags)\n"
    "  3  training diverged (the loss became NaN or infinite)\n"
    "  4  internal error (out of memory, unexpected failure)\n"
    "  130, 143  train or search stopped by Ctrl-C or SIGTERM (train saves the model first)\n"
    "Errors are one line on standard error: \"mlpc CMD: what is wrong\".\n"
    "\n"
    "Environment:\n"
    "  MLPC_DATA  folder holding mnist/ and fashion-mnist/ (default: ./data)\n"
    "  MLPC_MAX_INPUT  largest input file, also after gunzip (default: half the memory)\n"
    "  MLPC_CUDA_PLUGIN  path of libmlpc_cuda.so (default: next to mlpc, ../lib, the install libdir)\n"
    "\n"
    "Example:\n"
    "  mlpc train --data mnist --val-split 10000 --layers 784-30-10 --opt sgd --lr 3 \\\n"
    "             --loss quadratic --out-act sigmoid --batch 10 --epochs 30 --save mnist.mlpc\n"
    "  mlpc eval mnist.mlpc --data mnist\n";

typedef int (*cmd_fn)(int, char **);

/* src/cli/cmd_dashboard.c, src/cli/cmd_plot.c (src/dash, docs/dashboard.md) */
int cmd_dashboard(int argc, char **argv);
int cmd_plot(int argc, char **argv);

static const struct {
    const char *name;
    cmd_fn fn;
} COMMANDS[] = {
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"predict", cmd_predict},
    {"info", cmd_info},
    {"dashboard", cmd_dashboard},
    {"plot", cmd_plot},
    {"search", cmd_search},
    {"devices", cmd_devices},
};

static cmd_fn find(const char *name)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(COMMANDS[i].name, name) == 0) return COMMANDS[i].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error_name(NULL, "missing command (train, eval, predict, info; see mlpc --help)");
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("mlpc %s\n", MLPC_VERSION_STRING);
        printf("search over MPI: %s\n", srch_mpi_built() ? srch_mpi_info() : "no (built without MPI)");
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        cmd_fn fn = find(argv[2]);
        if (!fn) {
            cli_error_name(NULL, "unknown command '%s' (see mlpc --help)", argv[2]);
            return CLI_EXIT_USAGE;
        }
        char help[] = "--help";
        char *args[] = {help, NULL};
        return fn(1, args);
    }
    cmd_fn fn = find(cmd);
    if (!fn) {
        if (cmd[0] == '-')
            cli_error_name(NULL, "unknown flag %s (see mlpc --help)", cmd);
        else
            cli_error_name(NULL, "unknown command '%s' (see mlpc --help)", cmd);
        return CLI_EXIT_USAGE;
    }
    int rc = fn(argc - 2, argv + 2);
    if (fflush(stdout) != 0 && rc == 0) {
        cli_error_name(cmd, "writing to standard output failed");
        rc = CLI_EXIT_INPUT;
    }
    return rc;
}
