"""Benchmarks of the neuromic engine (issue 7): six figures, each run several
times, medians reported; prints a table, writes bench/results/engine.json and
docs/performance.md.

    make bench                                       (builds, runs this, then bench-nk)
    /usr/bin/python3 bench/engine.py [--repeats N] [--quick] [--only 1,3]
                                     [--max-load L] [--wait-max SEC] [--no-docs]

Figures (2 ranks unless stated; the probe kernel throughout):
  1 tiny tasks: zero-work tasks per second end to end (mpirun to exit, HDF5
    file included), against GNU parallel running one neuromic process per
    task plus a merge of the per-task files (bench/merge_tasks.py);
  2 parallel efficiency: 400 tasks of 20 ms CPU against sum(task times)/2;
  3 uneven tasks: work spread over two orders of magnitude from a zip axis,
    makespan against the longest-first (LPT) schedule of the measured times;
  4 many ranks: zero-work tasks/s at 2, 4, 8, 16 ranks (oversubscribed);
  5 output cost: share of wall time inside HDF5 (bench/h5time.c, preloaded)
    for sweeps/demo.yaml, and file size against the raw bytes of the results;
  6 memory: peak RSS per rank (/usr/bin/time) from 100 to 1,000,000 tasks.

Timings on a shared machine are noisy: the driver waits (up to --wait-max
seconds) for the 1-minute load average to fall below --max-load before it
starts, and records the load before and after every figure. The binary is
copied first, so a rebuild of build/neuromic during the run changes nothing.
"""
import argparse
import datetime
import glob
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUMMARY = re.compile(
    r"(\d+) tasks run: (\d+) done, (\d+) failed in ([\d.]+) s \(([\d.]+) tasks/s\) on (\d+) "
    r"ranks?; (\d+) checkpoints? took ([\d.]+) s")


