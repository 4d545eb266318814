"""Thin owners of the C handles: Net, Dataset, Trainer, Workspace.

Each frees its C object in close() (and __del__); a Dataset keeps the numpy
arrays it borrows alive for as long as the C dataset exists, and a Trainer
keeps its net and datasets alive.
"""

import ctypes
import json

import numpy as np

from . import _lib
from ._lib import lib, check, check_handle, mlpc_error

__all__ = ["Net", "Dataset", "Trainer", "Workspace", "config_default"]


def config_default():
    cfg = _lib.Config()
    lib.mlpc_config_default(ctypes.byref(cfg))
    return cfg


def _ptr(a):
    return ctypes.c_void_p(a.ctypes.data) if a is not None else None


class _Handle:
    _free = None

    def __init__(self, ptr):
        self._h = ptr

    @property
    def handle(self):
        if not self._h:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h and self._free is not None:
            self._free(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Net(_Handle):
    """An mlpc_net."""

    def __init__(self, ptr):
        super().__init__(ptr)
        self._free = lib.mlpc_net_free

    @classmethod
    def create(cls, cfg):
        err = mlpc_error()
        return cls(check_handle(lib.mlpc_net_create(ctypes.byref(cfg), ctypes.byref(err)), err))

    @classmethod
    def load(cls, path):
        err = mlpc_error()
        p = lib.mlpc_net_load(str(path).encode(), ctypes.byref(err))
        return cls(check_handle(p, err))

    @classmethod
    def from_bytes(cls, data, name=None):
        err = mlpc_error()
        data = bytes(data)
        p = lib.mlpc_net_load_buffer(data, len(data), name.encode() if name else None, ctypes.byref(err))
        return cls(check_handle(p, err))

    def to_bytes(self):
        buf, n, err = ctypes.c_void_p(), ctypes.c_size_t(), mlpc_error()
        check(lib.mlpc_net_save_buffer(self.handle, ctypes.byref(buf), ctypes.byref(n), ctypes.byref(err)), err)
        try:
            return ctypes.string_at(buf, n.value)
        finally:
            lib.mlpc_free(buf)

    def save(self, path):
        err = mlpc_error()
        check(lib.mlpc_net_save(self.handle, str(path).encode(), ctypes.byref(err)), err)

    def _check(self, st):
        if st:
            check(st, lib.mlpc_net_error(self.handle))

    # architecture
    @property
    def n_layers(self):
        return lib.mlpc_net_layers(self.handle)

    @property
    def sizes(self):
        return [lib.mlpc_net_size(self.handle, i) for i in range(self.n_layers + 1)]

    @property
    def acts(self):
        return [_lib.ACT_NAMES.get(lib.mlpc_net_act(self.handle, i), "?") for i in range(self.n_layers)]

    @property
    def loss(self):
        return _lib.LOSS_NAMES.get(lib.mlpc_net_loss(self.handle), "?")

    @property
    def norm(self):
        return _lib.NORM_NAMES.get(lib.mlpc_net_norm_mode(self.handle), "?")

    @property
    def class_names(self):
        """Class names stored with the model (`mlpc train` on string labels,
        1..K, -1/+1 or one-hot columns), or None for plain 0..K-1."""
        n = lib.mlpc_net_class_names(self.handle)
        if n <= 0:
            return None
        return [lib.mlpc_net_class_name(self.handle, k).decode("utf-8", "replace") for k in range(n)]

    @property
    def n_inputs(self):
        return lib.mlpc_net_size(self.handle, 0)

    @property
    def n_outputs(self):
        return lib.mlpc_net_size(self.handle, self.n_layers)

    def weights(self, layer):
        """Copies of layer's W (in x out) and b (out)."""
        a, b = lib.mlpc_net_size(self.handle, layer), lib.mlpc_net_size(self.handle, layer + 1)
        w = np.ctypeslib.as_array(lib.mlpc_net_weights(self.handle, layer), shape=(a, b)).copy()
        bias = np.ctypeslib.as_array(lib.mlpc_net_biases(self.handle, layer), shape=(b,)).copy()
        return w, bias

    def set_weights(self, layer, w, b):
        a, n = lib.mlpc_net_size(self.handle, layer), lib.mlpc_net_size(self.handle, layer + 1)
        np.ctypeslib.as_array(lib.mlpc_net_weights(self.handle, layer), shape=(a, n))[...] = w
        np.ctypeslib.as_array(lib.mlpc_net_biases(self.handle, layer), shape=(n,))[...] = b

    def set_threads(self, n):
        self._check(lib.mlpc_net_set_threads(self.handle, int(n)))

    def fit_normalization(self, ds, mode):
        self._check(lib.mlpc_net_fit_normalization(self.handle, ds.handle, _lib.NORM[mode]))

    def normalize(self, ds):
        st = lib.mlpc_net_normalize(self.handle, ds.handle)
        if st:
            check(st, lib.mlpc_dataset_error(ds.handle))

    def evaluate(self, ds):
        ev = _lib.Eval()
        self._check(lib.mlpc_net_evaluate(self.handle, ds.handle, ctypes.byref(ev)))
        return ev

    def meta(self, key):
        s = lib.mlpc_net_meta(self.handle, key.encode())
        return s.decode() if s is not None else None

    def meta_json(self, key):
        s = self.meta(key)
        if s is None:
            return None
        try:
            return json.loads(s)
        except ValueError:
            return None

    def set_meta(self, key, text):
        self._check(lib.mlpc_net_set_meta(self.handle, key.encode(), text.encode()))

    def predict(self, X, out=None, rows=0):
        """Outputs for X (float32, rows with unit element stride), on the
        calling thread with a workspace of its own: safe from several
        threads at once."""
        n = X.shape[0]
        n_out = self.n_outputs
        if out is None:
            out = np.empty((n, n_out), dtype=np.float32)
        if n == 0:
            return out
        stride = X.strides[0] // 4 if n > 1 else X.shape[1]
        ws = Workspace(self, rows)
        try:
            err = mlpc_error()
            st = lib.mlpc_net_predict_ws(self.handle, ws.handle, _ptr(X), n, stride, _ptr(out),
                                         ctypes.byref(err))
            check(st, err)
        finally:
            ws.close()
        return out


class Workspace(_Handle):
    def __init__(self, net, rows=0):
        err = mlpc_error()
        super().__init__(check_handle(lib.mlpc_workspace_create(net.handle, int(rows), ctypes.byref(err)), err))
        self._free = lib.mlpc_workspace_free


def float_rows(X):
    """X as a float32 2-D array whose rows the C code can read with a row
    stride (unit element stride, aligned): X itself when it already is one,
    else one converted copy."""
    if (isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2
            and (X.shape[1] <= 1 or X.strides[1] == 4) and X.strides[0] % 4 == 0 and X.strides[0] >= 0
            and (X.shape[0] <= 1 or X.strides[0] >= 4 * X.shape[1]) and X.ctypes.data % 4 == 0):
        return X
    return np.ascontiguousarray(X, dtype=np.float32)


class Dataset(_Handle):
    """An mlpc_dataset over numpy arrays: borrowed in place (no copy) when
    `borrow` and the rows are dense float32, else copied once by the
    library.  The arrays stay referenced while the dataset lives."""

    def __init__(self, X, labels=None, n_classes=0, targets=None, borrow=True, source="numpy"):
        X = float_rows(X)
        n, n_in = X.shape
        x_stride = X.strides[0] // 4 if n > 1 else n_in
        lab = tgt = None
        t_stride = 0
        n_out = 0
        if labels is not None:
            lab = np.ascontiguousarray(labels, dtype=np.int32)
            if lab.shape != (n,):
                raise ValueError("labels: expected %d values, got shape %s" % (n, lab.shape))
        if targets is not None:
            tgt = float_rows(targets)
            if tgt.shape[0] != n:
                raise ValueError("targets: expected %d rows, got %d" % (n, tgt.shape[0]))
            n_out = tgt.shape[1]
            t_stride = tgt.strides[0] // 4 if n > 1 else n_out
        err = mlpc_error()
        p = lib.mlpc_dataset_from_strided(n, n_in, _ptr(X), x_stride, _ptr(lab), int(n_classes), _ptr(tgt),
                                          n_out, t_stride, 1 if borrow else 0, source.encode(), ctypes.byref(err))
        super().__init__(check_handle(p, err))
        self._free = lib.mlpc_dataset_free
        self.borrowed = bool(lib.mlpc_dataset_borrowed(self._h))
        # the arrays must outlive a borrowed dataset
        self._arrays = (X, lab, tgt) if self.borrowed else None

    @classmethod
    def load_idx(cls, images, labels):
        err = mlpc_error()
        p = lib.mlpc_dataset_load_idx(str(images).encode(), str(labels).encode() if labels else None,
                                      ctypes.byref(err))
        self = cls.__new__(cls)
        _Handle.__init__(self, check_handle(p, err))
        self._free = lib.mlpc_dataset_free
        self.borrowed = False
        self._arrays = None
        return self

    @property
    def n(self):
        return lib.mlpc_dataset_rows(self.handle)

    @property
    def n_features(self):
        return lib.mlpc_dataset_features(self.handle)

    def x_copy(self):
        return np.ctypeslib.as_array(lib.mlpc_dataset_x(self.handle), shape=(self.n, self.n_features)).copy()

    def labels_copy(self):
        p = lib.mlpc_dataset_labels(self.handle)
        if not p:
            return None
        return np.ctypeslib.as_array(p, shape=(self.n,)).copy()


class Trainer(_Handle):
    """An mlpc_trainer; keeps the net and the datasets it borrows alive."""

    def __init__(self, net, cfg):
        err = mlpc_error()
        super().__init__(check_handle(lib.mlpc_trainer_create(net.handle, ctypes.byref(cfg), ctypes.byref(err)),
                                      err))
        self._free = lib.mlpc_trainer_free
        self.net = net
        self.cfg = cfg
        self._data = ()

    def _check(self, st):
        if st:
            check(st, lib.mlpc_trainer_error(self.handle))

    def set_data(self, train, val=None, test=None):
        self._check(lib.mlpc_trainer_set_data(self.handle, train.handle, val.handle if val else None,
                                              test.handle if test else None))
        self._data = (train, val, test)

    def set_device(self, dev, mem_limit=0):
        self._check(lib.mlpc_trainer_set_device(self.handle, ctypes.byref(dev), int(mem_limit)))

    def on_batch(self, fn, every):
        cb = _lib.BATCH_FN(fn) if fn else _lib.BATCH_FN()
        lib.mlpc_trainer_on_batch(self.handle, cb, max(1, int(every)), None)
        self._batch_cb = cb

    def on_epoch(self, fn):
        cb = _lib.EPOCH_FN(fn) if fn else _lib.EPOCH_FN()
        lib.mlpc_trainer_on_epoch(self.handle, cb, None)
        self._epoch_cb = cb

    def run(self):
        """mlpc_trainer_run; returns the status (the GIL is released)."""
        return lib.mlpc_trainer_run(self.handle)

    def error(self):
        e = lib.mlpc_trainer_error(self.handle)
        return e.contents.code, e.contents.message

    def set_epochs(self, n):
        self._check(lib.mlpc_trainer_set_epochs(self.handle, int(n)))

    @property
    def epochs_done(self):
        return lib.mlpc_trainer_epochs_done(self.handle)

    @property
    def stopped(self):
        return bool(lib.mlpc_trainer_stopped(self.handle))

    @property
    def stop_reason(self):
        s = lib.mlpc_trainer_stop_reason(self.handle)
        return s.decode() if s else ""

    def interrupt(self):
        h = self._h
        if h:
            lib.mlpc_trainer_interrupt(h)

    def clear_interrupt(self):
        lib.mlpc_trainer_clear_interrupt(self.handle)

    def close(self):
        super().close()
        self._data = ()
