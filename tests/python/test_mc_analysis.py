"""The microcircuit kernel through the engine, and analysis/microcircuit.py on its results."""
import io
import os

import numpy as np
import pytest

from analysis import microcircuit
from analysis.summary import open_results
from conftest import ROOT, run_neuromic


@pytest.fixture(scope="module")
def mc_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("mc") / "mc_small.h5"
    run_neuromic("run", "tests/data/sweeps/mc_small.yaml", "-o", out, "--quiet", ranks=2)
    return out


def test_outputs_have_the_documented_shapes_and_sentinels(mc_result):
    ds = open_results(mc_result)
    assert dict(ds["test_mse"].sizes) == {"seed": 2, "model": 3, "record": 3}
    assert ds["pattern"].sel(model="backprop", seed=0).values.tolist() == [0, 15, 30]
    # Baselines have no apical compartments or feedback weights: -1.
    for model in ("shallow", "backprop"):
        assert (ds["apical_error"].sel(model=model) == -1).all()
        assert (ds["angle"].sel(model=model) == -1).all()
    mc = ds.sel(model="microcircuit")
    assert (mc["apical_error"] >= 0).all()
    assert ((mc["angle"] >= 0) & (mc["angle"] <= 180)).all()
    # Same data and initial forward weights for every model: the same first evaluation
    # (exactly for the two SGD references, close for the dynamic microcircuit).
    first = ds["test_mse"].isel(record=0)
    np.testing.assert_allclose(first.sel(model="shallow"), first.sel(model="backprop"))
    np.testing.assert_allclose(first.sel(model="shallow"), first.sel(model="microcircuit"),
                               rtol=0.2)  # 5 ms: the soma has not fully settled
    # Learning lowers the backprop reference's test error on every seed.
    bp = ds["test_mse"].sel(model="backprop")
    assert (bp.isel(record=-1) < bp.isel(record=0)).all()
    assert np.array_equal(ds["final_test_mse"].values, ds["test_mse"].isel(record=-1).values)


def test_teacher_analysis_prints_table_and_draws(mc_result, tmp_path):
    out = io.StringIO()
    fig = tmp_path / "teacher.png"
    microcircuit.teacher(mc_result, fig=str(fig), out=out)
    text = out.getvalue()
    for model in ("microcircuit", "shallow", "backprop"):
        assert f"| {model} |" in text
    assert fig.stat().st_size > 1000


def test_params_analysis_marginals(mc_result):
    out = io.StringIO()
    microcircuit.params(mc_result, out=out)
    ds = open_results(mc_result)
    want = float(ds["final_test_mse"].sel(model="shallow").mean())
    assert f"| model | shallow | {want:.4f} |" in out.getvalue()


def test_missing_idx_file_stops_the_run_naming_it(tmp_path):
    # The data files are read once per rank by the kernel's prepare(),
    # before any task: a missing one is bad input (2), and no file is made.
    env_dir = tmp_path / "nowhere"
    os.environ["NEUROMIC_IDX_DIR"] = str(env_dir)
    try:
        r = run_neuromic("run", "tests/data/sweeps/mc_classify_missing.yaml", "-o",
                         tmp_path / "x.h5", "--quiet", check=False)
    finally:
        del os.environ["NEUROMIC_IDX_DIR"]
    assert r.returncode == 2, r.stderr
    assert f"{env_dir}/train-images-idx3-ubyte.gz: cannot open" in r.stderr
    assert not (tmp_path / "x.h5").exists()


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="dataset-fashion-mnist not installed")
def test_data_files_and_their_sha256_are_in_the_provenance(tmp_path):
    import hashlib
    import h5py
    out = tmp_path / "c.h5"
    run_neuromic("run", "tests/data/sweeps/mc_classify_missing.yaml", "-o", out, "--quiet")
    with h5py.File(out, "r") as f:
        lines = f.attrs["data_files"]
    lines = (lines.decode() if isinstance(lines, bytes) else str(lines)).splitlines()
    assert len(lines) == 4
    for line in lines:
        digest, path = line.split("  ", 1)
        assert path.startswith(FASHION + "/")
        with open(path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest
