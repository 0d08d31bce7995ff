"""The microcircuit kernel through the engine, and analysis/microcircuit.py on its results."""
import io
import os

import numpy as np
import pytest

from analysis import microcircuit
from analysis.summary import open_results
from conftest import run_neuromic


def _run_spec(tmp_path, name, text):
    """Writes spec `text` as name.yaml, runs it on one rank, returns the result's path."""
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    res = tmp_path / f"{name}.h5"
    run_neuromic("run", spec, "-o", res, "--quiet")
    return res


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
    # The error of the output rates, phi(answer) against phi(target), for every model.
    assert dict(ds["test_rate_mse"].sizes) == {"seed": 2, "model": 3, "record": 3}
    assert (ds["test_rate_mse"] >= 0).all()
    assert np.array_equal(ds["final_test_rate_mse"].values,
                          ds["test_rate_mse"].isel(record=-1).values)


def test_scales_of_the_paper_teacher_task():
    out = io.StringIO()
    rows = dict(microcircuit.scales(out=out, n=2000))
    assert "fraction of teacher outputs below u = 1" in out.getvalue()
    # 0.1 * sigmoid(u - 3) in closed form; the hidden rates are tiny and positive.
    assert rows["slope of phi at u = 0"] == f"{0.1 / (1 + np.exp(3.0)):.4f}"
    mean, std = (float(v) for v in rows["student hidden rate phi(u): mean, std"].split(", "))
    assert 0 < mean < 0.02 and 0 < std < 0.02
    assert 0.4 < float(rows["fraction of teacher outputs below u = 1"]) < 0.8


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


def test_teacher_targets_depend_on_teacher_phi_not_student_phi(tmp_path):
    # A silent student (zero weights, no learning) answers 0, so its test MSE is the mean
    # squared target: the task itself. It must not move with the student's phi.
    out = _run_spec(tmp_path, "teacher_phi", "kernel: microcircuit\nbase_seed: 3\nfixed:\n  task: teacher\n"
                    "  model: shallow\n  w_init: 0\n  eta_bp: 0\n  n_train: 4\n  n_test: 20\n"
                    "  n_record: 2\ngrid:\n  phi: [logistic, relu]\n"
                    "  teacher_phi: [softplus, logistic]\n")
    mse = open_results(out)["final_test_mse"]
    for tphi in ("softplus", "logistic"):
        by_student = mse.sel(teacher_phi=tphi).values.ravel()
        assert by_student.min() > 0
        np.testing.assert_array_equal(by_student, by_student[0])
    assert not np.allclose(mse.sel(teacher_phi="softplus"), mse.sel(teacher_phi="logistic"))


def test_bars_table_has_every_variant(tmp_path):
    res = _run_spec(tmp_path, "bars", "kernel: microcircuit\nbase_seed: 1\nreplicates: 2\nfixed:\n  task: bars\n"
                    "  tau_w: 0\n  n_record: 2\n  epochs: 2\ngrid:\n  t_pattern: [0.5, 1]\nzip:\n"
                    "  - le: [false, false, true]\n    t_onset_frac: [0, 0.5, 0]\n")
    out = io.StringIO()
    fig = tmp_path / "bars.png"
    microcircuit.bars(res, fig=str(fig), out=out)
    header = out.getvalue().splitlines()[0]
    for label in ("original: ours", "original, onset 0.5 T: ours", "LE: ours", "LE: paper"):
        assert label in header
    assert "| 10 | 2 |" in out.getvalue()  # 1 ms = 10 dt, 2 epochs
    assert fig.stat().st_size > 1000


