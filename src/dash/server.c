/* server.c - the dashboard's HTTP server on libmicrohttpd.
 *
 * Safe by default (docs/dashboard.md, "Security"):
 *   - listens on 127.0.0.1 unless told otherwise; a bind that is not loopback
 *     needs a token (generated, 128 bits from getrandom, when none is given);
 *   - a Host header must name the address the connection arrived on (or
 *     localhost for a loopback one) and the port, or be one of the names
 *     allowed with --allow-host (tunnels, proxies): DNS rebinding gets 403;
 *   - GET and HEAD only (405 otherwise); no endpoint changes anything;
 *   - only the built-in assets and /events are served: the URL is compared
 *     with a fixed table and never used as a file name;
 *   - every connection is accepted by the gate (gate.c: one thread, epoll)
 *     and held there, without a thread, until its request headers are in:
 *     one that pauses HEADER_IDLE_S or takes HEADER_TOTAL_S is closed
 *     there, so 1,000 slow clients cost descriptors, not threads, and a page
 *     request passes as soon as its headers are in;
 *   - at most max_conns connections past the gate. Of those, a quarter (at
 *     least 1) is kept for page and asset requests: event streams beyond
 *     max_conns - that get 503, so a flood of streams cannot lock a new page
 *     out;
 *   - when every slot is taken, a connection whose headers are in evicts the
 *     kept-alive one that has idled longest between requests (a reaper
 *     thread closes those idle over HEADER_TOTAL_S); a burst goes over the
 *     budget up to hard_conns; beyond, it waits at the gate for a slot (up
 *     to HEADER_TOTAL_S); then the usual 60 s apply.
 * Each connection past the gate has its own thread
 * (MHD_USE_THREAD_PER_CONNECTION), so a page stream may wait for new events
 * without holding anyone else up. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dash/dash.h"
#include "dash/gate.h"

#define HEADER_IDLE_S 2u  /* a pause this long before the headers are complete closes the connection */
#define HEADER_TOTAL_S 5.0 /* the headers complete this long after the connection opened (or idled), else closed */
#define EVICT_MIN_S 0.05   /* a connection waits this long for its headers before it may be evicted */
#define LISTEN_BACKLOG 1024 /* a flood of connects waits here instead of dropping a page request's SYN (its retry costs 1 s, then 3) */
#define REQUEST_IDLE_S 60u
#define GATE_MAX_HELD 4096 /* connections held at the gate while their headers come in */
#define FD_RESERVE 128     /* descriptors left for the process's own files */

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

struct dash_server {
    struct MHD_Daemon *d;
    dash_store *store;
    int fd;
    int port;
    int max_conns;
    int hard_conns;  /* max_conns plus room for a burst while nothing can be evicted */
    int mhd_limit;   /* libmicrohttpd's own limit, never reached (see on_ready) */
    int max_streams; /* max_conns less the slots kept for page requests */
    int keepalive_ms;
    atomic_int conns;
    atomic_int streams;
    atomic_int stopping;
    char token[128]; /* "" when none is required */
    char cookie_name[32];
    char session[33];
    char url[256];
    char allow[DASH_MAX_ALLOW_HOSTS][256]; /* --allow-host */
    int n_allow;
    /* connections waiting for request headers (new, or idle between two
     * requests): what the reaper closes after HEADER_TOTAL_S and what a new
     * connection evicts when every slot is taken. An entry goes before
     * libmicrohttpd closes its socket (the CLOSED notification), under the
     * lock, so shutdown() never reaches a reused descriptor. */
    pthread_mutex_t plock;
    struct waiting { int fd; double since; } *wait;
    int n_wait, cap_wait;
    pthread_t reaper;
    int reaper_started;
    atomic_long evicted; /* connections closed by the reaper or evicted */
    dash_gate *gate;     /* accepts, and holds connections until their headers are in */
};

static int conn_fd(struct MHD_Connection *c);
static void wait_del(dash_server *srv, int fd);

/* ------------------------------------------------------------------ policy */

int dash_host_in_list(const char *host, const char *const *allow, int n)
{
    if (!host || !*host) return 0;
    for (int i = 0; i < n; i++) {
        const char *a = allow[i];
        if (!a || !*a) continue;
        if (!strcasecmp(host, a)) return 1;
        size_t al = strlen(a);
        /* "NAME" (no port, not a bracketed IPv6 with one) allows any port */
        int has_port = a[al - 1] != ']' && strrchr(a, ':') != NULL &&
                       (a[0] == '[' || strchr(a, ':') == strrchr(a, ':'));
        if (has_port) continue;
        if (!strncasecmp(host, a, al) && host[al] == ':' && host[al + 1]) {
            const char *p = host + al + 1;
            while (*p >= '0' && *p <= '9') p++;
            if (!*p) return 1;
        }
    }
    return 0;
}

int dash_addr_is_loopback(const char *addr)
{
    if (!addr) return 0;
    if (!strcasecmp(addr, "localhost")) return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
    }
    return 0;
}

/* Parses an IP literal into 16 bytes (IPv4 as v4-mapped IPv6). */
static int ip_bytes(const char *s, unsigned char out[16])
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        return 0;
    }
    return -1;
}

int dash_host_allowed(const char *host, const char *local_ip, int port)
{
    if (!host || !local_ip || !*host) return 0;
    char name[128];
    const char *port_txt = NULL;
    size_t n;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close) return 0;
        n = (size_t)(close - host - 1);
        if (close[1] == ':')
            port_txt = close + 2;
        else if (close[1] != '\0')
            return 0;
        host++;
    } else {
        const char *colon = strchr(host, ':');
        if (colon && strchr(colon + 1, ':')) return 0; /* bare IPv6: not a valid Host */
        n = colon ? (size_t)(colon - host) : strlen(host);
        if (colon) port_txt = colon + 1;
    }
    if (n == 0 || n >= sizeof name) return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (port_txt) {
        if (!*port_txt || strlen(port_txt) > 5) return 0;
        long p = 0;
        for (const char *q = port_txt; *q; q++) {
            if (*q < '0' || *q > '9') return 0;
            p = p * 10 + (*q - '0');
        }
        if (p != port) return 0;
    } else if (port != 80) {
        return 0;
    }
    if (!strcasecmp(name, "localhost")) return dash_addr_is_loopback(local_ip);
    unsigned char a[16], b[16];
    if (ip_bytes(name, a) || ip_bytes(local_ip, b)) return 0; /* other names: refused */
    return memcmp(a, b, 16) == 0;
}

int dash_token_equal(const char *a, const char *b)
{
    if (!a || !b) return 0;
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    size_t n = la > lb ? la : lb;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0;
        unsigned char y = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0 && la > 0;
}

int dash_token_generate(char *buf, size_t cap)
{
    unsigned char r[16];
    if (cap < 2 * sizeof r + 1) return -1;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = getrandom(r + got, sizeof r - got, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        got += (size_t)k;
    }
    for (size_t i = 0; i < sizeof r; i++) snprintf(buf + 2 * i, 3, "%02x", r[i]);
    return 0;
}

/* ------------------------------------------------------------------ responses */

static void common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

static MHD_Result_t send_text(struct MHD_Connection *c, unsigned code, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    MHD_Result_t ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ the event stream */

typedef struct sse_conn {
    dash_server *srv;
    size_t off;      /* position in the store's log */
    char pre[256];   /* retry + hello, sent first */
    size_t pre_len, pre_off;
} sse_conn;

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_conn *sc = cls;
    dash_server *srv = sc->srv;
    if (atomic_load(&srv->stopping)) return MHD_CONTENT_READER_END_OF_STREAM;
    if (sc->pre_off < sc->pre_len) {
        size_t n = sc->pre_len - sc->pre_off;
        if (n > max) n = max;
        memcpy(buf, sc->pre + sc->pre_off, n);
        sc->pre_off += n;
        return (ssize_t)n;
    }
    size_t n = dash_store_read(srv->store, &sc->off, buf, max, srv->keepalive_ms);
    if (atomic_load(&srv->stopping)) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n) return (ssize_t)n;
    static const char ping[] = ": ping\n\n"; /* keeps proxies and the idle timeout away */
    n = sizeof ping - 1 < max ? sizeof ping - 1 : max;
    memcpy(buf, ping, n);
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    sse_conn *sc = cls;
    atomic_fetch_sub(&sc->srv->streams, 1);
    free(sc);
}

static MHD_Result_t send_events(dash_server *srv, struct MHD_Connection *c, int head)
{
    struct MHD_Response *r;
    if (head) {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        if (atomic_fetch_add(&srv->streams, 1) >= srv->max_streams) {
            atomic_fetch_sub(&srv->streams, 1);
            return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "too many event streams open: close a dashboard page and reload\n");
        }
        sse_conn *sc = calloc(1, sizeof *sc);
        if (!sc) {
            atomic_fetch_sub(&srv->streams, 1);
            return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
        }
        sc->srv = srv;
        int n = snprintf(sc->pre, sizeof sc->pre,
                         "retry: 1000\n\ndata: {\"type\":\"hello\",\"session\":\"%s\","
                         "\"version\":\"%s\"}\n\n",
                         srv->session, MLPC_VERSION_STRING);
        sc->pre_len = n > 0 && (size_t)n < sizeof sc->pre ? (size_t)n : 0;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, sse_read, sc, sse_free);
        if (!r) {
            sse_free(sc);
            return MHD_NO;
        }
    }
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    MHD_Result_t ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ requests */

static int local_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return -1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) {
        return inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap)
                   ? 0
                   : -1;
    }
    if (ss.ss_family == AF_INET6) {
        struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) return inet_ntop(AF_INET, a->s6_addr + 12, out, (socklen_t)cap) ? 0 : -1;
        return inet_ntop(AF_INET6, a, out, (socklen_t)cap) ? 0 : -1;
    }
    return -1;
}

/* The token from ?token=, the cookie, or "Authorization: token|Bearer X";
 * *from_query set when it came in the URL. */
static int token_ok(dash_server *srv, struct MHD_Connection *c, int *from_query)
{
    *from_query = 0;
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q && dash_token_equal(q, srv->token)) {
        *from_query = 1;
        return 1;
    }
    const char *k = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, srv->cookie_name);
    if (k && dash_token_equal(k, srv->token)) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h) {
        if (!strncasecmp(h, "token ", 6)) return dash_token_equal(h + 6, srv->token);
        if (!strncasecmp(h, "bearer ", 7)) return dash_token_equal(h + 7, srv->token);
    }
    return 0;
}

static MHD_Result_t count_host(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (key && !strcasecmp(key, "Host")) ++*(int *)cls;
    return MHD_YES;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    dash_server *srv = cls;
    /* the headers are in: the request's own idle timeout from now on, and
     * the connection is no longer one to evict */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, REQUEST_IDLE_S);
    wait_del(srv, conn_fd(c));

    /* RFC 9112 3.2: a request with more than one Host header gets 400 */
    int n_host = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &n_host);
    if (n_host > 1) return send_text(c, MHD_HTTP_BAD_REQUEST, "bad request: more than one Host header\n");
    char ip[INET6_ADDRSTRLEN + 1];
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *allow[DASH_MAX_ALLOW_HOSTS];
    for (int i = 0; i < srv->n_allow; i++) allow[i] = srv->allow[i];
    if ((local_ip(c, ip, sizeof ip) != 0 || !dash_host_allowed(host, ip, srv->port)) &&
        !dash_host_in_list(host, allow, srv->n_allow))
        return send_text(c, MHD_HTTP_FORBIDDEN,
                         "forbidden: the Host header must name this server's address\n");

    int head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET and HEAD only\n");

    int from_query = 0;
    if (srv->token[0] && !token_ok(srv, c, &from_query))
        return send_text(c, MHD_HTTP_UNAUTHORIZED,
                         "unauthorized: open the URL that mlpc printed (it ends in ?token=...)\n");

    if (!strcmp(url, "/events")) return send_events(srv, c, head);
    const dash_asset *a = NULL;
    for (size_t i = 0; i < dash_n_assets && !a; i++)
        if (!strcmp(url, dash_assets[i].path)) a = &dash_assets[i];
    if (!a) return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");

    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", a->type);
    if (!strncmp(a->type, "text/html", 9)) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'");
    }
    if (from_query) {
        char cookie[256];
        snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
                 srv->cookie_name, srv->token);
        MHD_add_response_header(r, "Set-Cookie", cookie);
    }
    MHD_Result_t ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ connections waiting for headers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int conn_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? (int)ci->connect_fd : -1;
}

static void wait_add(dash_server *srv, int fd)
{
    if (fd < 0) return;
    pthread_mutex_lock(&srv->plock);
    if (srv->n_wait < srv->cap_wait) srv->wait[srv->n_wait++] = (struct waiting){fd, now_s()};
    pthread_mutex_unlock(&srv->plock);
}

static void wait_del_locked(dash_server *srv, int i)
{
    srv->wait[i] = srv->wait[--srv->n_wait];
}

static void wait_del(dash_server *srv, int fd)
{
    if (fd < 0) return;
    pthread_mutex_lock(&srv->plock);
    for (int i = 0; i < srv->n_wait; i++)
        if (srv->wait[i].fd == fd) {
            wait_del_locked(srv, i);
            break;
        }
    pthread_mutex_unlock(&srv->plock);
}

/* Closes the connection that has waited longest, if it has waited at least
 * min_age; 1 when there was one. */
static int evict_oldest(dash_server *srv, double min_age)
{
    pthread_mutex_lock(&srv->plock);
    int best = -1;
    double t = now_s();
    for (int i = 0; i < srv->n_wait; i++)
        if (t - srv->wait[i].since >= min_age && (best < 0 || srv->wait[i].since < srv->wait[best].since))
            best = i;
    if (best >= 0) {
        shutdown(srv->wait[best].fd, SHUT_RDWR); /* its thread reads EOF and closes it */
        wait_del_locked(srv, best);
        atomic_fetch_add(&srv->evicted, 1);
    }
    pthread_mutex_unlock(&srv->plock);
    return best >= 0;
}

/* Closes connections whose headers are not in HEADER_TOTAL_S after they
 * opened or went idle, 4 times a second. */
static void *reaper_main(void *arg)
{
    dash_server *srv = arg;
    while (!atomic_load(&srv->stopping)) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        double t = now_s();
        pthread_mutex_lock(&srv->plock);
        for (int i = 0; i < srv->n_wait;)
            if (t - srv->wait[i].since > HEADER_TOTAL_S) {
                shutdown(srv->wait[i].fd, SHUT_RDWR);
                wait_del_locked(srv, i);
                atomic_fetch_add(&srv->evicted, 1);
            } else {
                i++;
            }
        pthread_mutex_unlock(&srv->plock);
    }
    return NULL;
}

/* Whether a connection whose headers are in may enter libmicrohttpd. */
static int admit(dash_server *srv)
{
    if (atomic_load(&srv->stopping)) return 0;
    int n = atomic_load(&srv->conns);
    if (n < srv->max_conns) return 1;
    /* every slot taken: a kept-alive connection idle between requests makes
     * room; a burst of page or stream requests goes over the budget up to
     * the hard limit (answered or 503'd at once); at the hard limit the
     * longest waiting goes whatever its age, then the newcomer is refused */
    return evict_oldest(srv, EVICT_MIN_S) || n < srv->hard_conns || evict_oldest(srv, 0);
}

/* A connection out of the gate (gate.c), its request headers in: 0 when
 * there is no room now (the gate offers it again). */
