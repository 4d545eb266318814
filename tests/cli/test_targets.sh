#!/bin/sh
# Targets as users' files hold them: string class labels (with ';' and
# decimal commas), labels 1..K and -1/+1, one-hot target columns, labels in a
# file of their own (CSV, .npy), missing values in each --missing mode, and
# regression targets standardized for the net and reported in their own
# units. Class names go into the model: info shows them, predict writes
# them, eval and --test map labels through them.
. "$(dirname "$0")/common.inc"

# 3 classes, 2 features: class c sits around (c, 2 - c); rows in a fixed shuffled order
awk 'BEGIN { srand(3); split("setosa versicolor virginica", nm, " ")
    for (i = 0; i < 150; i++) { c = int(rand() * 3); a = c + rand() * 0.6; b = 2 - c + rand() * 0.6
        printf "%.3f %.3f %d %s\n", a, b, c, nm[c + 1] } }' >"$T/rows"
{ echo "x1;x2;species"; awk '{ gsub(/\./, ",", $1); gsub(/\./, ",", $2); print $1 ";" $2 ";" $4 }' "$T/rows"; } >"$T/iris.csv"
{ echo "x1,x2,y"; awk '{ print $1 "," $2 "," $3 + 1 }' "$T/rows"; } >"$T/one-k.csv"
{ echo "x1,x2,y"; awk '{ print $1 "," $2 "," ($3 == 2 ? "+1" : "-1") }' "$T/rows"; } >"$T/pm.csv"
{ echo "x1,x2,setosa,versicolor,virginica"; awk '{ print $1 "," $2 "," ($3 == 0) "," ($3 == 1) "," ($3 == 2) }' "$T/rows"; } >"$T/onehot.csv"
awk '{ print $1 "," $2 }' "$T/rows" >"$T/x.csv"
{ echo "species"; awk '{ print $4 }' "$T/rows"; } >"$T/y.csv"
awk '{ print $1 ";" $2 }' "$T/rows" | sed -n 1,3p | sed 's/\./,/g' >"$T/new.csv"

