#!/bin/sh
# bench/bf16.sh - --precision bf16 against fp32 (README "bf16").
#
#   sh bench/bf16.sh speed [REPS] [THREADS] [EPOCHS]
#       W2 and W5 seconds per epoch, fp32 and bf16 interleaved (A B A B ..),
#       REPS pairs (default 5) of EPOCHS-epoch runs (default 2) on THREADS
#       threads (default 1): bench_mlpc's JSON lines, then per workload the
#       medians of wall and CPU seconds per epoch and bf16's speed-up.
#   sh bench/bf16.sh accuracy [EPOCHS] [SEEDS] [DATA] [WORKLOADS]
#       test accuracy after EPOCHS epochs (default 5) of W2 and W5 on MNIST
#       and Fashion-MNIST (--data fashion-mnist), fp32 and bf16, for seeds
#       1..SEEDS (default 1): the means, bf16's difference, and fp32's own
#       spread over the seeds (min-max), the noise the difference sits in.
#       DATA ("mnist fashion-mnist") and WORKLOADS ("w2 w5") narrow it.
#
# Needs build/bench_mlpc and build/mlpc (make all bench), the MNIST files
# ($MLPC_DATA/mnist or data/mnist; scripts/fetch-data.sh) and for Fashion-
# MNIST $MLPC_DATA/fashion-mnist (scripts/fetch-data.sh --fashion); a CPU
# with AVX512_BF16 (else each bf16 run fails with one line saying so).
set -eu
cd "$(dirname "$0")/.."
BENCH=${BENCH:-build/bench_mlpc}
MLPC=${MLPC:-build/mlpc}
mode=${1:-speed}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# the value of a numeric JSON field in a line
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }

speed() {
    reps=${1:-5} threads=${2:-1} epochs=${3:-2}
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    r=0
    while [ "$r" -lt "$reps" ]; do
        for w in w2 w5; do
            for p in fp32 bf16; do
                "$BENCH" "$w" --epochs "$epochs" --threads "$threads" --precision "$p" | tee -a "$out"
            done
        done
        r=$((r + 1))
    done
    echo "# $reps interleaved runs of $epochs epochs each, $threads thread(s); medians in s/epoch"
    echo "# workload  fp32 wall  bf16 wall  speed-up  fp32 cpu  bf16 cpu  speed-up"
    for w in w2 w5; do
        fw=$(grep "\"workload\":\"$w\"" "$out" | grep '"precision":"fp32"' | field sec | median)
        bw=$(grep "\"workload\":\"$w\"" "$out" | grep '"precision":"bf16"' | field sec | median)
        fc=$(grep "\"workload\":\"$w\"" "$out" | grep '"precision":"fp32"' | field cpu_sec | median)
        bc=$(grep "\"workload\":\"$w\"" "$out" | grep '"precision":"bf16"' | field cpu_sec | median)
        awk -v w="$w" -v fw="$fw" -v bw="$bw" -v fc="$fc" -v bc="$bc" \
            'BEGIN { printf "%-10s  %9.3f  %9.3f  %7.2fx  %8.3f  %8.3f  %7.2fx\n", w, fw, bw, fw / bw, fc, bc, fc / bc }'
    done
}

# W2 and W5 with the CLI, as in README.md; prints the test accuracy
accuracy_run() {
    data=$1 wl=$2 prec=$3 epochs=$4 seed=$5
    if [ "$wl" = w2 ]; then
        set -- --layers 784-200-100-50-30-10 --act sigmoid --out-act softmax --loss cce --opt rmsprop --batch 1500
    else
        set -- --layers 784-256-128-10 --act relu --out-act softmax --loss cce --opt adam --lr 1e-3 --batch 128
    fi
    "$MLPC" train --data "$data" "$@" --epochs "$epochs" --precision "$prec" --seed "$seed" | sed -n 's/^done:.*test_acc \([0-9.]*\).*/\1/p'
}

accuracy() {
    epochs=${1:-5} seeds=${2:-1} sets=${3:-mnist fashion-mnist} wls=${4:-w2 w5}
    echo "# test accuracy after $epochs epochs, means over seeds 1..$seeds, 1 thread"
    echo "# data          workload  fp32    bf16    bf16 - fp32 (points)  fp32 min-max over seeds"
    for data in $sets; do
        for wl in $wls; do
            a="" b="" s=1
            while [ "$s" -le "$seeds" ]; do
                a="$a $(accuracy_run "$data" "$wl" fp32 "$epochs" "$s")"
                b="$b $(accuracy_run "$data" "$wl" bf16 "$epochs" "$s")"
                s=$((s + 1))
            done
            awk -v d="$data" -v w="$wl" -v a="$a" -v b="$b" 'BEGIN {
                n = split(a, x, " "); split(b, y, " "); lo = 1; hi = 0
                for (i = 1; i <= n; i++) { sa += x[i]; sb += y[i]; if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i] }
                printf "%-14s  %-8s  %.4f  %.4f  %+.2f                 %.4f-%.4f\n", d, w, sa / n, sb / n, 100 * (sb - sa) / n, lo, hi }'
        done
    done
}

case $mode in
    speed) shift; speed "$@" ;;
    accuracy) shift; accuracy "$@" ;;
    *) echo "usage: sh bench/bf16.sh speed [REPS] [THREADS] [EPOCHS] | accuracy [EPOCHS] [SEEDS] [DATA] [WORKLOADS]" >&2; exit 2 ;;
esac
