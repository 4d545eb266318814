"""MLPClassifier / MLPRegressor: training, labels, partial_fit, callbacks,
interrupts, bad inputs, zero-copy data and concurrent predict."""
import threading

import numpy as np
import pytest

import mlpc
from conftest import blobs

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def test_version():
    assert mlpc.__version__ == mlpc.version()
    assert mlpc.version().count(".") == 2


def test_iris_accuracy_close_to_sklearn():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.RandomState(1)
    idx = rng.permutation(len(y))
    tr, te = idx[:110], idx[110:]
    ours = mlpc.MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X[tr], y[tr])
    sk = SkMLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X[tr], y[tr])
    a, b = ours.score(X[te], y[te]), sk.score(X[te], y[te])
    assert a >= b - 0.08, (a, b)
    assert a > 0.85
    assert list(ours.classes_) == [0, 1, 2]
    assert ours.n_features_in_ == 4
    assert ours.n_iter_ >= 1 and len(ours.loss_curve_) == ours.n_iter_
    assert ours.loss_curve_[-1] < ours.loss_curve_[0]


def test_blobs_accuracy_close_to_sklearn(blob_data):
    Xtr, ytr, Xte, yte = blob_data
    ours = mlpc.MLPClassifier(max_iter=50, random_state=0).fit(Xtr, ytr)
    sk = SkMLPClassifier(max_iter=50, random_state=0).fit(Xtr, ytr)
    assert ours.score(Xte, yte) >= sk.score(Xte, yte) - 0.05
    p = ours.predict_proba(Xte)
    assert p.shape == (len(yte), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(ours.classes_[p.argmax(1)], ours.predict(Xte))
    W = ours.coefs_
    assert [w.shape for w in W] == [(8, 100), (100, 3)]
    assert [b.shape for b in ours.intercepts_] == [(100,), (3,)]
    W[0][:] = 0  # copies: the model is unchanged
    assert np.abs(ours.coefs_[0]).sum() > 0


@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "emu"]),
    np.array([1, 2, 3]),
    np.array([-1, 1, 7]),
])
def test_label_types(blob_data, labels):
    Xtr, ytr, Xte, yte = blob_data
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(Xtr, labels[ytr])
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(Xte)
    assert pred.dtype == labels.dtype
    assert set(pred) <= set(labels)
    assert clf.score(Xte, labels[yte]) > 0.9


def test_binary_pm1_and_bool_labels():
    X, y = blobs(n=300, k=2, seed=3)
    for lab in (np.where(y == 1, 1, -1), y.astype(bool)):
        clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0).fit(X, lab)
        assert len(clf.classes_) == 2
        assert clf.predict_proba(X).shape == (300, 2)
        assert clf.score(X, lab) > 0.9


def test_regression_r2():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(800, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 2]
    reg = mlpc.MLPRegressor(hidden_layer_sizes=(64,), max_iter=300, random_state=0).fit(X[:600], y[:600])
    sk = SkMLPRegressor(hidden_layer_sizes=(64,), max_iter=300, random_state=0).fit(X[:600], y[:600])
    r2, r2sk = reg.score(X[600:], y[600:]), sk.score(X[600:], y[600:])
    assert r2 > 0.9 and r2 >= r2sk - 0.05, (r2, r2sk)
    pred = reg.predict(X[600:])
    assert pred.shape == (200,) and pred.dtype == np.float64


def test_regression_2d_targets():
    rng = np.random.RandomState(1)
    X = rng.uniform(-1, 1, size=(500, 2))
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 0] - 2 * X[:, 1]]
    reg = mlpc.MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (500, 2)
    assert reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.95


