#!/bin/sh
# --help of every subcommand exits 0, writes nothing to stderr and mentions
# every flag with its default.
. "$(dirname "$0")/common.inc"

# help_has CMD FLAG...: `mlpc CMD --help` mentions each --FLAG
help_has() {
    _cmd=$1
    shift
    for _f in "$@"; do
        if grep -q -- "^  --$_f\( \|$\)" "$T/out"; then ok "$_cmd --help: --$_f"; else bad "$_cmd --help: --$_f" "not in the help text"; fi
    done
}

for cmd in train eval predict info; do
    expect_ok "$cmd --help exits 0" "$cmd" --help
    check "$cmd --help starts with usage" grep -q "^usage: mlpc $cmd" "$T/out"
    # every flag line but --help states a default
    check "$cmd --help: every flag has a default" test -z "$(awk '
        /^  --/ { if (flag != "" && flag != "--help" && text !~ /\(default: [^)]*\)/) print flag; flag = $1; text = $0; next }
        /^      / { text = text " " $0; next }
        END { if (flag != "" && flag != "--help" && text !~ /\(default: [^)]*\)/) print flag }' "$T/out")"
    expect_ok "$cmd -h exits 0" "$cmd" -h
    expect_ok "help $cmd exits 0" help "$cmd"
done

run train --help
help_has train config data train train-labels test test-labels label-col task n-targets header \
    val-split layers act out-act loss init norm opt lr momentum nesterov rho beta1 beta2 eps l2 \
    sched sched-factor sched-step sched-patience min-lr batch epochs seed threads no-shuffle \
    early-stop es-metric es-min-delta no-restore-best metrics save checkpoint resume run quiet \
    progress help
check "train --help: exit codes" grep -q "3 training" "$T/out"
check "train --help: defaults shown" grep -q "(default: 32)" "$T/out"

run eval --help
help_has eval data test test-labels label-col task header threads json help
run predict --help
help_has predict input output proba header threads help
run info --help
help_has info json help

# the top-level help names every command and exit code
expect_ok "mlpc --help" --help
for w in train eval predict info "0  success" "1  bad input" "2  usage" "3  training diverged" "4  internal"; do
    check "mlpc --help mentions '$w'" out_has "$w"
done
finish
