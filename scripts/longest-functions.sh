#!/bin/sh
# scripts/longest-functions.sh - the N longest C functions (default 15), for
# `make lint`: "LINES FILE:LINE NAME", longest first. A function is a body
# whose opening and closing braces sit at column 0 (the code's style); its
# name is the identifier before the first '(' of the declaration above the
# brace. POSIX sh and awk, no ctags.
#
#   sh scripts/longest-functions.sh [-n N] [FILE...]    (default: src/**/*.c)
set -u
n=15
if [ "${1:-}" = -n ]; then n=$2; shift 2; fi
if [ $# -eq 0 ]; then
    # shellcheck disable=SC2046  # the file list splits on white space
    set -- $(find src -name '*.c' | LC_ALL=C sort)
fi
awk '
    FNR == 1 { decl = ""; start = 0 }
    /^[A-Za-z_]/ && !/^(static )?(const )?(struct|enum|union|typedef)[^(]*$/ {
        if ($0 ~ /\(/) { decl = $0; declline = FNR }
    }
    /^\{/ && decl != "" { start = FNR; name = decl; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name); at = declline }
    /^\}/ && start { printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, at, name; start = 0; decl = "" }
' "$@" | sort -k1,1nr -k2,2 | head -n "$n"