def test_partial_fit():
    X, y = blobs(n=400, k=3, seed=5)
    labels = np.array(["a", "b", "c"])[y]
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], labels[:100])
    clf.partial_fit(X[:100], labels[:100], classes=["a", "b", "c"])
    assert clf.n_iter_ == 1
    for _ in range(30):
        clf.partial_fit(X, labels)
    assert clf.n_iter_ == 31
    assert clf.score(X, labels) > 0.9
    assert [m["epoch"] for m in clf.history_] == list(range(1, 32))
    with pytest.raises(ValueError, match="unseen labels"):
        clf.partial_fit(X[:10], np.array(["a"] * 9 + ["zz"]))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :3], labels[:10])
    reg = mlpc.MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    t = X[:, 0] * 0.5
    for _ in range(3):
        reg.partial_fit(X, t)
    assert reg.n_iter_ == 3


def test_warm_start_continues():
    X, y = blobs(n=300, seed=2)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0,
                             n_iter_no_change=1000)
    clf.fit(X, y)
    w = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 10 and len(clf.history_) == 10
    assert clf.history_[-1]["epoch"] == 10
    assert not np.array_equal(w, clf.coefs_[0])


def test_deterministic_with_random_state(blob_data):
    Xtr, ytr, Xte, _ = blob_data
    a = mlpc.MLPClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=7).fit(Xtr, ytr)
    b = mlpc.MLPClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=7).fit(Xtr, ytr)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))


def test_early_stopping_validation():
    X, y = blobs(n=600, seed=4)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, early_stopping=True, n_iter_no_change=3,
                             random_state=0).fit(X, y)
    assert clf.validation_scores_ is not None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert all(m["val_acc"] is not None for m in clf.history_)
    clf.partial_fit(X, y)  # one more epoch, without early stopping
    assert clf.n_iter_ == len(clf.history_) and clf.best_loss_ == clf.loss_curve_[-1]
    reg = mlpc.MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, early_stopping=True, random_state=0)
    reg.fit(X, X[:, 0] + X[:, 1])
    assert len(reg.validation_scores_) == reg.n_iter_ and reg.best_validation_score_ > 0.5


def test_tol_stops_on_training_loss():
    X, y = blobs(n=300, seed=6)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=500, tol=10.0, n_iter_no_change=2,
                             random_state=0).fit(X, y)
    sk = SkMLPClassifier(hidden_layer_sizes=(8,), max_iter=500, tol=10.0, n_iter_no_change=2,
                         random_state=0).fit(X, y)
    # the first epoch improves on +inf; then n_iter_no_change + 1 epochs without
    # an improvement by tol stop training (scikit-learn's count)
    assert clf.n_iter_ == sk.n_iter_ == 4
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_callbacks_and_history(tmp_path):
    X, y = blobs(n=400, seed=7)
    seen = []

    class Recorder:
        def __init__(self):
            self.calls = []

        def on_train_begin(self, est, info):
            self.calls.append(("begin", info))

        def on_batch(self, info):
            self.calls.append(("batch", info))

        def on_epoch(self, metrics):
            self.calls.append(("epoch", metrics))

        def on_train_end(self, est):
            self.calls.append(("end", est))

    def stop_at_3(m):
        seen.append(m)
        return m["epoch"] < 3  # False at epoch 3 stops training

    rec = Recorder()
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, batch_size=10, random_state=0,
                             metrics_path=str(tmp_path / "m.jsonl"))
    clf.fit(X, y, callbacks=[rec, stop_at_3])
    assert clf.n_iter_ == 3 and len(seen) == 3
    kinds = [c[0] for c in rec.calls]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("epoch") == 3
    info = rec.calls[0][1]
    assert info["n_epochs"] == 50 and info["n_batches_per_epoch"] == 40 and info["n_samples"] == 400
    assert info["task"] == "classify" and info["run"] == "m"
    batches = [c[1] for c in rec.calls if c[0] == "batch"]
    # about 20 per epoch (every 2nd of 40 batches), never every batch
    assert 3 * 15 <= len(batches) <= 3 * 21
    assert set(batches[0]) == {"epoch", "batch", "n_batches", "loss", "acc", "run_loss", "run_acc", "lr", "seconds"}
    h = clf.history_
    assert [m["epoch"] for m in h] == [1, 2, 3]
    for k in ("run", "time", "epoch", "loss", "acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
              "epoch_seconds", "eval_seconds", "samples_per_second"):
        assert k in h[0]
    assert h[0]["val_acc"] is None and 0 <= h[0]["acc"] <= 1
    assert clf.loss_curve_ == [m["loss"] for m in h]
    import json
    lines = [json.loads(s) for s in open(tmp_path / "m.jsonl")]
    assert [m["epoch"] for m in lines] == [1, 2, 3]
    assert list(lines[0]) == list(h[0])  # the CLI's field order
    assert lines[0]["run"] == "m" and lines[0]["val_acc"] is None


