"""Data sets as numpy arrays, read by the C library's loaders."""

import os

import numpy as np

from ._core import Dataset

__all__ = ["load_mnist"]


def _find_mnist(path):
    cands = []
    if path is not None:
        cands.append(os.fspath(path))
    else:
        env = os.environ.get("MLPC_DATA")
        if env:
            cands += [os.path.join(env, "mnist"), env]
        here = os.path.dirname(os.path.abspath(__file__))
        cands += [os.path.join(here, "..", "..", "data", "mnist"), os.path.join("data", "mnist")]
    for d in cands:
        for suffix in ("", ".gz"):
            if os.path.exists(os.path.join(d, "train-images-idx3-ubyte" + suffix)):
                return d, suffix
    raise OSError("MNIST not found in %s: run scripts/fetch-data.sh, or pass the folder holding "
                  "train-images-idx3-ubyte (plain or .gz)" % ", ".join(map(repr, cands)))


def load_mnist(path=None, scale=True):
    """MNIST as (X_train, y_train, X_test, y_test): X float32 (n x 784),
    divided by 255 into [0, 1] when scale (else raw 0..255), y int32 0..9.

    path: the folder with the four IDX files (plain or gzip); default
    $MLPC_DATA/mnist, then the source tree's data/mnist, then ./data/mnist.
    """
    d, sfx = _find_mnist(path)
    out = []
    for kind in ("train", "t10k"):
        ds = Dataset.load_idx(os.path.join(d, "%s-images-idx3-ubyte%s" % (kind, sfx)),
                              os.path.join(d, "%s-labels-idx1-ubyte%s" % (kind, sfx)))
        try:
            X = ds.x_copy()
            y = ds.labels_copy()
        finally:
            ds.close()
        if scale:
            X *= np.float32(1.0 / 255.0)
        out += [X, y]
    return tuple(out)
