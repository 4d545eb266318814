"""mlpc.plot: LivePlot (terminal fallback, throttling, updates during a fit) and dashboard()."""
import gc
import io
import os
import threading
import urllib.request

import pytest

import mlpc
from conftest import blobs

pytest.importorskip("matplotlib")
from mlpc.plot import LivePlot  # noqa: E402


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class TTY(io.StringIO):
    def isatty(self):
        return True


INFO = {"n_epochs": 10, "n_batches_per_epoch": 100, "n_samples": 1000, "task": "classify", "run": "t"}


def _batch(e, b, n=100):
    return {"epoch": e, "batch": b, "n_batches": n, "loss": 0.5, "acc": 0.8, "run_loss": 1.0 / (e + b / n),
            "run_acc": 0.9, "lr": 0.01, "seconds": 0.001 * (b + 1)}


def _epoch(e):
    return {"epoch": e, "loss": 1.0 / e, "acc": 0.9, "val_loss": 1.1 / e, "val_acc": 0.85, "test_acc": None,
            "lr": 0.01, "epoch_seconds": 0.1, "samples_per_second": 10000.0}


def _simulate(lp, clock, seconds, step=0.01):
    """Batches every `step` simulated seconds with an on_tick after each; an epoch every 100 batches."""
    lp.on_train_begin(None, dict(INFO))
    n = int(round(seconds / step))
    for i in range(n):
        e, b = i // 100 + 1, i % 100
        lp.on_batch(_batch(e, b))
        if b == 99:
            lp.on_epoch(_epoch(e))
        clock.t += step
        lp.on_tick()


def test_throttle_notebook_at_most_4_per_second():
    clock = FakeClock()
    lp = LivePlot(mode="notebook", clock=clock, max_duty=float("inf"))
    _simulate(lp, clock, seconds=5.0)
    during = lp.updates
    # the first frame at the first on_tick, then at most one per 0.25 simulated s
    assert 5 * 4 - 1 <= during <= 1 + 5 * 4 + 1
    lp.on_train_end(None)
    assert lp.updates == during + 1  # the final frame is always drawn
    assert lp.png.startswith(b"\x89PNG")


def test_throttle_interval_is_a_parameter():
    clock = FakeClock()
    lp = LivePlot(mode="terminal", clock=clock, interval=1.0, stream=TTY())
    _simulate(lp, clock, seconds=5.0)
    assert 4 <= lp.updates <= 6


def test_no_redraw_without_new_data():
    clock = FakeClock()
    lp = LivePlot(mode="notebook", clock=clock, max_duty=float("inf"))
    lp.on_train_begin(None, dict(INFO))
    n = lp.updates
    for _ in range(20):
        clock.t += 1.0
        lp.on_tick()
    assert lp.updates == n


def test_terminal_lines_and_tty_progress():
    clock = FakeClock()
    s = TTY()
    lp = LivePlot(mode="terminal", clock=clock, stream=s)
    _simulate(lp, clock, seconds=3.0)
    lp.on_train_end(None)
    out = s.getvalue()
    lines = [ln for ln in out.replace("\r\x1b[K", "\n").split("\n") if ln.startswith("epoch") and "loss" in ln
             and "[" not in ln]
    assert len(lines) == 3 and lines[0].startswith("epoch  1/10")
    assert "\repoch" in out and "[" in out  # the progress line within the epoch


def test_terminal_without_tty_has_no_progress():
    clock = FakeClock()
    s = io.StringIO()
    lp = LivePlot(mode="terminal", clock=clock, stream=s)
    _simulate(lp, clock, seconds=3.0)
    lp.on_train_end(None)
    assert "\r" not in s.getvalue()
    assert s.getvalue().count("\n") == 3


def test_fit_plot_true_outside_notebook_prints_epochs(capsys, blob_data):
    X, y, _, _ = blob_data
    clf = mlpc.MLPClassifier((16,), max_iter=4, batch_size=16, random_state=0)
    clf.fit(X, y, plot=True)
    err = capsys.readouterr().err
    assert sum(1 for ln in err.splitlines() if ln.startswith("epoch ")) == 4


