#!/bin/sh
# Usage errors: exit status 2 and one line on stderr naming the flag.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 200
CSV="$T/cls.csv"

# the top level
expect_fail "no command" 2 "missing command" 
expect_fail "unknown command" 2 "unknown command 'frob'" frob
expect_fail "unknown top-level flag" 2 "unknown flag --frob" --frob
expect_ok "--version" --version
check "--version prints the version" out_has "mlpc 0."
expect_ok "--help" --help
check "--help lists the exit codes" out_has "3  training diverged"
expect_ok "help train" help train
check "help train shows train's flags" out_has "--layers SPEC"

# train: flags and values
expect_fail "unknown flag" 2 "mlpc train: unknown flag --foo (see mlpc train --help)" \
    train --foo --train "$CSV" --layers 2-4-2
expect_fail "unknown flag=value" 2 "unknown flag --foo" train --foo=3
expect_fail "unknown single-dash flag" 2 "unknown flag -x" train -x
expect_fail "misspelt flag suggests" 2 "did you mean --epochs?" train --epoch 3
expect_fail "batch 0" 2 "mlpc train: --batch 0: must be a positive integer" \
    train --train "$CSV" --layers 2-4-2 --batch 0
expect_fail "batch=abc" 2 "--batch abc: must be a positive integer" \
    train --train "$CSV" --layers 2-4-2 --batch=abc
expect_fail "batch 1.5" 2 "--batch 1.5: must be a positive integer" \
    train --train "$CSV" --layers 2-4-2 --batch 1.5
expect_fail "epochs -1" 2 "--epochs -1: must be a positive integer" \
    train --train "$CSV" --layers 2-4-2 --epochs -1
expect_fail "lr negative" 2 "--lr -1: must be a positive number" \
    train --train "$CSV" --layers 2-4-2 --lr -1
expect_fail "lr nan" 2 "--lr nan: must be a positive number" \
    train --train "$CSV" --layers 2-4-2 --lr nan
expect_fail "momentum text" 2 "--momentum x: must be a non-negative number" \
    train --train "$CSV" --layers 2-4-2 --momentum x
expect_fail "seed negative" 2 "--seed -3:" train --train "$CSV" --layers 2-4-2 --seed -3
expect_fail "threads negative" 2 "--threads -2: must be a non-negative integer" \
    train --train "$CSV" --layers 2-4-2 --threads -2
expect_fail "unknown activation" 2 \
    "mlpc train: --act foo: unknown activation (sigmoid, tanh, relu, leaky_relu, linear, softmax)" \
    train --train "$CSV" --layers 2-4-2 --act foo
expect_fail "softmax hidden" 2 "--act softmax: softmax is only for the output layer" \
    train --train "$CSV" --layers 2-4-2 --act softmax
expect_fail "unknown output activation" 2 "--out-act bar: unknown activation" \
    train --train "$CSV" --layers 2-4-2 --out-act bar
expect_fail "unknown loss" 2 "--loss hinge: unknown loss" train --train "$CSV" --layers 2-4-2 --loss hinge
expect_fail "unknown optimizer" 2 "--opt lbfgs: unknown optimizer (sgd, rmsprop, adam)" \
    train --train "$CSV" --layers 2-4-2 --opt lbfgs
expect_fail "unknown init" 2 "--init zero: unknown init" train --train "$CSV" --layers 2-4-2 --init zero
expect_fail "unknown norm" 2 "--norm l2: unknown normalization" train --train "$CSV" --layers 2-4-2 --norm l2
expect_fail "unknown schedule" 2 "--sched cosine: unknown schedule" \
    train --train "$CSV" --layers 2-4-2 --sched cosine
expect_fail "unknown es metric" 2 "--es-metric f1: unknown metric" \
    train --train "$CSV" --layers 2-4-2 --es-metric f1
expect_fail "unknown task" 2 "--task rank: unknown task" train --train "$CSV" --layers 2-4-2 --task rank
expect_fail "bad header mode" 2 "--header maybe: must be auto, yes or no" \
    train --train "$CSV" --layers 2-4-2 --header maybe
expect_fail "missing value" 2 "--batch: missing value" train --train "$CSV" --layers 2-4-2 --batch
expect_fail "flag as value" 2 "--train: missing value" train --train --layers 2-4-2
expect_fail "switch with value" 2 "--quiet=maybe" train --quiet=maybe
expect_fail "layers missing" 2 "--layers is required" train --train "$CSV"
expect_fail "layers malformed" 2 "--layers 2-x-2" train --train "$CSV" --layers 2-x-2
expect_fail "layers input width" 2 \
    "mlpc train: --layers: input width 5 does not match the 2 features of $CSV" \
    train --train "$CSV" --layers 5-4-2
