"""Live training plots for mlpc estimators, and the browser dashboard.

``LivePlot`` is a callback (``est.fit(X, y, plot=True)`` adds one):

* in a Jupyter kernel it shows one PNG image of four figures (loss, accuracy
  or MSE, learning rate, throughput; training solid, validation dashed) and
  replaces it in place with ``display(..., display_id=True)`` and
  ``handle.update(...)``, at most ``1 / interval`` times a second (4 by
  default). The batch callbacks only record numbers (they run on the C
  training thread); drawing happens in ``on_tick``, on the thread that called
  ``fit``. The last update, at the end of training, is a full image, so a
  saved notebook keeps the final figures. Matplotlib's Agg canvas is used
  directly: pyplot, its global state and ``plt.ion`` are never touched.
* elsewhere (a script, a terminal IPython) it prints one line per epoch on
  standard error, as ``mlpc train`` does, and a ``\\r`` progress line within
  the epoch when standard error is a terminal.

``dashboard(est)`` serves ``mlpc dashboard`` (the CLI's live page) over the
estimator's metrics file and returns an ``IFrame`` for the notebook.
"""

import atexit
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref

__all__ = ["LivePlot", "dashboard", "in_notebook"]


_FIG_CACHE = {}
_FIG_LOCK = threading.Lock()


def in_notebook():
    """True inside a Jupyter (ipykernel) kernel."""
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    try:
        shell = ip.get_ipython()
    except Exception:  # noqa: B902
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


