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
