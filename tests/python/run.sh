#!/bin/sh
# tests/python/run.sh - the Python package's tests (pytest), one suite of
# tests/run.sh's slow tier. Prints a last line "N passed, N failed".
#
# Uses Debian's /usr/bin/python3 (override with PYTHON=...) with numpy and
# pytest (scripts/install-deps.sh); skips with one line when they are
# missing. The package is imported from python/ (PYTHONPATH); the shared
# library and CLI come from python/mlpc/_native/ (`make python`), else from
# build/ ($MLPC_LIBRARY, $MLPC_CLI).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 2
PY=${PYTHON:-/usr/bin/python3}

if ! "$PY" -c "import numpy, pytest" >/dev/null 2>&1; then
    echo "python: skipped: $PY lacks numpy or pytest (apt-get install python3-numpy python3-pytest, or scripts/install-deps.sh)"
    echo "0 passed, 0 failed"
    exit 0
fi
if [ ! -f python/mlpc/_native/libmlpc.so.0 ]; then
    if [ -f build/libmlpc.so.0 ] && [ -x build/mlpc ]; then
        MLPC_LIBRARY=${MLPC_LIBRARY:-$repo/build/libmlpc.so.0}
        MLPC_CLI=${MLPC_CLI:-$repo/build/mlpc}
        export MLPC_LIBRARY MLPC_CLI
    else
        echo "python: build/libmlpc.so.0 is missing: run 'make python' first"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
if [ -f python/mlpc/_native/libmlpc.so.0 ] && [ -n "$(find build/libmlpc.so.0 -newer python/mlpc/_native/libmlpc.so.0)" ]; then
    echo "note: python/mlpc/_native/ is older than build/: testing the older library (run 'make python')"
fi
PYTHONPATH=$repo/python${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH

out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
"$PY" -m pytest -q -p no:cacheprovider tests/python "$@" 2>&1 | tee "$out"
# pytest's summary line: "N passed, M failed, K errors in Ts" (parts may be missing)
last=$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$out" | tail -1)
# shellcheck disable=SC2046  # splitting awk's fields is intended
set -- $(echo "$last" | awk '{
    for (i = 2; i <= NF; i++) {
        w = $i; gsub(/[^a-z]/, "", w); n = $(i - 1); gsub(/[^0-9]/, "", n)
        if (w == "passed") p = n; if (w == "failed") f = n; if (w == "error" || w == "errors") e = n
    } } END { print p + 0, f + e }')
passed=$1; failed=$2
[ -n "$last" ] || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