static int on_ready(void *cls, int fd, const struct sockaddr *addr, socklen_t len)
{
    dash_server *srv = cls;
    /* counted here, not when libmicrohttpd starts it: a connection added at
     * its limit would leave its lock held (0.9.75), so the count includes
     * those still queued, and only this thread adds to it */
    if (atomic_load(&srv->conns) >= srv->mhd_limit || !admit(srv)) return 0;
    atomic_fetch_add(&srv->conns, 1);
    if (MHD_add_connection(srv->d, fd, addr, len) != MHD_YES) /* fd closed */
        atomic_fetch_sub(&srv->conns, 1);
    return 1;
}

/* How many connections the gate may hold: the descriptor limit is raised
 * toward what that needs (the hard limit allowing), and the gate gets
 * what is left beside libmicrohttpd's connections and the process's own
 * files. */
static int gate_capacity(unsigned mhd_limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 64;
    rlim_t want = (rlim_t)mhd_limit + GATE_MAX_HELD + FD_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur != RLIM_INFINITY) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
    }
    long room = rl.rlim_cur == RLIM_INFINITY ? GATE_MAX_HELD : (long)rl.rlim_cur - (long)mhd_limit - FD_RESERVE;
    return room < 16 ? 16 : room > GATE_MAX_HELD ? GATE_MAX_HELD : (int)room;
}

/* A response is done: a connection kept alive waits for its next request's
 * headers, evictable again. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)con_cls;
    dash_server *srv = cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !atomic_load(&srv->stopping)) wait_add(srv, conn_fd(c));
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sock_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)sock_ctx;
    dash_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        /* its headers are in (the gate saw them): not evictable until its
         * first response is done and it waits for another request */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, HEADER_IDLE_S);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        wait_del(srv, conn_fd(c));
        atomic_fetch_sub(&srv->conns, 1);
    }
}

/* URLs and query values are compared as sent: nothing is unescaped, so
 * "%2e%2e" or "%00" can never turn into a name from the asset table. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void quiet_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (getenv("MLPC_DASH_DEBUG")) vfprintf(stderr, fmt, ap);
}

/* ------------------------------------------------------------------ start and stop */

static void server_free(dash_server *srv)
{
    pthread_mutex_destroy(&srv->plock);
    free(srv->wait);
    free(srv);
}

static int listen_on(const char *addr, int port, int *fd_out, int *port_out, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    } else {
        snprintf(err, cap, "--bind %s: not an IPv4 or IPv6 address", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, cap, "dashboard: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        if (ss.ss_family == AF_INET6)
            snprintf(err, cap, "dashboard: cannot listen on [%s]:%d: %s", addr, port, strerror(e));
        else
            snprintf(err, cap, "dashboard: cannot listen on %s:%d: %s", addr, port, strerror(e));
        return e == EADDRINUSE ? -2 : -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port);
    *fd_out = fd;
    return 0;
}

