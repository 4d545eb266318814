#!/bin/sh
# scripts/check-layers.sh - checks the one-way layer order of src/ (docs/design.md).
#
#   sh scripts/check-layers.sh [--src DIR] [--obj DIR] [includes|calls|cycles|all]
#
# includes  the #include "..." lines of DIR/**/*.{c,h} (default src)
# calls     the calls between folders: each undefined symbol of an object
#           in the build (default build/src) resolved to the folder whose
#           object defines it (nm); skipped, with one line, without nm or
#           objects
# cycles    calls between the files of one folder that go round in a circle
# signals   a sigaction() or signal() call outside DIR/cli (signal handlers
#           are the CLI's; the library gets a stop flag or a callback)
#
# Prints one line per edge that goes the wrong way and exits 1 when there is
# one; the known exceptions below are printed as "allowed" lines (and
# "allowed, to fix" for those still to be fixed). POSIX sh and awk only.
set -u

src=src
obj=${MLPC_BUILD:-build}/src
what=all
while [ $# -gt 0 ]; do
    case $1 in
        --src) src=$2; shift 2 ;;
        --obj) obj=$2; shift 2 ;;
        includes|calls|cycles|signals|all) what=$1; shift ;;
        *) echo "usage: $0 [--src DIR] [--obj DIR] [includes|calls|cycles|signals|all]" >&2; exit 2 ;;
    esac
done

# The layers, bottom first. A folder may use (include a header of, call a
# function of) its own folder and the folders of a LOWER rank, never one of
# the same or a higher rank. "internal" is the umbrella src/internal.h,
# usable from its rank up (io and above). dash, search and cli sit above the
# library.
RANKS='
core     0  errors, files, rng, time, names of the enums
kernels  1  single-threaded CPU kernels (GEMM, activations, loss)
optim    2  optimizer updates on flat arrays, schedules
cuda     3  the CUDA plugin ABI (cuda/plugin.h), loaded by backend
backend  4  the compute table, thread pool, contexts, device loader
data     5  datasets and their loaders
nn       6  the net: model, forward/backward, configuration
io       7  model files, atomic writes
internal 7  src/internal.h, the umbrella of the private headers
train    8  the trainer, checkpoints, training on a device
dash     9  dashboard, progress, plots (above the library)
search   9  hyperparameter search (above the library)
cli     10  the command line
'
# Sealed folders: used only by the folders listed (past the compute seam).
SEALED='
kernels  backend
cuda     backend
'
# The folders above the library may include only these library headers
# (besides mlpc.h); they call the library through mlpc.h.
TOP_MIN=9
TOP_HEADERS='core/core.h core/file.h core/searchdb.h core/bytes.h core/clock.h core/cpuinfo.h'

# Known exceptions: KIND FROM TO-FOLDER  reason. KIND is include or call,
# FROM a file under src/. "to fix:" marks an edge still to be removed.
# None is left (the last, train/trainer.c's byte-row gather and active
# columns, now goes through backend/batch.c).
EXCEPTIONS='
'

fail=0

# awk program shared by the checks: reads "KIND FROM-FILE FROM-FOLDER TO-FOLDER DETAIL"
# lines on stdin and prints the verdicts.
judge() {
    awk -v ranks="$RANKS" -v sealed="$SEALED" -v exc="$EXCEPTIONS" -v top_min="$TOP_MIN" \
        -v top_headers="$TOP_HEADERS" '
    BEGIN {
        n = split(ranks, L, "\n")
        for (i = 1; i <= n; i++) if (split(L[i], f, " ") >= 2) rank[f[1]] = f[2] + 0
        n = split(sealed, L, "\n")
        for (i = 1; i <= n; i++) if (split(L[i], f, " ") >= 2) for (j = 2; j in f; j++) user[f[1], f[j]] = 1
        n = split(sealed, L, "\n")
        for (i = 1; i <= n; i++) if (split(L[i], f, " ") >= 2) is_sealed[f[1]] = 1
        n = split(top_headers, f, " ")
        for (i = 1; i <= n; i++) tophdr[f[i]] = 1
        n = split(exc, L, "\n")
        for (i = 1; i <= n; i++) {
            if (split(L[i], f, " ") < 4) continue
            r = L[i]; sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", r)
            why[f[1], f[2], f[3]] = r
        }
        bad = 0
    }
    {
        kind = $1; file = $2; from = $3; to = $4
        detail = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", detail)
        if (!(from in rank)) { printf "%s: folder %s has no layer (add it to RANKS in scripts/check-layers.sh)\n", file, from; bad = 1; next }
        if (!(to in rank))   { printf "%s %s: folder %s has no layer (add it to RANKS in scripts/check-layers.sh)\n", file, detail, to; bad = 1; next }
        if (from == to) next
        msg = ""
        if (to == "internal") { if (rank[from] < rank[to]) msg = from " (" rank[from] ") is below the umbrella internal.h (" rank[to] "): include the narrow header" }
        else if (from == "internal") { if (rank[from] < rank[to]) msg = "the umbrella internal.h (" rank[from] ") may not include " to " (" rank[to] ")" }
        else if (rank[from] <= rank[to]) msg = from " (" rank[from] ") may not depend on " to " (" rank[to] ")"
        if (msg == "" && (to in is_sealed) && !((to, from) in user)) msg = to " is used only by the layers listed in SEALED (past the compute seam), not by " from
        if (msg == "" && kind == "include" && rank[from] >= top_min && rank[to] < top_min && !(detail in tophdr))
            msg = from " is above the library: it includes mlpc.h (or one of: " top_headers "), not " detail
        if (msg == "") next
        if ((kind, file, to) in why) { printf "allowed: %s %s %s (%s)\n", file, (kind == "include" ? "includes" : "calls"), detail, why[kind, file, to]; next }
        printf "BAD: %s %s %s: %s\n", file, (kind == "include" ? "includes" : "calls"), detail, msg
        bad = 1
    }
    END { exit bad }'
}

