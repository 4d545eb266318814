#!/bin/sh
# bench/run.sh - run mlpc and its peers on the benchmark workloads, interleaved
# and repeated, then summarize (bench/README.md has the details).
#
#   bench/run.sh            R=5 repetitions (W3: 3, 5 of its 30 passes timed); ~22 min on 2 idle cores
#   bench/run.sh --quick    R=2, W3 at 5 batch sizes, 2 passes timed; ~6 min
#   make bench [BENCH_ARGS=--quick]
#
# Environment: BENCH_REPS, BENCH_W3_REPS, BENCH_W3_PASSES, BENCH_W3_BATCHES
# override the mode's values; BENCH_TIMEOUT (default 600 s) ends one
# measurement process that hangs; MLPC_DATA as for scripts/fetch-data.sh.
# Raw JSON lines go to bench/results/raw/<date>.jsonl (not in git); the
# summary to bench/results/latest.md and bench/results/w3.png.
# Peers (numpy, scikit-learn, PyTorch) run with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE removed from their own environment; mlpc runs as is.
# shellcheck disable=SC2086  # $np1, $w3, $NIELSEN, $envs, $WALL are word lists on purpose
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cmdline="bench/run.sh $*"

quick=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done
if [ "$quick" = 1 ]; then
    REPS=${BENCH_REPS:-2} W3_REPS=${BENCH_W3_REPS:-2} W3_PASSES=${BENCH_W3_PASSES:-2}
    W3_BATCHES=${BENCH_W3_BATCHES:-50,250,260,500,2000}
    NIELSEN="--samples 10000"   # a fifth of the epoch, scaled up (bench/peers/nielsen.py)
else
    REPS=${BENCH_REPS:-5} W3_REPS=${BENCH_W3_REPS:-3} W3_PASSES=${BENCH_W3_PASSES:-5}
    W3_BATCHES=${BENCH_W3_BATCHES:-50,100,200,250,260,500,2000,10000,20000}
    NIELSEN=""
fi

# ---------------------------------------------------------------- setup
EXTRA_PACKAGES="$(grep -v '^#' bench/deps.txt | tr '\n' ' ')" sh scripts/install-deps.sh
sh scripts/fetch-data.sh
BUILD=${BUILD:-build}
make -s BUILD="$BUILD" all "$BUILD/bench_mlpc"
mkdir -p "$BUILD/bench"
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -o "$BUILD/bench/fann_w1" bench/peers/fann_w1.c -lfloatfann -lm

PY=/usr/bin/python3
LIMIT=${BENCH_TIMEOUT:-600}
MLPC=$BUILD/bench_mlpc
PEERS=bench/peers
# Thread counts are set per run below; nothing inherited may change them.
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS OMP_WAIT_POLICY MKL_NUM_THREADS GOTO_NUM_THREADS

mkdir -p bench/results/raw
raw=bench/results/raw/$(date +%Y%m%d-%H%M%S).jsonl
model=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ] && commit="$commit+dirty"
meta() {
    printf '{"meta":"%s","date":"%s","cpu":"%s","cores":%s,"loadavg":"%s","command":"%s","commit":"%s","reps":%s,"w3_reps":%s,"w3_passes":%s}\n' \
        "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$model" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$cmdline" "$commit" "$REPS" "$W3_REPS" "$W3_PASSES" >>"$raw"
}
meta start
echo "run.sh: raw results -> $raw (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"

failed=0
# run [peer] ENV... -- CMD...: one measurement process; its JSON lines go to
# $raw, each with the 1-minute load average just before and just after it.
# "peer": a numpy/scikit-learn/PyTorch process, run with OPENBLAS_CORETYPE
# and OPENBLAS_L2_SIZE removed from its environment (this command only), so
# its OpenBLAS picks the kernel for the CPU; the peer reports the kernel and
# thread count it used (threadpoolctl, bench/peers/common.py).
run() {
    envs="" unset_blas=""
    if [ "$1" = peer ]; then unset_blas="-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"; shift; fi
    while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
    shift
    load0=$(cut -d' ' -f1 /proc/loadavg)
    if out=$(timeout "$LIMIT" env $unset_blas $envs "$@"); then
        load1=$(cut -d' ' -f1 /proc/loadavg)
        printf '%s\n' "$out" | grep '^{' | sed "s/}\$/, \"load_before\": $load0, \"load_after\": $load1}/" |
            tee -a "$raw" | cut -c1-160
    else
        echo "run.sh: FAILED:$envs $*" >&2
        failed=$((failed + 1))
    fi
}
np1="OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1"

