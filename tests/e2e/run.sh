#!/bin/sh
# tests/e2e/run.sh - the dashboard's end-to-end tests (tests/e2e/*.test.js)
# with node's built-in test runner; run by tests/run.sh in the slow tier.
# Prints node's report, then "N passed, N failed" for the driver. Browser
# tests drive Debian's chromium through playwright-core (web/node_modules,
# from `npm ci --prefix web`, which make runs); without chromium they are
# skipped with the line "skipped: chromium not installed".
set -u
cd "$(dirname "$0")/../.." || exit 2
if ! command -v node >/dev/null 2>&1; then
    echo "skipped: node not installed"
    echo "0 passed, 0 failed"
    exit 0
fi
log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT
node --test --test-reporter=spec tests/e2e/ 2>&1 | tee "$log"
rc=$(tail -n 50 "$log" | sed -n 's/^[^a-z]*fail \([0-9][0-9]*\)$/\1/p' | tail -n 1)
pass=$(tail -n 50 "$log" | sed -n 's/^[^a-z]*pass \([0-9][0-9]*\)$/\1/p' | tail -n 1)
skip=$(tail -n 50 "$log" | sed -n 's/^[^a-z]*skipped \([0-9][0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$pass" ] || [ -z "$rc" ]; then
    echo "e2e: no summary from node --test"
    echo "0 passed, 1 failed"
    exit 1
fi
[ "${skip:-0}" -gt 0 ] && echo "e2e: ${skip} skipped"
echo "$pass passed, $rc failed"
[ "$rc" -eq 0 ]
