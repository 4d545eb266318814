#!/bin/sh
# test_threads.sh - --threads N is exact (counted in /proc/PID/task while
# training runs) and --threads auto calibrates once, then reads its cache.
. "$(dirname "$0")/common.inc"

# a small regression set big enough to train for a second or two
awk 'BEGIN { srand(3); print "a,b,c,d,y"; for (i = 0; i < 20000; i++) { a = rand(); b = rand(); c = rand(); d = rand(); printf "%f,%f,%f,%f,%f\n", a, b, c, d, a * b + c - d } }' >"$T/reg.csv"

# counts the threads of a running `mlpc train --threads N` from outside: the
# run has no end of its own; once its first --metrics line is written the
# trainer's threads exist, they are counted, and the run is killed
count_threads() {
    _n=$1
    rm -f "$T/threads.jsonl"
    "$MLPC" train --train "$T/reg.csv" --label-col y --task regress --layers 4-256-256-1 \
        --act relu --out-act linear --loss mse --opt adam --batch 512 --epochs 1000000 \
        --threads "$_n" --metrics "$T/threads.jsonl" --quiet >/dev/null 2>&1 &
    _pid=$!
    _max=0
    # polls the metrics file; 3000 x 0.1 s only guards against a hung run
    _i=0
    while [ $_i -lt 3000 ] && [ -d /proc/$_pid/task ] && [ ! -s "$T/threads.jsonl" ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    for _k in 1 2 3 4 5; do
        [ -d /proc/$_pid/task ] || break
        _c=$(ls /proc/$_pid/task | wc -l)
        [ "$_c" -gt "$_max" ] && _max=$_c
    done
    kill "$_pid" 2>/dev/null
    wait "$_pid" 2>/dev/null
    echo "$_max"
}

for n in 1 2 3; do
    got=$(count_threads $n)
    if [ "$got" = "$n" ]; then ok "--threads $n runs exactly $n threads"; else bad "--threads $n runs exactly $n threads" "saw $got"; fi
done

# the whole run, the final evaluation included: a finite run with a big --test
# set (the final evaluation of train and test rows is long enough to be seen);
# /proc/PID/task is sampled from start to exit, and the samples taken after
# the epoch line and before the "done:" line are the final evaluation's
awk 'BEGIN { srand(5); print "a,b,c,d,y"; for (i = 0; i < 200000; i++) { a = rand(); b = rand(); c = rand(); d = rand(); printf "%f,%f,%f,%f,%f\n", a, b, c, d, a * b + c - d } }' >"$T/big-test.csv"
count_whole_run() {
    _n=$1
    rm -f "$T/whole.out"
    "$MLPC" train --train "$T/reg.csv" --test "$T/big-test.csv" --label-col y --task regress \
        --layers 4-256-256-1 --act relu --out-act linear --loss mse --opt adam --batch 512 \
        --epochs 1 --threads "$_n" >"$T/whole.out" 2>&1 &
    _pid=$!
    _max=0 _final=0 _i=0 _seen=0
    # polls until the process is gone; the count only guards against a hung run
    while [ $_i -lt 2000000 ] && kill -0 "$_pid" 2>/dev/null; do
        set -- /proc/$_pid/task/* # counted without a fork
        _c=$#
        [ -e "$1" ] || _c=0
        [ "$_c" -gt "$_max" ] && _max=$_c
        # the output read without a fork (a sample every few hundred
        # microseconds, so the final evaluation gets many on any machine)
        _epoch=0 _done=0
        if [ -f "$T/whole.out" ]; then
            while IFS= read -r _l; do
                case $_l in 'epoch 1/1'*) _epoch=1 ;; 'done:'*) _done=1 ;; esac
            done <"$T/whole.out"
        fi
        if [ "$_seen" = 1 ] || [ "$_epoch" = 1 ]; then
            _seen=1
            [ "$_done" = 1 ] || _final=$((_final + 1))
        fi
        _i=$((_i + 1))
    done
    wait "$_pid"
    echo "$_max $_final $?"
}
for n in 1 2 3; do
    # shellcheck disable=SC2046 # the three numbers are split on purpose
    set -- $(count_whole_run $n)
    if [ "$1" = "$n" ] && [ "$2" -gt 0 ] && grep -q '^done:' "$T/whole.out"; then
        ok "--threads $n: at most $n threads during the whole run, final evaluation included ($2 samples in it)"
    else
        bad "--threads $n: at most $n threads during the whole run, final evaluation included" \
            "max $1 threads, $2 samples during the final evaluation; $(tail -n 2 "$T/whole.out")"
    fi
done

export XDG_CACHE_HOME="$T/cache"
run train --train "$T/reg.csv" --label-col y --task regress --layers 4-64-1 --act relu \
    --out-act linear --loss mse --opt adam --batch 64 --epochs 1 --threads auto
if [ "$RC" -eq 0 ] && grep -q "^threads auto: [0-9]*, calibrated" "$T/out" && grep -q "(chosen)" "$T/out"; then
    ok "--threads auto calibrates and says why"
else
    bad "--threads auto calibrates and says why" "$(cat "$T/out" "$T/err" | head -3)"
fi
chosen=$(sed -n 's/^threads auto: \([0-9]*\).*/\1/p' "$T/out")
if grep -q "threads $chosen" "$T/out"; then ok "--threads auto runs with its choice"; else bad "--threads auto runs with its choice"; fi
run train --train "$T/reg.csv" --label-col y --task regress --layers 4-64-1 --act relu \
    --out-act linear --loss mse --opt adam --batch 64 --epochs 1 --threads auto
if [ "$RC" -eq 0 ] && grep -q "^threads auto: $chosen (cached" "$T/out"; then
    ok "--threads auto reuses the cached choice"
else
    bad "--threads auto reuses the cached choice" "$(head -2 "$T/out")"
fi
expect_fail "--threads bad value" 2 "--threads" train --train "$T/reg.csv" --label-col y --task regress \
    --layers 4-8-1 --out-act linear --loss mse --threads many

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
