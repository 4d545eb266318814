"""scikit-learn style estimators over the mlpc C library.

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's parameter names and
defaults where they exist, and mlpc's own settings besides. Training runs the
C trainer on a worker thread; the thread that called ``fit`` waits in short
joins, draws live plots (``on_tick``) and turns Ctrl-C (Jupyter's stop button)
into an orderly stop: ``fit`` returns with the weights trained so far.

Differences from scikit-learn (see the class docstrings):

* The data is float32. A float32 C-contiguous X is used in place by the C
  code, with no copy: for training when ``norm='none'`` (the default, as in
  scikit-learn, which never rescales inputs; with 'scale' or 'standard' the
  library copies the rows once and normalizes its copy), and always by
  predict. Float32 rows with a row stride (e.g. ``X[:, :k]``) are read in
  place by predict and copied once by the library for training. Anything
  else (float64, int, Fortran order, DataFrames) is converted once. With
  ``early_stopping`` the training and validation rows are gathered once.
  The arrays a fitted estimator borrows are kept referenced while needed
  (by ``partial_fit``'s trainer until the next call).
* Classification always uses a softmax output with K units and categorical
  cross-entropy, also for two classes (scikit-learn: one logistic unit), so
  ``coefs_[-1]`` has K columns. Multilabel targets are not supported.
* ``alpha`` is scikit-learn's L2 term: the weight gradient of a batch of B
  rows gains ``alpha / B * W`` (mlpc's ``l2 = alpha / batch_size``).
  ``loss_curve_`` holds the data loss without the penalty term.
* ``solver='lbfgs'`` and ``learning_rate='invscaling'`` are not available;
  ``solver='rmsprop'`` and ``schedule`` are mlpc's own.
* Early stopping (``tol``/``n_iter_no_change``) is mlpc's: training stops
  after ``n_iter_no_change + 1`` epochs in a row (scikit-learn's count) in
  which the monitored value did not improve by more than ``tol`` on the best
  value; the best value only moves when it improves by more than ``tol``.
  Without ``early_stopping`` the training loss is monitored and the last
  weights are kept; with it, the validation accuracy (classifier) or the
  validation mean squared error (regressor; ``validation_scores_`` still
  holds R^2) and the best weights are restored.
* ``partial_fit`` keeps its trainer (and the optimizer state) from call to
  call; a ``partial_fit`` after ``fit`` starts a fresh optimizer state on
  the fitted weights.
* ``predict_proba`` and ``MLPRegressor.predict`` return float64 computed in
  float32.
* ``init='glorot'`` (the default) draws the weights as scikit-learn does
  (uniform, +-sqrt(6 / (fan_in + fan_out))) but starts the biases at 0;
  mlpc's 'he', 'normal' and 'auto' (He for relu nets) are available.
"""

import json
import math
import numbers
import os
import sys
import _thread
import threading
import time
import warnings

import numpy as np

from . import _lib
from ._core import Dataset, Net, Trainer, config_default, float_rows

try:  # scikit-learn is optional: with it the estimators are sklearn estimators
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError

    _HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without sklearn
    _HAVE_SKLEARN = False
    import inspect

    class BaseEstimator:
        """Minimal stand-in for sklearn.base.BaseEstimator."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError("Invalid parameter %r for estimator %s" % (k, type(self).__name__))
                setattr(self, k, v)
            return self

        def __repr__(self):
            defaults = inspect.signature(type(self).__init__).parameters
            args = ["%s=%r" % (k, v) for k, v in self.get_params().items()
                    if k in defaults and defaults[k].default is not v and defaults[k].default != v]
            return "%s(%s)" % (type(self).__name__, ", ".join(args))

        def __getstate__(self):
            return self.__dict__.copy()

        def __setstate__(self, state):
            self.__dict__.update(state)

    class ClassifierMixin:
        _estimator_type = "classifier"

    class RegressorMixin:
        _estimator_type = "regressor"

    class ConvergenceWarning(UserWarning):
        pass

    class DataConversionWarning(UserWarning):
        pass

    class NotFittedError(ValueError, AttributeError):
        pass


__all__ = ["MLPClassifier", "MLPRegressor", "load", "TrainingInterrupted"]


# guards an estimator's _active_trainer against being freed while another
# thread interrupts it
_ACTIVE_LOCK = threading.Lock()


# mlpc_precision (include/mlpc.h): training's products
_PRECISION = {"fp32": 0, "bf16": 1, "auto": 2}

class TrainingInterrupted(UserWarning):
    """Warned when fit returns early after Ctrl-C / interrupt."""


_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "linear": "linear", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu", "softmax": "softmax"}
_SK_ACT = {"linear": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu",
           "leaky_relu": "leaky_relu"}
_LOSSES = {"log_loss": "cce", "squared_error": "mse", "cce": "cce", "bce": "bce", "mse": "mse",
           "quadratic": "quadratic"}
_METRIC_KEYS = ("loss", "acc", "val_loss", "val_acc", "test_loss", "test_acc")
_REGRESS_KEYS = ("mse", "val_mse", "test_mse")


def _num(v):
    """None for NaN/inf (as the CLI's JSON null), else a float."""
    v = float(v)
    return v if math.isfinite(v) else None


def _jnum(v, digits=9):
    return "null" if v is None or not math.isfinite(v) else "%.*g" % (digits, v)


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "to_numpy")


def _is_sparse(X):
    try:
        import scipy.sparse as sp
    except ImportError:
        return False
    return sp.issparse(X)


def _seed(random_state):
    """A 63-bit seed for the C library from a random_state."""
    if random_state is None:
        return int(np.random.randint(1, 2**31 - 1))
    if isinstance(random_state, (numbers.Integral, np.integer)):
        return int(random_state) & ((1 << 63) - 1)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(1, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(1, 2**31 - 1))
    raise ValueError("random_state must be None, an int or a numpy RandomState, got %r" % (random_state,))


def _gather(X, idx, chunk=4096):
    """Rows idx of X as a new float32 C-contiguous array, converting chunk by
    chunk (one copy of the data, whatever X's dtype)."""
    out = np.empty((len(idx), X.shape[1]), dtype=np.float32)
    for i in range(0, len(idx), chunk):
        out[i:i + chunk] = X[idx[i:i + chunk]]
    return out


