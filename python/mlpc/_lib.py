"""ctypes binding of the mlpc C library (include/mlpc.h).

The package ships the shared library and the ``mlpc`` command-line program
in ``mlpc/_native/`` (``make python`` puts them there); ``$MLPC_LIBRARY``
overrides the library's path.  Every function used is declared here with its
argument and result types; :func:`check` turns a C status code into a Python
exception carrying the library's one-line message.
"""

import ctypes
import os

__all__ = ["lib", "cli_path", "native_dir", "check", "raise_error", "mlpc_error",
           "BatchInfo", "EpochStats", "Config", "Device", "BATCH_FN", "EPOCH_FN"]

# status codes (mlpc_status)
OK, ERR_ARG, ERR_IO, ERR_FORMAT, ERR_NOMEM, ERR_SHAPE, ERR_DIVERGED, ERR_STOPPED, ERR_UNSUPPORTED = range(9)

MAX_LAYERS = 32


# The library's errors are raised as the built-in exception that fits the
# status (ValueError, OSError, MemoryError, RuntimeError), with an
# ``mlpc_status`` attribute holding the C code.


class mlpc_error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 512)]

    @property
    def message(self):
        return self.msg.decode("utf-8", "replace")


class Config(ctypes.Structure):
    _fields_ = [
        ("n_layers", ctypes.c_int),
        ("sizes", ctypes.c_int * (MAX_LAYERS + 1)),
        ("act", ctypes.c_int * MAX_LAYERS),
        ("loss", ctypes.c_int),
        ("init", ctypes.c_int),
        ("norm", ctypes.c_int),
        ("opt", ctypes.c_int),
        ("lr", ctypes.c_float),
        ("momentum", ctypes.c_float),
        ("nesterov", ctypes.c_int),
        ("rho", ctypes.c_float),
        ("beta1", ctypes.c_float),
        ("beta2", ctypes.c_float),
        ("eps", ctypes.c_float),
        ("l2", ctypes.c_float),
        ("sched", ctypes.c_int),
        ("sched_factor", ctypes.c_float),
        ("sched_step", ctypes.c_int),
        ("sched_patience", ctypes.c_int),
        ("min_lr", ctypes.c_float),
        ("batch", ctypes.c_int),
        ("epochs", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("threads", ctypes.c_int),
        ("shuffle", ctypes.c_int),
        ("es_patience", ctypes.c_int),
        ("es_metric", ctypes.c_int),
        ("es_min_delta", ctypes.c_float),
        ("es_restore_best", ctypes.c_int),
        ("precision", ctypes.c_int),  # mlpc_precision: 0 fp32, 1 bf16, 2 auto
    ]


class BatchInfo(ctypes.Structure):
    _fields_ = [
        ("epoch", ctypes.c_int),
        ("batch", ctypes.c_long),
        ("n_batches", ctypes.c_long),
        ("loss", ctypes.c_double),
        ("acc", ctypes.c_double),
        ("run_loss", ctypes.c_double),
        ("run_acc", ctypes.c_double),
        ("lr", ctypes.c_float),
        ("seconds", ctypes.c_double),
    ]


class EpochStats(ctypes.Structure):
    _fields_ = [
        ("epoch", ctypes.c_int),
        ("loss", ctypes.c_double), ("acc", ctypes.c_double),
        ("val_loss", ctypes.c_double), ("val_acc", ctypes.c_double),
        ("test_loss", ctypes.c_double), ("test_acc", ctypes.c_double),
        ("mse", ctypes.c_double), ("val_mse", ctypes.c_double), ("test_mse", ctypes.c_double),
        ("lr", ctypes.c_float),
        ("epoch_seconds", ctypes.c_double),
        ("eval_seconds", ctypes.c_double),
        ("samples_per_second", ctypes.c_double),
        ("improved", ctypes.c_int),
    ]


class Eval(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("acc", ctypes.c_double), ("mse", ctypes.c_double),
                ("n", ctypes.c_size_t)]


class Device(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("index", ctypes.c_int)]


# enums (names as the C library parses them)
ACT = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 3, "linear": 4, "softmax": 5}
LOSS = {"quadratic": 0, "mse": 1, "bce": 2, "cce": 3}
INIT = {"auto": 0, "normal": 1, "glorot": 2, "he": 3}
OPT = {"sgd": 0, "rmsprop": 1, "adam": 2}
SCHED = {"constant": 0, "step": 1, "exponential": 2, "plateau": 3}
NORM = {"none": 0, "scale": 1, "standard": 2}
METRIC = {"val_loss": 0, "val_acc": 1, "loss": 2, "acc": 3}
ACT_NAMES = {v: k for k, v in ACT.items()}
LOSS_NAMES = {v: k for k, v in LOSS.items()}
NORM_NAMES = {v: k for k, v in NORM.items()}

