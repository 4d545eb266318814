#!/bin/sh
# mlpc search: usage errors, a small Lorenz search, its report and the best
# trial trained again by the printed command; crash safety by actually
# killing processes: kill -9 of the whole search then --resume (finished
# trials kept and not run again, running ones restarted), kill -9 of one
# worker (its trial failed, or run again with --retry).
. "$(dirname "$0")/common.inc"

# the cores mlpc counts (sched_getaffinity): nproc without the OpenMP limits it also honours
NCPU=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)

# ---- usage and malformed input: one line, naming the file or flag
expect_fail "search: no space" 2 "missing SPACE.json" search
expect_fail "search: missing space file" 1 "nope.json" search "$T/nope.json"
printf '{"data": "lorenz", "params": {' >"$T/bad1.json"
expect_fail "search: invalid JSON" 1 "bad1.json: invalid JSON at line 1" search "$T/bad1.json"
echo '{"data":"lorenz","params":{"hidden":[8],"act":"swish"}}' >"$T/bad2.json"
expect_fail "search: unknown activation" 1 'bad2.json: params.act: unknown value "swish"' search "$T/bad2.json"
echo '{"data":"lorenz","params":{"hidden":[8]},"trials":"many"}' >"$T/bad3.json"
expect_fail "search: bad trials" 1 "bad3.json: trials:" search "$T/bad3.json"
echo '{"data":"lorenz","params":{"hidden":[8],"lr":{"min":1,"max":2}}}' >"$T/bad4.json"
expect_fail "search: grid needs a step" 1 'params.lr: the grid sampler needs "step" or "n"' search "$T/bad4.json"
echo '{"data":"lorenz","metric":"val_acc","params":{"hidden":[8]}}' >"$T/bad5.json"
expect_fail "search: accuracy on regression" 2 "accuracy is not defined for regression" search "$T/bad5.json" --db "$T/b5.db"
expect_fail "search: unknown flag" 2 "unknown flag --trails" search "$T/bad5.json" --trails 3
expect_fail "search: --csv alone" 2 "--csv: only with --report" search "$T/bad5.json" --csv
expect_fail "search: bad --direction" 2 "--direction" search "$T/bad5.json" --direction up
expect_fail "search: --report missing db" 1 "missing.db" search --report "$T/missing.db"
echo "not a database, just some text that is long enough to be read as a header" >"$T/junk.db"
expect_fail "search: --report junk" 1 "junk.db" search --report "$T/junk.db"

cat >"$T/small.json" <<'EOF'
{"study": "small", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 6, "seed": 4,
 "params": {"depth": {"min": 1, "max": 2}, "width": [4, 8], "act": "relu", "out_act": "linear",
            "loss": "mse", "opt": "adam", "lr": {"min": 0.001, "max": 0.01, "log": true},
            "batch": 100, "epochs": [20, 40]}}
EOF
W=$((NCPU + 1))
expect_fail "search: workers over the cores" 2 "--oversubscribe" search "$T/small.json" --db "$T/o.db" --workers $W
expect_fail "search: threads over the cores" 2 "--oversubscribe" search "$T/small.json" --db "$T/o.db" --threads $W

# ---- a database that cannot be created (a full disk, as a file size limit
# of 8 KiB: SIGXFSZ ignored, so writes fail with EFBIG) leaves no files
mkdir "$T/full"
sh -c "trap '' XFSZ; ulimit -f 16; exec \"\$0\" search \"\$1\" --db \"\$2\" --workers 1 --quiet" \
    "$MLPC" "$T/small.json" "$T/full/s.db" >"$T/out" 2>"$T/err"
RC=$?
check "search: a database that cannot be written: exit 1 (got $RC)" test "$RC" -eq 1
check "search: ... says why in one line" grep -q "s.db: cannot create the search database: .*(is the disk full?)" "$T/err"
check "search: ... and leaves no files behind" test -z "$(ls "$T/full")"

