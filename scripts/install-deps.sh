#!/bin/sh
# install-deps.sh - install the Debian (bookworm) packages mlpc needs to build,
# test and fetch its data.  Idempotent: packages already installed are left
# alone, and `apt-get update` runs only when something is missing.
#
#   scripts/install-deps.sh             install what is missing
#   scripts/install-deps.sh --check     only report; exit 1 if something is missing
#   EXTRA_PACKAGES="foo bar" scripts/install-deps.sh   install more
#   MLPC_BROWSER=1 scripts/install-deps.sh   also chromium (always when CI=true)
#
# Runs apt-get as root, or through sudo when not root and sudo exists.
set -eu

# One list, easy to extend (libmicrohttpd-dev, libsqlite3-dev, ... later).
PACKAGES="build-essential make pkg-config zlib1g-dev libcjson-dev libcmocka-dev
ca-certificates nodejs npm
libsqlite3-dev libopenmpi-dev openmpi-bin"

# The live dashboard and `mlpc plot` (docs/dashboard.md): HTTP server, cairo,
# a font for the figures.
PACKAGES="$PACKAGES libmicrohttpd-dev libcairo2-dev fonts-dejavu-core curl"
# The Python package (python/, `make python`) and its tests (tests/python/):
# numpy at run time; scikit-learn, pandas, matplotlib, pytest, the notebook
# runner and pip/venv/setuptools/wheel for `pip install --no-build-isolation`.
PACKAGES="$PACKAGES python3 python3-numpy python3-sklearn python3-pandas python3-matplotlib python3-pytest
python3-nbclient python3-ipykernel python3-threadpoolctl python3-pip python3-venv python3-setuptools python3-wheel"
# Checks in `make test`: shellcheck over the shell scripts
# (tests/cli/test_shellcheck.sh) and clang for the libFuzzer targets
# (tests/fuzz/, `make fuzz-build`); each is skipped without its tool.
PACKAGES="$PACKAGES shellcheck clang libclang-rt-14-dev"  # libFuzzer: a Recommends of clang-14, which --no-install-recommends skips
# Fashion-MNIST for --data fashion-mnist (scripts/fetch-data.sh --fashion
# copies it into data/) and bench/bf16.sh accuracy: .gz IDX files, 30 MB.
PACKAGES="$PACKAGES dataset-fashion-mnist"
# The dashboard's end-to-end test drives Debian's chromium, which is large
# (about 300 MB with its libraries): installed in CI (CI=true) or with
# MLPC_BROWSER=1; elsewhere that test says "skipped: chromium not installed".
# It also edits a search database with the sqlite3 command-line tool.
if [ "${CI:-}" = true ] || [ "${MLPC_BROWSER:-0}" = 1 ]; then PACKAGES="$PACKAGES chromium sqlite3"; fi

# nodejs/npm are only needed for `npm pack` in fetch-data.sh.  If node and npm
# are already on PATH (e.g. a NodeSource or nvm install, whose nodejs conflicts
# with Debian's npm), do not ask apt for them.
NODE_PACKAGES="nodejs npm"

check_only=0
for arg in "$@"; do
    case $arg in
        --check) check_only=1 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

have() { command -v "$1" >/dev/null 2>&1; }

if ! have dpkg-query || ! have apt-get; then
    echo "install-deps.sh: dpkg-query/apt-get not found; this script supports Debian/Ubuntu only." >&2
    echo "install-deps.sh: install by hand: $PACKAGES ${EXTRA_PACKAGES:-}" >&2
    exit 1
fi

skip_node=0
if have node && have npm; then
    skip_node=1
    echo "install-deps.sh: node $(node --version 2>/dev/null) and npm $(npm --version 2>/dev/null) already on PATH; not using Debian's nodejs/npm"
fi

is_installed() {
    # "install ok installed" for a fully installed package
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

installed=""
missing=""
for pkg in $PACKAGES ${EXTRA_PACKAGES:-}; do
    if [ "$skip_node" = 1 ]; then
        case " $NODE_PACKAGES " in *" $pkg "*) continue ;; esac
    fi
    if is_installed "$pkg"; then
        installed="$installed $pkg"
    else
        missing="$missing $pkg"
    fi
done

[ -n "$installed" ] && echo "install-deps.sh: already installed:$installed"
if [ -z "$missing" ]; then
    echo "install-deps.sh: nothing to install"
    exit 0
fi
echo "install-deps.sh: missing:$missing"
[ "$check_only" = 1 ] && exit 1

if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif have sudo; then
    SUDO="sudo"
else
    echo "install-deps.sh: not root and sudo not found; run as root: apt-get install$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the lists is intended
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
echo "install-deps.sh: installed:$missing"
