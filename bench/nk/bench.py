"""Benchmark of the nk kernel, in one run:

1. the cost of one sigmoid in the kernel's innermost loop (the nmlp encoder
   move's sum of squared reconstruction errors), per compiled copy of the
   vectorised loops, in double (kernel version 2, and version 3's
   decoder_precision: double) and in single precision (version 3's default),
   and for the libm form of kernel version 1;
2. learning cycles per CPU-second at N = 20, 100, 500 for each model: the
   current kernel ("after") and the one of an older commit ("before", built
   into a scratch directory outside the tree from `git archive`), each with
   incremental and with full evaluation, and the NumPy version
   (bench/nk/nk_numpy.py); the cases alternate per N so that a change of the
   machine's load hits both builds alike;
3. a full Figure 4 sweep (sweeps/bull2024-fig4.yaml, 1,920 tasks) on all
   local cores: wall time, CPU seconds of the ranks, the sum of the tasks'
   seconds, and the ratio to an estimated floor: the sigmoids the sweep
   evaluates (counted from its outputs, see sweep_sigmoids), each at the
   measured cost of one sigmoid in its precision.

Load averages are printed before and after each part: other work on the
machine slows everything; CPU-time rates and ratios suffer least.

    make bench-nk                                    (builds, runs all of this)
    /usr/bin/python3 bench/nk/bench.py --no-sweep    (parts 1 and 2)
    /usr/bin/python3 bench/nk/bench.py --no-cycles --sweep-file results/bull2024-fig4.h5
                                                     (parts 1 and 3, from an existing run)
    /usr/bin/python3 bench/nk/bench.py --seconds 3 --n 20 100 --before da51b80
"""
import argparse
import os
import pathlib
import resource
import shlex
import subprocess
import sys
import tempfile
import time

# One thread for NumPy's BLAS too, as for the C code (one rank per core).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings)
import yaml  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).parent))
sys.path.insert(0, str(ROOT))
import nk_numpy  # noqa: E402

# The last commit of kernel version 2 (double-precision vectorised loops);
# da51b80 is the last of version 1 (scalar loops, libm exp).
BEFORE = "21e08e5"
MODELS = ("mlp", "nmlp", "hmlp")


def load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build_before(rev, scratch):
    """nk_bench against the nk sources of commit rev, in scratch."""
    src = scratch / "src"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/kernels/nk"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
    nk = src / "kernels" / "nk"
    gsl = shlex.split(run(["pkg-config", "--cflags", "--libs", "gsl"]))
    exe = scratch / "nk_bench"
    # Every source but the kernel's engine interface (nk.c): nk_model.c and
    # nk_data.c, and from version 2 on nk_vec.c.
    sources = sorted(str(f) for f in nk.glob("nk_*.c"))
    run([os.environ.get("CC", "cc"), "-std=c17", "-D_GNU_SOURCE", "-O2", "-Wno-psabi", f"-I{nk}",
         str(ROOT / "bench/nk/nk_bench.c"), *sources, *gsl, "-lm", "-o", str(exe)])
    return exe


def parse_rates(text, build, rates):
    for line in text.splitlines():
        if line and not line.startswith("#"):
            n, model, mode, _cycles, _secs, cps = line.split()
            rates[int(n), model, mode, build] = float(cps)


def sigmoid_costs(exe, seconds):
    costs = {}
    for line in run([str(exe), "sigmoid", str(seconds)]).splitlines():
        if line and not line.startswith("#"):
            name, ns = line.split()
            costs[name] = float(ns)
    return costs