class LivePlot:
    """Training curves in a notebook, or a progress display in a terminal.

    Parameters
    ----------
    mode : 'auto', 'notebook', 'terminal' or 'none'
        'auto' picks 'notebook' inside a Jupyter kernel, else 'terminal'.
        'notebook' outside a kernel renders the PNG frames without displaying
        them (benchmarks use it to measure the drawing cost).
    interval : float
        Least seconds between two redraws (0.25: at most 4 a second).
    every_epoch : bool
        Notebook: the end of each epoch waits (on the training thread) until
        the next on_tick has drawn it, whatever the throttle says: one frame
        per epoch at least, for recordings and tests. Default: True when the
        environment has MLPC_PLOT_EVERY_EPOCH=1.
    max_duty : float
        Notebook: the next frame waits at least the last frame's drawing
        time divided by this (0.05: drawing takes at most about 5% of the
        calling thread's time, so it never slows training down by more on a
        busy machine; frames take about 10 ms, so 4 a second remain).
    figsize : (width, height) in inches, dpi : int
        Size of the image.
    stream : file
        Where the terminal mode writes (default ``sys.stderr``).
    clock : callable
        Returns seconds (default ``time.monotonic``); tests pass a fake one.

    Attributes
    ----------
    updates : int
        Frames sent to the display (notebook: the first ``display`` plus
        every ``handle.update``, counted also when mode='notebook' is forced
        outside a kernel; terminal: writes of progress or epoch lines).
    frames : int
        Images rendered.
    png : bytes or None
        The last image.
    render_seconds : float
        Time spent drawing frames.
    full_draws : int
        Frames that drew the axes again (a limit moved); the others only
        drew the lines over the saved background.
    batches, epochs : lists of dicts
        What the callbacks recorded.
    """

    def __init__(self, mode="auto", interval=0.25, figsize=(12, 2.8), dpi=72, stream=None, clock=None,
                 max_duty=0.05, every_epoch=None):
        if mode not in ("auto", "notebook", "terminal", "none"):
            raise ValueError("LivePlot: mode must be 'auto', 'notebook', 'terminal' or 'none', got %r" % (mode,))
        self.mode = mode
        self.interval = float(interval)
        self.figsize = figsize
        self.dpi = dpi
        self.stream = stream
        self.clock = clock or time.monotonic
        self._mode = None
        self.max_duty = float(max_duty)
        if every_epoch is None:
            every_epoch = os.environ.get("MLPC_PLOT_EVERY_EPOCH", "") == "1"
        self.every_epoch = bool(every_epoch)
        self._epoch_drawn = threading.Event()
        self._force = False
        self.render_seconds = 0.0
        self.full_draws = 0
        self._cost = 0.0  # seconds of the last frame (figure creation excluded)
        self.updates = 0
        self.frames = 0
        self.png = None
        self.handle = None
        self.batches = []
        self.epochs = []
        self.info = {}
        self._fig = None
        self._pending = []  # terminal: epoch lines not printed yet
        self._seen = (0, 0)
        self._last = None
        self._tty = False
        self._progress_shown = False

    # ------------------------------------------------------------ callbacks
    def on_train_begin(self, est, info):
        self.info = dict(info)
        self._classify = info.get("task", "classify") == "classify"
        self._epoch0 = int(info.get("epoch_offset", 0) or 0)
        self._nb = max(1, int(info.get("n_batches_per_epoch", 1) or 1))
        self._per_batch = float(info.get("n_samples", 0) or 0) / self._nb
        mode = self.mode
        if mode == "auto":
            mode = "notebook" if in_notebook() else "terminal"
        self._mode = mode
        self._last = None
        if mode == "terminal":
            s = self._out()
            try:
                self._tty = s.isatty()
            except Exception:  # noqa: B902
                self._tty = False
        # notebook: the figure is made and shown at the first on_tick (on the
        # calling thread while the C thread trains), not here, so nothing
        # delays the start of training

    def on_batch(self, info):
        # the C training thread: only record
        self.batches.append(info)

    def on_epoch(self, metrics):
        self.epochs.append(metrics)
        if self._mode == "terminal":
            self._pending.append(metrics)
        elif self._mode == "notebook" and self.every_epoch:
            self._epoch_drawn.clear()
            self._force = True
            self._epoch_drawn.wait(10)  # on_tick comes within 0.1 s; never hang training

    def on_tick(self):
        now = self.clock()
        if self._force:
            self._force = False
            self._last = now
            try:
                self._draw(final=False)
            finally:
                self._epoch_drawn.set()
            return
        if self._last is not None and now - self._last < max(self.interval, self._cost / max(self.max_duty, 1e-9)):
            return
        seen = (len(self.batches), len(self.epochs))
        if seen == self._seen:
            return
        self._last = now
        if self._mode == "notebook":
            self._draw(final=False)
        elif self._mode == "terminal":
            self._terminal(final=False)

    def on_train_end(self, est):
        self._force = False
        self._epoch_drawn.set()
        if self._mode == "notebook":
            self._draw(final=True)
        elif self._mode == "terminal":
            self._terminal(final=True)
        if self._fig is not None:  # for the next LivePlot; self.png keeps the last frame
            with _FIG_LOCK:
                _FIG_CACHE[(tuple(self.figsize), self.dpi, self._classify)] = (
                    self._fig, self._axs, self._lines, self._title)
        self._fig = None

    # ------------------------------------------------------------ terminal
    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def _epoch_line(self, m):
        n = self.info.get("n_epochs")
        e = m.get("epoch")
        parts = ["epoch %*d/%s" % (len(str(n)) if n else 1, e, n) if n else "epoch %d" % e]
        parts.append("loss %s" % _fmt(m.get("loss"), ".6f"))
        if self._classify:
            parts.append("acc %s" % _fmt(m.get("acc"), ".4f"))
        if m.get("val_loss") is not None:
            parts.append("val_loss %s" % _fmt(m.get("val_loss"), ".6f"))
        if self._classify and m.get("val_acc") is not None:
            parts.append("val_acc %s" % _fmt(m.get("val_acc"), ".4f"))
        if m.get("epoch_seconds") is not None:
            parts.append("%.3fs" % m["epoch_seconds"])
        if m.get("samples_per_second") is not None:
            parts.append("%.0f samples/s" % m["samples_per_second"])
        return "  ".join(parts)

    def _terminal(self, final):
        s = self._out()
        self._seen = (len(self.batches), len(self.epochs))
        text = []
        if self._pending:
            pend, self._pending = self._pending, []
            if self._progress_shown:
                text.append("\r\x1b[K")
                self._progress_shown = False
            text.extend(self._epoch_line(m) + "\n" for m in pend)
        if self._tty and not final and self.batches:
            b = self.batches[-1]
            if not self.epochs or b["epoch"] > self.epochs[-1]["epoch"]:
                n, k = b.get("n_batches") or self._nb, b.get("batch") or 0
                w = 30
                done = int(w * k / max(1, n))
                bar = "=" * done + "." * (w - done)
                text.append("\repoch %s  %d/%d [%s] loss %s%s" % (
                    b["epoch"], k, n, bar, _fmt(b.get("run_loss"), ".4f"),
                    "  acc %s" % _fmt(b.get("run_acc"), ".4f") if self._classify else ""))
                self._progress_shown = True
        if final and self._progress_shown:
            text.append("\r\x1b[K")
            self._progress_shown = False
        if text:
            s.write("".join(text))
            s.flush()
            self.updates += 1

    # ------------------------------------------------------------ notebook
    def _make_figure(self):
        # a figure left by an earlier LivePlot of the same shape is reused:
        # making one and its first draw cost more than 10 frames
        key = (tuple(self.figsize), self.dpi, self._classify)
        with _FIG_LOCK:
            cached = _FIG_CACHE.pop(key, None)
        if cached is not None:
            self._fig, self._axs, self._lines, self._title = cached
            for ln in self._lines.values():
                ln.set_data([], [])
            self._bg = None
            self._lim = [None] * 8
            return
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        fig = Figure(figsize=self.figsize, dpi=self.dpi)
        FigureCanvasAgg(fig)
        axs = fig.subplots(1, 4)
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.2, top=0.8, wspace=0.32)
        titles = ["loss", "accuracy" if self._classify else "MSE", "learning rate", "samples/s"]
        L = {}
        for ax, t in zip(axs, titles):
            ax.set_title(t, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            ax.grid(True, alpha=0.3)
        c_tr, c_va = "#1f77b4", "#ff7f0e"
        L["run_loss"], = axs[0].plot([], [], color=c_tr, lw=0.8, alpha=0.5, label="train (running)")
        L["loss"], = axs[0].plot([], [], "o-", color=c_tr, ms=3, lw=1.5, label="train")
        L["val_loss"], = axs[0].plot([], [], "o--", color=c_va, ms=3, lw=1.5, label="validation")
        axs[0].legend(fontsize=7, loc="upper right")
        if self._classify:
            L["run_acc"], = axs[1].plot([], [], color=c_tr, lw=0.8, alpha=0.5)
            L["acc"], = axs[1].plot([], [], "o-", color=c_tr, ms=3, lw=1.5)
            L["val_acc"], = axs[1].plot([], [], "o--", color=c_va, ms=3, lw=1.5)
        else:
            L["mse"], = axs[1].plot([], [], "o-", color=c_tr, ms=3, lw=1.5)
            L["val_mse"], = axs[1].plot([], [], "o--", color=c_va, ms=3, lw=1.5)
        L["lr"], = axs[2].plot([], [], "-", color=c_tr, lw=1.5)
        L["sps_run"], = axs[3].plot([], [], color=c_tr, lw=0.8, alpha=0.5)
        L["sps"], = axs[3].plot([], [], "o-", color=c_tr, ms=3, lw=1.5)
        from matplotlib.ticker import MaxNLocator
        for ax in axs:
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(5))
        self._fig, self._axs, self._lines = fig, axs, L
        self._title = fig.suptitle("", fontsize=10)
        self._bg = None
        self._lim = [None] * 8

    def _limits(self):
        """Sets the axes' limits from the data, with room to grow: True
        when one moved (the background must be drawn again)."""
        import math
        changed = False
        n = self.info.get("n_epochs")
        xhi = None
        for k, ax in enumerate(self._axs):
            xs, ys = [], []
            for ln in ax.lines:
                x, y = ln.get_data()
                xs.extend(x)
                ys.extend(v for v in y if v is not None and math.isfinite(v))
            # x: the planned epochs when known, else doubling
            if xhi is None:
                top = max(xs) if xs else 1.0
                if n:
                    xhi = self._epoch0 + n
                else:
                    xhi = 1.0
                    while xhi < top:
                        xhi *= 2
            xl = (float(self._epoch0), float(max(xhi, self._epoch0 + 1)))
            yl = self._lim[2 * k + 1]
            if ys:
                lo, hi = min(ys), max(ys)
                # loss, MSE, learning rate and throughput start at 0, accuracy
                # ends at 1: only one end moves, with 25% room, so the axes
                # are drawn again a few times per fit, not every frame
                acc = k == 1 and self._classify
                if acc:
                    want = (max(0.0, lo - 0.25 * ((1.0 - lo) or 0.1)), 1.0 + 0.02)
                    move = yl is None or lo < yl[0]
                elif lo >= 0:
                    want = (0.0, hi * 1.25 if hi > 0 else 1.0)
                    move = yl is None or hi > yl[1] or yl[0] != 0.0
                else:
                    span = (hi - lo) or (abs(hi) * 0.1) or 1.0
                    want = (lo - 0.25 * span, hi + 0.25 * span)
                    move = yl is None or lo < yl[0] or hi > yl[1]
                if move:
                    yl = want
            if xl != self._lim[2 * k]:
                ax.set_xlim(*xl)
                self._lim[2 * k] = xl
                changed = True
            if yl is not None and yl != self._lim[2 * k + 1]:
                ax.set_ylim(*yl)
                self._lim[2 * k + 1] = yl
                changed = True
        return changed

    @staticmethod
    def _thin(xs, ys, n=400):
        if len(xs) > n:
            step = len(xs) // n + 1
            xs, ys = xs[::step] + xs[-1:], ys[::step] + ys[-1:]
        return xs, ys

    def _render(self):
        if self._fig is None:
            self._make_figure()
        L = self._lines
        bs = list(self.batches)
        es = list(self.epochs)
        self._seen = (len(bs), len(es))
        e0 = self._epoch0

        def bx(b):
            n = b.get("n_batches") or self._nb
            return b["epoch"] - 1 + (b.get("batch") or 0) / max(1, n)

        def series(rows, key, xf):
            xs, ys = [], []
            for r in rows:
                v = r.get(key)
                if v is not None:
                    xs.append(xf(r))
                    ys.append(v)
            return self._thin(xs, ys)

        ex = lambda r: r["epoch"]  # noqa: E731
        L["run_loss"].set_data(*series(bs, "run_loss", bx))
        L["loss"].set_data(*series(es, "loss", ex))
        L["val_loss"].set_data(*series(es, "val_loss", ex))
        if self._classify:
            L["run_acc"].set_data(*series(bs, "run_acc", bx))
            L["acc"].set_data(*series(es, "acc", ex))
            L["val_acc"].set_data(*series(es, "val_acc", ex))
        else:
            L["mse"].set_data(*series(es, "mse", ex))
            L["val_mse"].set_data(*series(es, "val_mse", ex))
        # learning rate: per batch when known, else per epoch
        lx, ly = series(bs, "lr", bx)
        if not lx:
            lx, ly = series(es, "lr", ex)
        L["lr"].set_data(lx, ly)
        per = self._per_batch

        def sps(b):
            s = b.get("seconds")
            return (b.get("batch") or 0) * per / s if s and s > 0 and per else None

        rx, ry = [], []
        for b in bs:
            v = sps(b)
            if v is not None and (b.get("batch") or 0) > 0:
                rx.append(bx(b))
                ry.append(v)
        L["sps_run"].set_data(*self._thin(rx, ry))
        L["sps"].set_data(*series(es, "samples_per_second", ex))
        last = es[-1] if es else None
        n = self.info.get("n_epochs")
        if last is not None:
            t = "epoch %d/%s  loss %s" % (last["epoch"], (n + e0) if n else "?", _fmt(last.get("loss"), ".4g"))
            if last.get("val_loss") is not None:
                t += "  val_loss %s" % _fmt(last.get("val_loss"), ".4g")
            if self._classify and last.get("val_acc") is not None:
                t += "  val_acc %s" % _fmt(last.get("val_acc"), ".4f")
        elif bs:
            t = "epoch %d  running loss %s" % (bs[-1]["epoch"], _fmt(bs[-1].get("run_loss"), ".4g"))
        else:
            t = "training %s" % self.info.get("run", "")
        # blitting: the axes, ticks and labels (the costly part) are drawn
        # again only when a limit moves; each frame draws the lines and the
        # title over a saved background
        if self._limits() or self._bg is None:
            self._title.set_text("")
            lines = [ln for ax in self._axs for ln in ax.lines]
            for ln in lines:
                ln.set_visible(False)
            self._fig.canvas.draw()
            self.full_draws += 1
            self._bg = self._fig.canvas.copy_from_bbox(self._fig.bbox)
            for ln in lines:
                ln.set_visible(True)
        canvas = self._fig.canvas
        canvas.restore_region(self._bg)
        for ax in self._axs:
            for ln in ax.lines:
                ax.draw_artist(ln)
        self._title.set_text(t)
        self._fig.draw_artist(self._title)
        buf = io.BytesIO()
        from PIL import Image
        w, h = canvas.get_width_height()
        Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB").save(
            buf, format="png", compress_level=1)
        self.frames += 1
        self.png = buf.getvalue()
        return self.png

    def _draw(self, final):
        # while drawing, let the training thread take the GIL quickly for its
        # (short) batch and epoch callbacks
        old = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        t0 = time.perf_counter()
        made = self._fig is None
        try:
            png = self._render()
        finally:
            sys.setswitchinterval(old)
            dt = time.perf_counter() - t0
            self.render_seconds += dt
            if not made:  # the one-time figure creation does not slow the frames down
                self._cost = dt
        self.updates += 1
        if not in_notebook():
            return  # mode='notebook' forced outside a kernel: render only
        from IPython.display import Image, display
        img = Image(data=png, format="png")
        if self.handle is None:
            self.handle = display(img, display_id=True)
        else:
            self.handle.update(img)


