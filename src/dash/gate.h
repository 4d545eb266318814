/* gate.h - the dashboard's front door (gate.c): accepts every connection
 * on the listening socket and holds it, without a thread, until its request
 * headers are in; only then is it handed on (to libmicrohttpd, whose
 * connections each take a thread). Slow and idle connections are closed
 * here, cheaply, so a flood of them neither costs threads nor keeps a page
 * request waiting. */
#ifndef MLPC_DASH_GATE_H
#define MLPC_DASH_GATE_H

#include <sys/socket.h>

typedef struct dash_gate dash_gate;

/* Called on the gate's thread with a connection whose headers are complete
 * (peeked, not read: the socket still holds them). Returns 1 when it took
 * fd (it owns it then), 0 when it has no room now: the gate keeps the
 * connection and offers it again a few milliseconds later, until total_s
 * have passed. */
typedef int (*dash_gate_ready_fn)(void *user, int fd, const struct sockaddr *addr, socklen_t len);

typedef struct dash_gate_opts {
    int max_held;   /* connections held at once; at the cap the oldest is closed for a new one */
    double idle_s;  /* a connection that sends nothing for this long is closed */
    double total_s; /* one whose headers are not complete this long after it opened is closed
                       (and one the server has had no room for this long) */
} dash_gate_opts;

/* Starts the gate's thread on listen_fd (which it does not close). NULL on
 * failure, with errno set. */
dash_gate *dash_gate_start(int listen_fd, const dash_gate_opts *o, dash_gate_ready_fn ready, void *user);
/* Stops the thread and closes the connections still held. */
void dash_gate_stop(dash_gate *g);
/* Connections closed at the gate (slow, idle, or pushed out at the cap). */
long dash_gate_closed(const dash_gate *g);
/* Of those, the ones closed at a deadline (idle_s or total_s). */
long dash_gate_swept(const dash_gate *g);
/* Connections held now. */
int dash_gate_held(const dash_gate *g);

#endif