def test_callback_exception_propagates():
    X, y = blobs(n=200)

    def boom(m):
        raise RuntimeError("boom at %d" % m["epoch"])

    class End:
        ended = 0

        def on_train_end(self, est):
            self.ended += 1

    end = End()
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=20)
    with pytest.raises(RuntimeError, match="boom at 1"):
        clf.fit(X, y, callbacks=[boom, end])
    assert clf.n_iter_ == 1 and end.ended == 1


def _interrupt_when(clf, epoch):
    """A callback that, at `epoch`, lets another thread call the estimator's
    interrupt and waits until it has: deterministic, no sleeps."""
    reached, done = threading.Event(), threading.Event()

    def other():
        reached.wait(60)
        clf._interrupt()
        done.set()

    threading.Thread(target=other, daemon=True).start()

    def cb(m):
        if m["epoch"] == epoch:
            reached.set()
            assert done.wait(60)

    return cb


@pytest.mark.parametrize("early_stopping", [False, True])
def test_interrupt_from_another_thread(early_stopping):
    X, y = blobs(n=400, seed=8)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=1000, n_iter_no_change=1000, random_state=0,
                             early_stopping=early_stopping, batch_size=20)
    with pytest.warns(mlpc.TrainingInterrupted, match="interrupted at epoch"):
        clf.fit(X, y, callbacks=[_interrupt_when(clf, 2)])
    # epoch 3 stops at its first batch boundary (its statistics may be reported)
    assert 2 <= clf.n_iter_ <= 3
    assert clf.predict(X).shape == (400,)
    assert set(clf.predict(X)) <= {0, 1, 2}
    # the estimator trains again normally afterwards
    clf.set_params(max_iter=3, early_stopping=False)
    clf.fit(X, y)
    assert clf.n_iter_ == 3


def test_keyboard_interrupt_in_fit():
    """Ctrl-C (Jupyter's stop button) raises KeyboardInterrupt in the thread
    that called fit; fit stops training and returns normally."""
    import _thread
    X, y = blobs(n=400, seed=9)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=1000, n_iter_no_change=1000, random_state=0)
    state = {}

    def cb(m):
        if m["epoch"] == 2:
            state["ev"] = clf._interrupt_event
            _thread.interrupt_main()  # KeyboardInterrupt in the fitting thread
            assert clf._interrupt_event.wait(60)  # set once fit has called mlpc_trainer_interrupt

    with pytest.warns(mlpc.TrainingInterrupted):
        ret = clf.fit(X, y, callbacks=[cb])
    assert ret is clf and 2 <= clf.n_iter_ <= 3
    assert clf.predict(X[:5]).shape == (5,)


def test_on_tick_runs_on_calling_thread():
    X, y = blobs(n=300)
    main = threading.get_ident()
    ticks, threads = [], set()

    class Ticker:
        def on_tick(self):
            ticks.append(1)
            threads.add(threading.get_ident())

        def on_epoch(self, m):
            # let the ticker run at least once, without timing: wait for a tick
            if m["epoch"] == 1:
                n = len(ticks)
                while len(ticks) == n:
                    ev.wait(0.01)

    ev = threading.Event()
    mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y, callbacks=[Ticker()])
    assert ticks and threads == {main}


