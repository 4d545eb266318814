#!/bin/sh
# mlpc's test accuracy and R^2 against scikit-learn's MLPs on the same
# splits of iris (string labels, ';'), wine (one-hot targets) and diabetes
# (targets 25..346, unscaled): tests/cli/vs_sklearn.py. Needs /usr/bin/python3
# with scikit-learn (Debian's python3-sklearn); skipped without it.
. "$(dirname "$0")/common.inc"

PY=/usr/bin/python3
if ! "$PY" -c 'import sklearn, numpy' 2>/dev/null; then
    skip "mlpc vs scikit-learn" "$PY has no scikit-learn"
    finish
fi
"$PY" "$(dirname "$0")/vs_sklearn.py" "$MLPC" "$T"
