"""The urbanczik kernel through the engine (a small teacher sweep on 2 ranks), its
random streams, bad parameters, and the analysis (analysis/urbanczik.py) on its file."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_neuromic, run_spec_text

from analysis import urbanczik

SPEC = """\
kernel: urbanczik
base_seed: 7
fixed:
  n_inputs: 60
  pattern_ms: 100
  reps_before: 1
  reps_teach: 6
  reps_after: 1
  record_every: 10
grid:
  eta: [0.0, 0.5]
  teach_gI: [180, 120]
replicates: 2
"""
REPS, SAMPLES = 8, 100


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_spec_text(tmp_path_factory, "uz", SPEC)


def test_every_task_done_with_labelled_axes(result, ds):
    tasks = xr.open_dataset(result, engine="h5netcdf", group="tasks")
    assert np.all(tasks["status"].values == 1)
    assert ds["corr"].dims == ("eta", "teach_gI", "seed", "rep")
    assert ds.sizes["rep"] == REPS and ds.sizes["input"] == 60
    assert ds.sizes["sample"] == SAMPLES and ds.sizes["snap"] == 4
    assert np.all(ds["snap_rep"].values == [0, 1, 6, 7])
    np.testing.assert_allclose(ds["trace_t"].isel(eta=0, teach_gI=0, seed=0).values,
                               (np.arange(SAMPLES) + 1) * 1.0)


def test_inputs_depend_on_the_input_seed_only(ds):
    # Without learning V* depends on the inputs alone: equal across the teacher's
    # strength (not a key of the input stream), different across seeds.
    vs = ds["trace_Vstar"].sel(eta=0.0)
    assert np.array_equal(vs.isel(teach_gI=0).values, vs.isel(teach_gI=1).values)
    assert not np.array_equal(vs.isel(seed=0).values, vs.isel(seed=1).values)
    # ... and the weights stay where they started.
    assert np.all(ds["w_final"].sel(eta=0.0).values == 90.0)
    # With learning they move, and the somatic spikes follow the teacher.
    assert np.any(ds["w_final"].sel(eta=0.5).values != 90.0)
    sp = ds["spikes"].sel(eta=0.0)
    assert not np.array_equal(sp.isel(teach_gI=0).values, sp.isel(teach_gI=1).values)


def test_teacher_sets_the_matching_potential(ds):
    um = ds["trace_UM"].sel(eta=0.0, teach_gI=180)
    # The card's range for NEST's teacher: about -72.6 to -47.9 mV.
    assert -73.0 < float(um.min()) < -71.5 and -49.0 < float(um.max()) < -47.5
    # While taught, the soma follows U_M closely; before, it does not.
    cu = ds["corr_U"].sel(teach_gI=180)
    assert np.all(cu.isel(rep=slice(1, 7)).values > 0.9)
    # The per-repetition numbers agree with the traces' own (coarser) ones.
    one = ds.isel(eta=1, teach_gI=0, seed=0)
    vs, um1 = one["trace_Vstar"].isel(snap=3).values, one["trace_UM"].isel(snap=3).values
    assert abs(np.corrcoef(vs, um1)[0, 1] - float(one["corr"].isel(rep=7))) < 0.05
    assert abs(np.sqrt(np.mean((vs - um1) ** 2)) - float(one["rms"].isel(rep=7))) < 0.5
    np.testing.assert_allclose(one["mean_w"].values, one["w_rep"].mean("input").values)
    np.testing.assert_array_equal(one["w_final"].values, one["w_rep"].isel(rep=-1).values)


def test_analysis_tables_and_figure(ds, tmp_path, capsys):
    one = ds.sel(eta=0.5, teach_gI=180)
    urbanczik.teacher_table(one)
    out = capsys.readouterr().out
    assert "| first taught | 1 |" in out and "| first after teaching | 7 |" in out
    assert "RMS factor" in out and "| last |" not in out  # the last is the first after
    fac = urbanczik.rms_factor(one)
    np.testing.assert_allclose(fac.values, one["rms"].isel(rep=0).values /
                               one["rms"].isel(rep=7).values)
    urbanczik.params_table(ds)
    out = capsys.readouterr().out
    assert out.count("\n| 0.5 | ") == 2 and out.count("\n| 0 | ") == 2
    fig = tmp_path / "fig.png"
    urbanczik.figure(one, fig)
    assert fig.stat().st_size > 10000


def test_analysis_refuses_other_files(small_result, capsys):
    assert urbanczik.main([str(small_result)]) == 2
    assert "urbanczik kernel" in capsys.readouterr().err


@pytest.mark.parametrize("line, field", [("dt: 3", "fixed.dt"), ("g_sp: -1", "fixed.g_sp"),
                                         ("g_L_dend: -30", "fixed.g_L_dend"),
                                         ("t_ref: 0.5", "fixed.t_ref")])
def test_bad_parameters_are_refused_before_any_task(tmp_path, line, field):
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"kernel: urbanczik\nfixed:\n  {line}\n")
    out = tmp_path / "bad.h5"
    r = run_neuromic("run", spec, "-o", out, check=False)
    assert r.returncode == 2
    assert "bad.yaml:3:" in r.stderr and field in r.stderr
    assert not out.exists()


def test_bad_combinations_are_refused_by_check_naming_the_point(tmp_path):
    # teach_gE_amp > teach_gE_offset only at one grid value: the kernel's
    # check() refuses that point (exit 2) before any rank computes.
    spec = tmp_path / "combo.yaml"
    spec.write_text("kernel: urbanczik\nfixed:\n  teach_gE_offset: 5.4\n"
                    "grid:\n  teach_gE_amp: [4.8, 6.0]\n")
    out = tmp_path / "combo.h5"
    r = run_neuromic("run", spec, "-o", out, check=False)
    assert r.returncode == 2, r.stderr
    assert "teach_gE_amp must not exceed teach_gE_offset" in r.stderr
    assert "teach_gE_amp=6" in r.stderr
    assert not out.exists()


RATES_SPEC = """\
kernel: urbanczik
base_seed: 11
fixed:
  task: rates
  n_inputs: 30
  n_patterns: 3
  pattern_ms: 50
  reps_before: 1
  reps_teach: 4
  reps_after: 1
  pi_dead: false