A="--layers 2-16-3 --epochs 40 --opt adam --lr 0.02 --norm standard --seed 2 --quiet"
# shellcheck disable=SC2086 # $A is split on purpose
{
    # ---- string labels, ';' and decimal commas
    run train --train "$T/iris.csv" --layers 2-16-3 --epochs 1 --val-split 30 --val-from tail
    check "strings: the classes are said in the csv line" out_has "csv: delimiter ';', header (3 names), target column 3 ('species') with 3 classes (setosa, versicolor, virginica)"
    expect_ok "strings: train and save" train --train "$T/iris.csv" $A --val-split 30 --val-from tail --save "$T/iris.mlpc"
    run info "$T/iris.mlpc"
    check "info: the class names" out_has "classes  3: setosa, versicolor, virginica"
    run info "$T/iris.mlpc" --json
    check "info --json: the class names" out_has '"classes":["setosa","versicolor","virginica"]'
    run predict "$T/iris.mlpc" --input "$T/new.csv" --delimiter ';'
    want=$(sed -n 1,3p "$T/rows" | awk '{ print $4 }' | tr '\n' ' ')
    got=$(tr '\n' ' ' <"$T/out")
    check "predict: writes the class names ($got)" test "$got" = "$want"
    run predict "$T/iris.mlpc" --input "$T/new.csv" --delimiter ';' --proba
    check "predict --proba: a header row with the names" test "$(head -1 "$T/out")" = "class,setosa,versicolor,virginica"
    check "predict --proba: name then 3 probabilities" test "$(sed -n 2p "$T/out" | awk -F, '{ print $1 " " NF }')" = "$(echo "$want" | cut -d' ' -f1) 4"
    run eval "$T/iris.mlpc" --test "$T/iris.csv"
    acc=$(sed 's/.*acc \([0-9.]*\).*/\1/' "$T/out")
    check "eval: maps the test file's names (acc $acc > 0.9)" awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }'
    sed '5s/;[a-z]*$/;rose/' "$T/iris.csv" >"$T/rose.csv"
    expect_fail "eval: an unknown label names file, line, column and label" 1 "rose.csv:5: column 3 ('species'): label 'rose' is not one of the model's classes (setosa, versicolor, virginica)" \
        eval "$T/iris.mlpc" --test "$T/rose.csv"
    expect_fail "train --test: an unknown label" 1 "rose.csv:5: column 3 ('species'): label 'rose'" \
        train --train "$T/iris.csv" --test "$T/rose.csv" $A
    # the same table through --val-split random (stratified): names stay with the rows
    run train --train "$T/iris.csv" $A --val-split 0.2 --metrics "$T/m.jsonl"
    vacc=$(sed -n '$s/.*"val_acc":\([^,]*\),.*/\1/p' "$T/m.jsonl")
    check "val split: the validation rows keep their classes (val_acc $vacc > 0.9)" awk -v a="$vacc" 'BEGIN { exit !(a > 0.9) }'

    # ---- 1..K and -1/+1
    run train --train "$T/one-k.csv" $A --save "$T/onek.mlpc"
    run predict "$T/onek.mlpc" --input "$T/x.csv"
    got=$(sed -n 1,3p "$T/out" | tr '\n' ' ')
    want=$(sed -n 1,3p "$T/rows" | awk '{ print $3 + 1 }' | tr '\n' ' ')
    check "1..K: predict writes the labels as given ($got)" test "$got" = "$want"
    run train --train "$T/pm.csv" --layers 2-8-2 --epochs 40 --opt adam --lr 0.02 --norm standard --save "$T/pm.mlpc"
    check "-1/+1: two classes, said" out_has "target column 3 ('y') with 2 classes (-1, 1)"
    run predict "$T/pm.mlpc" --input "$T/x.csv"
    check "-1/+1: predict writes -1 and 1" test "$(sort -u "$T/out" | tr '\n' ' ')" = "-1 1 "
    run eval "$T/pm.mlpc" --test "$T/pm.csv"
    check "-1/+1: eval maps +1 to the class 1" out_has "n 150"

    # ---- one-hot columns: by range, by list, and found on their own
    run train --train "$T/onehot.csv" $A --target setosa:virginica --save "$T/oh.mlpc"
    check "one-hot a:c: trains" test "$RC" -eq 0
    run train --train "$T/onehot.csv" --layers 2-16-3 --epochs 1 --target 2-4
    check "one-hot 2-4: said in the csv line" out_has "target: one-hot columns 3-5 (3 classes: setosa, versicolor, virginica)"
    run train --train "$T/onehot.csv" --layers 2-16-3 --epochs 1
    check "one-hot: trailing columns found without --target" out_has "target: trailing one-hot columns 3-5 (3 classes"
    run predict "$T/oh.mlpc" --input "$T/x.csv"
    check "one-hot: predict writes the column names" test "$(sed -n 1p "$T/out")" = "$(sed -n 1p "$T/rows" | awk '{ print $4 }')"
    expect_fail "one-hot: rows that are not one-hot" 1 "not one-hot" \
        train --train "$T/one-k.csv" $A --target x2,y
    expect_fail "--target and --label-col together" 2 "alias" train --train "$T/iris.csv" $A --target 2 --label-col 2
    expect_fail "--target: an unknown name" 2 "no column named 'kind'" train --train "$T/iris.csv" $A --target kind

    # ---- labels in a file of their own: CSV, and .npy
    expect_ok "--train-labels CSV with string labels" train --train "$T/x.csv" --train-labels "$T/y.csv" $A --save "$T/pair.mlpc"
    run predict "$T/pair.mlpc" --input "$T/x.csv"
    check "--train-labels CSV: predict writes the names" test "$(sed -n 1p "$T/out")" = "$(sed -n 1p "$T/rows" | awk '{ print $4 }')"
    { echo "setosa,versicolor,virginica"; awk '{ print ($3 == 0) "," ($3 == 1) "," ($3 == 2) }' "$T/rows"; } >"$T/y-onehot.csv"
    expect_ok "--train-labels CSV with one-hot columns" train --train "$T/x.csv" --train-labels "$T/y-onehot.csv" $A
    expect_ok "eval --test-labels CSV" eval "$T/pair.mlpc" --test "$T/x.csv" --test-labels "$T/y.csv"
    sed '3s/.*/rose/' "$T/y.csv" >"$T/y-rose.csv"
    expect_fail "eval --test-labels: an unknown label" 1 "y-rose.csv:3: column 1 ('species'): label 'rose'" \
        eval "$T/pair.mlpc" --test "$T/x.csv" --test-labels "$T/y-rose.csv"
    sed 1,2d "$T/y.csv" >"$T/y-short.csv"
    expect_fail "--train-labels: a row count that differs" 1 "has 149 rows" train --train "$T/x.csv" --train-labels "$T/y-short.csv" $A
    if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        /usr/bin/python3 - "$T/rows" "$T" <<'EOF'
