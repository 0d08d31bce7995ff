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


def _property_sweep():
    """A zip axis of three neurons (its first parameter repeats a value, as a one-at-a-time
    design does), both conditions, depths 1 and 3, two seeds."""
    coords = {"g_nmda": [0.8, 1.6, 0.8], "condition": ["nmda", "ampa"], "depth": [1, 3],
              "seed": [0, 1]}
    auc = np.full((3, 2, 2, 2), 0.95)
    auc[1, 0, 1] = [0.965, 0.962]  # g_nmda 1.6: nmda gains 0.015, 0.012 ...
    auc[1, 1, 1] = [0.951, 0.950]  # ... ampa 0.001, 0.000: both criteria
    auc[2, 0, 1] = [0.955, 0.951]  # Ra 450: nmda gains 0.005, 0.001
    dims = ("g_nmda", "condition", "depth", "seed")
    ones = np.ones(auc.shape)
    ds = xr.Dataset({"auc": (dims, auc), "rate_train": (dims, 6 * ones),
                     "exc_scale": (dims, ones), "ampa_scale": (dims, 2 * ones)},
                    coords=coords)
    return ds.assign_coords(basal_order=("g_nmda", [2, 2, 2]), Ra=("g_nmda", [150, 150, 450]))


def _with_outputs(ds):
    """The other outputs analysis.dendnet.load needs (their values do not matter here)."""
    curve = ds["auc"].expand_dims(epoch=[0], axis=-1)
    return ds.assign(curve_auc=curve, curve_loss=curve,
                     **{v: ds["auc"] for v in ("tpr", "v_rmse", "v_explained", "rate_test")})


def test_property_table_rows_gains_and_criteria(tmp_path):
    ds = _property_sweep()
    buf = io.StringIO()
    rows = dendnet.property_table(ds, out=buf)
    text = buf.getvalue()
    assert [r["changed"] for r in rows] == ["baseline", "g_nmda 1.6", "Ra 450"]
    assert rows[0]["label"] == "g_nmda 0.8, basal_order 2, Ra 150"
    gn, ga, gd = rows[1]["gains"][3]
    np.testing.assert_allclose(gn.values, [0.015, 0.012])
    np.testing.assert_allclose(ga.values, [0.001, 0.0], atol=1e-12)
    np.testing.assert_allclose(gd.values, [0.014, 0.012])
    assert rows[1]["nmda_ok"] and rows[1]["ampa_ok"]
    assert not rows[2]["nmda_ok"] and rows[2]["ampa_ok"]
    assert not rows[0]["nmda_ok"]
    assert "| g_nmda 1.6 | +0.0135 ± 0.0021 [+0.0150, +0.0120] |" in text
    assert "both criteria met: g_nmda 1.6" in text
    fig = tmp_path / "props.png"
    dendnet.property_figure(ds, fig)
    assert fig.stat().st_size > 10000
    # the plain table reads the same file by position, despite the repeated 0.8
    buf = io.StringIO()
    dendnet.table(_with_outputs(ds), out=buf)
    assert buf.getvalue().count("### g_nmda = 0.8") == 2


def test_property_subcommand_needs_both_conditions(tmp_path, capsys):
    ds = _property_sweep().sel(condition=["nmda"])
    path = tmp_path / "one.h5"
    _with_outputs(ds).to_netcdf(path, engine="h5netcdf")
    assert dendnet.main(["properties", str(path)]) == 2
    assert "needs both conditions" in capsys.readouterr().err


def test_property_subcommand_joins_runs_that_add_an_axis(tmp_path, capsys):
    # the g_nmda run (two neurons), then a run of the baseline g_nmda with the axis
    # Ra = [450] added at the end (what --set "grid.Ra=[450]" gives)
    base = _property_sweep().isel(g_nmda=[0, 1]).drop_vars(["basal_order", "Ra"])
    ra = _property_sweep().isel(g_nmda=[2]).drop_vars(["basal_order", "Ra"])
    ra = ra.expand_dims(Ra=[450.0], axis=-1)
    paths = [tmp_path / "g.h5", tmp_path / "ra.h5"]
    for ds, path in zip((base, ra), paths):
        _with_outputs(ds).to_netcdf(path, engine="h5netcdf")
    fig = tmp_path / "f.png"
    assert dendnet.main(["properties", *map(str, paths), "-o", str(fig)]) == 0
    text = capsys.readouterr().out
    assert "3 neurons, 2 seed(s)" in text
    assert "| g_nmda 0.8, Ra 450 | Ra 450 |" in text
    assert "| Ra 450 | +0.0030 ± 0.0028 [+0.0050, +0.0010] |" in text
    assert fig.stat().st_size > 10000
