#!/usr/bin/python3
"""bench/python/run.py - mlpc from Python against the mlpc CLI, scikit-learn's
MLPClassifier and PyTorch, and the cost of the live plot (bench/README.md,
section "Python").

    /usr/bin/python3 bench/python/run.py [--quick] [--reps R] [--threads T] [--md OUT.md]

What it measures, each in its own process, interleaved over R repetitions:

* W1 and W2 on MNIST (s/epoch): the mlpc CLI (`mlpc train --metrics`), mlpc
  through Python (`MLPClassifier.fit`), scikit-learn and PyTorch (when
  installed). Python vs CLI compares fit()'s wall time per epoch with the
  CLI's training time per epoch (its epoch and evaluation seconds), and the
  C trainer's own epoch seconds in both.
* The plot overhead on W1 and W2: fit() without a plot, with plot=True
  outside a notebook (the terminal progress, to a pipe) and with
  LivePlot(mode='notebook') (PNG frames rendered 4 times a second, what a
  notebook gets, without the kernel's transport).
* W6: a 1,000 x 20 table, 100 relu units, 3 classes, Adam, batch 32, 200
  epochs, timed as a whole process (interpreter start and imports included).

The peers (numpy/scikit-learn, PyTorch) run with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from their environment, and report the OpenBLAS
kernel they used (threadpoolctl's 'architecture').
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = "/usr/bin/python3"
now = time.perf_counter

W = {
    "w1": dict(sizes=(30,), rows=50000, cli=["--layers", "784-30-10", "--act", "sigmoid", "--out-act", "sigmoid",
                                               "--loss", "quadratic", "--opt", "sgd", "--lr", "3", "--batch", "10",
                                               "--init", "normal", "--val-split", "10000"],
               est=dict(hidden_layer_sizes=(30,), activation="logistic", out_activation="logistic", loss="quadratic",
                        solver="sgd", learning_rate_init=3.0, momentum=0.0, batch_size=10, init="normal",
                        alpha=0.0, norm="scale")),
    "w2": dict(sizes=(200, 100, 50, 30), rows=60000,
               cli=["--layers", "784-200-100-50-30-10", "--act", "sigmoid", "--out-act", "softmax", "--loss", "cce",
                    "--opt", "rmsprop", "--lr", "0.001", "--rho", "0.9", "--eps", "1e-7", "--batch", "1500",
                    "--init", "glorot"],
               est=dict(hidden_layer_sizes=(200, 100, 50, 30), activation="logistic", solver="rmsprop",
                        learning_rate_init=1e-3, epsilon=1e-7, batch_size=1500, init="glorot",
                        alpha=0.0, norm="scale")),
}


def emit(**kw):
    print(json.dumps(kw), flush=True)


def blas_info():
    """bench/peers/common.py's blas_info() (threadpoolctl's threadpool_info()
    plus OpenBLAS's corename for libraries threadpoolctl does not name)."""
    sys.path.insert(0, os.path.join(REPO, "bench", "peers"))
    from common import blas_info as info
    return info()


# ------------------------------------------------------------------ children
def child_py(a):
    """mlpc through Python: fit W1/W2 in the modes given, interleaved."""
    sys.path.insert(0, os.path.join(REPO, "python"))
    import mlpc
    from mlpc.plot import LivePlot
    # the CLI's settings: raw pixels, norm 'scale' fitted by the library (so the
    # trainer gathers batches from its exact byte copy), and no L2 (alpha 0:
    # W1 and W2 have none; scikit-learn's default 1e-4 would also take plain
    # SGD off its fused sparse path)
    Xtr, ytr, _, _ = mlpc.datasets.load_mnist(scale=False)
    w = W[a.workload]
    X, y = Xtr[:w["rows"]], ytr[:w["rows"]]
    kw = dict(w["est"], alpha=0.0, max_iter=a.epochs, tol=0.0, n_iter_no_change=10 ** 6, random_state=1,
              threads=a.threads)
    import warnings
    warnings.simplefilter("ignore")
    # warm-up: matplotlib's import and first figure are a one-time cost of the session
    warm = mlpc.MLPClassifier(**dict(kw, max_iter=1))
    warm.fit(X[:2000], y[:2000], callbacks=[LivePlot(mode="notebook")])
    for mode in a.modes.split(","):
        clf = mlpc.MLPClassifier(**kw)
        lp = None
        if mode == "terminal":
            lp = LivePlot(mode="terminal")
            cbs = [lp]
        elif mode == "notebook":
            lp = LivePlot(mode="notebook")
            cbs = [lp]
        else:
            cbs = None
        c0 = time.process_time()
        t0 = now()
        clf.fit(X, y, callbacks=cbs)
        wall = now() - t0
        cpu = time.process_time() - c0
        ep = [h["epoch_seconds"] for h in clf.history_]
        ev = [h.get("eval_seconds") or 0.0 for h in clf.history_]
        emit(workload=a.workload, impl="mlpc-python", mode=mode, threads=a.threads, epochs=clf.n_iter_,
             fit_s=wall, fit_cpu_s=cpu, sec=wall / clf.n_iter_, render_s=lp.render_seconds if lp and hasattr(lp, "render_seconds") else 0.0, epoch_s=statistics.median(ep), eval_s=statistics.median(ev),
             updates=lp.updates if lp else 0, frames=lp.frames if lp else 0, loss=clf.history_[-1]["loss"])


