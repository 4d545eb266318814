#!/bin/sh
# Safe defaults: settings that cannot work together are refused before any
# data is read; outputs never overwrite inputs; checkpoints are range-checked.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 100
CSV="$T/cls.csv"
make_reg "$T/reg.csv" 100

# --- 1. activation/loss pairs and flags that do not apply (exit 2, before data)
NODATA="$T/no-such.csv"
expect_fail "cce needs softmax" 2 "--loss cce needs --out-act softmax" \
    train --train "$NODATA" --layers 2-4-2 --loss cce --out-act sigmoid
expect_fail "bce needs sigmoid" 2 "--loss bce needs --out-act sigmoid" \
    train --train "$NODATA" --layers 2-4-2 --loss bce --out-act linear
expect_fail "softmax needs cce" 2 "--out-act softmax needs --loss cce" \
    train --train "$NODATA" --layers 2-4-2 --out-act softmax --loss mse
expect_fail "softmax not for regression" 2 "--out-act softmax: not for regression" \
    train --train "$NODATA" --task regress --layers 2-4-1 --out-act softmax
expect_fail "cce not for regression" 2 "--loss cce: not for regression" \
    train --train "$NODATA" --task regress --layers 2-4-1 --loss cce
expect_fail "nesterov without momentum" 2 "--nesterov needs --momentum > 0" \
    train --train "$NODATA" --layers 2-4-2 --nesterov
expect_fail "momentum with adam" 2 "--momentum applies only to --opt sgd, but --opt is adam" \
    train --train "$NODATA" --layers 2-4-2 --opt adam --momentum 0.9
expect_fail "nesterov with rmsprop" 2 "--opt sgd, but --opt is rmsprop" \
    train --train "$NODATA" --layers 2-4-2 --opt rmsprop --momentum 0.9 --nesterov
expect_fail "rho with adam" 2 "--rho applies only to --opt rmsprop" \
    train --train "$NODATA" --layers 2-4-2 --opt adam --rho 0.8
expect_fail "beta1 with sgd" 2 "--beta1 applies only to --opt adam" \
    train --train "$NODATA" --layers 2-4-2 --beta1 0.8
expect_fail "beta2 with rmsprop" 2 "--beta2 applies only to --opt adam" \
    train --train "$NODATA" --layers 2-4-2 --opt rmsprop --beta2 0.99
expect_fail "sched-step without step" 2 "--sched-step applies only to --sched step, but --sched is constant" \
    train --train "$NODATA" --layers 2-4-2 --sched-step 3
expect_fail "sched-patience with step" 2 "--sched-patience applies only to --sched plateau" \
    train --train "$NODATA" --layers 2-4-2 --sched step --sched-patience 3
expect_fail "sched-factor with constant" 2 "--sched-factor applies only" \
    train --train "$NODATA" --layers 2-4-2 --sched-factor 0.5
expect_fail "min-lr with constant" 2 "--min-lr applies only" \
    train --train "$NODATA" --layers 2-4-2 --min-lr 0.0001
printf '{"layers": "2-4-2", "opt": "adam", "rho": 0.8}\n' >"$T/rho.json"
expect_fail "config keys count as given" 2 "--rho (from config $T/rho.json) applies only to --opt rmsprop" \
    train --config "$T/rho.json" --train "$NODATA"
printf '{"layers": "2-4-2", "nesterov": false, "epochs": 1}\n' >"$T/nf.json"
expect_ok "config switch false does not count" train --config "$T/nf.json" --train "$CSV" --quiet
expect_ok "loss bce alone picks a sigmoid output" train --train "$CSV" --layers 2-4-2 --loss bce --epochs 1
check "bce: sigmoid output" out_has "act sigmoid/sigmoid  loss bce"
expect_ok "sgd with momentum and nesterov" train --train "$CSV" --layers 2-4-2 --momentum 0.9 --nesterov --epochs 1 --quiet
expect_ok "plateau with patience, factor and min-lr" train --train "$CSV" --layers 2-4-2 --sched plateau \
    --sched-patience 1 --sched-factor 0.5 --min-lr 0.0001 --epochs 1 --quiet

