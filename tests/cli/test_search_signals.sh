#!/bin/sh
# Ctrl-C and SIGTERM during `mlpc search`: 20 searches are interrupted at
# random moments (INT and TERM in turn), each after an event (the first: a
# trial has written a checkpoint; the next ones: a trial resumed from the
# checkpoint the interrupted run kept), then a random 0-0.3 s more, never
# after a fixed time. Each time: the exit status says interrupted, no
# worker is left, no temporary file is left beside the database or in its
# trial checkpoint folder (the coordinator stops its workers with SIGTERM,
# and a worker writing a checkpoint ends right after the write), and no
# trial stays "running" in the database.
. "$(dirname "$0")/common.inc"

# every epoch is checkpointed, so the event comes on any machine speed
MLPC_SEARCH_CKPT_EVERY=0
export MLPC_SEARCH_CKPT_EVERY

children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .; }
proc_state() { awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
alive() {
    for _k in "$@"; do
        case $(proc_state "$_k") in '' | Z*) ;; *) return 0 ;; esac
    done
    return 1
}
# wait_event PID DIR LOG NEED: until DIR holds a trial checkpoint and, when
# NEED is given, LOG contains NEED; 1 if PID ended first (guard: 300 s)
wait_event() {
    _i=0
    while [ $_i -lt 3000 ]; do
        if ls "$2"/*.ckpt >/dev/null 2>&1 && { [ -z "$4" ] || grep -q "$4" "$3"; }; then return 0; fi
        alive "$1" || return 1
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

# trials that do not end on their own (a million epochs)
cat >"$T/sig.json" <<'EOF2'
{"study": "sig", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 2, "seed": 3,
 "params": {"hidden": [[16]], "epochs": 1000000, "batch": 100, "act": "relu", "opt": "adam", "lr": 0.001}}
EOF2

bad_exit=0 left=0 tmp=0 running=0 started=0
i=1
while [ $i -le 20 ]; do
    if [ $((i % 2)) -eq 1 ]; then sig=INT; else sig=TERM; fi
    res=""
    [ $i -gt 1 ] && res=--resume
    # shellcheck disable=SC2086 # $res is one flag or nothing
    "$MLPC" search "$T/sig.json" --db "$T/s.db" --workers 2 --oversubscribe $res >"$T/r$i.out" 2>&1 &
    P=$!
    # the first run: a trial checkpoint on disk; the next ones: a trial
    # resumed from the checkpoint the interrupted run kept
    need=""
    [ $i -gt 1 ] && need="resumed from its checkpoint after epoch"
    if wait_event "$P" "$T/s.db.trials" "$T/r$i.out" "$need"; then
        started=$((started + 1))
        sleep "0.$(awk -v s="$i" 'BEGIN { srand(s); printf "%d", rand() * 3 }')$(awk -v s="$i" 'BEGIN { srand(s + 100); printf "%d", rand() * 10 }')"
        KIDS=$(children "$P")
        kill -s "$sig" "$P"
    else
        bad "round $i: the search got going" "$(tail -n 3 "$T/r$i.out")"
        kill -9 "$P" 2>/dev/null
    fi
    wait "$P"
    rc=$?
    case $rc in 130 | 143) ;; *)
        bad_exit=$((bad_exit + 1))
        echo "round $i ($sig): exit $rc: $(tail -n 2 "$T/r$i.out")" ;;
    esac
    # shellcheck disable=SC2086 # one pid per word
    if [ -n "${KIDS:-}" ] && alive $KIDS; then left=$((left + 1)); fi
    if [ -n "$(find "$T" -name '*.tmp*' -print | head -n 1)" ]; then
        tmp=$((tmp + 1))
        echo "round $i ($sig): left $(find "$T" -name '*.tmp*' -print | head -n 3)"
    fi
    "$MLPC" search --report "$T/s.db" --csv >"$T/rep.csv" 2>/dev/null
    grep -q ',running,' "$T/rep.csv" && running=$((running + 1))
    KIDS=""
    i=$((i + 1))
done
check "20 searches interrupted, each after its event: a checkpoint, then a trial resumed from it ($started)" \
    test "$started" -eq 20
check "every interrupted search exits 130 or 143 ($bad_exit did not)" test "$bad_exit" -eq 0
check "no worker outlives an interrupted search ($left rounds left one)" test "$left" -eq 0
check "no temporary file is left beside the database ($tmp rounds left one)" test "$tmp" -eq 0
check "no trial stays running in the database ($running rounds left one)" test "$running" -eq 0

finish
