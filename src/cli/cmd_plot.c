/* cmd_plot.c - `mlpc plot METRICS.jsonl... -o curves.png|.svg|.pdf`: the
 * dashboard's figures rendered with cairo into a file, for reports and for
 * machines without a browser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dash/dash.h"

static cli_flag plot_flags[] = {
    CLI_FLAG("output", "FILE", NULL, "required (also -o FILE): the figure, .png, .svg or .pdf",
             "Output"),
    CLI_FLAG("size", "WxH", "1500x960", "size in pixels (PNG) or points (SVG, PDF)", NULL),
    CLI_FLAG("log-loss", NULL, NULL, "logarithmic y axis for the loss", NULL),
    CLI_FLAG("title", "TEXT", "none", "a title above the figures", NULL),
    CLI_FLAG("study", "NAME", "first", "with a search database: the study to draw", NULL),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Draws the dashboard's figures - loss, accuracy (or MSE), learning rate,\n"
    "throughput, epoch time, per-layer weight and gradient RMS - for every run in\n"
    "the metrics files (written by mlpc train --metrics; add --layer-stats for the\n"
    "RMS figures) into one PNG, SVG or PDF file.\n"
    "Given a search database (mlpc plot STUDY.db), draws the study instead:\n"
    "optimization history, parallel coordinates, trials in progress and CPU\n"
    "efficiency.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error, 2 usage error, 4 internal error.";

int cmd_plot(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "plot", "mlpc plot METRICS.jsonl...|STUDY.db -o FILE.png|.svg|.pdf [flags]", SUMMARY, plot_flags, (int)(sizeof plot_flags / sizeof plot_flags[0]), 1024);
    dash_runs runs;
    memset(&runs, 0, sizeof runs);
    char err[1024];
    static char long_o[] = "--output";
    for (int i = 0; i < argc; i++) { /* -o FILE, as in most plotting tools */
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-o")) argv[i] = long_o;
    }
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
#define F(n) cli_flag_get(&c, n)
    const char *out = F("output")->value;
    if (!out || !*out) {
        cli_error(&c, "-o FILE is required, e.g. mlpc plot runs/w1.jsonl -o curves.png");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (c.n_pos == 0) {
        cli_error(&c, "give at least one metrics file (written by mlpc train --metrics FILE)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    dash_plot_opts po;
    memset(&po, 0, sizeof po);
    const char *size = F("size")->value;
    char tail;
    if (sscanf(size, "%dx%d%c", &po.width, &po.height, &tail) != 2 || po.width < 300 ||
        po.height < 200 || po.width > 20000 || po.height > 20000) {
        rc = cli_bad_value(&c, F("size"), "must be WIDTHxHEIGHT, from 300x200 to 20000x20000");
        goto done;
    }
    if (!cli_ends_with(out, ".png") && !cli_ends_with(out, ".svg") && !cli_ends_with(out, ".pdf")) {
        cli_error(&c, "-o %s: use a .png, .svg or .pdf file name", out);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    po.log_loss = F("log-loss")->on;
    po.title = cli_is(F("title"), "none") ? NULL : F("title")->value;
    if ((rc = cli_check_input(&c, NULL, c.pos[0]))) goto done;
    if (dash_is_sqlite(c.pos[0])) { /* a search database: the study's figures */
        if (c.n_pos > 1) {
            cli_error(&c, "give one search database (got %d files)", c.n_pos);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        const char *study = cli_is(F("study"), "first") ? NULL : F("study")->value;
        if (dash_plot_study(c.pos[0], study, out, &po, err, sizeof err)) {
            cli_error(&c, "%s", err);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        printf("wrote %s: study figures from %s\n", out, c.pos[0]);
        rc = 0;
        goto done;
    }
    if (F("study")->given) {
        cli_error(&c, "--study: only with a search database (mlpc plot STUDY.db)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    for (int i = 0; i < c.n_pos; i++) {
        if ((rc = cli_check_input(&c, NULL, c.pos[i]))) goto done;
        if (dash_runs_load(&runs, c.pos[i], err, sizeof err)) {
            cli_error(&c, "%s", err);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
    }
    if (dash_plot(&runs, out, &po, err, sizeof err)) {
        cli_error(&c, "%s", err);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    int n = 0;
    for (int i = 0; i < runs.n; i++) n += runs.s[i].n;
    printf("wrote %s: %d run%s, %d epochs\n", out, runs.n, runs.n == 1 ? "" : "s", n);
    rc = 0;
#undef F
done:
    dash_runs_free(&runs);
    cli_cmd_free(&c);
    return rc;
}
