#!/bin/sh
# Devices: `mlpc devices` (text and JSON), --device cpu|cuda|cuda:N|auto,
# --gpu-memory-limit and --log-device on train, eval and predict.
# Without a GPU (CI): --device cuda fails with one line naming what is
# missing, auto falls back to the CPU and says why, and the GPU runs print
# "skipped: no GPU (<reason>)". With a GPU the same runs train on it and
# compare with the CPU. The stand-in plugins next to the test programs
# (build/tests/fake_cuda_*.so, tests/fake_cuda_plugin.c) give each "no GPU"
# reason and a fake device on any machine.
. "$(dirname "$0")/common.inc"

FAKE=$(dirname "$MLPC")/tests
make_cls "$T/cls.csv" 300
CSV="$T/cls.csv"
cut -d, -f1,2 "$CSV" >"$T/x.csv"

# ---- mlpc devices
expect_ok "devices exits 0" devices
check "devices lists the CPU with its GEMM variant" grep -Eq '^cpu +.* \([0-9]+ cores?, gemm (avx512|avx2|generic), [0-9.]+ GiB memory' "$T/out"
gpu=0
if grep -q '^cuda:[0-9]' "$T/out"; then
    gpu=1
    check "devices: each GPU with memory and compute capability" grep -Eq '^cuda:0 +.*compute capability [0-9]+\.[0-9]+.*GiB memory' "$T/out"
    check "devices: driver and runtime versions" grep -Eq '^driver +CUDA [0-9]+\.[0-9]+' "$T/out"
    check "devices: runtime line" grep -Eq '^runtime +CUDA [0-9]+\.[0-9]+ in ' "$T/out"
else
    check "devices: one line on why there is no GPU" test "$(grep -c '^cuda  *none: ' "$T/out")" -eq 1
fi
reason=$(sed -n 's/^cuda  *none: //p' "$T/out")
expect_ok "devices --json exits 0" devices --json
check "devices --json: one line" test "$(wc -l <"$T/out")" -eq 1
check "devices --json: the CPU first" grep -q '^{"devices":\[{"device":"cpu","name":' "$T/out"
check "devices --json: a cuda object" grep -q '"cuda":{"available":\(true\|false\),"devices":[0-9]*,"reason":' "$T/out"
if command -v python3 >/dev/null 2>&1; then
    check "devices --json: valid JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"
fi
expect_ok "devices --help" devices --help
check "devices --help: usage" grep -q '^usage: mlpc devices' "$T/out"
expect_fail "devices takes no argument" 2 "unexpected argument" devices cuda
expect_ok "mlpc --help lists devices" --help
check "mlpc --help: devices" grep -q '^  devices ' "$T/out"

# ---- flags in --help
for cmd in train eval predict; do
    run "$cmd" --help
    for f in device gpu-memory-limit log-device; do
        if grep -q -- "^  --$f\( \|$\)" "$T/out"; then ok "$cmd --help: --$f"; else bad "$cmd --help: --$f" "not in the help text"; fi
    done
done

TRAIN="train --train $CSV --layers 2-8-2 --epochs 2 --batch 16 --seed 5"

# ---- values
expect_fail "--device unknown" 2 "--device tpu: unknown device (cpu, cuda, cuda:N, auto" $TRAIN --device tpu
expect_fail "--device cuda:x" 2 "--device cuda:x: unknown device" $TRAIN --device cuda:x
expect_fail "--gpu-memory-limit not a size" 2 "--gpu-memory-limit 12Q: not a size" $TRAIN --device auto --gpu-memory-limit 12Q
expect_fail "--gpu-memory-limit negative" 2 "--gpu-memory-limit -1G: not a size" $TRAIN --device auto --gpu-memory-limit=-1G
expect_fail "--gpu-memory-limit 0" 2 "--gpu-memory-limit 0: must be more than 0 bytes" $TRAIN --device auto --gpu-memory-limit 0
expect_fail "--gpu-memory-limit with --device cpu" 2 "--gpu-memory-limit 1G: only applies to a GPU" $TRAIN --gpu-memory-limit 1G
expect_fail "eval: --device unknown" 2 "mlpc eval: --device gpu: unknown device" eval "$T/none.mlpc" --test "$CSV" --device gpu