class SyncPlot(LivePlot):
    """Each epoch waits (on the training thread) until the plot has drawn it:
    the count does not depend on how fast training runs."""

    def __init__(self, **kw):
        super().__init__(mode="notebook", clock=self._clock, max_duty=float("inf"), **kw)
        self.drawn = threading.Event()
        self.t = 0.0
        self.during = 0

    def _clock(self):
        self.t += 1.0  # never throttled
        return self.t

    def _draw(self, final):
        super()._draw(final)
        if not final:
            self.during = self.updates
        self.drawn.set()

    def on_epoch(self, metrics):
        super().on_epoch(metrics)
        self.drawn.clear()
        if not self.drawn.wait(60):
            raise AssertionError("no on_tick within 60 s")


def test_updates_during_fit():
    X, y = blobs(n=2000, d=8, k=3)
    lp = SyncPlot()
    clf = mlpc.MLPClassifier((16,), max_iter=5, batch_size=8, random_state=0, early_stopping=True)
    clf.fit(X, y, callbacks=[lp])
    assert lp.during >= 5  # one per epoch at least
    assert lp.updates == lp.during + 1
    assert len(lp.epochs) == 5 and len(lp.batches) >= 5 * 20
    assert lp.png.startswith(b"\x89PNG")


def test_regression_plot_renders():
    clock = FakeClock()
    lp = LivePlot(mode="notebook", clock=clock, max_duty=float("inf"))
    info = dict(INFO, task="regress")
    lp.on_train_begin(None, info)
    lp.on_epoch(dict(_epoch(1), mse=0.3, val_mse=0.4))
    lp.on_train_end(None)
    assert lp.png.startswith(b"\x89PNG") and lp.updates == 1


def test_bad_mode():
    with pytest.raises(ValueError):
        LivePlot(mode="browser")


def test_dashboard_serves_and_stops(tmp_path):
    clf = mlpc.MLPClassifier((8,), max_iter=3, random_state=0)
    r = clf.dashboard(port=0)
    url = r if isinstance(r, str) else r.src
    assert url.startswith("http://127.0.0.1:")
    assert clf.metrics_path and os.path.exists(clf.metrics_path)
    with urllib.request.urlopen(url, timeout=120) as resp:
        assert resp.status == 200
        assert b"<html" in resp.read().lower()
    X, y = blobs(n=200)
    clf.fit(X, y)
    with open(clf.metrics_path) as f:
        assert len(f.readlines()) == 3
    from mlpc import plot
    proc = plot._servers[id(clf)][0]
    assert proc.poll() is None
    del clf, r
    gc.collect()
    assert proc.wait(timeout=120) is not None  # terminated when the estimator went away


def test_dashboard_bad_port_raises():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        clf = mlpc.MLPClassifier()
        with pytest.raises(RuntimeError, match="mlpc dashboard"):
            clf.dashboard(port=s.getsockname()[1], timeout=10)
    finally:
        s.close()


def test_duty_cycle_limit():
    """A frame that took d seconds to draw delays the next one by d / max_duty."""
    clock = FakeClock()
    lp = LivePlot(mode="notebook", clock=clock, max_duty=0.05)
    lp.on_train_begin(None, dict(INFO))
    lp.on_batch(_batch(1, 0))
    lp.on_tick()
    assert lp.updates == 1
    lp._cost = 0.05  # as if the last frame took 50 ms: the next one waits 1 s
    for i in range(1, 10):
        lp.on_batch(_batch(1, i))
        clock.t += 0.1
        lp.on_tick()
    assert lp.updates == 1
    clock.t += 0.11
    lp.on_batch(_batch(1, 11))
    lp.on_tick()
    assert lp.updates == 2


def test_every_epoch_draws_each_epoch():
    X, y = blobs(n=1000, d=8, k=3)
    lp = LivePlot(mode="notebook", every_epoch=True)
    clf = mlpc.MLPClassifier((16,), max_iter=6, batch_size=8, random_state=0)
    clf.fit(X, y, callbacks=[lp])
    assert lp.frames >= 6 + 1  # one per epoch, whatever the throttle, and the final one