# ---- a small search, its report, and the best trial trained again
expect_ok "search: small lorenz search" search "$T/small.json" --db "$T/small.db" --workers 2 --oversubscribe
check "search: the split is printed" grep -q "^workers: 2 x 1 thread = 2 of [0-9]* cores" "$T/out"
check "search: six trials complete" grep -q '6 trials: 6 complete, 0 pruned, 0 failed, 0 running, 0 not started' "$T/out"
check "search: efficiency reported" grep -q "^parallel efficiency [0-9.]*: trial CPU" "$T/out"
check "search: memory reported" grep -q "^memory (PSS, rank 0): workers" "$T/out"
check "search: dispatch overhead reported" grep -q "^dispatch overhead: [0-9.]* ms mean" "$T/out"
expect_fail "search: study exists" 2 "--resume" search "$T/small.json" --db "$T/small.db"
expect_ok "search: report" search --report "$T/small.db" --top 3
check "search: report has 3 ranked rows" test "$(grep -c '^ *[123] ' "$T/out")" -ge 3
CMD=$(grep -A1 '^best: trial' "$T/out" | tail -n 1 | sed 's/^ *mlpc train//')
BEST=$(sed -n 's/^best: trial [0-9]*, val_loss \([0-9.e+-]*\);.*/\1/p' "$T/out")
# shellcheck disable=SC2086 # the printed command line is split as a shell would
run train $CMD --metrics "$T/best.jsonl" --quiet
if [ "$RC" -eq 0 ] && [ -n "$BEST" ]; then
    GOT=$(tail -n 1 "$T/best.jsonl" | sed 's/.*"val_loss":\([0-9.e+-]*\),.*/\1/')
    check "search: the best command reproduces val_loss $BEST" \
        awk -v a="$BEST" -v b="$GOT" 'BEGIN { exit !(sprintf("%.6g", a) == sprintf("%.6g", b)) }'
else
    bad "search: the best command runs" "rc $RC, best '$BEST': $(head -c 300 "$T/err")"
fi
expect_ok "search: report as CSV" search --report "$T/small.db" --csv
check "search: CSV has a header and 6 rows" test "$(grep -c '^small,[0-9]*,complete,' "$T/out")" -eq 6

# ---- a CSV regression search on unscaled targets (about 25..346): trials
# train on standardized targets, as `mlpc train` does by default, and report
# val_mse in the original units; the best command reproduces it
awk 'BEGIN { srand(7); print "a,b,c,y"; for (i = 0; i < 240; i++) { a = rand(); b = rand(); c = rand();
             printf "%.6f,%.6f,%.6f,%.6f\n", a, b, c, 25 + 300 * a * a + 21 * b - 10 * c } }' >"$T/reg.csv"
cat >"$T/reg.json" <<EOF
{"study": "reg", "train": "$T/reg.csv", "task": "regress", "label_col": "y", "val_split": 60,
 "metric": "val_mse", "sampler": "random", "trials": 3, "seed": 2,
 "params": {"hidden": [[16]], "act": "relu", "opt": "adam", "lr": {"min": 0.005, "max": 0.02, "log": true},
            "batch": 20, "epochs": 60}}
EOF
expect_ok "search: CSV regression search" search "$T/reg.json" --db "$T/reg.db" --workers 1
check "search: ... its command keeps train's target standardization" sh -c "! grep -q -- '--target-norm none' '$T/out'"
CMD=$(grep -A1 '^best: trial' "$T/out" | tail -n 1 | sed 's/^ *mlpc train//')
BEST=$(sed -n 's/^best: trial [0-9]*, val_mse \([0-9.e+-]*\);.*/\1/p' "$T/out")
check "search: ... the best val_mse is in the targets' units (a mean predictor's is about 7000, a standardized one under 1)" \
    awk -v a="$BEST" 'BEGIN { exit !(a + 0 > 1 && a + 0 < 3000) }'
# shellcheck disable=SC2086 # the printed command line is split as a shell would
run train $CMD --metrics "$T/reg.jsonl" --quiet
if [ "$RC" -eq 0 ] && [ -n "$BEST" ]; then
    GOT=$(tail -n 1 "$T/reg.jsonl" | sed 's/.*"val_mse":\([0-9.e+-]*\).*/\1/')
    check "search: ... the best command reproduces val_mse $BEST" \
        awk -v a="$BEST" -v b="$GOT" 'BEGIN { exit !(sprintf("%.5g", a) == sprintf("%.5g", b)) }'
else
    bad "search: ... the best command runs" "rc $RC, best '$BEST': $(head -c 300 "$T/err")"
fi

