"""Benchmark of the metaplastic kernel's inner loop: plastic updates per CPU second of
the C model (build/bench/mp_bench) and of the NumPy version of the same loop
(bench/metaplastic/mp_numpy.py), the cost of the forward-mode tangents (updates with
tangents, and whole meta-steps: a 5-way episode of 250 updates and 50 queries with its
meta-gradient), for the pools F0-F2 (R = 3; NumPy too) and F0-F5 (R = 6; C only), feedback
alignment, one core. First both
versions run the same updates from the same start and their weights are compared. Last,
updates with their tangents of the plain rule, the plain rule with learned feedback and
chemical synapses (C = 2), pool F0-F2, on the RCN study's network and the reduced one.

    make bench-metaplastic                  (builds build/bench/mp_bench, runs this)
    /usr/bin/python3 bench/metaplastic/bench.py [SECONDS]        (default 2 s per case)
"""
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mp_numpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(ROOT / "build/bench/mp_bench")
SIZES = [[196, 80, 60, 40, 5], [784, 170, 130, 100, 70, 5]]
KIND_SIZES = [[196, 32, 5], [196, 80, 60, 40, 5]]


def cross_check(sizes=(50, 20, 10, 5), updates=200):
    out = subprocess.run([BIN, "check", *map(str, sizes), str(updates)], check=True,
                         capture_output=True, text=True).stdout.split()
    c_w = np.array([float(v) for v in out])
    py_w = mp_numpy.check(list(sizes), updates)
    w0 = np.concatenate([w.ravel() for w in mp_numpy.start(list(sizes))[0]])
    return np.max(np.abs(c_w - py_w)) / np.max(np.abs(c_w - w0))


def main(argv):
    seconds = argv[0] if argv else "2"
    rel = cross_check()
    print(f"cross-check, 50-20-10-5, 200 updates from the same start: largest difference of "
          f"the weights, relative to the largest weight change: {rel:.2e}")
    if not rel < 1e-9:
        print("bench: the C and NumPy versions disagree", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    rows = []
    for sizes in SIZES:
        for R in (3, 6):
            f = subprocess.run([BIN, "time", seconds, str(R), *map(str, sizes)], check=True,
                               capture_output=True, text=True).stdout.split()
            plain, tang, meta, fl, flt = map(float, f[:5])
            np_rate = mp_numpy.rate(sizes, float(seconds)) if R == 3 else None
            rows.append((sizes, R, plain, tang, meta, fl, flt, np_rate))
    load_after = os.getloadavg()
    print(f"metaplastic benchmark: feedback alignment, ~{seconds} s of CPU "
          f"per case, one core; load average (1, 5, 15 min) before: "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    print("| network | R | C updates/s | NumPy updates/s | C / NumPy | C GFLOP/s | C updates/s "
          "with tangents | cost of tangents (x inner loop) | 1 + 2R | flop ratio | meta-steps/s "
          "| s per meta-step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for sizes, R, plain, tang, meta, fl, flt, np_rate in rows:
        npr = f"{np_rate:.0f} | {plain / np_rate:.1f}x" if np_rate else "- | -"
        print(f"| {'-'.join(map(str, sizes))} | {R} | {plain:.0f} | {npr} | "
              f"{plain * fl / 1e9:.2f} | {tang:.0f} | {plain / tang:.1f} | {1 + 2 * R} | "
              f"{flt / fl:.1f} | {meta:.2f} | {1 / meta:.3f} |")
    print()
    print("CPU time (time.process_time / CLOCK_PROCESS_CPUTIME_ID). 'cost of tangents' is the "
          "time of an update with the R tangents over one without; 1 + 2R is the reference "
          "card's estimate; 'flop ratio' is mp_flops_update's count of the same.")
    print()
    kinds(seconds)
    return 0


def kinds(seconds):
    load_before = os.getloadavg()
    rows = []
    for sizes in KIND_SIZES:
        f = subprocess.run([BIN, "kinds", seconds, *map(str, sizes)], check=True,
                           capture_output=True, text=True).stdout.split()
        rows.append((sizes, *map(float, f[:3])))
    load_after = os.getloadavg()
    print(f"updates with their tangents, pool F0-F2, ~{seconds} s of CPU per case; load average "
          f"before: {' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    print("| network | plain (fa), R = 3 | learned feedback, R = 3 + 3 | chemical, C = 2 | "
          "its parameters | learned / plain time | chemical / plain time |")
    print("|---|---|---|---|---|---|---|")
    for sizes, plain, learned, chem in rows:
        nparam = 2 * 3 + 2 * 2 + 2 + 2 * (len(sizes) - 1)  # P, K, v, b per layer
        print(f"| {'-'.join(map(str, sizes))} | {plain:.0f} | {learned:.0f} | {chem:.1f} | "
              f"{nparam} | {plain / learned:.1f} | {plain / chem:.1f} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
