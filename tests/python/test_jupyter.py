"""Jupyter's stop button: an interrupt of the kernel while fit trains makes
fit return normally (status ok) with the weights trained so far."""
import os

import pytest

jc = pytest.importorskip("jupyter_client.manager")
pytest.importorskip("ipykernel")

CODE = """
import mlpc, numpy as np, warnings
rng = np.random.RandomState(0)
X = rng.rand(20000, 50).astype(np.float32); y = (X[:, 0] > .5).astype(int)
clf = mlpc.MLPClassifier(hidden_layer_sizes=(64,), max_iter=100000, n_iter_no_change=100000, verbose=True)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    clf.fit(X, y)
msgs = [str(x.message) for x in w if issubclass(x.category, mlpc.TrainingInterrupted)]
print("RETURNED", clf.n_iter_, len(msgs), clf.predict(X[:3]).shape)
"""


def test_kernel_interrupt_stops_fit_cleanly():
    km, kc = jc.start_new_kernel(startup_timeout=300, kernel_name="python3", env=dict(os.environ))
    try:
        msg_id = kc.execute(CODE)
        out, interrupted, error = [], False, None
        while True:  # driven by the kernel's messages; the timeout only guards a hang
            m = kc.get_iopub_msg(timeout=120)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
                if not interrupted and "epoch 2" in "".join(out):
                    km.interrupt_kernel()  # what the stop button does: SIGINT to the kernel
                    interrupted = True
            elif m["msg_type"] == "error":
                error = m["content"]["ename"]
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        reply = kc.get_shell_msg(timeout=60)
        assert error is None and reply["content"]["status"] == "ok", (error, "".join(out))
        line = [s for s in "".join(out).splitlines() if s.startswith("RETURNED")]
        assert line, "".join(out)
        _, n_iter, n_warn, shape = line[0].split(" ", 3)
        assert int(n_iter) >= 2 and int(n_iter) < 100000 and n_warn == "1" and shape == "(3,)"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
