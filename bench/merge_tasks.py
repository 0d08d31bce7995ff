"""Merges one-task neuromic result files into one HDF5 file: the second half
of the one-process-per-task baseline of bench/engine.py (figure 1), doing
what a user of GNU parallel or a job array would do afterwards.

    /usr/bin/python3 bench/merge_tasks.py OUT.h5 AXIS TASK.h5...

Every TASK.h5 is a `neuromic run` of one parameter point (the sweep's other
parameters pinned with --set); AXIS names the parameter that tells the points
apart (an integer, read from the file's root attribute `overrides`). OUT.h5
gets one dataset per output with the task files' results stacked along a
first dimension in order of AXIS, the AXIS values themselves, and the task
table's status and seconds.
"""
import re
import sys

import h5py
import numpy as np


def point_value(f, axis):
    """The value of AXIS pinned in this file's overrides ("axis=VALUE")."""
    overrides = f.attrs["overrides"]
    if isinstance(overrides, bytes):
        overrides = overrides.decode()
    m = re.search(r"(?:^|[\s;,])%s=(-?\d+)" % re.escape(axis), str(overrides))
    if not m:
        raise SystemExit(f"merge_tasks: {f.filename}: no '{axis}=' in its overrides "
                         f"({overrides!r})")
    return int(m.group(1))


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    out, axis, paths = argv[0], argv[1], argv[2:]
    rows = []
    names = None
    for p in paths:
        with h5py.File(p, "r") as f:
            if names is None:
                # The outputs: root datasets that are not dimension scales.
                names = [k for k, v in f.items()
                         if isinstance(v, h5py.Dataset) and v.attrs.get("CLASS") is None]
            rows.append((point_value(f, axis),
                         {k: f[k][()] for k in names},
                         f["tasks/status"][()], f["tasks/seconds"][()]))
    rows.sort(key=lambda r: r[0])
    with h5py.File(out, "w") as g:
        g[axis] = np.array([r[0] for r in rows], dtype=np.int64)
        for k in names:
            g.create_dataset(k, data=np.stack([np.asarray(r[1][k]) for r in rows]))
        g["tasks/status"] = np.concatenate([r[2] for r in rows])
        g["tasks/seconds"] = np.concatenate([r[3] for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
