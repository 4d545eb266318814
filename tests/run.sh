#!/bin/sh
# tests/run.sh - the test driver behind `make test` (POSIX sh).
#
# Runs, from the repository root:
#   1. fast tier: every build-asan/tests/test_* (ASan + UBSan build), then
#      every build-tsan/tests/test_* (ThreadSanitizer build, `make tsan`)
#   2. slow tier (skipped when MLPC_FAST=1): every build/tests/slow_* and
#      every tests/cli/*.sh (with MLPC=<repo>/build/mlpc exported), every
#      libFuzzer target build-fuzz/fuzz_* for FUZZ_SECONDS (default 30;
#      tests/fuzz/run.sh, `make fuzz-build`), then
#      tests/python/run.sh (the Python package, pytest) and
#      tests/e2e/run.sh (the dashboard in headless chromium)
# Each program or script is one suite.  cmocka's summary lines
# ("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)") give the number of
# tests; a program without them that prints a line "N passed, N failed" is
# counted by that line; anything else counts as one test, passed when it
# exits 0.  A crash, a sanitizer report, a timeout or a non-zero exit with no
# failure reported counts as one more failed test.
#
# The last line printed is always "N passed, N failed"; the exit status is 0
# only when nothing failed.
#
#   sh tests/run.sh                 everything
#   sh tests/run.sh tensor mnist    only suites whose name contains a word
#   MLPC_FAST=1 sh tests/run.sh     fast tier only
#   MLPC_TEST_TIMEOUT=600           seconds per suite (default 1800, 0 = none)
#   MLPC_TEST_QUIET=1               show a suite's output only when it fails
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2

FAST=${MLPC_FAST:-0}
TIMEOUT=${MLPC_TEST_TIMEOUT:-1800}
QUIET=${MLPC_TEST_QUIET:-0}

# Sanitizer settings for the fast tier; options already in the environment
# come last, so they win.
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
# cmocka's plain-text output is what gets parsed below.
CMOCKA_MESSAGE_OUTPUT=STDOUT
export CMOCKA_MESSAGE_OUTPUT
MLPC=${MLPC:-$repo/build/mlpc}
MLPC_DATA=${MLPC_DATA:-$repo/data}
export MLPC MLPC_DATA

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

have() { command -v "$1" >/dev/null 2>&1; }

# Milliseconds since the epoch (GNU date), or seconds*1000 elsewhere.
now_ms() {
    t=$(date +%s%N 2>/dev/null)
    case $t in
        *[!0-9]*|'') echo $(( $(date +%s) * 1000 )) ;;
        *) echo $(( t / 1000000 )) ;;
    esac
}
fmt_ms() { printf '%d.%02ds' $(( $1 / 1000 )) $(( $1 % 1000 / 10 )); }

# Indent a suite's output so the driver's own lines stand out; unbuffered
# when sed allows it, so long suites show progress as they go.
if echo | sed -u 's/^//' >/dev/null 2>&1; then SED_U="sed -u"; else SED_U="sed"; fi
indent() { $SED_U 's/^/    | /'; }

HAVE_TIMEOUT=0
have timeout && HAVE_TIMEOUT=1
HAVE_STDBUF=0
have stdbuf && HAVE_STDBUF=1

# Suite filter from the command line.
selected() {
    [ -n "$filters" ] || return 0
    for w in $filters; do
        case $1 in *"$w"*) return 0 ;; esac
    done
    return 1
}
filters="$*"

total_pass=0
total_fail=0
nsuites=0
failed_suites=""