class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = pathlib.Path(tmp)
        self.nm = self.tmp / "neuromic"
        shutil.copy2(ROOT / "build/neuromic", self.nm)
        self.shim = ROOT / "build/bench/libh5time.so"
        self.env = dict(os.environ)
        if os.getuid() == 0:  # Open MPI refuses root unless told; only the bench says so
            self.env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        self.env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.results = {}
        self.commands = {}

    # ---- running things ----

    def spec(self, name, text):
        p = self.tmp / f"{name}.yaml"
        p.write_text(text)
        return p

    def mpirun(self, ranks, extra=()):
        return ["mpirun", "-n", str(ranks), "--oversubscribe", *extra]

    def run_nm(self, spec, ranks, out, sets=(), env=None, extra=(), wrap=()):
        """One `neuromic run` under mpirun: wall time and the parsed summary."""
        cmd = [*self.mpirun(ranks, extra), *wrap, str(self.nm), "run", str(spec), "-o", str(out),
               "--force", "--progress", "3600"]
        for s in sets:
            cmd += ["--set", s]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env or self.env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"bench: failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
        m = SUMMARY.search(p.stderr)
        if not m:
            raise SystemExit(f"bench: no summary line from {' '.join(cmd)}\n{p.stderr[-2000:]}")
        return {"wall": wall, "tasks": int(m[1]), "sweep_seconds": float(m[4]),
                "rate": float(m[5]), "checkpoints": int(m[7]), "checkpoint_seconds": float(m[8]),
                "cmd": cmd}

    def show(self, cmd):
        """A command as a reader would type it (paths relative to the repository)."""
        s = " ".join(str(c) for c in cmd)
        return s.replace(str(self.nm), "build/neuromic").replace(str(self.tmp) + "/", "$TMP/") \
                .replace(str(ROOT) + "/", "")

    def repeats(self):
        return self.args.repeats

    # ---- figure 1: tiny tasks ----

    def fig1(self):
        n = 20000 if self.args.quick else 200000
        m = 20 if self.args.quick else 100
        spec = self.spec("tiny", f"kernel: probe\ngrid:\n  n: {{from: 0, to: {n - 1}, step: 1}}\n"
                                 "output:\n  checkpoint_every: 60\n")
        one = self.spec("one", f"kernel: probe\ngrid:\n  n: {{from: 0, to: {m - 1}, step: 1}}\n")
        rows = []
        for _ in range(self.repeats()):
            r = self.run_nm(spec, 2, self.tmp / "tiny.h5")
            d = self.tmp / "pertask"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            # One process per task, two at a time; the singleton start (no
            # mpirun) is the fastest way to start one neuromic process.
            par = ["parallel", "-j", "2", "--halt", "now,fail=1", str(self.nm), "run", str(one),
                   "--set", "n={}", "-o", f"{d}/t{{}}.h5", "--quiet", ":::",
                   *map(str, range(m))]
            t0 = time.perf_counter()
            subprocess.run(par, env=self.env, check=True, capture_output=True)
            t_par = time.perf_counter() - t0
            merge = ["/usr/bin/python3", str(ROOT / "bench/merge_tasks.py"), str(d / "merged.h5"),
                     "n", *sorted(glob.glob(f"{d}/t*.h5"))]
            t0 = time.perf_counter()
            subprocess.run(merge, env=self.env, check=True)
            t_merge = time.perf_counter() - t0
            base_rate = m / (t_par + t_merge)
            rows.append({"tasks": n, "wall": r["wall"], "rate_e2e": n / r["wall"],
                         "rate_sweep": r["rate"], "checkpoint_seconds": r["checkpoint_seconds"],
                         "file_bytes": os.path.getsize(self.tmp / "tiny.h5"),
                         "baseline_tasks": m, "baseline_parallel_s": t_par,
                         "baseline_merge_s": t_merge, "baseline_rate": base_rate,
                         "ratio": (n / r["wall"]) / base_rate})
        self.commands[1] = [self.show(r["cmd"]),
                            self.show(par[:12]) + " ::: 0 .. %d" % (m - 1),
                            "/usr/bin/python3 bench/merge_tasks.py merged.h5 n $TMP/pertask/t*.h5"]
        self.results[1] = {"runs": rows, "median": med(rows, "rate_e2e", "rate_sweep", "ratio",
                                                       "baseline_rate", "wall",
                                                       "checkpoint_seconds"),
                           "targets": {"rate_e2e": ">= 20000", "ratio": ">= 100"}}

    # ---- figure 2: parallel efficiency ----

    def fig2(self):
        spec = self.spec("eff", "kernel: probe\nfixed:\n  work: 0.02\n"
                                "grid:\n  n: {from: 0, to: 399, step: 1}\n"
                                "output:\n  checkpoint_every: 60\n")
        rows = []
        for _ in range(self.repeats()):
            r = self.run_nm(spec, 2, self.tmp / "eff.h5")
            with h5py.File(self.tmp / "eff.h5", "r") as f:
                secs = f["tasks/seconds"][()]
            ideal = float(secs.sum()) / 2
            rows.append({"wall": r["wall"], "sweep_seconds": r["sweep_seconds"],
                         "task_seconds_sum": float(secs.sum()), "ideal": ideal,
                         "eff_sweep": ideal / r["sweep_seconds"], "eff_wall": ideal / r["wall"],
                         "eff_sweep_nominal": 400 * 0.02 / 2 / r["sweep_seconds"]})
        self.commands[2] = [self.show(r["cmd"])]
        self.results[2] = {"runs": rows, "median": med(rows, "eff_sweep", "eff_wall",
                                                       "eff_sweep_nominal", "sweep_seconds",
                                                       "wall", "ideal"),
                           "targets": {"eff_sweep": ">= 0.95"}}

    # ---- figure 3: uneven tasks ----

    def fig3(self):
        k = 48
        works = np.geomspace(0.004, 0.4, k)
        # A fixed shuffle: task id order is not cost order, so the schedule
        # has to sort them itself.
        works = works[np.random.default_rng(7).permutation(k)]
        wl = ", ".join(f"{w:.6f}" for w in works)
        nl = ", ".join(str(i) for i in range(k))
        spec = self.spec("uneven", f"kernel: probe\nzip:\n  - {{work: [{wl}], n: [{nl}]}}\n"
                                   "output:\n  checkpoint_every: 60\n")
        rows = []
        for _ in range(self.repeats()):
            r = self.run_nm(spec, 2, self.tmp / "uneven.h5")
            with h5py.File(self.tmp / "uneven.h5", "r") as f:
                secs = f["tasks/seconds"][()]
            lpt = lpt_makespan(secs, 2)
            lower = max(secs.sum() / 2, secs.max())
            rows.append({"sweep_seconds": r["sweep_seconds"], "wall": r["wall"], "lpt": lpt,
                         "lower_bound": float(lower), "ratio_lpt": r["sweep_seconds"] / lpt,
                         "ratio_lower": r["sweep_seconds"] / lower,
                         "longest": float(secs.max()), "shortest": float(secs.min())})
        self.commands[3] = [self.show(r["cmd"])]
        self.results[3] = {"runs": rows, "median": med(rows, "ratio_lpt", "ratio_lower",
                                                       "sweep_seconds", "lpt", "lower_bound"),
                           "work": [float(w) for w in works],
                           "targets": {"ratio_lpt": "<= 1.05"}}

    # ---- figure 4: many ranks ----

    def fig4(self):
        n = 10000 if self.args.quick else 100000
        spec = self.spec("many", f"kernel: probe\ngrid:\n  n: {{from: 0, to: {n - 1}, step: 1}}\n"
                                 "output:\n  checkpoint_every: 60\n")
        env = dict(self.env, OMPI_MCA_mpi_yield_when_idle="1")
        out = {}
        for ranks in (2, 4, 8, 16):
            rows = [self.run_nm(spec, ranks, self.tmp / "many.h5", env=env)
                    for _ in range(self.repeats())]
            rows = [{"rate": r["rate"], "rate_e2e": n / r["wall"], "wall": r["wall"],
                     "sweep_seconds": r["sweep_seconds"],
                     "checkpoint_seconds": r["checkpoint_seconds"]} for r in rows]
            out[ranks] = {"runs": rows, "median": med(rows, "rate", "rate_e2e", "wall",
                                                      "checkpoint_seconds")}
        self.commands[4] = ["OMPI_MCA_mpi_yield_when_idle=1 " +
                            self.show(self.run_cmd_for(spec, "R", "many.h5"))]
        self.results[4] = {"tasks": n, "by_ranks": out}

    def run_cmd_for(self, spec, ranks, out):
        return ["mpirun", "-n", ranks, "--oversubscribe", str(self.nm), "run", str(spec), "-o",
                str(self.tmp / out), "--force"]

    # ---- figure 5: output cost ----

    def fig5(self):
        if not self.shim.exists():
            raise SystemExit(f"bench: {self.shim} is missing (make build/bench/libh5time.so)")
        spec = ROOT / "sweeps/demo.yaml"
        rows = []
        for _ in range(self.repeats()):
            d = self.tmp / "h5time"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            env = dict(self.env, NM_H5TIME_DIR=str(d), LD_PRELOAD=str(self.shim))
            r = self.run_nm(spec, 2, self.tmp / "demo.h5",
                            extra=("-x", "LD_PRELOAD", "-x", "NM_H5TIME_DIR"), env=env)
            ranks = {}
            for p in d.glob("h5time.*"):
                w = p.read_text().split()
                ranks[int(w[1])] = {"h5": float(w[3]), "life": float(w[5]),
                                    "by_function": {w[i]: float(w[i + 1])
                                                    for i in range(8, len(w) - 1, 2)}}
            if sorted(ranks) != [0, 1]:
                raise SystemExit(f"bench: h5time reports from ranks {sorted(ranks)}")
            share = max(v["h5"] / v["life"] for v in ranks.values())
            rows.append({"wall": r["wall"], "sweep_seconds": r["sweep_seconds"],
                         "checkpoint_seconds": r["checkpoint_seconds"],
                         "checkpoints": r["checkpoints"],
                         "h5_rank0": ranks[0]["h5"], "h5_rank1": ranks[1]["h5"],
                         "by_function_rank0": ranks[0]["by_function"],
                         "by_function_rank1": ranks[1]["by_function"],
                         "life_rank0": ranks[0]["life"], "life_rank1": ranks[1]["life"],
                         "h5_share": share, "h5_share_of_wall": max(
                             v["h5"] for v in ranks.values()) / r["wall"],
                         "ckpt_share_sweep": r["checkpoint_seconds"] / r["sweep_seconds"]})
        sizes = file_sizes(self.tmp / "demo.h5")
        self.commands[5] = ["NM_H5TIME_DIR=$TMP/h5time LD_PRELOAD=build/bench/libh5time.so " +
                            self.show(r["cmd"])]
        # The figure-1 file as a second, larger example of the size ratio.
        big = file_sizes(self.tmp / "tiny.h5") if (self.tmp / "tiny.h5").exists() else None
        self.results[5] = {"runs": rows, "median": med(rows, "h5_share", "h5_share_of_wall",
                                                       "ckpt_share_sweep", "h5_rank0",
                                                       "h5_rank1", "wall", "sweep_seconds"),
                           "sizes": sizes, "sizes_fig1": big,
                           "targets": {"h5_share": "<= 0.02", "size_ratio_outputs": "<= 1.2"}}

    # ---- figure 6: memory ----

    def fig6(self):
        sizes = [100, 10000] if self.args.quick else [100, 10000, 100000, 1000000]
        wrap = ("sh", "-c", 'exec /usr/bin/time -f %M -o "$0/rank.$OMPI_COMM_WORLD_RANK" "$@"')
        out = {}
        # Grids of 100 x N/100 points (two axes, as sweeps usually have), and
        # the largest also as one axis of N values, whose values every rank
        # holds in memory (16 bytes each).
        cases = [(n, f"x: {{from: 0, to: 1, num: 100}}\n  n: {{from: 0, to: {n // 100 - 1}, "
                     "step: 1}") for n in sizes]
        cases.append((f"{sizes[-1]} (one axis)", f"n: {{from: 0, to: {sizes[-1] - 1}, step: 1}}"))
        for n, axes in cases:
            spec = self.spec("mem", f"kernel: probe\ngrid:\n  {axes}\n"
                                    "output:\n  checkpoint_every: 60\n")
            rows = []
            for _ in range(self.repeats()):
                d = self.tmp / "rss"
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()
                r = self.run_nm(spec, 2, self.tmp / "mem.h5", wrap=(*wrap, str(d)))
                kb = {int(p.name.split(".")[1]): int(p.read_text().split()[-1])
                      for p in d.glob("rank.*")}
                rows.append({"rss0_mb": kb[0] / 1024, "rss1_mb": kb[1] / 1024,
                             "rss_max_mb": max(kb.values()) / 1024, "wall": r["wall"],
                             "checkpoints": r["checkpoints"]})
            out[n] = {"runs": rows, "median": med(rows, "rss0_mb", "rss1_mb", "rss_max_mb",
                                                  "wall", "checkpoints")}
            self.commands[6] = [self.show(r["cmd"]).replace(str(d), "$TMP/rss")]
        self.results[6] = {"by_tasks": out, "targets": {"rss_max_mb": "<= 50"}}