# ---------------------------------------------------------------- dashboard
_servers = {}  # id(est) -> Popen


def _stop(proc, linger):
    if proc.poll() is not None:
        return
    if linger and linger > 0:
        # a detached timer stops it later; this interpreter may be gone by then
        try:
            subprocess.Popen(["/bin/sh", "-c", "sleep %g; kill %d 2>/dev/null" % (linger, proc.pid)],
                             start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            return
        except OSError:
            pass
    if linger is not None and linger < 0:
        return  # keep serving
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def dashboard(est, port=0, height=600, linger=0, bind="127.0.0.1", path=None, timeout=30):
    """Serve ``mlpc dashboard`` over the estimator's metrics file.

    When ``est.metrics_path`` is None it is set to a new file in a temporary
    folder (``path`` picks another name), so the next ``fit`` writes one JSON
    line per epoch there and the page shows it live (a new ``fit`` appends a
    new run). The file is created empty when missing.

    ``port=0`` takes any free port. The server (a child process) is stopped
    when the estimator is garbage-collected or the interpreter exits, or
    ``linger`` seconds later (-1: never). Calling it again for the same
    estimator stops the earlier server first.

    Returns ``IPython.display.IFrame(url, width="100%", height=height)``, or
    the URL string when IPython is not installed.
    """
    from . import _lib
    mp = getattr(est, "metrics_path", None)
    if mp is None:
        if path is None:
            d = tempfile.mkdtemp(prefix="mlpc-dash-")
            name = getattr(est, "run_name", None) or "python"
            path = os.path.join(d, "%s.jsonl" % name)
        mp = path
        est.metrics_path = mp
    mp = os.path.abspath(str(mp))
    if not os.path.exists(mp):
        os.makedirs(os.path.dirname(mp) or ".", exist_ok=True)
        open(mp, "a").close()
    old = _servers.pop(id(est), None)
    if old is not None:
        old[1].detach()
        _stop(old[0], 0)
    cmd = [_lib.cli_path(), "dashboard", mp, "--port", str(int(port)), "--bind", bind, "--quiet"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url, lines = None, []
    deadline = time.monotonic() + timeout
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    buf = b""
    try:
        while url is None and time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.decode(errors="replace").strip()
                lines.append(line)
                if line.startswith("dashboard: http"):
                    url = line.split(" ", 1)[1]
    finally:
        sel.close()
    if url is None:
        proc.kill()
        proc.wait()
        msg = next((ln for ln in lines if ln), "no URL within %g s" % timeout)
        raise RuntimeError("mlpc dashboard: %s" % msg)
    # drain stderr so the child never blocks on a full pipe
    threading.Thread(target=_drain, args=(proc.stderr,), daemon=True).start()
    fin = weakref.finalize(est, _stop, proc, linger)
    _servers[id(est)] = (proc, fin)
    try:
        from IPython.display import IFrame
    except ImportError:
        return url
    return IFrame(url, width="100%", height=height)


def _drain(f):
    try:
        while f.read(4096):
            pass
    except Exception:  # noqa: B902
        pass


@atexit.register
def _stop_all():
    for proc, fin in list(_servers.values()):
        fin()  # runs _stop once (weakref.finalize also runs at exit; calling it twice is a no-op)
