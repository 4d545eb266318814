#!/bin/sh
# The one-way layer order of src/ (docs/design.md, scripts/check-layers.sh):
# no #include and no call between folders goes the wrong way, and no files
# of one folder call each other in a circle. Also checks that the checker
# catches a wrong-way include, call and circle in a small made-up tree.
. "$(dirname "$0")/common.inc"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK="sh $ROOT/scripts/check-layers.sh"
OBJ=$(cd "$(dirname "$MLPC")" && pwd)/src

# the repository
$CHECK --src "$ROOT/src" --obj "$OBJ" includes >"$T/inc" 2>&1
RC=$?
if [ "$RC" = 0 ]; then ok "includes follow the layers"; else bad "includes follow the layers" "$(grep -v '^allowed' "$T/inc")"; fi

if ! command -v nm >/dev/null 2>&1; then
    skip "calls follow the layers" "no nm (binutils)"
else
    $CHECK --src "$ROOT/src" --obj "$OBJ" calls >"$T/calls" 2>&1
    RC=$?
    if [ "$RC" = 0 ]; then ok "calls follow the layers"; else bad "calls follow the layers" "$(grep -v '^allowed' "$T/calls")"; fi
    $CHECK --src "$ROOT/src" --obj "$OBJ" cycles >"$T/cyc" 2>&1
    RC=$?
    if [ "$RC" = 0 ]; then ok "no circle between the files of a folder"; else bad "no circle between the files of a folder" "$(cat "$T/cyc")"; fi
fi

# a made-up tree with one wrong-way edge of each kind
S=$T/src
mkdir -p "$S/kernels" "$S/backend" "$S/data"
printf '#include "backend/backend.h"\n' >"$S/kernels/gemm.c"
printf 'int be(void);\n' >"$S/backend/backend.h"
printf '#include "kernels/kernels.h"\n' >"$S/backend/cpu.c"
printf '/* nothing */\n' >"$S/kernels/kernels.h"
$CHECK --src "$S" includes >"$T/out" 2>&1
RC=$?
check "a wrong-way include fails" test "$RC" = 1
check "  one line names it" test "$(grep -c '^BAD: src/kernels/gemm.c includes backend/backend.h' "$T/out")" = 1
check "  the right-way include is not reported" test "$(grep -c 'backend/cpu.c' "$T/out")" = 0

# signal handlers are the CLI's: one outside src/cli fails, one inside does not
$CHECK --src "$ROOT/src" signals >"$T/sig" 2>&1
RC=$?
if [ "$RC" = 0 ]; then ok "signal handlers only in src/cli"; else bad "signal handlers only in src/cli" "$(cat "$T/sig")"; fi
mkdir -p "$S/cli" "$S/search"
printf 'void h(int s);\nvoid w(void) { signal(2, h); }\n' >"$S/search/worker.c"
printf 'void h(int s);\nvoid m(void) { signal(2, h); }\nint stop_signal(void);\n' >"$S/cli/main.c"
$CHECK --src "$S" signals >"$T/out" 2>&1
RC=$?
check "a signal handler outside src/cli fails" test "$RC" = 1
check "  one line names it" test "$(grep -c '^BAD: .*src/search/worker.c:2:' "$T/out")" = 1
check "  src/cli's is not reported" test "$(grep -c 'cli/main.c' "$T/out")" = 0

if command -v nm >/dev/null 2>&1 && command -v "${CC:-cc}" >/dev/null 2>&1; then
    O=$T/obj
    mkdir -p "$O/kernels" "$O/backend" "$O/data"
    printf 'int be(void) { return 1; }\n' >"$S/backend/cpu.c"
    printf 'int be(void); int k(void) { return be(); }\n' >"$S/kernels/gemm.c"
    printf 'int b(void); int a(void) { return b(); }\n' >"$S/data/a.c"
    printf 'int a(void); int b(void) { return a(); }\n' >"$S/data/b.c"
    for f in backend/cpu kernels/gemm data/a data/b; do "${CC:-cc}" -c "$S/$f.c" -o "$O/$f.o"; done
    $CHECK --src "$S" --obj "$O" calls >"$T/out" 2>&1
    RC=$?
    check "a wrong-way call fails" test "$RC" = 1
    check "  one line names it" test "$(grep -c '^BAD: src/kernels/gemm.c calls be (src/backend/cpu.c)' "$T/out")" = 1
    $CHECK --src "$S" --obj "$O" cycles >"$T/out" 2>&1
    RC=$?
    check "a circle between two files fails" test "$RC" = 1
    check "  one line names it" test "$(grep -c '^BAD: the files of src/data/ call each other' "$T/out")" = 1
else
    skip "wrong-way calls and circles are caught" "no nm or cc"
fi
finish
