import os
import pathlib
import subprocess

import pytest
import xarray as xr

ROOT = pathlib.Path(__file__).resolve().parents[2]
NEUROMIC = ROOT / "build" / "neuromic"


def run_neuromic(*args, ranks=None, check=True):
    env = dict(os.environ)
    if os.getuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [str(NEUROMIC), *map(str, args)]
    if ranks:
        cmd = ["mpirun", "--oversubscribe", "-n", str(ranks), *cmd]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=check, capture_output=True, text=True)


def run_spec_text(tmp_path_factory, name, text, ranks=2):
    """Writes `text` as NAME.yaml in a fresh directory, runs it on `ranks`
    ranks into NAME.h5 there, and returns that file's path."""
    d = tmp_path_factory.mktemp(name)
    spec = d / f"{name}.yaml"
    spec.write_text(text)
    out = d / f"{name}.h5"
    run_neuromic("run", spec, "-o", out, "--quiet", ranks=ranks)
    return out


@pytest.fixture(scope="session")
def small_result(tmp_path_factory):
    """tests/data/sweeps/small.yaml run on 2 ranks."""
    out = tmp_path_factory.mktemp("runs") / "small.h5"
    run_neuromic("run", "tests/data/sweeps/small.yaml", "-o", out, "--quiet", ranks=2)
    return out


@pytest.fixture(scope="module")
def ds(result):
    """The module's `result` file (each test module defines that fixture) as an xarray
    Dataset."""
    return xr.open_dataset(result, engine="h5netcdf")
