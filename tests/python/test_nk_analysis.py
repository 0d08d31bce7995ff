"""The nk kernel through the engine (tests/data/sweeps/nk_small.yaml on 2 ranks)
and the Figure 4 analysis (analysis/bull2024.py) on its result file."""
import math

import numpy as np
import pytest
import xarray as xr

from conftest import run_neuromic

from analysis import bull2024

SPEC = "tests/data/sweeps/nk_small.yaml"
N, H, CYCLES, EVERY = [8, 12], 4, 300, 50


@pytest.fixture(scope="module")
def nk_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("nk") / "nk_small.h5"
    run_neuromic("run", SPEC, "-o", out, "--quiet", ranks=2)
    return out


@pytest.fixture(scope="module")
def ds(nk_result):
    return xr.open_dataset(nk_result, engine="h5netcdf")


def test_every_task_done_with_labelled_axes(nk_result, ds):
    tasks = xr.open_dataset(nk_result, engine="h5netcdf", group="tasks")
    assert np.all(tasks["status"].values == 1)
    assert ds["test_mse"].dims == ("N", "K", "model", "seed")
    assert ds.sizes["record"] == CYCLES // EVERY + 1
    assert [str(m) for m in ds["model"].values] == ["nmlp", "hmlp", "mlp"]


def test_models_start_from_the_same_data_and_weights(ds):
    # Cycle 0: same landscape, examples, encoder and output weights for every
    # model of one (N, K, seed); different seeds give different starts.
    start = ds["test_curve"].isel(record=0).values  # (N, K, model, seed)
    assert np.all(start == start[:, :, :1, :])
    assert len(np.unique(start[0, 0, 0, :])) == ds.sizes["seed"]
    train0 = ds["train_curve"].isel(record=0).values
    assert np.all(train0 == train0[:, :, :1, :])


def test_final_values_match_the_curves_and_the_counts(ds):
    assert np.array_equal(ds["test_curve"].isel(record=-1).values, ds["test_mse"].values)
    np.testing.assert_allclose(ds["train_curve"].isel(record=-1).values, ds["train_mse"].values,
                               rtol=1e-12)
    recon = ds["recon_mse"]
    assert np.all(recon.sel(model="mlp").values == -1)
    assert np.all(recon.sel(model=["nmlp", "hmlp"]).values > 0)
    for n in N:
        p = ds["nparams"].sel(N=n)
        assert np.all(p.sel(model="mlp").values == H * (n + 1) + H + 1)
        assert np.all(p.sel(model="nmlp").values == H * (2 * n + 1) + H + 1)
        assert np.all(p.sel(model="hmlp").values == H * (2 * n + 1) + H + 1)
    hidden = ds["hidden_cycles"].values
    assert np.all((hidden > 0.35 * CYCLES) & (hidden < 0.65 * CYCLES))
    assert np.all(ds["accepted_hidden"].values <= hidden)
    assert np.all(ds["accepted_output"].values <= CYCLES - hidden)
    # The climber only keeps improvements of the training error on output
    # moves, and mlp is judged by it throughout: its error never goes up.
    mlp = ds["train_curve"].sel(model="mlp").values
    assert np.all(np.diff(mlp, axis=-1) <= 1e-15)


def test_full_evaluation_gives_the_same_results(tmp_path, ds):
    out = tmp_path / "full.h5"
    run_neuromic("run", SPEC, "-o", out, "--quiet", "--set", "eval=full", "--set", "N=8",
                 "--set", "grid.seed=[0, 1]")
    full = xr.open_dataset(out, engine="h5netcdf")
    inc = ds.sel(N=8).isel(seed=slice(0, 2))
    np.testing.assert_allclose(full["test_mse"].values, inc["test_mse"].values, rtol=1e-12)
    assert np.array_equal(full["accepted_hidden"].values, inc["accepted_hidden"].values)


def test_k_not_below_n_is_refused_before_any_rank_computes(tmp_path):
    # nk's check() rejects the point when the spec is read: exit status 2,
    # the point named, no result file.
    out = tmp_path / "bad.h5"
    for cmd in (("plan", SPEC), ("run", SPEC, "-o", out, "--quiet")):
        r = run_neuromic(*cmd, "--set", "N=3", "--set", "K=3", "--set", "model=mlp",
                         "--set", "grid.seed=[0, 1]", check=False)
        assert r.returncode == 2, r.stderr
        assert "K must be less than N" in r.stderr and "got K=3 N=3" in r.stderr, r.stderr
        assert "seed=0" in r.stderr and "2 of 2 points are rejected" in r.stderr, r.stderr
    assert not out.exists()