grid:
  eta: [0.0, 0.02]
replicates: 2
"""


@pytest.fixture(scope="module")
def rates(tmp_path_factory):
    return run_spec_text(tmp_path_factory, "rates", RATES_SPEC)


def test_rates_task_measures_the_weights_against_the_teachers(rates):
    ds = xr.open_dataset(rates, engine="h5netcdf")
    wt = ds["w_teacher"]
    # The teacher's weights: U[0, 180) pA, the same for every eta, new for each seed.
    assert float(wt.min()) >= 0 and float(wt.max()) < 180
    assert np.array_equal(wt.isel(eta=0).values, wt.isel(eta=1).values)
    assert not np.array_equal(wt.isel(seed=0).values, wt.isel(seed=1).values)
    # angle and error are those of w_rep against w_teacher.
    w = ds["w_rep"].values  # (eta, seed, rep, input)
    ws = wt.values[:, :, None, :]
    cos = (w * ws).sum(-1) / np.sqrt((w * w).sum(-1) * (ws * ws).sum(-1))
    np.testing.assert_allclose(ds["angle"].values, np.degrees(np.arccos(cos)), atol=1e-9)
    err = np.sqrt(((w - ws) ** 2).sum(-1) / (ws * ws).sum(-1))
    np.testing.assert_allclose(ds["w_error"].values, err, rtol=1e-12)
    # Without learning nothing moves; the traces cover one pattern.
    assert np.all(ds["w_final"].sel(eta=0.0).values == 90.0)
    assert ds.sizes["sample"] == 100
    # The teacher's V* sets U_M: inside the potentials a 0..180 pA dendrite reaches.
    um = ds["trace_UM"].values
    assert um.min() > -70.001 and um.max() < -30


def test_rates_analysis(rates, tmp_path, capsys):
    ds = urbanczik.load(rates)
    assert urbanczik.is_rates(ds)
    urbanczik.rates_table(ds)
    out = capsys.readouterr().out
    assert "### eta = 0" in out and "### eta = 0.02" in out and "| last taught | 4 |" in out
    urbanczik.params_table(ds)
    assert "angle before" in capsys.readouterr().out
    fig = tmp_path / "rates.png"
    assert urbanczik.main([str(rates), "--rates", "-o", str(fig), "--sel", "eta=0.02"]) == 0
    assert fig.stat().st_size > 10000
    assert urbanczik.main([str(rates)]) == 2  # the teacher form refuses a rates file
    assert "add --rates" in capsys.readouterr().err


def test_teacher_task_writes_minus_one_for_the_rates_outputs(ds):
    assert np.all(ds["angle"].values == -1) and np.all(ds["w_teacher"].values == -1)


MC_SPEC = """\
kernel: urbanczik
base_seed: 5
fixed:
  mc_n_train: 20
  mc_n_test: 2
  mc_n_record: 3
  mc_t_pattern: 20
  mc_eta_up_out: 0.01
