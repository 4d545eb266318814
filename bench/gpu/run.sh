#!/bin/sh
# bench/gpu/run.sh OUTDIR [--dry-run] [--quick] - the whole GPU check in one go,
# inside 8 minutes (bench/gpu/README.md):
#   1. binaries: ldd of each one the run needs; a missing library is looked
#      for in bench/gpu/carry/libs (bench/gpu/bundle.sh), cuBLAS also in the
#      CUDA folders and PyTorch's nvidia wheels; only if still missing,
#      make CUDA=1 here;
#   2. nvidia-smi and mlpc devices;
#   3. tests/slow_cuda_parity;
#   4. benchmarks: mlpc (bench_mlpc --device cuda) W2 45 epochs + test eval,
#      W1, W5; the SGEMM rate (gpu_sgemm, torch.mm); PyTorch eager and CUDA
#      graphs (bench/gpu/torch_gpu.py); mlpc train W2 as one process;
#   5. compute-sanitizer (when there is one) on a short mlpc train --device
#      cuda (300 rows; without compute-sanitizer the same run, plain);
#   6. the summary table, printed last and written to OUTDIR/summary.md.
# Every step has a time limit (the run ends by MLPC_GPU_DEADLINE seconds,
# default 450) and a failed step does not stop the others; each writes its
# output to OUTDIR/<step>.log, bench.jsonl gathers the measurements.
#   --dry-run  no GPU is used even if there is one: the GPU steps say
#              "skipped: no GPU"; the rest runs (for testing the script)
#   --quick    fewer repetitions
# Environment: MLPC_GPU_DEADLINE (seconds, default 450), MLPC_GPU_PYTHON (the
# Python with PyTorch; default the first python3 or python that imports torch).
set -u

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }
OUT="" DRY=0 QUICK=0
for a in "$@"; do
    case $a in
        --dry-run|--cpu) DRY=1 ;;
        --quick) QUICK=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "run.sh: unknown option $a" >&2; usage >&2; exit 2 ;;
        *) [ -z "$OUT" ] || { echo "run.sh: one OUTDIR only" >&2; exit 2; }; OUT=$a ;;
    esac
done
[ -n "$OUT" ] || { usage >&2; exit 2; }
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 2

START=$(date +%s)
DEADLINE=$((START + ${MLPC_GPU_DEADLINE:-450}))
RESERVE=15 # seconds kept for the summary
CARRY=bench/gpu/carry
: >"$OUT/steps.tsv"
: >"$OUT/bench.jsonl"
say() { printf 'run.sh [%3ss] %s\n' "$(($(date +%s) - START))" "$*"; }

# step NAME BUDGET CMD...: runs CMD with output to $OUT/NAME.log, at most
# BUDGET seconds and never past the deadline; records the outcome.
step() {
    name=$1 budget=$2
    shift 2
    left=$((DEADLINE - RESERVE - $(date +%s)))
    [ "$budget" -le "$left" ] || budget=$left
    if [ "$budget" -lt 5 ]; then
        echo "skipped: out of time" >"$OUT/$name.log"
        printf '%s\tskipped: out of time\t0\t0\n' "$name" >>"$OUT/steps.tsv"
        say "$name: skipped: out of time"
        return 124
    fi
    t0=$(date +%s)
    timeout -k 5 "$budget" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    dt=$(($(date +%s) - t0))
    case $rc in
        0) st=ok ;;
        124|137) st="TIMED OUT after ${budget}s" ;;
        *) st="FAILED (exit $rc)" ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$st" "$dt" "$budget" >>"$OUT/steps.tsv"
    say "$name: $st, ${dt}s (limit ${budget}s) -> $name.log"
    tail -n 3 "$OUT/$name.log" | sed 's/^/    | /'
    return $rc
}

skip() { # skip NAME REASON
    echo "skipped: $2" >"$OUT/$1.log"
    printf '%s\tskipped: %s\t0\t0\n' "$1" "$2" >>"$OUT/steps.tsv"
    say "$1: skipped: $2"
}

