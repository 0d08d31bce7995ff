"""A sweep with a sampling design (tests/data/sweeps/sample.yaml) opened with
xarray: the axis `sample` with the sampled parameters as its coordinates,
crossed with the grid and the replicates; every task ran at its coordinates;
the design is the same on every run and stratified as documented."""
import json

import numpy as np
import xarray as xr

from conftest import run_neuromic

SPEC = "tests/data/sweeps/sample.yaml"


def test_design_axis_and_coordinates(tmp_path):
    out = tmp_path / "sample.h5"
    run_neuromic("run", SPEC, "-o", out, "--quiet", ranks=2)
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds["value"].dims == ("seed", "sample", "mode")
    assert ds["trace"].dims == ("seed", "sample", "mode", "trace_i")
    assert ds.sizes == {"seed": 2, "sample": 16, "mode": 2, "trace_i": 3}
    assert list(ds["sample"].values) == list(range(16))
    for name in ("x", "n"):
        assert name in ds.coords and ds[name].dims == ("sample",)
    x, n = ds["x"].values, ds["n"].values
    assert np.all((x >= 0.01) & (x <= 100)) and np.all((n >= 0) & (n <= 7))
    # Sobol, 16 = 2^4 points: one point in each of 16 strata of every
    # parameter (log10 x in [-2, 2]; n's eight integers twice each).
    strata = np.floor((np.log10(x) + 2) / 4 * 16).astype(int)
    assert sorted(strata) == list(range(16))
    assert sorted(np.bincount(n, minlength=8)) == [2] * 8
    # every task ran at its coordinates: probe's trace is x + n*i
    i = np.arange(3)
    want = x[:, None] + n[:, None] * i[None, :]
    for seed in (0, 1):
        for mode in ("a", "b"):
            got = ds["trace"].sel(seed=seed, mode=mode).values
            assert np.array_equal(got, want)
    # selecting by a coordinate works as for any xarray coordinate
    big = ds["value"].where(ds["x"] > 1, drop=True)
    assert big.sizes["sample"] == int(np.sum(x > 1))
    # status labels the design's points as the file does: by their index
    st = json.loads(run_neuromic("status", "--json", out).stdout)
    axis = [a for a in st["axes"] if a["name"] == "sample"][0]
    assert axis["values"] == list(range(16))
    text = run_neuromic("status", out).stdout
    assert "  sample: 0 4/0/0, 1 4/0/0," in text


def test_design_is_deterministic_and_resume_checks_it(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    run_neuromic("run", SPEC, "-o", a, "--quiet")
    run_neuromic("run", SPEC, "-o", b, "--quiet", ranks=2)
    da = xr.open_dataset(a, engine="h5netcdf")
    db = xr.open_dataset(b, engine="h5netcdf")
    for name in ("x", "n", "value", "trace", "draw"):
        assert np.array_equal(da[name].values, db[name].values), name
    # another base seed, another (scrambled) design
    r = run_neuromic("plan", SPEC, "--set", "base_seed=12")
    assert r.returncode == 0
    assert "sobol (scrambled" in r.stdout
    # a resume whose design differs is refused, and the file is untouched
    before = a.read_bytes()
    r = run_neuromic("run", SPEC, "-o", a, "--resume", "--set", "sample.skip=16", check=False)
    assert r.returncode == 2
    assert "sample" in r.stderr
    assert a.read_bytes() == before


def test_plan_shows_design_and_coverage():
    r = run_neuromic("plan", SPEC)
    assert "sample         design    16 points: sobol (scrambled" in r.stdout
    assert "points 0..15 of the sequence" in r.stdout
    assert "x            float  log [0.01, 100]" in r.stdout
    assert "first 16 points, 16 strata per parameter: x 16 filled (at most 1), " \
           "n 16 filled (at most 1)" in r.stdout
    assert "tasks:      64" in r.stdout
