"""bench/gpu/summarize.py OUTDIR: the summary table of a bench/gpu/run.sh run.

Reads OUTDIR/steps.tsv, OUTDIR/bench.jsonl (mlpc and PyTorch JSON lines),
OUTDIR/parity.log, OUTDIR/sanitizer.log and OUTDIR/meta.txt; writes
OUTDIR/summary.md and prints it. Python 3 standard library only."""
import json
import os
import re
import sys

# GEMM FLOPs per epoch (bench/README.md): forward + dW of every layer, dX of all but the first
FLOP_PER_ROW = {}
for name, sizes in {"w1": [784, 30, 10], "w2": [784, 200, 100, 50, 30, 10], "w5": [784, 256, 128, 10]}.items():
    mac = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    mac_dx = sum(a * b for a, b in list(zip(sizes[:-1], sizes[1:]))[1:])
    FLOP_PER_ROW[name] = 2 * (2 * mac + mac_dx)
ROWS = {"w1": 50000, "w2": 60000, "w5": 60000}


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def records(outdir):
    out = []
    for line in read(os.path.join(outdir, "bench.jsonl")).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def find(recs, workload, impl_prefix, key):
    """The first matching record; for s/epoch ("sec") one of plain epochs first:
    mlpc's whole-run records time epochs with the test evaluation inside."""
    hits = [r for r in recs if r.get("workload") == workload and str(r.get("impl", "")).startswith(impl_prefix)
            and key in r]
    if key == "sec":
        hits.sort(key=lambda r: "sec_total" in r)
    return hits[0] if hits else None


def fmt(v, unit="s"):
    if v is None:
        return "n/a"
    if unit == "s":
        return f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.3f} s"
    return f"{v:.3g}x"


def ratio(peer, mlpc):
    return peer / mlpc if peer and mlpc else None