# ---------------------------------------------------------------- 1. binaries
# The binaries: bench/gpu/carry/build (bundle.sh) when present, else build/.
if [ -e "$CARRY/build/mlpc" ]; then
    BIN=$CARRY/build
    chmod +x "$BIN"/* "$BIN"/tests/* 2>/dev/null # in case the copy lost the modes
else
    BIN=build
fi
NEED="mlpc libmlpc_cuda.so bench_mlpc tests/slow_cuda_parity tests/fake_cuda_onegpu.so"
missing() { # the "not found" libraries of the binaries in $BIN, one per line
    for f in $NEED gpu_sgemm; do
        [ -e "$BIN/$f" ] || { [ "$f" = gpu_sgemm ] || echo "$f (the file itself)"; continue; }
        ldd "$BIN/$f" 2>&1 | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p'
    done | sort -u
}
check_bins() {
    echo "binaries from $BIN; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
    for f in $NEED gpu_sgemm; do
        echo "== $BIN/$f"
        if [ -e "$BIN/$f" ]; then ldd "$BIN/$f" 2>&1; else echo "   (absent)"; fi
    done
    m=$(missing)
    if [ -n "$m" ]; then echo "MISSING:"; echo "$m" | sed 's/^/  /'; return 1; fi
    echo "every library is found"
}
# cuBLAS 13 outside the usual folders: the CUDA toolkit or PyTorch's wheels
cublas_dirs() {
    for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib \
        /usr/lib/x86_64-linux-gnu; do
        [ -e "$d/libcublas.so.13" ] && echo "$d"
    done
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        "$py" -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null
    done | sort -u | while read -r sp; do
        [ -d "$sp/nvidia" ] && find "$sp/nvidia" -maxdepth 4 -name 'libcublas.so.13*' 2>/dev/null | sed 's|/[^/]*$||'
    done | sort -u
}
# Only the libraries ldd reports missing are linked into LIBDIR, from the
# bundle (a bundled libstdc++ must not shadow a newer one the machine has);
# each round may reveal the next level (cairo's own libraries, ...).
LIBDIR=${TMPDIR:-/tmp}/mlpc-gpu-libs
libs_setup() {
    : >"$OUT/ldd.log"
    if check_bins >>"$OUT/ldd.log" 2>&1; then return 0; fi
    say "ldd: missing: $(missing | tr '\n' ' ')"
    rm -rf "$LIBDIR" && mkdir -p "$LIBDIR"
    extra=$LIBDIR
    if missing | grep -q cublas; then
        for d in $(cublas_dirs); do extra="$extra:$d"; done
    fi
    LD_LIBRARY_PATH=$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    for _ in 1 2 3 4 5 6; do
        added=0
        for l in $(missing); do
            if [ -e "$CARRY/libs/$l" ] && [ ! -e "$LIBDIR/$l" ]; then
                ln -s "$REPO/$CARRY/libs/$l" "$LIBDIR/$l" && added=1
            fi
        done
        [ "$added" = 1 ] || break
    done
    say "ldd: trying LD_LIBRARY_PATH=$LD_LIBRARY_PATH ($(find "$LIBDIR" -name "*.so*" | wc -l) bundled libraries linked)"
    if check_bins >>"$OUT/ldd.log" 2>&1; then return 0; fi
    say "ldd: still missing: $(missing | tr '\n' ' '); building here (make CUDA=1)"
    BIN=build
    if step build 240 make -j"$(nproc)" MPI=0 CUDA=1 CUDA_ARCHS=90 all build/tests/slow_cuda_parity build/bench_mlpc; then
        check_bins >>"$OUT/ldd.log" 2>&1 && return 0
    fi
    say "ldd: still missing after the build: $(missing | tr '\n' ' ') (see ldd.log)"
    return 1
}
ORIG_LDLP=${LD_LIBRARY_PATH:-}
t0=$(date +%s)
libs_setup
rc=$?
printf 'ldd\t%s\t%s\t-\n' "$([ $rc = 0 ] && echo ok || echo "FAILED: missing $(missing | tr '\n' ' ')")" \
    "$(($(date +%s) - t0))" >>"$OUT/steps.tsv"
say "ldd: $([ $rc = 0 ] && echo "every library found (binaries in $BIN)" || echo "FAILED") -> ldd.log"

# MNIST: data/mnist, else the carried .gz files unpacked to a temporary folder
if [ -f data/mnist/train-images-idx3-ubyte ]; then
    MLPC_DATA=$REPO/data
elif [ -f "$CARRY/mnist/train-images-idx3-ubyte.gz" ]; then
    MLPC_DATA=${TMPDIR:-/tmp}/mlpc-gpu-data
    mkdir -p "$MLPC_DATA/mnist"
    for f in "$CARRY"/mnist/*.gz; do
        b=$(basename "$f" .gz)
        [ -f "$MLPC_DATA/mnist/$b" ] || gzip -dc "$f" >"$MLPC_DATA/mnist/$b"
    done
else
    MLPC_DATA=$REPO/data
    say "MNIST: not found (data/mnist or $CARRY/mnist): the parity test uses synthetic data, the benchmarks fail"
fi
export MLPC_DATA
say "MNIST: $MLPC_DATA/mnist"

{
    echo "date      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "command   sh bench/gpu/run.sh $*"
    echo "commit    $(cat "$CARRY/COMMIT" 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "host      $(uname -srm), $(nproc) cores"
    echo "binaries  $BIN"
    command -v nvidia-smi >/dev/null 2>&1 &&
        echo "gpu       $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | head -n 1)"
} >"$OUT/meta.txt"

# ---------------------------------------------------------------- 2. the machine
GPU=0
if [ "$DRY" = 1 ]; then
    WHY="dry run"
elif ! command -v nvidia-smi >/dev/null 2>&1; then
    WHY="no nvidia-smi"
elif ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    WHY="nvidia-smi lists no GPU"
else
    GPU=1
fi
if [ "$GPU" = 1 ]; then
    step nvidia-smi 20 sh -c 'nvidia-smi; nvidia-smi -q -d CLOCK,POWER,PERFORMANCE,COMPUTE'
else
    skip nvidia-smi "no GPU ($WHY)"
fi
step devices 20 "$BIN/mlpc" devices

# ---------------------------------------------------------------- 3. parity
# Without a GPU the test says "skipped: no GPU" and checks the stand-in plugin.
if [ "$DRY" = 1 ]; then
    step parity 150 env MLPC_CUDA_PLUGIN=/dry-run/no-gpu/libmlpc_cuda.so "$BIN/tests/slow_cuda_parity"
else
    step parity 150 "$BIN/tests/slow_cuda_parity"
fi

# ---------------------------------------------------------------- 4. benchmarks
if [ "$QUICK" = 1 ]; then EP=3 REPS=2 TQ=--quick; else EP=5 REPS=3 TQ=""; fi
gather() { grep -h '^{' "$OUT/$1.log" >>"$OUT/bench.jsonl" 2>/dev/null || true; }
# the Python with PyTorch: $MLPC_GPU_PYTHON, else the first python3/python that imports torch
PY=""
for p in ${MLPC_GPU_PYTHON:-} python3 python /usr/bin/python3; do
    command -v "$p" >/dev/null 2>&1 || continue
    [ -n "$PY" ] || PY=$p
    if env LD_LIBRARY_PATH="$ORIG_LDLP" "$p" -c 'import torch' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ "$GPU" = 1 ]; then
    if [ -x "$BIN/gpu_sgemm" ]; then step sgemm 30 "$BIN/gpu_sgemm" 8192 10; gather sgemm; else skip sgemm "no $BIN/gpu_sgemm (bundle.sh builds it)"; fi
    step mlpc-w2 45 "$BIN/bench_mlpc" w2 --device cuda --epochs 45 --test --reps "$REPS"; gather mlpc-w2
    step mlpc-w2-epochs 30 "$BIN/bench_mlpc" w2 --device cuda --epochs $((EP * 2)) --warmup 2; gather mlpc-w2-epochs
    step mlpc-w1 45 "$BIN/bench_mlpc" w1 --device cuda --epochs "$EP" --warmup 1; gather mlpc-w1
    step mlpc-w5 30 "$BIN/bench_mlpc" w5 --device cuda --epochs "$EP" --warmup 1; gather mlpc-w5
    # the CLI as a user runs it: one process, data read from disk, CUDA context made
    cli_t0=$(date +%s.%N)
    if step cli-w2 45 "$BIN/mlpc" train --data mnist --layers 784-200-100-50-30-10 --out-act softmax --loss cce \
        --opt rmsprop --batch 1500 --epochs 45 --device cuda --log-device; then
        awk -v a="$cli_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s (process wall time; cli-w2.log has mlpc'"'"'s own figures)\n", b - a }' >"$OUT/cli_w2.txt"
    fi
    if [ -z "$PY" ]; then
        skip torch "no python3"
    elif ! env LD_LIBRARY_PATH="$ORIG_LDLP" "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
        skip torch "python3 has no torch with CUDA"
    else
        # PyTorch with the machine's own libraries (LD_LIBRARY_PATH as it came)
        step torch 170 env LD_LIBRARY_PATH="$ORIG_LDLP" "$PY" bench/gpu/torch_gpu.py sgemm w2 w1 w5 ${TQ:+"$TQ"} \
            --data "$MLPC_DATA/mnist"
        gather torch
    fi
else
    for s in sgemm mlpc-w2 mlpc-w2-epochs mlpc-w1 mlpc-w5 cli-w2 torch; do skip "$s" "no GPU ($WHY)"; done
fi

# ---------------------------------------------------------------- 5. compute-sanitizer (last: the slowest, it must not cut the benchmarks short)
SAN=""
for s in compute-sanitizer /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-13*/bin/compute-sanitizer \
    /opt/nvidia/*/compute-sanitizer/compute-sanitizer; do
    if command -v "$s" >/dev/null 2>&1; then SAN=$(command -v "$s"); break; fi
done
SMALL=${TMPDIR:-/tmp}/mlpc-gpu-small.csv
awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { s = 0; l = "";
    for (j = 0; j < 20; j++) { v = rand() * 2 - 1; s += v * (j % 3 - 1); l = l sprintf("%.4f,", v) }
    print l (s > 0.5 ? 2 : (s < -0.5 ? 0 : 1)) } }' >"$SMALL"
# 300 rows, batch 32: direct steps, a graph capture and replays, a partial batch, evaluation
SMALL_RUN="train --train $SMALL --layers 20-16-3 --out-act softmax --loss cce --opt adam --batch 32 --epochs 1 --device cuda --log-device"
if [ "$GPU" = 0 ]; then
    skip sanitizer "no GPU ($WHY)"
elif [ -z "$SAN" ]; then
    skip sanitizer "no compute-sanitizer on this machine"
    # shellcheck disable=SC2086 # SMALL_RUN is a word list
    step small-train 30 "$BIN/mlpc" $SMALL_RUN
else
    # shellcheck disable=SC2086
    step sanitizer 100 "$SAN" --tool memcheck --error-exitcode 1 "$BIN/mlpc" $SMALL_RUN
fi

# ---------------------------------------------------------------- 6. summary
if [ -n "$PY" ]; then
    timeout 20 "$PY" bench/gpu/summarize.py "$OUT" >/dev/null 2>"$OUT/summarize.log" || say "summarize.py failed (summarize.log)"
fi
[ -s "$OUT/summary.md" ] || { echo "# summary.md: no python3; see steps.tsv and bench.jsonl"; cat "$OUT/steps.tsv"; } >"$OUT/summary.md"
say "done in $(($(date +%s) - START))s; results in $OUT"
echo
cat "$OUT/summary.md"
