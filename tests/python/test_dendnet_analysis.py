"""The dendnet kernel through the engine (a tiny depth sweep on 2 ranks), its random
streams, and the analysis (analysis/dendnet.py): the table, the paired gains, the verdict
on the reference's effect, and the figure."""
import io

import numpy as np
import pytest
import xarray as xr

from conftest import run_spec_text

from analysis import dendnet

SPEC = """\
kernel: dendnet
base_seed: 5
fixed:
  epochs: 2
  steps_per_epoch: 20
  batch: 4
  window: 50
  rf_ms: 20
  first_ms: 10
  sim_ms: 1500
  n_train: 2
  n_test: 2
  n_val: 1
  calib_ms: 3000
  n_basal: 2
  n_tuft: 2
  rate_e: 14
grid:
  condition: [nmda, ampa]
  depth: [1, 3]
replicates: 2
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_spec_text(tmp_path_factory, "dd", SPEC)


@pytest.fixture(scope="module")
def ds(result):
    return xr.open_dataset(result, engine="h5netcdf")


def test_every_task_done_with_labelled_axes(result, ds):
    tasks = xr.open_dataset(result, engine="h5netcdf", group="tasks")
    assert np.all(tasks["status"].values == 1)
    assert ds["auc"].dims == ("condition", "depth", "seed")
    assert ds["curve_auc"].dims == ("condition", "depth", "seed", "epoch")
    assert ds.sizes["epoch"] == 2
    assert np.all((ds["auc"].values > 0) & (ds["auc"].values <= 1))


def test_simulations_depend_on_condition_and_seed_not_on_depth(ds):
    # One (condition, seed) is one data set whatever the network (the rank's cache
    # or a fresh simulation give the same): rates equal across depth ...
    r = ds["rate_train"]
    assert np.array_equal(r.isel(depth=0).values, r.isel(depth=1).values)
    # ... and differ between seeds.
    assert not np.array_equal(r.isel(seed=0).values, r.isel(seed=1).values)
    # ampa is rescaled up to the nmda rate on the calibration set.
    amp = ds.sel(condition="ampa")
    assert np.all(amp["ampa_scale"].values > 1)
    assert np.all(amp["rate_calib"].values >= amp["rate_nmda_calib"].values)
    assert np.all(ds.sel(condition="nmda")["ampa_scale"].values == 1)


def test_analysis_table_and_figure(ds, tmp_path):
    buf = io.StringIO()
    dendnet.table(ds, out=buf)
    text = buf.getvalue()
    assert "condition nmda: 2 seed(s)" in text and "condition ampa: 2 seed(s)" in text
    assert "AMPA scaled by" in text
    assert text.count("\n| 1 | ") == 2 and text.count("\n| 3 | ") == 2
    assert "nmda: best gain of depth >= 3" in text and "ampa: largest gain" in text
    assert "| validation AUC | epoch kept / run (mean) |" in text
    fig = tmp_path / "fig.png"
    dendnet.figure(ds, fig)
    assert fig.stat().st_size > 10000


def _synthetic(nmda_auc, ampa_auc):
    auc = np.array([nmda_auc, ampa_auc])  # (condition, depth, seed)
    shape = auc.shape
    coords = {"condition": ["nmda", "ampa"], "depth": [1, 2, 3], "seed": [0, 1]}
    dims = ("condition", "depth", "seed")
    return xr.Dataset({"auc": (dims, auc), "ampa_scale": (dims, np.ones(shape))}, coords=coords)


def test_gains_are_paired_by_seed_and_the_verdict_reads_them():
    auc_n = [[0.95, 0.90], [0.96, 0.91], [0.965, 0.915]]
    auc_a = [[0.95, 0.90], [0.951, 0.900], [0.950, 0.901]]
    ds = _synthetic(auc_n, auc_a)
    g = dendnet.gains(ds.sel(condition="nmda"))
    np.testing.assert_allclose(g.sel(depth=3).values, [0.015, 0.015])
    assert "shows the effect" in dendnet.verdict("nmda", g)
    assert "as the reference" in dendnet.verdict("ampa", dendnet.gains(ds.sel(condition="ampa")))
    ds2 = _synthetic([[0.95, 0.90], [0.955, 0.905], [0.955, 0.905]],
                     [[0.95, 0.90], [0.96, 0.91], [0.95, 0.90]])
    assert "does not show" in dendnet.verdict("nmda", dendnet.gains(ds2.sel(condition="nmda")))
    assert "unlike the reference" in dendnet.verdict("ampa",
                                                     dendnet.gains(ds2.sel(condition="ampa")))


def test_analysis_refuses_other_files(small_result, capsys):
    assert dendnet.main([str(small_result)]) == 2
    assert "dendnet kernel" in capsys.readouterr().err
