"""The package itself: import without scikit-learn, pip install into a venv,
`make install` with DESTDIR."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import mlpc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NATIVE = os.path.join(REPO, "python", "mlpc", "_native")


def test_public_api():
    for name in ("__version__", "version", "load", "MLPClassifier", "MLPRegressor", "datasets", "cli_path",
                 "TrainingInterrupted"):
        assert hasattr(mlpc, name), name
    assert callable(mlpc.datasets.load_mnist)
    with pytest.raises(AttributeError):
        mlpc.no_such_thing


def test_package_version_matches_library():
    text = open(os.path.join(REPO, "python", "pyproject.toml")).read()
    assert 'version = "%s"' % mlpc.version() in text, "bump python/pyproject.toml's version with mlpc.h's"


def test_without_sklearn_and_pandas():
    """numpy is the only run-time dependency: with sklearn and pandas hidden
    the estimators still fit, predict, pickle and clone their params."""
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None   # import sklearn -> ImportError
        sys.modules["pandas"] = None
        import pickle, numpy as np, mlpc
        rng = np.random.RandomState(0)
        X = rng.standard_normal((200, 3)); y = (X[:, 0] > 0).astype(int)
        clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, batch_size=20, random_state=0).fit(X, y)
        assert clf.score(X, y) > 0.9, clf.score(X, y)
        assert "sklearn" not in type(clf).__mro__[-2].__module__
        p = pickle.loads(pickle.dumps(clf))
        assert (p.predict(X) == clf.predict(X)).all()
        assert clf.get_params()["hidden_layer_sizes"] == (8,)
        c = type(clf)(**clf.get_params()).set_params(alpha=0.1)
        assert c.alpha == 0.1 and "alpha=0.1" in repr(c)
        reg = mlpc.MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, batch_size=20).fit(X, X[:, 0])
        assert reg.score(X, X[:, 0]) > 0.5
        try:
            mlpc.MLPClassifier().predict(X)
        except ValueError as e:
            assert "not fitted" in str(e)
        print("ok")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


needs_native = pytest.mark.skipif(not os.path.exists(os.path.join(NATIVE, "libmlpc.so.0")),
                                  reason="python/mlpc/_native missing (make python)")


@needs_native
def test_pip_install_into_venv(tmp_path):
    """`python3 -m pip install --no-build-isolation ./python` in a venv with
    Debian's pip/setuptools (no network: --no-index)."""
    try:
        import ensurepip  # noqa: F401  (python3-venv)
    except ImportError:
        pytest.skip("python3-venv not installed")
    src = tmp_path / "src"
    shutil.copytree(os.path.join(REPO, "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    py = str(venv / "bin" / "python")
    p = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", str(src)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    code = ("import mlpc, os; d = os.path.dirname(mlpc.__file__); "
            "assert d.startswith(%r), d; "
            "assert sorted(f for f in os.listdir(d + '/_native') if f != 'libmlpc_cuda.so') == ['libmlpc.so.0', 'mlpc']; "
            "print(mlpc.version(), mlpc.cli_path())" % str(venv))
    p = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60, cwd=str(tmp_path),
                       env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLPC_LIBRARY", "MLPC_CLI")})
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0] == mlpc.version()


def test_missing_native_library_message(tmp_path):
    pkg = tmp_path / "mlpc"
    shutil.copytree(os.path.join(REPO, "python", "mlpc"), pkg, ignore=shutil.ignore_patterns("_native", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("MLPC_LIBRARY",)}
    env["PYTHONPATH"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-c", "import mlpc"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0 and "run `make python` first" in p.stderr


@needs_native
def test_make_install_destdir(tmp_path):
    if not shutil.which("make"):
        pytest.skip("make not found")
    dest = tmp_path / "root"
    # CUDA=0: install what is built; never start building the CUDA plugin here
    p = subprocess.run(["make", "-s", "install-python", "CUDA=0", "DESTDIR=%s" % dest, "PREFIX=/usr/local",
                        "PYTHON=%s" % sys.executable], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    site = dest / "usr" / "local" / "lib" / ("python%d.%d" % sys.version_info[:2]) / "dist-packages"
    assert (site / "mlpc" / "__init__.py").exists() and (site / "mlpc" / "_native" / "libmlpc.so.0").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("MLPC_LIBRARY", "MLPC_CLI")}
    env["PYTHONPATH"] = str(site)
    p = subprocess.run([sys.executable, "-c", "import mlpc; print(mlpc.__file__)"], capture_output=True, text=True,
                       env=env, timeout=60, cwd=str(tmp_path))
    assert p.returncode == 0 and p.stdout.startswith(str(site)), p.stderr


def test_lazy_plot_and_search(tmp_path):
    """mlpc.LivePlot, mlpc.search and fit(plot=True) load mlpc/plot.py and
    mlpc/search.py on first use (stand-ins here): the protocol of fit."""
    pkg = tmp_path / "mlpc"
    shutil.copytree(os.path.join(REPO, "python", "mlpc"), pkg,
                    ignore=shutil.ignore_patterns("_native", "__pycache__", "plot.py", "search.py"))
    (pkg / "search.py").write_text("def search(*a, **k):\n    return 42\n")
    (pkg / "plot.py").write_text(textwrap.dedent("""
        calls = []
        class LivePlot:
            def on_train_begin(self, est, info): calls.append(("begin", info["n_epochs"], info["task"]))
            def on_epoch(self, m): calls.append(("epoch", m["epoch"]))
            def on_tick(self): pass
            def on_train_end(self, est): calls.append(("end", est.n_iter_))
        def dashboard(est, **kw):
            est.metrics_path = kw.get("path", "runs.jsonl")
            return "iframe"
    """))
    code = textwrap.dedent("""
        import numpy as np, mlpc
        assert mlpc.search is mlpc.search and mlpc.search() == 42, mlpc.search
        assert mlpc.LivePlot.__name__ == "LivePlot"
        X = np.random.RandomState(0).rand(50, 3); y = np.arange(50) % 2
        clf = mlpc.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2)
        assert clf.dashboard(path="d.jsonl") == "iframe" and clf.metrics_path == "d.jsonl"
        clf.fit(X, y, plot=True)
        import mlpc.plot
        assert mlpc.plot.calls == [("begin", 2, "classify"), ("epoch", 1), ("epoch", 2), ("end", 2)], mlpc.plot.calls
        assert len(open("d.jsonl").readlines()) == 2
        print("ok")
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path)
    env["MLPC_LIBRARY"] = mlpc._lib.lib._mlpc_path
    p = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env,
                       timeout=120, cwd=str(tmp_path))
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
