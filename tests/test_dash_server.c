/* test_dash_server.c - the dashboard server's safety rules, over raw HTTP on
 * 127.0.0.1 (ephemeral ports; nothing leaves the loopback interface):
 * Host checks, GET/HEAD only, no path from the URL, tokens, the connection
 * cap, and the event stream. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "dash/dash.h"

/* ------------------------------------------------------------------ helpers */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (k <= 0) return; /* the server may close early (405 before the body) */
        off += (size_t)k;
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Reads until the peer closes, `until` appears, or ms pass. Returns bytes. */
static size_t recv_for(int fd, char *buf, size_t cap, int ms, const char *until)
{
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    buf[0] = '\0';
    for (;;) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || len + 1 >= cap) break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) break;
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = '\0';
        if (until && strstr(buf, until)) break;
    }
    return len;
}

/* One request on a fresh connection; the whole response in buf. */
static char *request(int port, const char *raw)
{
    static char buf[1 << 17];
    int fd = dial(port);
    send_all(fd, raw);
    recv_for(fd, buf, sizeof buf, 30000, NULL);
    close(fd);
    return buf;
}

static int status_of(const char *resp)
{
    int code = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1) return -1;
    return code;
}

static char *get(int port, const char *path, const char *host, const char *extra)
{
    char req[2048];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path,
             host, extra ? extra : "");
    return request(port, req);
}

typedef struct fixture {
    dash_store *store;
    dash_run *run;
    dash_server *srv;
    int port;
    char host[64];
} fixture;

static fixture *start(const dash_server_opts *o)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->store = dash_store_create(0);
    assert_non_null(f->store);
    f->run = dash_store_add_live(f->store, "t", 0, 64);
    assert_non_null(f->run);
    char err[512];
    dash_server_opts def;
    memset(&def, 0, sizeof def);
    def.bind = "127.0.0.1";
    def.port = 0;
    f->srv = dash_server_start(f->store, o ? o : &def, err, sizeof err);
    if (!f->srv) fail_msg("server: %s", err);
    f->port = dash_server_port(f->srv);
    assert_true(f->port > 0);
    snprintf(f->host, sizeof f->host, "127.0.0.1:%d", f->port);
    return f;
}

static void stop(fixture *f)
{
    dash_server_stop(f->srv);
    dash_store_free(f->store);
    free(f);
}

/* ------------------------------------------------------------------ policy functions */

static void test_loopback_policy(void **state)
{
    (void)state;
    assert_true(dash_addr_is_loopback("127.0.0.1"));
    assert_true(dash_addr_is_loopback("127.0.0.2"));
    assert_true(dash_addr_is_loopback("127.255.255.254"));
    assert_true(dash_addr_is_loopback("::1"));
    assert_true(dash_addr_is_loopback("::ffff:127.0.0.1"));
    assert_true(dash_addr_is_loopback("localhost"));
    assert_false(dash_addr_is_loopback("0.0.0.0"));
    assert_false(dash_addr_is_loopback("::"));
    assert_false(dash_addr_is_loopback("10.0.0.1"));
    assert_false(dash_addr_is_loopback("192.168.1.5"));
    assert_false(dash_addr_is_loopback("128.0.0.1"));
    assert_false(dash_addr_is_loopback("example.com"));
    assert_false(dash_addr_is_loopback(""));

    /* a non-loopback bind must have a token: "" (none) is refused */
    char err[256];
    dash_server_opts o;
    memset(&o, 0, sizeof o);
    o.bind = "0.0.0.0";
    o.token = "";
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs a token"));
    o.bind = "::";
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    o.bind = "0.0.0.0";
    o.token = NULL; /* generated */
    assert_int_equal(dash_server_check(&o, err, sizeof err), 0);
    o.token = "short";
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    o.token = "has space in it";
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    o.token = "good-token_1.2~3";
    assert_int_equal(dash_server_check(&o, err, sizeof err), 0);
    o.bind = "127.0.0.1";
    o.token = ""; /* loopback: no token is fine */
    assert_int_equal(dash_server_check(&o, err, sizeof err), 0);
    o.bind = "not-an-address";
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--bind not-an-address"));
    o.bind = NULL;
    o.port = 65536;
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
}

