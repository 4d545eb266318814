"""Shared by the Python peers: argument parsing, MNIST IDX and Lorenz data,
JSON-line output with the BLAS the process used (threadpoolctl). numpy only
(threadpoolctl when installed)."""
import argparse
import ctypes
import json
import os
import time

import numpy as np

now = time.perf_counter

# W2 and W3 nets (W1 and W4 are fixed)
W1_SIZES = [784, 30, 10]
W2_SIZES = [784, 200, 100, 50, 30, 10]
W4_SIZES = [3, 16, 16, 16, 16, 16, 3]
W5_SIZES = [784, 256, 128, 10]


def parse_args(default_impl, workloads):
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=workloads)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--layers", default="784-100-50-10")
    p.add_argument("--batch", default="250", help="W3: comma-separated batch sizes")
    p.add_argument("--passes", type=int, default=30)
    p.add_argument("--samples", type=int, default=0, help="nielsen: time only this many samples")
    p.add_argument("--data", default=os.path.join(os.environ.get("MLPC_DATA") or "data", "mnist"))
    p.add_argument("--impl", default=default_impl)
    return p.parse_args()


def load_mnist(data_dir, rows):
    """(rows x 784 float32 in [0,1], rows int64 labels), like mlpc's scale normalization."""
    with open(os.path.join(data_dir, "train-images-idx3-ubyte"), "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:rows]
    with open(os.path.join(data_dir, "train-labels-idx1-ubyte"), "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:rows]
    return (x.astype(np.float32) / 255.0), y.astype(np.int64)


def one_hot(y, k=10, dtype=np.float32):
    out = np.zeros((len(y), k), dtype)
    out[np.arange(len(y)), y] = 1
    return out


def lorenz(start=0, count=900, steps=9999, horizon=99, t_end=20.0, sigma=10.0, beta=8.0 / 3.0, rho=58.0):
    """The same RK4 series as mlpc_dataset_lorenz; inputs standardized per feature."""
    def f(s):
        return np.array([sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]])
    dt, last = t_end / steps, start + count - 1 + horizon
    s = np.empty((last + 1, 3))
    s[0] = 1.0
    for t in range(last):
        k1 = f(s[t]); k2 = f(s[t] + dt / 2 * k1); k3 = f(s[t] + dt / 2 * k2); k4 = f(s[t] + dt * k3)
        s[t + 1] = s[t] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    x = s[start:start + count]
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32), s[start + horizon:start + horizon + count].astype(np.float32)


def layer_sizes(spec):
    return [int(v) for v in spec.split("-")]


def batches(spec):
    return [int(v) for v in spec.split(",")]


def blas_info():
    """The BLAS and OpenMP libraries this process loaded, as threadpoolctl's
    threadpool_info() sees them (architecture: the OpenBLAS kernel in use,
    num_threads), plus OpenBLAS's own answer for BLAS libraries threadpoolctl
    does not name (Debian's numpy links libblas.so.3, an alternatives link to
    OpenBLAS, which threadpoolctl 3.1 does not match)."""
    try:
        from threadpoolctl import threadpool_info
        out = [{k: i.get(k) for k in ("internal_api", "filepath", "version", "architecture", "num_threads")}
               for i in threadpool_info()]
    except Exception as e:  # noqa: B902 - report, do not fail the measurement
        out = [{"threadpoolctl": str(e)}]
    seen = {o.get("filepath") for o in out}
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if "blas" in ln.split()[-1].rsplit("/", 1)[-1]})
    except OSError:
        libs = []
    for path in libs:
        if path in seen or not path.startswith("/") or "-packages/" in path:  # skip Cython BLAS wrappers
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            out.append({"internal_api": "openblas", "filepath": path,
                        "architecture": lib.openblas_get_corename().decode(),
                        "config": lib.openblas_get_config().decode(),
                        "num_threads": lib.openblas_get_num_threads()})
        except (OSError, AttributeError):
            real = os.path.realpath(path)
            out.append({"internal_api": "blas", "filepath": real,
                        "architecture": "none: not OpenBLAS (%s)" % ("the netlib reference BLAS" if "/blas/" in real
                                                                     else "unknown")})
    return out


_blas = None


def emit(**rec):
    """One JSON line; adds "blas" (blas_info(), taken once per process, after
    the measurement) and which OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were set."""
    global _blas
    if _blas is None:
        _blas = blas_info()
    rec.setdefault("blas", _blas)
    rec.setdefault("openblas_env", {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                                    if k in os.environ})
    print(json.dumps(rec), flush=True)
