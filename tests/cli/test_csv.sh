#!/bin/sh
# CSV files as pandas, Excel and R write them: a numeric header (pandas'
# 0,1,2,... for an array), a UTF-8 byte order mark, metadata lines before
# the table (--skip-rows), ';' with decimal commas, tabs, runs of spaces,
# CRLF and quoted fields. Every automatic choice is printed in one line.
. "$(dirname "$0")/common.inc"

# the same 3-class table (x1, x2, label) in several dialects
awk 'BEGIN { srand(5); for (i = 0; i < 90; i++) { a = rand(); b = rand(); printf "%.3f %.3f %d\n", a, b, i % 3 } }' >"$T/rows"
awk '{ print $1 "," $2 "," $3 }' "$T/rows" >"$T/plain.csv"
{ echo "0,1,2"; cat "$T/plain.csv"; } >"$T/pandas.csv"
{ printf '\357\273\277'; echo "x1,x2,label"; cat "$T/plain.csv"; } >"$T/bom.csv"
{ echo "# exported 2026-12-04 by a lab instrument"; echo "# units: volts"; echo "x1,x2,label"; cat "$T/plain.csv"; } >"$T/meta.csv"
{ echo "x1;x2;label"; awk '{ gsub(/\./, ",", $1); gsub(/\./, ",", $2); print $1 ";" $2 ";" $3 }' "$T/rows"; } >"$T/excel.csv"
{ printf 'x1\tx2\tlabel\r\n'; awk '{ printf "%s\t%s\t%s\r\n", $1, $2, $3 }' "$T/rows"; } >"$T/tab.csv"
{ echo '"x1"  "x2"  "label"'; awk '{ printf "  %s   %s  %s \n", $1, $2, $3 }' "$T/rows"; } >"$T/r.txt"
{ echo '"x, one","x ""two""",label'; cat "$T/plain.csv"; } >"$T/quoted.csv"

A="--layers 2-8-3 --epochs 2 --seed 3"
# shellcheck disable=SC2086 # $A is split on purpose
{
    run train --train "$T/plain.csv" $A --metrics "$T/ref.jsonl" --quiet
    check "plain: trains" test "$RC" -eq 0
    ref=$(sed 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/;t;d' "$T/ref.jsonl")
    same() { # same NAME FILE ARGS...: trains on FILE to the plain file's loss
        _n=$1 _f=$2
        shift 2
        run train --train "$_f" $A --metrics "$T/$_n.jsonl" "$@"
        _l=$(sed 's/.*"epoch":2,"loss":\([^,]*\),.*/\1/;t;d' "$T/$_n.jsonl" 2>/dev/null)
        if [ "$RC" -eq 0 ] && [ "$_l" = "$ref" ]; then ok "$_n: the same 90 rows as the plain file"; else bad "$_n: the same 90 rows as the plain file" "rc $RC, loss '$_l' vs '$ref': $(head -c 300 "$T/err")"; fi
    }
    same pandas "$T/pandas.csv"
    check "pandas: the numeric header is a header" grep -q "^csv: delimiter ',', header (3 names), target column 3 ('2') with 3 classes" "$T/out"
    same bom "$T/bom.csv"
    check "bom: the first name is read without the mark" grep -q "target column 3 ('label')" "$T/out"
    same meta "$T/meta.csv" --skip-rows 2
    same excel "$T/excel.csv"
    check "excel: ';' and decimal commas" grep -q "^csv: delimiter ';', header (3 names)" "$T/out"
    same tab "$T/tab.csv"
    check "tab: said" grep -q "^csv: delimiter tab, header" "$T/out"
    same spaces "$T/r.txt"
    check "spaces: runs of spaces" grep -q "^csv: delimiter spaces, header (3 names), target column 3 ('label')" "$T/out"
    same quoted "$T/quoted.csv" --delimiter ,
    expect_fail "metadata without --skip-rows: one line naming file and line" 1 "meta.csv:2: ragged rows" \
        train --train "$T/meta.csv" $A
    expect_fail "--skip-rows past the end" 1 "no rows after skipping 500 line(s)" train --train "$T/meta.csv" $A --skip-rows 500
    expect_fail "--delimiter: a digit is refused" 2 "--delimiter" train --train "$T/plain.csv" $A --delimiter 5
}

# predict on a pandas-written file: one prediction per data row, not one more
awk -F, '{ print $1 "," $2 "," $1 + $2 "," $3 }' "$T/plain.csv" >"$T/three.csv"
awk -F, '{ print $1 "," $2 "," $3 }' "$T/three.csv" >"$T/x.csv"
{ echo "0,1,2"; cat "$T/x.csv"; } >"$T/x-pandas.csv"
run train --train "$T/three.csv" --layers 3-8-3 --epochs 2 --save "$T/m.mlpc" --quiet
run predict "$T/m.mlpc" --input "$T/x.csv" --output "$T/p.csv"
check "predict: 90 rows in, 90 out" test "$(wc -l <"$T/p.csv")" -eq 90
run predict "$T/m.mlpc" --input "$T/x-pandas.csv" --output "$T/p2.csv"
check "predict, pandas' numeric header: the same 90 predictions" cmp -s "$T/p.csv" "$T/p2.csv"

# --val-split on a file sorted by class: drawn at random and stratified by
# default, every class is in both parts; --val-from tail (Keras) validates on
# the last class only, which training never sees
awk 'BEGIN { srand(9); for (k = 0; k < 3; k++) for (i = 0; i < 100; i++) { a = rand(); printf "%.4f,%.4f,%d\n", (a + k) / 3, rand(), k } }' >"$T/sorted.csv"
V="--train $T/sorted.csv --layers 2-16-3 --act relu --opt adam --lr 0.02 --epochs 60 --val-split 100 --quiet"
# shellcheck disable=SC2086
{
    run train $V --metrics "$T/vr.jsonl"
    vr=$(tail -n 1 "$T/vr.jsonl" | sed 's/.*"val_acc":\([^,]*\),.*/\1/')
    check "val split, random and stratified: every class validated (val_acc $vr > 0.8)" awk -v v="$vr" 'BEGIN { exit !(v > 0.8) }'
    run train $V --val-from tail --metrics "$T/vt.jsonl"
    vt=$(tail -n 1 "$T/vt.jsonl" | sed 's/.*"val_acc":\([^,]*\),.*/\1/')
    check "val split --val-from tail: the last rows, one unseen class (val_acc $vt = 0)" awk -v v="$vt" 'BEGIN { exit !(v == 0) }'
    expect_fail "--val-from: a bad value" 2 "--val-from" train $V --val-from middle
    expect_fail "--split-seed with --val-from tail: refused" 2 "--split-seed 3: applies to --val-from random only" \
        train $V --val-from tail --split-seed 3
    expect_fail "--split-seed: a bad value" 2 "--split-seed" train $V --split-seed -4
}
expect_fail "--split-seed without --val-split: refused" 2 "--split-seed 3: applies only with --val-split" \
    train --train "$T/sorted.csv" --layers 2-16-3 --epochs 1 --split-seed 3

finish