check_includes() {
    files=$(find "$src" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
    [ -n "$files" ] || { echo "check-layers: no sources under $src" >&2; return 1; }
    # shellcheck disable=SC2086  # the file list splits on white space
    awk -v src="$src" '
        FNR == 1 { rel = substr(FILENAME, length(src) + 2); from = (rel ~ /\//) ? rel : "internal/"; sub(/\/.*/, "", from)
                   dir = FILENAME; sub(/\/[^\/]*$/, "", dir) }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
            if (inc == "mlpc.h") next
            if (inc == "internal.h") to = "internal"
            else if (inc ~ /\//) { to = inc; sub(/\/.*/, "", to); if (system("test -d \"" src "/" to "\"")) next }
            else { if (system("test -f \"" dir "/" inc "\"")) next; to = from }
            print "include", "src/" rel, from, to, inc
        }' $files | judge
}

# nm lines of the objects whose source still exists: "file sym U|D"
nm_lines() {
    # shellcheck disable=SC2046  # the object list splits on white space
    nm -A $(find "$obj" -name '*.o' | LC_ALL=C sort) 2>/dev/null | awk -v obj="$obj" -v src="$src" '
        { f = $1; sub(/:[^:]*$/, "", f); if (NF == 2) sub(/:$/, "", f)
          rel = substr(f, length(obj) + 2); if (rel !~ /\//) next; sub(/\.o$/, ".c", rel)
          if (!(rel in ok)) ok[rel] = !system("test -f \"" src "/" rel "\""); if (!ok[rel]) next
          if ($(NF - 1) == "U") print "src/" rel, $NF, "U"
          else if ($(NF - 1) ~ /^[TDBRVWC]$/) print "src/" rel, $NF, "D" }'
}

have_objects() {
    if ! command -v nm >/dev/null 2>&1; then echo "skip: calls and cycles not checked (no nm)"; return 1; fi
    if [ -z "$(find "$obj" -name '*.o' 2>/dev/null | head -n 1)" ]; then
        echo "skip: calls and cycles not checked (no objects under $obj: run make)"; return 1
    fi
    return 0
}

# "caller callee symbol" for calls between two files
call_edges() {
    nm_lines | awk '
        $3 == "D" { if (!($2 in def)) def[$2] = $1; next }
        { und[++n] = $1 " " $2 }
        END { for (i = 1; i <= n; i++) { split(und[i], a, " "); if ((a[2] in def) && def[a[2]] != a[1]) print a[1], def[a[2]], a[2] } }' |
        LC_ALL=C sort -u
}

check_calls() {
    call_edges | awk '
        { f = $1; t = $2; split(f, a, "/"); split(t, b, "/")
          if (a[2] == b[2] || seen[f, b[2]]++) next
          print "call", f, a[2], b[2], $3 " (" t ")" }' | judge
}

check_cycles() {
    call_edges | awk '
        { split($1, a, "/"); split($2, b, "/"); if (a[2] != b[2]) next
          e[$1, $2] = 1; node[$1] = a[2]; node[$2] = b[2] }
        END {
            for (k in node) for (i in node) for (j in node)
                if (node[i] == node[k] && node[j] == node[k] && ((i, k) in e) && ((k, j) in e)) e[i, j] = 1
            bad = 0
            for (i in node) {
                if (!((i, i) in e) || done[i]) continue
                m = ""
                for (j in node) if (((i, j) in e) && ((j, i) in e)) { done[j] = 1; m = m " " j }
                printf "BAD: the files of src/%s/ call each other in a circle:%s (one of them should be the bottom)\n", node[i], m
                bad = 1
            }
            exit bad
        }'
}

check_signals() {
    found=$(find "$src" \( -name '*.c' -o -name '*.h' \) ! -path "$src/cli/*" -print | sort |
        xargs grep -nE '(^|[^A-Za-z0-9_])(sigaction|signal)[[:space:]]*\(' 2>/dev/null | grep -v '^[^:]*:[0-9]*:[[:space:]]*[/*]')
    [ -z "$found" ] && return 0
    echo "$found" | while IFS= read -r line; do
        echo "BAD: $line: a signal handler outside src/cli (give the library a stop flag or a callback; docs/design.md)"
    done
    return 1
}

case $what in includes|all) check_includes || fail=1 ;; esac
case $what in signals|all) check_signals || fail=1 ;; esac
case $what in calls|cycles|all)
    if have_objects; then
        case $what in calls|all) check_calls || fail=1 ;; esac
        case $what in cycles|all) check_cycles || fail=1 ;; esac
    fi ;;
esac
[ "$fail" = 0 ] && echo "check-layers: ok" || echo "check-layers: edges go the wrong way (docs/design.md)"
exit "$fail"