expect_fail "layers output width" 2 "--layers: output width 1 does not match the 2 classes of $CSV" \
    train --train "$CSV" --layers 2-4-1
expect_fail "no data" 2 "no training data" train --layers 2-4-2
expect_fail "unknown data set" 2 "--data iris: unknown data set (mnist, fashion-mnist, lorenz)" \
    train --data iris --layers 4-3
expect_fail "data with train" 2 "--train: not used with --data mnist" \
    train --data mnist --train "$CSV" --layers 2-4-2
expect_fail "train-labels without train" 2 "--train-labels: needs --train" \
    train --train-labels x --layers 2-4-2
expect_fail "test-labels without test" 2 "--test-labels: needs --test" \
    train --train "$CSV" --test-labels x --layers 2-4-2
expect_fail "val-split fraction 1.5" 2 "--val-split 1.5:" train --train "$CSV" --layers 2-4-2 --val-split 1.5
expect_fail "val-split all rows" 2 "--val-split 200:" train --train "$CSV" --layers 2-4-2 --val-split 200
expect_fail "val-split with lorenz" 2 "--val-split 100: --data lorenz has its own validation set" \
    train --data lorenz --layers 3-8-3 --val-split 100
expect_fail "es-metric needs validation" 2 "--es-metric val_acc: needs a validation set" \
    train --train "$CSV" --layers 2-4-2 --es-metric val_acc --early-stop 2
expect_fail "positional to train" 2 "unexpected argument 'extra'" train extra --train "$CSV" --layers 2-4-2

# config files
printf '{"layers": "2-4-2", "epochs": 1, "colour": "red"}\n' >"$T/unknown.json"
expect_fail "config unknown key" 2 "config $T/unknown.json: unknown key \"colour\"" \
    train --config "$T/unknown.json" --train "$CSV"
printf '{"layers": "2-4-2", "batch": 0}\n' >"$T/batch0.json"
expect_fail "config bad value" 2 "config $T/batch0.json: \"batch\" 0: must be a positive integer" \
    train --config "$T/batch0.json" --train "$CSV"
printf '{"layers": "2-4-2", "act": "swish"}\n' >"$T/act.json"
expect_fail "config unknown activation" 2 "\"act\" swish: unknown activation" \
    train --config "$T/act.json" --train "$CSV"
printf '{"layers": "2-4-2", "nesterov": "yes please"}\n' >"$T/switch.json"
expect_fail "config switch not boolean" 2 "\"nesterov\": must be true or false" \
    train --config "$T/switch.json" --train "$CSV"
printf '{"layers": "2-4-2",\n "epochs": 1,,\n}\n' >"$T/broken.json"
expect_fail "config invalid JSON" 1 "--config $T/broken.json: invalid JSON at line 2" \
    train --config "$T/broken.json" --train "$CSV"
printf '[1, 2]\n' >"$T/array.json"
expect_fail "config not an object" 1 "--config $T/array.json: must hold one JSON object" \
    train --config "$T/array.json" --train "$CSV"
expect_fail "config missing" 1 "--config $T/nope.json: No such file or directory" \
    train --config "$T/nope.json" --train "$CSV"
printf '{"config": "other.json"}\n' >"$T/nested.json"
expect_fail "config may not name a config" 2 "unknown key \"config\"" \
    train --config "$T/nested.json" --train "$CSV" --layers 2-4-2

# eval, predict, info
expect_fail "eval without model" 2 "mlpc eval: missing MODEL" eval --test "$CSV"
expect_fail "eval without data" 2 "mlpc eval: no data" eval model.mlpc
expect_fail "eval data and test" 2 "--test: not used with --data mnist" eval m --data mnist --test "$CSV"
expect_fail "eval unknown flag" 2 "mlpc eval: unknown flag --bogus (see mlpc eval --help)" eval m --bogus
expect_fail "eval bad threads" 2 "--threads many: must be a non-negative integer" \
    eval m --test "$CSV" --threads many
expect_fail "predict without input" 2 "mlpc predict: --input FILE is required" predict m
expect_fail "predict without model" 2 "mlpc predict: missing MODEL" predict --input "$CSV"
expect_fail "predict unknown flag" 2 "mlpc predict: unknown flag --probability" predict m --probability
expect_fail "info without model" 2 "mlpc info: missing MODEL" info
expect_fail "info two models" 2 "mlpc info: unexpected argument 'b'" info a b
expect_fail "info unknown flag" 2 "mlpc info: unknown flag --yaml (see mlpc info --help)" info m --yaml

finish