def cycles_table(args, after, before):
    rates = {}
    for n in args.n:
        parse_rates(run([str(after), str(args.seconds), str(n)]), "after", rates)
        parse_rates(run([str(before), str(args.seconds), str(n)]), "before", rates)
        x, y = nk_numpy.nk_data(n, 4, 1000, np.random.default_rng(1))
        for model in MODELS:
            cycles, t = nk_numpy.rate(model, x, y, args.seconds)
            rates[n, model, "full", "numpy"] = cycles / t
    print("| N | model | incremental, after | incremental, before | after / before |"
          " full, after | full, before | NumPy full | incremental / full (after) |"
          " incremental (after) / NumPy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        for m in MODELS:
            ia, ib = rates[n, m, "incremental", "after"], rates[n, m, "incremental", "before"]
            fa, fb = rates[n, m, "full", "after"], rates[n, m, "full", "before"]
            npy = rates[n, m, "full", "numpy"]
            print(f"| {n} | {m} | {ia:,.0f} | {ib:,.0f} | {ia / ib:.2f}x | {fa:,.1f} | {fb:,.1f} |"
                  f" {npy:,.1f} | {ia / fa:,.0f}x | {ia / npy:,.0f}x |")


def sweep_sigmoids(ds):
    """Sigmoids a Figure 4 sweep evaluated, from its outputs, as (double,
    single): those the kernel computes in double and, for kernel version 3
    with decoder_precision single, the decoder outputs, in float (else they
    count as double). Per task: an output move computes E outputs; an mlp
    hidden move E hidden activations and E outputs; an nmlp or hmlp hidden
    move is an encoder move with probability (N + 1) / (2N + 1) (no decoder
    biases: neuron j owns N + 1 encoder and N decoder weights), costing E
    hidden activations and E N decoder outputs, else a decoder move, E
    decoder outputs; each of the cycles/record_every + 1 curve points is a
    test pass of E_test (H + 1). Kept encoder moves also update the output
    (E more each), which is left out, so this is a slight undercount."""
    fixed = {"cycles": 10000, "train_size": 1000, "test_size": 1000, "H": 10,
             "record_every": 100, "decoder_precision": "single"}  # the kernel's defaults
    fixed.update(yaml.safe_load(ds.attrs["spec_text"]).get("fixed", {}))
    version = ds.attrs["kernel_version"]
    version = int(version.decode() if isinstance(version, bytes) else version)
    hc = ds["hidden_cycles"]
    oc = fixed["cycles"] - hc
    n = hc["N"].astype(float)
    model = hc["model"].astype(str)
    e, et, h = fixed["train_size"], fixed["test_size"], fixed["H"]
    records = fixed["cycles"] // fixed["record_every"] + 1
    share = (n + 1) / (2 * n + 1)
    mlp = model == "mlp"
    double = (oc * e + hc * e * (share.where(~mlp, 2.0)) + records * et * (h + 1))
    decoder = (hc * e * (share * n + (1 - share))).where(~mlp, 0.0)
    if version >= 3 and fixed["decoder_precision"] == "single":
        return float(double.sum()), float(decoder.sum())
    return float((double + decoder).sum()), 0.0


def sweep_report(path, wall, cpu, ranks, costs, loads):
    import h5py
    from analysis.summary import open_results

    with h5py.File(path, "r") as f:
        task_seconds = float(np.sum(f["tasks/seconds"][...]))
        status = f["tasks/status"][...]
        if wall is None:  # from the file's attempts (one-second resolution)
            first = [s.decode() for s in f["attempts/start_time"][...] if s]
            last = [s.decode() for s in f["attempts/end_time"][...] if s]
            stamp = "%Y-%m-%dT%H:%M:%SZ"
            wall = (time.mktime(time.strptime(last[-1], stamp))
                    - time.mktime(time.strptime(first[0], stamp)))
            ranks = int(f["attempts/ranks"][0])
        version = f.attrs["kernel_version"].decode()
        commit = f.attrs["git_commit"].decode()
    ds = open_results(path)
    sig64, sig32 = sweep_sigmoids(ds)
    ds.close()
    ns64, ns32 = costs["best"], costs.get("best-f32", 0.0)
    floor = (sig64 * ns64 + sig32 * ns32) * 1e-9
    print(f"Sweep {path} (kernel version {version}, commit {commit}): "
          f"{len(status)} tasks, {int((status == 1).sum())} done, on {ranks} ranks")
    if loads:
        print(f"- load average (1, 5, 15 min) before: {loads[0]}, after: {loads[1]}")
    print(f"- wall time: {wall:.0f} s")
    if cpu is not None:
        print(f"- CPU time of the ranks (user + system): {cpu:.0f} s; / 2 = {cpu / 2:.0f} s")
    print(f"- sum of the tasks' seconds: {task_seconds:.0f} s; / 2 = {task_seconds / 2:.0f} s,"
          f" the wall time on two free cores")
    print(f"- sigmoids evaluated (estimate): {sig64:.3g} in double x {ns64:.3f} ns"
          f" + {sig32:.3g} in single x {ns32:.3f} ns = floor {floor:.0f} CPU-s,"
          f" {floor / 2:.0f} s on two cores")
    print(f"- sum of the tasks' seconds / floor: {task_seconds / floor:.2f}"
          + (f"; CPU time / floor: {cpu / floor:.2f}" if cpu is not None else ""))


def run_sweep(spec, ranks, scratch):
    out = scratch / "sweep.h5"
    env = dict(os.environ)
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(["mpirun", "-n", str(ranks), str(ROOT / "build/neuromic"), "run",
                    str(spec), "-o", str(out), "--quiet"],
                   check=True, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall, cpu


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds per case")
    ap.add_argument("--n", type=int, nargs="+", default=[20, 100, 500])
    ap.add_argument("--before", default=BEFORE, help="commit of the 'before' kernel")
    ap.add_argument("--no-sweep", action="store_true", help="skip the Figure 4 sweep")
    ap.add_argument("--no-cycles", action="store_true", help="skip the cycles per second")
    ap.add_argument("--sweep-file", help="report on this finished Figure 4 result file "
                    "instead of running the sweep")
    ap.add_argument("--ranks", type=int, default=os.cpu_count(), help="ranks of the sweep")
    ap.add_argument("--spec", default=str(ROOT / "sweeps/bull2024-fig4.yaml"),
                    help="the sweep to time (an nk sweep)")
    args = ap.parse_args(argv)
    after = ROOT / "build/bench/nk_bench"
    with tempfile.TemporaryDirectory(prefix="nk-bench-") as tmp:
        scratch = pathlib.Path(tmp)
        before = build_before(args.before, scratch)
        l0 = load()
        costs = sigmoid_costs(after, 1.0)
        print(f"nk benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
              f" before = kernel of commit {args.before}, after = this tree")
        print()
        print("Cost of one sigmoid in the nmlp encoder loop (ns, CPU time; load average before:"
              f" {l0}, after: {load()}):")
        for name, ns in costs.items():
            print(f"- {name}: {ns:.3f}")
        print()
        if not args.no_cycles:
            l0 = load()
            print(f"Learning cycles per CPU-second (K=4, H=10, 1000 training examples,"
                  f" ~{args.seconds} s per case, one core):")
            print()
            cycles_table(args, after, before)
            print()
            print(f"Load average (1, 5, 15 min) before: {l0}, after: {load()}.")
        if args.no_sweep:
            return
        print()
        if args.sweep_file:
            sweep_report(args.sweep_file, None, None, None, costs, None)
        else:
            l0 = load()
            out, wall, cpu = run_sweep(args.spec, args.ranks, scratch)
            sweep_report(out, wall, cpu, args.ranks, costs, (l0, load()))


if __name__ == "__main__":
    main(sys.argv[1:])