def med(rows, *keys):
    return {k: statistics.median(r[k] for r in rows) for k in keys}


def lpt_makespan(times, machines):
    """Makespan of longest-processing-time-first list scheduling."""
    load = [0.0] * machines
    for t in sorted(times, reverse=True):
        i = load.index(min(load))
        load[i] += float(t)
    return max(load)


def file_sizes(path):
    """File size against the raw bytes of its datasets: the outputs alone,
    and every dataset (outputs, task table, axes, /attempts)."""
    outputs = every = tasks = 0
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            nonlocal outputs, every, tasks
            if not isinstance(obj, h5py.Dataset):
                return
            nbytes = obj.id.get_storage_size()
            every += nbytes
            if name.startswith("tasks/"):
                tasks += nbytes
            elif "/" not in name and obj.attrs.get("CLASS") is None:
                outputs += nbytes
        f.visititems(visit)
    size = os.path.getsize(path)
    return {"file_bytes": size, "output_bytes": outputs, "task_table_bytes": tasks,
            "dataset_bytes": every, "ratio_outputs": size / outputs,
            "ratio_datasets": size / every}


def load1():
    return os.getloadavg()[0]


def wait_for_quiet(max_load, wait_max):
    """Sleeps in steps of a minute until the 1-minute load is below max_load
    (at most wait_max seconds); returns (load at start, seconds waited)."""
    start, waited = load1(), 0
    while load1() >= max_load and waited < wait_max:
        print(f"bench: load {load1():.2f} >= {max_load}; waiting "
              f"({waited // 60} of {wait_max // 60} min)", file=sys.stderr, flush=True)
        time.sleep(60)
        waited += 60
    return start, waited