# ---- kill -9 of the whole search, then --resume
cat >"$T/long.json" <<'EOF'
{"study": "long", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 8, "seed": 3,
 "params": {"hidden": [[32, 32], [32, 32, 32]], "epochs": [500, 700], "batch": 10, "act": "relu",
            "opt": "adam", "lr": {"min": 0.0001, "max": 0.01, "log": true}}}
EOF
# children PID: the processes whose parent is PID (one read of /proc, no
# procps needed); proc_state PID: R, S, T, Z...
children() {
    if [ -r "/proc/$1/task/$1/children" ]; then
        cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
    else
        for _f in /proc/[0-9]*/status; do
            awk -v p="$1" '$1 == "PPid:" && $2 == p { split(FILENAME, a, "/"); print a[3] }' "$_f" 2>/dev/null
        done
    fi
}
proc_state() { awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# argv1 PID: the first argument of a process ("dashboard" for the search's
# dashboard process, "search" for the coordinator and its workers)
argv1() { { tr '\0' '\n' <"/proc/$1/cmdline"; } 2>/dev/null | sed -n 2p; }
# workers PID: the children of the coordinator PID that run trials
workers() { for _k in $(children "$1"); do [ "$(argv1 "$_k")" = dashboard ] || echo "$_k"; done; }
# freeze PID / thaw PID: stop (SIGSTOP) the coordinator and its workers, so
# the database cannot change while the test looks at it, and go on again.
# Every step of these tests waits for an event (a row in the database, a
# process gone), never for a time: the guards below only end a hung run.
# The workers stop first: a worker that finished a trial just before the
# coordinator stopped could leave a trial "running" in the database that no
# worker runs any more.
freeze() {
    _ws=$(workers "$1")
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$_ws" ] || kill -STOP $_ws
    kill -STOP "$1"
}
thaw() {
    _ws=$(workers "$1")
    kill -CONT "$1"
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$_ws" ] || kill -CONT $_ws
}
# release PID: until the search PID ends, continues each of its workers
# that stopped itself (MLPC_SEARCH_HOLD: a worker running a trial numbered
# below it stops after the trial's first epoch, so that a test finds the
# search in a known state however fast the trials run)
release() {
    while case $(proc_state "$1") in '' | Z*) false ;; *) true ;; esac; do
        for _k in $(workers "$1"); do
            [ "$(proc_state "$_k")" = T ] && kill -CONT "$_k" 2>/dev/null
        done
        sleep 0.05
    done
}
# count STATE: trials in STATE in $T/snap.csv
count() { grep -c ",$1," "$T/snap.csv"; }
# wait_for DB STATE N: until the report shows N trials in STATE (guard: 300 s)
wait_for() {
    _i=0
    while [ $_i -lt 3000 ]; do
        if [ -f "$1" ]; then
            _n=$("$MLPC" search --report "$1" --csv 2>/dev/null | grep -c ",$2,")
            [ "$_n" -ge "$3" ] && return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}
# frozen_with PID DB COMPLETE RUNNING: waits until the search shows at
# least COMPLETE complete and at least RUNNING running trials,
# then freezes it and checks again on the frozen state (a trial may have
# ended in between: then thaw and wait again). $T/snap.csv holds the
# report of the frozen search. Returns 1 when the search ended first.
frozen_with() {
    _try=0
    while [ $_try -lt 50 ]; do
        wait_for "$2" complete "$3" && wait_for "$2" running "$4" || return 1
        freeze "$1"
        "$MLPC" search --report "$2" --csv >"$T/snap.csv" 2>/dev/null
        [ "$(count complete)" -ge "$3" ] && [ "$(count running)" -ge "$4" ] && return 0
        thaw "$1"
        _try=$((_try + 1))
    done
    return 1
}
# gone PIDS...: waits until every process is dead (a zombie is dead too,
# waiting for init to reap it); 0 when they all are
gone() {
    _i=0
    while [ $_i -lt 3000 ]; do
        _alive=0
        for _k in "$@"; do
            case $(proc_state "$_k") in '' | Z*) ;; *) _alive=$((_alive + 1)) ;; esac
        done
        [ "$_alive" -eq 0 ] && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}