# the search's space: the same rule for every out_act x loss pair it can draw
printf '{"study": "s", "data": "lorenz", "trials": 1, "params": {"depth": 1, "width": [4], "out_act": ["linear", "softmax"], "loss": "mse", "opt": "adam", "epochs": 1}}\n' >"$T/sp-act.json"
expect_fail "search: softmax with mse in the space" 2 "out_act softmax with loss mse" \
    search "$T/sp-act.json" --db "$T/sp-act.db"
check "search: no database for a refused space" test ! -e "$T/sp-act.db"
printf '{"study": "s", "data": "lorenz", "trials": 1, "params": {"depth": 1, "width": [4], "momentum": 0.9, "opt": ["adam", "rmsprop"], "epochs": 1}}\n' >"$T/sp-mom.json"
expect_fail "search: momentum without sgd" 2 "momentum: applies only to opt sgd" \
    search "$T/sp-mom.json" --db "$T/sp-mom.db"

# --- 2. outputs never overwrite inputs (same file: also through links)
cp "$CSV" "$T/keep.csv"
expect_fail "--save over --train" 2 "--save $T/keep.csv is the same file as the input --train $T/keep.csv" \
    train --train "$T/keep.csv" --layers 2-4-2 --epochs 1 --save "$T/keep.csv"
ln -s keep.csv "$T/link.csv"
expect_fail "--metrics through a symlink to --train" 2 "--metrics $T/link.csv is the same file as the input --train $T/keep.csv" \
    train --train "$T/keep.csv" --layers 2-4-2 --epochs 1 --metrics "$T/link.csv"
ln "$T/keep.csv" "$T/hard.csv"
expect_fail "--checkpoint as a hard link to --test" 2 "--checkpoint $T/hard.csv is the same file as the input --test $T/keep.csv" \
    train --train "$CSV" --test "$T/keep.csv" --layers 2-4-2 --epochs 1 --checkpoint "$T/hard.csv"
check "the input is intact" cmp -s "$CSV" "$T/keep.csv"
printf '{"layers": "2-4-2", "epochs": 1}\n' >"$T/c.json"
expect_fail "--save over --config" 2 "--save $T/c.json is the same file as the input --config $T/c.json" \
    train --config "$T/c.json" --train "$CSV" --save "$T/c.json"
expect_fail "two outputs, one file" 2 "--save $T/new.mlpc and --metrics $T/new.mlpc are the same file" \
    train --train "$CSV" --layers 2-4-2 --epochs 1 --save "$T/new.mlpc" --metrics "$T/new.mlpc"
check "nothing written" test ! -e "$T/new.mlpc"
expect_ok "train a model" train --train "$CSV" --layers 2-4-2 --epochs 1 --save "$T/m.mlpc" --quiet
expect_ok "--checkpoint may be the checkpoint resumed from" train --train "$CSV" --layers 2-4-2 --epochs 2 \
    --resume "$T/m.mlpc.ckpt" --checkpoint "$T/m.mlpc.ckpt" --quiet
expect_fail "--resume as --save" 2 "--save $T/m.mlpc.ckpt is the same file as the input --resume" \
    train --train "$CSV" --layers 2-4-2 --epochs 3 --resume "$T/m.mlpc.ckpt" --save "$T/m.mlpc.ckpt"
cut -d, -f1,2 "$CSV" >"$T/x.csv"
expect_fail "predict --output over --input" 2 "--output $T/x.csv is the same file as the input --input $T/x.csv" \
    predict "$T/m.mlpc" --input "$T/x.csv" --output "$T/x.csv"
ln -s m.mlpc "$T/mlink.csv"
expect_fail "predict --output over the model" 2 "--output $T/mlink.csv is the same file as the input MODEL $T/m.mlpc" \
    predict "$T/m.mlpc" --input "$T/x.csv" --output "$T/mlink.csv"
run info "$T/m.mlpc"
check "the model is intact" test "$RC" -eq 0

printf '{"study": "s", "data": "lorenz", "trials": 1, "params": {"depth": 1, "width": [4], "out_act": "linear", "loss": "mse", "opt": "adam", "epochs": 1}}\n' >"$T/space.json"
cp "$T/space.json" "$T/space.bak"
expect_fail "search --db over the space" 2 "--db $T/space.json is the same file as the input SPACE $T/space.json" \
    search "$T/space.json" --db "$T/space.json"
check "the space is intact" cmp -s "$T/space.json" "$T/space.bak"

