#!/bin/sh
# The dashboard under load (issue 17 item 5), loopback only: 1,000 slow
# connections (a header byte a second, reopened when closed) for 12 s while
# a page is requested every 0.5 s: every page request is answered (latency
# printed; guard 10 s), the server stays under 16 MB RSS and serves again
# afterwards; then 200 event streams at once: each gets 200 or 503, none is
# dropped silently, and a page request still gets in.
. "$(dirname "$0")/common.inc"

PY=/usr/bin/python3
if ! [ -x "$PY" ]; then
    skip "dashboard under load" "no /usr/bin/python3"
    finish
fi
mkdir -p "$T/dash"
"$MLPC" dashboard "$T/dash" --port 0 >"$T/dash.out" 2>"$T/dash.err" &
P=$!
_i=0
while [ $_i -lt 3000 ] && ! grep -q 'http://' "$T/dash.out" && kill -0 "$P" 2>/dev/null; do
    sleep 0.1
    _i=$((_i + 1))
done
PORT=$(sed -n 's|^dashboard: http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/dash.out")
if [ -n "$PORT" ]; then
    "$PY" "$(dirname "$0")/dash_load.py" "$PORT" "$P" slow 1000 12 >"$T/slow" 2>&1
    RC=$?
    sed 's/^/     /' "$T/slow"
    if [ "$RC" = 0 ]; then ok "1,000 slow connections: every page request answered, RSS under 16 MB, served after"
    else bad "1,000 slow connections: every page request answered, RSS under 16 MB, served after" "$(tail -n 4 "$T/slow")"; fi
    "$PY" "$(dirname "$0")/dash_load.py" "$PORT" "$P" streams 200 >"$T/streams" 2>&1
    RC=$?
    sed 's/^/     /' "$T/streams"
    if [ "$RC" = 0 ]; then ok "200 event streams: each 200 or 503, a page request still served"
    else bad "200 event streams: each 200 or 503, a page request still served" "$(tail -n 2 "$T/streams")"; fi
    check "the server is still running" kill -0 "$P"
else
    bad "dashboard printed its URL" "$(head -c 300 "$T/dash.err")"
fi
kill "$P" 2>/dev/null
wait "$P" 2>/dev/null
finish