# ---- --device cpu is today's behaviour; --log-device says where layers run
expect_ok "train --device cpu" $TRAIN --device cpu --metrics "$T/cpu.jsonl" --save "$T/m.mlpc"
run $TRAIN --metrics "$T/default.jsonl"
cpu_loss=$(sed -n 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/p' "$T/cpu.jsonl")
def_loss=$(sed -n 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/p' "$T/default.jsonl")
check "--device cpu gives the default run's loss" test -n "$cpu_loss" -a "$cpu_loss" = "$def_loss"
run $TRAIN --device cpu --log-device --threads 2
check "--log-device: exit 0" test "$RC" -eq 0
check "--log-device: one line per layer" test "$(grep -c '^mlpc train: device: layer [12] ' "$T/err")" -eq 2
check "--log-device: cpu, GEMM variant and threads" grep -Eq '^mlpc train: device: layer 1 2->8 sigmoid: cpu \(gemm (avx512|avx2|generic), 2 threads\)$' "$T/err"
check "--log-device: the loss and the rest" grep -q 'device: gather, loss, optimizer: cpu (2 threads)' "$T/err"
run eval "$T/m.mlpc" --test "$CSV" --log-device
check "eval --log-device" grep -q '^mlpc eval: device: layer 2 8->2 softmax: cpu' "$T/err"
run predict "$T/m.mlpc" --input "$T/x.csv" --device cpu --log-device
check "predict --log-device" grep -q '^mlpc predict: device: layer 1 ' "$T/err"

# ---- without a GPU: cuda fails in one line, auto falls back and says why
if [ "$gpu" = 0 ]; then
    expect_fail "--device cuda without a GPU" 2 "mlpc train: --device cuda: no usable GPU: " $TRAIN --device cuda
    check "--device cuda: the reason of mlpc devices" err_has "$reason"
    expect_fail "--device cuda:1 without a GPU" 2 "--device cuda:1: no usable GPU" $TRAIN --device cuda:1
    expect_fail "eval --device cuda without a GPU" 2 "mlpc eval: --device cuda: no usable GPU" eval "$T/m.mlpc" --test "$CSV" --device cuda
    expect_fail "predict --device cuda without a GPU" 2 "mlpc predict: --device cuda: no usable GPU" predict "$T/m.mlpc" --input "$T/x.csv" --device cuda
    run $TRAIN --device auto --metrics "$T/auto.jsonl"
    check "--device auto without a GPU: exit 0" test "$RC" -eq 0
    check "--device auto: one line on stderr" test "$(wc -l <"$T/err")" -eq 1
    check "--device auto: says it chose the CPU and why" grep -q "^mlpc train: --device auto: chose cpu: no usable GPU: $reason" "$T/err"
    auto_loss=$(sed -n 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/p' "$T/auto.jsonl")
    check "--device auto on the CPU: the CPU's result" test "$auto_loss" = "$cpu_loss"
    run $TRAIN --device auto --quiet
    check "--device auto --quiet: silent" test "$RC" -eq 0 -a ! -s "$T/err" -a ! -s "$T/out"
    echo "skipped: no GPU ($reason)"
fi

# ---- each reason, from the stand-in plugins
if [ -f "$FAKE/fake_cuda_nodriver.so" ]; then
    MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_nodriver.so expect_fail "no driver: the dlerror text and the driver needed" 2 \
        "--device cuda: no usable GPU: CUDA driver not found (libcuda.so.1: cannot open shared object file: No such file or directory); the plugin needs driver >= 13.0" \
        $TRAIN --device cuda
    MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_olddriver.so expect_fail "old driver: both versions" 2 \
        "no usable GPU: the CUDA driver supports CUDA 12.4, the plugin needs driver >= 13.0" $TRAIN --device cuda
    MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_nodevice.so expect_fail "no device" 2 \
        "no usable GPU: the CUDA driver (13.0) found no GPU (cudaErrorNoDevice" $TRAIN --device cuda:0
    MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_badabi.so expect_fail "plugin of another ABI" 2 \
        "has ABI version 999" $TRAIN --device cuda
    MLPC_CUDA_PLUGIN=$T/missing.so expect_fail "MLPC_CUDA_PLUGIN missing: dlerror text" 2 \
        "no usable GPU: CUDA plugin $T/missing.so cannot be loaded: $T/missing.so: cannot open shared object file: No such file or directory" \
        $TRAIN --device cuda
    MLPC_CUDA_PLUGIN=$T/missing.so run devices
    check "devices with a missing plugin: exit 0" test "$RC" -eq 0
    check "devices with a missing plugin: says so" grep -q "^cuda  *none: CUDA plugin $T/missing.so cannot be loaded: .*No such file or directory" "$T/out"
    MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_nodriver.so run devices
    check "devices without a driver: the reason" grep -q '^cuda  *none: CUDA driver not found (libcuda.so.1: cannot open' "$T/out"
    check "devices without a driver: driver none, runtime 13.0" grep -q '^driver  *none$' "$T/out"
    check "devices without a driver: runtime line" grep -q "^runtime  *CUDA 13.0 in $FAKE/fake_cuda_nodriver.so (fake plugin for tests)" "$T/out"

    # a fake GPU: listed, chosen by auto, and the memory cap refuses a run before anything is allocated
    export MLPC_CUDA_PLUGIN=$FAKE/fake_cuda_onegpu.so
    run devices
    check "fake GPU listed" grep -q '^cuda:0  *mlpc fake GPU (compute capability 8.6, 40 SMs, 1.0 GiB memory, 0.8 GiB free, pci 0000:17:00.0)$' "$T/out"
    check "fake GPU: driver line" grep -q '^driver  *CUDA 13.0' "$T/out"
    run devices --json
    check "fake GPU in JSON" grep -q '{"device":"cuda:0","name":"mlpc fake GPU","memory":1073741824,"memory_free":805306368,"compute_capability":"8.6","multiprocessors":40,"pci_bus_id":"0000:17:00.0"}' "$T/out"
    check "fake GPU: cuda available in JSON" grep -q '"cuda":{"available":true,"devices":1,"reason":null,' "$T/out"
    expect_fail "fake GPU: --gpu-memory-limit refuses before allocating" 2 \
        "--device cuda: --gpu-memory-limit 1.00 KiB: cuda:0 needs" $TRAIN --device cuda --gpu-memory-limit 1K
    check "the cap names the parts and says nothing was allocated" err_has "nothing was allocated"
    check "the cap names the parts" err_has "(data "
    # the fake GPU computes on the CPU through the plugin protocol: the whole device path of train, eval, predict
    run $TRAIN --device cuda --metrics "$T/fake.jsonl" --gpu-memory-limit 64M --log-device
    check "fake GPU: train --device cuda exit 0" test "$RC" -eq 0
    check "fake GPU: the run line names the device" grep -q "device cuda:0$" "$T/out"
    check "fake GPU: --log-device" grep -q '^mlpc train: device: layer 1 2->8 sigmoid: cuda:0 (cuBLAS sgemm, bias+sigmoid kernel' "$T/err"
    check "fake GPU: no note without a graph failure" sh -c "! grep -q 'graph failed' '$T/err'"
    MLPC_CUDA_GRAPHS=fail run $TRAIN --device cuda --log-device
    check "fake GPU: a failed graph capture: the run goes on (exit 0)" test "$RC" -eq 0
    check "fake GPU: a failed graph capture: a note under --log-device" \
        grep -q '^mlpc train: device: fake plugin: capturing a training step as a CUDA graph failed' "$T/err"
    MLPC_CUDA_GRAPHS=fail run $TRAIN --device cuda
    check "fake GPU: a failed graph capture: no note without --log-device" sh -c "! grep -q 'graph failed' '$T/err'"
    fake_loss=$(sed -n 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/p' "$T/fake.jsonl")
    check "fake GPU: epoch-2 loss within 1e-5 of the CPU's ($fake_loss vs $cpu_loss)" \
        awk -v a="$fake_loss" -v b="$cpu_loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 * b) }'
    run eval "$T/m.mlpc" --test "$CSV" --device cuda --json
    check "fake GPU: eval --device cuda" test "$RC" -eq 0
    fl=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$T/out")
    MLPC_CUDA_PLUGIN='' run eval "$T/m.mlpc" --test "$CSV" --json
    cl=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$T/out")
    check "fake GPU: eval equals the CPU's ($fl vs $cl)" \
        awk -v a="$fl" -v b="$cl" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-6 * b) }'
    expect_fail "fake GPU: eval over the memory cap" 2 "--gpu-memory-limit 1.00 KiB: cuda:0 needs" \
        eval "$T/m.mlpc" --test "$CSV" --device cuda --gpu-memory-limit 1K
    run predict "$T/m.mlpc" --input "$T/x.csv" --device cuda --output "$T/pf.csv"
    check "fake GPU: predict --device cuda" test "$RC" -eq 0
    MLPC_CUDA_PLUGIN='' run predict "$T/m.mlpc" --input "$T/x.csv" --output "$T/pc0.csv"
    check "fake GPU: predict gives the CPU's classes" cmp -s "$T/pf.csv" "$T/pc0.csv"
    expect_fail "fake GPU: cuda:1 does not exist" 2 "no GPU cuda:1: this machine has 1 CUDA device (cuda:0)" $TRAIN --device cuda:1
    run $TRAIN --device auto --gpu-memory-limit 1K
    check "fake GPU: auto picks it and says why" grep -q '^mlpc train: --device auto: chose cuda:0 (mlpc fake GPU, 1.00 GiB, compute capability 8.6)' "$T/err"
    unset MLPC_CUDA_PLUGIN
else
    skip "stand-in plugins" "no $FAKE/fake_cuda_*.so: make tests"
fi

# ---- with a GPU: the same runs on it
if [ "$gpu" = 1 ]; then
    run $TRAIN --device cuda --metrics "$T/gpu.jsonl" --log-device
    check "train --device cuda: exit 0" test "$RC" -eq 0
    check "train --device cuda: the run line names the device" grep -q "device cuda:0" "$T/out"
    check "--log-device on the GPU" grep -q '^mlpc train: device: layer 1 2->8 sigmoid: cuda:0 (cuBLAS sgemm' "$T/err"
    gpu_loss=$(sed -n 's/.*"epoch":1,"loss":\([^,]*\),.*/\1/p' "$T/gpu.jsonl")
    cpu1=$(sed -n 's/.*"epoch":1,"loss":\([^,]*\),.*/\1/p' "$T/cpu.jsonl")
    check "GPU epoch-1 loss within 1e-3 relative of the CPU's ($gpu_loss vs $cpu1)" \
        awk -v a="$gpu_loss" -v b="$cpu1" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-3 * (b < 0 ? -b : b)) }'
    run $TRAIN --device auto
    check "--device auto with a GPU chooses it" grep -q '^mlpc train: --device auto: chose cuda:0 (' "$T/err"
    expect_fail "--gpu-memory-limit too small on the GPU" 2 "--gpu-memory-limit 1.00 KiB: cuda:0 needs" $TRAIN --device cuda --gpu-memory-limit 1K
    run eval "$T/m.mlpc" --test "$CSV" --device cuda --json
    check "eval --device cuda: exit 0" test "$RC" -eq 0
    gl=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$T/out")
    run eval "$T/m.mlpc" --test "$CSV" --json
    cl=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$T/out")
    check "eval on the GPU equals the CPU within 1e-4 relative ($gl vs $cl)" \
        awk -v a="$gl" -v b="$cl" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-4 * (b < 0 ? -b : b)) }'
    run predict "$T/m.mlpc" --input "$T/x.csv" --device cuda --output "$T/pg.csv"
    check "predict --device cuda: exit 0" test "$RC" -eq 0
    run predict "$T/m.mlpc" --input "$T/x.csv" --output "$T/pc.csv"
    check "predict on the GPU: the same classes" cmp -s "$T/pg.csv" "$T/pc.csv"
fi
finish
