"""Benchmark of the microcircuit kernel: Euler steps per CPU second of the C network
(build/bench/mc_bench) and of the NumPy version of the same equations
(bench/microcircuit/mc_numpy.py), one after the other in one run, with their ratio; the
peak memory of the bench process per network and of one `neuromic run` task per size.

    make bench-mc                                   (builds build/bench/mc_bench, runs this)
    /usr/bin/python3 bench/microcircuit/bench.py [SECONDS [SIZES...]]

Before timing it checks that both compute the same thing: 200 noise-free plastic steps from
the same weights (mc_bench --dump) must agree to 1e-12. Every rate is one core's CPU time.
The C step runs with the kernel's default numerics v3 and, for comparison, with v2 (version
2's arithmetic). They are timed in alternating rounds (C v3, C v2, NumPy, C v3, ...; SECONDS
per case and implementation split among ROUNDS rounds), so that all see the same load; a
ratio is the median of the rounds' ratios, reported with their range.
"""
import statistics
import os
import pathlib
import subprocess
import sys
import tempfile

# One thread for NumPy's BLAS too, as for the C code (one rank per core).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mc_numpy  # noqa: E402  (after the thread settings)

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = ROOT / "build/bench/mc_bench"

# One task per network size, as the sweeps run them (bars, teacher, classify on all of
# Fashion-MNIST); the classify task is stopped by its timeout once the data are loaded and
# training has run for a while: only its peak memory is wanted.
TASKS = {
    "9-30-3": "task: bars\n  epochs: 20\n  t_pattern: 1\n",
    "30-50-10": "task: teacher\n  n_train: 200\n  n_test: 50\n  t_pattern: 10\n",
    "784-500-500-10": "task: classify\n  n_hidden: 2\n  hidden: 500\n  n_train: 60000\n"
                      "  n_test: 10000\n  t_pattern: 1\n  le: true\n",
}


ROUNDS = 5


def c_rate(per, size, v2):
    """Steps per CPU-second of one mc_bench process (numerics v3, or v2) and its peak RSS
    (kB), measured through /usr/bin/time: Linux keeps a process's peak across exec, so the
    bench's own getrusage would report this Python process's size, which the forked child
    starts with."""
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb %M", str(BENCH)] + (["--v2"] if v2 else [])
                       + [per, size], check=True, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line and not line.startswith("#"):
            sps = float(line.split()[4])
    kb = [int(l.split()[1]) for l in r.stderr.splitlines() if l.startswith("maxrss_kb ")][-1]
    return sps, kb


def interleaved(seconds, size):
    """C (numerics v3 and v2) and NumPy steps per CPU-second of one network in ROUNDS
    alternating rounds: the medians of each, the median, min and max of the rounds' ratios
    C v3 / NumPy, the median of the rounds' v3 / v2, and the C process's peak RSS (kB, the
    largest of the rounds; one process per round, size and numerics)."""
    n = [int(v) for v in size.split("-")]
    per = f"{float(seconds) / ROUNDS:g}"
    c, c2, npy, ratio, gain, rss = [], [], [], [], [], 0
    for _ in range(ROUNDS):
        sps, kb = c_rate(per, size, False)
        sps2, kb2 = c_rate(per, size, True)
        steps, t = mc_numpy.rate(n, float(per))
        c.append(sps)
        c2.append(sps2)
        npy.append(steps / t)
        ratio.append(sps / (steps / t))
        gain.append(sps / sps2)
        rss = max(rss, kb, kb2)
    return (statistics.median(c), statistics.median(c2), statistics.median(npy),
            statistics.median(ratio), min(ratio), max(ratio), statistics.median(gain), rss)


def task_memory(size):
    """Peak RSS (kB) of one single-rank `neuromic run` task of this size, and its exit status."""
    with tempfile.TemporaryDirectory() as d:
        spec = pathlib.Path(d) / "t.yaml"
        spec.write_text("kernel: microcircuit\nfixed:\n  " + TASKS[size] + "  n_record: 2\n"
                        "output:\n  task_timeout: 20\n")
        r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb %M", str(ROOT / "build/neuromic"),
                            "run", str(spec), "-o", str(pathlib.Path(d) / "t.h5"), "--quiet"],
                           cwd=ROOT, capture_output=True, text=True)
        rss = [int(l.split()[1]) for l in r.stderr.splitlines() if l.startswith("maxrss_kb ")]
        return (rss[-1] if rss else None), r.returncode


def main(argv):
    seconds = argv[0] if argv else "2"
    sizes = argv[1:] or ["9-30-3", "30-50-10", "784-500-500-10"]
    with tempfile.TemporaryDirectory() as d:
        dump = pathlib.Path(d) / "dump.txt"
        subprocess.run([str(BENCH), "--dump", str(dump), "30-50-10"], check=True)
        du, dw = mc_numpy.check_against_dump(dump, [30, 50, 10])
    if du > 1e-12 or dw > 1e-12:
        sys.exit(f"bench: the NumPy version differs from the C step: |du| {du:.3g}, |dW| {dw:.3g}")
    load_before = os.getloadavg()[0]
    res = {s: interleaved(seconds, s) for s in sizes}
    mem = {s: task_memory(s) if s in TASKS else (None, None) for s in sizes}
    print(f"microcircuit benchmark: Euler steps with every plasticity rule, tau_w 30 ms, noise;"
          f" ~{seconds} CPU-s per case and implementation in {ROUNDS} alternating rounds, one "
          f"core; C and NumPy agree to {max(du, dw):.1e} after 200 steps; load average (1 min) "
          f"before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print()
    print("| network | C (steps/CPU-s) | NumPy (steps/CPU-s) | C / NumPy | rounds' range |"
          " C, numerics v2 (steps/CPU-s) | v3 / v2 |"
          " C bench peak RSS (MB) | one neuromic task, peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in sizes:
        (cs, cs2, ns, r, rlo, rhi, g, rss), (tm, rc) = res[s], mem[s]
        task = "-" if tm is None else f"{tm / 1024:.0f}" + (f" (exit {rc})" if rc else "")
        print(f"| {s} | {cs:,.0f} | {ns:,.1f} | {r:,.1f}x | {rlo:,.1f}-{rhi:,.1f}x |"
              f" {cs2:,.0f} | {g:.2f}x | {rss / 1024:.1f} | {task} |")
    print()
    print("C (the kernel's default, numerics v3), C with numerics v2 and NumPy columns: medians "
          "over the rounds; C / NumPy and v3 / v2: medians of the rounds' ratios.")
    print()
    print("Tasks behind the last column (single rank, `/usr/bin/time -f %M`, task_timeout 20 s: "
          "exit 4 means the task was stopped by it, after loading its data): " + "; ".join(f"{s}: {TASKS[s].strip().replace(chr(10), ',')}"
                                 for s in sizes if s in TASKS))


if __name__ == "__main__":
    main(sys.argv[1:])
