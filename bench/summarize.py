"""Summarize bench/run.sh's JSON lines: per workload and implementation the
median, min-max, the ratio peer/mlpc (> 1: mlpc is faster), the GFLOP/s
reached and its fraction of the measured sgemm rates on W2's shapes.

  summarize.py RAW.jsonl [--md OUT.md] [--plot OUT.png]

Only python3 + numpy (+ matplotlib for --plot)."""
import argparse
import json
from collections import defaultdict

import numpy as np

SIZES = {"w1": [784, 30, 10], "w2": [784, 200, 100, 50, 30, 10], "w5": [784, 256, 128, 10],
         "w4": [3, 16, 16, 16, 16, 16, 3]}
ROWS = {"w1": 50000, "w2": 60000, "w5": 60000, "w4": 900}
TITLES = {
    "w1": "W1: 784-30-10 sigmoid, quadratic, SGD lr 3.0, batch 10, 50,000 images (s/epoch)",
    "w2": "W2: 784-200-100-50-30-10 sigmoid, softmax+CCE, RMSprop lr 0.001, batch 1500, 60,000 images (s/epoch)",
    "w5": "W5: 784-256-128-10 relu, softmax+CCE, Adam lr 0.001, batch 128, 60,000 images (s/epoch)",
    "w6": "W6: 1,000 x 20 table (3 classes), 20-100-3 relu, Adam lr 0.001, batch 32, 200 epochs: "
          "whole process, start-up, loading and saving the model included (s/process)",
    "w4": "W4: Lorenz 3-16-16-16-16-16-3 relu, linear out, MSE, Adam lr 0.001, batch 100, 900 rows (s/epoch)",
}
ORDER = ["mlpc", "mlpc-auto", "numpy-nielsen", "numpy-vec", "sklearn", "torch", "torch-passive", "fann"]
TIMED = ["w1", "w2", "w5", "w6", "w4"]  # workloads with a time per epoch or process


