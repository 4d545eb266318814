/* signals.h - the CLI's signal handling: the one place in mlpc that installs
 * signal handlers (scripts/check-layers.sh fails on a sigaction or signal
 * call elsewhere). The library, dash and search receive what they need from
 * here: a stop flag to read (srch_opts.stop), a function to call after fork
 * (srch_opts.worker_signals), or nothing (the CLI waits itself). */
#ifndef MLPC_CLI_SIGNALS_H
#define MLPC_CLI_SIGNALS_H

#include <signal.h>

#include "search/search.h"

/* The number of the first SIGINT or SIGTERM since cli_signals_catch (0: none). */
extern volatile sig_atomic_t cli_signal;

/* SIGINT and SIGTERM set cli_signal (the first one's number) and then call
 * on_signal(sig) when it is not NULL (it must be async-signal-safe). The
 * handlers replaced are kept for cli_signals_restore; a second catch before
 * a restore only changes the callback. */
void cli_signals_catch(void (*on_signal)(int sig));
/* Puts back the handlers cli_signals_catch replaced (no-op without one). */
void cli_signals_restore(void);
/* SIGPIPE ignored: a write to a closed pipe or socket fails with EPIPE. */
void cli_signals_ignore_pipe(void);
/* Sleeps in 0.1 s steps until cli_signal is set or `seconds` have passed
 * (< 0: no limit). 1 when a signal ended the wait. */
int cli_signals_wait(double seconds);
/* For srch_opts.worker_signals, in a search worker right after fork: SIGINT
 * and SIGPIPE ignored (the coordinator handles ^C and stops its workers),
 * SIGTERM ends the worker at once, or right after a trial checkpoint write
 * when t->in_write is set (it sets t->pending; the worker exits after the
 * write), so no temporary file is left. */
void cli_signals_worker(srch_term *t);

#endif