int dash_server_check(const dash_server_opts *o, char *err, size_t cap)
{
    const char *bind = o->bind && *o->bind ? o->bind : "127.0.0.1";
    if (!strcasecmp(bind, "localhost")) bind = "127.0.0.1";
    unsigned char ip[16];
    if (ip_bytes(bind, ip) != 0) {
        snprintf(err, cap, "--bind %s: not an IPv4 or IPv6 address (e.g. 127.0.0.1, ::1, 0.0.0.0)",
                 bind);
        return -1;
    }
    if (o->port < -1 || o->port > 65535) {
        snprintf(err, cap, "--dashboard=%d: the port must be 0-65535 (0: any free port)", o->port);
        return -1;
    }
    if (o->token && o->token[0] == '\0' && !dash_addr_is_loopback(bind)) {
        snprintf(err, cap,
                 "--bind %s: an address that is not loopback needs a token (leave --token out to "
                 "get a generated one)",
                 bind);
        return -1;
    }
    if (o->n_allow_hosts > DASH_MAX_ALLOW_HOSTS) {
        snprintf(err, cap, "--allow-host: at most %d names", DASH_MAX_ALLOW_HOSTS);
        return -1;
    }
    for (int i = 0; i < o->n_allow_hosts; i++) {
        const char *h = o->allow_hosts[i];
        int okc = h && *h && strlen(h) < 256;
        for (const char *p = h; okc && *p; p++)
            okc = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  strchr(".-_:[]", *p) != NULL;
        if (!okc) {
            snprintf(err, cap,
                     "--allow-host %.300s: must be a host name or address, optionally with :PORT "
                     "(e.g. localhost:8000)",
                     h ? h : "");
            return -1;
        }
    }
    if (o->token && strlen(o->token) >= 128) {
        snprintf(err, cap, "--token: longer than 127 characters");
        return -1;
    }
    if (o->token && o->token[0] && strlen(o->token) < 8) {
        snprintf(err, cap, "--token: shorter than 8 characters");
        return -1;
    }
    if (o->token)
        for (const char *p = o->token; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  *p == '-' || *p == '_' || *p == '.' || *p == '~')) {
                snprintf(err, cap, "--token: use letters, digits and - _ . ~ only");
                return -1;
            }
    return 0;
}

