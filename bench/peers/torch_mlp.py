"""The workloads in PyTorch on the CPU: eager mode, float32, nn.Sequential,
torch.set_num_threads(T). The data sits in tensors; each mini-batch is an
index_select of a shuffled permutation (no DataLoader).

  torch_mlp.py w1|w2|w4|w5 [--epochs K] [--threads T]
  torch_mlp.py w3 --layers SPEC --batch N[,N..] [--passes P] [--threads T]

bench/run.sh runs the 2-thread case twice: as is, and with
OMP_WAIT_POLICY=PASSIVE in the environment."""
import math

import torch
from torch import nn

from common import W1_SIZES, W2_SIZES, W4_SIZES, W5_SIZES, batches, emit, layer_sizes, load_mnist, lorenz, now, one_hot, parse_args


def mlp(sizes, hidden, out, init):
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
    return nn.Sequential(*layers)


def train(a, x, y, net, opt, loss_fn, batch):
    t0 = now()
    for _ in range(a.epochs):
        perm = torch.randperm(len(x))
        for k in range(0, len(x), batch):
            idx = perm[k:k + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x.index_select(0, idx)), y.index_select(0, idx))
            loss.backward()
            opt.step()
    sec = (now() - t0) / a.epochs
    emit(workload=a.workload, impl=a.impl, threads=a.threads, epochs=a.epochs, rows=len(x), sec=sec,
         unit="s/epoch", loss=float(loss))


def w3(a):
    x = torch.from_numpy(load_mnist(a.data, 60000)[0])
    net = mlp(layer_sizes(a.layers), nn.Sigmoid, nn.Sigmoid, "glorot").eval()
    with torch.no_grad():
        for n in batches(a.batch):
            for chunk in x[:len(x) // 6].split(n):  # warm-up
                net(chunk)
            t0 = now()
            for _ in range(a.passes):
                for chunk in x.split(n):
                    net(chunk)
            sec = now() - t0
            emit(workload="w3", impl=a.impl, threads=a.threads, net=a.layers, batch=n, passes=a.passes,
                 sec_measured=sec, sec=sec * 30 / a.passes, unit="s/30 passes")


def main():
    a = parse_args("torch", ["w1", "w2", "w3", "w4", "w5"])
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.workload == "w1":
        x, y = load_mnist(a.data, 50000)
        net = mlp(W1_SIZES, nn.Sigmoid, nn.Sigmoid, "normal")
        quadratic = lambda out, t: 0.5 * ((out - t) ** 2).sum() / len(out)
        train(a, torch.from_numpy(x), torch.from_numpy(one_hot(y)), net,
              torch.optim.SGD(net.parameters(), lr=3.0), quadratic, 10)
    elif a.workload == "w2":
        x, y = load_mnist(a.data, 60000)
        net = mlp(W2_SIZES, nn.Sigmoid, None, "glorot")  # softmax fused into the loss
        train(a, torch.from_numpy(x), torch.from_numpy(y), net,
              torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7), nn.CrossEntropyLoss(), 1500)
    elif a.workload == "w5":
        x, y = load_mnist(a.data, 60000)
        net = mlp(W5_SIZES, nn.ReLU, None, "he")  # softmax fused into the loss
        train(a, torch.from_numpy(x), torch.from_numpy(y), net,
              torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7), nn.CrossEntropyLoss(), 128)
    elif a.workload == "w4":
        x, y = lorenz()
        net = mlp(W4_SIZES, nn.ReLU, None, "he")
        train(a, torch.from_numpy(x), torch.from_numpy(y), net,
              torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7), nn.MSELoss(), 100)
    else:
        w3(a)


if __name__ == "__main__":
    main()