def need_parallel():
    """GNU parallel is needed by the bench only (not at run time)."""
    if shutil.which("parallel"):
        return
    if os.getuid() == 0 and shutil.which("apt-get"):
        print("bench: installing GNU parallel (Debian package 'parallel')", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "parallel"], check=False,
                       stdout=subprocess.DEVNULL)
    if not shutil.which("parallel"):
        raise SystemExit("bench: GNU parallel is missing; install Debian's 'parallel' package "
                         "(apt-get install parallel) and run again")


# ---- the report ----

def fmt(x, spec=".3g"):
    return format(x, spec)


def table(res):
    """Markdown rows: figure, quantity, median, target, met?"""
    rows = []

    def row(fig, what, value, target="", met=None):
        rows.append((fig, what, value, target, "" if met is None else ("yes" if met else "NO")))

    if 1 in res:
        m = res[1]["median"]
        row(1, "tiny tasks/s end to end (mpirun start to exit)", f"{m['rate_e2e']:,.0f}",
            ">= 20,000", m["rate_e2e"] >= 20000)
        row(1, "tiny tasks/s, sweep phase (summary line)", f"{m['rate_sweep']:,.0f}")
        row(1, "baseline tasks/s (parallel -j 2 + merge)", f"{m['baseline_rate']:.2f}")
        row(1, "ratio end to end / baseline (same repeat)", f"{m['ratio']:,.0f}x", ">= 100x",
            m["ratio"] >= 100)
    if 2 in res:
        m = res[2]["median"]
        row(2, "efficiency, sweep phase (target measured here)", f"{100 * m['eff_sweep']:.1f}%",
            ">= 95%", m["eff_sweep"] >= 0.95)
        row(2, "efficiency, whole process incl. mpirun start", f"{100 * m['eff_wall']:.1f}%")
        row(2, "efficiency vs nominal 400 x 20 ms / 2", f"{100 * m['eff_sweep_nominal']:.1f}%")
    if 3 in res:
        m = res[3]["median"]
        row(3, "makespan / longest-first (LPT) schedule", f"{m['ratio_lpt']:.3f}", "<= 1.05",
            m["ratio_lpt"] <= 1.05)
        row(3, "makespan / lower bound max(sum/2, longest)", f"{m['ratio_lower']:.3f}")
    if 4 in res:
        by = res[4]["by_ranks"]
        base = by[2]["median"]["rate"]
        for r, v in by.items():
            row(4, f"{r} ranks: tasks/s sweep phase (x vs 2 ranks)",
                f"{v['median']['rate']:,.0f} ({v['median']['rate'] / base:.2f}x)")
    if 5 in res:
        m, s = res[5]["median"], res[5]["sizes"]
        row(5, "share of process time inside HDF5 (worst rank)", f"{100 * m['h5_share']:.1f}%",
            "<= 2%", m["h5_share"] <= 0.02)
        row(5, "checkpoints / sweep phase (summary line)", f"{100 * m['ckpt_share_sweep']:.1f}%")
        row(5, "file size / output bytes (demo)", f"{s['ratio_outputs']:.1f}x", "<= 1.2x",
            s["ratio_outputs"] <= 1.2)
        row(5, "file size / all dataset bytes (demo)", f"{s['ratio_datasets']:.2f}x")
        if res[5].get("sizes_fig1"):
            b = res[5]["sizes_fig1"]
            row(5, "file size / output bytes (figure 1 file)", f"{b['ratio_outputs']:.1f}x",
                "<= 1.2x", b["ratio_outputs"] <= 1.2)
            row(5, "file size / all dataset bytes (figure 1 file)", f"{b['ratio_datasets']:.2f}x")
    if 6 in res:
        for n, v in res[6]["by_tasks"].items():
            mm = v["median"]
            label = f"{n:,}" if isinstance(n, int) else n
            row(6, f"peak RSS, {label} tasks: rank 0 / rank 1 (MB)",
                f"{mm['rss0_mb']:.1f} / {mm['rss1_mb']:.1f}", "<= 50", mm["rss_max_mb"] <= 50)
    return rows


