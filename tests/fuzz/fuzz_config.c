/* fuzz_config.c - the JSON config reader behind `mlpc train --config`
 * (cli_config_apply, src/cli/config_file.c) over a table with train's kinds of
 * flags: values, switches, the "no-" switches the library's form maps to,
 * and the per-optimizer keys it skips. Every flag's resulting value is read
 * back, so a dangling or unterminated value shows. Its one-line errors go
 * to stderr, which tests/fuzz/run.sh closes (-close_fd_mask=2). */
#include "fuzz_common.h"
#include "cli/args.h"
#include "cli/cli.h"

static const cli_flag proto[] = {
    CLI_FLAG("config", "FILE", NULL, "", NULL),
    CLI_FLAG("layers", "SPEC", NULL, "", NULL),
    CLI_FLAG("data", "NAME", NULL, "", NULL),
    CLI_FLAG("act", "NAME", "sigmoid", "", NULL),
    CLI_FLAG("out-act", "NAME", NULL, "", NULL),
    CLI_FLAG("loss", "NAME", NULL, "", NULL),
    CLI_FLAG("opt", "NAME", "sgd", "", NULL),
    CLI_FLAG("lr", "X", "0.1", "", NULL),
    CLI_FLAG("epochs", "N", "10", "", NULL),
    CLI_FLAG("batch", "N", "32", "", NULL),
    CLI_FLAG("momentum", "X", "0", "", NULL),
    CLI_FLAG("nesterov", NULL, NULL, "", NULL),
    CLI_FLAG("rho", "X", "0.9", "", NULL),
    CLI_FLAG("beta1", "X", "0.9", "", NULL),
    CLI_FLAG("beta2", "X", "0.999", "", NULL),
    CLI_FLAG("eps", "X", "1e-8", "", NULL),
    CLI_FLAG("sched", "NAME", "constant", "", NULL),
    CLI_FLAG("sched-factor", "X", "0.1", "", NULL),
    CLI_FLAG("sched-step", "N", "10", "", NULL),
    CLI_FLAG("sched-patience", "N", "5", "", NULL),
    CLI_FLAG("min-lr", "X", "0", "", NULL),
    CLI_FLAG("early-stop", "N", "0", "", NULL),
    CLI_FLAG("es-metric", "NAME", "auto", "", NULL),
    CLI_FLAG("es-min-delta", "X", "0", "", NULL),
    CLI_FLAG("no-shuffle", NULL, NULL, "", NULL),
    CLI_FLAG("no-restore-best", NULL, NULL, "", NULL),
    CLI_FLAG("quiet", NULL, NULL, "", NULL),
    CLI_FLAG("seed", "N", "1", "", NULL),
};
#define N_FLAGS ((int)(sizeof proto / sizeof proto[0]))
static cli_flag flags[N_FLAGS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fuzz_write(0, ".json", data, n);
    if (!p) return 0;
    memcpy(flags, proto, sizeof flags); /* every input starts from the defaults */
    cli_cmd c;
    cli_cmd_init(&c, "train", "mlpc train", "", flags, N_FLAGS, 0);
    static const char *const deny[] = {"config", NULL};
    cli_config_apply(&c, p, deny);
    volatile size_t sink = 0;
    for (int i = 0; i < N_FLAGS; i++)
        if (flags[i].value) sink += strlen(flags[i].value);
    (void)sink;
    cli_cmd_free(&c);
    return 0;
}
