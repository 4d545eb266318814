#!/bin/sh
# --resume honours what the command line says: --lr given explicitly wins
# over the checkpoint's rate (the documented advice for a diverged run:
# resume it at a lower rate), the header shows the rate the epochs use, and
# a run that stopped early goes on when --epochs is given.
. "$(dirname "$0")/common.inc"

make_reg "$T/d.csv" 300
CK="$T/d.ckpt"
A="--train $T/d.csv --task regress --layers 2-8-1 --out-act linear --loss mse --opt sgd --checkpoint $CK"
# shellcheck disable=SC2086 # $A is split on purpose
{
    expect_ok "two good epochs" train $A --lr 0.01 --epochs 2 --quiet
    run train $A --lr 1e6 --epochs 6 --resume "$CK"
    check "resumed at --lr 1e6: diverges (exit $RC)" test "$RC" -eq 3
    check "... the header shows the rate the epochs use" grep -q "opt sgd  lr 1e+06  batch" "$T/out"
    check "... and says what was overridden" grep -q "^resumed from .*d.ckpt after epoch 2; overridden: --lr 1e+06 (the checkpoint's rate was 0.01)$" "$T/out"
    check "... the last good checkpoint is kept" grep -q "last good checkpoint kept at .*d.ckpt" "$T/err"
    run train $A --lr 0.001 --epochs 6 --resume "$CK"
    check "resumed from the kept checkpoint at a lower rate: finishes (exit $RC)" test "$RC" -eq 0
    check "... epochs 3 to 6 at lr 0.001" test "$(grep -c '^epoch [3-6]/6  loss [0-9.]* (standardized)  mse [0-9.e+-]*  lr 0.001 ' "$T/out")" -eq 4
    run train $A --epochs 8 --resume "$CK"
    check "resumed without --lr: the checkpoint's rate" grep -q "opt sgd  lr 0.001  batch" "$T/out"
    check "... nothing overridden" grep -q "^resumed from .*d.ckpt after epoch 6$" "$T/out"
    # early stopping with patience 1 on the training loss at a rate so high
    # that the loss soon stops improving; then --epochs lets it go on
    B="--train $T/d.csv --task regress --layers 2-8-1 --out-act linear --loss mse --opt sgd --lr 0.5"
    B="$B --epochs 400 --early-stop 1 --es-metric loss --checkpoint $T/es.ckpt"
    expect_ok "an early-stopped run" train $B --quiet
    run train $B --resume "$T/es.ckpt"
    at=$(sed -n 's/^resumed from .* after epoch \([0-9]*\).*/\1/p' "$T/out")
    if [ -n "$at" ] && [ "$at" -lt 400 ]; then
        check "... given --epochs, it goes on" grep -q "overridden: --epochs (the checkpoint's run had stopped early)" "$T/out"
        check "... and trains epoch $((at + 1))" grep -q "^epoch *$((at + 1))/400 " "$T/out"
    else
        skip "an early-stopped run given --epochs goes on" "the run did not stop early"
    fi
}

# a checkpoint carries a fingerprint of its training rows: other data or
# another split is refused, naming what differs
awk -F, 'NR == 7 { $1 = $1 + 1 } { print $1 "," $2 "," $3 }' "$T/d.csv" >"$T/d3.csv"
R="--task regress --layers 2-8-1 --out-act linear --loss mse --opt sgd --lr 0.01"
# shellcheck disable=SC2086
{
    expect_ok "a checkpoint with a validation split" train --train "$T/d.csv" $R --epochs 2 --val-split 50 \
        --checkpoint "$T/v.ckpt" --quiet
    expect_fail "resume with another --val-split: refused" 2 "the checkpoint was trained on other rows (250 training, 50 validation; this run: 240, 60)" \
        train --train "$T/d.csv" $R --epochs 4 --val-split 60 --resume "$T/v.ckpt"
    expect_fail "resume with another --val-from: refused" 2 "other rows (250 training, 50 validation; this run: 250, 50, other values)" \
        train --train "$T/d.csv" $R --epochs 4 --val-split 50 --val-from tail --resume "$T/v.ckpt"
    expect_fail "resume on a file with one value changed: refused" 2 "other rows" \
        train --train "$T/d3.csv" $R --epochs 4 --val-split 50 --resume "$T/v.ckpt"
    expect_ok "resume on the same rows" train --train "$T/d.csv" $R --epochs 4 --val-split 50 --resume "$T/v.ckpt" --quiet
}

# a checkpoint carries the task: a sigmoid output with the quadratic cost
# (W1's) classifies, and eval, predict and info treat the checkpoint as the
# model it belongs to
make_cls "$T/cls.csv" 200
cut -d, -f1,2 "$T/cls.csv" >"$T/x.csv"
expect_ok "a classifier with a sigmoid output and the quadratic cost" train --train "$T/cls.csv" \
    --layers 2-8-2 --act sigmoid --out-act sigmoid --loss quadratic --opt sgd --lr 3 --batch 10 \
    --epochs 2 --checkpoint "$T/c.ckpt" --quiet
run eval "$T/c.ckpt" --test "$T/cls.csv"
check "eval of its checkpoint: a classifier (accuracy)" grep -q "acc 0\.[0-9]*  n 200" "$T/out"
run info "$T/c.ckpt" --json
check "info of its checkpoint: task classify" grep -q '"task": *"classify"' "$T/out"
run predict "$T/c.ckpt" --input "$T/x.csv" --output "$T/p.csv"
check "predict with its checkpoint: class labels" test "$(sort -u "$T/p.csv" | grep -cv '^[01]$')" -le 1


# the schedule and early stopping hold on --resume: a flag that changes one
# is listed as overridden, one left out of the command is refused (it would
# silently change the schedule)
S="--train $T/d.csv --task regress --layers 2-8-1 --out-act linear --loss mse --opt sgd --lr 0.01 --checkpoint $T/s.ckpt"
# shellcheck disable=SC2086 # $S is split on purpose
{
    expect_ok "a run with a step schedule" train $S --sched step --sched-step 1 --sched-factor 0.5 --epochs 2 --quiet
    expect_fail "resume without the schedule's flags: refused" 2 \
        "--resume $T/s.ckpt: the checkpoint's run used --sched step and this command would use constant" \
        train $S --epochs 4 --resume "$T/s.ckpt"
    run train $S --sched step --sched-step 1 --sched-factor 0.5 --epochs 3 --resume "$T/s.ckpt"
    check "resume with the same schedule flags: only the explicit --lr is listed as overridden" \
        grep -q "^resumed from .*s.ckpt after epoch 2; overridden: --lr 0.01 (the checkpoint's rate was 0.0025)$" "$T/out"
    run train $S --sched step --sched-step 2 --sched-factor 0.5 --epochs 4 --resume "$T/s.ckpt"
    check "resume with another step: listed as overridden" \
        grep -q "overridden: .*--sched-step 2 (the checkpoint's was 1)" "$T/out"
}
finish
