"""bench/python/workers.py - the docs/python.md example: wall time, CPU efficiency and speedup of
mlpc.search with 1 and 2 workers (8 MNIST trials of 8 epochs on 10,000 rows); writes docs/python-workers.png."""
import sys, os, json
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import matplotlib; matplotlib.use("Agg")
import pandas as pd, mlpc
X, y, _, _ = mlpc.datasets.load_mnist(); X, y = X[:10000], y[:10000]
import tempfile; tmpd = tempfile.mkdtemp(); db = os.path.join(tmpd, "workers.db")
space = {"hidden_layer_sizes": [(32,), (64,)], "learning_rate_init": ("log", 1e-3, 1e-1), "batch_size": [32, 64]}
rep = [mlpc.search(space, X, y, workers=w, trials=8, epochs=8, asha=False, study="w%d" % w, db=db,
                   refit=False).report for w in (1, 2)]
df = pd.DataFrame(rep).set_index("workers")[["wall_s", "cpu_efficiency", "speedup"]]
print(df.to_string())
axs = df.plot(subplots=True, marker="o", layout=(1, 3), figsize=(9, 2.5), legend=False)
for ax, t in zip(axs.ravel(), ["wall s", "CPU efficiency", "speedup vs 1 worker"]):
    ax.set_title(t); ax.set_xticks([1, 2])
axs.ravel()[0].figure.tight_layout()
axs.ravel()[0].figure.savefig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "python-workers.png"), dpi=80)
print(json.dumps(rep, default=str))
