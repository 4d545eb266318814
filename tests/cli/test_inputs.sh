#!/bin/sh
# Hostile and unlucky inputs: special files are refused at once (a FIFO
# without a writer would hang a reader forever), input beyond the size limit
# ($MLPC_MAX_INPUT) is refused before it is held in memory, gzip bombs
# included, and a label out of range is reported against the labels file.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 100
run train --train "$T/cls.csv" --layers 2-4-2 --epochs 1 --save "$T/m.mlpc" --quiet
check "a model to read" test "$RC" -eq 0
# IDX images and labels (4 images of 2x2, labels 0 1 2 12)
printf '\000\000\010\003\000\000\000\004\000\000\000\002\000\000\000\002' >"$T/img-idx3-ubyte"
head -c 16 /dev/zero >>"$T/img-idx3-ubyte"
printf '\000\000\010\001\000\000\000\004\000\001\002\014' >"$T/bad-idx1-ubyte"
printf '\000\000\010\001\000\000\000\004\000\001\002\001' >"$T/ok-idx1-ubyte"
HAVE_TIMEOUT=0
command -v timeout >/dev/null 2>&1 && HAVE_TIMEOUT=1

# refused NAME TEXT ARGS...: exit 1 at once, one line containing TEXT; a
# hang is ended by timeout(1) after 60 s and fails the check
refused() {
    _name=$1 _text=$2
    shift 2
    if [ "$HAVE_TIMEOUT" = 1 ]; then
        timeout 60 "$MLPC" "$@" >"$T/out" 2>"$T/err" </dev/null
    else
        "$MLPC" "$@" >"$T/out" 2>"$T/err" </dev/null
    fi
    RC=$?
    if [ "$RC" -eq 124 ]; then
        bad "$_name" "hung (killed after 60 s)"
    elif [ "$RC" -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -qF -- "$_text" "$T/err"; then
        bad "$_name" "exit $RC, stderr: $(head -c 300 "$T/err")"
    else
        ok "$_name"
    fi
}

if mkfifo "$T/fifo" 2>/dev/null; then
    F="$T/fifo"
    refused "FIFO: train --train" "is a FIFO (named pipe), not a regular file" train --train "$F" --layers 2-4-2
    refused "FIFO: train --train-labels" "is a FIFO" train --train "$T/img-idx3-ubyte" --train-labels "$F" --layers 4-4-3
    refused "FIFO: train --config" "is a FIFO" train --config "$F" --layers 2-4-2
    refused "FIFO: info" "is a FIFO" info "$F"
    refused "FIFO: eval" "is a FIFO" eval "$F" --test "$T/cls.csv"
    refused "FIFO: predict --input" "is a FIFO" predict "$T/m.mlpc" --input "$F" --output "$T/p.csv"
    refused "FIFO: search" "is a FIFO" search "$F"
else
    skip "FIFO inputs" "mkfifo failed"
fi
refused "/dev/zero: train" "is a character device, not a regular file" train --train /dev/zero --layers 2-4-2
refused "/dev/zero: info" "is a character device" info /dev/zero
refused "/dev/urandom: info" "is a character device" info /dev/urandom
refused "a directory: info" "is a directory" info "$T"

# the size limit: a plain file over it, and a small gzip file whose content
# is over it (2 MB of zeros in about 2 KB)
export MLPC_MAX_INPUT=1M
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "%d,%d,%d\n", i % 7, i % 5, i % 2 }' >"$T/big.csv"
refused "limit: a file over MLPC_MAX_INPUT" "over the input limit of 1048576 bytes (MLPC_MAX_INPUT)" \
    train --train "$T/big.csv" --layers 2-4-2
if command -v gzip >/dev/null 2>&1; then
    head -c 2000000 /dev/zero | gzip -c >"$T/bomb.csv.gz"
    refused "limit: a gzip bomb" "decompresses to more than the input limit of 1048576 bytes" \
        train --train "$T/bomb.csv.gz" --layers 2-4-2
else
    skip "limit: a gzip bomb" "no gzip"