# trial 0 holds its worker, so one trial is running however fast the others end
MLPC_SEARCH_HOLD=1 "$MLPC" search "$T/long.json" --db "$T/long.db" --workers 2 --oversubscribe >"$T/long1.out" 2>&1 &
P=$!
if frozen_with "$P" "$T/long.db" 1 1; then
    KIDS=$(workers "$P")
    [ -n "$KIDS" ] || bad "kill -9: the search has workers"
    cp "$T/snap.csv" "$T/before.csv"
    kill -9 "$P"
    wait "$P" 2>/dev/null
    KEPT=$(grep -c ',complete,' "$T/before.csv")
    RUNNING=$(grep -c ',running,' "$T/before.csv")
    # the workers get SIGKILL when their parent dies (PR_SET_PDEATHSIG),
    # which ends a stopped process too
    # shellcheck disable=SC2086 # one pid per word
    check "kill -9: the $(echo $KIDS | wc -w) workers died with the coordinator" gone $KIDS
    check "kill -9: $KEPT complete and $RUNNING running trials in the database" test "$KEPT" -ge 1 -a "$RUNNING" -ge 1
    run search "$T/long.json" --db "$T/long.db" --workers 2 --oversubscribe --resume
    check "resume: exit 0" test "$RC" -eq 0
    check "resume: the killed session is marked died" grep -q '^resume: 1 earlier session ended without finishing (killed); marked "died"' "$T/out"
    check "resume: says what it kept" grep -q "^resume: $KEPT trials kept ($KEPT complete, 0 pruned, 0 failed), $RUNNING restarted" "$T/out"
    "$MLPC" search --report "$T/long.db" --csv >"$T/after.csv"
    check "resume: all 8 trials complete" test "$(grep -c ',complete,' "$T/after.csv")" -eq 8
    rerun=0
    for n in $(grep ',complete,' "$T/before.csv" | cut -d, -f2); do
        grep -q "^trial $n complete" "$T/out" && rerun=1
        grep -qxF "$(grep "^long,$n," "$T/before.csv")" "$T/after.csv" || rerun=1
    done
    check "resume: no finished trial ran again, each kept as it was" test "$rerun" -eq 0
    started=1
    for n in $(grep ',running,' "$T/before.csv" | cut -d, -f2); do
        grep -q "^trial $n complete" "$T/out" || started=0
    done
    check "resume: the interrupted trials were restarted" test "$started" -eq 1
else
    kill -9 "$P" 2>/dev/null
    bad "kill -9: the search got going" "$(tail -n 5 "$T/long1.out")"
fi

# ---- ASHA: killed and resumed gives what an uninterrupted run gives
cat >"$T/ash.json" <<'EOF2'
{"study": "ash", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 12, "seed": 9,
 "pruner": {"type": "asha", "min_epochs": 20, "eta": 2},
 "params": {"depth": {"min": 2, "max": 3}, "width": [32], "act": ["relu", "tanh"], "out_act": "linear",
            "loss": "mse", "opt": "adam", "lr": {"min": 0.0005, "max": 0.02, "log": true},
            "batch": 10, "epochs": [160, 200]}}
EOF2
expect_ok "asha: uninterrupted run" search "$T/ash.json" --db "$T/ash1.db" --workers 2 --oversubscribe --quiet
# The whole search may take a fraction of a second, so it runs in steps of
# 20 ms, frozen and looked at after each, until 2 trials are pruned; it is
# killed then, while frozen, with trials still to finish (ASHA holds a rung's
# decisions for lower-numbered trials, so trial holds do not fit here).
"$MLPC" search "$T/ash.json" --db "$T/ash2.db" --workers 2 --oversubscribe --quiet >/dev/null 2>&1 &
P=$!
: >"$T/snap.csv"
_i=0
while [ $_i -lt 15000 ]; do # guard: 300 s of running
    case $(proc_state "$P") in '' | Z*) break ;; esac
    freeze "$P"
    [ -f "$T/ash2.db" ] && "$MLPC" search --report "$T/ash2.db" --csv >"$T/snap.csv" 2>/dev/null
    [ "$(count pruned)" -ge 2 ] && break
    thaw "$P"
    sleep 0.02
    _i=$((_i + 1))
done
FINAL=$(grep -c ',complete,\|,pruned,\|,failed,' "$T/snap.csv")
kill -9 "$P" 2>/dev/null
wait "$P" 2>/dev/null
expect_ok "asha: resumed after kill -9" search "$T/ash.json" --db "$T/ash2.db" --workers 2 --oversubscribe --resume --quiet
"$MLPC" search --report "$T/ash1.db" --csv >"$T/ash1.csv"
"$MLPC" search --report "$T/ash2.db" --csv >"$T/ash2.csv"
check "asha: some trials pruned" grep -q ',pruned,' "$T/ash1.csv"
if [ "$(count pruned)" -lt 2 ] || [ "$FINAL" -ge 12 ]; then
    skip "asha: the same results after kill -9 and --resume" "the search ended before it was killed ($FINAL of 12 trials final)"
