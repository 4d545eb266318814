#!/bin/sh
# The shared library exports exactly the functions declared in mlpc.h: an
# internal function that leaks (no -fvisibility=hidden) or a public one that
# is hidden (declared without MLPC_API) fails. Also the soname and links.
. "$(dirname "$0")/common.inc"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIBDIR=$(cd "$(dirname "$MLPC")" && pwd)
SO=$LIBDIR/libmlpc.so
HDR=$ROOT/include/mlpc.h

if ! command -v nm >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1; then
    skip "exported symbols" "nm or readelf missing (binutils)"
    finish
fi
check "libmlpc.so is built next to mlpc" test -f "$SO"

# declared: every function name followed by '(' in the preprocessed header
# (comments gone; function pointer typedefs read '(*name)' and do not match)
${CC:-cc} -E -P -DMLPC_API= -x c "$HDR" 2>"$T/cpp.err" | tr '\n' ' ' |
    grep -o 'mlpc_[a-z0-9_]*[[:space:]]*(' | sed 's/[[:space:]]*($//' | sort -u >"$T/declared"
check "the header declares functions" test "$(wc -l <"$T/declared")" -gt 100

# exported: defined dynamic symbols, less the linker's own markers
nm -D --defined-only "$SO" | awk '{print $NF}' |
    grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start | sort -u >"$T/exported"

comm -13 "$T/declared" "$T/exported" >"$T/leaked"
comm -23 "$T/declared" "$T/exported" >"$T/hidden"
if [ -s "$T/leaked" ]; then
    bad "no symbol exported beyond mlpc.h" "exported but not declared: $(tr '\n' ' ' <"$T/leaked")"
else
    ok "no symbol exported beyond mlpc.h"
fi
if [ -s "$T/hidden" ]; then
    bad "every function of mlpc.h is exported" "declared but not exported: $(tr '\n' ' ' <"$T/hidden")"
else
    ok "every function of mlpc.h is exported"
fi

# every exported symbol is a function (no data)
nm -D --defined-only "$SO" | awk '$2 != "T" && $2 != "i" {print}' |
    grep -v -e ' _init$' -e ' _fini$' -e ' _edata$' -e ' _end$' -e ' __bss_start$' >"$T/nonfunc"
check "only functions are exported" test ! -s "$T/nonfunc"

# soname and the links
VER=$(sed -n 's/.*MLPC_VERSION_STRING "\(.*\)"/\1/p' "$HDR")
MAJOR=${VER%%.*}
check "soname is libmlpc.so.$MAJOR" sh -c "readelf -d '$SO' | grep -q 'SONAME.*\[libmlpc.so.$MAJOR\]'"
check "libmlpc.so -> libmlpc.so.$MAJOR" test "$(readlink "$SO")" = "libmlpc.so.$MAJOR"
check "libmlpc.so.$MAJOR -> libmlpc.so.$VER" test "$(readlink "$LIBDIR/libmlpc.so.$MAJOR")" = "libmlpc.so.$VER"
check "libmlpc.so.$VER is a file" test -f "$LIBDIR/libmlpc.so.$VER" -a ! -L "$LIBDIR/libmlpc.so.$VER"
# linked with -z defs: every symbol it uses comes from a library it names
if command -v ldd >/dev/null 2>&1; then
    ldd -r "$SO" >"$T/ldd" 2>&1
    check "no undefined symbols (ldd -r)" sh -c "! grep -q 'undefined symbol' '$T/ldd'"
fi
check "needs zlib" sh -c "readelf -d '$SO' | grep -q 'NEEDED.*libz'"

finish