def test_bad_inputs():
    X, y = blobs(n=100, d=4)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    Xn = X.copy()
    Xn[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"x\[7\]\[2\] is NaN"):
        clf.fit(Xn, y)
    with pytest.raises(ValueError, match=r"x\[7\]\[2\] is NaN"):  # row of X, not of the shuffled split
        mlpc.MLPClassifier(early_stopping=True).fit(Xn, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match=r"\[7\]\[2\].*NaN"):
        clf.predict(Xn)
    Xi = X.copy()
    Xi[3, 0] = np.inf
    with pytest.raises(ValueError):
        clf.predict(Xi)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="unseen labels"):
        clf.score(X, np.where(y == 0, 9, y))
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(np.empty((0, 4)))
    with pytest.raises(ValueError, match="0 sample"):
        mlpc.MLPClassifier().fit(np.empty((0, 4)), np.empty(0))
    with pytest.raises(ValueError, match="2D"):
        clf.predict(X[0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        mlpc.MLPClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="one class"):
        mlpc.MLPClassifier().fit(X, np.zeros(100))
    with pytest.raises(ValueError, match="continuous"):
        mlpc.MLPClassifier().fit(X, np.linspace(0, 1, 100))
    with pytest.raises(ValueError, match="lbfgs"):
        mlpc.MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        mlpc.MLPRegressor().fit(X, np.full(100, np.nan))
    with pytest.raises(TypeError):
        mlpc.MLPClassifier().fit(np.array([[{"a": 1}]] * 10), np.arange(10) % 2)
    with pytest.raises(Exception) as ei:
        mlpc.MLPClassifier().predict(X)
    assert "not fitted" in str(ei.value)


def test_zero_copy_borrow():
    X, y = blobs(n=300, d=5)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    # the internal dataset of partial_fit stays alive: inspect it
    clf.partial_fit(X32, y, classes=[0, 1, 2])
    ds = clf._train_ds
    assert ds.borrowed and mlpc._lib.lib.mlpc_dataset_borrowed(ds.handle) == 1
    assert ds._arrays[0] is X32  # the caller's array itself, no copy
    # float64 input: converted once, into an array the dataset then borrows
    clf.partial_fit(X, y)
    ds = clf._train_ds
    assert ds._arrays[0] is not X and ds._arrays[0].dtype == np.float32
    assert ds._arrays[0].base is None  # one fresh copy, not a view of a temporary
    # row-strided float32 (every other column of a wider array): the library
    # copies the rows once (borrow needs dense rows)
    wide = np.zeros((300, 10), dtype=np.float32)
    wide[:, :5] = X32
    clf.partial_fit(wide[:, :5], y)
    ds = clf._train_ds
    assert not ds.borrowed and ds._arrays is None
    np.testing.assert_array_equal(clf.predict(wide[:, :5]), clf.predict(X32))
    # normalization other than none rewrites the rows: never borrowed from the caller
    clf2 = mlpc.MLPClassifier(hidden_layer_sizes=(4,), norm="standard", random_state=0)
    clf2.partial_fit(X32, y, classes=[0, 1, 2])
    assert not clf2._train_ds.borrowed
    assert np.array_equal(X32, np.ascontiguousarray(X, dtype=np.float32))  # untouched


def test_readonly_and_fortran_inputs():
    X, y = blobs(n=200, d=4)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    X32.setflags(write=False)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X32, y)
    a = clf.predict_proba(X32)
    b = clf.predict_proba(np.asfortranarray(X))
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = blobs(n=200, d=3)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(df), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["c", "b", "a"]])


def test_concurrent_predict_matches_single_thread():
    X, y = blobs(n=2000, d=20, k=4, seed=11)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=5, random_state=0).fit(X, y)
    ref = clf.predict_proba(X)
    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        for _ in range(5):
            r = clf.predict_proba(X)
            if results[i] is not None:
                assert np.array_equal(r, results[i])
            results[i] = r

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, ref)