def child_sklearn(a):
    import warnings
    from sklearn.neural_network import MLPClassifier
    sys.path.insert(0, os.path.join(REPO, "bench", "peers"))
    from common import load_mnist
    w = W[a.workload]
    X, y = load_mnist(os.path.join(REPO, "data", "mnist"), w["rows"])
    e = w["est"]
    # closest scikit-learn settings: no quadratic loss, no rmsprop, no sigmoid output choice
    kw = dict(hidden_layer_sizes=e["hidden_layer_sizes"], activation="logistic", batch_size=e["batch_size"],
              alpha=0.0, max_iter=a.epochs, tol=0.0, n_iter_no_change=10 ** 6, random_state=1, shuffle=True)
    if a.workload == "w1":
        kw.update(solver="sgd", learning_rate_init=0.3, momentum=0.0)  # log-loss gradient: lr 3 diverges
    else:
        kw.update(solver="adam", learning_rate_init=1e-3, epsilon=1e-7)
    clf = MLPClassifier(**kw)
    warnings.simplefilter("ignore")
    t0 = now()
    clf.fit(X, y)
    wall = now() - t0
    emit(workload=a.workload, impl="sklearn", threads="default", epochs=clf.n_iter_, sec=wall / clf.n_iter_,
         loss=float(clf.loss_), blas=blas_info())