dash_server *dash_server_start(dash_store *store, const dash_server_opts *o, char *err, size_t cap)
{
    char dummy[8];
    if (!err || !cap) {
        err = dummy;
        cap = sizeof dummy;
    }
    err[0] = '\0';
    dash_server_opts def;
    memset(&def, 0, sizeof def);
    def.port = -1;
    if (!o) o = &def;
    if (dash_server_check(o, err, cap) != 0) return NULL;
    const char *bind = o->bind && *o->bind ? o->bind : "127.0.0.1";
    if (!strcasecmp(bind, "localhost")) bind = "127.0.0.1";
    int loop = dash_addr_is_loopback(bind);

    dash_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, cap, "dashboard: out of memory");
        return NULL;
    }
    srv->store = store;
    srv->max_conns = o->max_conns > 0 ? o->max_conns : 32;
    srv->max_streams = srv->max_conns - (srv->max_conns >= 8 ? srv->max_conns / 4 : 1);
    if (srv->max_streams < 1) srv->max_streams = 1;
    srv->keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 3000; /* a closed page frees its slot within 3 s */
    for (int i = 0; i < o->n_allow_hosts && srv->n_allow < DASH_MAX_ALLOW_HOSTS; i++)
        if (o->allow_hosts[i] && strlen(o->allow_hosts[i]) < sizeof srv->allow[0])
            snprintf(srv->allow[srv->n_allow++], sizeof srv->allow[0], "%s", o->allow_hosts[i]);
    atomic_init(&srv->conns, 0);
    atomic_init(&srv->stopping, 0);
    atomic_init(&srv->evicted, 0);
    /* libmicrohttpd's own limit leaves room for a burst (hard_conns) and
     * for evicted connections that are still closing; admit() keeps the
     * count at max_conns while it can evict */
    srv->hard_conns = srv->max_conns * 4 + 16;
    unsigned mhd_limit = (unsigned)srv->hard_conns + 16;
    srv->mhd_limit = (int)mhd_limit;
    srv->cap_wait = (int)mhd_limit + 8;
    srv->wait = calloc((size_t)srv->cap_wait, sizeof *srv->wait);
    if (!srv->wait || pthread_mutex_init(&srv->plock, NULL) != 0) {
        snprintf(err, cap, "dashboard: out of memory");
        free(srv->wait);
        free(srv);
        return NULL;
    }
    if (o->token && o->token[0]) {
        snprintf(srv->token, sizeof srv->token, "%s", o->token);
    } else if ((!loop || o->require_token) &&
               dash_token_generate(srv->token, sizeof srv->token) != 0) {
        snprintf(err, cap, "dashboard: cannot generate a token: %s", strerror(errno));
        server_free(srv);
        return NULL;
    }
    if (dash_token_generate(srv->session, sizeof srv->session) != 0)
        snprintf(srv->session, sizeof srv->session, "%lx", (unsigned long)getpid());

    int rc = -1;
    if (o->port >= 0) {
        rc = listen_on(bind, o->port, &srv->fd, &srv->port, err, cap);
    } else {
        for (int p = DASH_DEFAULT_PORT; p < DASH_DEFAULT_PORT + 20; p++) {
            rc = listen_on(bind, p, &srv->fd, &srv->port, err, cap);
            if (rc != -2) break;
        }
        if (rc == -2)
            snprintf(err, cap, "dashboard: ports %d-%d on %s are all in use (use --dashboard=PORT)",
                     DASH_DEFAULT_PORT, DASH_DEFAULT_PORT + 19, bind);
    }
    if (rc != 0) {
        server_free(srv);
        return NULL;
    }
    snprintf(srv->cookie_name, sizeof srv->cookie_name, "mlpc_token_%d", srv->port);

    /* the gate accepts (gate.c); libmicrohttpd gets each connection once its
     * headers are in (MHD_add_connection, which needs the ITC) */
    /* poll, not select: a connection's descriptor may be over FD_SETSIZE
     * while the gate holds many */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_ITC | MHD_USE_POLL | MHD_USE_ERROR_LOG | (strchr(bind, ':') ? MHD_USE_IPv6 : 0);
    srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                              MHD_OPTION_EXTERNAL_LOGGER, quiet_log, srv,
                              MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                              MHD_OPTION_CONNECTION_TIMEOUT, REQUEST_IDLE_S,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                              MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, srv,
                              MHD_OPTION_END);
    if (!srv->d) {
        snprintf(err, cap, "dashboard: libmicrohttpd could not start on %s:%d", bind, srv->port);
        close(srv->fd);
        server_free(srv);
        return NULL;
    }
    dash_gate_opts go = {gate_capacity(mhd_limit), HEADER_IDLE_S, HEADER_TOTAL_S};
    srv->gate = dash_gate_start(srv->fd, &go, on_ready, srv);
    if (!srv->gate) {
        snprintf(err, cap, "dashboard: cannot start accepting on %s:%d: %s", bind, srv->port, strerror(errno));
        MHD_stop_daemon(srv->d);
        close(srv->fd);
        server_free(srv);
        return NULL;
    }
    srv->reaper_started = pthread_create(&srv->reaper, NULL, reaper_main, srv) == 0;
    const char *shown = bind;
    if (!strcmp(bind, "0.0.0.0")) shown = "127.0.0.1";
    if (!strcmp(bind, "::")) shown = "::1";
    int v6 = strchr(shown, ':') != NULL;
    snprintf(srv->url, sizeof srv->url, "http://%s%s%s:%d/%s%s", v6 ? "[" : "", shown,
             v6 ? "]" : "", srv->port, srv->token[0] ? "?token=" : "", srv->token);
    return srv;
}

void dash_server_stop(dash_server *srv)
{
    if (!srv) return;
    atomic_store(&srv->stopping, 1);
    dash_gate_stop(srv->gate);   /* nothing new reaches libmicrohttpd */
    dash_store_wake(srv->store); /* streams waiting for events return now */
    MHD_stop_daemon(srv->d);     /* joins every connection thread */
    close(srv->fd);
    if (srv->reaper_started) pthread_join(srv->reaper, NULL);
    server_free(srv);
}

int dash_server_port(const dash_server *srv) { return srv->port; }
const char *dash_server_url(const dash_server *srv) { return srv->url; }
int dash_server_connections(const dash_server *srv)
{
    return atomic_load(&((dash_server *)srv)->conns);
}
int dash_server_held(const dash_server *srv) { return dash_gate_held(srv->gate); }
long dash_server_swept(const dash_server *srv) { return dash_gate_swept(srv->gate); }
