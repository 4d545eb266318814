"""dash_load.py - availability of `mlpc dashboard` under slow connections
(tests/cli/test_dash_load.sh; issue 17 item 5). Loopback only, bounded in
count and time, standard library only.

    dash_load.py PORT PID slow N SECONDS   N connections that send a request
        header one byte per second, each reopened when the server closes it,
        for SECONDS; meanwhile a page request (GET /) every 0.5 s. Prints
        one line per result; exits 1 when a page request got no 200 within
        the guard (10 s), or the server's RSS went over 16 MB.
    dash_load.py PORT PID streams N        N event-stream requests at once:
        prints how many got 200 (and stay open), 503, or nothing; then a
        page request; exits 1 unless every stream got 200 or 503 and the
        page request got 200.
"""
import resource
import selectors
import socket
import sys
import threading
import time

GUARD_S = 10.0
RSS_LIMIT_KB = 16 * 1024


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def page(port):
    """GET / with Connection: close: (status or None, seconds)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
        s.settimeout(GUARD_S)
        s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
    except (OSError, ValueError, IndexError):
        status = None
    return status, time.monotonic() - t0


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def slow(port, pid, n, seconds):
    n = min(n, raise_nofile(n + 64) - 64)
    req = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: " % port).encode() + b"a" * 4096
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> bytes sent
    opened = closed = 0

    def open_one():
        nonlocal opened
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        sel.register(s, selectors.EVENT_READ)
        conns[s] = 0
        opened += 1

    for _ in range(n):
        open_one()
    results = []
    stop = threading.Event()

    def pages():
        while not stop.is_set():
            results.append(page(port))
            stop.wait(0.5)

    th = threading.Thread(target=pages)
    th.start()
    rss_max = rss_kb(pid)
    t_end = time.monotonic() + seconds
    next_byte = time.monotonic()
    while time.monotonic() < t_end:
        for key, _ in sel.select(timeout=0.1):  # readable: the server closed it (or answered)
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                del conns[s]
                closed += 1
                open_one()
        if time.monotonic() >= next_byte:  # one more header byte on each, once a second
            next_byte += 1.0
            for s in list(conns):
                try:
                    s.send(req[conns[s]:conns[s] + 1])
                    conns[s] += 1
                except OSError:
                    pass
            rss_max = max(rss_max, rss_kb(pid))
    stop.set()
    th.join()
    held = len(conns)
    for s in list(conns):
        sel.unregister(s)
        s.close()
    ok = [t for st, t in results if st == 200]
    bad = [(st, round(t, 3)) for st, t in results if st != 200]
    if bad:
        print("page requests without 200 (status, seconds): %s" % bad[:10])
    print("slow connections: %d held open at the end, %d opened in all, %d closed by the server" % (held, opened, closed))
    print("page requests during the load: %d of %d got 200; latency median %.3f s, max %.3f s (%s 1 s)" % (
        len(ok), len(results), sorted(ok)[len(ok) // 2] if ok else -1, max(ok) if ok else -1,
        "all within" if ok and max(ok) <= 1.0 else "not all within"))
    print("server RSS: max %.1f MB (limit %.0f MB)" % (rss_max / 1024.0, RSS_LIMIT_KB / 1024.0))
    after, t_after = page(port)
    print("page request after the load: %s in %.3f s" % (after, t_after))
    good = results and len(ok) == len(results) and 0 < rss_max <= RSS_LIMIT_KB and after == 200
    return 0 if good else 1


def streams(port, pid, n):
    raise_nofile(n + 64)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
        s.sendall(("GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port).encode())
        socks.append(s)
    got = {200: 0, 503: 0, None: 0}
    for s in socks:
        s.settimeout(GUARD_S)
        try:
            head = s.recv(64)
            st = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else None
        except (OSError, ValueError, IndexError):
            st = None
        got[st if st in got else None] += 1
    status, t = page(port)
    for s in socks:
        s.close()
    print("event streams: %d of %d got 200, %d got 503, %d nothing" % (got[200], n, got[503], got[None]))
    print("page request with the streams open: %s in %.3f s" % (status, t))
    return 0 if got[None] == 0 and got[200] > 0 and status == 200 else 1


if __name__ == "__main__":
    port, pid, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if what == "slow":
        sys.exit(slow(port, pid, int(sys.argv[4]), float(sys.argv[5])))
    sys.exit(streams(port, pid, int(sys.argv[4])))
