"""Summarise a neuromic result file: dimensions, outputs, task status, provenance.

    /usr/bin/python3 -m analysis.summary results/demo.h5
"""
import argparse
import sys

import h5py
import numpy as np
import xarray as xr

STATUS = {0: "pending", 1: "done", 2: "failed"}


def open_results(path):
    """The result datasets with labelled dimensions (an xarray.Dataset)."""
    return xr.open_dataset(path, engine="h5netcdf")


def open_tasks(path):
    """The per-task table (status, rank, host, seconds, error) by task id."""
    return xr.open_dataset(path, engine="h5netcdf", group="tasks")


def _text(v):
    """HDF5 fixed-length strings come back from h5py as bytes; show them as text."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind == "S":
        return [x.decode("utf-8", "replace") for x in v.ravel()]
    return v


def summary(path, out=None):
    ds = open_results(path)
    with h5py.File(path, "r") as f:
        attrs = {k: _text(f.attrs[k]) for k in f.attrs}
        status = f["tasks/status"][...]
        # The sweep's end: the first run that completed it (/attempts status
        # 0, or 4 with failed tasks); the root attributes describe the first run.
        ended = None
        if "attempts" in f:
            ast, aend = f["attempts/status"][...], f["attempts/end_time"][...]
            done = [i for i, s in enumerate(ast) if s in (0, 4)]
            ended = _text(aend[done[0]]) if done else None
    out = out or sys.stdout  # looked up per call, so redirection (and pytest's capsys) works
    p = lambda *a: print(*a, file=out)
    p(f"{path}: kernel {attrs.get('kernel')} (version {attrs.get('kernel_version')}), "
      f"{attrs.get('tasks')} tasks on {attrs.get('ranks')} ranks")
    p(f"  started {attrs.get('start_time')}, ended {ended or attrs.get('end_time') or '(not finished)'}")
    p("  dimensions: " + ", ".join(f"{k}={v}" for k, v in ds.sizes.items()))
    for name, var in ds.data_vars.items():
        vals = var.values
        finite = vals[np.isfinite(vals)] if vals.dtype.kind == "f" else vals
        rng = f"{finite.min():.6g} .. {finite.max():.6g}" if finite.size else "no values"
        p(f"  {name}{tuple(var.dims)}: {rng}")
    counts = {STATUS.get(int(s), str(s)): int((status == s).sum()) for s in np.unique(status)}
    p("  tasks: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    ds.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    summary(ap.parse_args(argv).file)


if __name__ == "__main__":
    main()
