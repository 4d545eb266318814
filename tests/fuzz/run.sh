#!/bin/sh
# tests/fuzz/run.sh - runs the libFuzzer targets built by `make fuzz-build`
# (build-fuzz/fuzz_NAME, tests/fuzz/fuzz_NAME.c), each for FUZZ_SECONDS
# (default 30: `make test`; `make fuzz FUZZ_SECONDS=600` for longer) from its
# committed seeds tests/fuzz/corpus/NAME. New inputs go to a temp folder (the
# committed seeds stay as they are); a crash leaves its input in
# build-fuzz/crash-NAME-* (replay: build-fuzz/fuzz_NAME FILE).
#
#   sh tests/fuzz/run.sh [NAME...]      default: every built target
# Prints "N passed, N failed" (one test per target).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 2
secs=${FUZZ_SECONDS:-30}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

if [ $# -eq 0 ]; then
    for b in build-fuzz/fuzz_*; do [ -x "$b" ] && set -- "$@" "${b#build-fuzz/fuzz_}"; done
fi
if [ $# -eq 0 ]; then
    echo "skip: no fuzz targets in build-fuzz/ (make fuzz-build; needs clang)"
    echo "0 passed, 0 failed"
    exit 0
fi
pass=0
fail=0
for name in "$@"; do
    bin=build-fuzz/fuzz_$name
    mkdir -p "$tmp/$name"
    if [ ! -x "$bin" ]; then
        echo "FAIL $name: $bin is not built"; fail=$((fail + 1)); continue
    fi
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -close_fd_mask=2 \
        -artifact_prefix="build-fuzz/crash-$name-" "$tmp/$name" "tests/fuzz/corpus/$name" >"$tmp/$name.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
    if [ "$rc" = 0 ]; then
        echo "ok   $name: ${runs:-?} inputs in ${secs}s, no crash"
        pass=$((pass + 1))
    else
        echo "FAIL $name (exit $rc): the input is in build-fuzz/crash-$name-*"
        tail -n 40 "$tmp/$name.log" | sed 's/^/     /'
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
