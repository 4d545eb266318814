"""W2 and W5 with scikit-learn's MLPClassifier (its own NumPy backprop; the
matrix products go to NumPy's OpenBLAS, whose thread count comes from
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, set by bench/run.sh before start).

  sklearn_mlp.py w2|w5 [--epochs K] [--threads T]

The time is fit()'s wall time / K (shuffling, input checks and label
binarization included; no validation split, no early stop). scikit-learn
has no RMSprop: W2 runs Adam (lr 1e-3, eps 1e-7) at W2's batch 1500.
No L2 (alpha 0), as in mlpc's workloads. The arrays are float32 as loaded;
"dtype" in the output says what scikit-learn computed in."""
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from common import W2_SIZES, W5_SIZES, emit, load_mnist, now, parse_args

SETTINGS = {
    "w2": dict(sizes=W2_SIZES, activation="logistic", batch_size=1500),
    "w5": dict(sizes=W5_SIZES, activation="relu", batch_size=128),
}


def main():
    a = parse_args("sklearn", ["w2", "w5"])
    s = SETTINGS[a.workload]
    x, y = load_mnist(a.data, 60000)
    clf = MLPClassifier(hidden_layer_sizes=tuple(s["sizes"][1:-1]), activation=s["activation"], solver="adam",
                        learning_rate_init=1e-3, epsilon=1e-7, batch_size=s["batch_size"], alpha=0.0,
                        max_iter=a.epochs, tol=0.0, n_iter_no_change=10 ** 6, shuffle=True, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = now()
        clf.fit(x, y)
        sec = (now() - t0) / a.epochs
    emit(workload=a.workload, impl=a.impl, threads=a.threads, epochs=a.epochs, rows=len(x), sec=sec,
         unit="s/epoch", loss=float(clf.loss_), dtype=str(clf.coefs_[0].dtype),
         note="Adam (scikit-learn has no RMSprop)" if a.workload == "w2" else "")


if __name__ == "__main__":
    main()
