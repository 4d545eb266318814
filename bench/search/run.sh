#!/bin/sh
# bench/search/run.sh - parallel efficiency of `mlpc search` (issue 5, item 7).
#
# Runs the same 16 W4 trials (bench/search/w4_16.json) with W=1 and with
# W=2 workers of C=1 thread each, into one database, and prints what the
# report measures: efficiency = total trial CPU time / (wall time x cores),
# the speedup of W=2 over W=1, the dispatch overhead per trial and the PSS
# of the workers. Writes bench/search/results.md. With MNIST present it also
# measures the memory of a short MNIST search (one shared copy of 188 MB).
#
#   sh bench/search/run.sh            3 repetitions (REPEAT=N to change)
#   MLPC=build/mlpc sh bench/search/run.sh
#
# Other work on the machine skews the numbers: before each pair the script
# waits (2 minutes at most) for the CPUs to be 90% idle, records how idle
# they were, and the results table keeps every repetition.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
MLPC=${MLPC:-build/mlpc}
REPEAT=${REPEAT:-3}
SPACE=bench/search/w4_16.json
OUT=bench/search/results.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$MLPC" ] || { echo "run make first ($MLPC missing)" >&2; exit 1; }
NCPU=$(nproc)

# idle percentage of all CPUs over one second (from /proc/stat)
idle_pct() {
    # shellcheck disable=SC2046 # the fields are meant to split
    set -- $(sed -n 's/^cpu  //p' /proc/stat)
    t1=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8)) i1=$(($4 + $5))
    sleep 1
    # shellcheck disable=SC2046 # the fields are meant to split
    set -- $(sed -n 's/^cpu  //p' /proc/stat)
    t2=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8)) i2=$(($4 + $5))
    echo $(((i2 - i1) * 100 / (t2 - t1 + 1)))
}
# waits (2 minutes at most) until the machine is at least 90% idle
wait_quiet() {
    _n=0
    while [ $_n -lt 120 ]; do
        _idle=$(idle_pct)
        [ "$_idle" -ge 90 ] && { echo "$_idle"; return; }
        _n=$((_n + 1))
    done
    echo "$_idle"
}

rows=""
effs=""
sps=""
i=1
while [ "$i" -le "$REPEAT" ]; do
    db=$tmp/bench$i.db
    load=$(wait_quiet)
    echo "== repetition $i/$REPEAT (CPUs ${load}% idle before it)"
    "$MLPC" search "$SPACE" --db "$db" --study w4-w1 --workers 1 --threads 1 --quiet
    "$MLPC" search "$SPACE" --db "$db" --study w4-w2 --workers 2 --threads 1 --quiet
    "$MLPC" search --report "$db" --study w4-w1 >"$tmp/r1.txt"
    "$MLPC" search --report "$db" --study w4-w2 >"$tmp/r2.txt"
    sed -n '/^parallel efficiency/,$p' "$tmp/r2.txt"
    e1=$(sed -n 's/^parallel efficiency \([0-9.]*\):.*wall \([0-9.]*\) s.*/\1 \2/p' "$tmp/r1.txt")
    e2=$(sed -n 's/^parallel efficiency \([0-9.]*\):.*wall \([0-9.]*\) s.*/\1 \2/p' "$tmp/r2.txt")
    sp=$(sed -n 's/^speedup \([0-9.]*\)x.*/\1/p' "$tmp/r2.txt")
    disp=$(sed -n 's/^dispatch overhead: \([0-9.]*\) ms mean, \([0-9.]*\) ms max.*/\1 \/ \2/p' "$tmp/r2.txt")
    pss=$(sed -n 's/^memory (PSS, rank 0): workers \([0-9.]*\) MB, with the coordinator \([0-9.]*\) MB.*/\1 \/ \2/p' "$tmp/r2.txt")
    set -- $e1 $e2
    rows="$rows| $i | $load | $2 | $4 | $3 | ${sp:-?}x | $disp | $pss |
"
    effs="$effs $3"
    sps="$sps ${sp:-0}"
    i=$((i + 1))
done

mem=""
D=${MLPC_DATA:-data}/mnist
if [ -r "$D/train-images-idx3-ubyte" ] || [ -r "$D/train-images-idx3-ubyte.gz" ]; then
    echo "== MNIST memory: 4 trials of 1 epoch, W=2"
    cat >"$tmp/mnist.json" <<'JSON'
{"study": "mnist-mem", "data": "mnist", "val_split": 10000, "sampler": "random", "trials": 4, "seed": 1,
 "params": {"depth": 1, "width": [32, 64], "act": "relu", "opt": "adam", "batch": 128, "epochs": 1}}
JSON
    "$MLPC" search "$tmp/mnist.json" --db "$tmp/mnist.db" --workers 2 --threads 1 --quiet
    mem=$("$MLPC" search --report "$tmp/mnist.db" | grep '^memory')
    echo "$mem"
fi

{
    echo "# mlpc search: parallel efficiency (bench/search/run.sh)"
    echo
    echo "Machine: $NCPU cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $(date -u +%Y-%m-%d)."
    echo "Command: \`sh bench/search/run.sh\` (REPEAT=$REPEAT): \`$MLPC search $SPACE --workers W --threads 1\`"
    echo "for W=1 and W=2 into one database; efficiency = total trial CPU time / (wall time x $NCPU cores)"
    echo "as \`mlpc search --report\` prints it; the speedup is wall(W=1) / wall(W=2)."
    echo
    echo "| rep | idle before (%) | wall W=1 (s) | wall W=2 (s) | efficiency W=2 | speedup | dispatch ms (mean / max) | PSS MB (workers / all) |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s' "$rows"
    med() { printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    echo
    echo "Median over the repetitions: efficiency $(med "$effs"), speedup $(med "$sps")x (targets: 0.90 and 1.8x)."
    echo "This machine is shared with other work: a repetition during which another process took a core"
    echo "shows an efficiency near 0.5 and a speedup near 1; the idle column is measured just before it."
    if [ -n "$mem" ]; then
        echo
        echo "MNIST (50,000 x 784 training and 10,000 validation rows as float32, W=2):"
        echo
        echo "    $mem"
    fi
} >"$OUT"
echo "wrote $OUT"
cat "$OUT"
