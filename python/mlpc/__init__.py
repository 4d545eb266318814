"""mlpc: dense neural networks (MLPs) trained fast by a C library, with
scikit-learn style estimators for notebooks.

    import mlpc
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(128,), max_iter=20)
    clf.fit(X_train, y_train, plot=True)       # live plot; Ctrl-C stops cleanly
    clf.score(X_test, y_test)
    clf.save("model.mlpc")                     # `mlpc info model.mlpc` reads it
"""

from . import _lib
from .estimators import MLPClassifier, MLPRegressor, TrainingInterrupted, load
from . import datasets

__version__ = _lib.version()

__all__ = ["__version__", "version", "load", "MLPClassifier", "MLPRegressor", "TrainingInterrupted",
           "datasets", "LivePlot", "search", "cli_path"]

cli_path = _lib.cli_path


def version():
    """The version of the loaded C library ("MAJOR.MINOR.PATCH")."""
    return _lib.version()


def __getattr__(name):
    # mlpc.plot and mlpc.search load on first use, so the package imports
    # without them (and without matplotlib)
    import importlib
    if name == "LivePlot":
        value = importlib.import_module(".plot", __name__).LivePlot
    elif name == "search":
        # importing the submodule binds mlpc.search to the module: rebind
        # the name to the function
        value = importlib.import_module(".search", __name__).search
    elif name == "plot":
        return importlib.import_module(".plot", __name__)
    else:
        raise AttributeError("module 'mlpc' has no attribute %r" % name)
    globals()[name] = value
    return value