def test_analysis_tests_and_verdicts(nk_result):
    da = bull2024.load(nk_result)
    rows = bull2024.compare(da)
    assert len(rows) == 4
    for r in rows:
        a = da.sel(N=r["N"], K=r["K"], model="nmlp").values
        b = da.sel(N=r["N"], K=r["K"], model="hmlp").values
        d = a - b
        t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
        assert r["t_paired"] == pytest.approx(t, rel=1e-9)
        sa, sb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        assert r["t_welch"] == pytest.approx((a.mean() - b.mean()) / math.sqrt(sa + sb), rel=1e-9)
        assert r["verdict"] in ("nmlp better", "hmlp better", "no difference")
        assert (r["verdict"] == "no difference") == (r["p_paired"] >= 0.05)
    words = bull2024.claim(rows)
    assert words[0].startswith("N=8:") and words[1].startswith("N=12:")
    assert "| N | K |" in bull2024.table(rows)


def test_claim_is_read_from_the_verdicts():
    def row(n, k, v):
        return dict(N=n, K=k, verdict=v)
    agree = [row(20, 0, "nmlp better"), row(20, 4, "nmlp better"),
             row(100, 0, "no difference"), row(100, 4, "no difference")]
    assert bull2024.claim(agree)[-1].startswith("Agrees with the paper")
    mixed = [row(20, 0, "nmlp better"), row(20, 4, "no difference"),
             row(100, 0, "no difference"), row(100, 4, "hmlp better")]
    words = bull2024.claim(mixed)
    assert any(w.startswith("Does not match") for w in words)
    assert any("hMLP is significantly better" in w for w in words)


def test_analysis_command_writes_the_figure_next_to_the_file(nk_result, tmp_path, capsys):
    res = tmp_path / "copy.h5"
    res.write_bytes(nk_result.read_bytes())
    assert bull2024.main([str(res), "--table", str(tmp_path / "t.md")]) == 0
    png = res.with_suffix(".png")
    assert png.stat().st_size > 10000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "verdict" in (tmp_path / "t.md").read_text()
    assert "figure:" in capsys.readouterr().out


def test_analysis_joins_runs_of_other_seeds(nk_result, tmp_path):
    more = tmp_path / "seed3.h5"
    run_neuromic("run", SPEC, "-o", more, "--quiet", "--set", "grid.seed=[3]", "--set", "grid.N=[8]")
    da = bull2024.load([more, nk_result])
    assert list(da["seed"].values) == [0, 1, 2, 3]
    assert list(da["N"].values) == N
    one = bull2024.load(nk_result)
    assert np.array_equal(da.sel(seed=[0, 1, 2], model=["nmlp", "hmlp", "mlp"]).values, one.values)
    assert np.all(np.isfinite(da.sel(N=8, seed=3).values))
    assert np.all(np.isnan(da.sel(N=12, seed=3).values))  # not in the second file
    runs = {(r["N"], r["K"]): r["n"] for r in bull2024.compare(da)}
    assert runs == {(8, 0): 4, (8, 3): 4, (12, 0): 3, (12, 3): 3}
    with pytest.raises(ValueError, match="earlier file also"):
        bull2024.load([nk_result, nk_result])


def test_analysis_refuses_other_files(small_result, capsys):
    assert bull2024.main([str(small_result)]) == 2
    assert "test_mse" in capsys.readouterr().err


def test_mean_predictor_formula_matches_simulated_landscapes():
    import sys
    sys.path.insert(0, str(bull2024.pathlib.Path(__file__).resolve().parents[2] / "bench" / "nk"))
    import nk_numpy
    rng = np.random.default_rng(5)
    for n, k in [(10, 0), (10, 2), (12, 6)]:
        v = np.mean([nk_numpy.nk_data(n, k, 2000, rng)[1].var() for _ in range(40)])
        assert v == pytest.approx(bull2024.mean_predictor_mse(n, k), rel=0.1), (n, k)
