#!/bin/sh
# What --save costs (issue 13 item 7: under 5% of training time on any data
# size). Two workloads, each run REPS times without and with --save,
# interleaved (so a load change hits both alike):
#   diabetes  442 rows x 10 features (sklearn's load_diabetes as CSV, or
#             synthetic rows of that shape without sklearn), 10-16-1, Adam, 500 epochs
#   W1        784-30-10 on MNIST (data/mnist), SGD lr 3, batch 10, 1 epoch
# Prints the median wall and CPU (user+sys) seconds and the ratios. Not a
# pass/fail test: the machine's load and disk decide the numbers, so the
# load average is printed with them.
#   sh bench/save_cost.sh [REPS] [MLPC]
REPS=${1:-7}
MLPC=${2:-./build/mlpc}
PY=${PY:-/usr/bin/python3}
D=$(mktemp -d) || exit 1
trap 'rm -rf "$D"' EXIT
if ! "$PY" -c "
from sklearn.datasets import load_diabetes
d = load_diabetes()
with open('$D/diab.csv', 'w') as f:
    for x, y in zip(d.data, d.target):
        f.write(','.join('%.17g' % v for v in x) + ',%g\n' % y)
" 2>/dev/null; then
    echo "(no sklearn: synthetic 442 x 10 rows)"
    awk 'BEGIN { srand(3); for (i = 0; i < 442; i++) { s = 0; for (j = 0; j < 10; j++) { v = rand() - 0.5; s += v * (j + 1); printf "%.6f,", v } printf "%.6f\n", 150 + 50 * s } }' >"$D/diab.csv"
fi
DIAB="train --train $D/diab.csv --task regress --layers 10-16-1 --out-act linear --loss mse --opt adam --lr 0.01 --epochs 500 --quiet"
W1="train --data mnist --val-split 10000 --layers 784-30-10 --out-act sigmoid --loss quadratic --opt sgd --lr 3 --batch 10 --epochs 1 --quiet"

# one NAME ARGS...: runs mlpc once; appends "wall cpu" to $D/NAME
one() {
    _n=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$D/t" "$MLPC" "$@" >/dev/null 2>"$D/err" || { cat "$D/err"; exit 1; }
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$D/t" >>"$D/$_n"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "save_cost: $REPS repetitions, interleaved; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in diab w1; do
    if [ "$w" = w1 ] && [ ! -r "${MLPC_DATA:-data}/mnist/train-images-idx3-ubyte" ] && [ ! -r "${MLPC_DATA:-data}/mnist/train-images-idx3-ubyte.gz" ]; then
        echo "W1: skipped (no MNIST in ${MLPC_DATA:-data}/mnist)"
        continue
    fi
    if [ "$w" = diab ]; then args=$DIAB; else args=$W1; fi
    r=0
    while [ "$r" -lt "$REPS" ]; do
        # shellcheck disable=SC2086 # the argument lists are split on purpose
        one "$w.plain" $args
        # shellcheck disable=SC2086
        one "$w.save" $args --save "$D/m.mlpc"
        rm -f "$D/m.mlpc" "$D/m.mlpc.ckpt"
        r=$((r + 1))
    done
    pw=$(cut -d' ' -f1 "$D/$w.plain" | median)
    sw=$(cut -d' ' -f1 "$D/$w.save" | median)
    pc=$(cut -d' ' -f2 "$D/$w.plain" | median)
    sc=$(cut -d' ' -f2 "$D/$w.save" | median)
    awk -v w="$w" -v pw="$pw" -v sw="$sw" -v pc="$pc" -v sc="$sc" 'BEGIN {
        printf "%-5s median wall %.3f s without --save, %.3f s with (x%.3f); CPU %.3f s, %.3f s (x%.3f)\n",
            w, pw, sw, sw / pw, pc, sc, (pc > 0 ? sc / pc : 0) }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
