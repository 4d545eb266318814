"""Models: pickling, est.save / mlpc.load, agreement with the CLI
(`mlpc info`, `mlpc predict`, models trained by `mlpc train`), MNIST."""
import json
import os
import pickle
import subprocess

import numpy as np
import pytest

import mlpc
from conftest import blobs


def run_cli(cli, *args):
    p = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture
def fitted():
    X, y = blobs(n=300, d=6, k=3, seed=1)
    labels = np.array(["ant", "bee", "cow"])[y]
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(12, 7), max_iter=20, random_state=0, norm="standard")
    return clf.fit(X, labels), X, labels


def test_pickle_round_trip(fitted, tmp_path, cli):
    clf, X, labels = fitted
    data = pickle.dumps(clf)
    back = pickle.loads(data)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.get_params() == clf.get_params()
    assert back.n_iter_ == clf.n_iter_ and back.history_ == clf.history_
    # the pickle carries the C model file's bytes: `mlpc info` reads them
    state = clf.__getstate__()
    assert state["_model_bytes"] == clf.model_bytes()
    f = tmp_path / "from_pickle.mlpc"
    f.write_bytes(state["_model_bytes"])
    info = json.loads(run_cli(cli, "info", "--json", f))
    assert info["layers_spec"] == "6-12-7-3" and info["norm"] == "standard"
    assert info["metrics"]["python"]["classes"] == ["ant", "bee", "cow"]
    # a pickled regressor, and an unfitted estimator
    reg = mlpc.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, X[:, 0])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    assert pickle.loads(pickle.dumps(mlpc.MLPClassifier(alpha=0.5))).alpha == 0.5


def test_save_info_predict_agree(fitted, tmp_path, cli):
    clf, X, labels = fitted
    path = tmp_path / "m.mlpc"
    clf.save(path)
    info = json.loads(run_cli(cli, "info", "--json", path))
    assert info["layers_spec"] == "6-12-7-3"
    assert info["task"] == "classify"
    assert info["config"]["opt"] == "adam" and info["config"]["layers"] == "6-12-7-3"
    assert info["metrics"]["epochs"] == clf.n_iter_
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    run_cli(cli, "predict", path, "--input", tmp_path / "x.npy", "--output", tmp_path / "p.npy", "--proba")
    p_cli = np.load(tmp_path / "p.npy")
    np.testing.assert_allclose(p_cli, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    out = run_cli(cli, "predict", path, "--input", tmp_path / "x.npy").split()
    np.testing.assert_array_equal(clf.classes_[np.array(out, dtype=int)], clf.predict(X))
    # and back into Python
    back = mlpc.load(path)
    assert isinstance(back, mlpc.MLPClassifier)
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.get_params()["hidden_layer_sizes"] == (12, 7) and back.get_params()["norm"] == "standard"


def test_load_cli_models(tmp_path, cli):
    X, y = blobs(n=300, d=4, k=3, seed=2)
    np.savetxt(tmp_path / "train.csv", np.c_[X, y], delimiter=",", fmt="%.6f")
    run_cli(cli, "train", "--train", tmp_path / "train.csv", "--layers", "4-10-3", "--act", "relu",
            "--epochs", "20", "--batch", "16", "--opt", "adam", "--lr", "0.01", "--quiet",
            "--save", tmp_path / "c.mlpc")
    clf = mlpc.load(tmp_path / "c.mlpc")
    assert isinstance(clf, mlpc.MLPClassifier)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 4 and clf.n_iter_ == 20
    assert clf.get_params()["hidden_layer_sizes"] == (10,)
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    out = run_cli(cli, "predict", tmp_path / "c.mlpc", "--input", tmp_path / "x.npy").split()
    np.testing.assert_array_equal(clf.predict(X), np.array(out, dtype=int))
    assert clf.score(X, y) > 0.8
    # string labels: the model's class names become classes_, as `mlpc predict` writes them
    with open(tmp_path / "names.csv", "w") as f:
        f.write("a,b,c,d,animal\n")
        for r, c in zip(X, y):
            f.write(",".join("%.6f" % v for v in r) + "," + ["owl", "cat", "emu"][c] + "\n")
    run_cli(cli, "train", "--train", tmp_path / "names.csv", "--layers", "4-10-3", "--act", "relu",
            "--epochs", "20", "--batch", "16", "--opt", "adam", "--lr", "0.01", "--quiet",
            "--save", tmp_path / "n.mlpc")
    named = mlpc.load(tmp_path / "n.mlpc")
    np.testing.assert_array_equal(named.classes_, ["cat", "emu", "owl"])
    out = run_cli(cli, "predict", tmp_path / "n.mlpc", "--input", tmp_path / "x.npy").split()
    np.testing.assert_array_equal(named.predict(X), out)
    # regression model
    t = X[:, 0] - 0.5 * X[:, 1]
    np.savetxt(tmp_path / "reg.csv", np.c_[X, t], delimiter=",", fmt="%.6f")
    run_cli(cli, "train", "--train", tmp_path / "reg.csv", "--task", "regress", "--layers", "4-8-1",
            "--act", "tanh", "--out-act", "linear", "--loss", "mse", "--epochs", "5", "--quiet",
            "--save", tmp_path / "r.mlpc")
    reg = mlpc.load(tmp_path / "r.mlpc")
    assert isinstance(reg, mlpc.MLPRegressor)
    p = reg.predict(X)
    assert p.shape == (300,)
    out = np.array(run_cli(cli, "predict", tmp_path / "r.mlpc", "--input", tmp_path / "x.npy").split(), float)
    np.testing.assert_allclose(p, out, rtol=1e-4, atol=1e-5)


def test_load_errors(tmp_path):
    with pytest.raises(OSError):
        mlpc.load(tmp_path / "missing.mlpc")
    bad = tmp_path / "bad.mlpc"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError):
        mlpc.load(bad)
    clf = mlpc.MLPClassifier()
    with pytest.raises(ValueError):
        clf.__setstate__({"_model_bytes": b"garbage"})


