"""W1 with the classic algorithm of network.py from Nielsen's "Neural Networks
and Deep Learning" (ch. 1), written again here: float64 column vectors,
per-sample backprop summed over each mini-batch, quadratic cost, SGD.

  nielsen.py w1 [--epochs K] [--samples S]

Prints s/epoch over 50,000 images. With --samples S an epoch trains only the
first S images (shuffled like a full epoch) and the time is scaled by
50,000 / S: every mini-batch costs the same, so this extrapolation is linear."""
import random

import numpy as np

from common import W1_SIZES, emit, load_mnist, now, parse_args


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def sgd_epoch(self, training_data, mini_batch_size, eta):
        random.shuffle(training_data)
        for k in range(0, len(training_data), mini_batch_size):
            self.update_mini_batch(training_data[k:k + mini_batch_size], eta)

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])  # quadratic cost
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w


def main():
    a = parse_args("numpy-nielsen", ["w1"])
    x, y = load_mnist(a.data, 50000)
    data = [(xi.reshape(784, 1).astype(np.float64), np.eye(10)[yi].reshape(10, 1)) for xi, yi in zip(x, y)]
    random.seed(1)
    np.random.seed(1)
    net = Network(W1_SIZES)
    n = a.samples if 0 < a.samples < len(data) else len(data)
    t0 = now()
    for _ in range(a.epochs):
        net.sgd_epoch(data[:n] if n < len(data) else data, 10, 3.0)
    sec = (now() - t0) / a.epochs * len(data) / n
    emit(workload="w1", impl=a.impl, threads=1, epochs=a.epochs, rows=len(data), samples=n, sec=sec, unit="s/epoch")


if __name__ == "__main__":
    main()
