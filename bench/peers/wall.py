"""Times one whole process (bench/run.sh's W6): wall seconds from before the
fork to after the exit, so interpreter start-up, imports, loading and saving
are all inside. Only the standard library, to stay out of what it measures.

  wall.py --workload W --impl NAME [--threads T] -- CMD [ARG...]

Prints one JSON line: workload, impl, threads, sec (unit "s/process"), and
the fields of the last JSON line CMD printed (e.g. "blas"), prefixed "child_"
where they clash. A failing CMD: its stderr, and exit status 1."""
import argparse
import json
import subprocess
import sys
import time


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: wall.py --workload W --impl NAME [--threads T] -- CMD [ARG...]")
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True)
    p.add_argument("--impl", required=True)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv[:cut])
    cmd = argv[cut + 1:]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sec = time.perf_counter() - t0
    if proc.returncode:
        sys.stderr.write(proc.stderr[-2000:])
        sys.exit(f"wall.py: {' '.join(cmd)} exited with status {proc.returncode}")
    rec = {"workload": a.workload, "impl": a.impl, "threads": a.threads, "sec": sec, "unit": "s/process"}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            try:
                child = json.loads(line)
            except ValueError:
                continue
            for k, v in child.items():
                rec[k if k not in rec else "child_" + k] = v
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