static void test_host_policy(void **state)
{
    (void)state;
    assert_true(dash_host_allowed("127.0.0.1:8000", "127.0.0.1", 8000));
    assert_true(dash_host_allowed("localhost:8000", "127.0.0.1", 8000));
    assert_true(dash_host_allowed("LOCALHOST:8000", "127.0.0.1", 8000));
    assert_true(dash_host_allowed("[::1]:8000", "::1", 8000));
    assert_true(dash_host_allowed("localhost:8000", "::1", 8000));
    assert_true(dash_host_allowed("192.168.1.5:8000", "192.168.1.5", 8000));
    assert_true(dash_host_allowed("127.0.0.1", "127.0.0.1", 80));
    /* DNS rebinding: a name that resolves here is still refused */
    assert_false(dash_host_allowed("evil.example:8000", "127.0.0.1", 8000));
    assert_false(dash_host_allowed("localhost.evil.example:8000", "127.0.0.1", 8000));
    assert_false(dash_host_allowed("localhost:8000", "192.168.1.5", 8000)); /* not loopback */
    assert_false(dash_host_allowed("127.0.0.1:8001", "127.0.0.1", 8000));   /* wrong port */
    assert_false(dash_host_allowed("127.0.0.1", "127.0.0.1", 8000));        /* no port */
    assert_false(dash_host_allowed("127.0.0.2:8000", "127.0.0.1", 8000));   /* other address */
    assert_false(dash_host_allowed("::1:8000", "::1", 8000));               /* bare IPv6 */
    assert_false(dash_host_allowed("[::1]x:8000", "::1", 8000));
    assert_false(dash_host_allowed("127.0.0.1:80a0", "127.0.0.1", 8000));
    assert_false(dash_host_allowed("127.0.0.1:", "127.0.0.1", 8000));
    assert_false(dash_host_allowed("", "127.0.0.1", 8000));
    assert_false(dash_host_allowed(NULL, "127.0.0.1", 8000));
}