# run_suite NAME TIER COMMAND...
run_suite() {
    name=$1; tier=$2; shift 2
    selected "$name" || return 0
    nsuites=$((nsuites + 1))
    log=$tmp/log.$nsuites
    rcf=$tmp/rc.$nsuites
    echo "=== $name [$tier]"
    timed=0
    if [ "$HAVE_TIMEOUT" = 1 ] && [ "$TIMEOUT" -gt 0 ] 2>/dev/null; then
        timed=1
        set -- timeout -k 10 "$TIMEOUT" "$@"
    fi
    t0=$(now_ms)
    if [ "$QUIET" = 1 ]; then
        { "$@" </dev/null >"$log" 2>&1; echo $? >"$rcf"; }
    else
        { "$@" </dev/null 2>&1; echo $? >"$rcf"; } | tee "$log" | indent
    fi
    t1=$(now_ms)
    rc=$(cat "$rcf" 2>/dev/null || echo 255)

    # counts: cmocka summaries (summed over groups), else "N passed, N failed"
    # shellcheck disable=SC2046  # splitting awk's fields is intended
    set -- $(awk '
        /^\[  PASSED  \] [0-9]+ test\(s\)/  { cp += $4; cm = 1 }
        /^\[  FAILED  \] [0-9]+ test\(s\)/  { cf += $4; cm = 1 }
        /^\[  SKIPPED \] [0-9]+ test\(s\)/  { cs += $4; cm = 1 }
        /^[ \t]*[0-9]+ passed, [0-9]+ failed[ \t]*$/ { np = $1; nf = $3; n = 1 }
        /ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error: /       { san = 1 }
        END {
            if (cm)     print cp + 0, cf + 0, cs + 0, san + 0
            else if (n) print np + 0, nf + 0, 0, san + 0
            else        print -1, -1, 0, san + 0
        }' "$log")
    pass=$1; fail=$2; skip=$3; san=$4
    if [ "$pass" -lt 0 ]; then
        if [ "$rc" = 0 ]; then pass=1; fail=0; else pass=0; fail=1; fi
    fi

    status=PASS
    note=""
    if [ "$timed" = 1 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
        status=TIMEOUT; note=" (timed out after ${TIMEOUT}s)"
    elif [ "$rc" -gt 128 ] 2>/dev/null; then
        status=CRASH; note=" (killed by signal $((rc - 128)))"
    elif [ "$san" = 1 ]; then
        status=CRASH; note=" (sanitizer report, exit $rc)"
    elif [ "$rc" != 0 ]; then
        status=FAIL; note=" (exit $rc)"
    elif [ "$fail" -gt 0 ]; then
        status=FAIL
    fi
    # A failing run always costs at least one test, even when it printed
    # no summary (crash, abort, sanitizer, exit before the summary).
    if [ "$status" != PASS ] && [ "$fail" -eq 0 ]; then
        fail=1
    fi
    if [ "$status" != PASS ]; then
        failed_suites="$failed_suites $name"
        if [ "$QUIET" = 1 ]; then indent <"$log"; fi
    fi

    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    extra=""
    [ "$skip" -gt 0 ] && extra=", $skip skipped"
    echo "--- $status $name: $pass passed, $fail failed$extra$note [$(fmt_ms $((t1 - t0)))]"
    echo
}

# Run a shell script with the interpreter its #! line names (sh if none), so
# a script works whether or not its executable bit survived.
run_script() {
    s=$1
    interp=$(sed -n '1s/^#![[:space:]]*//p' "$s")
    # shellcheck disable=SC2086  # "/usr/bin/env bash" must split
    run_suite "cli/$(basename "$s")" cli ${interp:-sh} "$s"
}

start=$(now_ms)

# ---------------------------------------------------------------- fast tier
found=0
for bin in build-asan/tests/test_*; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
    case $bin in *.d|*.o|*.c|*.dSYM) continue ;; esac
    found=1
    run_suite "$(basename "$bin")" "fast, asan+ubsan" "./$bin"
done
[ "$found" = 1 ] || echo "note: no fast-tier programs in build-asan/tests/ (run 'make asan')"
# the ThreadSanitizer build: the thread pool, the trainer, the dashboard's rings
TSAN_OPTIONS="halt_on_error=0${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
export TSAN_OPTIONS
for bin in build-tsan/tests/test_*; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
    case $bin in *.d|*.o|*.c|*.dSYM) continue ;; esac
    run_suite "tsan/$(basename "$bin")" "fast, tsan" "./$bin"
done

# ---------------------------------------------------------------- slow tier
if [ "$FAST" = 1 ]; then
    echo "note: MLPC_FAST=1, slow tier skipped"
else
    for bin in build/tests/slow_*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        case $bin in *.d|*.o|*.c|*.dSYM) continue ;; esac
        if [ "$HAVE_STDBUF" = 1 ]; then
            run_suite "$(basename "$bin")" slow stdbuf -oL "./$bin"
        else
            run_suite "$(basename "$bin")" slow "./$bin"
        fi
    done
    for s in tests/cli/*.sh; do
        [ -f "$s" ] || continue
        run_script "$s"
    done
    # the libFuzzer targets, a few seconds each (skipped when not built)
    for bin in build-fuzz/fuzz_*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        run_suite "fuzz/$(basename "$bin")" fuzz sh tests/fuzz/run.sh "${bin#build-fuzz/fuzz_}"
    done
    # the Python package (tests/python/, pytest; skipped without numpy)
    if [ -f tests/python/run.sh ]; then run_suite python/pytest python sh tests/python/run.sh; fi
    # the dashboard's end-to-end tests (node's test runner, headless chromium)
    if [ -f tests/e2e/run.sh ]; then run_suite e2e/dashboard e2e sh tests/e2e/run.sh; fi
fi

end=$(now_ms)
echo "=== $nsuites suite(s) in $(fmt_ms $((end - start)))"
if [ -n "$failed_suites" ]; then
    echo "failed suites:$failed_suites"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