grid:
  task: [self_predict, mc_teacher]
  mc_init: [random, self_predicting]
replicates: 2
"""
MC_RATE_SPEC = """\
kernel: microcircuit
base_seed: 5
fixed:
  task: self_predict
  eta_up: 0
  eta_up_out: 0
  n_train: 20
  n_test: 2
  n_record: 3
  t_pattern: 20
grid:
  init: [random, self_predicting]
"""


@pytest.fixture(scope="module")
def mc(tmp_path_factory):
    return run_spec_text(tmp_path_factory, "mc", MC_SPEC, ranks=None)


def test_self_predict_task_through_the_engine(mc, ds):
    m = xr.open_dataset(mc, engine="h5netcdf").sel(task="self_predict")
    assert m["mc_apical_error"].dims == ("mc_init", "seed", "record")
    assert np.all(m["mc_pattern"].values == [0, 10, 20])
    # From the self-predicting state the interneurons start on their partners and
    # the lateral weights are aligned; from random weights neither.
    first = m.isel(record=0)
    assert np.all(first["mc_interneuron_error"].sel(mc_init="self_predicting").values < 1e-3)
    assert np.all(first["mc_interneuron_error"].sel(mc_init="random").values > 0.05)
    assert np.all(first["mc_angle_pi_down"].sel(mc_init="self_predicting").values < 1e-6)
    assert np.all(first["mc_angle_pi_down"].sel(mc_init="random").values > 45)
    # Firing near 75 Hz x the dead time's reduction at u ~ 0 (NEST's phi_max 0.15/ms).
    assert np.all((m["mc_rate_hidden"].values > 30) & (m["mc_rate_hidden"].values < 100))
    # The other tasks' outputs are -1 here, and this task's are -1 in theirs.
    assert np.all(m["corr"].values == -1) and np.all(m["w_final"].values == -1)
    assert np.all(ds["mc_apical_error"].values == -1) and np.all(ds["mc_pattern"].values == -1)


def test_self_predict_analysis_beside_the_rate_kernel(mc, tmp_path_factory, tmp_path, capsys):
    rate = run_spec_text(tmp_path_factory, "mcrate", MC_RATE_SPEC, ranks=None)
    fig = tmp_path / "mc.png"
    assert urbanczik.main([str(mc), "--mc", str(rate), "-o", str(fig)]) == 0
    out = capsys.readouterr().out
    assert "| rate | init = random |" in out and "| spiking | mc_init = self_predicting |" in out
    assert fig.stat().st_size > 10000
    # the two files the wrong way round
    assert urbanczik.main([str(rate), "--mc", str(mc)]) == 2
    assert "self_predict" in capsys.readouterr().err


def test_self_predict_refuses_a_pattern_shorter_than_two_steps(tmp_path):
    spec = tmp_path / "short.yaml"
    spec.write_text("kernel: urbanczik\nfixed:\n  task: self_predict\n  mc_t_pattern: 0.1\n")
    out = tmp_path / "short.h5"
    r = run_neuromic("run", spec, "-o", out, check=False)
    assert r.returncode == 2, r.stderr
    assert "mc_t_pattern = 0.1 must be at least two steps" in r.stderr
    assert not out.exists()


def test_mc_teacher_task_and_its_analysis(mc, tmp_path, capsys):
    m = xr.open_dataset(mc, engine="h5netcdf")
    mse = m["mc_test_mse"].sel(task="mc_teacher").values
    assert np.all(np.isfinite(mse)) and np.all(mse > 0)
    # the self-predicting task has no targets
    assert np.all(m["mc_test_mse"].sel(task="self_predict").values == -1)
    fig = tmp_path / "mct.png"
    assert urbanczik.main([str(mc), "--mc-teacher", "-o", str(fig)]) == 0
    assert "| mc_init = random |" in capsys.readouterr().out and fig.stat().st_size > 10000
