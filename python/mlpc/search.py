"""``mlpc.search``: hyperparameter search with the engine of ``mlpc search``.

The data is written once to ``.npy`` files, the ``mlpc search`` command runs
as a child process (worker processes share one read-only copy of the data;
one process writes the SQLite store), and the store is read back into a
pandas DataFrame.

The space maps scikit-learn parameter names to the CLI's SPACE.json keys
(docs/search.md); the CLI's own keys are accepted as they are:

=====================  ==========  ==============================================
estimator parameter    SPACE key   values
=====================  ==========  ==============================================
hidden_layer_sizes     hidden      a tuple/int (fixed) or a list of them (choice)
activation             act         'relu', 'tanh', 'logistic' (sigmoid), 'identity'
                                   (linear), 'leaky_relu'
solver                 opt         'sgd', 'adam', 'rmsprop'
learning_rate_init     lr          float
momentum               momentum    float (sgd)
batch_size             batch       int
max_iter               epochs      int (also the ``epochs=`` argument)
alpha                  l2          l2 = alpha / batch_size: only with a fixed
                                   batch_size
init                   init        'glorot', 'he', 'normal', 'auto'
threads                threads     int
=====================  ==========  ==============================================

Each value is a scalar (fixed), a list (a choice) or a range tuple:
``("log", lo, hi)`` log-uniform, ``("uniform", lo, hi)``, ``("int", lo, hi)``
(step 1) and ``("int", lo, hi, step)``; the float ranges take a fourth item,
the number of grid points, which the grid sampler needs:
``("log", 1e-4, 1e-1, 4)``. Anything else raises ValueError.
"""

import json
import math
import numbers
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np

__all__ = ["search", "SearchResult", "space_to_json", "read_study"]

_NAMES = {  # estimator parameter -> SPACE.json key
    "hidden_layer_sizes": "hidden", "activation": "act", "solver": "opt", "learning_rate_init": "lr",
    "momentum": "momentum", "batch_size": "batch", "max_iter": "epochs", "alpha": "l2", "init": "init",
    "threads": "threads", "out_activation": "out_act", "loss": "loss",
}
_CLI_KEYS = {"hidden", "depth", "width", "act", "out_act", "loss", "init", "opt", "lr", "momentum", "batch",
             "epochs", "l2", "threads"}
_ACT = {"logistic": "sigmoid", "identity": "linear", "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid",
        "linear": "linear", "leaky_relu": "leaky_relu"}
_ACT_BACK = {"sigmoid": "logistic", "linear": "identity"}
# estimator parameters search() takes as fixed settings with no SPACE key; they
# are passed to best_estimator only
_EST_ONLY = {"random_state", "verbose", "metrics_path", "run_name", "device", "shuffle", "warm_start",
             "beta_1", "beta_2", "epsilon", "nesterovs_momentum", "tol", "n_iter_no_change", "early_stopping",
             "validation_fraction", "learning_rate", "schedule"}


def _is_range(v):
    return isinstance(v, tuple) and len(v) >= 3 and isinstance(v[0], str)


def _value(key, v, where):
    """One fixed value of a SPACE key, as JSON."""
    if key == "hidden":
        if isinstance(v, (numbers.Integral, np.integer)):
            return [int(v)]
        if isinstance(v, (tuple, list)) and all(isinstance(w, (numbers.Integral, np.integer)) and w > 0 for w in v):
            return [int(w) for w in v]
        raise ValueError("search: %s: hidden layer sizes must be an int or a tuple of ints > 0, got %r" % (where, v))
    if key in ("act", "out_act"):
        if v not in _ACT and v != "softmax":
            raise ValueError("search: %s: unknown activation %r" % (where, v))
        return _ACT.get(v, v)
    if key in ("opt", "init", "loss"):
        if not isinstance(v, str):
            raise ValueError("search: %s: expected a name, got %r" % (where, v))
        return v
    if key in ("batch", "epochs", "threads", "depth", "width"):
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < 1:
            raise ValueError("search: %s: expected an int >= 1, got %r" % (where, v))
        return int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError("search: %s: expected a number, got %r" % (where, v))
    return float(v)


