"""The GPU workloads in PyTorch, two ways, for bench/gpu/run.sh:

  eager   the usual loop: nn.Sequential, torch.optim, one Python step per batch;
  graphs  the expert-tuned peer: the whole training step (batch gather from
          the epoch's permutation by a step counter kept on the device,
          forward, loss, backward, optimizer with capturable=True, loss sum)
          captured once per batch size in a torch.cuda.CUDAGraph and replayed.

Data sit on the device (uploaded once, scaled to [0, 1] like mlpc's scale
normalization); each epoch draws a new permutation on the device. The nets,
initializations and hyperparameters are mlpc's (bench/README.md, bench_mlpc.c):

  w1  784-30-10 sigmoid, quadratic cost (sum/2 per row, batch mean), SGD lr 3,
      batch 10, 50,000 rows, N(0, 1/sqrt(in)) weights, N(0, 1) biases: s/epoch
  w2  784-200-100-50-30-10 sigmoid, softmax+CCE, RMSprop lr 1e-3 rho 0.9
      eps 1e-7, batch 1500, 60,000 rows, Glorot: whole runs of 45 epochs with
      the t10k test set evaluated after every epoch ("sec_total"), and s/epoch
  w5  784-256-128-10 relu, softmax+CCE, Adam lr 1e-3 eps 1e-7, batch 128,
      60,000 rows, He: s/epoch
  sgemm  a large FP32 matrix product (torch.mm, cuBLAS, TF32 off): GFLOP/s

Timing: CUDA events around each timed epoch (or run) after warm-up, the median
of the repetitions. Output: one JSON line per measurement (bench/peers/common.py
style), "impl" torch-eager or torch-graphs.

  torch_gpu.py [w1 w2 w5 sgemm ...] [--mode eager,graphs] [--quick] [--data DIR]
               [--epochs K] [--reps R] [--w2-epochs 45]
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def emit(**rec):
    print(json.dumps(rec), flush=True)


def read_idx(path):
    """An IDX file, plain or .gz, as a numpy array."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open if p.endswith(".gz") else open)(p, "rb") as f:
                raw = f.read()
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise FileNotFoundError(path)


def load_mnist(data_dir, which, rows, dev):
    x = read_idx(os.path.join(data_dir, f"{which}-images-idx3-ubyte"))[:rows].reshape(-1, 784)
    y = read_idx(os.path.join(data_dir, f"{which}-labels-idx1-ubyte"))[:rows]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).to(dev)
    y = torch.from_numpy(y.astype(np.int64)).to(dev)
    return x, y


def mlp(sizes, hidden, out, init, dev):
    layers = []
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(i, o)
        with torch.no_grad():
            if init == "normal":  # Nielsen
                lin.weight.normal_(0, 1 / math.sqrt(i))
                lin.bias.normal_(0, 1)
            elif init == "glorot":
                nn.init.xavier_uniform_(lin.weight)
                lin.bias.zero_()
            else:
                nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
                lin.bias.zero_()
        layers.append(lin)
        act = hidden if k < len(sizes) - 2 else out
        if act is not None:
            layers.append(act())
    return nn.Sequential(*layers).to(dev)


class Workload:
    """Net, optimizer, loss and data of one workload."""

    def __init__(self, name, data, dev):
        self.name, self.dev = name, dev
        if name == "w1":
            self.sizes, self.hidden, self.out, self.init, self.batch, self.rows = [784, 30, 10], nn.Sigmoid, nn.Sigmoid, "normal", 10, 50000
        elif name == "w2":
            self.sizes, self.hidden, self.out, self.init, self.batch, self.rows = [784, 200, 100, 50, 30, 10], nn.Sigmoid, None, "glorot", 1500, 60000
        else:
            self.sizes, self.hidden, self.out, self.init, self.batch, self.rows = [784, 256, 128, 10], nn.ReLU, None, "he", 128, 60000
        self.x, self.y = load_mnist(data, "train", self.rows, dev)
        self.n = len(self.x)
        if name == "w1":
            self.t = torch.nn.functional.one_hot(self.y, 10).float()
        if name == "w2":
            self.tx, self.ty = load_mnist(data, "t10k", 10000, dev)

    def make(self, capturable):
        net = mlp(self.sizes, self.hidden, self.out, self.init, self.dev)
        p = net.parameters()
        cap = {"capturable": True} if capturable else {}  # the step count on the device, for graphs
        if self.name == "w1":
            opt = torch.optim.SGD(p, lr=3.0)
        elif self.name == "w2":
            opt = torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7, **cap)
        else:
            opt = torch.optim.Adam(p, lr=0.001, eps=1e-7, **cap)
        return net, opt

    def loss(self, net, idx):
        xb = self.x.index_select(0, idx)
        if self.name == "w1":
            out = net(xb)
            return 0.5 * ((out - self.t.index_select(0, idx)) ** 2).sum() / len(idx)
        return nn.functional.cross_entropy(net(xb), self.y.index_select(0, idx))

    def test_eval(self, net):
        with torch.no_grad():
            out = net(self.tx)
            return nn.functional.cross_entropy(out, self.ty, reduction="sum"), (out.argmax(1) == self.ty).sum()


