#!/bin/sh
# Runs shellcheck over every shell script of the repository (*.sh, *.inc and the
# scripts whose #! line names a shell), one test per script, failing on
# findings of severity "warning" and above (-S warning: the style notes such
# as SC2086 on a deliberately split list do not fail). Skipped, with one
# line, when shellcheck is not installed (scripts/install-deps.sh installs it).
. "$(dirname "$0")/common.inc"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

if ! command -v shellcheck >/dev/null 2>&1; then
    skip "shellcheck over the shell scripts" "shellcheck not installed (apt-get install shellcheck)"
    finish
fi

# Not checked, each with why (none today).
EXCLUDE=""

scripts=$(
    find . \( -path ./web/node_modules -o -path './build*' -o -path ./python/build -o -path ./data \
        -o -path ./.git -o -name node_modules \) -prune -o -type f -print 2>/dev/null |
    sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
        case $f in
            *.sh|*.inc) echo "$f" ;;
            *.*/*) head -n 1 "$f" 2>/dev/null | grep -Eq '^#!.*(/|env )(ba|da|k)?sh( |$)' && echo "$f" ;;
            *.*) ;;
            *) head -n 1 "$f" 2>/dev/null | grep -Eq '^#!.*(/|env )(ba|da|k)?sh( |$)' && echo "$f" ;;
        esac
    done
)
for f in $scripts; do
    case " $EXCLUDE " in *" $f "*) skip "$f" "excluded, see the comment in $0"; continue ;; esac
    case $f in *.inc) shell="-s sh" ;; *) shell="" ;; esac
    # shellcheck disable=SC2086  # $shell is empty or two words
    if shellcheck -S warning -x -P SCRIPTDIR $shell -f gcc "$f" >"$T/sc" 2>&1; then
        ok "$f"
    else
        bad "$f" "$(cat "$T/sc")"
    fi
done
[ -n "$scripts" ] || bad "found the shell scripts" "none under $ROOT"
finish
