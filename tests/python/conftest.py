"""Shared data and helpers for the Python package's tests (tests/python/run.sh)."""
import os
import sys
import warnings

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

import mlpc  # noqa: E402


def blobs(n=600, d=8, k=3, seed=0, spread=1.0):
    """k Gaussian blobs in d dimensions, float64 X and int labels 0..k-1."""
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-4, 4, size=(k, d))
    y = rng.randint(0, k, size=n)
    X = centers[y] + spread * rng.standard_normal((n, d))
    return X, y


@pytest.fixture
def blob_data():
    X, y = blobs()
    return X[:450], y[:450], X[450:], y[450:]


@pytest.fixture(scope="session")
def cli():
    """The mlpc program shipped in the package (make python)."""
    p = mlpc.cli_path()
    assert os.access(p, os.X_OK), p
    return p


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        yield
