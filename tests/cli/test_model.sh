#!/bin/sh
# Train a small model on a generated CSV, then eval, predict and info on it;
# config files, metrics, checkpoints, resume and divergence.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 200
make_cls "$T/cls-h.csv" 200 header
CSV="$T/cls.csv"
cut -d, -f1,2 "$CSV" >"$T/x.csv"
X="$T/x.csv"
M="$T/m.mlpc"

# --- train
expect_ok "train 2 epochs" train --train "$CSV" --layers 2-8-2 --act tanh --opt adam --lr 0.01 \
    --batch 16 --epochs 2 --save "$M" --metrics "$T/m.jsonl"
check "settings line names layers, opt, lr, batch, threads and rows" \
    grep -q "layers 2-8-2 .*opt adam .*lr 0.01 .*batch 16 .*threads 1 .*200 train rows" "$T/out"
check "one line per epoch" test "$(grep -c '^epoch [12]/2  loss [0-9.]*  acc [0-9.]*  lr 0.01  [0-9.]*s  [0-9]* samples/s$' "$T/out")" -eq 2
check "final summary" grep -q "^done: 2 epochs" "$T/out"
check "model saved" test -s "$M"
check "end-of-run checkpoint saved next to the model" test -s "$M.ckpt"
check "no temporary files left" test -z "$(find "$T" -name '*.tmp*' -print)"
check "metrics: one JSON line per epoch" test "$(wc -l <"$T/m.jsonl")" -eq 2
check "metrics: fields" grep -q '^{"run":"m","time":[0-9.]*,"epoch":1,"loss":[0-9.e-]*,"acc":[0-9.e-]*,"val_loss":null,"val_acc":null,"test_loss":null,"test_acc":null,"lr":0.01,"epoch_seconds":[0-9.e-]*,"eval_seconds":[0-9.e-]*,"samples_per_second":[0-9.e+-]*}$' "$T/m.jsonl"
if command -v python3 >/dev/null 2>&1; then
    check "metrics: valid JSON Lines" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/m.jsonl"
fi

expect_ok "train --quiet prints nothing" train --train "$CSV" --layers 2-8-2 --epochs 1 --quiet
check "quiet stdout is empty" test ! -s "$T/out"

expect_ok "train with header, validation split, test set" train --train "$T/cls-h.csv" --test "$CSV" \
    --layers 2-8-2 --epochs 2 --val-split 0.25 --progress --batch 10 --metrics "$T/v.jsonl" --run vrun
check "validation rows from the split" grep -q "150 train, 50 val, 200 test rows" "$T/out"
check "epoch lines show val_acc and test_acc" grep -q "^epoch 2/2  loss .*  acc .*  val_acc .*  test_acc .*  lr " "$T/out"
check "progress lines" grep -q "^  epoch 1  batch 15/15  loss" "$T/out"
check "metrics carry the run name and val/test values" grep -q '"run":"vrun".*"val_acc":[0-9]' "$T/v.jsonl"

expect_ok "train with early stopping and a schedule" train --train "$CSV" --layers 2-8-2 --epochs 3 \
    --val-split 40 --early-stop 1 --es-metric val_acc --sched step --sched-step 1 --opt sgd \
    --momentum 0.9 --nesterov --l2 0.0001 --init glorot --norm standard --seed 42 --threads 2

# --- config file: keys as flags, the command line wins
cat >"$T/cfg.json" <<'JSON'
{"layers": [2, 6, 2], "act": "relu", "out_act": "softmax", "loss": "cce", "opt": "rmsprop",
 "lr": 0.005, "batch": 50, "epochs": 2, "nesterov": false, "seed": 3}
JSON
expect_ok "train --config" train --config "$T/cfg.json" --train "$CSV" --batch 20
check "config values used" grep -q "layers 2-6-2  act relu/softmax  loss cce  opt rmsprop  lr 0.005  batch 20  epochs 2" "$T/out"

# --- eval
expect_ok "eval" eval "$M" --test "$CSV"
check "eval prints loss, acc and n" grep -q "^loss [0-9.]*  acc [0-9.]*  n 200$" "$T/out"
expect_ok "eval --json" eval "$M" --test "$T/cls-h.csv" --json --threads 2
check "eval --json fields" grep -q '^{"model":".*","data":".*","loss":[0-9.e-]*,"acc":[0-9.e-]*,"n":200}$' "$T/out"
printf '0.1,0.2,0.3,1\n' >"$T/wide.csv"
expect_fail "eval: wrong width" 1 "$T/wide.csv: 3 features, but the model $M expects 2 inputs" \
    eval "$M" --test "$T/wide.csv"