import sys, numpy as np
rows = [l.split() for l in open(sys.argv[1])]
np.save(sys.argv[2] + "/x.npy", np.array([[float(r[0]), float(r[1])] for r in rows], dtype=np.float32))
np.save(sys.argv[2] + "/y.npy", np.array([int(r[2]) * 2 - 2 for r in rows], dtype=np.int64))  # -2, 0, 2
EOF
        expect_ok "--train-labels .npy of -2/0/2 with .npy features" train --train "$T/x.npy" --train-labels "$T/y.npy" $A --save "$T/npy.mlpc"
        run predict "$T/npy.mlpc" --input "$T/x.npy"
        check "npy labels: predict writes -2, 0, 2" test "$(sort -u "$T/out" | tr '\n' ' ')" = "-2 0 2 "
        expect_ok "--train-labels .npy with CSV features" train --train "$T/x.csv" --train-labels "$T/y.npy" $A
        /usr/bin/python3 -c 'import sys, numpy as np; np.save(sys.argv[1], np.linspace(20, 300, 150).astype(np.float32))' "$T/t.npy"
        run train --train "$T/x.csv" --train-labels "$T/t.npy" --layers 2-1 --epochs 1
        check "float .npy labels with CSV features: regression, as with .npy features" out_has "act sigmoid/linear  loss mse"
    else
        skip "--train-labels .npy" "/usr/bin/python3 has no numpy"
    fi

    # ---- missing values
    { echo "a,b,y"; echo "1,2,0"; echo "2,NA,1"; echo ",1,0"; echo "3,4,?"; echo "N/A,null,1"; echo "0.5,1.5,0"; echo "2,3,1"; } >"$T/miss.csv"
    expect_fail "missing: error names file, line and column" 1 "miss.csv:3: column 2 ('b'): missing value 'NA'" \
        train --train "$T/miss.csv" --layers 2-2 --epochs 1
    run train --train "$T/miss.csv" --layers 2-2 --epochs 1 --missing drop
    check "missing drop: the rows are counted in the csv line" out_has "4 row(s) with missing values dropped"
    check "missing drop: 3 rows train" out_has ": 3 train rows"
    run train --train "$T/miss.csv" --layers 2-2 --epochs 1 --missing mean --save "$T/miss.mlpc"
    check "missing mean: only the row with a missing label goes" out_has ": 6 train rows"
    check "missing mean: said" out_has "1 row(s) with missing values dropped, 4 missing value(s) to fill with training means"
    run info "$T/miss.mlpc"
    check "missing mean: the model stores the means" out_has "missing  features filled with the training means"
    printf 'a,b\n1,NaN\n' >"$T/miss-new.csv"
    run predict "$T/miss.mlpc" --input "$T/miss-new.csv"
    check "missing mean: predict fills from the model" test "$RC" -eq 0 -a "$(wc -l <"$T/out")" -eq 1
    expect_fail "predict --missing error" 1 "miss-new.csv:2: column 2 ('b'): missing value 'NaN'" \
        predict "$T/miss.mlpc" --input "$T/miss-new.csv" --missing error
    expect_fail "predict --missing drop is refused (it would shift the output lines)" 2 \
        "--missing drop: predict writes one line per input row" \
        predict "$T/miss.mlpc" --input "$T/miss-new.csv" --missing drop
    expect_fail "predict: a model without means refuses missing values" 1 "miss-new.csv:2: column 2 ('b')" \
        predict "$T/pm.mlpc" --input "$T/miss-new.csv"
    expect_fail "--missing: a bad mode" 2 "must be error, drop or mean" train --train "$T/miss.csv" --layers 2-2 --missing zero

    # ---- regression targets: standardized for the net, original units outside
    awk 'BEGIN { srand(9); print "x1,x2,y"; for (i = 0; i < 200; i++) { a = rand(); b = rand()
        printf "%.4f,%.4f,%.4f\n", a, b, 100 + 200 * a - 80 * b } }' >"$T/lin.csv"
    R="--task regress --layers 2-1 --out-act linear --epochs 150 --opt adam --lr 0.05 --norm standard --seed 1 --quiet"
    expect_ok "target-norm: a linear fit trains" train --train "$T/lin.csv" $R --save "$T/lin.mlpc"
    run info "$T/lin.mlpc" --json
    check "info --json: target mean and std" out_has '"target_norm":{"mode":"standard","mean":['
    sed 's/,[^,]*$//' "$T/lin.csv" >"$T/lin-x.csv"
    run predict "$T/lin.mlpc" --input "$T/lin-x.csv"
    worst=$(sed 1d "$T/lin.csv" | paste -d, - "$T/out" | awk -F, '{ e = $3 - $4; if (e < 0) e = -e; if (e > m) m = e } END { print m + 0 }')
    check "target-norm: predictions in the original units (worst error $worst < 2 on 20..300)" awk -v w="$worst" 'BEGIN { exit !(w < 2) }'
    run eval "$T/lin.mlpc" --test "$T/lin.csv" --json
    r2=$(sed 's/.*"r2":\([^,}]*\).*/\1/' "$T/out")
    mse=$(sed 's/.*"mse":\([^,}]*\).*/\1/' "$T/out")
    check "eval: R^2 $r2 > 0.999 and mse $mse < 1 in the original units" awk -v r="$r2" -v m="$mse" 'BEGIN { exit !(r > 0.999 && m < 1) }'
    check "eval: the loss is labelled as on the standardized targets" out_has '"loss_on":"standardized targets"'
    # the labels, and every mse in the original units: at a learning rate too
    # small to move a weight, the epoch's running mse is the final train_mse,
    # with two target columns of different scales
    awk 'BEGIN { srand(4); print "a,b,y1,y2"; for (i = 0; i < 120; i++) { a = rand(); b = rand()
        printf "%.4f,%.4f,%.4f,%.4f\n", a, b, 100 + 50 * a - 20 * b, 3 + 0.1 * b } }' >"$T/two.csv"
    Z="--train $T/two.csv --target y1,y2 --task regress --layers 2-3-2 --out-act linear --opt sgd --lr 1e-30 --epochs 1"
    run train $Z --metrics "$T/two.jsonl"
    check "target-norm: the run line says the targets are standardized" out_has "targets standardized"
    check "target-norm: the epoch loss is labelled" grep -q "^epoch 1/1  loss [0-9.e+-]* (standardized)  mse " "$T/out"
    check "target-norm: the done line's losses are labelled" grep -q "train_loss [0-9.e+-]* (standardized)  train_mse " "$T/out"
    emse=$(sed -n 's/^epoch .*  mse \([^ ]*\) .*/\1/p' "$T/out")
    dmse=$(sed -n 's/.*train_mse \([^ ]*\).*/\1/p' "$T/out")
    check "target-norm: the epoch mse ($emse) is the final train_mse ($dmse), in the original units" \
        awk -v a="$emse" -v b="$dmse" 'BEGIN { exit !(a == b && a > 10) }'
    check "target-norm: --metrics says what loss is on" grep -q '"loss_on":"standardized targets","mse":[0-9.e+-]*,' "$T/two.jsonl"
    jmse=$(sed 's/.*"mse":\([^,}]*\).*/\1/' "$T/two.jsonl")
    check "target-norm: --metrics mse $jmse in the original units" awk -v a="$jmse" -v b="$dmse" 'BEGIN { exit !(a / b > 0.999 && a / b < 1.001) }'
    run train $Z --target-norm none
    check "target-norm none: no label, loss and mse alike" sh -c "! grep -q standardized '$T/out'"
    run train --train "$T/lin.csv" --task regress --layers 2-4-1 --out-act sigmoid --epochs 1
    check "target-norm: the range warning speaks of what the net sees" err_has "the standardized targets of"
    run train --train "$T/lin.csv" --task regress --layers 2-4-1 --out-act sigmoid --epochs 1 --target-norm none
    check "target-norm none: the raw targets are warned about" err_has "the targets of"
    expect_fail "--target-norm: a bad mode" 2 "must be standard or none" train --train "$T/lin.csv" $R --target-norm minmax

    # ---- a model file from before these sections still loads
    old=$(dirname "$0")/../fuzz/corpus/model/2-3-2.mlpc
    run info "$old"
    check "an old model file: info" test "$RC" -eq 0
    run info "$old" --json
    check "an old model file: no classes, no target statistics" out_has '"classes":null,"target_norm":null,"missing_means":false'
    printf '0.5,0.5\n' >"$T/old-in.csv"
    run predict "$old" --input "$T/old-in.csv"
    check "an old model file: predict" test "$RC" -eq 0 -a "$(wc -l <"$T/out")" -eq 1
}
finish
