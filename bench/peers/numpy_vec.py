"""The workloads as a fully vectorized float32 numpy MLP: one matrix product
per layer and mini-batch (OpenBLAS sgemm; its thread count comes from
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, set by bench/run.sh before start).

  numpy_vec.py w1|w2|w4|w5 [--epochs K]
  numpy_vec.py w3 --layers SPEC --batch N[,N..] [--passes P]
  numpy_vec.py gemm          sgemm GFLOP/s on W2's shapes (batch 1500)

--threads only labels the output; the environment sets the real count."""
import numpy as np

from common import W1_SIZES, W2_SIZES, W4_SIZES, W5_SIZES, batches, emit, layer_sizes, load_mnist, lorenz, now, one_hot, parse_args

f32 = np.float32


def sigmoid_(z):
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


def softmax_(z):
    z -= z.max(1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(1, keepdims=True)
    return z


ACT = {"sigmoid": sigmoid_, "relu": lambda z: np.maximum(z, 0, out=z), "linear": lambda z: z, "softmax": softmax_}


class MLP:
    def __init__(self, sizes, hidden, out, init, rng):
        self.acts = [hidden] * (len(sizes) - 2) + [out]
        self.W, self.b = [], []
        for i, o in zip(sizes[:-1], sizes[1:]):
            if init == "normal":  # Nielsen
                w, b = rng.standard_normal((i, o)) / np.sqrt(i), rng.standard_normal(o)
            elif init == "glorot":
                lim = np.sqrt(6 / (i + o))
                w, b = rng.uniform(-lim, lim, (i, o)), np.zeros(o)
            else:  # he
                w, b = rng.standard_normal((i, o)) * np.sqrt(2 / i), np.zeros(o)
            self.W.append(w.astype(f32))
            self.b.append(b.astype(f32))
        self.params = self.W + self.b

    def forward(self, x):
        a = [x]
        for W, b, act in zip(self.W, self.b, self.acts):
            z = a[-1] @ W
            z += b
            a.append(ACT[act](z))
        return a

    def grads(self, x, y, loss):
        """Gradients (mean over the batch) in the order of self.params."""
        a = self.forward(x)
        out, n = a[-1], len(x)
        if loss == "quadratic":  # sigmoid output
            d = (out - y) * out * (1 - out) / n
        elif loss == "cce":  # softmax output
            d = (out - y) / n
        else:  # mse, linear output
            d = (out - y) * (2.0 / (n * y.shape[1]))
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            gW[l], gb[l] = a[l].T @ d, d.sum(0)
            if l:
                d = d @ self.W[l].T
                d *= a[l] * (1 - a[l]) if self.acts[l - 1] == "sigmoid" else (a[l] > 0)
        return gW + gb


class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.lr * g


class RMSprop:
    def __init__(self, params, lr, rho=0.9, eps=1e-7):
        self.params, self.lr, self.rho, self.eps = params, lr, rho, eps
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.v):
            v *= self.rho
            v += (1 - self.rho) * g * g
            p -= self.lr * g / (np.sqrt(v) + self.eps)


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-7):
        self.params, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        lr = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= lr * m / (np.sqrt(v) + self.eps)


def train(a, x, y, net, opt, loss, batch, rng):
    t0 = now()
    for _ in range(a.epochs):
        perm = rng.permutation(len(x))
        for k in range(0, len(x), batch):
            idx = perm[k:k + batch]
            opt.step(net.grads(x[idx], y[idx], loss))
    sec = (now() - t0) / a.epochs
    emit(workload=a.workload, impl=a.impl, threads=a.threads, epochs=a.epochs, rows=len(x), sec=sec, unit="s/epoch")


def w3(a):
    x, _ = load_mnist(a.data, 60000)
    net = MLP(layer_sizes(a.layers), "sigmoid", "sigmoid", "glorot", np.random.default_rng(1))
    for n in batches(a.batch):
        for k in range(0, len(x) // 6, n):  # warm-up
            net.forward(x[k:k + n])
        t0 = now()
        for _ in range(a.passes):
            for k in range(0, len(x), n):
                net.forward(x[k:k + n])
        sec = now() - t0
        emit(workload="w3", impl=a.impl, threads=a.threads, net=a.layers, batch=n, passes=a.passes,
             sec_measured=sec, sec=sec * 30 / a.passes, unit="s/30 passes")


def timed(fn, min_sec):
    fn()
    reps, t0 = 0, now()
    while now() - t0 < min_sec:
        fn()
        reps += 1
    return (now() - t0) / reps


def gemm(a):
    """sgemm on W2's shapes, batch 1500: 'fwd' is X @ W per layer; 'step' adds
    the backward products dW = X^T dY and (except layer 1) dX = dY W^T."""
    rng, B = np.random.default_rng(1), 1500
    fwd_f = fwd_s = all_f = all_s = 0.0
    shapes = []
    for l, (k, n) in enumerate(zip(W2_SIZES[:-1], W2_SIZES[1:])):
        X, W, dY = (rng.random(s, dtype=f32) for s in ((B, k), (k, n), (B, n)))
        sf = timed(lambda: X @ W, 0.3)
        sb = timed(lambda: X.T @ dY, 0.3) + (timed(lambda: dY @ W.T, 0.3) if l else 0.0)
        fl = 2.0 * B * k * n
        shapes.append({"m": B, "k": k, "n": n, "gflops": round(fl / sf * 1e-9, 2)})
        fwd_f, fwd_s = fwd_f + fl, fwd_s + sf
        all_f, all_s = all_f + fl * (3 if l else 2), all_s + sf + sb
    emit(workload="gemm", impl=a.impl, threads=a.threads, kind="fwd", shapes=shapes, gflops=fwd_f / fwd_s * 1e-9)
    emit(workload="gemm", impl=a.impl, threads=a.threads, kind="step", gflops=all_f / all_s * 1e-9)


def main():
    a = parse_args("numpy-vec", ["w1", "w2", "w3", "w4", "w5", "gemm"])
    rng = np.random.default_rng(1)
    if a.workload == "w1":
        x, y = load_mnist(a.data, 50000)
        net = MLP(W1_SIZES, "sigmoid", "sigmoid", "normal", rng)
        train(a, x, one_hot(y), net, SGD(net.params, 3.0), "quadratic", 10, rng)
    elif a.workload == "w2":
        x, y = load_mnist(a.data, 60000)
        net = MLP(W2_SIZES, "sigmoid", "softmax", "glorot", rng)
        train(a, x, one_hot(y), net, RMSprop(net.params, 0.001), "cce", 1500, rng)
    elif a.workload == "w5":
        x, y = load_mnist(a.data, 60000)
        net = MLP(W5_SIZES, "relu", "softmax", "he", rng)
        train(a, x, one_hot(y), net, Adam(net.params, 0.001), "cce", 128, rng)
    elif a.workload == "w4":
        x, y = lorenz()
        net = MLP(W4_SIZES, "relu", "linear", "he", rng)
        train(a, x, y, net, Adam(net.params, 0.001), "mse", 100, rng)
    elif a.workload == "w3":
        w3(a)
    else:
        gemm(a)


if __name__ == "__main__":
    main()
