/* gate.c - the dashboard's front door (gate.h).
 *
 * One thread and one epoll set. The listening socket is drained with
 * accept4 (non-blocking); each new connection is held in a slot, watched
 * edge-triggered, and its bytes are peeked (MSG_PEEK: they stay in the
 * socket for libmicrohttpd to read). When the headers are complete (a blank
 * line, or a full peek buffer: the server then answers the oversize itself)
 * the connection leaves the gate through ready(). Held connections are
 * closed when they go quiet for idle_s, when their headers take longer than
 * total_s, or, the oldest first, when max_held are held and another
 * arrives. A slow client thus costs a slot and a descriptor here, never a
 * thread, and a page request passes the moment its headers are in. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "dash/gate.h"

#define PEEK_BYTES 8192      /* headers longer than this are handed on as they are */
#define SWEEP_S 0.1          /* how often the deadlines are checked */
#define RETRY_MS 5            /* how often ready connections are offered again while the server is full */
#define WATCH (EPOLLIN | EPOLLRDHUP | EPOLLET) /* what a held connection is watched for */
#define PAUSE_S 0.1          /* accepting pauses this long when no descriptor is left */
#define TAG_LISTEN UINT32_MAX
#define TAG_WAKE (UINT32_MAX - 1)

typedef struct held {
    int fd;        /* -1: free slot */
    int seen;      /* bytes peeked so far */
    int ready;     /* its headers are in, but the server had no room yet */
    double opened; /* when it was accepted */
    double last;   /* when its last new byte was seen (ready: when it became ready) */
    socklen_t alen;
    struct sockaddr_storage addr;
} held;

struct dash_gate {
    int lfd, ep, wake;
    dash_gate_opts o;
    dash_gate_ready_fn ready;
    void *user;
    held *slot;
    int *free_slots, n_free;
    int n_ready;   /* held with their headers in, waiting for room */
    int listening; /* the listening socket is in the epoll set */
    double resume_at;
    pthread_t th;
    atomic_int stop;
    atomic_int n_held;
    atomic_long closed;
    atomic_long swept; /* of them, at a deadline (sweep) */
};

static void release(dash_gate *g, int i, int close_it)
{
    held *h = &g->slot[i];
    epoll_ctl(g->ep, EPOLL_CTL_DEL, h->fd, NULL);
    if (close_it) {
        close(h->fd);
        atomic_fetch_add(&g->closed, 1);
    }
    g->n_ready -= h->ready;
    h->fd = -1;
    h->ready = 0;
    g->free_slots[g->n_free++] = i;
    atomic_fetch_sub(&g->n_held, 1);
}

/* Closes the connection held longest; 0 when none is held. */
static int close_oldest(dash_gate *g)
{
    int best = -1;
    for (int i = 0; i < g->o.max_held; i++)
        if (g->slot[i].fd >= 0 && (best < 0 || g->slot[i].opened < g->slot[best].opened)) best = i;
    if (best < 0) return 0;
    release(g, best, 1);
    return 1;
}

/* Offers slot i, its headers in, to the server: 1 when taken. */
static int hand_on(dash_gate *g, int i)
{
    held *h = &g->slot[i];
    if (!g->ready(g->user, h->fd, (const struct sockaddr *)&h->addr, h->alen)) return 0;
    release(g, i, 0);
    return 1;
}

/* Peeks at slot i's bytes: hands it on when its headers are in (or keeps
 * it ready until the server has room), closes it at EOF or on an error, or
 * when the peer closed its side before its headers were complete (hup),
 * else notes any progress. */
static void look(dash_gate *g, int i, double now, int hup)
{
    static char buf[PEEK_BYTES]; /* the gate's thread only */
    held *h = &g->slot[i];
    ssize_t n = recv(h->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        release(g, i, 1);
        return;
    }
    if (h->ready) return;
    if (n == (ssize_t)sizeof buf || memmem(buf, (size_t)n, "\r\n\r\n", 4) || memmem(buf, (size_t)n, "\n\n", 2)) {
        if (hand_on(g, i)) return;
        h->ready = 1;
        h->last = now;
        g->n_ready++;
        return;
    }
    if (hup) {
        release(g, i, 1); /* its headers can never be completed */
        return;
    }
    if (n > h->seen) {
        h->seen = (int)n;
        h->last = now;
    }
}

static void stop_listening(dash_gate *g, double now)
{
    epoll_ctl(g->ep, EPOLL_CTL_DEL, g->lfd, NULL);
    g->listening = 0;
    g->resume_at = now + PAUSE_S;
}

/* Accepts every pending connection into a slot. */
static void accept_all(dash_gate *g, double now)
{
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t alen = sizeof addr;
        int fd = accept4(g->lfd, (struct sockaddr *)&addr, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            /* out of descriptors: one held connection makes room, else
             * the queue waits in the kernel's backlog for a while */
            if ((errno == EMFILE || errno == ENFILE) && close_oldest(g)) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) stop_listening(g, now);
            return;
        }
        if (g->n_free == 0) close_oldest(g);
        int i = g->free_slots[--g->n_free];
        held *h = &g->slot[i];
        *h = (held){fd, 0, 0, now, now, alen, addr};
        atomic_fetch_add(&g->n_held, 1);
        struct epoll_event ev = {.events = WATCH, .data.u32 = (uint32_t)i};
        if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            release(g, i, 1);
            continue;
        }
        look(g, i, now, 0); /* a page request's headers are usually there already */
    }
}