static void test_token_compare(void **state)
{
    (void)state;
    assert_true(dash_token_equal("abcdef0123", "abcdef0123"));
    assert_false(dash_token_equal("abcdef0123", "abcdef0124"));
    assert_false(dash_token_equal("abcdef0123", "abcdef012"));
    assert_false(dash_token_equal("abcdef012", "abcdef0123"));
    assert_false(dash_token_equal("", ""));
    assert_false(dash_token_equal(NULL, "x"));
    char a[40], b[40];
    assert_int_equal(dash_token_generate(a, sizeof a), 0);
    assert_int_equal(dash_token_generate(b, sizeof b), 0);
    assert_int_equal(strlen(a), 32); /* 128 bits */
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

/* ------------------------------------------------------------------ over HTTP */

static void test_serves_page_and_assets(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    char *r = get(f->port, "/", f->host, NULL);
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Type: text/html"));
    assert_non_null(strstr(r, "Content-Security-Policy: default-src 'none'"));
    assert_non_null(strstr(r, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(r, "Referrer-Policy: no-referrer"));
    assert_non_null(strstr(r, "uPlot.iife.min.js"));
    const char *assets[] = {"/app.js", "/app.css", "/uPlot.iife.min.js", "/uPlot.min.css"};
    for (int i = 0; i < 4; i++) {
        r = get(f->port, assets[i], f->host, NULL);
        assert_int_equal(status_of(r), 200);
    }
    char lh[64];
    snprintf(lh, sizeof lh, "localhost:%d", f->port);
    assert_int_equal(status_of(get(f->port, "/", lh, NULL)), 200);
    assert_true(strstr(dash_server_url(f->srv), "http://127.0.0.1:") == dash_server_url(f->srv));
    assert_null(strstr(dash_server_url(f->srv), "token"));
    stop(f);
}

static void test_wrong_host_refused(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    char h[64];
    assert_int_equal(status_of(get(f->port, "/", "evil.example", NULL)), 403);
    snprintf(h, sizeof h, "evil.example:%d", f->port);
    assert_int_equal(status_of(get(f->port, "/", h, NULL)), 403);
    assert_int_equal(status_of(get(f->port, "/events", h, NULL)), 403);
    snprintf(h, sizeof h, "127.0.0.1:%d", f->port + 1);
    assert_int_equal(status_of(get(f->port, "/", h, NULL)), 403);
    snprintf(h, sizeof h, "127.0.0.2:%d", f->port); /* not the address it arrived on */
    assert_int_equal(status_of(get(f->port, "/", h, NULL)), 403);
    /* HTTP/1.0 without a Host header */
    char *r = request(f->port, "GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(status_of(r), 403);
    assert_null(strstr(r, "<html"));
    /* two Host headers, the first one valid: 400 (RFC 9112 3.2), either order */
    char raw[256];
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: %s\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
             f->host);
    r = request(f->port, raw);
    assert_int_equal(status_of(r), 400);
    assert_null(strstr(r, "<html"));
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nhost: evil.example\r\nHOST: %s\r\nConnection: close\r\n\r\n",
             f->host);
    assert_int_equal(status_of(request(f->port, raw)), 400);
    /* a header line without a colon, an unknown protocol: 400 */
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: %s\r\nBad Header\r\nConnection: close\r\n\r\n", f->host);
    assert_int_equal(status_of(request(f->port, raw)), 400);
    snprintf(raw, sizeof raw, "GET / FOO/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", f->host);
    assert_int_equal(status_of(request(f->port, raw)), 400);
    stop(f);
}

/* --allow-host: the names listed are accepted too (SSH tunnels, proxies);
 * any other Host still gets 403 */
static void test_allow_host(void **state)
{
    (void)state;
    const char *allow[] = {"localhost:8000", "Dash.Example"};
    assert_true(dash_host_in_list("localhost:8000", allow, 2));
    assert_true(dash_host_in_list("LOCALHOST:8000", allow, 2));
    assert_false(dash_host_in_list("localhost:8001", allow, 2));
    assert_false(dash_host_in_list("localhost", allow, 2));
    assert_true(dash_host_in_list("dash.example", allow, 2));
    assert_true(dash_host_in_list("dash.example:443", allow, 2));
    assert_false(dash_host_in_list("dash.example:443x", allow, 2));
    assert_false(dash_host_in_list("dash.example.evil", allow, 2));
    assert_false(dash_host_in_list("evil.example", allow, 2));
    assert_false(dash_host_in_list(NULL, allow, 2));
    assert_false(dash_host_in_list("", allow, 2));

    dash_server_opts o;
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = 0;
    o.allow_hosts = allow;
    o.n_allow_hosts = 2;
    fixture *f = start(&o);
    assert_int_equal(status_of(get(f->port, "/", "localhost:8000", NULL)), 200);
    assert_int_equal(status_of(get(f->port, "/", "dash.example", NULL)), 200);
    assert_int_equal(status_of(get(f->port, "/", f->host, NULL)), 200);
    assert_int_equal(status_of(get(f->port, "/", "localhost:8001", NULL)), 403);
    assert_int_equal(status_of(get(f->port, "/", "evil.example:8000", NULL)), 403);
    stop(f);

    char err[512];
    const char *bad[] = {"local host"};
    o.allow_hosts = bad;
    o.n_allow_hosts = 1;
    assert_int_equal(dash_server_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--allow-host"));
}

static void test_only_get_and_head(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (int i = 0; i < 5; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "%s / HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                 methods[i], f->host);
        char *r = request(f->port, req);
        if (status_of(r) != 405) fail_msg("%s: %s", methods[i], r);
        assert_non_null(strstr(r, "Allow: GET, HEAD"));
    }
    char req[256];
    snprintf(req, sizeof req, "POST /events HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             f->host);
    assert_int_equal(status_of(request(f->port, req)), 405);
    snprintf(req, sizeof req, "HEAD / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", f->host);
    char *r = request(f->port, req);
    assert_int_equal(status_of(r), 200);
    assert_null(strstr(r, "<!doctype")); /* no body */
    stop(f);
}

static void test_no_path_from_url(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    const char *paths[] = {
        "/../../etc/passwd",          "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "//etc/passwd",         "/etc/passwd",
        "/app.js/../../../etc/passwd", "/./app.js",                "/web/app.js",
        "/index.html",                 "/src/dash/server.c",       "/Makefile",
        "/app.js%00.png",              "/APP.JS",                  "/events/../../etc/passwd",
        "/..\\..\\etc\\passwd",        "/%252e%252e/etc/passwd",   "/proc/self/environ",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *r = get(f->port, paths[i], f->host, NULL);
        if (status_of(r) != 404) fail_msg("%s: %.200s", paths[i], r);
        assert_null(strstr(r, "root:"));
        assert_null(strstr(r, "#include"));
    }
    stop(f);
}

static void test_token_required(void **state)
{
    (void)state;
    dash_server_opts o;
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = 0;
    o.token = "s3cret-token-123";
    fixture *f = start(&o);
    assert_non_null(strstr(dash_server_url(f->srv), "?token=s3cret-token-123"));
    assert_int_equal(status_of(get(f->port, "/", f->host, NULL)), 401);
    assert_int_equal(status_of(get(f->port, "/events", f->host, NULL)), 401);
    assert_int_equal(status_of(get(f->port, "/app.js", f->host, NULL)), 401);
    assert_int_equal(status_of(get(f->port, "/?token=wrong", f->host, NULL)), 401);
    assert_int_equal(status_of(get(f->port, "/?token=s3cret-token-12", f->host, NULL)), 401);
    assert_int_equal(status_of(get(f->port, "/?token=s3cret-token-1234", f->host, NULL)), 401);
    char *r = get(f->port, "/?token=s3cret-token-123", f->host, NULL);
    assert_int_equal(status_of(r), 200);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "Set-Cookie: mlpc_token_%d=s3cret-token-123; Path=/; HttpOnly; "
                                    "SameSite=Strict", f->port);
    assert_non_null(strstr(r, cookie));
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Cookie: mlpc_token_%d=s3cret-token-123\r\n", f->port);
    assert_int_equal(status_of(get(f->port, "/app.js", f->host, hdr)), 200);
    snprintf(hdr, sizeof hdr, "Cookie: mlpc_token_%d=nope\r\n", f->port);
    assert_int_equal(status_of(get(f->port, "/app.js", f->host, hdr)), 401);
    assert_int_equal(
        status_of(get(f->port, "/app.js", f->host, "Authorization: token s3cret-token-123\r\n")), 200);
    assert_int_equal(
        status_of(get(f->port, "/app.js", f->host, "Authorization: Bearer s3cret-token-123\r\n")), 200);
    /* the Host check comes first, whatever the token */
    assert_int_equal(status_of(get(f->port, "/?token=s3cret-token-123", "evil.example", NULL)), 403);
    stop(f);

    /* "non-loopback mode" on a loopback address: a generated 128-bit token */
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = 0;
    o.require_token = 1;
    f = start(&o);
    const char *url = dash_server_url(f->srv);
    const char *t = strstr(url, "?token=");
    assert_non_null(t);
    t += 7;
    assert_int_equal(strlen(t), 32);
    assert_int_equal(status_of(get(f->port, "/", f->host, NULL)), 401);
    char path[128];
    snprintf(path, sizeof path, "/?token=%s", t);
    assert_int_equal(status_of(get(f->port, path, f->host, NULL)), 200);
    stop(f);
}

/* The connection budget: event streams may take max_conns less a quarter
 * (at least 1), so a flood of streams leaves room for a page request; past
 * max_conns, connections are closed unanswered; a connection that pauses
 * in its headers is closed after 2 s and its slot comes back. */
static void test_connection_cap(void **state)
{
    (void)state;
    dash_server_opts o;
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = 0;
    o.max_conns = 4; /* 3 streams, 1 kept for pages */
    fixture *f = start(&o);
    char req[256], buf[4096];
    snprintf(req, sizeof req, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", f->host);
    int fds[3];
    for (int i = 0; i < 3; i++) { /* three open streams fill the streams' share */
        fds[i] = dial(f->port);
        send_all(fds[i], req);
        recv_for(fds[i], buf, sizeof buf, 30000, "\"hello\"");
        assert_non_null(strstr(buf, "text/event-stream"));
    }
    assert_int_equal(dash_server_connections(f->srv), 3);
    /* a fourth stream is told why (503); a page request is still served */
    int more = dial(f->port);
    send_all(more, req);
    recv_for(more, buf, sizeof buf, 30000, "\r\n\r\n");
    assert_int_equal(status_of(buf), 503);
    assert_non_null(strstr(buf, "too many event streams"));
    close(more);
    char *r = get(f->port, "/", f->host, NULL);
    if (status_of(r) != 200) fail_msg("a page beside 3 streams: %s", r);
    /* a half-sent request waits at the gate without taking a slot: a new
     * page request is still served, and the gate closes the half-sent one
     * (its headers' deadline) */
    for (int i = 0; i < 1500 && dash_server_connections(f->srv) > 3; i++) { /* 30 s guard */
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int slow = dial(f->port);
    send_all(slow, "GET / HT");
    for (int i = 0; i < 1500 && dash_server_held(f->srv) < 1; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(dash_server_held(f->srv), 1);
    assert_int_equal(dash_server_connections(f->srv), 3);
    int extra = dial(f->port);
    char get_req[256];
    snprintf(get_req, sizeof get_req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             f->host);
    send_all(extra, get_req);
    size_t n = recv_for(extra, buf, sizeof buf, 30000, NULL);
    close(extra);
    if (!(n > 0 && status_of(buf) == 200)) fail_msg("a page request beside a half-sent one: %.200s", buf);
    recv_for(slow, buf, sizeof buf, 30000, NULL); /* closed by the server */
    close(slow);
    r = NULL;
    for (int i = 0; i < 300; i++) { /* 30 s guard */
        r = get(f->port, "/", f->host, NULL);
        if (status_of(r) == 200) break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (status_of(r) != 200) fail_msg("after the half-sent request: %s", r);
    /* a half-sent request whose client hangs up leaves the gate at once, not
     * at the 2 s idle deadline */
    int gone = dial(f->port);
    send_all(gone, "GET / HT");
    for (int i = 0; i < 1500 && dash_server_held(f->srv) < 1; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(dash_server_held(f->srv), 1);
    long swept = dash_server_swept(f->srv);
    double t0 = now_s();
    close(gone);
    while (dash_server_held(f->srv) > 0 && now_s() - t0 < 30) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(dash_server_held(f->srv), 0);
    /* let go for the hang-up, not at the deadline (counted apart), however
     * slow the machine */
    if (dash_server_swept(f->srv) != swept) fail_msg("a hung-up half-sent request was held until its deadline");
    /* when one stream ends, a new stream is served again */
    close(fds[0]);
    for (int i = 0; i < 1500 && dash_server_connections(f->srv) >= 3; i++) { /* 30 s guard */
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        /* the server notices the closed stream on its next write (a ping) */
        dash_store_wake(f->store);
    }
    if (dash_server_connections(f->srv) >= 3) fail_msg("still %d connections", dash_server_connections(f->srv));
    int again = dial(f->port);
    send_all(again, req);
    recv_for(again, buf, sizeof buf, 30000, "\"hello\"");
    assert_non_null(strstr(buf, "text/event-stream"));
    close(again);
    close(fds[1]);
    close(fds[2]);
    stop(f);
}

static void test_event_stream_live(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    char req[256];
    static char buf[1 << 16];
    snprintf(req, sizeof req, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", f->host);
    int fd = dial(f->port);
    send_all(fd, req);
    recv_for(fd, buf, sizeof buf, 30000, "\"type\":\"run\"");
    assert_non_null(strstr(buf, "Content-Type: text/event-stream"));
    assert_non_null(strstr(buf, "retry: 1000"));
    assert_non_null(strstr(buf, "\"type\":\"hello\""));
    assert_non_null(strstr(buf, "\"name\":\"t\""));
    /* a record pushed by "training" reaches the open stream at once */
    dash_rec r;
    memset(&r, 0, sizeof r);
    r.kind = DASH_REC_EPOCH;
    r.epoch = 1;
    r.loss = 0.25;
    r.acc = 0.9;
    r.val_loss = r.val_acc = r.test_loss = r.test_acc = NAN;
    r.mse = r.val_mse = r.test_mse = NAN;
    r.lr = 0.1f;
    assert_int_equal(dash_run_push(f->run, &r), 0);
    assert_true(dash_store_start_pump(f->store, 50) == 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    recv_for(fd, buf, sizeof buf, 30000, "\"type\":\"epoch\"");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(buf, "\"type\":\"epoch\",\"run\":1,\"x\":1"));
    assert_non_null(strstr(buf, "\"loss\":0.25"));
    assert_non_null(strstr(buf, "\"val_loss\":null"));
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    /* the pump wakes every 50 ms: 5 s is a margin of 100 for a slow,
     * sanitized build, and still tells a live push from a late one */
    if (dt > 5.0) fail_msg("an epoch reached the open stream after %.2f s", dt);
    close(fd);
    stop(f);
}

static void test_port_in_use(void **state)
{
    (void)state;
    fixture *f = start(NULL);
    dash_server_opts o;
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = f->port;
    char err[512];
    dash_store *s2 = dash_store_create(0);
    dash_server *srv2 = dash_server_start(s2, &o, err, sizeof err);
    assert_null(srv2);
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
    assert_non_null(strstr(err, "in use"));
    dash_store_free(s2);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_policy),     cmocka_unit_test(test_host_policy),
        cmocka_unit_test(test_token_compare),       cmocka_unit_test(test_serves_page_and_assets),
        cmocka_unit_test(test_wrong_host_refused), cmocka_unit_test(test_allow_host),  cmocka_unit_test(test_only_get_and_head),
        cmocka_unit_test(test_no_path_from_url),    cmocka_unit_test(test_token_required),
        cmocka_unit_test(test_connection_cap),      cmocka_unit_test(test_event_stream_live),
        cmocka_unit_test(test_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