def _entry(key, v, where):
    if _is_range(v):
        kind, lo, hi = v[0], v[1], v[2]
        if key in ("hidden", "act", "out_act", "opt", "init", "loss"):
            raise ValueError("search: %s: a range is not possible for %s; give a list of choices" % (where, key))
        if kind not in ("log", "uniform", "int") or len(v) > 4:
            raise ValueError("search: %s: a range is ('log'|'uniform'|'int', low, high[, n or step]), got %r"
                             % (where, v))
        if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v[1:]):
            raise ValueError("search: %s: range bounds must be numbers, got %r" % (where, v))
        if not lo < hi:
            raise ValueError("search: %s: a range needs low < high, got %r" % (where, v))
        if kind == "log" and lo <= 0:
            raise ValueError("search: %s: a log range needs low > 0, got %r" % (where, v))
        if kind == "int":
            if key not in ("batch", "epochs", "threads", "depth", "width") or int(lo) != lo or int(hi) != hi:
                raise ValueError("search: %s: an int range needs an integer parameter and integer bounds, got %r"
                                 % (where, v))
            d = {"min": int(lo), "max": int(hi)}
            if len(v) == 4:
                d["step"] = int(v[3])
            return d
        if key in ("batch", "epochs", "threads", "depth", "width"):
            raise ValueError("search: %s: %s takes integers: use ('int', low, high)" % (where, key))
        d = {"min": float(lo), "max": float(hi)}
        if kind == "log":
            d["log"] = True
        if len(v) == 4:
            n = v[3]
            if not isinstance(n, (numbers.Integral, np.integer)) or n < 2:
                raise ValueError("search: %s: the number of grid points must be an int >= 2, got %r" % (where, n))
            d["n"] = int(n)
        return d
    if isinstance(v, list):
        if not v:
            raise ValueError("search: %s: an empty list of choices" % where)
        return [_value(key, x, where) for x in v]
    if isinstance(v, (tuple, dict, set)) and key != "hidden":
        raise ValueError("search: %s: give a scalar, a list of choices or a range tuple "
                         "('log'|'uniform'|'int', low, high[, n]), got %r" % (where, v))
    return _value(key, v, where)


def space_to_json(space, fixed=None):
    """The ``params`` object of SPACE.json for a search space dict (and fixed
    estimator parameters). Raises ValueError for what cannot be expressed."""
    if not isinstance(space, dict) or not space:
        raise ValueError("search: the space must be a non-empty dict {parameter: values}")
    params = {}
    alpha = {}
    items = list((fixed or {}).items()) + list(space.items())
    for name, v in items:
        if not isinstance(name, str):
            raise ValueError("search: parameter names must be strings, got %r" % (name,))
        if name == "alpha":
            alpha[name] = v
            continue
        key = _NAMES.get(name, name if name in _CLI_KEYS else None)
        if key is None:
            raise ValueError("search: %r cannot be searched by mlpc search (it can: %s)"
                             % (name, ", ".join(sorted(set(_NAMES) | _CLI_KEYS))))
        params[key] = _entry(key, v, "space[%r]" % name)
    if "hidden" in params and ("depth" in params or "width" in params):
        raise ValueError("search: give hidden_layer_sizes or depth/width, not both")
    if alpha:
        a = alpha["alpha"]
        if isinstance(a, list) or _is_range(a):
            b = params.get("batch")
            if not isinstance(b, int):
                raise ValueError("search: alpha can be searched only with a fixed batch_size (mlpc's l2 = alpha / "
                                 "batch_size); search 'l2' instead")
            if _is_range(a):
                a = (a[0], a[1] / b, a[2] / b) + tuple(a[3:])
                params["l2"] = _entry("l2", a, "space['alpha']")
            else:
                params["l2"] = [_value("l2", x, "space['alpha']") / b for x in a]
        else:
            a = _value("l2", a, "space['alpha']")
            if a:
                b = params.get("batch")
                if not isinstance(b, int):
                    raise ValueError("search: alpha=%g needs a fixed batch_size (mlpc's l2 = alpha / batch_size)" % a)
                params["l2"] = a / b
    return params