def test_alignment_angles_per_layer(tmp_path):
    res = _run_spec(tmp_path, "self", "kernel: microcircuit\nbase_seed: 1\nfixed:\n  task: self_predict\n"
                    "  init: self_predicting\n  n_train: 3\n  n_test: 2\n  n_record: 2\n"
                    "  t_pattern: 1\n  eta_IP: 0\n  eta_PI: 0\ngrid:\n  n_hidden: [1, 2]\n")
    ds = open_results(res)
    ip = ds["angle_ip_up"]
    # Started in the self-predicting state, with the lateral weights fixed.
    assert float(ip.sel(n_hidden=2).isel(record=0, hidden_layer=1)) < 1e-3
    # Layers a network does not have hold -1.
    assert (ip.sel(n_hidden=1).isel(hidden_layer=slice(1, None)) == -1).all()
    assert (ds["angle_pi_down"].sel(n_hidden=2).isel(hidden_layer=slice(0, 2)) < 1e-3).all()
    out = io.StringIO()
    microcircuit.selfpredict(res, out=out)
    assert "| n_hidden=2 | 2 |" in out.getvalue()


def test_compare_pairs_seeds_and_tune_picks_the_lowest(mc_result):
    out = io.StringIO()
    microcircuit.compare(mc_result, out=out)
    text = out.getvalue()
    ds = open_results(mc_result)
    d = (ds["final_test_mse"].sel(model="microcircuit") -
         ds["final_test_mse"].sel(model="backprop")).values
    assert f"| microcircuit - backprop | {d.mean():+.4f} | {int((d < 0).sum())}/2 |" in text
    out = io.StringIO()
    chosen = microcircuit.tune(mc_result, out=out)
    assert [c["model"] for c in chosen] == ["microcircuit", "shallow", "backprop"]
    means = ds["final_test_mse"].mean("seed")
    best = str(means.idxmin("model").values)
    assert out.getvalue().splitlines()[2].startswith(f"| {best} |")


def _factorial_ds(log_mse, first=100.0):
    """A two-level grid over phi and three axes whose log10 final test MSE is log_mse(sa, sb, sc)
    (signs -1/+1), and whose error before training is `first`."""
    import xarray as xr

    dims = ("phi", "a", "b", "c")
    coords = {"phi": ["logistic", "softplus"], "a": [0.1, 0.2], "b": [1, 2], "c": [0.0, 3.0]}
    s = np.array([-1.0, 1.0])
    sa, sb, sc = np.meshgrid(s, s, s, indexing="ij")
    y = np.stack([log_mse(sa, sb, sc), log_mse(sa, sb, sc) + 0.5])
    rec = np.stack([np.full(y.shape, first), 10 ** y], axis=-1)
    return xr.Dataset({"final_test_mse": (dims, 10 ** y),
                       "test_mse": (dims + ("record",), rec)}, coords=coords)


def test_factorial_effects_are_recovered_exactly():
    ds = _factorial_ds(lambda a, b, c: 0.3 * a - 0.1 * b + 0.05 * a * c)
    eff = microcircuit.effects(ds)
    for g in ("logistic", "softplus"):
        main, pairs, _, n, nbad = eff[g]
        # An effect is high minus low: twice the coefficient of the sign.
        assert main["a"] == pytest.approx(0.6) and main["b"] == pytest.approx(-0.2)
        assert main["c"] == pytest.approx(0.0, abs=1e-12)
        assert pairs[0][0] == ("a", "c") and pairs[0][1] == pytest.approx(0.1)
        assert (n, nbad) == (8, 0)


def test_diverged_runs_enter_at_their_error_before_training():
    ds = _factorial_ds(lambda a, b, c: 0.0 * a, first=10.0)
    # One run got worse than before training, one failed: both count as "no learning".
    ds["final_test_mse"][0, 1, 1, 1] = 50.0
    ds["final_test_mse"][0, 0, 0, 0] = np.nan
    main, _, _, n, nbad = microcircuit.effects(ds)["logistic"]
    assert (n, nbad) == (8, 2)
    # log10 is 0 everywhere except log10(10) = 1 at the two diverged corners, which sit on
    # opposite sides of every axis: no main effect.
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in main.values())
    assert microcircuit._diverged(ds).sum() == 2