# --- predict
expect_ok "predict to stdout" predict "$M" --input "$X"
check "predict: one row per input row" test "$(wc -l <"$T/out")" -eq 200
check "predict: classes are 0 or 1" test -z "$(grep -v '^[01]$' "$T/out")"
cut -d, -f1,2 "$T/cls-h.csv" >"$T/x-h.csv"
expect_ok "predict --proba --output" predict "$M" --input "$T/x-h.csv" --proba --output "$T/p.csv"
check "predict: output file rows" test "$(wc -l <"$T/p.csv")" -eq 200
check "predict --proba: class then one column per output" \
    test -z "$(awk -F, 'NF != 3 || ($1 != 0 && $1 != 1)' "$T/p.csv")"
check "predict: nothing on stdout with --output" test ! -s "$T/out"
check "predict: no temporary file left" test ! -e "$T/p.csv.tmp"
expect_ok "predict --output .npy" predict "$M" --input "$X" --output "$T/c.npy"
check "predict .npy: header and 200 int32 values" \
    test $(( ($(wc -c <"$T/c.npy") - 800) % 64 )) -eq 0
check "predict .npy: magic" test "$(head -c 6 "$T/c.npy" | tail -c 5)" = "NUMPY"
expect_ok "predict --proba to .npy" predict "$M" --input "$X" --proba --output "$T/p.npy"
# the (200, 2) float32 probabilities are themselves valid 2-feature input
expect_ok "predict from .npy input" predict "$M" --input "$T/p.npy" --output "$T/pp.csv"
check "predict from .npy: rows" test "$(wc -l <"$T/pp.csv")" -eq 200

printf '0.1,0.2,0.3\n0.4,0.5,0.6\n' >"$T/wide3.csv"
expect_fail "predict: wrong-width CSV" 1 "--input $T/wide3.csv: 3 columns, but the model $M expects 2 inputs" \
    predict "$M" --input "$T/wide3.csv" --output "$T/bad.csv"
check "predict: failing run leaves no output file" test ! -e "$T/bad.csv"
check "predict: failing run leaves no temporary file" test ! -e "$T/bad.csv.tmp"
echo keep >"$T/old.csv"
expect_fail "predict: wrong width, existing output" 1 "$T/wide3.csv" \
    predict "$M" --input "$T/wide3.csv" --output "$T/old.csv"
check "predict: failing run keeps the old output" test "$(cat "$T/old.csv")" = keep
expect_fail "predict: output into a missing folder" 1 "--output $T/none/o.csv" \
    predict "$M" --input "$X" --output "$T/none/o.csv"
check "predict: no partial file in a missing folder" test ! -e "$T/none"
expect_fail "predict: missing input" 1 "--input $T/nope.csv: No such file or directory" \
    predict "$M" --input "$T/nope.csv"

# --- info
expect_ok "info" info "$M"
check "info: layers" grep -q "^layers   2-8-2 (2 weight layers)" "$T/out"
check "info: layer table" grep -q "^      1       2       8  tanh" "$T/out"
check "info: loss and norm" grep -q "^norm     scale" "$T/out"
check "info: params" grep -q "^params   42 " "$T/out"
check "info: stored config" grep -q '"lr"' "$T/out"
check "info: stored metrics" grep -q '"task": "classify"' "$T/out"
expect_ok "info --json" info "$M" --json
check "info --json is one line" test "$(wc -l <"$T/out")" -eq 1
check "info --json fields" grep -q '"layers":\[{"in":2,"out":8,"act":"tanh","params":24}' "$T/out"
if command -v python3 >/dev/null 2>&1; then
    check "info --json parses" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["params"]==42 and d["metrics"]["task"]=="classify"' "$T/out"