def _first_nonfinite(X, chunk=4096):
    """(row, column) of X's first NaN or infinity, or None (chunk by chunk)."""
    for i in range(0, X.shape[0], chunk):
        bad = ~np.isfinite(X[i:i + chunk])
        if bad.any():
            r, c = np.argwhere(bad)[0]
            return int(i + r), int(c)
    return None


class _BaseMLP(BaseEstimator):
    _task = None

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, loss=None, out_activation=None,
                 schedule=None, norm="none", init="glorot", threads=1, device="cpu", metrics_path=None, run_name=None,
                 precision="fp32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.loss = loss
        self.out_activation = out_activation
        self.schedule = schedule
        self.norm = norm
        self.init = init
        self.threads = threads
        self.device = device
        self.metrics_path = metrics_path
        self.run_name = run_name
        self.precision = precision

    # ------------------------------------------------------------ params
    def _hidden(self):
        h = self.hidden_layer_sizes
        if isinstance(h, (numbers.Integral, np.integer)):
            h = [h]
        elif isinstance(h, str):
            h = [int(v) for v in h.replace(",", "-").split("-") if v.strip()]
        h = list(h)
        if any(not isinstance(v, (numbers.Integral, np.integer)) or v <= 0 for v in h):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % (list(h),))
        if len(h) + 1 > _lib.MAX_LAYERS:
            raise ValueError("hidden_layer_sizes: at most %d hidden layers" % (_lib.MAX_LAYERS - 1))
        return [int(v) for v in h]

    def _check_params(self):
        if self.solver == "lbfgs":
            raise ValueError("solver='lbfgs' is not supported by mlpc: use 'adam', 'sgd' or 'rmsprop'")
        if self.solver not in _lib.OPT:
            raise ValueError("The solver %r is not supported; expected 'adam', 'sgd' or 'rmsprop'" % (self.solver,))
        if self.activation not in _ACTIVATIONS or self.activation == "softmax":
            raise ValueError("The activation %r is not supported. Supported activations are %s."
                             % (self.activation, sorted(set(_ACTIVATIONS) - {"softmax"})))
        if self.out_activation is not None and self.out_activation not in _ACTIVATIONS:
            raise ValueError("out_activation %r is not supported; expected one of %s"
                             % (self.out_activation, sorted(_ACTIVATIONS)))
        if self.loss is not None and self.loss not in _LOSSES:
            raise ValueError("loss %r is not supported; expected one of %s" % (self.loss, sorted(_LOSSES)))
        if self.learning_rate not in ("constant", "adaptive"):
            raise ValueError("learning_rate %r is not supported by mlpc: use 'constant', 'adaptive' or "
                             "mlpc's schedule= ('step', 'exponential', 'plateau')" % (self.learning_rate,))
        if self.init not in _lib.INIT:
            raise ValueError("init must be one of %s, got %r" % (sorted(_lib.INIT), self.init))
        if self.norm not in _lib.NORM:
            raise ValueError("norm must be 'none', 'scale' or 'standard', got %r" % (self.norm,))
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if not isinstance(v, (numbers.Integral, np.integer)) or v <= 0:
                raise ValueError("%s must be > 0, got %r." % (name, v))
        for name in ("alpha", "tol", "momentum", "epsilon"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or v < 0:
                raise ValueError("%s must be >= 0, got %r." % (name, v))
        if not isinstance(self.learning_rate_init, numbers.Real) or self.learning_rate_init <= 0:
            raise ValueError("learning_rate_init must be > 0, got %r." % (self.learning_rate_init,))
        if self.momentum > 1:
            raise ValueError("momentum must be >= 0 and <= 1, got %s" % self.momentum)
        for name in ("beta_1", "beta_2"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or not 0 <= v < 1:
                raise ValueError("%s must be >= 0 and < 1, got %r" % (name, v))
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError("validation_fraction must be > 0 and < 1, got %r" % (self.validation_fraction,))
        bs = self.batch_size
        if bs != "auto" and (not isinstance(bs, (numbers.Integral, np.integer)) or bs < 1):
            raise ValueError("batch_size must be 'auto' or an int >= 1, got %r" % (bs,))
        t = self.threads
        if not isinstance(t, (numbers.Integral, np.integer)) or t < -1:
            raise ValueError("threads must be an int >= 1 (0 or -1: one per CPU core), got %r" % (t,))
        if self.precision not in _PRECISION:
            raise ValueError("precision must be 'fp32', 'bf16' or 'auto', got %r" % (self.precision,))
        self._hidden()

    def _sched(self, cfg):
        s = self.schedule
        if s is None:
            if self.learning_rate == "adaptive":  # sklearn: lr / 5 after stalls of the training loss
                cfg.sched = _lib.SCHED["plateau"]
                cfg.sched_factor = 0.2
                cfg.sched_patience = 2
                cfg.min_lr = 1e-6
            return
        if isinstance(s, str):
            s = {"name": s}
        if not isinstance(s, dict) or s.get("name") not in _lib.SCHED:
            raise ValueError("schedule must be None, one of %s or a dict {'name': ..., 'factor': ..., 'step': ..., "
                             "'patience': ..., 'min_lr': ...}, got %r" % (sorted(_lib.SCHED), self.schedule))
        bad = set(s) - {"name", "factor", "step", "patience", "min_lr"}
        if bad:
            raise ValueError("schedule: unknown keys %s" % sorted(bad))
        cfg.sched = _lib.SCHED[s["name"]]
        cfg.sched_factor = 0.95 if s["name"] == "exponential" else 0.5
        if "factor" in s:
            cfg.sched_factor = float(s["factor"])
        if "step" in s:
            cfg.sched_step = int(s["step"])
        if "patience" in s:
            cfg.sched_patience = int(s["patience"])
        if "min_lr" in s:
            cfg.min_lr = float(s["min_lr"])

    def _out_act(self):
        if self.out_activation is not None:
            return _ACTIVATIONS[self.out_activation]
        return "softmax" if self._task == _lib.TASK_CLASSIFY else "linear"

    def _loss_name(self):
        if self.loss is not None:
            return _LOSSES[self.loss]
        return "cce" if self._task == _lib.TASK_CLASSIFY else "mse"

    def _config(self, n_in, n_out, n_samples, epochs, incremental):
        from ._lib import lib
        cfg = config_default()
        sizes = [n_in] + self._hidden() + [n_out]
        err = _lib.mlpc_error()
        _lib.check(lib.mlpc_config_set_layers(cfg, "-".join(map(str, sizes)).encode(), err), err)
        cfg.loss = _lib.LOSS[self._loss_name()]
        lib.mlpc_config_set_acts(cfg, _lib.ACT[_ACTIVATIONS[self.activation]], _lib.ACT[self._out_act()])
        cfg.norm = _lib.NORM[self.norm]
        cfg.init = _lib.INIT[self.init]
        cfg.opt = _lib.OPT[self.solver]
        cfg.lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            cfg.momentum = float(self.momentum)
            cfg.nesterov = 1 if (self.nesterovs_momentum and self.momentum > 0) else 0
        cfg.beta1 = float(self.beta_1)
        cfg.beta2 = float(self.beta_2)
        cfg.eps = float(self.epsilon)
        batch = self._batch(n_samples)
        cfg.batch = batch
        cfg.l2 = float(self.alpha) / batch
        self._sched(cfg)
        cfg.epochs = int(epochs)
        cfg.seed = self._seed_value
        t = int(self.threads)
        cfg.threads = (os.cpu_count() or 1) if t <= 0 else t
        cfg.shuffle = 1 if self.shuffle else 0
        cfg.precision = _PRECISION[self.precision]
        if incremental:
            cfg.es_patience = 0
        else:
            cfg.es_patience = int(self.n_iter_no_change) + 1
            cfg.es_min_delta = float(self.tol)
            if self.early_stopping:
                cfg.es_metric = _lib.METRIC["val_acc" if self._task == _lib.TASK_CLASSIFY else "val_loss"]
                cfg.es_restore_best = 1
            else:
                cfg.es_metric = _lib.METRIC["loss"]
                cfg.es_restore_best = 0
        _lib.check(lib.mlpc_config_validate(cfg, err), err)
        return cfg

    def _batch(self, n):
        if self.batch_size == "auto":
            return max(1, min(200, n))
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return max(1, min(int(self.batch_size), n))

    # ------------------------------------------------------------ inputs
    def _check_feature_names_and_count(self, X, n_features, reset):
        if _HAVE_SKLEARN and hasattr(self, "_check_feature_names"):
            self._check_feature_names(X, reset=reset)
        elif reset:
            if _is_dataframe(X) and all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif getattr(self, "feature_names_in_", None) is not None and _is_dataframe(X):
            if list(X.columns) != list(self.feature_names_in_):
                raise ValueError("The feature names should match those that were passed during fit.")
        if reset:
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            raise ValueError("X has %d features, but %s is expecting %d features as input."
                             % (n_features, type(self).__name__, self.n_features_in_))

    def _as_X(self, X, reset, convert=True):
        """X as float32 rows (X itself when it already is that, else one
        converted copy), checked for shape and, against the fit, feature
        count and names. convert=False: the checked numeric array as is."""
        if X is None:
            raise ValueError("Expected 2D array, got None instead.")
        if _is_sparse(X):
            raise TypeError("mlpc: sparse input is not supported; pass a dense array (X.toarray())")
        frame = X
        if _is_dataframe(X):
            X = X.to_numpy(dtype=np.float32 if convert else None)
            if X.dtype.kind not in "biuf":
                X = np.asarray(X, dtype=np.float32)
        elif not isinstance(X, np.ndarray):
            X = np.asarray(X)
            if X.dtype.kind not in "fc":
                X = np.asarray(X, dtype=np.float32)  # lists of ints, objects: ValueError/TypeError here
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported")
        if X.ndim != 2:
            if X.ndim == 1:
                raise ValueError("Expected 2D array, got 1D array instead:\narray=%s.\nReshape your data either "
                                 "using array.reshape(-1, 1) if your data has a single feature or "
                                 "array.reshape(1, -1) if it contains a single sample." % (X,))
            raise ValueError("Expected 2D array, got %dD array instead" % X.ndim)
        if X.dtype.kind not in "biuf":
            X = np.asarray(X, dtype=np.float32)
        n, d = X.shape
        if n == 0:
            raise ValueError("Found array with 0 sample(s) (shape=%s) while a minimum of 1 is required." % (X.shape,))
        if d == 0:
            raise ValueError("Found array with 0 feature(s) (shape=%s) while a minimum of 1 is required." % (X.shape,))
        self._check_feature_names_and_count(frame, d, reset)
        return float_rows(X) if convert else X

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, plot=False, callbacks=None):
        """Trains on X (n_samples x n_features) and y for up to max_iter
        epochs (fewer with early stopping); returns self.

        plot: True draws a live plot (mlpc.plot.LivePlot) while training.
        callbacks: a list of callables f(metrics) called after every epoch
        (False stops training) or objects with any of on_train_begin(est,
        info), on_batch(info), on_epoch(metrics), on_tick(), on_train_end(est).
        Ctrl-C (Jupyter's stop button) stops training at the next batch:
        fit then returns normally with a TrainingInterrupted warning.

        Threads: training runs on a worker thread. on_batch, on_epoch and
        the plain callables are called there (between batches, while the
        trainer waits; keep on_batch cheap: it fires about 20 times per
        epoch); on_train_begin, on_tick (about every 0.1 s, for drawing)
        and on_train_end run on the thread that called fit. An exception in
        a callback stops training and is raised by fit.

        metrics (history_ entries): run, time, epoch, loss, acc, val_loss,
        val_acc, test_loss, test_acc, (regression: mse, val_mse, test_mse),
        lr, epoch_seconds, eval_seconds, samples_per_second; None where the
        CLI writes null. With metrics_path set, each is also appended to
        that file as one JSON line, exactly as `mlpc train --metrics`.
        """
        return self._fit(X, y, incremental=False, plot=plot, callbacks=callbacks)

    def _fit(self, X, y, incremental, plot=False, callbacks=None, classes=None):
        self._check_params()
        first = incremental and getattr(self, "_net", None) is None
        reset = not incremental or first
        if not reset and getattr(self, "_net", None) is None:
            reset = True
        X_in = X
        split = self.early_stopping and not incremental
        # with a validation split the rows are gathered (and converted) once
        # from X as given, so X is not converted first
        X = self._as_X(X, reset=reset, convert=not split)
        codes, targets, n_out = self._prep_y(y, X.shape[0], reset, classes, incremental)
        n = X.shape[0]
        keep_net = (getattr(self, "_net", None) is not None and (incremental and not first or
                                                                  (self.warm_start and not incremental)))
        if keep_net and (self._net.n_inputs != X.shape[1] or self._net.n_outputs != n_out
                         or self._net.sizes[1:-1] != self._hidden()):
            if incremental:
                raise ValueError("partial_fit: the data does not fit the network (%s)"
                                 % "-".join(map(str, self._net.sizes)))
            keep_net = False
        if not keep_net:
            self._seed_value = _seed(self.random_state)
            self._reset_results()
        # validation split (fit with early_stopping only)
        val_rows = None
        if split:
            tr_rows, val_rows = self._split(n, codes)
        # our own converted copy may be normalized in place; a DataFrame's
        # to_numpy() may be a view of its data, so it counts as the caller's
        own_copy = X is not X_in and not _is_dataframe(X_in)
        if val_rows is not None:
            Xt, Xv = _gather(X, tr_rows), _gather(X, val_rows)
            ct = codes[tr_rows] if codes is not None else None
            cv = codes[val_rows] if codes is not None else None
            tt = targets[tr_rows] if targets is not None else None
            tv = targets[val_rows] if targets is not None else None
            own_copy = True
        else:
            Xt, ct, tt = X, codes, targets
            Xv = cv = tv = None
        n_train = Xt.shape[0]
        if incremental and getattr(self, "_trainer", None) is not None and keep_net:
            trainer = self._trainer
            cfg = trainer.cfg
        else:
            epochs = 1 if incremental else int(self.max_iter)
            cfg = self._config(X.shape[1], n_out, n_train, epochs, incremental)
            trainer = None
        # the net: new, or the fitted one (warm start, partial_fit)
        if not keep_net:
            net = Net.create(cfg)
        else:
            net = self._net
        # zero copy: borrow X unless normalization would rewrite it in place
        normalize = self.norm != "none" or net.norm != "none"
        borrow = (not normalize) or own_copy
        n_classes = n_out if codes is not None else 0
        try:
            train = Dataset(Xt, labels=ct, n_classes=n_classes, targets=tt, borrow=borrow, source="X")
            val = None
            if Xv is not None:
                val = Dataset(Xv, labels=cv, n_classes=n_classes, targets=tv, borrow=True, source="X")
        except ValueError:
            bad = _first_nonfinite(X) if val_rows is not None else None
            if bad is None:
                raise
            # the C message counts rows of the shuffled split: name X's own row
            raise ValueError("X: x[%d][%d] is %s: every value must be finite"
                             % (bad[0], bad[1], "NaN" if np.isnan(X[bad]) else "inf")) from None
        if normalize:
            if not keep_net:
                net.fit_normalization(train, self.norm)
            net.normalize(train)
            if val is not None:
                net.normalize(val)
        if val is not None and targets is not None:
            var = np.var(tv.astype(np.float64), axis=0).sum()
            self._val_sst = float(var)
        else:
            self._val_sst = None
        self._train_ds = train  # the dataset stays alive as long as the trainer borrows it
        self._net = net
        if trainer is None:
            trainer = Trainer(net, cfg)
        else:
            trainer.clear_interrupt()
        trainer.set_data(train, val, None)
        if self.device not in (None, "cpu"):
            trainer.set_device(self._select_device())
        if incremental:
            self._trainer = trainer
            trainer.set_epochs(trainer.epochs_done + 1)
        else:
            self._trainer = None
        self._cfg_json = self._config_json(cfg)
        self._run(trainer, n_train, val is not None, plot, callbacks, incremental)
        if not incremental:
            trainer.close()
        self._train_ds = train if incremental else None
        return self

    def _select_device(self):
        import ctypes
        from ._lib import lib
        want, got = _lib.Device(), _lib.Device()
        if lib.mlpc_device_parse(str(self.device).encode(), want) != 0:
            raise ValueError("device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got %r" % (self.device,))
        err = _lib.mlpc_error()
        why = ctypes.create_string_buffer(512)
        _lib.check(lib.mlpc_device_select(want, got, why, 512, err), err)
        if self.verbose:
            print("device: %s" % why.value.decode(errors="replace"))
        return got

    def _config_json(self, cfg):
        from ._lib import lib
        import ctypes
        buf = ctypes.create_string_buffer(1 << 16)
        if lib.mlpc_config_to_json(cfg, buf, len(buf)) < 0:
            return None
        return buf.value.decode()

    def _reset_results(self):
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = np.inf
        self._seconds = 0.0

    def _split(self, n, codes):
        """Train and validation row indices: validation_fraction of the rows,
        shuffled with random_state, stratified by class for classifiers."""
        rng = np.random.RandomState(self._seed_value & 0xFFFFFFFF)
        n_val = int(math.ceil(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError("early_stopping: %d samples are too few to hold out validation_fraction=%g"
                             % (n, self.validation_fraction))
        if codes is None:
            perm = rng.permutation(n)
            return np.sort(perm[n_val:]), np.sort(perm[:n_val])
        val = []
        counts = np.bincount(codes)
        share = counts * (n_val / n)
        take = np.floor(share).astype(int)
        rest = n_val - take.sum()
        if rest > 0:
            order = np.argsort(-(share - take), kind="stable")
            take[order[:rest]] += 1
        for k in range(len(counts)):
            rows = np.flatnonzero(codes == k)
            rng.shuffle(rows)
            val.append(rows[:take[k]])
        val = np.sort(np.concatenate(val))
        mask = np.ones(n, dtype=bool)
        mask[val] = False
        return np.flatnonzero(mask), val

    # ------------------------------------------------------------ the training loop
    def _interrupt(self):
        """Asks the running fit to stop at the next batch boundary; safe from
        any thread (and from callbacks). fit then returns normally with a
        TrainingInterrupted warning. No-op when nothing trains."""
        self._interrupt_requested = True
        with _ACTIVE_LOCK:  # the trainer is not freed while it is interrupted
            tr = getattr(self, "_active_trainer", None)
            if tr is not None:
                tr.interrupt()
        ev = getattr(self, "_interrupt_event", None)
        if ev is not None:
            ev.set()

    def _run(self, trainer, n_train, has_val, plot, callbacks, incremental):
        cbs = list(callbacks or [])
        if plot:
            from .plot import LivePlot
            cbs.append(LivePlot())
        hooks = ("on_train_begin", "on_batch", "on_epoch", "on_tick", "on_train_end")

        def has(c, name):
            return callable(getattr(c, name, None))

        plain = [c for c in cbs if callable(c) and not any(has(c, h) for h in hooks)]
        for c in cbs:
            if not callable(c) and not any(has(c, h) for h in hooks):
                raise TypeError("callbacks: %r is neither callable nor has on_epoch/on_batch/on_tick/..." % (c,))
        begin = [c for c in cbs if has(c, "on_train_begin")]
        batch = [c for c in cbs if has(c, "on_batch")]
        epoch = [c for c in cbs if has(c, "on_epoch")]
        tick = [c for c in cbs if has(c, "on_tick")]
        end = [c for c in cbs if has(c, "on_train_end")]

        B = trainer.cfg.batch
        n_batches = (n_train + B - 1) // B
        classify = self._task == _lib.TASK_CLASSIFY
        run = self.run_name or (os.path.splitext(os.path.basename(self.metrics_path))[0]
                                if self.metrics_path else "python")
        offset = self.n_iter_ - trainer.epochs_done  # warm start: epochs continue from the last fit
        planned = trainer.cfg.epochs - trainer.epochs_done
        info = {"n_epochs": planned, "n_batches_per_epoch": n_batches, "n_samples": n_train,
                "task": "classify" if classify else "regress", "run": run, "run_name": run, "epoch_offset": self.n_iter_,
                "n_features": self.n_features_in_, "n_outputs": self._net.n_outputs,
                "metrics_path": self.metrics_path}
        metrics_file = open(self.metrics_path, "a") if self.metrics_path else None
        errors = []

        def on_epoch(tr, st_p, user):
            try:
                st = st_p.contents
                m = {"run": run, "time": round(time.time(), 3), "epoch": st.epoch + offset}
                for k in _METRIC_KEYS:
                    m[k] = _num(getattr(st, k))
                if not classify:
                    for k in _REGRESS_KEYS:
                        m[k] = _num(getattr(st, k))
                m["lr"] = _num(st.lr)
                m["epoch_seconds"] = _num(st.epoch_seconds)
                m["eval_seconds"] = _num(st.eval_seconds)
                m["samples_per_second"] = _num(st.samples_per_second)
                self._record_epoch(m, st, n_train, has_val)
                if metrics_file is not None:
                    metrics_file.write(self._metrics_line(m, classify))
                    metrics_file.flush()
                if self.verbose:
                    self._print_epoch(m, classify)
                stop = False
                mc = dict(m)  # callbacks get a copy: history_ stays as trained
                for c in epoch:
                    if c.on_epoch(mc) is False:
                        stop = True
                for c in plain:
                    if c(mc) is False:
                        stop = True
                return 1 if stop else 0
            except BaseException as e:  # noqa: B902 - re-raised on the calling thread
                errors.append(e)
                return 1

        def on_batch(tr, bi_p, user):
            try:
                b = bi_p.contents
                d = {"epoch": b.epoch + offset, "batch": b.batch, "n_batches": b.n_batches, "loss": _num(b.loss),
                     "acc": _num(b.acc), "run_loss": _num(b.run_loss), "run_acc": _num(b.run_acc),
                     "lr": _num(b.lr), "seconds": _num(b.seconds)}
                stop = False
                for c in batch:
                    if c.on_batch(d) is False:
                        stop = True
                return 1 if stop else 0
            except BaseException as e:  # noqa: B902
                errors.append(e)
                return 1

        trainer.on_epoch(on_epoch)
        trainer.on_batch(on_batch if batch else None, max(1, n_batches // 20))
        for c in begin:
            c.on_train_begin(self, dict(info))

        result = {}
        # the calling thread waits on a plain lock that the worker releases at
        # the end (C-level acquire with a timeout, so Ctrl-C gets through),
        # and looks at a flag: neither Thread.join nor an Event survive a
        # KeyboardInterrupt at any point in their Python code
        finished = threading.Lock()
        finished.acquire()

        def work():
            try:
                result["status"] = trainer.run()
            finally:
                result["done"] = True
                finished.release()

        self._interrupt_requested = False
        self._interrupt_event = threading.Event()
        with _ACTIVE_LOCK:
            self._active_trainer = trainer
        t0 = time.monotonic()
        launched = False
        try:
            while True:
                try:
                    if not launched:
                        # _thread, not threading.Thread: Thread.start() waits on
                        # an Event, where Ctrl-C would escape this loop
                        launched = True
                        _thread.start_new_thread(work, ())
                    while not result.get("done"):
                        if not finished.acquire(timeout=0.1):
                            for c in tick:
                                c.on_tick()
                    break
                except KeyboardInterrupt:  # Ctrl-C, Jupyter's stop button
                    self._interrupt()
        finally:
            while not result.get("done"):  # an exception in on_tick: stop the trainer, then raise
                self._interrupt()
                try:
                    finished.acquire(timeout=0.1)
                except KeyboardInterrupt:
                    pass
            with _ACTIVE_LOCK:
                self._active_trainer = None
            self._seconds += time.monotonic() - t0
            if metrics_file is not None:
                metrics_file.close()
            trainer.on_batch(None, 1)
            trainer.on_epoch(None)
        status = result.get("status", _lib.ERR_ARG)
        self._finish(trainer, classify, incremental)
        for c in end:  # also after errors and interrupts, so plots can finish
            try:
                c.on_train_end(self)
            except Exception as e:  # noqa: B902 - the first error wins
                errors.append(e)
        if errors:
            raise errors[0]
        if status != _lib.OK:
            code, msg = trainer.error()
            if status == _lib.ERR_DIVERGED:
                msg += " (lower learning_rate_init, or scale the inputs, e.g. norm='standard')"
            _lib.raise_error(status, msg)
        reason = trainer.stop_reason if trainer.stopped else ""
        if self._interrupt_requested or reason == "interrupted":
            warnings.warn("mlpc: training was interrupted at epoch %d; the model keeps the weights %s"
                          % (self.n_iter_, "of the best epoch" if (self.early_stopping and not incremental)
                             else "trained so far"), TrainingInterrupted, stacklevel=4)
        elif (not incremental and not trainer.stopped and trainer.epochs_done >= trainer.cfg.epochs):
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the optimization hasn't "
                          "converged yet." % self.max_iter, ConvergenceWarning, stacklevel=4)
        self._stop_reason = reason
        self._interrupt_event = None

    def _record_epoch(self, m, st, n_train, has_val):
        self.history_.append(m)
        self.n_iter_ += 1
        self.t_ += n_train
        loss = m["loss"]
        self.loss_curve_.append(loss if loss is not None else float("nan"))
        if loss is not None and (self.best_loss_ is None or loss < self.best_loss_):
            self.best_loss_ = loss
        if has_val:
            if self._task == _lib.TASK_CLASSIFY:
                score = m["val_acc"]
            else:
                mse = m.get("val_mse")
                if mse is None:
                    mse = m.get("val_loss")
                sst = self._val_sst
                n_out = self._net.n_outputs
                score = None if mse is None else (1.0 - mse * n_out / sst if sst else 0.0)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            self.validation_scores_.append(score)
            if score is not None and (self.best_validation_score_ is None or score > self.best_validation_score_):
                self.best_validation_score_ = score

    @staticmethod
    def _metrics_line(m, classify):
        parts = ['"run":%s' % json.dumps(m["run"]), '"time":%.3f' % m["time"], '"epoch":%d' % m["epoch"]]
        keys = list(_METRIC_KEYS) + ([] if classify else list(_REGRESS_KEYS))
        for k in keys:
            parts.append('"%s":%s' % (k, _jnum(m[k])))
        parts.append('"lr":%s' % _jnum(m["lr"], 7))
        for k in ("epoch_seconds", "eval_seconds", "samples_per_second"):
            parts.append('"%s":%s' % (k, _jnum(m[k])))
        return "{" + ",".join(parts) + "}\n"

    def _print_epoch(self, m, classify):
        def f(v, fmt):
            return "nan" if v is None else fmt % v
        s = "epoch %d  loss %s" % (m["epoch"], f(m["loss"], "%.4g" if not classify else "%.4f"))
        if classify:
            s += "  acc %s" % f(m["acc"], "%.4f")
            if m["val_acc"] is not None:
                s += "  val_acc %.4f" % m["val_acc"]
        elif m.get("val_mse") is not None:
            s += "  val_mse %.4g" % m["val_mse"]
        s += "  lr %s  %ss" % (f(m["lr"], "%g"), f(m["epoch_seconds"], "%.2f"))
        print(s, flush=True)
        sys.stdout.flush()

    def _finish(self, trainer, classify, incremental):
        """Fitted attributes and the model's stored settings after training."""
        net = self._net
        self.n_layers_ = net.n_layers + 1
        self.n_outputs_ = net.n_outputs
        self.out_activation_ = _SK_ACT.get(net.acts[-1], net.acts[-1])
        if self.early_stopping and not incremental:  # as sklearn: no best_loss_ with a validation set
            self.best_loss_ = None
        last = self.history_[-1] if self.history_ else {}
        meta = {"task": "classify" if classify else "regress", "data": "python", "run": last.get("run", "python"),
                "epochs": self.n_iter_, "seconds": round(self._seconds, 6)}
        if trainer.stopped and trainer.stop_reason:
            meta["stop_reason"] = trainer.stop_reason
        if last:
            tr = {"loss": last.get("loss"), "n": int(trainer._data[0].n) if trainer._data else 0}
            if classify:
                tr = {"loss": last.get("loss"), "acc": last.get("acc"), "n": tr["n"]}
            else:
                tr = {"loss": last.get("loss"), "mse": last.get("mse"), "n": tr["n"]}
            meta["train"] = tr
            if last.get("val_loss") is not None and trainer._data[1] is not None:
                v = {"loss": last.get("val_loss"), "n": int(trainer._data[1].n)}
                v["acc" if classify else "mse"] = last.get("val_acc" if classify else "val_mse")
                meta["val"] = v
        meta["python"] = self._python_meta()
        try:
            text = json.dumps(meta)
        except (TypeError, ValueError):
            meta["python"].pop("classes", None)
            text = json.dumps(meta, default=str)
        net.set_meta("metrics", text)
        if self._cfg_json:
            net.set_meta("config", self._cfg_json)

    def _python_meta(self):
        params = {}
        for k, v in self.get_params(deep=False).items():
            try:
                json.dumps(v)
            except (TypeError, ValueError):
                continue
            params[k] = list(v) if isinstance(v, tuple) else v
        d = {"estimator": type(self).__name__, "package": "mlpc", "params": params}
        if hasattr(self, "classes_"):
            try:
                cl = self.classes_.tolist()
                json.dumps(cl)
                d["classes"] = cl
                d["classes_dtype"] = self.classes_.dtype.str
            except (TypeError, ValueError):
                pass
        if hasattr(self, "feature_names_in_"):
            d["feature_names"] = [str(c) for c in self.feature_names_in_]
        return d

    # ------------------------------------------------------------ prediction
    def _check_fitted(self):
        if getattr(self, "_net", None) is None:
            raise NotFittedError("This %s instance is not fitted yet. Call 'fit' with appropriate arguments "
                                 "before using this estimator." % type(self).__name__)

    def _forward(self, X):
        self._check_fitted()
        X = self._as_X(X, reset=False)
        try:
            return self._net.predict(X)
        except ValueError as e:
            msg = str(e)
            if "nan" not in msg.lower() and "inf" not in msg.lower():
                raise ValueError(msg + " (Input X contains NaN or infinity)" if "finite" in msg else msg) from None
            raise

    # ------------------------------------------------------------ fitted attributes
    @property
    def coefs_(self):
        """Weight matrices (n_in x n_out per layer), copies."""
        self._check_fitted()
        return [self._net.weights(i)[0] for i in range(self._net.n_layers)]

    @property
    def intercepts_(self):
        """Bias vectors per layer, copies."""
        self._check_fitted()
        return [self._net.weights(i)[1] for i in range(self._net.n_layers)]

    # ------------------------------------------------------------ models
    def save(self, path):
        """Writes the model file (the C library's format, with the settings
        and final metrics as `mlpc train --save` stores them): `mlpc info`,
        `mlpc eval` and `mlpc predict` read it, and mlpc.load() returns an
        estimator."""
        self._check_fitted()
        self._net.save(os.fspath(path))

    def model_bytes(self):
        """The model file's bytes (what save() writes)."""
        self._check_fitted()
        return self._net.to_bytes()

    def dashboard(self, **kw):
        """The live dashboard for this estimator (mlpc.plot.dashboard)."""
        from .plot import dashboard
        return dashboard(self, **kw)

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        net = state.pop("_net", None)
        for k in ("_trainer", "_train_ds", "_active_trainer", "_interrupt_event"):
            state.pop(k, None)
        state["_model_bytes"] = net.to_bytes() if net is not None else None
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop("_model_bytes", None)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)
        self._net = Net.from_bytes(data, "pickle") if data is not None else None
        self._trainer = None
        self._train_ds = None

    def _more_tags(self):
        return {"non_deterministic": False, "preserves_dtype": []}


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier trained by the mlpc C library.

    Parameters follow sklearn.neural_network.MLPClassifier (hidden_layer_sizes,
    activation: 'identity', 'logistic', 'tanh', 'relu' or mlpc's 'linear',
    'sigmoid', 'leaky_relu'; solver: 'adam', 'sgd' or mlpc's 'rmsprop';
    alpha, batch_size, learning_rate ('constant' or 'adaptive', approximated
    by mlpc's plateau schedule: lr / 5 after 2 epochs without improvement),
    learning_rate_init, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping,
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change), plus
    mlpc's own:

    loss : None ('cce' with a softmax output), 'cce', 'bce', 'mse', 'quadratic'
    out_activation : None (softmax) or an activation name
    schedule : None, 'step', 'exponential', 'plateau' or a dict with 'name'
        and any of 'factor', 'step', 'patience', 'min_lr'
    init : 'glorot' (default, scikit-learn's weight bounds, zero biases),
        'he', 'normal' or 'auto' (He for relu nets, else Glorot)
    norm : 'none' (default: inputs used as given, and a float32 C-contiguous
        X is not copied), 'scale' or 'standard' (fitted on the training data,
        stored in the model and applied by predict; X is then copied once)
    threads : compute threads for training (0 or -1: one per core)
    device : 'cpu', 'cuda', 'cuda:N' or 'auto' (training; predict runs on
        the CPU)
    metrics_path : file to append one JSON line per epoch to, in the format
        of `mlpc train --metrics` (read by `mlpc dashboard` and `mlpc plot`)
    run_name : run name in those lines (default: the file's stem)
    precision : 'fp32' (default), 'bf16' (training's products with bf16
        operands and float32 sums, on CPUs with AVX512_BF16; elsewhere fit
        raises with the library's one line) or 'auto' (bf16 where the CPU has
        it); weights, optimizer state and predict stay float32

    Labels may be of any type numpy can sort (strings, 1..K, -1/+1, bools);
    classes_ holds them sorted. Differences from scikit-learn: see the
    module's docstring (softmax output also for 2 classes, alpha scaling,
    early-stopping counting, no multilabel targets, float32 data).
    Predictions from several threads at once are safe.
    """

    _task = _lib.TASK_CLASSIFY

    def _prep_y(self, y, n, reset, classes, incremental):
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape "
                          "of y to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=4)
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError("y should be a 1d array, got an array of shape %s instead "
                             "(mlpc.MLPClassifier does not support multilabel targets)" % (y.shape,))
        if y.shape[0] != n:
            raise ValueError("Found input variables with inconsistent numbers of samples: [%d, %d]" % (n, y.shape[0]))
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)):
                raise ValueError("Input y contains NaN or infinity.")
            if np.any(y != np.round(y)):
                raise ValueError("Unknown label type: 'continuous'. mlpc.MLPClassifier needs class labels; "
                                 "use MLPRegressor for continuous targets")
        elif y.dtype.kind == "c":
            raise ValueError("Unknown label type: 'complex'")
        elif y.dtype.kind == "O":
            if any(isinstance(v, float) and not math.isfinite(v) for v in y):
                raise ValueError("Input y contains NaN or infinity.")
        if reset:
            if classes is not None:
                cl = np.unique(np.asarray(classes))
            elif incremental:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            else:
                cl = np.unique(y)
            if len(cl) < 2:
                raise ValueError("mlpc.MLPClassifier needs samples of at least 2 classes in the data, but the "
                                 "data contains only one class: %r" % (cl[0] if len(cl) else None,))
            if self.warm_start and getattr(self, "classes_", None) is not None and not incremental \
                    and getattr(self, "_net", None) is not None and not np.array_equal(cl, self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                 "call to fit. Previously got %s, `y` has %s" % (self.classes_, cl))
            self.classes_ = cl
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("`classes=%r` is not the same as on the first call to partial_fit, was: %r"
                             % (classes, self.classes_))
        codes = self._encode(y)
        return codes, None, len(self.classes_)

    def _encode(self, y):
        cl = self.classes_
        try:
            codes = np.searchsorted(cl, y)
        except TypeError as e:
            raise ValueError("y contains labels of another type than classes_ %s: %s" % (cl.dtype, e)) from None
        codes = np.minimum(codes, len(cl) - 1)
        bad = cl[codes] != y
        if np.any(bad):
            raise ValueError("y contains previously unseen labels: %s" % (np.unique(np.asarray(y)[bad]).tolist(),))
        return codes.astype(np.int32)

    def partial_fit(self, X, y, classes=None, plot=False, callbacks=None):
        """One epoch over (X, y), continuing from the current weights and
        optimizer state. classes (all labels) is required on the first
        call. Early stopping does not apply."""
        if self.solver not in ("adam", "sgd", "rmsprop"):
            raise AttributeError("partial_fit is only available for stochastic optimizers. %s is not "
                                 "stochastic." % self.solver)
        return self._fit(X, y, incremental=True, plot=plot, callbacks=callbacks, classes=classes)

    def predict_proba(self, X):
        """Class probabilities (n_samples x n_classes), float64."""
        out = self._forward(X).astype(np.float64)
        if out.shape[1] == 1:  # one sigmoid output (library-made binary models): P(class 1)
            p = np.clip(out[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        if self._net.acts[-1] != "softmax":
            s = out.sum(axis=1, keepdims=True)
            s[s == 0] = 1
            out /= s
        return out

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Labels of the largest output (from classes_); for a model with
        one sigmoid output, classes_[1] where it is >= 0.5 (as `mlpc
        predict`)."""
        out = self._forward(X)
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] >= 0.5).astype(np.intp)]
        return self.classes_[np.argmax(out, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy; a label not seen in fit raises ValueError."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        self._check_fitted()
        self._encode(y)  # unseen labels are an error
        pred = self.predict(X)
        if pred.shape[0] != y.shape[0]:
            raise ValueError("Found input variables with inconsistent numbers of samples: [%d, %d]"
                             % (pred.shape[0], y.shape[0]))
        ok = (pred == y).astype(np.float64)
        if sample_weight is None:
            return float(ok.mean())
        return float(np.average(ok, weights=np.asarray(sample_weight, dtype=np.float64)))

    def _more_tags(self):
        return {"non_deterministic": False, "preserves_dtype": [], "binary_only": False}


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor trained by the mlpc C library.

    Parameters as MLPClassifier (scikit-learn's MLPRegressor names plus
    mlpc's); loss None is 'mse' with a linear output. y may be 1-D or 2-D
    (n_samples x n_targets); predict returns float64, 1-D when y was 1-D or
    had one column (as scikit-learn). score is R^2 (uniform average over
    targets). validation_scores_ (early_stopping) are R^2 of the validation
    set, weighted by target variance for several targets.
    """

    _task = _lib.TASK_REGRESS

    def _prep_y(self, y, n, reset, classes, incremental):
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError("y must be numeric for MLPRegressor: %s" % e) from None
        if y.ndim == 1:
            y2 = y.reshape(-1, 1)
        elif y.ndim == 2:
            y2 = y
        else:
            raise ValueError("y should be 1-D or 2-D, got shape %s" % (y.shape,))
        if y2.shape[0] != n:
            raise ValueError("Found input variables with inconsistent numbers of samples: [%d, %d]" % (n, y2.shape[0]))
        if y2.shape[1] == 0:
            raise ValueError("y has 0 targets")
        if not np.all(np.isfinite(y2)):
            raise ValueError("Input y contains NaN or infinity.")
        y2 = float_rows(y2)
        if not reset and y2.shape[1] != self.n_outputs_:
            raise ValueError("y has %d targets, but the model was fitted with %d" % (y2.shape[1], self.n_outputs_))
        return None, y2, y2.shape[1]

    def partial_fit(self, X, y, plot=False, callbacks=None):
        """One epoch over (X, y), continuing from the current weights and
        optimizer state. Early stopping does not apply."""
        return self._fit(X, y, incremental=True, plot=plot, callbacks=callbacks)

    def predict(self, X):
        """Predicted targets, float64 (computed in float32): (n_samples,)
        for one target, else (n_samples, n_targets)."""
        out = self._forward(X).astype(np.float64)
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """R^2, uniform average over the targets (as scikit-learn)."""
        pred = np.asarray(self.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if pred.ndim == 1:
            pred = pred.reshape(-1, 1)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape != pred.shape:
            raise ValueError("y has shape %s, predictions %s" % (y.shape, pred.shape))
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1, 1)
        if w is None:
            sse = ((y - pred) ** 2).sum(axis=0)
            sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        else:
            sse = (w * (y - pred) ** 2).sum(axis=0)
            mean = (w * y).sum(axis=0) / w.sum()
            sst = (w * (y - mean) ** 2).sum(axis=0)
        r2 = np.ones(y.shape[1])
        nz = sst != 0
        r2[nz] = 1 - sse[nz] / sst[nz]
        r2[~nz & (sse != 0)] = 0.0
        return float(r2.mean())

    def _more_tags(self):
        return {"non_deterministic": False, "preserves_dtype": [], "multioutput": True}


# ---------------------------------------------------------------- loading models
def _from_net(net, path):
    met = net.meta_json("metrics") or {}
    py = met.get("python") if isinstance(met.get("python"), dict) else {}
    acts = net.acts
    task = met.get("task")
    classify = task == "classify" if task in ("classify", "regress") else \
        (acts[-1] == "softmax" or net.loss in ("cce", "bce"))
    cls = MLPClassifier if classify else MLPRegressor
    params = {}
    valid = set(cls().get_params(deep=False))
    for k, v in (py.get("params") or {}).items():
        if k in valid:
            params[k] = tuple(v) if k == "hidden_layer_sizes" and isinstance(v, list) else v
    if not py.get("params"):
        params = {"hidden_layer_sizes": tuple(net.sizes[1:-1]),
                  "activation": _SK_ACT.get(acts[0], acts[0]) if len(acts) > 1 else "relu",
                  "out_activation": acts[-1], "loss": net.loss, "norm": net.norm}
        cfg = net.meta_json("config") or {}
        for ck, pk in (("opt", "solver"), ("lr", "learning_rate_init"), ("batch", "batch_size"),
                       ("epochs", "max_iter")):
            v = cfg.get(ck)
            if v is not None and (pk != "solver" or v in _lib.OPT):
                params[pk] = v
    est = cls(**params)
    est._net = net
    est._trainer = None
    est._train_ds = None
    est._cfg_json = net.meta("config")
    est._seed_value = 1
    est.n_features_in_ = net.n_inputs
    est.n_outputs_ = net.n_outputs
    est.n_layers_ = net.n_layers + 1
    est.out_activation_ = _SK_ACT.get(acts[-1], acts[-1])
    est.n_iter_ = int(met.get("epochs") or 0)
    est.t_ = 0
    est.loss_curve_ = []
    est.history_ = []
    est.validation_scores_ = None
    est.best_validation_score_ = None
    est.best_loss_ = None
    est._seconds = float(met.get("seconds") or 0.0)
    if py.get("feature_names"):
        est.feature_names_in_ = np.asarray(py["feature_names"], dtype=object)
    if classify:
        cl = py.get("classes")
        k = max(2, net.n_outputs)  # one sigmoid output: classes 0 and 1
        names = net.class_names  # a CLI model trained on strings, 1..K, -1/+1 or one-hot columns
        if cl is not None and len(cl) == k:
            est.classes_ = np.asarray(cl, dtype=py.get("classes_dtype") or None)
        elif names is not None and len(names) == k:
            est.classes_ = _names_array(names)
        else:
            est.classes_ = np.arange(k)
    return est


def _names_array(names):
    """Class names from a CLI model: integers when they all are ("1", "-1"),
    else floats when they all are, else strings."""
    for kind in (int, float):
        try:
            return np.asarray([kind(n) for n in names])
        except ValueError:
            pass
    return np.asarray(names)


def load(path):
    """Opens a model file (from est.save() or `mlpc train --save`) and
    returns a fitted MLPClassifier or MLPRegressor ready to predict. The
    task is the one stored in the model (else a softmax output or a cce/bce
    loss means classification). Models trained by the CLI get classes_ =
    the class names stored in the model (string labels, 1..K, -1/+1, one-hot
    column names), else 0..K-1."""
    return _from_net(Net.load(os.fspath(path)), os.fspath(path))