# ---------------------------------------------------------------- workloads
# Each repetition runs mlpc, then every peer, then the next repetition.
for r in $(seq "$REPS"); do
    echo "== W1, repetition $r/$REPS"
    run -- "$MLPC" w1 --epochs 3 --threads 1
    run -- "$MLPC" w1 --epochs 3 --threads 2
    run -- "$MLPC" w1 --epochs 3 --threads auto
    run peer $np1 -- $PY $PEERS/nielsen.py w1 $NIELSEN
    run peer $np1 -- $PY $PEERS/numpy_vec.py w1 --epochs 2
    run peer $np1 -- $PY $PEERS/torch_mlp.py w1 --threads 1
    run -- "$BUILD/bench/fann_w1"
done

for r in $(seq "$REPS"); do
    echo "== W2, repetition $r/$REPS"
    for t in 1 2; do
        run -- "$MLPC" w2 --epochs 3 --threads $t
        run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/numpy_vec.py w2 --epochs 2 --threads $t
        run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/sklearn_mlp.py w2 --threads $t
    done
    run -- "$MLPC" w2 --epochs 3 --threads auto
    run peer $np1 -- $PY $PEERS/torch_mlp.py w2 --threads 1
    run peer -- $PY $PEERS/torch_mlp.py w2 --threads 2
    run peer OMP_WAIT_POLICY=PASSIVE -- $PY $PEERS/torch_mlp.py w2 --threads 2 --impl torch-passive
done

for r in $(seq "$REPS"); do
    echo "== W5, repetition $r/$REPS"
    for t in 1 2; do
        run -- "$MLPC" w5 --epochs 2 --threads $t
        run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/numpy_vec.py w5 --threads $t
        run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/sklearn_mlp.py w5 --threads $t
    done
    run peer $np1 -- $PY $PEERS/torch_mlp.py w5 --threads 1
    run peer -- $PY $PEERS/torch_mlp.py w5 --threads 2
    run peer OMP_WAIT_POLICY=PASSIVE -- $PY $PEERS/torch_mlp.py w5 --threads 2 --impl torch-passive
done

# W6: whole processes on a small table (bench/peers/w6.py writes it once).
w6dir=$BUILD/bench/w6
mkdir -p "$w6dir"
[ -f "$w6dir/w6.csv" ] || env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $np1 $PY $PEERS/w6.py data "$w6dir"
WALL="$PY $PEERS/wall.py --workload w6"
for r in $(seq "$REPS"); do
    echo "== W6, repetition $r/$REPS"
    run -- $WALL --impl mlpc -- "$BUILD/mlpc" train --train "$w6dir/w6.csv" --layers 20-100-3 --act relu \
        --out-act softmax --loss cce --opt adam --lr 0.001 --batch 32 --epochs 200 --norm none --threads 1 \
        --quiet --save "$w6dir/model.mlpc"
    run peer $np1 -- $WALL --impl sklearn -- $PY $PEERS/w6.py sklearn "$w6dir"
    run peer $np1 -- $WALL --impl torch -- $PY $PEERS/w6.py torch "$w6dir"
done

for r in $(seq "$REPS"); do
    echo "== W4, repetition $r/$REPS"
    run -- "$MLPC" w4 --epochs 2000 --threads 1
    run -- "$MLPC" w4 --epochs 2000 --threads 2
    run -- "$MLPC" w4 --epochs 2000 --threads auto
    run peer $np1 -- $PY $PEERS/numpy_vec.py w4 --epochs 300
    run peer $np1 -- $PY $PEERS/torch_mlp.py w4 --epochs 200 --threads 1
done

for r in $(seq "$REPS"); do
    echo "== GEMM on W2's shapes, repetition $r/$REPS"
    for t in 1 2; do
        run -- "$MLPC" peak --threads $t
        run -- "$MLPC" gemm --threads $t
        run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/numpy_vec.py gemm --threads $t
    done
done

for r in $(seq "$W3_REPS"); do
    for net in 784-100-50-10 784-300-140-10; do
        echo "== W3 $net, repetition $r/$W3_REPS (N = $W3_BATCHES, $W3_PASSES passes timed)"
        w3="w3 --layers $net --batch $W3_BATCHES --passes $W3_PASSES"
        for t in 1 2; do
            run -- "$MLPC" $w3 --threads $t
            run peer OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t -- $PY $PEERS/numpy_vec.py $w3 --threads $t
        done
        run peer $np1 -- $PY $PEERS/torch_mlp.py $w3 --threads 1
        run peer -- $PY $PEERS/torch_mlp.py $w3 --threads 2
        run peer OMP_WAIT_POLICY=PASSIVE -- $PY $PEERS/torch_mlp.py $w3 --threads 2 --impl torch-passive
    done
done
meta end

# ---------------------------------------------------------------- summary
$PY bench/summarize.py "$raw" --md bench/results/latest.md --plot bench/results/w3.png
[ "$failed" = 0 ] || { echo "run.sh: $failed run(s) failed (see above)" >&2; exit 1; }
