"""Benchmark of the dendnet kernel: simulated seconds per CPU second of the neuron (the
kernel's default 47-compartment tree, dt 0.1 ms), and training samples (output bins) per
CPU second of the TCN, C (build/bench/dd_bench: im2col + OpenBLAS dgemm) against NumPy
(bench/dendnet/dd_numpy.py: the same passes, NumPy's matmul on the same OpenBLAS), one
after the other in one run, one core each. First the C and NumPy gradients of one
generated problem are compared (they must agree to rounding).

    make bench-dendnet                                   (builds build/bench/dd_bench, runs this)
    /usr/bin/python3 bench/dendnet/bench.py [SECONDS]    (CPU seconds per measurement, default 3)
"""
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import dd_numpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(ROOT / "build/bench/dd_bench")

# (cin, depth, width, rf, first, B, L): the reproduction's networks (sweeps/dendnet-depth.yaml)
CASES = [(94, 1, 16, 60, 25, 8, 256), (94, 3, 16, 60, 25, 8, 256), (94, 7, 16, 60, 25, 8, 256),
         (94, 7, 64, 60, 25, 8, 256)]


def cross_check(shape=(7, 3, 5, 12, 5, 2, 20)):
    out = subprocess.run([BIN, "check", *map(str, shape)], check=True, capture_output=True,
                         text=True).stdout.split()
    c_loss, c_g = float(out[0]), np.array([float(x) for x in out[1:]])
    py_loss, py_g = dd_numpy.check(*shape)
    rel = np.max(np.abs(c_g - py_g)) / np.max(np.abs(py_g))
    return c_loss, py_loss, rel, len(c_g)


def c_rate(case, seconds):
    steps = 2
    while True:  # grow the run until it takes `seconds` of CPU
        f = subprocess.run([BIN, "tcn", *map(str, case), str(steps)], check=True,
                           capture_output=True, text=True).stdout.split()
        cpu = float(f[1])
        if cpu >= seconds or steps > 1 << 16:
            return int(f[0]) / cpu
        steps = max(steps * 2, int(steps * seconds / max(cpu, 1e-3) * 1.1))


def np_rate(case, seconds):
    steps = 1
    while True:
        import time
        t0 = time.process_time()
        r, _ = dd_numpy.rate(*case, steps)
        if time.process_time() - t0 >= seconds or steps > 1 << 12:
            return r
        steps *= 2


def main(argv):
    seconds = float(argv[0]) if argv else 3.0
    c_loss, py_loss, rel, np_ = cross_check()
    print(f"cross-check, one generated problem (7 inputs, depth 3, width 5, rf 12, {np_} "
          f"parameters): loss C {c_loss:.12f}, NumPy {py_loss:.12f}; largest gradient "
          f"difference / largest gradient {rel:.2e}")
    if not (abs(c_loss - py_loss) < 1e-10 and rel < 1e-9):
        print("bench: the C and NumPy versions disagree", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    f = subprocess.run([BIN, "neuron", str(seconds)], check=True, capture_output=True,
                       text=True).stdout.split()
    ncomp, nin, sim, cpu, wall = int(f[0]), int(f[1]), float(f[2]), float(f[3]), float(f[4])
    rows = []
    for case in CASES:
        rows.append((case, c_rate(case, seconds), np_rate(case, seconds)))
    load_after = os.getloadavg()
    print(f"dendnet benchmark, one core, ~{seconds:g} s of CPU per measurement; load average "
          f"(1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    print(f"neuron: {ncomp} compartments, {nin} inputs, dt 0.1 ms: {sim / cpu:.1f} simulated s "
          f"per CPU s ({sim / wall:.1f} per wall s; {sim:.0f} s simulated)")
    print()
    print("| inputs | depth | width | rf | batch x window | C samples / CPU s | NumPy samples / CPU s "
          "| C / NumPy |")
    print("|---|---|---|---|---|---|---|---|")
    for (cin, d, w, rf, first, B, L), c, p in rows:
        print(f"| {cin} | {d} | {w} | {rf} | {B} x {L} | {c:,.0f} | {p:,.0f} | {c / p:.2f}x |")
    print()
    print("A sample is one output bin (1 ms) of one training step: forward, backward and Adam. "
          "CPU time (CLOCK_PROCESS_CPUTIME_ID / time.process_time), OpenBLAS on one thread.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