class Eager:
    def __init__(self, w):
        self.w = w
        self.net, self.opt = w.make(False)
        self.lsum = torch.zeros((), device=w.dev)

    def epoch(self):
        w, B = self.w, self.w.batch
        perm = torch.randperm(w.n, device=w.dev)
        for k in range(0, w.n, B):
            self.opt.zero_grad(set_to_none=True)
            loss = w.loss(self.net, perm[k:k + B])
            loss.backward()
            self.opt.step()
            self.lsum += loss.detach()


class Graphs:
    """The whole step as a CUDA graph per batch size; the batch's rows come
    from perm[ctr * B + arange(m)], ctr counted on the device."""

    def __init__(self, w):
        self.w = w
        dev, B = w.dev, w.batch
        self.net, self.opt = w.make(True)
        self.perm = torch.randperm(w.n, device=dev)
        self.ctr = torch.zeros((), dtype=torch.int64, device=dev)
        self.lsum = torch.zeros((), device=dev)
        self.full, rem = divmod(w.n, B)
        sizes = [B] + ([rem] if rem else [])
        self.graphs = {}
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):  # warm-up outside the capture (allocator, cuBLAS, optimizer state)
            for m in sizes:
                for _ in range(3):
                    self._step(m)
        torch.cuda.current_stream().wait_stream(s)
        for m in sizes:
            g = torch.cuda.CUDAGraph()
            self.opt.zero_grad(set_to_none=False)
            with torch.cuda.graph(g):
                self._step(m)
            self.graphs[m] = g
        self.rem = rem
        self.ctr.zero_()

    def _step(self, m):
        w = self.w
        idx = self.perm[self.ctr * w.batch + torch.arange(m, device=w.dev)]
        self.opt.zero_grad(set_to_none=False)
        loss = w.loss(self.net, idx)
        loss.backward()
        self.opt.step()
        self.lsum += loss.detach()
        self.ctr += 1

    def epoch(self):
        w = self.w
        self.perm.copy_(torch.randperm(w.n, device=w.dev))
        self.ctr.zero_()
        g = self.graphs[w.batch]
        for _ in range(self.full):
            g.replay()
        if self.rem:
            self.graphs[self.rem].replay()


def timed(fn):
    if not torch.cuda.is_available():  # --device cpu (a test of this script without a GPU)
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    fn()
    b.record()
    b.synchronize()
    return a.elapsed_time(b) / 1000.0


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def dev_name():
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def run_epochs(w, mode, epochs, warmup):
    torch.manual_seed(1)
    t_setup = time.perf_counter()
    r = (Graphs if mode == "graphs" else Eager)(w)
    sync()
    t_setup = time.perf_counter() - t_setup
    for _ in range(warmup):
        r.epoch()
    r.lsum.zero_()
    secs = [timed(r.epoch) for _ in range(epochs)]
    loss = float(r.lsum) / (math.ceil(w.n / w.batch) * epochs)  # the mean of the batch losses
    emit(workload=w.name, impl=f"torch-{mode}", device=dev_name(), epochs=epochs, warmup=warmup,
         rows=w.n, sec=median(secs), sec_min=min(secs), sec_mean=sum(secs) / len(secs), unit="s/epoch", loss=loss,
         setup_sec=t_setup, epochs_sec=secs)


