"""Benchmark of the folded kernel's training step: patterns per CPU second of the C network
(build/bench/fd_bench) and of the NumPy version of the same equations
(bench/folded/fd_numpy.py), for 64-32-8 (digits) and 784-256-32 (Fashion-MNIST), measured one
after the other in one run, one core each. First both train on the same closed-form weights
and inputs and their weight sums are compared (they must agree to rounding).

    make bench-folded                             (builds build/bench/fd_bench, runs this)
    /usr/bin/python3 bench/folded/bench.py [SECONDS [ITER [LAMBDA]]]   (default 2 s, 30, 0.1)

ITER: fixed-point sweeps per pattern, the same in both (the kernel's mean on the digits
sweep is in the `iterations` output).
"""
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import fd_numpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(ROOT / "build/bench/fd_bench")
SIZES = ((64, 32, 8), (784, 256, 32))


def main(argv):
    seconds = float(argv[0]) if argv else 2.0
    iters = int(argv[1]) if len(argv) > 1 else 30
    lam = float(argv[2]) if len(argv) > 2 else 0.1
    for n in SIZES:
        out = subprocess.run([BIN, "check", *map(str, n), str(lam), str(iters), "20"], check=True,
                             capture_output=True, text=True).stdout.split()
        c = [float(v) for v in out]
        py = fd_numpy.check(n, lam, iters, 20)
        rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(c, py))
        print(f"cross-check {'-'.join(map(str, n))}, 20 patterns: weight sums C "
              f"{' '.join(f'{v:.10g}' for v in c)}; largest relative difference {rel:.1e}")
        if not rel < 1e-9:
            print("bench: the C and NumPy versions disagree", file=sys.stderr)
            return 1
    load_before = os.getloadavg()
    rows = []
    for n in SIZES:
        out = subprocess.run([BIN, "time", *map(str, n), str(lam), str(iters), str(seconds)],
                             check=True, capture_output=True, text=True).stdout.split()
        c_rate = float(out[2])
        p, t = fd_numpy.rate(n, lam, iters, seconds)
        rows.append((n, c_rate, p / t))
    load_after = os.getloadavg()
    print(f"\nfolded benchmark: lambda {lam}, {iters} fixed-point sweeps per pattern, then the "
          f"updates; ~{seconds:g} s of CPU per case, one core; load average (1, 5, 15 min) "
          f"before: {' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}\n")
    print("| network | C (patterns / CPU s) | NumPy (patterns / CPU s) | C / NumPy |")
    print("|---|---|---|---|")
    for n, c_rate, np_rate in rows:
        print(f"| {'-'.join(map(str, n))} | {c_rate:.0f} | {np_rate:.0f} | "
              f"{c_rate / np_rate:.1f}x |")
    print("\nCPU time (CLOCK_PROCESS_CPUTIME_ID / time.process_time), so other work on the "
          "machine slows the rates less than wall time would.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
