"""The metaplastic kernel through the engine (a tiny sweep on 2 ranks): outputs and
their axes, common random numbers across conditions, input checks before any task
(exit 2, no output file), and the analysis (analysis/metaplastic.py) on its file."""
import os

import numpy as np
import pytest
import xarray as xr

from conftest import run_neuromic, run_spec_text

from analysis import metaplastic

FMNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
pytestmark = pytest.mark.skipif(not os.path.exists(FMNIST), reason="no Fashion-MNIST")

BASE = """\
kernel: metaplastic
base_seed: 5
replicates: 2
fixed:
  downsample: true
  n_in: 196
  h1: 12
  h2: 8
  h3: 0
  h4: 0
  shots: 5
  queries: 3
  episodes: 4
  test_episodes: 3
  max_images: 3000
"""
SPEC = BASE + """\
zip:
  - {feedback: [fa, bp, fa, fa, learned, fa], theta0: [0.0, 0.0, 0.05, 0.05, 0.05, 0.05],
     meta_lr: [0, 0, 0, 0.01, 0.01, 0.01], meta_batch: [1, 1, 1, 1, 1, 2]}
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_spec_text(tmp_path_factory, "mp", SPEC)


def test_every_task_done_with_labelled_axes(result, ds):
    tasks = xr.open_dataset(result, engine="h5netcdf", group="tasks")
    assert np.all(tasks["status"].values == 1)
    assert ds["query_acc"].dims == ("seed", "feedback", "episode")
    assert ds["theta"].dims == ("seed", "feedback", "episode", "term")
    assert ds.sizes["term"] == 6 and ds.sizes["hidden"] == 2 and ds.sizes["test_episode"] == 3
    acc = ds["test_acc"].values
    assert np.all((acc >= 0) & (acc <= 1))
    np.testing.assert_allclose(ds["test_acc_mean"].values, acc.mean(-1))


def test_conditions_share_episodes_and_weights(ds):
    # theta = 0: nothing is learned, so fa and bp see the same episodes and weights and
    # give the same losses; other seeds give other episodes.
    none = ds.isel(feedback=[0, 1])
    ml = none["meta_loss"].values
    np.testing.assert_array_equal(ml[:, 0], ml[:, 1])
    np.testing.assert_array_equal(none["test_loss"].values[:, 0], none["test_loss"].values[:, 1])
    assert not np.array_equal(ml[0, 0], ml[1, 0])
    # bp's teaching signals are backprop's; fa's are not.
    assert np.all(ds["angle"].isel(feedback=1).values == 0)
    assert np.all(ds["angle"].isel(feedback=0).values > 10)
    # a fixed rule stays put; a learned one moves, and the first episodes agree until it does
    th = ds["theta"].values
    assert np.all(th[:, 2, :, 0] == 0.05) and np.all(th[:, 2, :, 1:] == 0)
    assert np.all(th[:, 3, 1:, 0] != 0.05)
    np.testing.assert_array_equal(ds["meta_loss"].values[:, 2, 0], ds["meta_loss"].values[:, 3, 0])
    assert np.all(ds["meta_grad"].values[:, 3, :, 0] != 0)
    assert np.all(ds["meta_grad"].values[:, 2] == 0)


def test_learned_feedback_and_meta_batch(ds):
    fb = ds["fb_theta"].values  # (seed, feedback, episode, fb_term)
    assert ds["fb_theta"].dims == ("seed", "feedback", "episode", "fb_term")
    # the feedback rule starts at 0 (feedback alignment) and moves; elsewhere it is 0
    assert np.all(fb[:, 4, 0] == 0) and np.all(fb[:, 4, 1:] != 0)
    assert np.all(np.delete(fb, 4, axis=1) == 0)
    np.testing.assert_array_equal(ds["fb_theta_final"].values[:, 4] != 0, True)
    # learned at phi = 0 is fa: the first episode's loss is the same as fa's with that start
    ml = ds["meta_loss"].values
    np.testing.assert_array_equal(ml[:, 4, 0], ml[:, 3, 0])
    # meta_batch 2: one Adam step per two episodes
    th = ds["theta"].values[:, 5, :, 0]
    assert np.all(th[:, 1] == th[:, 0]) and np.all(th[:, 2] != th[:, 1])
    assert np.all(th[:, 3] == th[:, 2])


def test_analysis_table_and_figure(result, tmp_path, capsys):
    assert metaplastic.main([str(result), "--window", "2", "-o", str(tmp_path / "f.png")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| mp.h5 | feedback = ") == 6
    assert "; feedback G0 " in out
    assert "F0 +0.0500±0.0000" in out
    assert (tmp_path / "f.png").stat().st_size > 10000


def test_analysis_refuses_other_files(small_result, capsys):
    assert metaplastic.main([str(small_result)]) == 2
    assert "metaplastic kernel" in capsys.readouterr().err


@pytest.mark.parametrize("key, value, message", [
    ("n_in", 784, "n_in = 784 does not match the images of"),
    ("shots", 5000, "shots + queries = 5003 exceeds the"),
    ("h4", 4, "h3 = 0 ends the hidden layers, but h4 = 4 is not 0"),
])
def test_bad_sizes_are_refused_before_any_task(tmp_path, key, value, message):
    lines = [f"  {key}: {value}" if ln.startswith(f"  {key}:") else ln
             for ln in BASE.splitlines()]
    spec = tmp_path / "bad.yaml"
    spec.write_text("\n".join(lines) + "\n")
    out = tmp_path / "bad.h5"
    r = run_neuromic("run", spec, "-o", out, ranks=2, check=False)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert not out.exists() and not list(tmp_path.glob("bad.h5.tmp*"))


def _idx(path, data, dims):
    """An IDX ubyte file (gzip, as Debian ships them)."""
    import gzip
    import struct
    head = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(head + bytes(data))


def test_any_idx_set_by_path_with_47_classes(tmp_path):
    # EMNIST balanced's layout: 47 classes, files with the emnist-balanced- prefix, found
    # through NEUROMIC_IDX_DIR. Random 28x28 images, 12 per class.
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(47), 12)
    rng.shuffle(labels)
    _idx(tmp_path / "emnist-balanced-train-images-idx3-ubyte.gz",
         rng.integers(0, 256, labels.size * 784, dtype=np.uint8), (labels.size, 28, 28))
    _idx(tmp_path / "emnist-balanced-train-labels-idx1-ubyte.gz", labels.astype(np.uint8),
         (labels.size,))
    spec = tmp_path / "em.yaml"
    spec.write_text("kernel: metaplastic\nfixed: {dataset: emnist-balanced, test_classes: 10, "
                    "h1: 8, h2: 0, h3: 0, h4: 0, shots: 4, queries: 2, episodes: 3, "
                    "test_episodes: 2}\n")
    out = tmp_path / "em.h5"
    env = dict(os.environ, NEUROMIC_IDX_DIR=str(tmp_path))
    old = os.environ.copy()
    os.environ.update(env)
    try:
        run_neuromic("run", spec, "-o", out, "--quiet")
        spec.write_text(spec.read_text().replace("shots: 4", "shots: 11"))
        r = run_neuromic("run", spec, "-o", tmp_path / "bad.h5", check=False)
    finally:
        os.environ.clear()
        os.environ.update(old)
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.sizes["episode"] == 3 and np.all(np.isfinite(ds["test_acc"].values))
    assert r.returncode == 2
    assert "shots + queries = 13 exceeds the 12 images of class 0 in" in r.stderr
    assert "emnist-balanced-train-labels-idx1-ubyte.gz" in r.stderr
