#!/bin/sh
# `make install` into a temporary PREFIX (the existing build, as it is),
# then the README's example program ("Using the library", the same text as
# examples/app.c) built exactly as the README says against that tree with
# pkg-config, run on MNIST when it is there, and linked statically too.
. "$(dirname "$0")/common.inc"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$MLPC")" && pwd)
case $BUILD in
    "$ROOT"/*) BUILD_REL=${BUILD#"$ROOT"/} ;;
    *) bad "the build is inside the repository" "$BUILD is not below $ROOT"; finish ;;
esac
for tool in make pkg-config cc readelf; do
    if ! command -v $tool >/dev/null 2>&1; then
        skip "install and build the example" "$tool missing"
        finish
    fi
done
VER=$(sed -n 's/.*MLPC_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/mlpc.h")
P=$T/prefix

# install what was built: the CUDA plugin only when this build has it (else
# make would build it now where nvcc is found). PREFIX is compiled into
# device.o (the plugin's last search folder): the build keeps its own.
CUDA_ARG=
[ -f "$BUILD/libmlpc_cuda.so" ] || CUDA_ARG=CUDA=0
make -C "$ROOT" --no-print-directory BUILD="$BUILD_REL" $CUDA_ARG install PREFIX="$P" >"$T/install.log" 2>&1
RC=$?
check "make install PREFIX=... succeeds" test "$RC" -eq 0
[ "$RC" -eq 0 ] || { tail -20 "$T/install.log"; finish; }
check "installs the header" test -f "$P/include/mlpc.h"
check "installs libmlpc.a" test -f "$P/lib/libmlpc.a"
check "installs libmlpc.so.$VER" test -f "$P/lib/libmlpc.so.$VER" -a ! -L "$P/lib/libmlpc.so.$VER"
check "installs the soname link" test "$(readlink "$P/lib/libmlpc.so.${VER%%.*}")" = "libmlpc.so.$VER"
check "installs the libmlpc.so link" test "$(readlink "$P/lib/libmlpc.so")" = "libmlpc.so.${VER%%.*}"
check "installs the CLI" test -x "$P/bin/mlpc"
check "installs mlpc.pc" test -f "$P/lib/pkgconfig/mlpc.pc"
if [ -f "$BUILD/libmlpc_cuda.so" ]; then
    check "installs the CUDA plugin" test -f "$P/lib/libmlpc_cuda.so"
fi

PKG_CONFIG_PATH=$P/lib/pkgconfig
export PKG_CONFIG_PATH
check "pkg-config finds mlpc $VER" test "$(pkg-config --modversion mlpc)" = "$VER"
check "Libs: the library in the prefix" test "$(pkg-config --libs mlpc | tr -s ' ' | sed 's/ $//')" = "-L$P/lib -lmlpc"
check "Libs.private: what libmlpc.a needs" sh -c "pkg-config --static --libs mlpc | grep -q -- '-lz .*-lcjson .*-lm .*-ldl .*-pthread'"

# the example, from the README
mkdir -p "$T/app"
awk '/^## Using the library/ { s = 1; next }
     s && /^## / { exit }
     s && !c && /^```c$/ { c = 1; next }
     c && /^```$/ { exit }
     c { print }' "$ROOT/README.md" >"$T/app/app.c"
check "README has the example program" grep -q '^int main' "$T/app/app.c"
check "examples/app.c is the README's program" cmp -s "$T/app/app.c" "$ROOT/examples/app.c"
# shellcheck disable=SC2016  # the literal command line
check "README gives the build command" grep -qxF 'cc app.c $(pkg-config --cflags --libs mlpc)' "$ROOT/README.md"

MN=$(mnist_dir) # relative to the repository root, where tests/run.sh runs
[ -n "$MN" ] && MN=$(cd "$MN" && pwd)
cd "$T/app" || exit 1
# shellcheck disable=SC2046  # exactly the README's command: the flags must split
cc app.c $(pkg-config --cflags --libs mlpc) >"$T/cc.log" 2>&1
RC=$?
check "cc app.c \$(pkg-config --cflags --libs mlpc) builds it" test "$RC" -eq 0 -a -x a.out
[ "$RC" -eq 0 ] || { cat "$T/cc.log"; finish; }
check "it compiles without warnings" test ! -s "$T/cc.log"
check "a.out needs libmlpc.so.${VER%%.*}" sh -c "readelf -d a.out | grep -q 'NEEDED.*\[libmlpc.so.${VER%%.*}\]'"
check "a.out loads the installed library" sh -c "LD_LIBRARY_PATH='$P/lib' ldd a.out | grep -q '$P/lib/libmlpc.so'"

# without the data: one line on stderr, exit 1 (the library does not abort)
LD_LIBRARY_PATH=$P/lib ./a.out "$T/no-such-dir" >"$T/out" 2>"$T/err"
RC=$?
check "without data: exit 1" test "$RC" -eq 1
check "without data: one line naming the file" sh -c "test \$(wc -l <'$T/err') -eq 1 && grep -q 'no-such-dir/train-images-idx3-ubyte' '$T/err'"

if [ -n "$MN" ]; then
    LD_LIBRARY_PATH=$P/lib ./a.out "$MN" >"$T/out" 2>"$T/err"
    RC=$?
    check "runs on MNIST" test "$RC" -eq 0 -a ! -s "$T/err"
    check "prints the version, epochs and a test accuracy above 0.9" \
        grep -q "^mlpc $VER: 3 epochs, test accuracy 0\.9[0-9]*$" "$T/out"
    check "saves a model the CLI reads" sh -c "'$P/bin/mlpc' info model.mlpc >'$T/info' 2>&1 && grep -q '784-30-10' '$T/info'"
else
    skip "runs on MNIST" "no MNIST in ${MLPC_DATA:-data}/mnist"
fi

# statically: Libs.private has what libmlpc.a needs; the archive named
# where the shared library sits beside it
# shellcheck disable=SC2046  # the flags must split
cc -o app-static app.c $(pkg-config --static --cflags --libs mlpc | sed 's/-lmlpc/-l:libmlpc.a/') >"$T/cc.log" 2>&1
RC=$?
check "links statically with pkg-config --static" test "$RC" -eq 0 -a -x app-static
[ "$RC" -eq 0 ] || cat "$T/cc.log"
if [ "$RC" -eq 0 ]; then
    check "app-static does not need libmlpc.so" sh -c "! readelf -d app-static | grep -q 'NEEDED.*libmlpc'"
    env -u LD_LIBRARY_PATH ./app-static "$T/no-such-dir" >"$T/out" 2>"$T/err"
    check "app-static runs without the shared library" test $? -eq 1 -a -s "$T/err"
    if [ -n "$MN" ]; then
        ./app-static "$MN" >"$T/out" 2>"$T/err"
        check "app-static trains on MNIST" grep -q "^mlpc $VER: 3 epochs, test accuracy 0\.9" "$T/out"
    fi
fi

finish