TASK_CLASSIFY, TASK_REGRESS = 0, 1

_p = ctypes.c_void_p
_sz = ctypes.c_size_t
_int = ctypes.c_int
_err_p = ctypes.POINTER(mlpc_error)
_fp = ctypes.POINTER(ctypes.c_float)
_i32p = ctypes.POINTER(ctypes.c_int32)

BATCH_FN = ctypes.CFUNCTYPE(_int, _p, ctypes.POINTER(BatchInfo), _p)
EPOCH_FN = ctypes.CFUNCTYPE(_int, _p, ctypes.POINTER(EpochStats), _p)

# name: (restype, argtypes)
_SIGS = {
    "mlpc_version": (ctypes.c_char_p, []),
    "mlpc_status_str": (ctypes.c_char_p, [_int]),
    # config
    "mlpc_config_default": (None, [ctypes.POINTER(Config)]),
    "mlpc_config_set_layers": (_int, [ctypes.POINTER(Config), ctypes.c_char_p, _err_p]),
    "mlpc_config_set_acts": (None, [ctypes.POINTER(Config), _int, _int]),
    "mlpc_config_validate": (_int, [ctypes.POINTER(Config), _err_p]),
    "mlpc_config_to_json": (_int, [ctypes.POINTER(Config), ctypes.c_char_p, _sz]),
    # datasets
    "mlpc_dataset_load_idx": (_p, [ctypes.c_char_p, ctypes.c_char_p, _err_p]),
    "mlpc_dataset_from_strided": (_p, [_sz, _sz, _p, _sz, _p, _int, _p, _sz, _sz, _int,
                                       ctypes.c_char_p, _err_p]),
    "mlpc_dataset_free": (None, [_p]),
    "mlpc_dataset_rows": (_sz, [_p]),
    "mlpc_dataset_features": (_sz, [_p]),
    "mlpc_dataset_outputs": (_sz, [_p]),
    "mlpc_dataset_task": (_int, [_p]),
    "mlpc_dataset_x": (_fp, [_p]),
    "mlpc_dataset_labels": (_i32p, [_p]),
    "mlpc_dataset_borrowed": (_int, [_p]),
    "mlpc_dataset_error": (_err_p, [_p]),
    # net
    "mlpc_net_create": (_p, [ctypes.POINTER(Config), _err_p]),
    "mlpc_net_free": (None, [_p]),
    "mlpc_net_error": (_err_p, [_p]),
    "mlpc_net_layers": (_int, [_p]),
    "mlpc_net_size": (_int, [_p, _int]),
    "mlpc_net_act": (_int, [_p, _int]),
    "mlpc_net_loss": (_int, [_p]),
    "mlpc_net_param_count": (_sz, [_p]),
    "mlpc_net_params": (_fp, [_p]),
    "mlpc_net_weights": (_fp, [_p, _int]),
    "mlpc_net_biases": (_fp, [_p, _int]),
    "mlpc_net_set_threads": (_int, [_p, _int]),
    "mlpc_cpu_has_bf16": (_int, []),
    "mlpc_net_fit_normalization": (_int, [_p, _p, _int]),
    "mlpc_net_normalize": (_int, [_p, _p]),
    "mlpc_net_norm_mode": (_int, [_p]),
    "mlpc_net_evaluate": (_int, [_p, _p, ctypes.POINTER(Eval)]),
    "mlpc_net_meta": (ctypes.c_char_p, [_p, ctypes.c_char_p]),
    "mlpc_net_class_names": (_int, [_p]),
    "mlpc_net_class_name": (ctypes.c_char_p, [_p, _int]),
    "mlpc_net_set_meta": (_int, [_p, ctypes.c_char_p, ctypes.c_char_p]),
    "mlpc_net_save": (_int, [_p, ctypes.c_char_p, _err_p]),
    "mlpc_net_load": (_p, [ctypes.c_char_p, _err_p]),
    "mlpc_workspace_create": (_p, [_p, _int, _err_p]),
    "mlpc_workspace_free": (None, [_p]),
    "mlpc_net_predict_ws": (_int, [_p, _p, _p, _sz, _sz, _p, _err_p]),
    "mlpc_net_save_buffer": (_int, [_p, ctypes.POINTER(_p), ctypes.POINTER(_sz), _err_p]),
    "mlpc_net_load_buffer": (_p, [ctypes.c_char_p, _sz, ctypes.c_char_p, _err_p]),
    "mlpc_free": (None, [_p]),
    # trainer
    "mlpc_trainer_create": (_p, [_p, ctypes.POINTER(Config), _err_p]),
    "mlpc_trainer_free": (None, [_p]),
    "mlpc_trainer_error": (_err_p, [_p]),
    "mlpc_trainer_set_data": (_int, [_p, _p, _p, _p]),
    "mlpc_trainer_on_batch": (None, [_p, BATCH_FN, _int, _p]),
    "mlpc_trainer_on_epoch": (None, [_p, EPOCH_FN, _p]),
    "mlpc_trainer_epoch": (_int, [_p, ctypes.POINTER(EpochStats)]),
    "mlpc_trainer_run": (_int, [_p]),
    "mlpc_trainer_epochs_done": (_int, [_p]),
    "mlpc_trainer_lr": (ctypes.c_float, [_p]),
    "mlpc_trainer_stopped": (_int, [_p]),
    "mlpc_trainer_stop_reason": (ctypes.c_char_p, [_p]),
    "mlpc_trainer_interrupt": (None, [_p]),
    "mlpc_trainer_clear_interrupt": (None, [_p]),
    "mlpc_trainer_set_epochs": (_int, [_p, _int]),
    "mlpc_trainer_set_device": (_int, [_p, ctypes.POINTER(Device), ctypes.c_uint64]),
    # devices
    "mlpc_device_parse": (_int, [ctypes.c_char_p, ctypes.POINTER(Device)]),
    "mlpc_device_select": (_int, [ctypes.POINTER(Device), ctypes.POINTER(Device), ctypes.c_char_p, _sz,
                                  _err_p]),
}

