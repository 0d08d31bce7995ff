"""The folded kernel through the engine, and analysis/folded.py on its results."""
import gzip
import io
import os

import numpy as np
import pytest

from analysis import folded
from analysis.summary import open_results
from conftest import run_neuromic


@pytest.fixture(scope="module")
def fd_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fd") / "folded_small.h5"
    run_neuromic("run", "tests/data/sweeps/folded_small.yaml", "-o", out, "--quiet", ranks=2)
    return out


def test_outputs_shapes_sentinels_and_shared_start(fd_result):
    ds = open_results(fd_result)
    assert dict(ds["cos_W"].sizes) == {"model": 3, "lambda": 3, "seed": 2, "record": 3,
                                       "layer": 2}
    assert dict(ds["recon"].sizes) == {"model": 3, "lambda": 3, "seed": 2, "show": 4,
                                       "pixel": 64}
    # PCA has no updates: every cosine is the sentinel -2; its results do not change.
    assert (ds["cos_W"].sel(model="pca") == -2).all()
    mse = ds["mse_test"]
    assert (mse.sel(model="pca").diff("record") == 0).all()
    # Backprop's updates are its gradients: the finite differences agree.
    bp = ds["cos_W"].sel(model="backprop")
    assert (bp > 0.999).all() and (ds["cos_G"].sel(model="backprop") > 0.999).all()
    # The same initial weights for every model and lambda (of a seed): the same first MSE.
    first = mse.sel(model=["folded", "backprop"]).isel(record=0)
    assert float(abs(first - first.isel(model=0, **{"lambda": 0})).max()) < 1e-12
    # Training lowers the folded network's test error from its random start.
    fo = mse.sel(model="folded")
    assert (fo.isel(record=-1) < fo.isel(record=0)).all()
    # The images are the test set's first ones, the same for every task.
    img = ds["image"]
    assert np.array_equal(img.isel(model=0, **{"lambda": 0}, seed=0), img.isel(model=2, seed=1,
                                                                                **{"lambda": 2}))
    assert 0 <= float(img.min()) and float(img.max()) <= 1


def test_tables_and_figures(fd_result, tmp_path):
    ds = folded.load(fd_result)
    out = io.StringIO()
    folded.results_table(ds, out=out)
    folded.cosine_table(ds, out=out)
    text = out.getvalue()
    for row in ("| folded λ=0 |", "| folded λ=0.5 |", "| backprop |", "| pca |"):
        assert row in text
    want = float(ds["mse_test"].sel(model="pca").isel(record=-1).mean())
    assert f"| pca | {want:.4f}" in text
    fig, grid = tmp_path / "f.png", tmp_path / "g.png"
    assert folded.main([str(fd_result), "-o", str(fig), "--grid", str(grid)]) == 0
    assert fig.stat().st_size > 1000 and grid.stat().st_size > 1000


def test_corrupt_digits_file_stops_the_run_naming_line_and_field(tmp_path):
    # prepare() reads the digits once per rank before any task: a bad line is bad
    # input (exit 2), the message names file, line and field, and no result file is left.
    bad = tmp_path / "digits.csv.gz"
    good = ",".join(["3"] * 64) + ",1\n"
    with gzip.open(bad, "wt") as f:
        f.write(good + good.replace("3,", "3;", 1))
    os.environ["NEUROMIC_DIGITS"] = str(bad)
    try:
        r = run_neuromic("run", "tests/data/sweeps/folded_small.yaml", "-o", tmp_path / "x.h5",
                         "--quiet", check=False)
    finally:
        del os.environ["NEUROMIC_DIGITS"]
    assert r.returncode == 2, r.stderr
    assert f"{bad}:2: 1 fields, expected 65" in r.stderr
    assert not (tmp_path / "x.h5").exists()