def verdict(ok):
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    recs = records(outdir)
    lines = []
    meta = read(os.path.join(outdir, "meta.txt")).strip()
    lines.append("# mlpc on the GPU: bench/gpu/run.sh")
    lines.append("")
    if meta:
        lines += ["```", meta, "```", ""]

    # ---- correctness
    parity = read(os.path.join(outdir, "parity.log"))
    san = read(os.path.join(outdir, "sanitizer.log"))
    ok_n = len(re.findall(r"^\[\s*OK\s*\]", parity, re.M))
    failed = sorted(set(re.findall(r"^\[\s*FAILED\s*\]\s+(\S.*)", parity, re.M)) - {"1 test(s), listed below:"})
    failed = [f for f in failed if not re.match(r"\d+ test\(s\)", f)]
    skip_n = len(set(re.findall(r"^\[\s*SKIPPED\s*\]\s+(\S.*)", parity, re.M)) - {""})
    skip_n -= len([1 for x in set(re.findall(r"^\[\s*SKIPPED\s*\]\s+(\S.*)", parity, re.M)) if "test(s)" in x])
    counts = f"{ok_n} passed, {len(failed)} failed, {skip_n} skipped"
    if "skipped: no GPU" in parity:
        why = parity.split("skipped: no GPU", 1)[1].split("\n", 1)[0].strip(" ()")
        p_state = f"GPU tests skipped ({why}); stand-in plugin: {counts}"
    elif failed:
        p_state = f"**FAILED** ({counts}): " + "; ".join(failed)
    elif re.search(r"\[\s*PASSED\s*\]", parity):
        p_state = f"passed ({counts})"
    else:
        p_state = f"did not finish ({counts} so far; see parity.log)" if parity else "not run"
    gpu_line = re.search(r"^GPU: (.*)", parity, re.M)
    if gpu_line:
        p_state += f" on {gpu_line.group(1)}"
    m = re.search(r"ERROR SUMMARY: (\d+) error", san)
    s_state = (f"{m.group(1)} errors" if m else
               ("skipped: " + san.split("skipped:", 1)[1].split("\n", 1)[0].strip()) if "skipped:" in san else
               "did not finish (see sanitizer.log)" if san else "not run")
    lines += ["## Correctness", "", f"- tests/slow_cuda_parity: {p_state}", f"- compute-sanitizer: {s_state}", ""]

    # ---- rates
    sg = find(recs, "sgemm", "cuBLAS", "gflops") or find(recs, "sgemm", "torch", "gflops")
    sg_rate = sg["gflops"] if sg else None
    lines += ["## Speed", ""]
    if sg:
        lines.append(f"FP32 SGEMM rate for the fractions: {sg_rate:.0f} GFLOP/s ({sg['impl']}, "
                     f"{sg.get('m')}^3, median of {sg.get('reps')})")
        other = [r for r in recs if r.get("workload") == "sgemm" and r is not sg and "gflops" in r]
        for r in other:
            lines.append(f"(also {r['gflops']:.0f} GFLOP/s from {r['impl']})")
        lines.append("")
    lines.append("| workload | mlpc cuda | torch eager | torch graphs | eager/mlpc | graphs/mlpc | mlpc examples/s | "
                 "mlpc % SGEMM | target | met |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    met_all = []

    def row(label, w, key, target, check):
        mr = find(recs, w, "mlpc", key)
        er = find(recs, w, "torch-eager", key)
        gr = find(recs, w, "torch-graphs", key)
        mv, ev, gv = (r[key] if r else None for r in (mr, er, gr))
        re_, rg = ratio(ev, mv), ratio(gv, mv)
        ex = pct = None
        if mr and mr.get("sec"):
            ex = ROWS[w] / mr["sec"]
            if sg_rate:
                pct = FLOP_PER_ROW[w] * ROWS[w] / mr["sec"] * 1e-9 / sg_rate * 100
        ok = check(mv, re_, rg)
        met_all.append(ok)
        lines.append(f"| {label} | {fmt(mv)} | {fmt(ev)} | {fmt(gv)} | {fmt(re_, 'x')} | {fmt(rg, 'x')} | "
                     f"{'n/a' if ex is None else f'{ex:,.0f}'} | {'n/a' if pct is None else f'{pct:.1f}%'} | "
                     f"{target} | {verdict(ok)} |")

    def need(*v):
        return all(x is not None for x in v)

    row("W2 45 epochs + test eval, whole run", "w2", "sec_total", "< 1 s, >= 3x eager",
        lambda m, e, g: (m < 1.0 and e >= 3) if need(m, e) else None)
    row("W2 s/epoch", "w2", "sec", "-", lambda m, e, g: None)
    row("W1 s/epoch (batch 10)", "w1", "sec", ">= 10x eager, >= 2x graphs",
        lambda m, e, g: (e >= 10 and g >= 2) if need(m, e, g) else None)
    row("W5 s/epoch (784-256-128-10 Adam, batch 128)", "w5", "sec", ">= 2x eager",
        lambda m, e, g: e >= 2 if need(m, e) else None)
    cli = read(os.path.join(outdir, "cli_w2.txt")).strip()
    lines.append("")
    if cli:
        lines.append(f"`mlpc train` W2, 45 epochs with the t10k test set, whole process: {cli}")
        lines.append("")
    lines.append("Times: mlpc's are the wall time of mlpc_trainer_epoch on the device (it ends with the parameters "
                 "back on the host), PyTorch's CUDA events; both after warm-up, medians of the repetitions. "
                 "Ratios > 1: mlpc is faster.")
    lines.append("")
    errs = [r for r in recs if "error" in r]
    for r in errs:
        lines.append(f"- error: {r.get('workload')} {r.get('impl')}: {r['error']}")

    # ---- steps
    steps = read(os.path.join(outdir, "steps.tsv")).strip().splitlines()
    if steps:
        lines += ["", "## Steps", "", "| step | status | seconds | budget |", "|---|---|---|---|"]
        for s in steps:
            f = s.split("\t")
            if len(f) >= 4:
                lines.append(f"| {f[0]} | {f[1]} | {f[2]} | {f[3]} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