def _mnist_dir():
    d = os.environ.get("MLPC_DATA")
    cands = [os.path.join(d, "mnist")] if d else []
    cands.append(os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist"))
    return next((c for c in cands if os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte"))
                 or os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte.gz"))), None)


@pytest.mark.skipif(_mnist_dir() is None, reason="MNIST not downloaded (scripts/fetch-data.sh)")
def test_load_mnist_and_train():
    X, y, Xt, yt = mlpc.datasets.load_mnist()
    assert X.shape == (60000, 784) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (60000,) and Xt.shape == (10000, 784) and set(np.unique(yt)) == set(range(10))
    assert 0 <= X.min() and X.max() <= 1
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(32,), max_iter=1, random_state=0)
    clf.partial_fit(X[:20000], y[:20000], classes=np.arange(10))
    assert clf._train_ds.borrowed  # MNIST float32 rows are used in place
    assert clf.score(Xt, yt) > 0.85


@pytest.mark.parametrize("task", ["classify", "regress"])
def test_metrics_lines_match_the_cli(tmp_path, cli, task):
    """metrics_path lines have the CLI's --metrics fields in its order, so
    `mlpc plot` and `mlpc dashboard` read them."""
    X, y = blobs(n=200, d=4, k=3, seed=4)
    if task == "classify":
        est, target, extra = mlpc.MLPClassifier(hidden_layer_sizes=(5,), max_iter=2), y, []
        layers = "4-5-3"
    else:
        est, target = mlpc.MLPRegressor(hidden_layer_sizes=(5,), max_iter=2), X[:, 0]
        # the estimator, like scikit-learn's, trains on the targets as given
        extra = ["--task", "regress", "--out-act", "linear", "--loss", "mse", "--target-norm", "none"]
        layers = "4-5-1"
    np.savetxt(tmp_path / "d.csv", np.c_[X, target], delimiter=",", fmt="%.6f")
    run_cli(cli, "train", "--train", tmp_path / "d.csv", "--layers", layers, "--epochs", "2", "--quiet",
            "--metrics", tmp_path / "cli.jsonl", *extra)
    est.set_params(metrics_path=str(tmp_path / "py.jsonl")).fit(X, target)
    cli_lines = [json.loads(s) for s in open(tmp_path / "cli.jsonl")]
    py_lines = [json.loads(s) for s in open(tmp_path / "py.jsonl")]
    assert [list(m) for m in py_lines] == [list(m) for m in cli_lines]
    assert py_lines[0]["run"] == "py" and [m["epoch"] for m in py_lines] == [1, 2]
    png = tmp_path / "p.png"
    run_cli(cli, "plot", tmp_path / "py.jsonl", "--output", png)
    assert png.stat().st_size > 1000


def test_load_single_sigmoid_output_model(tmp_path):
    """A binary model with one sigmoid output (made with the C API, no
    stored task) loads as a classifier with classes 0 and 1."""
    from mlpc import _core, _lib
    cfg = _core.config_default()
    err = _lib.mlpc_error()
    _lib.check(_lib.lib.mlpc_config_set_layers(cfg, b"3-4-1", err), err)
    cfg.loss = _lib.LOSS["bce"]
    _lib.lib.mlpc_config_set_acts(cfg, _lib.ACT["tanh"], _lib.ACT["sigmoid"])
    net = _core.Net.create(cfg)
    net.save(tmp_path / "b.mlpc")
    clf = mlpc.load(tmp_path / "b.mlpc")
    assert isinstance(clf, mlpc.MLPClassifier)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    X = np.random.RandomState(0).standard_normal((20, 3))
    p = clf.predict_proba(X)
    assert p.shape == (20, 2)
    np.testing.assert_allclose(p.sum(1), 1)
    np.testing.assert_array_equal(clf.predict(X), (p[:, 1] >= 0.5).astype(int))