elif cmp -s "$T/ash1.csv" "$T/ash2.csv"; then
    ok "asha: killed with $FINAL of 12 trials final: the same trials, prunings and values after --resume"
else
    bad "asha: the same results after kill -9 and --resume" "$(diff "$T/ash1.csv" "$T/ash2.csv" | head -n 6)"
fi

# ---- kill -9 of one worker: failed, or run again with --retry
for mode in fail retry; do
    extra=""
    [ "$mode" = retry ] && extra="--retry 1"
    # shellcheck disable=SC2086
    MLPC_SEARCH_HOLD=2 "$MLPC" search "$T/long.json" --db "$T/w$mode.db" --workers 2 --oversubscribe --trials 4 $extra >"$T/w$mode.out" 2>&1 &
    P=$!
    # both workers in a trial (trials 0 and 1 hold them), frozen: the one
    # killed was running a trial
    if frozen_with "$P" "$T/w$mode.db" 0 2; then
        VICTIM=$(workers "$P" | head -n 1)
        kill -9 "$VICTIM"
        thaw "$P"
        release "$P"
        wait "$P"
        RC=$?
        check "kill one worker ($mode): the search finished (exit $RC)" test "$RC" -eq 0
        "$MLPC" search --report "$T/w$mode.db" --csv >"$T/w$mode.csv"
        if [ "$mode" = fail ]; then
            check "kill one worker: its trial is failed" grep -q "killed by signal 9" "$T/w$mode.out"
            check "kill one worker: 1 failed, 3 complete" \
                test "$(grep -c ',failed,' "$T/w$mode.csv")" -eq 1 -a "$(grep -c ',complete,' "$T/w$mode.csv")" -eq 3
        else
            check "kill one worker --retry: run again" grep -q "running it again (attempt 2 of 2)" "$T/w$mode.out"
            check "kill one worker --retry: 4 complete" test "$(grep -c ',complete,' "$T/w$mode.csv")" -eq 4
        fi
    else
        kill -9 "$P" 2>/dev/null
        bad "kill one worker ($mode): the search got going" "$(tail -n 5 "$T/w$mode.out")"
    fi
done

# ---- --dashboard: the page follows the trials while the search runs
# (the search is frozen once a trial runs, so it cannot end before the page
# is read; its dashboard process is not frozen)
MLPC_SEARCH_HOLD=1 "$MLPC" search "$T/long.json" --db "$T/dash.db" --dashboard=0 >"$T/dash.out" 2>&1 &
P=$!
url=""
_i=0
while [ $_i -lt 3000 ] && [ -z "$url" ] && kill -0 "$P" 2>/dev/null; do
    sleep 0.1
    url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$T/dash.out" | head -n 1)
    _i=$((_i + 1))
done
if [ -n "$url" ] && command -v curl >/dev/null 2>&1; then
    if frozen_with "$P" "$T/dash.db" 0 1; then
        # the dashboard reads the database on its own poll: read the event
        # stream until a trial shows (each read ends after 2 s of stream)
        _i=0
        while [ $_i -lt 150 ]; do
            curl -sv -m 2 "${url}events" >"$T/dash.events" 2>"$T/dash.curl"
            grep -q '"type":"run"' "$T/dash.events" && break
            _i=$((_i + 1))
        done
        if grep -q '"type":"run"' "$T/dash.events"; then ok "search --dashboard: serves the trials while the search runs"; else bad "search --dashboard: serves the trials while the search runs" "$(head -c 300 "$T/dash.events"; head -n 12 "$T/dash.curl")"; fi
        thaw "$P"
    else
        bad "search --dashboard: a trial runs" "$(tail -n 5 "$T/dash.out")"
    fi
elif [ -n "$url" ]; then
    skip "search --dashboard: serves the trials" "no curl"
else
    bad "search --dashboard: prints its URL" "$(head -n 5 "$T/dash.out")"
fi
kill "$P" 2>/dev/null
wait "$P" 2>/dev/null

finish