class SearchResult:
    """What ``mlpc.search`` returns.

    Attributes: ``trials`` (DataFrame, one row per trial), ``best_params``
    (estimator parameters of the best complete trial), ``best_value``,
    ``best_estimator`` (refitted on all of X, y; None with ``refit=False``),
    ``report`` (dict), ``db``, ``study``, ``metric``, ``direction``,
    ``output`` (the CLI's standard output when quiet).
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "SearchResult(study=%r, %d trials, best %s=%s, best_params=%r)" % (
            self.study, len(self.trials), self.metric, self.best_value, self.best_params)

    def __iter__(self):  # tuple-like: best_estimator, best_params, trials, report = mlpc.search(...)
        return iter((self.best_estimator, self.best_params, self.trials, self.report))


def _cli_params_to_est(p):
    """Estimator parameters of one trial's resolved params."""
    out = {}
    if "layers" in p:
        sizes = [int(x) for x in str(p["layers"]).split("-")]
        out["hidden_layer_sizes"] = tuple(sizes[1:-1])
    if "act" in p:
        out["activation"] = _ACT_BACK.get(p["act"], p["act"])
    if "opt" in p:
        out["solver"] = p["opt"]
    if "lr" in p:
        out["learning_rate_init"] = float(p["lr"])
    if "batch" in p:
        out["batch_size"] = int(p["batch"])
    if "epochs" in p:
        out["max_iter"] = int(p["epochs"])
    if p.get("opt") == "sgd" and "momentum" in p:
        out["momentum"] = float(p["momentum"])
    if "l2" in p and "batch" in p:
        out["alpha"] = float(p["l2"]) * int(p["batch"])
    if "init" in p:
        out["init"] = p["init"]
    if "threads" in p:
        out["threads"] = int(p["threads"])
    if "norm" in p:
        out["norm"] = p["norm"]
    return out


def read_study(db, study=None):
    """(trials DataFrame, study row dict, report dict) of a study in a store."""
    import pandas as pd
    con = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(db), uri=True)
    try:
        con.row_factory = sqlite3.Row
        if study is None:
            row = con.execute("SELECT * FROM studies ORDER BY id DESC LIMIT 1").fetchone()
        else:
            row = con.execute("SELECT * FROM studies WHERE name=? ORDER BY id DESC LIMIT 1", (study,)).fetchone()
        if row is None:
            raise ValueError("search: no study %r in %s" % (study, db))
        st = dict(row)
        rows = con.execute("SELECT number, state, params, value, epochs, wall_s, cpu_s, seed, attempts, command, error"
                           " FROM trials WHERE study_id=? ORDER BY number", (st["id"],)).fetchall()
        recs = []
        for r in rows:
            p = json.loads(r["params"]) if r["params"] else {}
            rec = {"number": r["number"], "state": r["state"]}
            rec.update(_cli_params_to_est(p))
            rec.update({"epochs": r["epochs"], st["metric"]: r["value"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                        "seed": r["seed"], "attempts": r["attempts"], "command": r["command"], "error": r["error"],
                        "params": p})
            recs.append(rec)
        trials = pd.DataFrame.from_records(recs)
        if len(trials):
            trials = trials.set_index("number", drop=False)
            trials.index.name = None
        sess = [dict(s) for s in con.execute("SELECT * FROM sessions WHERE study_id=? ORDER BY id", (st["id"],))]
        report = _report(con, st, sess, trials)
    finally:
        con.close()
    return trials, st, report


def _report(con, st, sess, trials):
    wall = sum(s["wall_s"] or 0 for s in sess)
    cpu = sum(s["trial_cpu_s"] or 0 for s in sess)
    core_s = sum((s["wall_s"] or 0) * (s["cores"] or 0) for s in sess)
    last = sess[-1] if sess else {}
    states = trials["state"].value_counts().to_dict() if len(trials) else {}
    rep = {
        "study": st["name"], "sessions": len(sess), "workers": last.get("workers"), "threads": last.get("threads"),
        "cores": last.get("cores"), "ranks": last.get("ranks"), "hosts": last.get("hosts"), "wall_s": wall,
        "trial_cpu_s": cpu, "cpu_efficiency": (cpu / core_s) if core_s > 0 else None,
        "trials_done": sum(s["trials_done"] or 0 for s in sess),
        "complete": int(states.get("complete", 0)), "pruned": int(states.get("pruned", 0)),
        "failed": int(states.get("failed", 0)),
        "dispatch_ms": last.get("dispatch_ms"), "dispatch_max_ms": last.get("dispatch_max_ms"),
        "pss_bytes": last.get("pss_bytes"), "pss_workers_bytes": last.get("pss_workers_bytes"),
        "data_bytes": last.get("data_bytes"), "model_bytes": last.get("model_bytes"),
        "speedup": None, "baseline_study": None,
    }
    # the CLI's speedup: another finished one-session study of the same space run with one worker
    if len(sess) == 1 and (last.get("workers") or 0) > 1 and wall > 0:
        r = con.execute("SELECT st.name, se.wall_s FROM studies st JOIN sessions se ON se.study_id=st.id"
                        " WHERE st.hash=? AND st.id<>? AND st.finished IS NOT NULL AND se.workers=1"
                        " AND se.state='complete' AND (SELECT count(*) FROM sessions x WHERE x.study_id=st.id)=1"
                        " ORDER BY st.id DESC LIMIT 1", (st["hash"], st["id"])).fetchone()
        if r is not None:
            rep["baseline_study"] = r[0]
            rep["speedup"] = r[1] / wall
    return rep


def _error_line(stderr, rc):
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("mlpc search:") or ln.startswith("mlpc:") or "error" in ln.lower()]
    msg = (err or lines or ["exit status %d" % rc])[-1 if not err else 0]
    return msg