def child_torch(a):
    try:
        import torch  # noqa: F401 - is it installed?
    except ImportError:
        emit(workload=a.workload, impl="torch", skipped="python3-torch is not installed")
        return
    out = subprocess.run([PY, os.path.join(REPO, "bench", "peers", "torch_mlp.py"), a.workload, "--epochs",
                          str(a.epochs), "--threads", str(a.threads)], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            d["blas"] = blas_info()
            emit(**d)


# ------------------------------------------------------------------ parent
def peer_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    return env


def run_child(kind, workload, epochs, threads, modes="", env=None):
    cmd = [PY, os.path.abspath(__file__), "--child", kind, "--workload", workload, "--epochs", str(epochs),
           "--threads", str(threads)]
    if modes:
        cmd += ["--modes", modes]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if out.returncode != 0:
        return [{"workload": workload, "impl": kind, "error": out.stderr.strip().splitlines()[-1:]}]
    return [json.loads(ln) for ln in out.stdout.splitlines() if ln.startswith("{")]


def cli_path():
    sys.path.insert(0, os.path.join(REPO, "python"))
    import mlpc._lib
    return mlpc._lib.cli_path()


def run_cli(workload, epochs, threads):
    with tempfile.TemporaryDirectory() as d:
        m = os.path.join(d, "m.jsonl")
        cmd = [cli_path(), "train", "--data", "mnist", *W[workload]["cli"], "--epochs", str(epochs), "--seed", "1",
               "--threads", str(threads), "--metrics", m, "--quiet"]
        t0 = now()
        subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        wall = now() - t0
        rows = [json.loads(ln) for ln in open(m)]
    ep = [r["epoch_seconds"] for r in rows]
    ev = [r.get("eval_seconds") or 0.0 for r in rows]
    return {"workload": workload, "impl": "mlpc-cli", "threads": threads, "epochs": len(rows),
            "sec": (sum(ep) + sum(ev)) / len(rows), "epoch_s": statistics.median(ep), "eval_s": statistics.median(ev),
            "process_s": wall}


W6_DATA = """
import numpy as np
from sklearn.datasets import make_classification
X, y = make_classification(n_samples=1000, n_features=20, n_informative=10, n_classes=3, random_state=0)
np.save("{d}/X.npy", X.astype(np.float32)); np.save("{d}/y.npy", y.astype(np.int32))
"""
W6_MLPC = """
import time; t0 = time.perf_counter()
import sys; sys.path.insert(0, {py!r})
import numpy as np, mlpc, warnings
t1 = time.perf_counter()
warnings.simplefilter("ignore")
X = np.load("{d}/X.npy"); y = np.load("{d}/y.npy")
t2 = time.perf_counter()
c = mlpc.MLPClassifier((100,), activation="relu", solver="adam", batch_size=32, max_iter=200, tol=0,
                       n_iter_no_change=10**6, alpha=0.0, random_state=0).fit(X, y)
t3 = time.perf_counter()
print(c.n_iter_, c.score(X, y), "import_s=%.3f fit_s=%.3f" % (t1 - t0, t3 - t2))
"""
W6_SK = """
import numpy as np, warnings
from sklearn.neural_network import MLPClassifier
warnings.simplefilter("ignore")
X = np.load("{d}/X.npy"); y = np.load("{d}/y.npy")
c = MLPClassifier((100,), activation="relu", solver="adam", batch_size=32, max_iter=200, tol=0,
                  n_iter_no_change=10**6, alpha=0.0, random_state=0).fit(X, y)
print(c.n_iter_, c.score(X, y))
"""
W6_TORCH = """
import numpy as np, torch
from torch import nn
torch.manual_seed(0)
X = torch.from_numpy(np.load("{d}/X.npy")); y = torch.from_numpy(np.load("{d}/y.npy")).long()
net = nn.Sequential(nn.Linear(20, 100), nn.ReLU(), nn.Linear(100, 3))
opt = torch.optim.Adam(net.parameters(), lr=1e-3); lf = nn.CrossEntropyLoss()
for e in range(200):
    p = torch.randperm(len(X))
    for k in range(0, len(X), 32):
        i = p[k:k + 32]; opt.zero_grad(); lf(net(X[i]), y[i]).backward(); opt.step()
print(200, (net(X).argmax(1) == y).float().mean().item())
"""


def run_w6(d, reps):
    subprocess.run([PY, "-c", W6_DATA.format(d=d)], check=True)
    have_torch = subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode == 0
    cmds = {
        "mlpc-python": ([PY, "-c", W6_MLPC.format(d=d, py=os.path.join(REPO, "python"))], None),
        "mlpc-cli": ([cli_path(), "train", "--train", d + "/X.npy", "--train-labels", d + "/y.npy", "--layers",
                      "20-100-3", "--act", "relu", "--out-act", "softmax", "--loss", "cce", "--opt", "adam", "--lr",
                      "0.001", "--batch", "32", "--epochs", "200", "--init", "glorot", "--norm", "none", "--threads",
                      "1", "--quiet"], None),
        "sklearn": ([PY, "-c", W6_SK.format(d=d)], peer_env()),
    }
    if have_torch:
        cmds["torch"] = ([PY, "-c", W6_TORCH.format(d=d)], peer_env())
    res = []
    for r in range(reps):
        for name, (cmd, env) in cmds.items():
            t0 = now()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            wall = now() - t0
            res.append({"workload": "w6", "impl": name, "rep": r, "sec": wall, "rc": p.returncode,
                        "out": p.stdout.strip()[-120:]})
    if not have_torch:
        res.append({"workload": "w6", "impl": "torch", "skipped": "python3-torch is not installed"})
    return res


def med(rows, **match):
    v = [r["sec"] for r in rows if all(r.get(k) == x for k, x in match.items()) and "sec" in r]
    return (statistics.median(v), min(v), max(v), len(v)) if v else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--child")
    p.add_argument("--workload")
    p.add_argument("--modes", default="none")
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--md", default=os.path.join(REPO, "bench", "results", "python.md"))
    a = p.parse_args()
    if a.child:
        {"py": child_py, "sklearn": child_sklearn, "torch": child_torch}[a.child](a)
        return
    reps = a.reps or (2 if a.quick else 3)
    e1, e2 = (10, 3) if a.quick else (30, 6)  # W1: its 30 epochs, so the plot's fixed costs count as in use
    T = a.threads
    rows = []
    t_start = time.time()
    load0 = os.getloadavg()
    for r in range(reps):
        for wl, ep in (("w1", e1), ("w2", e2)):
            rows.append(dict(run_cli(wl, ep, T), rep=r))
            for d in run_child("py", wl, ep, T, modes="none,terminal,notebook"):
                rows.append(dict(d, rep=r))
            print("rep %d %s done (%.0f s)" % (r + 1, wl, time.time() - t_start), file=sys.stderr, flush=True)
    peer_reps = 1 if a.quick else 2
    for r in range(peer_reps):
        for wl in ("w1", "w2"):
            for kind in ("sklearn", "torch"):
                for d in run_child(kind, wl, 1, T, env=peer_env()):
                    rows.append(dict(d, rep=r))
        print("peers rep %d done (%.0f s)" % (r + 1, time.time() - t_start), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as d:
        rows += run_w6(d, 2 if a.quick else 3)
    load1 = os.getloadavg()
    os.makedirs(os.path.join(REPO, "bench", "results", "raw"), exist_ok=True)
    raw = os.path.join(REPO, "bench", "results", "raw", "python-%s.jsonl" % time.strftime("%Y%m%d-%H%M%S"))
    with open(raw, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    md = summarize(rows, a, reps, load0, load1, time.time() - t_start)
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)


def summarize(rows, a, reps, load0, load1, took):
    L = []
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=REPO).stdout.strip()
    cpu = ""
    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")][0]
    except Exception:  # noqa: B902
        pass
    L.append("# mlpc from Python: against the CLI, scikit-learn and PyTorch; live-plot overhead\n")
    L.append("`%s` (commit %s), %s, %d cores, %s, %d repetitions, mlpc threads %d, %.0f s; load average %.2f at "
             "start, %.2f at end. Medians (min-max).\n" % (" ".join(["bench/python/run.py"] + sys.argv[1:]), commit,
                                                          cpu, os.cpu_count(), time.strftime("%Y-%m-%d"), reps,
                                                          a.threads, took, load0[0], load1[0]))
    L.append("## W1 and W2: s/epoch\n")
    L.append("| workload | implementation | s/epoch | vs mlpc CLI |")
    L.append("|---|---|---|---|")
    for wl in ("w1", "w2"):
        cli = med(rows, workload=wl, impl="mlpc-cli")
        for name, m in (("mlpc CLI (epoch + eval seconds)", cli),
                        ("mlpc Python fit() wall / epochs", med(rows, workload=wl, impl="mlpc-python", mode="none")),
                        ("scikit-learn MLPClassifier", med(rows, workload=wl, impl="sklearn")),
                        ("PyTorch", med(rows, workload=wl, impl="torch"))):
            if m is None:
                L.append("| %s | %s | not run | |" % (wl.upper(), name))
                continue
            L.append("| %s | %s | %.4g (%.4g-%.4g) | %s |" % (wl.upper(), name, m[0], m[1], m[2],
                                                             "%.3f" % (m[0] / cli[0]) if cli else "-"))
    L.append("")
    L.append("C trainer's own epoch seconds (median): " + "; ".join(
        "%s CLI %.4g, Python %.4g (ratio %.3f)" % (
            wl.upper(), statistics.median([r["epoch_s"] for r in rows if r.get("workload") == wl and r.get("impl") == "mlpc-cli"]),
            statistics.median([r["epoch_s"] for r in rows if r.get("workload") == wl and r.get("impl") == "mlpc-python" and r.get("mode") == "none"]),
            statistics.median([r["epoch_s"] for r in rows if r.get("workload") == wl and r.get("impl") == "mlpc-python" and r.get("mode") == "none"]) /
            statistics.median([r["epoch_s"] for r in rows if r.get("workload") == wl and r.get("impl") == "mlpc-cli"]))
        for wl in ("w1", "w2")) + ".\n")
    L.append("## Live-plot overhead (fit() wall time, same process, interleaved)\n")
    L.append("Wall time suffers from whatever else runs on the machine; the process's CPU time (both threads: "
             "training and drawing) does not, so its ratio is the cost of the plot in CPU work. On a machine with a "
             "free core the drawing thread runs beside training and the wall-time cost is lower still.\n")
    L.append("| workload | plot | fit s (wall) | wall ratio to no plot | fit CPU s | CPU ratio to no plot | frames per fit | drawing s per fit |")
    L.append("|---|---|---|---|---|---|---|---|")
    for wl in ("w1", "w2"):
        base = med(rows, workload=wl, impl="mlpc-python", mode="none")
        for mode, label in (("none", "none"), ("terminal", "plot=True outside a notebook (terminal)"),
                            ("notebook", "LivePlot(mode='notebook'): PNG frames")):
            sel = [r for r in rows if r.get("workload") == wl and r.get("impl") == "mlpc-python" and r.get("mode") == mode]
            if not sel:
                continue
            fs = statistics.median([r["fit_s"] for r in sel])
            fr = statistics.median([r["frames"] for r in sel])
            # ratio of medians, and the median of the per-repetition ratios
            per = [r["fit_s"] / b["fit_s"] for r in sel for b in rows if b.get("workload") == wl and
                   b.get("impl") == "mlpc-python" and b.get("mode") == "none" and b.get("rep") == r.get("rep")]
            cs = statistics.median([r["fit_cpu_s"] for r in sel])
            cbase = statistics.median([b["fit_cpu_s"] for b in rows if b.get("workload") == wl and
                                       b.get("impl") == "mlpc-python" and b.get("mode") == "none"])
            L.append("| %s | %s | %.3f | %.3f (per-rep median %.3f) | %.3f | %.3f | %g | %.3f |" % (
                wl.upper(), label, fs,
                fs / statistics.median([b["fit_s"] for b in rows if b.get("workload") == wl and
                                        b.get("impl") == "mlpc-python" and b.get("mode") == "none"]),
                statistics.median(per) if per else float("nan"), cs, cs / cbase, fr,
                statistics.median([r.get("render_s", 0.0) for r in sel])))
    L.append("")
    L.append("## W6: 1,000 x 20 table, 100 relu, 3 classes, Adam, batch 32, 200 epochs (whole process, s)\n")
    L.append("| implementation | s | vs mlpc Python |")
    L.append("|---|---|---|")
    base = med(rows, workload="w6", impl="mlpc-python")
    for name in ("mlpc-python", "mlpc-cli", "sklearn", "torch"):
        m = med(rows, workload="w6", impl=name)
        if m is None:
            L.append("| %s | not run (python3-torch is not installed) | |" % name)
            continue
        L.append("| %s | %.3f (%.3f-%.3f) | %.2f |" % (name, m[0], m[1], m[2], m[0] / base[0]))
    L.append("")
    parts = [dict(kv.split("=") for kv in r["out"].split() if "=" in kv) for r in rows
             if r.get("workload") == "w6" and r.get("impl") == "mlpc-python" and "import_s=" in r.get("out", "")]
    if parts:
        L.append("Inside the mlpc Python process (medians): `import mlpc` %.3f s (it imports scikit-learn), "
                 "fit() %.3f s.\n" % (statistics.median(float(p["import_s"]) for p in parts),
                                       statistics.median(float(p["fit_s"]) for p in parts)))
    L.append("Peers' BLAS (threadpoolctl's threadpool_info(), and OpenBLAS's openblas_get_corename() for the "
             "libraries threadpoolctl does not name; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed):\n")
    for impl in ("sklearn", "torch"):
        b = [r["blas"] for r in rows if r.get("impl") == impl and r.get("blas")]
        if b:
            L.append("- %s: `%s`" % (impl, json.dumps([{k: v for k, v in x.items() if k != "config"} for x in b[0]])))
            cfg = [x.get("config") for x in b[0] if x.get("config")]
            if cfg:
                L.append("  (OpenBLAS config: `%s`)" % cfg[0])
    L.append("")
    sk = [r for r in rows if r.get("impl") == "sklearn" and "error" in r]
    if sk:
        L.append("Errors: %s\n" % json.dumps(sk))
    L.append("Peer settings: scikit-learn has no quadratic loss, no RMSprop and no sigmoid output layer: W1 runs "
             "logistic hidden units with its softmax/log-loss output, SGD lr 0.3 (lr 3 diverges with log-loss), "
             "batch 10; W2 uses Adam (lr 1e-3, eps 1e-7) at batch 1500; float64 as scikit-learn converts. "
             "One epoch per process for W1/W2 peers.\n")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