def macs(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_flops(sizes, rows):
    """GEMM FLOPs of one epoch: forward, dW, and dX for every layer but the first."""
    return rows * (4 * macs(sizes) + 2 * (macs(sizes) - sizes[0] * sizes[1]))


def stats(v):
    v = np.asarray(v)
    return float(np.median(v)), float(v.min()), float(v.max())


def fmt(x):
    return "-" if x is None else f"{x:.3g}" if x < 100 else f"{x:.0f}"


def key_order(k):
    impl, t = k
    return (ORDER.index(impl) if impl in ORDER else len(ORDER), t)


def load(path):
    meta, recs = {}, []
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if "meta" in r:
            meta[r["meta"]] = r
        else:
            recs.append(r)
    return meta, recs


def gemm_rates(recs):
    g = defaultdict(list)
    for r in recs:
        if r["workload"] == "gemm" and "gflops" in r:
            g[(r["impl"], r["kind"], r["threads"])].append(r["gflops"])
    return {k: stats(v)[0] for k, v in g.items()}


def peak_rates(recs):
    g = defaultdict(list)
    for r in recs:
        if r["workload"] == "peak":
            g[(r["impl"], r["threads"])].append(r["gflops"])
    return {k: stats(v)[0] for k, v in g.items()}


def paired(a, b, percent):
    """a against b repetition by repetition (the k-th run of each, neighbours
    in time, so a slow phase of the machine hits both): the median and
    range of a/b, as a change in percent or as b's speed-up over a."""
    if len(a) != len(b):  # auto chose another count in some repetitions: no k-th to k-th pairs
        return "not paired (the runs differ in number)"
    r = [x / y for x, y in zip(a, b)]
    if percent:
        return (f"per repetition {(np.median(r) - 1) * 100:+.1f}% median "
                f"[{(min(r) - 1) * 100:+.1f}% to {(max(r) - 1) * 100:+.1f}%]")
    return f"per repetition {np.median(r):.2f}x median [{min(r):.2f}-{max(r):.2f}]"


def w6_table(by6):
    if not by6:
        return []
    out = [f"## {TITLES['w6']}", "",
           "mlpc: the CLI (`mlpc train --train w6.csv ... --save model.mlpc`, 1 thread); scikit-learn and PyTorch: "
           "`bench/peers/w6.py` (loads the .npy files, trains, pickles / torch.save's the model; "
           "OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = 1). Each process timed whole by `bench/peers/wall.py`.", "",
           "| implementation | median s | min-max s | peer/mlpc | runs |", "|---|---|---|---|---|"]
    base = stats(by6["mlpc"])[0] if by6.get("mlpc") else None
    for impl in sorted(by6, key=lambda i: key_order((i, 1))):
        med, lo, hi = stats(by6[impl])
        ratio = f"{med / base:.2f}" if base and impl != "mlpc" else "-"
        out.append(f"| {impl} | {fmt(med)} | {fmt(lo)}-{fmt(hi)} | {ratio} | {len(by6[impl])} |")
    return out + [""]


def ratio_table(recs):
    """peer median / mlpc median per workload and thread count; the range is
    that of the per-repetition ratios (the k-th peer run against the k-th
    mlpc run of the same workload and thread count: neighbours in time)."""
    seq = defaultdict(list)
    for r in recs:
        if r["workload"] in TIMED:
            seq[(r["workload"], r["impl"], r.get("threads", 1))].append(r["sec"])
    peers = sorted({i for (_, i, _) in seq if i not in ("mlpc", "mlpc-auto")}, key=lambda i: key_order((i, 1)))
    rows = []
    for w in TIMED:
        for t in sorted({t for (ww, i, t) in seq if ww == w and i == "mlpc"}):
            base = seq[(w, "mlpc", t)]
            cells = []
            for p in peers:
                v = seq.get((w, p, t))
                if not v:
                    cells.append("-")
                    continue
                per = [a / b for a, b in zip(v, base)]
                cells.append(f"{stats(v)[0] / stats(base)[0]:.2f} [{min(per):.2f}-{max(per):.2f}]")
            loads = [r.get(k) for r in recs if r["workload"] == w for k in ("load_before", "load_after")
                     if r.get(k) is not None]
            load = f"{np.median(loads):.2f} (max {max(loads):.2f})" if loads else "-"
            rows.append(f"| {w.upper()} | {t} | {fmt(stats(base)[0])} | {len(base)} | " + " | ".join(cells) +
                        f" | {load} |")
    if not rows:
        return []
    return ["## Ratios: peer time / mlpc time (> 1: mlpc is faster)", "",
            "Medians over the repetitions, peer median / mlpc median at the same thread count; in brackets the "
            "least and greatest ratio of one repetition's peer run to the same repetition's mlpc run. "
            "load: the 1-minute load average just before and after each measurement of the workload, median "
            "and maximum (on 2 cores, anything near 1 or above means the runs shared the CPU with others).", "",
            "| workload | threads | mlpc s | reps | " + " | ".join(peers) + " | load |",
            "|---" * (len(peers) + 5) + "|"] + rows + [""]


def blas_table(recs):
    """Which BLAS kernel and how many threads each peer's OpenBLAS used."""
    seen = defaultdict(set)
    for r in recs:
        if "blas" not in r:
            continue
        libs = sorted({(b.get("architecture"), b.get("num_threads")) for b in r["blas"]
                       if b.get("internal_api") == "openblas"})
        omp = sorted({b.get("num_threads") for b in r["blas"] if b.get("internal_api") == "openmp"})
        env = ",".join(f"{k}={v}" for k, v in sorted((r.get("openblas_env") or {}).items())) or "unset"
        seen[(r["workload"], r["impl"], r.get("threads", 1))].add(
            (", ".join(f"{a} x{n}" for a, n in libs) or "none", ", ".join(map(str, omp)) or "-", env))
    if not seen:
        return []
    out = ["## Peers' BLAS", "",
           "What each peer process reported (threadpoolctl's `threadpool_info()`, plus OpenBLAS's "
           "`openblas_get_corename()` for libraries threadpoolctl does not name): the OpenBLAS kernel and its "
           "thread count, the OpenMP pool's thread count, and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the peer "
           "saw them (bench/run.sh removes both for the peers).", "",
           "| workload | implementation | threads | OpenBLAS kernel x threads | OpenMP threads | OPENBLAS_CORETYPE / L2_SIZE |",
           "|---|---|---|---|---|---|"]
    for (w, i, t) in sorted(seen, key=lambda k: (k[0], key_order(k[1:]))):
        for libs, omp, env in sorted(seen[(w, i, t)]):
            out.append(f"| {w} | {i} | {t} | {libs} | {omp} | {env} |")
    return out + [""]


def summarize(meta, recs):
    out = []
    start, end = meta.get("start", {}), meta.get("end", {})
    out += ["# mlpc benchmark results", "",
            f"- date: {start.get('date', '?')}  ",
            f"- machine: {start.get('cpu', '?')}, {start.get('cores', '?')} cores  ",
            f"- command: `{start.get('command', '?')}` (mlpc commit {start.get('commit', '?')})  ",
            f"- repetitions: {start.get('reps', '?')} (W3: {start.get('w3_reps', '?')}, "
            f"{start.get('w3_passes', '?')} of the 30 passes timed and scaled to 30), interleaved: "
            "every repetition runs mlpc and then each peer  ",
            f"- load average at start / end: {start.get('loadavg', '?')} / {end.get('loadavg', '?')} "
            "(anything above 0 means other processes shared the 2 cores)  ",
            "- peer/mlpc = peer median / mlpc median at the same thread count (> 1: mlpc is faster; "
            "mlpc/peer is its inverse); "
            "% sgemm = GEMM FLOPs of the workload per second / numpy's OpenBLAS sgemm rate on W2's "
            "shapes at that thread count; % mlpc GEMM the same against mlpc's own GEMM rate"]
    peaks = peak_rates(recs)
    if peaks:
        out.append("- the machine's FMA peak (`bench_mlpc peak`: independent register FMAs, medians): " +
                   ", ".join(f"{t} thread{'s' if t > 1 else ''} {peaks[(k, t)]:.0f} GFLOP/s with "
                             f"{'512' if k == 'fma512' else '256'}-bit FMAs"
                             for (k, t) in sorted(peaks, key=lambda x: (x[1], x[0]))))
    out.append("")
    rates = gemm_rates(recs)
    sgemm = {t: rates.get(("numpy-vec", "fwd", t)) for t in (1, 2)}
    mgemm = {t: rates.get(("mlpc", "fwd", t)) for t in (1, 2)}

    def pct(gf, ref):
        return f"{100 * gf / ref:.0f}%" if ref else "-"

    by, by6 = defaultdict(list), defaultdict(list)
    for r in recs:
        if r["workload"] in SIZES:
            by[(r["workload"], r["impl"], r["threads"])].append(r["sec"])
        elif r["workload"] == "w6":
            by6[r["impl"]].append(r["sec"])
    for w in SIZES:
        keys = sorted({(i, t) for (ww, i, t) in by if ww == w}, key=key_order)
        if not keys:
            continue
        rows = ROWS[w]
        gflop = train_flops(SIZES[w], rows) * 1e-9
        notes = {
            "w1": " mlpc skips the input columns that are zero in a whole batch (kernels/sparse.c: about "
                  "half of them at batch 10), so its GFLOP/s here count the dense work it did not do: "
                  "dense-equivalent rates.",
            "w2": " mlpc's first layer skips the input columns that are zero in a whole batch (backend/cpu.c, "
                  "zero-cols: about a fifth of them at batch 1,500), so its GFLOP/s are dense-equivalent rates.",
            "w5": " mlpc's first layer skips the input columns that are zero in a whole batch (backend/cpu.c, "
                  "zero-cols: about a third of them at batch 128), so its GFLOP/s are dense-equivalent rates.",
        }
        note = notes.get(w, "")
        out += [f"## {TITLES[w]}", "", f"GEMM work: {gflop:.3g} GFLOP per epoch.{note}", "",
                "| implementation | threads | median s | min-max s | peer/mlpc | mlpc/peer | GFLOP/s | % sgemm | % mlpc GEMM |",
                "|---|---|---|---|---|---|---|---|---|"]
        for impl, t in keys:
            med, lo, hi = stats(by[(w, impl, t)])
            base = by.get((w, "mlpc", t)) or by.get((w, "mlpc", 1))
            ratio = med / stats(base)[0] if base and impl != "mlpc" else None
            ratios = f"{ratio:.2f} | {1 / ratio:.2f}" if ratio else "- | -"
            gf = gflop / med
            out.append(f"| {impl} | {t} | {fmt(med)} | {fmt(lo)}-{fmt(hi)} | {ratios} | {gf:.3g} | "
                       f"{pct(gf, sgemm.get(t))} | {pct(gf, mgemm.get(t))} |")
        fixed = {t: stats(by[(w, i, t)])[0] for (i, t) in keys if i == "mlpc"}
        auto = [(t, stats(by[(w, i, t)])[0]) for (i, t) in keys if i == "mlpc-auto"]
        if fixed and auto:
            bt = min(fixed, key=fixed.get)
            for t, med in auto:
                out += ["", f"`--threads auto` chose {t} thread{'s' if t > 1 else ''}: {fmt(med)} s against "
                        f"{fmt(fixed[bt])} s for the best fixed count ({bt}): "
                        f"{(med / fixed[bt] - 1) * 100:+.1f}% (target: at most +5%); "
                        f"{paired(by[(w, 'mlpc-auto', t)], by[(w, 'mlpc', bt)], True)}."]
        if 1 in fixed and 2 in fixed:
            out += ["", f"2 threads against 1: {fixed[1] / fixed[2]:.2f}x the speed (medians); "
                    f"{paired(by[(w, 'mlpc', 1)], by[(w, 'mlpc', 2)], False)}."]
        out.append("")

    out += w6_table(by6)
    out += ratio_table(recs)
    out += blas_table(recs)
    if rates:
        out += ["## GEMM rate on W2's shapes (batch 1500), GFLOP/s, medians", "",
                "fwd: the five forward products X·W (mlpc: one-layer linear nets through mlpc_net_predict; "
                "numpy: `X @ W`); step: forward + backward products (mlpc: mlpc_trainer_gradient on the "
                "whole W2 net, activations and loss included; numpy: pure sgemm calls); epoch: W2's "
                "47.3 GFLOP / median s per epoch (optimizer, shuffling and activations included).", "",
                "| implementation | threads | fwd | step | epoch |", "|---|---|---|---|---|"]
        w2f = train_flops(SIZES["w2"], 60000) * 1e-9
        for impl in ("mlpc", "numpy-vec"):
            for t in (1, 2):
                ep = by.get(("w2", impl, t))
                out.append(f"| {impl} | {t} | {fmt(rates.get((impl, 'fwd', t)))} | "
                           f"{fmt(rates.get((impl, 'step', t)))} | {fmt(w2f / stats(ep)[0]) if ep else '-'} |")
        out.append("")

    w3 = defaultdict(list)
    for r in recs:
        if r["workload"] == "w3":
            w3[(r["net"], r["threads"], r["impl"], r["batch"])].append(r["sec"])
    for net in sorted({k[0] for k in w3}, key=lambda s: macs([int(v) for v in s.split("-")])):
        gflop = 2 * macs([int(v) for v in net.split("-")]) * 60000 * 30 * 1e-9
        out += [f"## W3: forward pass {net} sigmoid, 60,000 images x 30 passes (s), {gflop:.0f} GFLOP", ""]
        for t in (1, 2):
            impls = sorted({k[2] for k in w3 if k[0] == net and k[1] == t}, key=lambda i: key_order((i, t)))
            if not impls:
                continue
            out += [f"{t} thread{'s' if t > 1 else ''}: median [min-max], peers as ratio peer/mlpc; "
                    "mlpc's GFLOP/s and its fraction of OpenBLAS sgemm", "",
                    "| N | " + " | ".join(impls) + " | mlpc GFLOP/s | % sgemm |",
                    "|---" * (len(impls) + 3) + "|"]
            for n in sorted({k[3] for k in w3 if k[0] == net and k[1] == t}):
                base = w3.get((net, t, "mlpc", n))
                cells = []
                for impl in impls:
                    v = w3.get((net, t, impl, n))
                    if not v:
                        cells.append("-")
                        continue
                    med, lo, hi = stats(v)
                    cell = f"{fmt(med)} [{fmt(lo)}-{fmt(hi)}]"
                    if impl != "mlpc" and base:
                        cell += f" x{med / stats(base)[0]:.2f}"
                    cells.append(cell)
                gf = gflop / stats(base)[0] if base else None
                out.append(f"| {n} | " + " | ".join(cells) + f" | {fmt(gf)} | {pct(gf, sgemm.get(t)) if gf else '-'} |")
            out.append("")
    return "\n".join(out), w3


def plot(w3, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    nets = sorted({k[0] for k in w3}, key=lambda s: macs([int(v) for v in s.split("-")]))
    fig, axes = plt.subplots(1, len(nets), figsize=(6.5 * len(nets), 4.8), squeeze=False)
    colors = {"mlpc": "C0", "numpy-vec": "C2", "torch": "C3", "torch-passive": "C1"}
    for ax, net in zip(axes[0], nets):
        all_n = sorted({k[3] for k in w3 if k[0] == net})
        for impl, t in sorted({(k[2], k[1]) for k in w3 if k[0] == net}, key=key_order):
            ns = sorted({k[3] for k in w3 if k[:3] == (net, t, impl)})
            s = np.array([stats(w3[(net, t, impl, n)]) for n in ns])
            ax.errorbar(ns, s[:, 0], yerr=[s[:, 0] - s[:, 1], s[:, 2] - s[:, 0]], marker="o", ms=3, capsize=2,
                        color=colors.get(impl), ls="-" if t == 1 else "--", lw=2.2 if impl == "mlpc" else 1.2,
                        label=f"{impl}, {t} thread{'s' if t > 1 else ''}")
        ax.set(xscale="log", yscale="log", xlabel="batch N (rows per forward call)",
               ylabel="seconds for 30 x 60,000 images (median, min-max)", title=f"W3 forward {net} sigmoid")
        # neighbours closer than 20% (250, 260) get their labels on two lines
        labels = [("\n" if i and n < 1.2 * all_n[i - 1] else "") + str(n) for i, n in enumerate(all_n)]
        ax.set_xticks(all_n, labels, fontsize=8)
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 3, 5, 7)))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("raw")
    p.add_argument("--md")
    p.add_argument("--plot")
    a = p.parse_args()
    meta, recs = load(a.raw)
    text, w3 = summarize(meta, recs)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
        print(f"summarize.py: wrote {a.md}")
    if a.plot and w3:
        plot(w3, a.plot)
        print(f"summarize.py: wrote {a.plot}")


if __name__ == "__main__":
    main()