_HERE = os.path.dirname(os.path.abspath(__file__))


def native_dir():
    """The folder holding the shipped library and CLI (``mlpc/_native``)."""
    return os.path.join(_HERE, "_native")


def cli_path():
    """Path of the ``mlpc`` command-line program shipped with the package
    (``$MLPC_CLI`` overrides it)."""
    env = os.environ.get("MLPC_CLI")
    if env:
        return env
    p = os.path.join(native_dir(), "mlpc")
    if not os.path.exists(p):
        raise OSError("mlpc: the command-line program is missing from %s: run `make python` first "
                      "(or set $MLPC_CLI)" % native_dir())
    return p


def _load():
    path = os.environ.get("MLPC_LIBRARY")
    if not path:
        path = os.path.join(native_dir(), "libmlpc.so.0")
        if not os.path.exists(path):
            raise ImportError("mlpc: the C library is missing (%s): run `make python` first, "
                              "or set $MLPC_LIBRARY to a libmlpc.so.0" % path)
    plugin = os.path.join(native_dir(), "libmlpc_cuda.so")
    if "MLPC_CUDA_PLUGIN" not in os.environ and os.path.exists(plugin):
        os.environ["MLPC_CUDA_PLUGIN"] = plugin  # the GPU plugin shipped beside the library
    try:
        dll = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("mlpc: cannot load the C library %s: %s" % (path, e)) from e
    missing = []
    for name, (res, args) in _SIGS.items():
        try:
            f = getattr(dll, name)
        except AttributeError:
            missing.append(name)
            continue
        f.restype = res
        f.argtypes = args
    if missing:
        raise ImportError("mlpc: %s lacks %s: rebuild it with `make python`" % (path, ", ".join(missing)))
    dll._mlpc_path = path
    return dll


lib = _load()

_EXC = {
    ERR_ARG: ValueError,
    ERR_IO: OSError,
    ERR_FORMAT: ValueError,
    ERR_NOMEM: MemoryError,
    ERR_SHAPE: ValueError,
    ERR_DIVERGED: ValueError,
    ERR_STOPPED: RuntimeError,
    ERR_UNSUPPORTED: RuntimeError,
}


def raise_error(code, msg, prefix=None):
    """Raises the exception for status `code` with the C library's message."""
    cls = _EXC.get(code, RuntimeError)
    text = msg or (lib.mlpc_status_str(code) or b"error").decode()
    if prefix:
        text = "%s: %s" % (prefix, text)
    e = cls(text)
    e.mlpc_status = code
    raise e


def check(status, err=None, prefix=None):
    """Raises for a non-zero status; `err` is an mlpc_error or a pointer to one."""
    if status == OK:
        return
    msg = ""
    if err is not None:
        if isinstance(err, ctypes._Pointer):
            err = err.contents if err else None
        if err is not None:
            msg = err.message
    raise_error(status, msg, prefix)


def check_handle(ptr, err, prefix=None):
    """Raises when a create/load function returned NULL."""
    if not ptr:
        raise_error(err.code or ERR_ARG, err.message, prefix)
    return ptr


def version():
    """The loaded C library's version, "MAJOR.MINOR.PATCH"."""
    return lib.mlpc_version().decode()