def search(space, X, y, *, workers=None, threads=None, trials=20, sampler="random", asha=True, db="study.db",
           study=None, resume=False, epochs=None, metric=None, direction=None, seed=1, val_split=0.2,
           task=None, norm="none", shuffle_data=True, quiet=True, refit=True, keep_data=True, timeout=None, oversubscribe=False,
           **params):
    """Search hyperparameters of an MLP with ``mlpc search``.

    Parameters
    ----------
    space : dict
        ``{estimator parameter: values}``; see the module docstring for the
        mapping and the value forms (scalar, list of choices, range tuple).
    X, y : arrays
        Features (written as float32) and labels (classification: any labels,
        mapped to 0..K-1 and written as int32) or targets (float32).
    workers, threads : int or None
        ``--workers`` / ``--threads`` (None: the CLI's choice, cores / threads).
    trials : int
        Trial budget (grid: 0 means the whole grid).
    sampler : 'random' or 'grid'
    asha : bool or dict
        ASHA pruning (a dict ``{"min_epochs": R, "eta": E}`` sets its rungs).
    db, study : the SQLite file and the study name (default: db's base name).
    resume : bool
        Continue the study in ``db`` (``--resume``); otherwise an existing
        ``db`` that already holds the study is an error from the CLI.
    epochs : int
        Epochs of every trial (or give ``max_iter`` in the space).
    metric, direction : see docs/search.md (default: val_loss, minimized, with
        validation rows, else loss).
    seed : the study seed (trial parameters and training seeds).
    val_split : float or int
        The last fraction (or number) of rows become the validation set; 0:
        none. The rows are shuffled once with ``seed`` before (``shuffle_data``).
    task : 'classify' or 'regress' (default: from y, as scikit-learn's
        type_of_target: floats that are not integers are regression).
    norm : 'none' (the estimators' default), 'scale' or 'standard'.
    quiet : bool
        True: the CLI's output is captured (in ``result.output``); False:
        it streams to this process's standard output.
    keep_data : bool
        X and y are written to ``<db without .db>.data/X-HASH.npy`` and
        ``y-HASH.npy`` (float32; int32 class codes; HASH from their content).
        They stay there by default, so that each trial's ``mlpc train``
        command (the ``command`` column) reproduces it, and ``resume`` and
        other studies of the same data use the same files. False: removed at
        the end.
    refit : bool
        Refit ``best_estimator`` on all of X, y with the best parameters.
    **params : fixed estimator parameters (e.g. solver='adam'), used in every
        trial and in ``best_estimator``.
    """
    from . import _lib
    from .estimators import MLPClassifier, MLPRegressor
    if sampler not in ("random", "grid"):
        raise ValueError("search: sampler must be 'random' or 'grid', got %r" % (sampler,))
    if norm not in ("none", "scale", "standard"):
        raise ValueError("search: norm must be 'none', 'scale' or 'standard', got %r" % (norm,))
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError("search: X must be 2-dimensional, got shape %s" % (X.shape,))
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError("search: X and y have different numbers of rows (%d, %d)" % (len(X), len(y)))
    if task is None:
        if y.dtype.kind in "fc" and not np.all(np.mod(y, 1) == 0) or (y.ndim == 2 and y.shape[1] > 1):
            task = "regress"
        else:
            task = "classify"
    if task not in ("classify", "regress"):
        raise ValueError("search: task must be 'classify' or 'regress', got %r" % (task,))
    est_only = {k: v for k, v in params.items() if k in _EST_ONLY}
    fixed = {k: v for k, v in params.items() if k not in _EST_ONLY}
    if epochs is not None:
        fixed.setdefault("max_iter", epochs)
    fixed.setdefault("init", "glorot")  # the estimators' default (the CLI's: auto)
    fixed.setdefault("solver", "adam")  # the estimators' default (the CLI's: sgd)
    fixed.setdefault("activation", "relu")  # the estimators' default (the CLI's: sigmoid)
    for k in list(fixed):
        if k in space:
            del fixed[k]
    if "alpha" not in space and "alpha" not in fixed:
        fixed["alpha"] = 0.0  # the CLI's default l2 = 0 (the estimators': alpha=1e-4)
    pspace = space_to_json(space, fixed)
    if "hidden" not in pspace and "depth" not in pspace:
        pspace["hidden"] = [100]

    classes = None
    if task == "classify":
        classes, codes = np.unique(y, return_inverse=True)
        yw = codes.astype(np.int32)
    else:
        yw = y.astype(np.float32)
    Xw = np.ascontiguousarray(X, dtype=np.float32)
    if shuffle_data:
        perm = np.random.RandomState(seed % (2 ** 32)).permutation(len(Xw))
        Xw, yw = Xw[perm], yw[perm]

    if study is None:
        study = os.path.splitext(os.path.basename(str(db)))[0] or "study"
    # the data files have a fixed place next to the store: the study's
    # settings name them (--resume needs the same ones) and the trials'
    # `mlpc train` commands read them
    dbabs = os.path.abspath(str(db))
    ddir = os.path.splitext(dbabs)[0] + ".data"
    os.makedirs(ddir, exist_ok=True)
    # named by their content: studies of the same data in one store share
    # the files and the settings (the CLI's speedup compares such studies)
    import hashlib
    h = hashlib.sha1()
    for a in (Xw, yw):
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    tag = h.hexdigest()[:12]
    xpath = os.path.join(ddir, "X-%s.npy" % tag)
    ypath = os.path.join(ddir, "y-%s.npy" % tag)
    tmp = tempfile.mkdtemp(prefix="mlpc-search-")
    try:
        for path, a in ((xpath, Xw), (ypath, yw)):
            if not os.path.exists(path):
                np.save(path + ".tmp.npy", a)
                os.replace(path + ".tmp.npy", path)
        doc = {"study": study, "train": xpath, "train_labels": ypath,
               "norm": norm, "sampler": sampler, "trials": int(trials), "seed": int(seed), "params": pspace}
        if val_split:
            doc["val_split"] = val_split
        if asha:
            doc["pruner"] = dict({"type": "asha"}, **asha) if isinstance(asha, dict) else "asha"
        if metric is not None:
            doc["metric"] = metric
        if direction is not None:
            doc["direction"] = direction
        spath = os.path.join(tmp, "%s.json" % study)
        with open(spath, "w") as f:
            json.dump(doc, f, indent=1)
        cmd = [_lib.cli_path(), "search", spath, "--db", dbabs]
        if workers is not None:
            cmd += ["--workers", str(int(workers))]
        if threads is not None:
            cmd += ["--threads", str(int(threads))]
        if resume:
            cmd.append("--resume")
        if oversubscribe:
            cmd.append("--oversubscribe")
        if quiet:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
            out, err = p.stdout, p.stderr
        else:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=None, stderr=subprocess.PIPE, text=True)
            err_lines = []
            for line in p.stderr:  # stream it, keep it for the error message
                sys.stderr.write(line)
                err_lines.append(line)
            p.wait(timeout=timeout)
            out, err = None, "".join(err_lines)
        if p.returncode != 0:
            msg = _error_line(err, p.returncode)
            bad_space = spath + ":" in msg
            msg = msg.replace(spath + ":", "space:")
            if p.returncode == 2 or bad_space:  # usage errors and errors in the space: the arguments
                raise ValueError(msg)
            raise RuntimeError(msg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not keep_data and not resume:
            for f in (xpath, ypath):
                if os.path.exists(f):
                    os.unlink(f)
            try:
                os.rmdir(ddir)
            except OSError:
                pass

    df, st, report = read_study(str(db), study)
    mname = st["metric"]
    maximize = st["direction"] == "maximize"
    done = df[df["state"] == "complete"] if len(df) else df
    best_params, best_value, best_trial = None, None, None
    if len(done):
        vals = done[mname].astype(float)
        i = vals.idxmax() if maximize else vals.idxmin()
        best_trial = int(i)
        best_value = float(done.loc[i, mname])
        best_params = _cli_params_to_est(done.loc[i, "params"])
    best_estimator = None
    if refit and best_params is not None:
        Est = MLPClassifier if task == "classify" else MLPRegressor
        kw = dict(est_only)
        kw.update(best_params)
        kw.setdefault("random_state", int(seed) % (2 ** 32))
        best_estimator = Est(**kw)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the epochs are the searched budget
            best_estimator.fit(X, y)
    return SearchResult(trials=df, best_params=best_params, best_value=best_value, best_trial=best_trial,
                        best_estimator=best_estimator, report=report, db=str(db), study=study, metric=mname,
                        direction=st["direction"], classes=classes, output=out if quiet else None)
