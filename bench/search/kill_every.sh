#!/bin/sh
# Kills a search with SIGKILL every INTERVAL seconds and starts it again
# with --resume until it finishes, then prints how many runs it took and
# whether the results equal an uninterrupted run. Not a test (it depends on
# the machine's speed): a measurement of issue 18 item 7.
#   sh bench/search/kill_every.sh [INTERVAL] [MLPC]
INTERVAL=${1:-2}
MLPC=${2:-./build/mlpc}
D=$(mktemp -d) || exit 1
trap 'rm -rf "$D"' EXIT
cat >"$D/k.json" <<'EOS'
{"study": "k", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 6, "seed": 3,
 "params": {"hidden": [[32, 32]], "epochs": [1500, 2500], "batch": 10, "act": "relu",
            "opt": "adam", "lr": {"min": 0.0005, "max": 0.005, "log": true}}}
EOS
t0=$(date +%s.%N)
"$MLPC" search "$D/k.json" --db "$D/u.db" --workers 2 --oversubscribe --quiet >/dev/null || exit 1
t1=$(date +%s.%N)
echo "uninterrupted: $(echo "$t1 - $t0" | bc) s"
runs=0
resumed=0
while [ "$runs" -lt 1000 ]; do
    runs=$((runs + 1))
    "$MLPC" search "$D/k.json" --db "$D/k.db" --workers 2 --oversubscribe --resume >"$D/run.out" 2>&1 &
    P=$!
    sleep "$INTERVAL"
    if kill -9 "$P" 2>/dev/null; then
        wait "$P" 2>/dev/null
        resumed=$((resumed + $(grep -c 'resumed from its checkpoint' "$D/run.out")))
        sleep 0.1 # the workers die with the coordinator
    else
        wait "$P"
        resumed=$((resumed + $(grep -c 'resumed from its checkpoint' "$D/run.out")))
        break
    fi
done
t2=$(date +%s.%N)
"$MLPC" search --report "$D/u.db" --csv >"$D/u.csv"
"$MLPC" search --report "$D/k.db" --csv >"$D/k.csv"
echo "killed every ${INTERVAL} s: finished after $runs runs ($((runs - 1)) kills), $(echo "$t2 - $t1" | bc) s;" \
    "$resumed trial resumptions from a checkpoint"
if cmp -s "$D/u.csv" "$D/k.csv"; then echo "results: the same as uninterrupted, bit for bit"; else echo "results differ"; fi
grep -c ',complete,' "$D/k.csv" | sed 's/^/complete trials: /'
