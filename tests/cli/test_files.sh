#!/bin/sh
# Bad input files: missing, a directory, truncated, malformed. Exit status 1
# and one line on stderr naming the file.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 200
CSV="$T/cls.csv"

# --- CSV
expect_fail "train: missing file" 1 "--train $T/nope.csv: No such file or directory" \
    train --train "$T/nope.csv" --layers 2-4-2
expect_fail "train: a directory" 1 "--train $T: is a directory" train --train "$T" --layers 2-4-2
: >"$T/empty.csv"
expect_fail "train: empty CSV" 1 "$T/empty.csv" train --train "$T/empty.csv" --layers 2-4-2
printf 'x1,x2,label\n' >"$T/header-only.csv"
expect_fail "train: header only" 1 "$T/header-only.csv" train --train "$T/header-only.csv" --layers 2-4-2
printf '0.1,0.2,1\n0.3,0.4\n0.5,0.6,0\n' >"$T/ragged.csv"
expect_fail "train: ragged CSV" 1 "$T/ragged.csv" train --train "$T/ragged.csv" --layers 2-4-2
printf '0.1,0.2,1\n0.3,abc,0\n' >"$T/text.csv"
expect_fail "train: text in a number column" 1 "$T/text.csv" train --train "$T/text.csv" --layers 2-4-2
printf '0.1,0.2,1\n0.3,0.4,-1\n' >"$T/neglabel.csv"
expect_fail "train: labels -1, 1 are 2 classes, not 1 output" 2 "output width 1 does not match the 2 classes" train --train "$T/neglabel.csv" --layers 2-4-1
gzip -c "$CSV" | head -c 60 >"$T/cut.csv.gz"
expect_fail "train: truncated gzip CSV" 1 "$T/cut.csv.gz" train --train "$T/cut.csv.gz" --layers 2-4-2
expect_fail "train: test file missing" 1 "--test $T/nope.csv: No such file or directory" \
    train --train "$CSV" --test "$T/nope.csv" --layers 2-4-2
printf '0.1,0.2,0.3,1\n0.4,0.5,0.6,0\n' >"$T/wide.csv"
expect_fail "train: test width differs" 1 "$T/wide.csv: 3 features, but the training data" \
    train --train "$CSV" --test "$T/wide.csv" --layers 2-4-2
expect_fail "train: label column not found" 2 "colour" \
    train --train "$CSV" --label-col colour --layers 2-4-2
expect_fail "train: .npy without labels" 2 "--train $T/x.npy: a .npy file carries no labels" \
    train --train "$T/x.npy" --layers 2-4-2

# --- IDX: the header promises 10 images of 28x28, the file holds 50 bytes of pixels
printf '\000\000\010\003\000\000\000\012\000\000\000\034\000\000\000\034' >"$T/img-idx3-ubyte"
head -c 50 /dev/zero >>"$T/img-idx3-ubyte"
printf '\000\000\010\001\000\000\000\012\000\001\002\003\004\005\006\007\010\011' >"$T/lab-idx1-ubyte"
expect_fail "train: truncated IDX images" 1 "$T/img-idx3-ubyte" \
    train --train "$T/img-idx3-ubyte" --train-labels "$T/lab-idx1-ubyte" --layers 784-10
expect_fail "train: missing IDX labels" 1 "--train-labels $T/nolabels: No such file or directory" \
    train --train "$T/img-idx3-ubyte" --train-labels "$T/nolabels" --layers 784-10
printf 'IDX?' >"$T/garbage-idx"
expect_fail "train: garbage IDX" 1 "$T/garbage-idx" \
    train --train "$T/garbage-idx" --train-labels "$T/lab-idx1-ubyte" --layers 784-10

# --- NPY: a float32 (10, 2) header with only 8 bytes of data
npy_header() { # FILE DESCR SHAPE
    _dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    _len=$((${#_dict} + 1))
    _pad=$(( (64 - (10 + _len) % 64) % 64 ))
    _hlen=$((_len + _pad))
    printf '\223NUMPY\001\000' >"$1"
    printf "\\$(printf '%03o' $((_hlen % 256)))\\$(printf '%03o' $((_hlen / 256)))" >>"$1"
    printf '%s%*s\n' "$_dict" "$_pad" "" >>"$1"
}
npy_header "$T/x.npy" '<f4' '(10, 2)'
head -c 8 /dev/zero >>"$T/x.npy"
npy_header "$T/y.npy" '<i4' '(10,)'
head -c 40 /dev/zero >>"$T/y.npy"
expect_fail "train: truncated .npy" 1 "$T/x.npy" train --train "$T/x.npy" --train-labels "$T/y.npy" --layers 2-4-2
printf 'not numpy at all' >"$T/bad.npy"
expect_fail "train: not a .npy file" 1 "$T/bad.npy" train --train "$T/bad.npy" --train-labels "$T/y.npy" --layers 2-4-2

# --- model files
expect_fail "info: missing model" 1 "$T/nope.mlpc: No such file or directory" info "$T/nope.mlpc"
expect_fail "info: a directory" 1 "$T: is a directory" info "$T"
expect_fail "info: not a model" 1 "$CSV" info "$CSV"
: >"$T/empty.mlpc"
expect_fail "info: empty model file" 1 "$T/empty.mlpc" info "$T/empty.mlpc"
expect_fail "eval: missing model" 1 "$T/nope.mlpc" eval "$T/nope.mlpc" --test "$CSV"
expect_fail "predict: missing model" 1 "$T/nope.mlpc" predict "$T/nope.mlpc" --input "$CSV"

# --- outputs that cannot be written are refused before training starts
expect_fail "train: --save into a missing folder" 1 "--save $T/no/such/m.mlpc: folder $T/no/such does not exist" \
    train --train "$CSV" --layers 2-4-2 --save "$T/no/such/m.mlpc"
expect_fail "train: --metrics into a missing folder" 1 "--metrics $T/no/m.jsonl" \
    train --train "$CSV" --layers 2-4-2 --metrics "$T/no/m.jsonl"
expect_fail "train: --save is a directory" 1 "--save $T: is a directory" \
    train --train "$CSV" --layers 2-4-2 --save "$T"
expect_fail "train: --resume missing" 1 "--resume $T/nope.ckpt: No such file or directory" \
    train --train "$CSV" --layers 2-4-2 --resume "$T/nope.ckpt"

# --- MNIST folder missing
mkdir "$T/nodata"
MLPC_DATA="$T/nodata" expect_fail "train: --data mnist without files" 1 "--data mnist: $T/nodata/mnist/train-images-idx3-ubyte not found" \
    train --data mnist --layers 784-10
finish
