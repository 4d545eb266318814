"""scikit-learn compatibility: check_estimator and the model-selection tools."""
import warnings

import numpy as np
import pytest

import mlpc
from conftest import blobs

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402


@pytest.mark.parametrize("Est", [mlpc.MLPClassifier, mlpc.MLPRegressor])
def test_check_estimator(Est):
    # Every check of sklearn 1.2's check_estimator passes; none is xfailed.
    failures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est, check in check_estimator(Est(), generate_only=True):
            try:
                check(est)
            except Exception as e:  # collect them all for one readable failure
                failures.append("%s: %s: %s" % (getattr(check, "func", check).__name__, type(e).__name__, e))
    assert not failures, "\n".join(failures)


def test_pipeline_gridsearch_cross_val_clone():
    X, y = blobs(n=300, d=5, k=3, seed=3)
    pipe = make_pipeline(StandardScaler(), mlpc.MLPClassifier(max_iter=100, batch_size=32, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X, y)
        scores = cross_val_score(mlpc.MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
                                 X, X[:, 0] * 2 - X[:, 1], cv=3)
    assert grid.best_score_ > 0.8
    assert set(grid.best_params_) == {"mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    assert grid.predict(X).shape == (300,)
    assert len(scores) == 3 and np.all(np.isfinite(scores))
    est = mlpc.MLPClassifier(hidden_layer_sizes=(3, 2), activation="tanh", threads=2).fit(X, y)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "classes_")
