"""Benchmark of the nk kernel: learning cycles per second at N = 20, 100, 500 for
each model, C with incremental evaluation, C with full re-evaluation, and the
NumPy version (bench/nk/nk_numpy.py), measured one after the other in one run;
prints a Markdown table with the ratios. Every rate is one core's.

    make bench-nk                                   (builds build/bench/nk_bench, runs this)
    /usr/bin/python3 bench/nk/bench.py [SECONDS [N...]]
"""
import os
import pathlib
import subprocess
import sys

# One thread for NumPy's BLAS too, as for the C code (one rank per core).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import nk_numpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def parse(text):
    rates = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            n, model, mode, cycles, secs, cps = line.split()
            rates[int(n), model, mode] = float(cps)
    return rates


def main(argv):
    seconds = argv[0] if argv else "1.5"
    ns = argv[1:] or ["20", "100", "500"]
    load_before = os.getloadavg()[0]
    c = subprocess.run([str(ROOT / "build/bench/nk_bench"), seconds, *ns], check=True,
                       capture_output=True, text=True).stdout
    rates = parse(c)
    for n in map(int, ns):
        x, y = nk_numpy.nk_data(n, 4, 1000, np.random.default_rng(1))
        for model in ("mlp", "nmlp", "hmlp"):
            cycles, t = nk_numpy.rate(model, x, y, float(seconds))
            rates[n, model, "numpy"] = cycles / t
    print(f"nk benchmark: K=4, H=10, 1000 training examples, ~{seconds} s per case, one core; "
          f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print()
    print("| N | model | C incremental (cycles/s) | C full (cycles/s) | NumPy full (cycles/s) |"
          " incremental / full | incremental / NumPy | C full / NumPy |")
    print("|---|---|---|---|---|---|---|---|")
    for n in map(int, ns):
        for model in ("mlp", "nmlp", "hmlp"):
            inc, full, npy = (rates[n, model, m] for m in ("incremental", "full", "numpy"))
            print(f"| {n} | {model} | {inc:,.0f} | {full:,.1f} | {npy:,.1f} | {inc / full:,.0f}x |"
                  f" {inc / npy:,.0f}x | {full / npy:.1f}x |")
    print()
    print("Other work on the machine (load above 2 on 2 cores) slows every column; the ratios, "
          "measured minutes apart in one run, suffer less than the rates.")


if __name__ == "__main__":
    main(sys.argv[1:])
