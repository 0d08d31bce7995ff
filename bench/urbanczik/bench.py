"""Benchmark of the urbanczik kernel's neuron: simulated seconds per CPU second of the C
model (build/bench/uz_bench) and of the NumPy version of the same equations
(bench/urbanczik/uz_numpy.py), the cost per synapse and step and per input spike, and
the floor of touching every synapse once per step; measured one after the other in one
run, one core each. First both versions replay the same inputs and spike uniforms and
their final weights are compared (they must agree to rounding).

    make bench-urbanczik                       (builds build/bench/uz_bench, runs this)
    /usr/bin/python3 bench/urbanczik/bench.py [SECONDS [N...]]     (default 2 s; N = 200 2000 20000)
    /usr/bin/python3 bench/urbanczik/bench.py --net [SECONDS]     the network's table alone

Then the spiking microcircuit 30-20-10 (build/bench/uz_bench net): simulated seconds
per CPU second with its rules on and frozen, the cost per synapse and step and per
synaptic event, and the same floor.
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
    print()
    net(seconds)
    return 0


def net(seconds, sizes=("30", "20", "10")):
    """The spiking microcircuit (task self_predict) with its rules on and frozen."""
    load_before = os.getloadavg()
    out = subprocess.run([BIN, "net", seconds, *sizes], check=True, capture_output=True,
                         text=True).stdout
    load_after = os.getloadavg()
    print(f"spiking microcircuit {'-'.join(sizes)} (task self_predict: lateral rules on, a new "
          f"pattern every 100 ms), ~{seconds} s of CPU per case, one core; load average before: "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    print("| rules | sim s / CPU s | synapses (plastic) | ns per step | ns per synapse-step |"
          " spikes per s simulated | synaptic events per s simulated | ns per synaptic event |"
          " floor ns per synapse-step | / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for line in out.splitlines():
        if line.startswith("#") or not line:
            continue
        f = line.split()
        steps, sim_s = int(f[1]), int(f[1]) * 0.1e-3
        print(f"| {'on' if f[0] == '1' else 'frozen'} | {float(f[3]):.1f} | {f[4]} ({f[5]}) |"
              f" {float(f[6]):.0f} | {float(f[7]):.2f} | {float(f[8]) / sim_s:.0f} |"
              f" {float(f[9]) / sim_s:.0f} | {float(f[10]):.0f} | {float(f[11]):.2f} |"
              f" {float(f[7]) / float(f[11]):.1f}x |")
        assert steps > 0
    print()
    print("A synaptic event is a spike arriving at one synapse (spikes times their fan-out); the "
          "model touches every synapse every step (dendrites W x of the traces, and the rules), "
          "so its cost per step, not per event, is what the floor bounds.")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--net"]:
        sys.exit(net(sys.argv[2] if len(sys.argv) > 2 else "2"))
    sys.exit(main(sys.argv[1:]))
