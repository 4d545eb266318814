/* signals.c - the CLI's signal handlers (signals.h). */
#include "cli/signals.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t cli_signal;

static void (*volatile g_callback)(int sig);
static struct sigaction g_old_int, g_old_term;
static int g_caught;

static void on_stop(int sig)
{
    if (!cli_signal) cli_signal = sig;
    void (*cb)(int) = g_callback;
    if (cb) cb(sig);
}

void cli_signals_catch(void (*on_signal)(int sig))
{
    g_callback = on_signal;
    if (g_caught) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    cli_signal = 0;
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_caught = 1;
}

void cli_signals_restore(void)
{
    if (!g_caught) return;
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
    g_callback = NULL;
    g_caught = 0;
}

void cli_signals_ignore_pipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

int cli_signals_wait(double seconds)
{
    double left = seconds;
    while (!cli_signal && (seconds < 0 || left > 0)) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        left -= 0.1;
    }
    return cli_signal != 0;
}

static srch_term *volatile g_term;

static void on_worker_term(int sig)
{
    (void)sig;
    srch_term *t = g_term;
    if (!t || !t->in_write) _exit(0);
    t->pending = 1;
}

void cli_signals_worker(srch_term *t)
{
    g_term = t;
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_worker_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}
