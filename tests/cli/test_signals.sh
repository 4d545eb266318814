#!/bin/sh
# Ctrl-C and SIGTERM during `mlpc train`: training stops at the next batch,
# the model is evaluated and saved, nothing temporary is left, and the exit
# status is 128 + the signal. The runs have no end of their own (a million
# epochs): each signal is sent once the run has written its first --metrics
# line, so the test waits for an event, never for a time.
. "$(dirname "$0")/common.inc"

make_cls "$T/cls.csv" 2000
# no_tmp DIR: no temporary file (NAME.tmp.PID) in DIR
no_tmp() { test -z "$(find "$1" -name '*.tmp*' -print)"; }

# wait_line FILE PID: until FILE has a line or PID is gone (guard: 300 s)
wait_line() {
    _i=0
    while [ $_i -lt 3000 ] && [ ! -s "$1" ] && kill -0 "$2" 2>/dev/null; do
        sleep 0.1
        _i=$((_i + 1))
    done
    [ -s "$1" ]
}

for sig in INT TERM; do
    case $sig in INT) want=130 ;; TERM) want=143 ;; esac
    M="$T/$sig.mlpc"
    "$MLPC" train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 \
        --epochs 1000000 --save "$M" --metrics "$T/$sig.jsonl" >"$T/$sig.out" 2>"$T/$sig.err" &
    P=$!
    if wait_line "$T/$sig.jsonl" "$P"; then
        kill -s "$sig" "$P"
        wait "$P"
        RC=$?
        check "SIG$sig: exit $want (got $RC)" test "$RC" -eq "$want"
        check "SIG$sig: says why it stopped" grep -q "^done: [0-9]* epochs* in .*(stopped: interrupted)$" "$T/$sig.out"
        check "SIG$sig: nothing on stderr" test ! -s "$T/$sig.err"
        check "SIG$sig: the model is saved" grep -q "^saved $M$" "$T/$sig.out"
        run info "$M"
        check "SIG$sig: the saved model reads back" test "$RC" -eq 0
        check "SIG$sig: its metrics say interrupted" grep -q "interrupted" "$T/out"
        check "SIG$sig: no temporary files left" no_tmp "$T"
        run eval "$M" --test "$T/cls.csv"
        check "SIG$sig: the saved model evaluates" test "$RC" -eq 0
        # the checkpoint is the last whole epoch's: resumed for one more
        # epoch, it ends where an uninterrupted run of as many epochs ends
        run train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs 1 \
            --resume "$M.ckpt"
        E=$(sed -n 's/^resumed from .* after epoch \([0-9]*\)$/\1/p' "$T/out")
        if [ "$RC" -eq 0 ] && [ -n "$E" ]; then
            E=$((E + 1))
            run train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs "$E" \
                --resume "$M.ckpt" --metrics "$T/$sig-r.jsonl" --quiet
            run train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs "$E" \
                --metrics "$T/$sig-u.jsonl" --quiet
            r=$(tail -n 1 "$T/$sig-r.jsonl" | sed 's/.*"epoch":\([0-9]*\),"loss":\([^,]*\),.*/\1 \2/')
            u=$(tail -n 1 "$T/$sig-u.jsonl" | sed 's/.*"epoch":\([0-9]*\),"loss":\([^,]*\),.*/\1 \2/')
            check "SIG$sig: --resume continues as an uninterrupted run (epoch, loss: $r / $u)" test "$r" = "$u"
        else
            bad "SIG$sig: the checkpoint resumes" "$(cat "$T/out" "$T/err" | head -c 300)"
        fi
    else
        kill -9 "$P" 2>/dev/null
        bad "SIG$sig: the run wrote a metrics line" "$(head -c 300 "$T/$sig.err")"
    fi
done

# a checkpoint that cannot be written (its folder replaced by a file while
# the run goes on) is not the end: training goes on, the model is saved,
# and the run ends with one line saying how many checkpoints failed (exit 1)
mkdir "$T/ck"
"$MLPC" train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs 1000000 \
    --checkpoint "$T/ck/c.ckpt" --checkpoint-every 0 --save "$T/ck.mlpc" --metrics "$T/ck.jsonl" \
    >"$T/ck.out" 2>"$T/ck.err" &
P=$!
if wait_line "$T/ck.jsonl" "$P"; then
    mv "$T/ck" "$T/ck.gone" # one rename, so no write in flight can refill it
    : >"$T/ck"              # a file where the folder was: every later checkpoint write fails
    _i=0
    while [ $_i -lt 3000 ] && [ "$(wc -l <"$T/ck.jsonl")" -lt 4 ] && kill -0 "$P" 2>/dev/null; do
        sleep 0.1
        _i=$((_i + 1))
    done
    kill -s INT "$P"
    wait "$P"
    RC=$?
    check "a failed checkpoint: training went on past it ($(wc -l <"$T/ck.jsonl") epochs)" test "$(wc -l <"$T/ck.jsonl")" -ge 4
    check "a failed checkpoint: exit 1 (got $RC)" test "$RC" -eq 1
    check "a failed checkpoint: one final line says so" grep -q "^mlpc train: [0-9]* checkpoint writes* failed (the last: .*ck/c.ckpt.*); the model was saved$" "$T/ck.err"
    run info "$T/ck.mlpc"
    check "a failed checkpoint: the model is saved and reads back" test "$RC" -eq 0
else
    kill -9 "$P" 2>/dev/null
    bad "a failed checkpoint: the run wrote a metrics line" "$(head -c 300 "$T/ck.err")"
fi

# 20 runs interrupted at random moments (start-up, an epoch, a checkpoint
# being written, the final save): never a temporary file left, always a
# readable model when one was saved; the delays only spread the moments,
# nothing is asserted about when the signal lands
mkdir "$T/r"
left=0 unreadable=0 codes=""
for i in $(seq 1 20); do
    d=$(awk -v s="$i" 'BEGIN { srand(s); printf "%.3f", rand() * 0.4 }')
    sig=INT
    [ $((i % 2)) -eq 0 ] && sig=TERM
    "$MLPC" train --train "$T/cls.csv" --layers 2-16-2 --act tanh --opt adam --batch 4 --epochs 200 \
        --save "$T/r/m$i.mlpc" --quiet >/dev/null 2>&1 &
    P=$!
    sleep "$d"
    kill -s "$sig" "$P" 2>/dev/null
    wait "$P"
    codes="$codes $?"
    no_tmp "$T/r" || left=$((left + 1))
    if [ -f "$T/r/m$i.mlpc" ]; then
        "$MLPC" info "$T/r/m$i.mlpc" >/dev/null 2>&1 || unreadable=$((unreadable + 1))
    fi
done
check "20 interrupted runs: no temporary files left (exit codes:$codes)" test "$left" -eq 0
check "20 interrupted runs: every saved model reads back" test "$unreadable" -eq 0
bad_codes=$(echo "$codes" | tr ' ' '\n' | grep -v -x -e '' -e 0 -e 130 -e 143 | head -n 3)
check "20 interrupted runs: exit 0, 130 or 143 only" test -z "$bad_codes"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