/* Closes the held connections past a deadline: a quiet one after idle_s,
 * one still sending its headers total_s after it opened, a ready one that
 * found no room for total_s. */
static void sweep(dash_gate *g, double now)
{
    for (int i = 0; i < g->o.max_held; i++) {
        held *h = &g->slot[i];
        if (h->fd < 0) continue;
        if (h->ready ? now - h->last > g->o.total_s
                     : now - h->last > g->o.idle_s || now - h->opened > g->o.total_s) {
            atomic_fetch_add(&g->swept, 1);
            release(g, i, 1);
        }
    }
}

/* Offers the ready connections again, longest waiting first, until the
 * server refuses one. */
static void retry_ready(dash_gate *g)
{
    while (g->n_ready > 0) {
        int best = -1;
        for (int i = 0; i < g->o.max_held; i++)
            if (g->slot[i].fd >= 0 && g->slot[i].ready && (best < 0 || g->slot[i].last < g->slot[best].last))
                best = i;
        if (best < 0 || !hand_on(g, best)) return;
    }
}

static void *gate_main(void *arg)
{
    dash_gate *g = arg;
    struct epoll_event ev[64];
    double next_sweep = mlpc_now() + SWEEP_S;
    while (!atomic_load(&g->stop)) {
        /* connections waiting for room are offered again every few ms */
        int n = epoll_wait(g->ep, ev, 64, g->n_ready ? RETRY_MS : (int)(SWEEP_S * 1000));
        double now = mlpc_now();
        retry_ready(g);
        for (int k = 0; k < n; k++) {
            uint32_t tag = ev[k].data.u32;
            if (tag == TAG_LISTEN)
                accept_all(g, now);
            else if (tag != TAG_WAKE && g->slot[tag].fd >= 0)
                look(g, (int)tag, now, (ev[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        }
        if (!g->listening && now >= g->resume_at) {
            struct epoll_event le = {.events = EPOLLIN, .data.u32 = TAG_LISTEN};
            g->listening = epoll_ctl(g->ep, EPOLL_CTL_ADD, g->lfd, &le) == 0;
            if (!g->listening) g->resume_at = now + PAUSE_S;
        }
        if (now >= next_sweep) {
            sweep(g, now);
            next_sweep = now + SWEEP_S;
        }
    }
    return NULL;
}

static void gate_free(dash_gate *g)
{
    if (g->ep >= 0) close(g->ep);
    if (g->wake >= 0) close(g->wake);
    free(g->slot);
    free(g->free_slots);
    free(g);
}

dash_gate *dash_gate_start(int listen_fd, const dash_gate_opts *o, dash_gate_ready_fn ready, void *user)
{
    dash_gate *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->lfd = listen_fd;
    g->o = *o;
    if (g->o.max_held < 1) g->o.max_held = 1;
    g->ready = ready;
    g->user = user;
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->slot = malloc((size_t)g->o.max_held * sizeof *g->slot);
    g->free_slots = malloc((size_t)g->o.max_held * sizeof *g->free_slots);
    atomic_init(&g->stop, 0);
    atomic_init(&g->n_held, 0);
    atomic_init(&g->closed, 0);
    int fl = fcntl(listen_fd, F_GETFL);
    struct epoll_event le = {.events = EPOLLIN, .data.u32 = TAG_LISTEN};
    struct epoll_event we = {.events = EPOLLIN, .data.u32 = TAG_WAKE};
    if (g->ep < 0 || g->wake < 0 || !g->slot || !g->free_slots || fl < 0 ||
        fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 || epoll_ctl(g->ep, EPOLL_CTL_ADD, listen_fd, &le) != 0 ||
        epoll_ctl(g->ep, EPOLL_CTL_ADD, g->wake, &we) != 0) {
        int e = errno ? errno : ENOMEM;
        gate_free(g);
        errno = e;
        return NULL;
    }
    g->listening = 1;
    for (int i = 0; i < g->o.max_held; i++) {
        g->slot[i].fd = -1;
        g->free_slots[i] = g->o.max_held - 1 - i;
    }
    g->n_free = g->o.max_held;
    int e = pthread_create(&g->th, NULL, gate_main, g);
    if (e != 0) {
        gate_free(g);
        errno = e;
        return NULL;
    }
    return g;
}

void dash_gate_stop(dash_gate *g)
{
    if (!g) return;
    atomic_store(&g->stop, 1);
    uint64_t one = 1;
    if (write(g->wake, &one, sizeof one) < 0) { /* the sweep's timeout ends the wait anyway */
    }
    pthread_join(g->th, NULL);
    for (int i = 0; i < g->o.max_held; i++)
        if (g->slot[i].fd >= 0) close(g->slot[i].fd);
    gate_free(g);
}

long dash_gate_closed(const dash_gate *g) { return atomic_load(&((dash_gate *)g)->closed); }
long dash_gate_swept(const dash_gate *g) { return atomic_load(&((dash_gate *)g)->swept); }
int dash_gate_held(const dash_gate *g) { return atomic_load(&((dash_gate *)g)->n_held); }