def test_params_mapping():
    X, y = blobs(n=200, d=4)
    for kw in ({"solver": "sgd", "learning_rate_init": 0.05}, {"solver": "rmsprop"},
               {"activation": "tanh", "learning_rate": "adaptive", "solver": "sgd"},
               {"activation": "logistic", "schedule": {"name": "step", "factor": 0.5, "step": 2}},
               {"activation": "identity", "norm": "scale", "alpha": 0.0, "batch_size": 32},
               {"hidden_layer_sizes": (16, 8), "threads": 2, "shuffle": False}):
        clf = mlpc.MLPClassifier(max_iter=5, random_state=0, **kw).fit(X, y)
        assert clf.n_iter_ == 5
    with pytest.raises(ValueError, match="invscaling"):
        mlpc.MLPClassifier(learning_rate="invscaling").fit(X, y)


@pytest.mark.parametrize("dtype,kw,copies", [
    (np.float32, {}, 0),                               # borrowed in place
    (np.float64, {}, 1),                               # converted once
    (np.float64, {"early_stopping": True}, 1),         # gathered into train/validation once
    (np.float32, {"early_stopping": True}, 1),
    (np.float32, {"norm": "standard"}, 0),             # the C library copies (outside numpy)
])
def test_at_most_one_copy(dtype, kw, copies):
    """Peak numpy memory during fit: never two float32 copies of X."""
    import tracemalloc
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20000, 50)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0, **kw)
    f32 = X.shape[0] * X.shape[1] * 4
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        clf.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < (copies + 0.5) * f32, (peak, f32)
    if copies:  # tracemalloc sees numpy's buffers: the one copy is there
        assert peak > 0.9 * copies * f32, (peak, f32)


def test_device():
    X, y = blobs(n=200, d=4)
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, device="auto").fit(X, y)
    assert clf.n_iter_ == 3  # the GPU when one works, else the CPU
    with pytest.raises(ValueError, match="device must be"):
        mlpc.MLPClassifier(device="tpu").fit(X, y)
    try:
        clf = mlpc.MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, device="cuda").fit(X, y)
    except RuntimeError as e:  # no GPU here: one line on what is missing
        assert "GPU" in str(e) or "CUDA" in str(e)
    else:
        assert clf.n_iter_ == 3 and clf.predict(X).shape == (200,)


def test_predict_reads_strided_rows_in_place():
    import tracemalloc
    rng = np.random.RandomState(0)
    wide = rng.standard_normal((20000, 80)).astype(np.float32)
    X = wide[:, :50]  # float32 rows with a row stride of 80
    clf = mlpc.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X[:500], (X[:500, 0] > 0))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        p = clf.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 0.2 * X.shape[0] * X.shape[1] * 4, peak  # the outputs only, no copy of X
    np.testing.assert_array_equal(p, clf.predict_proba(np.ascontiguousarray(X)))


def _has_bf16():
    return mlpc._lib.lib.mlpc_cpu_has_bf16() == 1


def test_precision(monkeypatch):
    """precision='bf16' trains with bf16 products where the CPU has them (other
    weights than fp32, a close score, float32 predictions); 'auto' falls back
    to fp32 without AVX512_BF16; a bad value is a ValueError."""
    X, y = blobs(n=1200, d=16, k=3, seed=4)
    kw = dict(hidden_layer_sizes=(64,), max_iter=4, batch_size=100, random_state=2)
    with pytest.raises(ValueError, match="precision"):
        mlpc.MLPClassifier(precision="fp16", **kw).fit(X, y)
    a = mlpc.MLPClassifier(precision="fp32", **kw).fit(X, y)
    if not _has_bf16():
        print("SKIP test_precision (bf16 runs): this CPU has no AVX512_BF16")
    else:
        b = mlpc.MLPClassifier(precision="bf16", **kw).fit(X, y)
        assert not np.array_equal(a.coefs_[0], b.coefs_[0])
        assert abs(a.score(X, y) - b.score(X, y)) < 0.03
        assert b.predict_proba(X).dtype == np.float64
    monkeypatch.setenv("MLPC_NO_BF16", "1")
    with pytest.raises(ValueError, match="AVX512_BF16"):
        mlpc.MLPClassifier(precision="bf16", **kw).fit(X, y)
    c = mlpc.MLPClassifier(precision="auto", **kw).fit(X, y)
    assert np.array_equal(a.coefs_[0], c.coefs_[0])