def test_curves_print_every_point_over_training(mc_result, tmp_path):
    out = io.StringIO()
    fig = tmp_path / "curves.png"
    rows = microcircuit.curves(mc_result, fig=str(fig), out=out)
    ds = open_results(mc_result)
    mean = ds["test_mse"].mean("seed")
    assert [r[0] for r in rows] == ["microcircuit", "shallow", "backprop"]
    for r in rows:
        assert r[1:] == [microcircuit._num(v) for v in mean.sel(model=r[0]).values]
    assert "| model | test_mse after 0 | test_mse after 15 | test_mse after 30 |" in out.getvalue()
    assert fig.stat().st_size > 0
    out = io.StringIO()
    rows = microcircuit.curves(mc_result, out=out, metric="test_rate_mse")
    assert rows[0][1] == microcircuit._num(
        ds["test_rate_mse"].mean("seed").sel(model="microcircuit").values[0])


def test_scales_estimate_the_output_rules_reach():
    out = io.StringIO()
    rows = dict(microcircuit.scales(out=out, n=2000))
    card = float(rows["patterns to cover that at eta 0.0005 / ms (the card's)"])
    fast = float(rows["patterns to cover that at eta 300 / ms"])
    # The estimate is inversely proportional to the rate.
    assert abs(card / fast / (300 / 0.0005) - 1) < 0.01  # printed to 3 digits


def test_compare_against_takes_the_references_from_another_file(mc_result, tmp_path):
    text = open("tests/data/sweeps/mc_small.yaml").read()
    text = text.replace("  model: [microcircuit, shallow, backprop]", "  model: [shallow]")
    refs = _run_spec(tmp_path, "refs", text.replace("fixed:\n", "fixed:\n  bp_loss: rate\n  eta_bp: 3\n"))
    out = io.StringIO()
    microcircuit.compare(mc_result, out=out, against=str(refs))
    ds, rs = open_results(mc_result), open_results(refs)
    mc = ds["final_test_mse"].sel(model="microcircuit").values
    sh = rs["final_test_mse"].sel(model="shallow").values
    assert not np.allclose(sh, ds["final_test_mse"].sel(model="shallow").values)
    text = out.getvalue()
    assert f"| shallow | {sh.mean():.4f} |" in text
    assert f"| microcircuit - shallow | {(mc - sh).mean():+.4f} |" in text
    assert "backprop" not in text
    # Other seeds than the microcircuit's: no pairing, a clear error.
    one = _run_spec(tmp_path, "one", open("tests/data/sweeps/mc_small.yaml").read()
                    .replace("replicates: 2", "replicates: 1")
                    .replace("  model: [microcircuit, shallow, backprop]", "  model: [shallow]"))
    with pytest.raises(SystemExit, match="seeds"):
        microcircuit.compare(mc_result, out=io.StringIO(), against=str(one))


def test_learning_effects_leave_out_the_starting_error():
    # The starting error depends on a only, what learning did (final / start) on c only.
    ds = _factorial_ds(lambda a, b, c: 0.0 * a)
    s = np.array([-1.0, 1.0])
    sa, _, sc = np.meshgrid(s, s, s, indexing="ij")
    start = 10 ** (2.0 + 0.3 * sa)
    ds["test_mse"].values[..., 0] = start
    ds["final_test_mse"].values[...] = start * 10 ** (-0.5 - 0.2 * sc)
    main, _, _, _, nbad = microcircuit.effects(ds, learning=True)["logistic"]
    assert nbad == 0
    assert main["a"] == pytest.approx(0.0, abs=1e-12)
    assert main["c"] == pytest.approx(-0.4)
    final = microcircuit.effects(ds)["logistic"][0]
    assert final["a"] == pytest.approx(0.6) and final["c"] == pytest.approx(-0.4)
