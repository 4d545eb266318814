/* cmd_dashboard.c - `mlpc dashboard DIR|FILE...`: the live dashboard over
 * metrics files already on disk (finished runs, or a search still writing
 * them): folders are searched for *.jsonl and every file is watched for new
 * lines until Ctrl-C. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "cli/signals.h"
#include "cli.h"
#include "dash/dash.h"

static cli_flag dashboard_flags[] = {
    CLI_FLAG("port", "PORT", "6150",
             "port to listen on; when not given, 6150 or the next free one; 0: any free port",
             "Server"),
    CLI_FLAG("bind", "ADDR", "127.0.0.1",
             "address to listen on; one that is not loopback (e.g. 0.0.0.0) needs a token", NULL),
    CLI_FLAG("token", "TOKEN", "auto",
             "token required in the URL (?token=TOKEN); auto: generated for a non-loopback --bind, "
             "none on loopback",
             NULL),
    CLI_FLAG("allow-host", "NAME", NULL,
             "also accept this Host header (repeatable), e.g. localhost:8000 behind an SSH tunnel "
             "or a proxy; NAME without :PORT: any port",
             NULL),
    CLI_FLAG("max-conns", "N", "32", "most connections served at once; more are closed", NULL),
    CLI_FLAG("quiet", NULL, NULL, "print only the URL (on standard error)", "Output"),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Serves the live training dashboard for metrics files written by\n"
    "mlpc train --metrics (and by searches): every *.jsonl in each folder (three\n"
    "levels deep) or each FILE given. Files are watched, so runs that are still\n"
    "writing appear and grow live. Runs until Ctrl-C. See docs/dashboard.md.\n"
    "Exit status: 0 ok, 1 bad input file or I/O error (a port in use), 2 usage error,\n"
    "4 internal error.";


/* Started by `mlpc search --dashboard`: the search waits for a byte on the
 * descriptor MLPC_DASH_NOTIFY_FD names, written once the URL is printed, so
 * no trial runs before the page can be opened. */
static void notify_started(void)
{
    const char *nf = getenv("MLPC_DASH_NOTIFY_FD");
    if (!nf) return;
    int fd = atoi(nf);
    if (fd > 2) {
        ssize_t w = write(fd, "u", 1);
        (void)w;
        close(fd);
    }
    unsetenv("MLPC_DASH_NOTIFY_FD");
}

int cmd_dashboard(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "dashboard", "mlpc dashboard DIR|FILE... [--port PORT] [--bind ADDR] [--token TOKEN]", SUMMARY, dashboard_flags, (int)(sizeof dashboard_flags / sizeof dashboard_flags[0]), 1024);
    dash_store *store = NULL;
    dash_server *srv = NULL;
    char err[512];
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
#define F(n) cli_flag_get(&c, n)
    if (c.n_pos == 0) {
        cli_error(&c, "give a folder or metrics file to watch, e.g. mlpc dashboard runs/");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    dash_server_opts so;
    memset(&so, 0, sizeof so);
    so.port = -1;
    if (F("port")->given && (rc = cli_int(&c, F("port"), 0, 65535, &so.port))) goto done;
    if ((rc = cli_int(&c, F("max-conns"), 1, 1024, &so.max_conns))) goto done;
    so.bind = F("bind")->value;
    so.token = cli_is(F("token"), "auto") ? NULL : F("token")->value;
    const char *allow_hosts[DASH_MAX_ALLOW_HOSTS + 1];
    so.n_allow_hosts = cli_collect(argc, argv, "allow-host", allow_hosts, DASH_MAX_ALLOW_HOSTS + 1);
    if (so.n_allow_hosts > DASH_MAX_ALLOW_HOSTS) so.n_allow_hosts = DASH_MAX_ALLOW_HOSTS + 1;
    so.allow_hosts = allow_hosts;
    if (dash_server_check(&so, err, sizeof err)) {
        cli_error(&c, "%s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    store = dash_store_create(0);
    if (!store) {
        cli_error(&c, "out of memory");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    for (int i = 0; i < c.n_pos; i++)
        if (dash_store_watch(store, c.pos[i], err, sizeof err)) {
            cli_error(&c, "%s", err);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
    dash_store_poll(store, 0); /* the files there now, before the first page asks */
    if (dash_store_start_pump(store, 100)) {
        cli_error(&c, "cannot start the pump thread");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    srv = dash_server_start(store, &so, err, sizeof err);
    if (!srv) {
        cli_error(&c, "%s", err);
        rc = strncmp(err, "--", 2) == 0 ? CLI_EXIT_USAGE : CLI_EXIT_INPUT;
        goto done;
    }
    cli_signals_catch(NULL); /* ^C or SIGTERM: stop serving, exit 0 */
    if (F("quiet")->on) {
        fprintf(stderr, "dashboard: %s\n", dash_server_url(srv));
    } else {
        printf("dashboard: %s\n", dash_server_url(srv));
        int n = dash_store_runs(store);
        printf("%d run%s so far; watching for more (Ctrl-C to stop)\n", n, n == 1 ? "" : "s");
        fflush(stdout);
    }
    notify_started();
    cli_signals_wait(-1);
    cli_signals_restore();
    rc = 0;
#undef F
done:
    dash_server_stop(srv);
    dash_store_free(store);
    cli_cmd_free(&c);
    return rc;
}
