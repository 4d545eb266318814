#!/bin/sh
# quickstart.sh - from a fresh clone to a trained network in one command:
# install the build dependencies, fetch MNIST, build, and train the W1
# baseline (784-30-10 sigmoid net, quadratic loss, plain SGD).
#
#   scripts/quickstart.sh                   10 epochs
#   EPOCHS=30 scripts/quickstart.sh         more epochs
#   scripts/quickstart.sh --threads 4       extra args go to `mlpc train`
#
# Writes runs/w1.jsonl (per-epoch metrics) and runs/w1.mlpc (the model), and
# serves the live dashboard at the URL it prints, kept up LINGER seconds
# (default 120) after training so the curves can be looked at; Ctrl-C ends it.
set -eu

cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
sh scripts/fetch-data.sh
make -j2

mkdir -p runs
set -x
./build/mlpc train --data mnist --layers 784-30-10 --act sigmoid --out-act sigmoid --loss quadratic --opt sgd --lr 3.0 --batch 10 --epochs "${EPOCHS:-10}" --init normal --val-split 10000 --val-from tail --metrics runs/w1.jsonl --save runs/w1.mlpc --dashboard --linger "${LINGER:-120}" "$@"