def markdown_table(rows):
    out = ["| fig | quantity | median | target | met |", "|---|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    return "\n".join(out)


def write_docs(path, meta, res, commands, rows, notes):
    lines = ["# Engine performance",
             "",
             "Written by `make bench` (bench/engine.py); the numbers below are from the run of "
             f"{meta['date']} on {meta['host']} ({meta['cpus']} cores, {meta['cpu']}), "
             f"neuromic {meta['version']}, {meta['repeats']} repeats per figure, medians. "
             "Machine-readable results: bench/results/engine.json.",
             "",
             f"Load (1-minute average) when the run started: {meta['load_start']:.2f}"
             f" (after waiting {meta['waited']} s for it to fall below {meta['max_load']}); "
             "load before and after each figure is listed with it. The machine is shared: "
             "other jobs ran at the same time, so absolute rates are lower bounds.",
             "",
             markdown_table(rows),
             ""]
    for fig in sorted(res):
        r = res[fig]
        lines += [f"## Figure {fig}: {FIG_TITLES[fig]}", ""]
        lines += [f"Load before / after: {r['load'][0]:.2f} / {r['load'][1]:.2f}.", "",
                  "Commands:", "", "```"] + commands.get(fig, []) + ["```", ""]
        lines += [notes.get(fig, ""), ""]
    pathlib.Path(path).write_text("\n".join(lines).rstrip() + "\n")


FIG_TITLES = {1: "tiny tasks", 2: "parallel efficiency", 3: "uneven tasks",
              4: "scheduler under many ranks", 5: "output cost", 6: "memory"}


def notes(res):
    """What each figure measures, and what its numbers mean."""
    n = {}
    if 1 in res:
        m, run = res[1]["median"], res[1]["runs"][0]
        n[1] = (f"neuromic runs {run['tasks']:,} zero-work probe tasks on 2 ranks; the rate "
                "end to end is tasks / wall time of the whole `mpirun` command (start-up, file "
                "creation, sweep, checkpoints, close). The baseline runs "
                f"{run['baseline_tasks']} one-task sweeps of the same kernel, two processes at a "
                "time with GNU parallel (each `neuromic run` pinned to one point with `--set`, "
                "started without mpirun, which is its fastest start), then merges the "
                "per-task files into one HDF5 file with h5py (bench/merge_tasks.py); its rate is "
                f"{run['baseline_tasks']} / (parallel + merge time), measured in the same repeat "
                "as the neuromic run the ratio compares it with. The baseline's rate does not "
                "depend on the number of tasks (each costs one process start and one file), so "
                f"fewer tasks suffice. Median per-task cost of the baseline: "
                f"{2 / m['baseline_rate']:.3f} s of wall time per process (2 at a time).")
    if 2 in res:
        m = res[2]["median"]
        n[2] = ("400 probe tasks burning 20 ms of CPU each (thread CPU clock) on 2 ranks. The "
                "ideal time is the sum of the task times recorded in /tasks/seconds divided by "
                "2 cores; efficiency = ideal / measured. The target is measured on the sweep "
                "phase (the summary line's seconds: from the start of the task loop to the end "
                "of the final checkpoint); the whole-process figure includes mpirun's start, "
                f"MPI_Init, file creation and close (median wall {m['wall']:.2f} s against a "
                f"sweep phase of {m['sweep_seconds']:.2f} s), a fixed cost that no scheduler "
                "can hide in a 4-second job. With other jobs on the machine the tasks' wall "
                "times exceed 20 ms; the nominal line divides 400 x 20 ms / 2 instead.")
    if 3 in res:
        w = res[3]["work"]
        n[3] = (f"{len(w)} tasks whose `work` (CPU seconds) comes from a zip axis, log-spaced "
                f"from {min(w):.3f} to {max(w):.3f} s (a factor 100), in a shuffled order so "
                "that the engine must sort them by its cost estimate. The reference is the "
                "makespan of the longest-first list schedule (LPT) of the task times measured "
                "in the same run (/tasks/seconds) on 2 machines; the lower bound "
                "max(sum / 2, longest) is shown too. The makespan is the sweep phase of the "
                "summary line.")
    if 4 in res:
        n[4] = (f"{res[4]['tasks']:,} zero-work tasks, 2 to 16 ranks on the 2 cores "
                "(oversubscribed; OMPI_MCA_mpi_yield_when_idle=1 so that waiting ranks yield). "
                "The rate is the summary line's (tasks / sweep phase), i.e. what the "
                "coordinator hands out and the ranks compute and checkpoint; with more ranks "
                "than cores every extra rank only adds contention, so a flat or slowly "
                "falling line is the good outcome.")
    if 5 in res:
        s, m = res[5]["sizes"], res[5]["median"]
        n[5] = ("sweeps/demo.yaml on 2 ranks with bench/h5time.c preloaded: it times every "
                "HDF5 call of each rank (file creation on rank 0, the parallel open, "
                "checkpoints, /attempts rows, close, end_time attribute, the summary's read "
                "back) and the rank's lifetime. The share is HDF5 time / lifetime of the worse "
                f"rank (rank 0: {m['h5_rank0']:.3f} s, rank 1: {m['h5_rank1']:.3f} s of HDF5 "
                f"per run); checkpoints alone are {100 * m['ckpt_share_sweep']:.1f}% of the "
                "sweep phase. Where the HDF5 time went in the last repeat (seconds, calls "
                "above 1 ms in all): rank 0 " + top(res[5]["runs"][-1]["by_function_rank0"]) +
                "; rank 1 " + top(res[5]["runs"][-1]["by_function_rank1"]) + ".\n\nFile size: "
                f"{s['file_bytes']:,} bytes for {s['output_bytes']:,} bytes of outputs; the "
                f"task table holds {s['task_table_bytes']:,} bytes and all datasets together "
                f"{s['dataset_bytes']:,}. The file format stores per task a 64-byte host and a "
                "256-byte error string next to status, rank, seconds and the task id (341 "
                "bytes a task), contiguous and allocated at creation so that ranks can write "
                "in place, plus the 64-row /attempts table and the provenance attributes. For "
                "the probe kernel (48 bytes of outputs a task) the task table alone is 7 times "
                "the results, so the 1.2x target on output bytes cannot be met without "
                "changing the format (for example chunked, compressed string columns, or a "
                "shorter error column); against all dataset bytes the HDF5 overhead is small.")
    if 6 in res:
        n[6] = ("Peak resident set (`/usr/bin/time -f %M`, maximum RSS) of each rank, zero-work "
                "tasks, checkpoint_every 60 s, 2 ranks, grids of 100 x N/100 points; the last "
                "row is the same largest sweep as one axis of N values. What grows with the "
                "grid: the results a rank buffers between checkpoints (about 25 bytes of "
                "bookkeeping a row plus its outputs, and about 370 bytes a row of staging for "
                "the task-table columns during a checkpoint), bounded since this benchmark's "
                "first run by a checkpoint forced when a rank holds 8 MiB of rows "
                "(src/sched/sched.c, CKPT_BUFFER_BYTES); rank 0's task queue (16 bytes a task, "
                "only when the cost estimates differ); the axis values every rank holds "
                "(16 bytes a value: 16 MB for a one-axis grid of a million points, nothing "
                "to speak of for 100 x 10,000). Before the forced checkpoints, the million-task "
                "sweep buffered every row until its only checkpoint: 292 / 202 MB on "
                "ranks 0 / 1 for 100 x 10,000 (and 278 / 247 MB as one axis), with that "
                "checkpoint taking 40 s of a 45 s sweep.")
    return n


def top(by_function, k=6):
    items = sorted(by_function.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{name} {sec:.3f}" for name, sec in items) or "none"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the suite")
    ap.add_argument("--only", default="1,2,3,4,5,6", help="figures to run, e.g. 1,3")
    ap.add_argument("--max-load", type=float, default=2.5)
    ap.add_argument("--wait-max", type=int, default=1800)
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    ap.add_argument("--json", default=str(ROOT / "bench/results/engine.json"))
    args = ap.parse_args(argv)
    figs = sorted({int(x) for x in args.only.split(",")})
    if not set(figs) <= set(FIG_TITLES):
        ap.error(f"--only: figures are 1 to 6, got {args.only}")
    if args.repeats < 1:
        ap.error("--repeats: must be at least 1")
    for need in ("build/neuromic",):
        if not (ROOT / need).exists():
            raise SystemExit(f"bench: {need} is missing; run `make` first")
    if 1 in figs:
        need_parallel()
    start, waited = wait_for_quiet(args.max_load, args.wait_max)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.node(), "cpus": os.cpu_count(), "cpu": cpu_model(),
            "version": subprocess.run([str(ROOT / "build/neuromic"), "--version"],
                                      capture_output=True, text=True).stdout.strip(),
            "repeats": args.repeats, "quick": args.quick, "load_start": load1(),
            "load_first_seen": start, "waited": waited, "max_load": args.max_load}
    with tempfile.TemporaryDirectory(prefix="neuromic-bench.") as tmp:
        b = Bench(args, tmp)
        for f in figs:
            before = load1()
            print(f"bench: figure {f} ({FIG_TITLES[f]}), load {before:.2f}", file=sys.stderr,
                  flush=True)
            getattr(b, f"fig{f}")()
            b.results[f]["load"] = [before, load1()]
        rows = table(b.results)
        print(markdown_table(rows))
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "commands": b.commands,
                       "results": {str(k): v for k, v in b.results.items()}}, fh, indent=1,
                      default=str)
        if not args.no_docs:
            write_docs(ROOT / "docs/performance.md", meta, b.results, b.commands, rows,
                       notes(b.results))
    return 0


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
