#!/bin/sh
# bench/gpu/bundle.sh - packs what bench/gpu/run.sh needs on a GPU machine
# into bench/gpu/carry/ (git-ignored; carried by the device tool as ONE path,
# well under its 64 MiB):
#   build/  mlpc, libmlpc_cuda.so, bench_mlpc, tests/slow_cuda_parity,
#           tests/fake_cuda_onegpu.so, gpu_sgemm (built here from sgemm.cu)
#   libs/   every shared library those need that is not glibc or CUDA
#           (libcjson, zlib, cairo and its X/font libraries, sqlite,
#           microhttpd, gnutls, cmocka, libstdc++, ...): run.sh links in only
#           the ones the GPU machine lacks. cuBLAS and the driver are not
#           bundled: the GPU machine has CUDA 13 (run.sh also looks in
#           PyTorch's nvidia wheels).
#   mnist/  the four MNIST IDX files, gzipped
#   MANIFEST, COMMIT
# Build first (bench/gpu/README.md):
#   make -j2 MPI=0 CUDA=1 CUDA_ARCHS=90 all build/tests/slow_cuda_parity build/bench_mlpc
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
BUILD=${BUILD:-build}
C=bench/gpu/carry
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}

for f in mlpc libmlpc_cuda.so bench_mlpc tests/slow_cuda_parity tests/fake_cuda_onegpu.so; do
    [ -e "$BUILD/$f" ] || {
        echo "bundle.sh: $BUILD/$f is missing; build first:" >&2
        echo "  make -j2 MPI=0 CUDA=1 CUDA_ARCHS=90 all build/tests/slow_cuda_parity build/bench_mlpc" >&2
        exit 1
    }
done
if ldd "$BUILD/mlpc" | grep -q libmpi; then
    echo "bundle.sh: $BUILD/mlpc links MPI (its libraries are large and machine-specific): rebuild with MPI=0" >&2
    exit 1
fi
[ -f data/mnist/train-images-idx3-ubyte ] || { echo "bundle.sh: no data/mnist (scripts/fetch-data.sh)" >&2; exit 1; }

rm -rf "$C"
mkdir -p "$C/build/tests" "$C/libs" "$C/mnist"
for f in mlpc libmlpc_cuda.so bench_mlpc tests/slow_cuda_parity tests/fake_cuda_onegpu.so; do
    cp "$BUILD/$f" "$C/build/$f"
done
# the plain cuBLAS SGEMM rate (CUDA runtime static, cuBLAS as the plugin links it)
if [ -x "$NVCC" ]; then
    "$NVCC" -O2 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
        -o "$C/build/gpu_sgemm" bench/gpu/sgemm.cu -lcublas -Xlinker -rpath,"$(dirname "$(dirname "$NVCC")")/lib64" ||
        echo "bundle.sh: gpu_sgemm did not build; run.sh will use torch.mm's rate" >&2
else
    echo "bundle.sh: no nvcc: no gpu_sgemm; run.sh will use torch.mm's rate" >&2
fi
strip --strip-debug "$C"/build/mlpc "$C"/build/bench_mlpc "$C"/build/tests/slow_cuda_parity 2>/dev/null || true

# the libraries: all that ldd resolves, less glibc, the dynamic loader and CUDA
for f in "$C"/build/* "$C"/build/tests/*; do
    [ -f "$f" ] && ldd "$f" 2>/dev/null
done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u | while read -r name path; do
    case $name in
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|ld-linux*|libcuda.so.*|libcublas*|libcudart*|libnvidia*) continue ;;
    esac
    cp -L "$path" "$C/libs/$name"
done
for f in data/mnist/*-ubyte; do gzip -6 -c "$f" >"$C/mnist/$(basename "$f").gz"; done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ] && commit="$commit+dirty"
echo "$commit" >"$C/COMMIT"
{
    echo "bench/gpu/carry: made $(date -u +%Y-%m-%dT%H:%M:%SZ) from $commit on $(uname -srm)"
    echo "glibc needed: $(for f in "$C"/build/* "$C"/build/tests/* "$C"/libs/*; do objdump -T "$f" 2>/dev/null; done |
        grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1) (this machine: $(ldd --version | head -n 1))"
    echo "plugin: $(strings "$C/build/libmlpc_cuda.so" | grep -m1 'static CUDA runtime' || echo '?')"
    (cd "$C" && find . -type f ! -name MANIFEST | sort | while read -r f; do
        printf '%10s  %s  %s\n' "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-16)" "$f"
    done)
} >"$C/MANIFEST"
total=$(du -sk "$C" | cut -f1)
echo "bundle.sh: $C: $((total / 1024)) MiB ($(find "$C/libs" -type f | wc -l) libraries: $(du -sk "$C/libs" | cut -f1) KiB)"
[ "$total" -lt 60000 ] || echo "bundle.sh: WARNING: over 60 MiB; the device tool carries 64 MiB in all" >&2
