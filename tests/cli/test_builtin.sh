#!/bin/sh
# Built-in data sets: lorenz always; mnist when its files are present
# ($MLPC_DATA/mnist or ./data/mnist).
. "$(dirname "$0")/common.inc"

expect_ok "lorenz: 2 epochs" train --data lorenz --layers 3-16-16-3 --act relu --out-act linear \
    --loss mse --opt adam --epochs 2 --save "$T/lorenz.mlpc" --metrics "$T/lorenz.jsonl"
check "lorenz: 900 train and 900 validation rows" grep -q "data lorenz: 900 train, 900 val rows" "$T/out"
check "lorenz: two epoch lines with val_mse" test "$(grep -c '^epoch [12]/2  loss [0-9.e+-]* (standardized)  mse [0-9.e+-]*  val_mse [0-9.e+-]*  lr 0.001 ' "$T/out")" -eq 2
check "lorenz: metrics carry mse fields" grep -q '"mse":[0-9.e+-]*,"val_mse":[0-9.e+-]*,"test_mse":null' "$T/lorenz.jsonl"
expect_ok "lorenz: eval" eval "$T/lorenz.mlpc" --data lorenz
check "lorenz: eval prints mse over 900 rows" grep -q "^loss [0-9.e+-]* (standardized)  mse [0-9.e+-]*  mae [0-9.e+-]*  r2 [0-9.e+-]*  n 900$" "$T/out"
expect_ok "lorenz: info" info "$T/lorenz.mlpc"
check "lorenz: info task regress" grep -q "^task     regress" "$T/out"
expect_fail "lorenz: layer widths" 2 "--layers: input width 2 does not match the 3 features of" \
    train --data lorenz --layers 2-16-3 --out-act linear --loss mse
expect_fail "lorenz: classification metric" 2 "--es-metric val_acc: accuracy is not defined for regression" \
    train --data lorenz --layers 3-16-3 --es-metric val_acc

D=$(mnist_dir)
if [ -z "$D" ]; then
    skip "mnist" "no MNIST files in ${MLPC_DATA:-data}/mnist"
else
    expect_fail "mnist: input width" 2 \
        "mlpc train: --layers: input width 700 does not match the 784 features of $D/train-images-idx3-ubyte" \
        train --data mnist --layers 700-30-10
    expect_fail "mnist: output width" 2 "--layers: output width 9 does not match the 10 classes of" \
        train --data mnist --layers 784-30-9
    expect_ok "mnist: 1 epoch" train --data mnist --val-split 10000 --layers 784-30-10 --batch 64 \
        --lr 0.5 --epochs 1 --threads 2 --save "$T/mnist.mlpc"
    check "mnist: 50000/10000/10000 rows" grep -q "data mnist: 50000 train, 10000 val, 10000 test rows" "$T/out"
    check "mnist: learns something (test_acc > 0.85)" \
        test -n "$(awk '/^epoch 1\/1/ { for (i = 1; i < NF; i++) if ($i == "test_acc" && $(i + 1) > 0.85) print "y" }' "$T/out")"
    expect_ok "mnist: eval on t10k" eval "$T/mnist.mlpc" --data mnist --threads 2
    check "mnist: eval n 10000" grep -q "  n 10000$" "$T/out"
fi
finish
