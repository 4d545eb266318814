#!/bin/sh
# mlpc search: a trial killed with its coordinator resumes from its last
# checkpoint (DB.trials/STUDY-N.ckpt), not from epoch 0. The whole search is
# killed with SIGKILL several times, each time after an event (a trial
# checkpoint on disk, and from the second kill on, a trial resumed from one),
# never after a fixed time; the result must equal an uninterrupted run, bit
# for bit. A damaged or foreign checkpoint file is ignored with a note.
. "$(dirname "$0")/common.inc"

# every epoch is checkpointed, so the events come on any machine speed
MLPC_SEARCH_CKPT_EVERY=0
export MLPC_SEARCH_CKPT_EVERY

children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .; }
proc_state() { awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# gone PIDS...: until every process is dead or a zombie (guard: 300 s)
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
# ckpt_then_stop PID DIR LOG NEED: waits until DIR holds a trial checkpoint
# (and, when NEED is given, LOG contains NEED), then stops the search
# (SIGSTOP: workers first) and checks again; 0 with the search frozen, 1
# when the search ended first (guard: 300 s)
ckpt_then_stop() {
    _i=0
    while [ $_i -lt 3000 ]; do
        [ "$(proc_state "$1")" = "" ] && return 1
        if ls "$2"/*.ckpt >/dev/null 2>&1 && { [ -z "$4" ] || grep -q "$4" "$3"; }; then
            _ws=$(children "$1")
            # shellcheck disable=SC2086 # one pid per word
            [ -z "$_ws" ] || kill -STOP $_ws
            kill -STOP "$1"
            ls "$2"/*.ckpt >/dev/null 2>&1 && return 0
            kill -CONT "$1"
            # shellcheck disable=SC2086 # one pid per word
            [ -z "$_ws" ] || kill -CONT $_ws
        fi
        sleep 0.05
        _i=$((_i + 1))
    done
    return 1
}

cat >"$T/sr.json" <<'EOF'
{"study": "sr", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 3, "seed": 5,
 "params": {"hidden": [[32, 32]], "epochs": [600, 800], "batch": 10, "act": "relu",
            "opt": "adam", "lr": {"min": 0.0005, "max": 0.005, "log": true}}}
EOF
MLPC_SEARCH_CKPT_EVERY=-1 expect_ok "resume: uninterrupted run" \
    search "$T/sr.json" --db "$T/u.db" --workers 2 --oversubscribe --quiet
"$MLPC" search --report "$T/u.db" --csv >"$T/u.csv"
check "resume: no checkpoints without MLPC_SEARCH_CKPT_EVERY" test ! -e "$T/u.db.trials"

# ---- killed three times, each time once a trial has a checkpoint
NEED=""
KILLS=0
for round in 1 2 3; do
    # each run of trials 0-2 stops its worker after one epoch (and its
    # checkpoint), so the search is killed mid-trial however fast it runs
    MLPC_SEARCH_HOLD=3 "$MLPC" search "$T/sr.json" --db "$T/k.db" --workers 2 --oversubscribe --resume >"$T/k$round.out" 2>&1 &
    P=$!
    if ckpt_then_stop "$P" "$T/k.db.trials" "$T/k$round.out" "$NEED"; then
        KIDS=$(children "$P")
        # a checkpoint of trial 0 or 1 for the test of a foreign one below
        for O in "$T"/k.db.trials/1-0.ckpt "$T"/k.db.trials/1-1.ckpt; do
            [ -f "$O" ] && [ ! -f "$T/other.ckpt" ] && cp "$O" "$T/other.ckpt"
        done
        kill -9 "$P"
        wait "$P" 2>/dev/null
        # shellcheck disable=SC2086 # one pid per word
        gone $KIDS
        KILLS=$((KILLS + 1))
    else
        wait "$P" 2>/dev/null
        break
    fi
    NEED="resumed from its checkpoint after epoch"
done
check "resume: the search was killed 3 times, each with a checkpoint on disk ($KILLS)" test "$KILLS" -eq 3
for round in 2 3; do
    E=$(sed -n 's/^trial [0-9]*: resumed from its checkpoint after epoch \([0-9]*\)$/\1/p' "$T/k$round.out" | head -n 1)
    check "resume: after kill $((round - 1)) a trial continued after epoch ${E:-?}, not from 1" test "${E:-0}" -ge 1
done
expect_ok "resume: the last run finishes" search "$T/sr.json" --db "$T/k.db" --workers 2 --oversubscribe --resume
"$MLPC" search --report "$T/k.db" --csv >"$T/k.csv"
check "resume: every trial complete" test "$(grep -c ',complete,' "$T/k.csv")" -eq 3
if cmp -s "$T/u.csv" "$T/k.csv"; then
    ok "resume: the same epochs and values as the uninterrupted run, bit for bit"
else
    bad "resume: the same results as the uninterrupted run" "$(diff "$T/u.csv" "$T/k.csv" | head -n 6)"
fi
check "resume: the trial checkpoints are gone when the study is done" test ! -e "$T/k.db.trials"

# ---- a damaged and a foreign checkpoint: ignored with a note, trial from epoch 0
mkdir "$T/c.db.trials"
printf 'MLPC but not really a checkpoint' >"$T/c.db.trials/1-0.ckpt"
if [ -f "$T/other.ckpt" ]; then
    # a real trial checkpoint, but of another trial: trial 2 gets trial 0's or 1's
    cp "$T/other.ckpt" "$T/c.db.trials/1-2.ckpt"
fi
printf '1,2\n3,4\n5,6\n7,8\n' >"$T/tiny.csv"
"$MLPC" train --train "$T/tiny.csv" --task regress --layers 1-2-1 --epochs 2 --checkpoint "$T/c.db.trials/1-1.ckpt" \
    --quiet >/dev/null 2>&1
expect_ok "resume: a search with bad checkpoints on disk" search "$T/sr.json" --db "$T/c.db" --workers 2 --oversubscribe
check "resume: a damaged checkpoint is ignored with a note" \
    grep -q '^trial 0: checkpoint .*1-0.ckpt ignored: .*; starting from epoch 0$' "$T/out"
check "resume: a checkpoint of mlpc train is ignored with a note" \
    grep -q '^trial 1: checkpoint .*1-1.ckpt ignored: .*not a search trial.s checkpoint; starting from epoch 0$' "$T/out"
if [ -f "$T/other.ckpt" ]; then
    check "resume: another trial's checkpoint is ignored with a note" \
        grep -q '^trial 2: checkpoint .*1-2.ckpt ignored: it belongs to another trial.*; starting from epoch 0$' "$T/out"
fi
"$MLPC" search --report "$T/c.db" --csv >"$T/c.csv"
check "resume: ... and the trials give the uninterrupted results" cmp -s "$T/u.csv" "$T/c.csv"
finish
