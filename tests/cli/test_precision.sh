#!/bin/sh
# test_precision.sh - mlpc train --precision fp32|bf16|auto: the run header
# says what ran (and why, for auto); bf16 on a CPU without AVX512_BF16 is
# one line and exit 2 (MLPC_NO_BF16=1 stands in for such a CPU); the saved
# model loads and predicts, the same for 1 and 2 threads; a bad value is a
# usage error; on a device (the stand-in plugin) bf16 is refused and auto
# takes fp32. The bf16 runs print a skip line where the CPU lacks the
# instructions.
. "$(dirname "$0")/common.inc"

awk 'BEGIN { srand(7); print "a,b,c,d,label"; for (i = 0; i < 3000; i++) { a = rand(); b = rand(); c = rand(); d = rand(); printf "%f,%f,%f,%f,%d\n", a, b, c, d, (a + b > c + d) } }' >"$T/cls.csv"
set -- --train "$T/cls.csv" --label-col label --layers 4-32-2 --out-act softmax --loss cce --opt adam \
    --batch 100 --epochs 2

# a CPU without AVX512_BF16
MLPC_NO_BF16=1 expect_fail "--precision bf16 without AVX512_BF16: one line" 2 \
    "precision bf16: this CPU has no AVX512_BF16" train "$@" --precision bf16
MLPC_NO_BF16=1 run train "$@" --precision auto
if [ "$RC" -eq 0 ] && grep -q "precision fp32 (auto: this CPU has no AVX512_BF16)" "$T/out"; then
    ok "--precision auto without AVX512_BF16 runs fp32 and says why"
else
    bad "--precision auto without AVX512_BF16 runs fp32 and says why" "$(head -2 "$T/out" "$T/err")"
fi
expect_fail "--precision bad value" 2 "--precision" train "$@" --precision fp16

# a device trains in float32: bf16 is refused in one line, auto says why
# (the stand-in plugin with one fake GPU, tests/fake_cuda_plugin.c)
FAKE=$(dirname "$MLPC")/tests/fake_cuda_onegpu.so
if [ -f "$FAKE" ]; then
    MLPC_CUDA_PLUGIN=$FAKE expect_fail "--precision bf16 on a device: one line" 2 \
        "precision bf16: training on a device runs in float32 only" train "$@" --device cuda --precision bf16
    MLPC_CUDA_PLUGIN=$FAKE run train "$@" --device cuda --precision auto
    if [ "$RC" -eq 0 ] && grep -q "precision fp32 (auto: training runs on the device, in float32)" "$T/out"; then
        ok "--precision auto on a device runs fp32 and says why"
    else
        bad "--precision auto on a device runs fp32 and says why" "$(head -2 "$T/out" "$T/err")"
    fi
else
    skip "--precision on a device" "no stand-in plugin at $FAKE (make tests)"
fi

run train "$@" --save "$T/fp32.mlpc"
if [ "$RC" -eq 0 ] && ! grep -q "precision" "$T/out"; then
    ok "the default is fp32 (the header names no precision)"
else
    bad "the default is fp32" "$(head -2 "$T/out" "$T/err")"
fi

if MLPC_NO_BF16=0 "$MLPC" train "$@" --precision bf16 --epochs 1 >/dev/null 2>&1; then
    run train "$@" --precision bf16 --save "$T/bf16.mlpc"
    if [ "$RC" -eq 0 ] && grep -q "precision bf16\$" "$T/out" && grep -q "^done:" "$T/out"; then
        ok "--precision bf16 trains and says so"
    else
        bad "--precision bf16 trains and says so" "$(head -2 "$T/out" "$T/err")"
    fi
    run train "$@" --precision auto
    if [ "$RC" -eq 0 ] && grep -q "precision bf16 (auto: this CPU has AVX512_BF16)" "$T/out"; then
        ok "--precision auto takes bf16 and says why"
    else
        bad "--precision auto takes bf16 and says why" "$(head -2 "$T/out" "$T/err")"
    fi
    # the models' predictions on the features (the saved model is float32;
    # predictions compare its weights, not the metadata around them)
    cut -d, -f1-4 "$T/cls.csv" >"$T/x.csv"
    for m in fp32 bf16; do "$MLPC" predict "$T/$m.mlpc" --input "$T/x.csv" --output "$T/p-$m.csv" --proba 2>>"$T/err"; done
    if [ -s "$T/p-bf16.csv" ] && [ -s "$T/p-fp32.csv" ] && ! cmp -s "$T/p-bf16.csv" "$T/p-fp32.csv"; then
        ok "the bf16-trained model loads and predicts (other weights than fp32's)"
    else
        bad "the bf16-trained model loads and predicts" "$(cat "$T/err")"
    fi
    # the same bits for 1 and 2 threads
    run train "$@" --precision bf16 --threads 2 --save "$T/bf16-2.mlpc"
    "$MLPC" predict "$T/bf16-2.mlpc" --input "$T/x.csv" --output "$T/p-bf16-2.csv" --proba 2>>"$T/err"
    if [ "$RC" -eq 0 ] && cmp -s "$T/p-bf16.csv" "$T/p-bf16-2.csv"; then
        ok "--precision bf16: the same model with 1 and 2 threads"
    else
        bad "--precision bf16: the same model with 1 and 2 threads" "$(cat "$T/err")"
    fi
else
    skip "--precision bf16 runs" "this CPU has no AVX512_BF16"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
