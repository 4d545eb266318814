#!/bin/sh
# mlpc search under MPI: `mpirun -np 2 --oversubscribe` on this machine gives
# the same trials, states and values (bit for bit, ASHA decisions included)
# as a local run with the same seed and budget. Skipped when mpirun is
# missing or mlpc was built without MPI; a build without MPI must then say
# so under mpirun instead of running two searches.
. "$(dirname "$0")/common.inc"

cat >"$T/asha.json" <<'JSON'
{"study": "mpi", "data": "lorenz", "norm": "standard", "sampler": "random", "trials": 10, "seed": 9,
 "pruner": {"type": "asha", "min_epochs": 5, "eta": 2},
 "params": {"depth": {"min": 1, "max": 3}, "width": [8, 16], "act": ["relu", "tanh"], "out_act": "linear",
            "loss": "mse", "opt": "adam", "lr": {"min": 0.0005, "max": 0.02, "log": true},
            "batch": [50, 100], "epochs": [100, 200]}}
JSON

if ! command -v mpirun >/dev/null 2>&1; then
    skip "mpi" "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"
    finish
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun -np 2 --oversubscribe --allow-run-as-root"
if "$MLPC" --version | grep -q "search over MPI: no"; then
    # shellcheck disable=SC2086
    $MPIRUN "$MLPC" search "$T/asha.json" --db "$T/nompi.db" >"$T/out" 2>"$T/err"
    check "mpi: a build without MPI refuses to run under mpirun" test $? -ne 0
    check "mpi: and says it was built without MPI" grep -q "built without MPI" "$T/err"
    finish
fi

expect_ok "mpi: local run" search "$T/asha.json" --db "$T/local.db" --workers 1
# shellcheck disable=SC2086
$MPIRUN "$MLPC" search "$T/asha.json" --db "$T/mpi.db" >"$T/mpi.out" 2>"$T/mpi.err"
RC=$?
check "mpi: mpirun -np 2 exits 0 (exit $RC)" test "$RC" -eq 0
check "mpi: rank 0 reports 2 ranks" grep -q "^mpi: 2 ranks" "$T/mpi.out"
check "mpi: rank 1 said hello" grep -q "^rank 1 on " "$T/mpi.out"
"$MLPC" search --report "$T/local.db" --csv >"$T/local.csv"
"$MLPC" search --report "$T/mpi.db" --csv >"$T/mpi.csv"
check "mpi: 10 trials recorded" test "$(grep -c '^mpi,' "$T/mpi.csv")" -eq 10
check "mpi: some trials pruned, some complete" sh -c "grep -q ',pruned,' '$T/mpi.csv' && grep -q ',complete,' '$T/mpi.csv'"
if cmp -s "$T/local.csv" "$T/mpi.csv"; then
    ok "mpi: the same trials and results as the local run, bit for bit"
else
    bad "mpi: the same trials and results as the local run" "$(diff "$T/local.csv" "$T/mpi.csv" | head -n 6)"
fi
# trials really ran on both ranks
"$MLPC" search --report "$T/mpi.db" >"$T/rep.out"
check "mpi: the report counts both ranks" grep -q "over all MPI ranks" "$T/rep.out"
finish