fi
# info --json's config is accepted by --config as it is: same settings
if command -v python3 >/dev/null 2>&1; then
    expect_ok "train for the config round trip" train --train "$CSV" --layers 2-8-2 --act tanh --opt adam \
        --lr 0.01 --batch 16 --epochs 2 --val-split 20 --early-stop 3 --sched plateau --sched-patience 2 \
        --save "$T/rt.mlpc" --run rt
    sed -n 1p "$T/out" >"$T/rt1.txt"
    run info "$T/rt.mlpc" --json
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["config"], open(sys.argv[2], "w"))' \
        "$T/out" "$T/rt.json"
    expect_ok "train --config with info --json's config" train --config "$T/rt.json" --train "$CSV" --run rt
    sed -n 1p "$T/out" >"$T/rt2.txt"
    check "round trip: the same settings line" cmp -s "$T/rt1.txt" "$T/rt2.txt"
    # the library's form (older models): "acts", "shuffle", every optimizer field
    printf '%s\n' '{"layers":"2-8-2","acts":["tanh","softmax"],"loss":"cce","init":"glorot","norm":"scale","opt":"adam","lr":0.01,"momentum":0,"nesterov":false,"rho":0.9,"beta1":0.9,"beta2":0.999,"eps":1e-07,"l2":0,"sched":"constant","sched_factor":0.5,"sched_step":10,"sched_patience":3,"min_lr":0,"batch":16,"epochs":2,"seed":1,"threads":1,"shuffle":true,"early_stop":0,"es_metric":"loss","es_min_delta":0,"es_restore_best":true}' >"$T/lib.json"
    expect_ok "train --config with the library's form" train --config "$T/lib.json" --train "$CSV"
    check "library form: settings" out_has "layers 2-8-2  act tanh/softmax  loss cce  opt adam  lr 0.01  batch 16  epochs 2"
fi
head -c 60 "$M" >"$T/trunc.mlpc"
expect_fail "info: truncated model" 1 "$T/trunc.mlpc" info "$T/trunc.mlpc"
expect_fail "eval: truncated model" 1 "$T/trunc.mlpc" eval "$T/trunc.mlpc" --test "$CSV"
expect_fail "predict: truncated model" 1 "$T/trunc.mlpc" predict "$T/trunc.mlpc" --input "$X"

# --- resume from the checkpoint up to 3 epochs
expect_ok "resume" train --train "$CSV" --layers 2-8-2 --act tanh --opt adam --lr 0.01 --batch 16 \
    --epochs 3 --resume "$M.ckpt" --save "$T/m3.mlpc"
check "resume: continues at epoch 3" grep -q "^epoch 3/3 " "$T/out"
check "resume: runs only the missing epoch" test "$(grep -c '^epoch ' "$T/out")" -eq 1
expect_fail "resume: other architecture" 1 "$M.ckpt" \
    train --train "$CSV" --layers 2-5-2 --epochs 3 --resume "$M.ckpt"

# --- regression and divergence
make_reg "$T/reg.csv" 300
expect_ok "regression train" train --train "$T/reg.csv" --task regress --layers 2-8-1 --act relu \
    --opt adam --lr 0.01 --epochs 2 --save "$T/r.mlpc"
check "regression epoch line" grep -q "^epoch 2/2  loss [0-9.e+-]* (standardized)  mse [0-9.e+-]*  lr 0.01 " "$T/out"
expect_ok "regression eval" eval "$T/r.mlpc" --test "$T/reg.csv"
check "regression eval prints mse, mae and R^2" grep -q "^loss [0-9.e+-]* (standardized)  mse [0-9.e+-]*  mae [0-9.e+-]*  r2 [0-9.e+-]*  n 300$" "$T/out"
cut -d, -f1,2 "$T/reg.csv" >"$T/reg-x.csv"
expect_ok "regression predict" predict "$T/r.mlpc" --input "$T/reg-x.csv"
check "regression predict rows (header detected)" test "$(wc -l <"$T/out")" -eq 300
expect_fail "regression predict --proba" 2 "--proba" predict "$T/r.mlpc" --input "$T/reg-x.csv" --proba
expect_fail "es-metric acc for regression" 2 "--es-metric acc: accuracy is not defined for regression" \
    train --train "$T/reg.csv" --task regress --layers 2-8-1 --es-metric acc
expect_fail "regress output width" 2 "--layers: output width 2 does not match the 1 targets of $T/reg.csv" \
    train --train "$T/reg.csv" --task regress --layers 2-8-2

expect_fail "divergence" 3 "training diverged at epoch " \
    train --train "$T/reg.csv" --task regress --layers 2-32-32-1 --act relu --opt sgd --lr 1e12 \
    --epochs 5 --save "$T/div.mlpc"
check "divergence: --save not written" test ! -e "$T/div.mlpc"
finish
