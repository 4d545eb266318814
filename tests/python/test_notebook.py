"""examples/notebook.ipynb runs headless (nbclient), and its live plot is
really updated: the kernel's update_display_data messages are counted."""
import os

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat (python3-nbformat) is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient (python3-nbclient) is not installed")
pytest.importorskip("ipykernel", reason="ipykernel (python3-ipykernel) is not installed")
pytest.importorskip("matplotlib")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NB = os.path.join(REPO, "examples", "notebook.ipynb")


class CountingClient(nbclient.NotebookClient):
    """Records the display messages of every cell: (cell index, msg type, display_id)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.display_msgs = []

    def process_message(self, msg, cell, cell_index):
        t = msg["msg_type"]
        if t in ("display_data", "update_display_data"):
            did = msg["content"].get("transient", {}).get("display_id")
            self.display_msgs.append((cell_index, t, did, list(msg["content"].get("data", {}))))
        return super().process_message(msg, cell, cell_index)


def test_notebook_runs_and_plot_updates(tmp_path):
    nb = nbformat.read(NB, as_version=4)
    # a kernelspec of its own: this interpreter (/usr/bin/python3 under
    # tests/python/run.sh) with the package from python/, whatever kernels
    # the system or the user have installed
    import json
    import sys
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    kdir = tmp_path / "kernels" / "mlpc-test"
    kdir.mkdir(parents=True)
    pp = os.pathsep.join([os.path.join(REPO, "python")] + ([os.environ["PYTHONPATH"]]
                                                           if os.environ.get("PYTHONPATH") else []))
    env = {"PYTHONPATH": pp,
           # at least one frame per epoch, whatever the machine's speed and
           # load (LivePlot's every_epoch): the count below does not depend on timing
           "MLPC_PLOT_EVERY_EPOCH": "1"}
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mlpc test", "language": "python", "env": env}))
    km = KernelManager(kernel_name="mlpc-test",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    client = CountingClient(nb, km=km, timeout=300, startup_timeout=300, kernel_name="mlpc-test",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    # the cell with plot=True
    idx = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "plot=True" in c.source)
    msgs = [m for m in client.display_msgs if m[0] == idx]
    ids = {m[2] for m in msgs if m[1] == "display_data" and m[2]}
    assert len(ids) == 1, msgs
    did = ids.pop()
    updates = [m for m in msgs if m[1] == "update_display_data" and m[2] == did]
    assert len(updates) >= 3, msgs
    assert all("image/png" in m[3] for m in updates)
    # the saved output keeps the final frame, a PNG
    outs = nb.cells[idx].outputs
    pngs = [o for o in outs if o.get("output_type") == "display_data" and "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    import base64
    assert base64.b64decode(pngs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    # the other cells did what they say
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "test accuracy" in text and "same predictions" in text and "best estimator test accuracy" in text
