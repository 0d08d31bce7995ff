"""A result file opened with xarray: labelled dimensions, coordinates, and every
value against the probe kernel's formula (src/kernels/probe/probe.c)."""
import math

import numpy as np
import xarray as xr

from streams import Xoshiro256ss, stream_key

# tests/data/sweeps/small.yaml
X = [0.5, 1.5, -2.25]
MODES = ["a", "b"]
NS = [0, 1, 2, 3]
WORKS = [0.004, 0.0, 0.002, 0.001]
SEEDS = [0, 1, 2]
BASE_SEED = 7
LENGTH = 3


def probe_params(x, n, mode, work, seed):
    return [("x", "f", x), ("n", "i", n), ("mode", "s", mode), ("length", "i", LENGTH),
            ("work", "f", work), ("fail_n", "i", -1), ("nan_n", "i", -1), ("seed", "i", seed)]


def test_dimensions_are_labelled(small_result):
    ds = xr.open_dataset(small_result, engine="h5netcdf")
    assert ds["value"].dims == ("x", "mode", "n", "seed")
    assert ds["trace"].dims == ("x", "mode", "n", "seed", "trace_i")
    assert ds["draw"].dims == ("x", "mode", "n", "seed")
    assert ds.sizes == {"x": 3, "mode": 2, "n": 4, "seed": 3, "trace_i": LENGTH}
    assert list(ds["x"].values) == X
    assert [str(m) for m in ds["mode"].values] == MODES
    assert list(ds["n"].values) == NS
    assert list(ds["seed"].values) == SEEDS
    # The zip partner is a coordinate along its group's dimension.
    assert "work" in ds.coords and ds["work"].dims == ("n",)
    assert list(ds["work"].values) == WORKS


def test_trace_follows_formula(small_result):
    ds = xr.open_dataset(small_result, engine="h5netcdf")
    i = np.arange(LENGTH)
    for x in X:
        for n in NS:
            got = ds["trace"].sel(x=x, n=n).values  # (mode, seed, trace_i)
            assert np.array_equal(got, np.broadcast_to(x + n * i, got.shape))


def test_value_and_draw_come_from_the_documented_streams(small_result):
    ds = xr.open_dataset(small_result, engine="h5netcdf")
    for x in X:
        for mode in MODES:
            for n, work in zip(NS, WORKS):
                for seed in SEEDS:
                    params = probe_params(x, n, mode, work, seed)
                    u = Xoshiro256ss(stream_key(BASE_SEED, "noise", params)).uniform()
                    want = x * n + (1000.0 if mode == "b" else 0.0) + u
                    got = float(ds["value"].sel(x=x, mode=mode, n=n, seed=seed))
                    assert got == want, (x, mode, n, seed, got, want)
                    v = Xoshiro256ss(stream_key(BASE_SEED, "data", [("seed", "i", seed)])).uniform()
                    assert int(ds["draw"].sel(x=x, mode=mode, n=n, seed=seed)) == math.floor(1e6 * v)


def test_draw_is_shared_by_points_with_the_same_seed(small_result):
    ds = xr.open_dataset(small_result, engine="h5netcdf")
    draw = ds["draw"].values
    for s in range(len(SEEDS)):
        assert np.all(draw[..., s] == draw[0, 0, 0, s])
    assert len(set(draw[0, 0, 0, :].tolist())) == len(SEEDS)


def test_task_table(small_result):
    tasks = xr.open_dataset(small_result, engine="h5netcdf", group="tasks")
    assert tasks.sizes["task"] == 72
    assert np.all(tasks["status"].values == 1)
    assert set(np.unique(tasks["rank"].values)) <= {0, 1}
    assert np.all(tasks["seconds"].values >= 0)
    # The task with work 0.004 s took at least that long.
    assert float(tasks["seconds"].max()) >= 0.004


def test_summary_module(small_result, capsys):
    from analysis.summary import summary
    summary(str(small_result))
    out = capsys.readouterr().out
    assert "kernel probe" in out and "72 done" in out
    assert "ended 20" in out  # from /attempts: the run that completed the sweep