# stale temporary files of a killed writer go at the next write
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
: >"$T/m.mlpc.tmp.$DEAD.0"
: >"$T/m.mlpc.tmp.$$.0"
: >"$T/m.mlpc.tmp.$DEAD.x"
expect_ok "write over stale temporary files" train --train "$CSV" --layers 2-4-2 --epochs 1 --save "$T/m.mlpc" --quiet
check "a dead writer's temporary file is removed" test ! -e "$T/m.mlpc.tmp.$DEAD.0"
check "a live writer's temporary file is kept" test -e "$T/m.mlpc.tmp.$$.0"
check "a file not matching the pattern is kept" test -e "$T/m.mlpc.tmp.$DEAD.x"

# --- 3. checkpoint fields are range-checked (rewritten with a valid CRC)
if command -v python3 >/dev/null 2>&1; then
    HELP="$(dirname "$0")/ckpt_set.py"
    expect_ok "checkpoint to tamper with" train --train "$CSV" --layers 2-4-2 --opt adam --epochs 2 \
        --checkpoint "$T/c.ckpt" --quiet
    python3 "$HELP" "$T/c.ckpt" "$T/same.ckpt" epoch 2
    expect_ok "an untouched field resumes" train --train "$CSV" --layers 2-4-2 --opt adam --epochs 3 \
        --resume "$T/same.ckpt" --quiet
    for kv in "epoch -2147483648:epoch -2147483648 out of range 0..2147483646" \
        "epoch 2147483647:epoch 2147483647 out of range 0..2147483646" \
        "epoch 2x:epoch '2x' is not an integer" \
        "step -1:step -1 out of range" \
        "lr -0x1p-7:lr -0x1p-7 out of range" \
        "lr inf:lr inf out of range" \
        "lr nan:lr nan out of range" \
        "sched_best nan:sched_best nan out of range" \
        "es_wait 99:es_wait 99 out of range 0..2" \
        "best_epoch 3:best_epoch 3 out of range 0..2" \
        "stopped 7:stopped 7 out of range 0..1" \
        "batch 0:batch 0 out of range 1..2147483647" \
        "seed -1:seed '-1' is not an unsigned integer"; do
        k=${kv%%:*}
        msg=${kv#*:}
        python3 "$HELP" "$T/c.ckpt" "$T/bad.ckpt" ${k% *} "${k#* }"
        expect_fail "checkpoint ${k% *} ${k#* } refused" 1 "$T/bad.ckpt: $msg" \
            train --train "$CSV" --layers 2-4-2 --opt adam --epochs 3 --resume "$T/bad.ckpt"
    done
else
    skip "checkpoint range checks" "no python3"
fi

# config files and model files: values are range-checked with the file and the field named
printf '{"layers": "2-4-2", "batch": -5}\n' >"$T/cb.json"
expect_fail "config: batch out of range" 2 "config $T/cb.json: \"batch\" -5: must be a positive integer" \
    train --config "$T/cb.json" --train "$CSV"
printf '{"layers": "2-4-2", "epochs": 200000000}\n' >"$T/ce.json"
expect_fail "config: epochs out of range" 2 "config $T/ce.json: \"epochs\" 200000000: must be at most 100000000" \
    train --config "$T/ce.json" --train "$CSV"

# --- 4. checkpoints: periodic (--checkpoint-every), at the end, on a signal
# wait_lines FILE N PID: until FILE has N lines or PID is gone (guard: 300 s)
wait_lines() {
    _i=0
    while [ $_i -lt 3000 ] && [ "$( { wc -l <"$1"; } 2>/dev/null || echo 0)" -lt "$2" ] && kill -0 "$3" 2>/dev/null; do
        sleep 0.1
        _i=$((_i + 1))
    done
    [ "$( { wc -l <"$1"; } 2>/dev/null || echo 0)" -ge "$2" ]
}
make_cls "$T/big.csv" 2000
LONG="--train $T/big.csv --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs 1000000"
# a long interval: no checkpoint while the run goes on, one (the last whole epoch) on SIGTERM
"$MLPC" train $LONG --save "$T/p.mlpc" --checkpoint-every 100000 --metrics "$T/p.jsonl" >"$T/p.out" 2>"$T/p.err" &
P=$!
if wait_lines "$T/p.jsonl" 2 "$P"; then
    check "no checkpoint before it is due" test ! -e "$T/p.mlpc.ckpt"
    kill -s TERM "$P"
    wait "$P"
    RC=$?
    check "SIGTERM: exit 143 (got $RC)" test "$RC" -eq 143
    check "SIGTERM: checkpoint of the last whole epoch written" test -s "$T/p.mlpc.ckpt"
    check "SIGTERM: prints the command that resumes the run" \
        grep -q "^resume with: mlpc train --train $T/big.csv --layers 2-16-2 .* --save $T/p.mlpc --checkpoint-every 100000 --metrics $T/p.jsonl --resume $T/p.mlpc.ckpt$" "$T/p.out"
    run train --train "$T/big.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs 1 --resume "$T/p.mlpc.ckpt"
    E=$(sed -n 's/^resumed from .* after epoch \([0-9]*\)$/\1/p' "$T/out")
    N=$(wc -l <"$T/p.jsonl")
    check "the checkpoint is at a whole epoch the run finished ($E of $N)" test -n "$E" -a "$E" -ge 2 -a "$E" -le "$N"
else
    kill -9 "$P" 2>/dev/null
    bad "long run wrote metrics lines" "$(head -c 300 "$T/p.err")"
fi
# --checkpoint-every 0: after every epoch
"$MLPC" train $LONG --save "$T/q.mlpc" --checkpoint-every 0 --metrics "$T/q.jsonl" >"$T/q.out" 2>"$T/q.err" &
P=$!
if wait_lines "$T/q.jsonl" 2 "$P"; then
    check "--checkpoint-every 0: a checkpoint after the first epoch" test -s "$T/q.mlpc.ckpt"
    kill -s INT "$P"
    wait "$P"
else
    kill -9 "$P" 2>/dev/null
    bad "every-epoch run wrote metrics lines" "$(head -c 300 "$T/q.err")"
fi
expect_ok "a finished run writes its checkpoint at the end" train --train "$CSV" --layers 2-4-2 --epochs 2 \
    --save "$T/e.mlpc" --quiet
check "end-of-run checkpoint" test -s "$T/e.mlpc.ckpt"
run train --train "$CSV" --layers 2-4-2 --epochs 3 --resume "$T/e.mlpc.ckpt"
check "end-of-run checkpoint is at the last epoch" out_has "after epoch 2"
expect_fail "--checkpoint-every without a checkpoint" 2 "--checkpoint-every: needs --checkpoint FILE or --save FILE" \
    train --train "$CSV" --layers 2-4-2 --checkpoint-every 5

# --- 7. dashboard: --allow-host for tunnels and proxies; other Hosts get 403
expect_fail "--allow-host without --dashboard" 2 "--allow-host: only with --dashboard" \
    train --train "$CSV" --layers 2-4-2 --allow-host localhost:8000
expect_fail "--allow-host bad name" 2 "--allow-host a b: must be a host name" \
    dashboard "$T" --port 0 --allow-host "a b"
if command -v curl >/dev/null 2>&1; then
    mkdir -p "$T/dash"
    "$MLPC" dashboard "$T/dash" --port 0 --allow-host localhost:8000 --allow-host proxy.example \
        >"$T/dash.out" 2>"$T/dash.err" &
    P=$!
    _i=0
    while [ $_i -lt 3000 ] && ! grep -q 'http://' "$T/dash.out" && kill -0 "$P" 2>/dev/null; do
        sleep 0.1
        _i=$((_i + 1))
    done
    PORT=$(sed -n 's|^dashboard: http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/dash.out")
    if [ -n "$PORT" ]; then
        code() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$PORT/"; }
        check "allowed Host localhost:8000 is served" test "$(code localhost:8000)" = 200
        check "allowed NAME without a port: any port" test "$(code proxy.example:443)" = 200
        check "the bound address still works" test "$(code 127.0.0.1:$PORT)" = 200
        check "another port of an allowed name gets 403" test "$(code localhost:8001)" = 403
        check "another Host gets 403" test "$(code evil.example:8000)" = 403
    else
        bad "dashboard printed its URL" "$(head -c 300 "$T/dash.err")"
    fi
    kill "$P" 2>/dev/null
    wait "$P" 2>/dev/null
else
    skip "--allow-host over HTTP" "no curl"
fi
finish
