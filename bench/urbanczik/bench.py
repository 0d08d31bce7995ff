"""Benchmark of the urbanczik kernel's neuron: simulated seconds per CPU second of the C
model (build/bench/uz_bench) and of the NumPy version of the same equations
(bench/urbanczik/uz_numpy.py), the cost per synapse and step and per input spike, and
the floor of touching every synapse once per step; measured one after the other in one
run, one core each. First both versions replay the same inputs and spike uniforms and
their final weights are compared (they must agree to rounding).

    make bench-urbanczik                       (builds build/bench/uz_bench, runs this)
    /usr/bin/python3 bench/urbanczik/bench.py [SECONDS [N...]]     (default 2 s; N = 200 2000 20000)
"""
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import uz_numpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(ROOT / "build/bench/uz_bench")


def cross_check(n=200, steps=20000):
    out = subprocess.run([BIN, "check", str(n), str(steps)], check=True, capture_output=True,
                         text=True).stdout.split("\n")
    head = out[0].split()
    c_spikes = int(head[2])
    c_w = np.array([float(x) for x in out[1:] if x])
    py_w, py_spikes = uz_numpy.check(n, steps)
    rel = np.max(np.abs(c_w - py_w) / np.maximum(np.abs(c_w - 90.0), 1e-12))
    return c_spikes, py_spikes, rel, c_w.mean()


def main(argv):
    seconds = argv[0] if argv else "2"
    ns = argv[1:] or ["200", "2000", "20000"]
    c_sp, py_sp, rel, mw = cross_check()
    print(f"cross-check, N = 200, 20000 steps (2 s simulated), same inputs and uniforms: "
          f"spikes C {c_sp}, NumPy {py_sp}; mean final weight {mw:.6f} pA; largest relative "
          f"difference of w - w0 {rel:.2e}")
    if c_sp != py_sp or not rel < 1e-9:
        print("bench: the C and NumPy versions disagree", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    c = subprocess.run([BIN, "time", seconds, *ns], check=True, capture_output=True,
                       text=True).stdout
    rows = {}
    for line in c.splitlines():
        if line and not line.startswith("#"):
            f = line.split()
            rows[int(f[0])] = dict(steps=int(f[1]), cpu=float(f[3]), sim=float(f[4]),
                                   ns_syn=float(f[5]), ns_ev=float(f[6]), floor=float(f[8]))
    for n in map(int, ns):
        steps, t = uz_numpy.rate(n, float(seconds))
        rows[n]["np_sim"] = steps * 0.1e-3 / t
        rows[n]["np_ns_syn"] = t / (steps * n) * 1e9
    load_after = os.getloadavg()
    print(f"urbanczik benchmark: teacher task, 10 Hz inputs, dt 0.1 ms, ~{seconds} s of CPU per "
          f"case, one core; load average (1, 5, 15 min) before: "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    print("| synapses | C (sim s / CPU s) | NumPy (sim s / CPU s) | C / NumPy | C ns per synapse-step |"
          " NumPy ns per synapse-step | C ns per input spike | floor ns per synapse-step |"
          " C / floor |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in map(int, ns):
        r = rows[n]
        print(f"| {n} | {r['sim']:.3f} | {r['np_sim']:.4f} | {r['sim'] / r['np_sim']:.0f}x |"
              f" {r['ns_syn']:.2f} | {r['np_ns_syn']:.2f} | {r['ns_ev']:.0f} | {r['floor']:.2f} |"
              f" {r['ns_syn'] / r['floor']:.1f}x |")
    print()
    print("CPU time (time.process_time / CLOCK_PROCESS_CPUTIME_ID), so other work on the "
          "machine slows the rates less than wall time would; the floor is one multiply-add "
          "into every weight per step, in C.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