def run_w2_total(w, mode, epochs, reps):
    """Whole runs: model, optimizer (and graph capture), `epochs` epochs with the
    test set evaluated after each, after one untimed run of one epoch."""
    tot, ep = [], []
    for r in range(-1, reps):
        torch.manual_seed(1 + r)

        def whole():
            run = (Graphs if mode == "graphs" else Eager)(w)
            for _ in range(1 if r < 0 else epochs):
                if r >= 0:
                    ep.append(timed(run.epoch))
                else:
                    run.epoch()
                res[:] = w.test_eval(run.net)

        res = [0, 0]
        sync()
        sec = timed(whole)
        tl, tc = res
        if r >= 0:
            tot.append(sec)
    emit(workload="w2", impl=f"torch-{mode}", device=dev_name(), epochs=epochs, reps=reps,
         rows=w.n, sec_total=median(tot), sec_total_min=min(tot), sec=median(ep), unit="s/epoch",
         test_loss=float(tl) / 10000, test_acc=float(tc) / 10000)


def sgemm(n, reps):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    c = torch.empty(n, n, device="cuda")
    for _ in range(3):
        torch.mm(a, b, out=c)
    secs = [timed(lambda: torch.mm(a, b, out=c)) for _ in range(reps)]
    sec = median(secs)
    emit(workload="sgemm", impl="torch.mm (cuBLAS FP32, TF32 off)", device=torch.cuda.get_device_name(), m=n, n=n,
         k=n, sec=sec, gflops=2.0 * n ** 3 / sec * 1e-9, reps=reps)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workloads", nargs="*", default=["sgemm", "w2", "w1", "w5"])
    p.add_argument("--mode", default="eager,graphs")
    p.add_argument("--quick", action="store_true", help="fewer epochs and repetitions (a few seconds per workload)")
    p.add_argument("--epochs", type=int, default=0, help="timed epochs per workload (s/epoch figures)")
    p.add_argument("--reps", type=int, default=0, help="W2 whole runs (median)")
    p.add_argument("--w2-epochs", type=int, default=45)
    p.add_argument("--data", default=os.path.join(os.environ.get("MLPC_DATA") or "data", "mnist"))
    p.add_argument("--device", default="cuda", help="cpu: eager only, to test this script without a GPU")
    a = p.parse_args()
    if a.device == "cpu":
        dev = torch.device("cpu")
        emit(meta="torch", torch=torch.__version__, device="cpu (a test of torch_gpu.py, not a measurement)")
        rc = 0
        for name in a.workloads:
            if name != "sgemm":
                w = Workload(name, a.data, dev)
                if name == "w2":
                    run_w2_total(w, "eager", a.w2_epochs, a.reps or 1)
                else:
                    run_epochs(w, "eager", a.epochs or 1, 0)
        return rc
    if not torch.cuda.is_available():
        print("torch_gpu.py: skipped: no GPU (torch.cuda.is_available() is False; torch %s, built for CUDA %s)"
              % (torch.__version__, torch.version.cuda), file=sys.stderr)
        return 3
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, as mlpc
    torch.set_float32_matmul_precision("highest")
    epochs = a.epochs or (2 if a.quick else 5)
    reps = a.reps or (1 if a.quick else 3)
    emit(meta="torch", torch=torch.__version__, cuda=torch.version.cuda, device=torch.cuda.get_device_name(),
         capability=".".join(map(str, torch.cuda.get_device_capability())), quick=a.quick)
    modes = a.mode.split(",")
    rc = 0
    for name in a.workloads:
        try:
            if name == "sgemm":
                sgemm(8192, 5 if a.quick else 10)
                continue
            w = Workload(name, a.data, dev)
            for mode in modes:
                if name == "w2":
                    run_w2_total(w, mode, a.w2_epochs, reps)
                else:
                    # W1 eager is ~1 s/epoch: fewer epochs there
                    e = max(1, epochs // 2) if name == "w1" and mode == "eager" else epochs
                    run_epochs(w, mode, e, 1)
        except Exception as ex:  # one failed workload does not stop the others
            print(f"torch_gpu.py: {name}: {type(ex).__name__}: {ex}", file=sys.stderr)
            emit(workload=name, impl="torch", error=f"{type(ex).__name__}: {ex}")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
