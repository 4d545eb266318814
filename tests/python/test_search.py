"""mlpc.search: a tiny search on a small table (tests/python/run.sh)."""
import os
import sqlite3

import numpy as np
import pytest

import mlpc
from conftest import blobs

pd = pytest.importorskip("pandas")

SPACE = {"hidden_layer_sizes": [(8,), (16, 8)], "learning_rate_init": ("log", 1e-3, 1e-1),
         "activation": ["relu", "tanh"], "batch_size": [16, 32]}


@pytest.fixture(scope="module")
def table():
    X, y = blobs(n=300, d=6, k=3, seed=3)
    return X, np.array(["ant", "bee", "cat"])[y]  # string labels: mapped to 0..K-1 and back


def test_search_two_workers(tmp_path, table):
    X, y = table
    db = str(tmp_path / "tiny.db")
    r = mlpc.search(SPACE, X, y, workers=2, trials=6, epochs=6, db=db, seed=5,
                    oversubscribe=True)  # 2 workers also on a 1-core machine
    df = r.trials
    assert isinstance(df, pd.DataFrame) and len(df) == 6
    for col in ("number", "state", "hidden_layer_sizes", "learning_rate_init", "activation", "batch_size",
                "epochs", "val_loss", "wall_s", "command"):
        assert col in df.columns, col
    assert set(df["state"]) <= {"complete", "pruned", "failed"}
    assert (df["state"] == "complete").any()
    assert set(df["activation"]) <= {"relu", "tanh"}
    assert set(df["hidden_layer_sizes"]) <= {(8,), (16, 8)}
    assert ((df["learning_rate_init"] >= 1e-3) & (df["learning_rate_init"] <= 1e-1)).all()
    bp = r.best_params
    assert bp["hidden_layer_sizes"] in [(8,), (16, 8)] and bp["batch_size"] in (16, 32)
    best = df[df["state"] == "complete"]["val_loss"].min()
    assert r.best_value == best
    pred = r.best_estimator.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= {"ant", "bee", "cat"}
    assert r.best_estimator.get_params()["learning_rate_init"] == bp["learning_rate_init"]
    rep = r.report
    assert rep["workers"] == 2 and rep["threads"] == 1 and rep["sessions"] == 1
    assert rep["wall_s"] > 0 and 0 < rep["cpu_efficiency"] <= 1.5
    assert os.path.exists(db)
    # tuple-like
    est, params, trials, report = r
    assert params == bp and report is rep


def test_search_resume_continues(tmp_path, table):
    X, y = table
    db = str(tmp_path / "res.db")
    kw = dict(workers=1, trials=5, epochs=3, db=db, asha=False, sampler="random")
    r1 = mlpc.search(SPACE, X, y, refit=False, **kw)
    assert set(r1.trials["state"]) == {"complete"}
    # as after a kill -9: two trials were running
    con = sqlite3.connect(db)
    con.execute("UPDATE trials SET state='running', value=NULL WHERE number IN (1, 3)")
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="already there"):
        mlpc.search(SPACE, X, y, refit=False, **kw)
    r2 = mlpc.search(SPACE, X, y, resume=True, refit=False, **kw)
    assert set(r2.trials["state"]) == {"complete"}
    assert r2.report["sessions"] == 2
    # the same trials, the same results (deterministic per trial seed)
    assert np.allclose(r1.trials["val_loss"].values, r2.trials["val_loss"].values)


@pytest.mark.parametrize("space", [
    {"colour": ["red"]},                                 # no such parameter
    {"activation": ("log", 1, 2)},                       # a range of names
    {"learning_rate_init": ("log", 0, 1)},               # log range from 0
    {"learning_rate_init": ("exp", 1e-3, 1e-1)},         # unknown range kind
    {"batch_size": ("uniform", 8, 64)},                  # float range of an int
    {"hidden_layer_sizes": [(8, -1)]},                   # bad width
    {"alpha": [1e-4, 1e-3], "batch_size": [16, 32]},     # alpha needs a fixed batch
    {},
])
def test_bad_space(space, table, tmp_path):
    X, y = table
    with pytest.raises(ValueError):
        mlpc.search(space, X, y, db=str(tmp_path / "bad.db"), trials=2, epochs=1)


def test_cli_error_message(tmp_path, table):
    X, y = table
    # a grid over a float range without a number of points: the CLI refuses (exit 2)
    with pytest.raises(ValueError, match="mlpc search"):
        mlpc.search({"learning_rate_init": ("log", 1e-3, 1e-1)}, X, y, sampler="grid", trials=0,
                    db=str(tmp_path / "g.db"), epochs=1)


def test_space_mapping():
    from mlpc.search import space_to_json
    p = space_to_json({"hidden_layer_sizes": [(32,), (64, 32)], "learning_rate_init": ("log", 1e-4, 1e-1, 4),
                       "activation": ["relu", "logistic"], "batch_size": ("int", 16, 64, 16)},
                      {"batch_size": 32})
    assert p["hidden"] == [[32], [64, 32]]
    assert p["lr"] == {"min": 1e-4, "max": 1e-1, "log": True, "n": 4}
    assert p["act"] == ["relu", "sigmoid"]
    assert p["batch"] == {"min": 16, "max": 64, "step": 16}
    # alpha is mlpc's l2 times the batch: it needs a fixed batch_size
    with pytest.raises(ValueError):
        space_to_json({"alpha": 1e-3, "batch_size": [16, 32]})
    assert space_to_json({"alpha": 3.2e-3, "batch_size": 32})["l2"] == pytest.approx(1e-4)


def test_regression_grid_streamed(tmp_path, capfd):
    rng = np.random.RandomState(0)
    X = rng.rand(300, 5)
    y = X @ np.arange(5.0) + 0.1 * rng.randn(300)
    r = mlpc.search({"hidden_layer_sizes": [(16,), (32,)], "learning_rate_init": ("log", 1e-3, 1e-1, 3)}, X, y,
                    sampler="grid", trials=0, epochs=3, db=str(tmp_path / "r.db"), workers=2, quiet=False,
                    oversubscribe=True)
    assert len(r.trials) == 6 and r.output is None
    assert sorted(set(r.trials["learning_rate_init"].round(6))) == [0.001, 0.01, 0.1]
    assert isinstance(r.best_estimator, mlpc.MLPRegressor)
    assert r.best_estimator.predict(X).shape == (300,)
    assert "parallel efficiency" in capfd.readouterr().out  # the CLI's report, streamed
