"""`neuromic merge`: files whose sweeps differ in one axis joined into the file a
single run of the union writes (bitwise: results, axes, coordinates, task
statuses and checksums), with every input's provenance and /attempts; and
the refusals, each naming the first difference and leaving nothing behind."""
import h5py
import xarray as xr

from conftest import run_neuromic

BASE = """kernel: probe
base_seed: 5
fixed: {length: 3, fail_n: 2, work: 0.0005}
grid:
  x: [0.5, -1.5]
  n: [1, 2]
  seed: [0, 1]
  mode: [a, b]
output: {checkpoint_every: 0.05}
"""

SAMPLE = """kernel: probe
base_seed: 9
fixed: {length: 2}
replicates: 2
sample:
  method: sobol
  n: 8
  params:
    x: {from: 0.1, to: 10, scale: log}
    n: {from: 0, to: 9}
    mode: [a, b]
"""

# What one run of the union must match byte for byte (timings, ranks and
# hosts differ between any two runs and are copied, not compared).
SAME = ["value", "trace", "draw", "tasks/status", "tasks/checksum", "tasks/error"]


def spec(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def run(tmp_path, spec_path, out, *sets, ranks=None):
    args = ["run", spec_path, "-o", tmp_path / out, "--quiet"]
    for s in sets:
        args += ["--set", s]
    r = run_neuromic(*args, ranks=ranks, check=False)
    assert r.returncode in (0, 4), r.stderr  # 4: the fail_n tasks failed, as they should
    return tmp_path / out


def assert_bitwise(merged, single, names):
    with h5py.File(merged) as m, h5py.File(single) as u:
        for k in names:
            a, b = m[k][()], u[k][()]
            assert a.dtype == b.dtype and a.shape == b.shape, k
            assert a.tobytes() == b.tobytes(), k


def test_seeds_joined_bitwise_as_one_run(tmp_path):
    s = spec(tmp_path, "base.yaml", BASE)
    a = run(tmp_path, s, "a.h5", ranks=2)
    b = run(tmp_path, s, "b.h5", "grid.seed=[2, 3]")
    u = run(tmp_path, s, "u.h5", "grid.seed=[0, 1, 2, 3]", ranks=2)
    before = [a.read_bytes(), b.read_bytes()]
    m = tmp_path / "m.h5"
    r = run_neuromic("merge", m, a, b)
    assert "axis 'seed' now has 4 values, 32 tasks" in r.stdout
    assert [a.read_bytes(), b.read_bytes()] == before  # inputs untouched
    assert_bitwise(m, u, SAME + ["x", "n", "seed", "mode"])
    with h5py.File(m) as f:
        st = f["tasks/status"][()]
        assert (st == 2).sum() == 16 and (st == 1).sum() == 16  # n == fail_n failed
        assert f["attempts/start_time"][0] and f["attempts/start_time"][1]
        assert not f["attempts/start_time"][2]  # one row per input run, in order
        assert f["attempts/command_line"][0].decode().endswith("--quiet")
        assert "grid.seed=[2, 3]" in f["attempts/command_line"][1].decode()
        for k, p in enumerate([a, b]):  # every input's own provenance
            g = f["inputs"][str(k)]
            assert g.attrs["merged_from_path"].decode() == str(p)
            assert g.attrs["spec_text"].decode() == BASE
        assert f["inputs/1"].attrs["overrides"].decode() == "grid.seed=[2, 3]"
        assert f.attrs["merged_from"].decode() == f"{a}\n{b}"
        text = f.attrs["spec_text"].decode()
    ds = xr.open_dataset(m, engine="h5netcdf")
    assert list(ds["seed"].values) == [0, 1, 2, 3]
    # A merged file merges again; its inputs' provenance goes along.
    c = run(tmp_path, s, "c.h5", "grid.seed=[4]")
    mm = tmp_path / "mm.h5"
    run_neuromic("merge", mm, m, c)
    assert_bitwise(mm, run(tmp_path, s, "u5.h5", "grid.seed=[0, 1, 2, 3, 4]"), SAME + ["seed"])
    with h5py.File(mm) as f:
        assert f["inputs/0/inputs/1"].attrs["merged_from_path"].decode() == str(b)
        assert f["inputs/1"].attrs["merged_from_path"].decode() == str(c)
        assert sum(1 for t in f["attempts/start_time"][()] if t) == 3
    # The stored spec is the union's: resuming with it finds the file complete.
    union = spec(tmp_path, "union.yaml", text)
    r = run_neuromic("run", union, "-o", m, "--resume", check=False)
    assert r.returncode == 4 and "0 of 32 tasks" in r.stderr, r.stderr


def test_replicates_added_to_a_finished_study(tmp_path):
    # The README's recipe: a study of `replicates: 2`, seeds 2-3 run later.
    s = spec(tmp_path, "study.yaml", SAMPLE.replace("method: sobol", "method: random"))
    old = run(tmp_path, s, "study.h5")
    new = run(tmp_path, s, "seeds2-3.h5", "replicates={from: 2, to: 3, step: 1}")
    whole = run(tmp_path, s, "whole.h5", "replicates=4", ranks=2)
    m = tmp_path / "study-all.h5"
    run_neuromic("merge", m, old, new)
    assert_bitwise(m, whole, SAME + ["seed", "sample", "x", "n", "mode"])


def test_grid_values_in_given_or_sorted_order(tmp_path):
    s = spec(tmp_path, "base.yaml", BASE)
    hi = run(tmp_path, s, "hi.h5", "grid.n=[100, 200]")
    lo = run(tmp_path, s, "lo.h5", "grid.n=[20, 50]")
    given = tmp_path / "given.h5"
    run_neuromic("merge", given, hi, lo)
    with h5py.File(given) as f:
        assert list(f["n"][()]) == [100, 200, 20, 50]
    assert_bitwise(given, run(tmp_path, s, "ug.h5", "grid.n=[100, 200, 20, 50]"), SAME + ["n"])
    srt = tmp_path / "sorted.h5"
    run_neuromic("merge", srt, hi, lo, "--sort")
    assert_bitwise(srt, run(tmp_path, s, "us.h5", "grid.n=[20, 50, 100, 200]"), SAME + ["n"])


def test_sobol_design_extended(tmp_path):
    s = spec(tmp_path, "smp.yaml", SAMPLE)
    first = run(tmp_path, s, "s1.h5")
    more = run(tmp_path, s, "s2.h5", "sample.skip=8", "sample.n=24")
    u = run(tmp_path, s, "su.h5", "sample.n=32", ranks=2)
    m = tmp_path / "sm.h5"
    run_neuromic("merge", m, first, more)
    assert_bitwise(m, u, SAME + ["sample", "x", "n", "mode", "seed"])
    ds = xr.open_dataset(m, engine="h5netcdf")
    assert list(ds["sample"].values) == list(range(32)) and ds["x"].dims == ("sample",)


def test_refusals_name_the_difference_and_leave_nothing(tmp_path):
    s = spec(tmp_path, "base.yaml", BASE)
    a = run(tmp_path, s, "a.h5")
    cases = [
        (run(tmp_path, s, "w.h5", "grid.seed=[2]", "fixed.work=0.001"),
         "a.h5 and", "differ in fixed.work (0.0005 and 0.001)"),
        (run(tmp_path, s, "o.h5", "grid.seed=[1, 2]"),
         "seed=1 of axis 'seed' is in", "each value must come from one file"),
        (run(tmp_path, s, "t.h5", "grid.seed=[5]", "grid.x=[3]"),
         "differ in the values of two axes, 'x' and 'seed'", ""),
        (run(tmp_path, s, "k.h5", "base_seed=6", "grid.seed=[7]"),
         "differ in base_seed (5 and 6)", ""),
        (run(tmp_path, s, "ax.h5", "grid.mode=", "mode=b", "grid.seed=[8]"),
         "have other axes (x, n, seed, mode) and (x, n, seed)", ""),
        (a, "is given twice", ""),
    ]
    for other, want, want2 in cases:
        m = tmp_path / "m.h5"
        r = run_neuromic("merge", m, a, other, check=False)
        assert r.returncode == 2, (other, r.stdout)
        assert want in r.stderr and want2 in r.stderr, r.stderr
        assert not m.exists()
        assert not list(tmp_path.glob("m.h5.*"))
    # not a result file; too few inputs; an existing output
    r = run_neuromic("merge", tmp_path / "m.h5", a, s, check=False)
    assert r.returncode == 2 and "not an HDF5 file" in r.stderr
    r = run_neuromic("merge", tmp_path / "m.h5", a, check=False)
    assert r.returncode == 2 and "at least two input files" in r.stderr
    b = run(tmp_path, s, "b.h5", "grid.seed=[2, 3]")
    r = run_neuromic("merge", b, a, run(tmp_path, s, "c.h5", "grid.seed=[4]"), check=False)
    assert r.returncode == 2 and "exists; pass --force" in r.stderr
    # a Latin hypercube of 8 and one of 16 are not one of 24
    lhs = spec(tmp_path, "lhs.yaml", SAMPLE.replace("sobol", "lhs"))
    r = run_neuromic("merge", tmp_path / "m.h5", run(tmp_path, lhs, "l1.h5"),
                     run(tmp_path, lhs, "l2.h5", "sample.n=16"), check=False)
    assert r.returncode == 2 and "Latin hypercubes" in r.stderr
    # a gap in a design
    smp = spec(tmp_path, "smp.yaml", SAMPLE)
    r = run_neuromic("merge", tmp_path / "m.h5", run(tmp_path, smp, "g1.h5"),
                     run(tmp_path, smp, "g2.h5", "sample.skip=16"), check=False)
    assert r.returncode == 2 and "from point 7 to point 16" in r.stderr and "missing" in r.stderr
