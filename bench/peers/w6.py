"""W6: a small table trained from the command line, timed as a whole process
by bench/peers/wall.py (interpreter start, imports, loading, training and
saving the model included).

  w6.py data DIR       writes DIR/w6.csv (20 features, then the class 0-2),
                       DIR/X.npy (float32) and DIR/y.npy (int64): 1,000 rows
                       from make_classification(n_informative=10, 3 classes,
                       random_state=0); once, before the timed runs
  w6.py sklearn DIR    MLPClassifier((100,), relu, Adam lr 1e-3, batch 32,
                       200 epochs, alpha 0) on DIR/X.npy, y.npy; pickles the
                       model to DIR/model.pkl
  w6.py torch DIR      the same net in PyTorch (Linear-ReLU-Linear, softmax in
                       CrossEntropyLoss, Adam lr 1e-3 eps 1e-7, batch 32, 200
                       epochs of a shuffled permutation); torch.save's the
                       state_dict to DIR/model.pt

The mlpc CLI reads DIR/w6.csv (what a user of the CLI has); the peers read
the .npy files (their fastest loading). Each prints one JSON line with the
BLAS it used and the training accuracy."""
import os
import sys

import numpy as np

from common import emit

EPOCHS, BATCH, HIDDEN = 200, 32, 100


def data(d):
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=1000, n_features=20, n_informative=10, n_classes=3, random_state=0)
    x = x.astype(np.float32)
    np.save(os.path.join(d, "X.npy"), x)
    np.save(os.path.join(d, "y.npy"), y.astype(np.int64))
    with open(os.path.join(d, "w6.csv"), "w") as f:
        f.write(",".join(f"x{i}" for i in range(x.shape[1])) + ",label\n")
        for row, label in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")


def sklearn(d):
    import pickle
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    x, y = np.load(os.path.join(d, "X.npy")), np.load(os.path.join(d, "y.npy"))
    clf = MLPClassifier((HIDDEN,), activation="relu", solver="adam", learning_rate_init=1e-3, epsilon=1e-7,
                        batch_size=BATCH, alpha=0.0, max_iter=EPOCHS, tol=0.0, n_iter_no_change=10 ** 6,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    with open(os.path.join(d, "model.pkl"), "wb") as f:
        pickle.dump(clf, f)
    emit(workload="w6", impl="sklearn-inner", epochs=clf.n_iter_, acc=float(clf.score(x, y)))


def torch_(d):
    import torch
    from torch import nn
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    x = torch.from_numpy(np.load(os.path.join(d, "X.npy")))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
    net = nn.Sequential(nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 3))
    opt, lf = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7), nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(x))
        for k in range(0, len(x), BATCH):
            i = perm[k:k + BATCH]
            opt.zero_grad(set_to_none=True)
            lf(net(x[i]), y[i]).backward()
            opt.step()
    torch.save(net.state_dict(), os.path.join(d, "model.pt"))
    with torch.no_grad():
        acc = float((net(x).argmax(1) == y).float().mean())
    emit(workload="w6", impl="torch-inner", epochs=EPOCHS, acc=acc, threads=torch.get_num_threads())


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("data", "sklearn", "torch"):
        sys.exit("usage: w6.py data|sklearn|torch DIR")
    {"data": data, "sklearn": sklearn, "torch": torch_}[sys.argv[1]](sys.argv[2])
