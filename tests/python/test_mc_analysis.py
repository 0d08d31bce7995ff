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


def test_missing_idx_file_fails_the_task_naming_it(tmp_path):
    env_dir = tmp_path / "nowhere"
    os.environ["NEUROMIC_IDX_DIR"] = str(env_dir)
    try:
        r = run_neuromic("run", "tests/data/sweeps/mc_classify_missing.yaml", "-o",
                         tmp_path / "x.h5", "--quiet", check=False)
    finally:
        del os.environ["NEUROMIC_IDX_DIR"]
    assert r.returncode == 4, r.stderr
    assert f"{env_dir}/train-images-idx3-ubyte.gz: cannot open" in r.stderr


def test_teacher_targets_depend_on_teacher_phi_not_student_phi(tmp_path):
    # A silent student (zero weights, no learning) answers 0, so its test MSE is the mean
    # squared target: the task itself. It must not move with the student's phi.
    spec = tmp_path / "teacher_phi.yaml"
    spec.write_text("kernel: microcircuit\nbase_seed: 3\nfixed:\n  task: teacher\n"
                    "  model: shallow\n  w_init: 0\n  eta_bp: 0\n  n_train: 4\n  n_test: 20\n"
                    "  n_record: 2\ngrid:\n  phi: [logistic, relu]\n"
                    "  teacher_phi: [softplus, logistic]\n")
    out = tmp_path / "teacher_phi.h5"
    run_neuromic("run", spec, "-o", out, "--quiet")
    mse = open_results(out)["final_test_mse"]
    for tphi in ("softplus", "logistic"):
        by_student = mse.sel(teacher_phi=tphi).values.ravel()
        assert by_student.min() > 0
        np.testing.assert_array_equal(by_student, by_student[0])
    assert not np.allclose(mse.sel(teacher_phi="softplus"), mse.sel(teacher_phi="logistic"))