fi
refused "limit: a model file over the limit" "over the input limit" info "$T/big.csv"
run train --train "$T/cls.csv" --layers 2-4-2 --epochs 1 --quiet
check "limit: a file under it trains" test "$RC" -eq 0
unset MLPC_MAX_INPUT

# a label out of range is the labels file's fault
expect_fail "labels: too many classes names the labels file" 2 "the 13 classes of $T/bad-idx1-ubyte" \
    train --train "$T/img-idx3-ubyte" --train-labels "$T/bad-idx1-ubyte" --layers 4-4-3
expect_fail "labels: a test label out of range names the labels file" 1 "$T/bad-idx1-ubyte: row 4 has label 12" \
    train --train "$T/img-idx3-ubyte" --train-labels "$T/ok-idx1-ubyte" --test "$T/img-idx3-ubyte" \
    --test-labels "$T/bad-idx1-ubyte" --layers 4-4-3 --epochs 1

# a metrics line is written whole or not at all: a full disk (a file size
# limit of 2 KiB, SIGXFSZ ignored so writes fail with EFBIG) stops the run
# with one line, and the file holds whole lines only
sh -c "trap '' XFSZ; ulimit -f 4; exec \"\$0\" train --data lorenz --layers 3-8-3 --loss mse --out-act linear \
    --epochs 200 --metrics \"\$1\" --quiet" "$MLPC" "$T/full.jsonl" >"$T/out" 2>"$T/err"
RC=$?
check "metrics on a full disk: exit 1 (got $RC)" test "$RC" -eq 1
check "metrics on a full disk: one line naming the file" grep -q "^mlpc train: --metrics .*full.jsonl: write failed" "$T/err"
check "metrics on a full disk: the file ends with a whole line" test "$(tail -c 1 "$T/full.jsonl" | od -An -c | tr -d ' ')" = '\n'
run plot "$T/full.jsonl" -o "$T/full.png"
check "metrics on a full disk: plot reads what was written" test "$RC" -eq 0
# a file cut in its last line (written by something else): plot skips it with a warning
printf '{"epoch":1,"loss":1}\n{"epoch":2,"lo' >"$T/cut.jsonl"
run plot "$T/cut.jsonl" -o "$T/cut.png"
check "plot: an incomplete last line is skipped (exit $RC)" test "$RC" -eq 0
check "plot: ... with a warning naming file and line" grep -q "cut.jsonl:2: an incomplete last line is skipped" "$T/err"
printf '{"epoch":1,"loss":1}\n{"epoch":2,"lo\n' >"$T/bad.jsonl"
expect_fail "plot: a bad line that is not the last one is still an error" 1 "bad.jsonl:2: not a JSON object" \
    plot "$T/bad.jsonl" -o "$T/bad.png"

# regression targets an output activation cannot reach: a warning line
awk 'BEGIN { srand(2); for (i = 0; i < 100; i++) { a = rand(); printf "%f,%f\n", a, 25 + 321 * a } }' >"$T/units.csv"
run train --train "$T/units.csv" --task regress --layers 1-4-1 --out-act sigmoid --loss mse --epochs 1 --quiet
check "targets out of the sigmoid's range: trains (exit $RC)" test "$RC" -eq 0
check "... with one warning naming the file, the span and the fix" grep -q "^mlpc train: warning: the standardized targets of .*units.csv span \[[0-9.-]*, [0-9.]*\] but a sigmoid output gives (0, 1): use --out-act linear" "$T/err"
run train --train "$T/units.csv" --task regress --layers 1-4-1 --out-act linear --loss mse --epochs 1 --quiet
check "... none with a linear output" test ! -s "$T/err"

# ---- "-": CSV (plain or gzip) from standard input, once per command, under the same limit
make_cls "$T/sin.csv" 120 ""
expect_ok "stdin: train --train - from a pipe" train --train - --layers 2-4-2 --epochs 2 --seed 3 \
    --save "$T/sin.mlpc" --quiet <"$T/sin.csv"
run train --train "$T/sin.csv" --layers 2-4-2 --epochs 2 --seed 3 --save "$T/sfile.mlpc" --quiet
cut -d, -f1,2 "$T/sin.csv" >"$T/sfeat.csv"
# the same model (its metadata names the data, so compare what it predicts)
same_model() {
    "$MLPC" predict "$1" --input "$T/sfeat.csv" --proba >"$T/p1.txt" 2>&1
    "$MLPC" predict "$T/sfile.mlpc" --input "$T/sfeat.csv" --proba >"$T/p2.txt" 2>&1
    [ -s "$T/p1.txt" ] && cmp -s "$T/p1.txt" "$T/p2.txt"
}
check "stdin: the same model as from the file" same_model "$T/sin.mlpc"
cat "$T/sin.csv" | "$MLPC" train --train - --layers 2-4-2 --epochs 2 --seed 3 --quiet >"$T/out" 2>"$T/err"
check "stdin: cat FILE | mlpc train --train - (exit $?)" test ! -s "$T/err"
gzip -c "$T/sin.csv" >"$T/sin.csv.gz"
run train --train - --layers 2-4-2 --epochs 2 --seed 3 --save "$T/sgz.mlpc" --quiet <"$T/sin.csv.gz"
check "stdin: gzip data from standard input (exit $RC)" same_model "$T/sgz.mlpc"
run train --train - --layers 2-4-2 --epochs 2 --seed 3 <"$T/sin.csv"
check "stdin: messages name standard input" grep -q "data standard input: 120 train rows" "$T/out"
SIZE=$(wc -c <"$T/sin.csv" | tr -d ' ')
MLPC_MAX_INPUT=$((SIZE - 1)) expect_fail "stdin: over the input limit" 1 \
    "standard input (-): larger than the input limit of $((SIZE - 1)) bytes (MLPC_MAX_INPUT)" \
    train --train - --layers 2-4-2 --epochs 1 <"$T/sin.csv"
MLPC_MAX_INPUT=$SIZE expect_ok "stdin: exactly at the input limit" train --train - --layers 2-4-2 --epochs 1 --quiet \
    <"$T/sin.csv"
expect_fail "stdin: two inputs cannot both be -" 2 "--test -: only one input can be - (standard input), and --train is - already" \
    train --train - --test - --layers 2-4-2 --epochs 1 <"$T/sin.csv"
printf '0.1,0.2,1\n0.3,x,0\n' >"$T/sbad.csv"
expect_fail "stdin: a bad value names standard input, line and column" 1 "standard input:2: column 2" \
    train --train - --layers 2-4-2 --epochs 1 <"$T/sbad.csv"
expect_fail "stdin: empty" 1 "standard input: file is empty" train --train - --layers 2-4-2 --epochs 1 </dev/null
run predict "$T/sfile.mlpc" --input "$T/sfeat.csv"
cp "$T/out" "$T/pred_file.txt"
run predict "$T/sfile.mlpc" --input - <"$T/sfeat.csv"
check "stdin: predict --input - gives what --input FILE gives (exit $RC)" cmp -s "$T/out" "$T/pred_file.txt"
run eval "$T/sfile.mlpc" --test "$T/sin.csv"
cp "$T/out" "$T/eval_file.txt"
run eval "$T/sfile.mlpc" --test - <"$T/sin.csv"
check "stdin: eval --test - gives what --test FILE gives (exit $RC)" cmp -s "$T/out" "$T/eval_file.txt"
# --resume checks the rows of standard input like those of a file
run train --train - --layers 2-4-2 --epochs 2 --seed 3 --checkpoint "$T/s.ckpt" --quiet <"$T/sin.csv"
run train --train - --layers 2-4-2 --epochs 4 --seed 3 --resume "$T/s.ckpt" --quiet <"$T/sin.csv"
check "stdin: --resume with the same rows (exit $RC)" test "$RC" -eq 0
head -n 60 "$T/sin.csv" >"$T/shalf.csv"
expect_fail "stdin: --resume with other rows is refused" 2 "the checkpoint was trained on other rows" \
    train --train - --layers 2-4-2 --epochs 4 --seed 3 --resume "$T/s.ckpt" <"$T/shalf.csv"

finish
