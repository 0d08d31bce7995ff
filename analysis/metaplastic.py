"""Tables and figures of the metaplastic kernel (meta-learned plasticity rules with
random feedback; Shervani-Tabar & Rosenbaum 2023, seed 003).

    /usr/bin/python3 -m analysis.metaplastic RESULT.h5 [RESULT.h5 ...] [-o FIG.png] [--window N]

For every result file and every combination of its grid axes other than seed, one row:
meta-test query accuracy (mean ± standard deviation over seeds, min..max, n = tasks
done; a task that failed, e.g. a rule that diverged, is left out), the query accuracy
of the first and the last N meta-training episodes (mean over those episodes and the
seeds), the rule after meta-training (theta_final: mean over seeds of each term
in the pool, and its spread; with learned feedback also the feedback rule
fb_theta_final, terms G0..G2), and the angle (deg) between each hidden layer's teaching
signal and backprop's, in the first and the last N episodes and at meta-test.

With -o, a figure: query accuracy over the meta-training episodes (moving mean over N
episodes, one line per seed) of the cells that learn their rule, and the mean level of
the fixed rules (dashed); the coefficients theta over the episodes (mean over seeds); and
the angle of the deepest hidden layer over the episodes, one line per seed.
"""
import argparse
import sys

import numpy as np

from analysis.summary import open_results
from analysis.urbanczik import _val  # an axis value as the sweep file writes it

NEEDED = ("meta_loss", "query_acc", "theta", "angle", "theta_final", "test_acc",
          "test_acc_mean", "test_angle")
TERMS = ("F0", "F1", "F2", "F3", "F4", "F5")
FB_TERMS = ("G0", "G1", "G2")


def load(path):
    ds = open_results(path)
    missing = [v for v in NEEDED if v not in ds]
    if missing:
        raise ValueError(f"{path}: no output {', '.join(missing)}; is this a result file of the "
                         "metaplastic kernel?")
    return ds


def cells(ds):
    """(title, dataset with at most a seed axis) for every combination of the other axes."""
    axes = [d for d in ds["test_acc_mean"].dims if d != "seed"]
    if not axes:
        yield "", ds
        return
    # zip partners are coordinates along their axis: name them too
    names = {a: [a] + [c for c in ds.coords if c != a and ds[c].dims == (a,)] for a in axes}
    for idx in np.ndindex(*(ds.sizes[a] for a in axes)):
        sel = dict(zip(axes, idx))
        yield ", ".join(f"{c} = {_val(ds[c].values[i])}" for a, i in sel.items()
                        for c in names[a]), ds.isel(sel)


def _ms(x, nd=3):
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "n/a"
    sd = x.std(ddof=1) if x.size > 1 else 0.0
    return f"{x.mean():.{nd}f} ± {sd:.{nd}f} ({x.min():.{nd}f}..{x.max():.{nd}f}, n={x.size})"


def row(cell, window):
    """The numbers of one cell (a dict), for the table and the tests."""
    qa = np.asarray(cell["query_acc"].values, dtype=float)
    qa = qa.reshape(-1, qa.shape[-1])  # (seeds, episodes)
    w = min(window, qa.shape[-1])
    ang = np.asarray(cell["angle"].values, dtype=float)
    ang = ang.reshape(-1, *ang.shape[-2:])  # (seeds, episodes, hidden)
    th = np.asarray(cell["theta_final"].values, dtype=float).reshape(-1, len(TERMS))
    done = np.isfinite(np.asarray(cell["test_acc_mean"].values, dtype=float).ravel())
    qa, ang, th = qa[done], ang[done], th[done]  # a failed task's outputs are NaN
    fb = (np.asarray(cell["fb_theta_final"].values, dtype=float).reshape(-1, len(FB_TERMS))[done]
          if "fb_theta_final" in cell else np.zeros((th.shape[0], len(FB_TERMS))))
    return {
        "test_acc": np.asarray(cell["test_acc_mean"].values, dtype=float).ravel(),
        "first": qa[:, :w].mean(axis=1),
        "last": qa[:, -w:].mean(axis=1),
        "theta": th,
        "fb_theta": fb,
        "angle_first": ang[:, :w].mean(axis=(0, 1)),
        "angle_last": ang[:, -w:].mean(axis=(0, 1)),
        "angle_test": np.asarray(cell["test_angle"].values, dtype=float)
        .reshape(-1, ang.shape[-1])[done].mean(axis=0),
    }


def _theta_text(th, names=TERMS):
    used = [k for k in range(th.shape[1]) if np.any(th[:, k] != 0)]
    return " ".join(f"{names[k]} {th[:, k].mean():+.4f}±{th[:, k].std():.4f}" for k in used)


def table(paths, window=50, out=None):
    out = out or sys.stdout
    print(f"| file | cell | meta-test accuracy | query acc., first {window} episodes | "
          f"last {window} | theta_final (mean±sd over seeds) | angle first → last → "
          "meta-test (deg, per hidden layer) |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    for path in paths:
        ds = load(path)
        for title, cell in cells(ds):
            r = row(cell, window)
            angles = ", ".join(f"{a:.1f} → {b:.1f} → {c:.1f}" for a, b, c in
                               zip(r["angle_first"], r["angle_last"], r["angle_test"]))
            print(f"| {path.split('/')[-1]} | {title} | {_ms(r['test_acc'])} | "
                  f"{r['first'].mean():.3f} | {r['last'].mean():.3f} | "
                  f"{_theta_text(r['theta'])}{'; feedback ' if r['fb_theta'].any() else ''}"
                  f"{_theta_text(r['fb_theta'], FB_TERMS)} | {angles} |", file=out)
    print(file=out)


def _moving(x, w):
    if x.shape[-1] < w:
        return x
    k = np.ones(w) / w
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), -1, x)


def figure(paths, fig_path, window=50):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
    colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10)
    for path in paths:
        ds = load(path)
        stem = path.split("/")[-1].removesuffix(".h5").removeprefix("metaplastic-")
        for title, cell in cells(ds):
            title = f"{stem}: {title}" if len(paths) > 1 else title
            qa = np.asarray(cell["query_acc"].values, dtype=float)
            qa = qa.reshape(-1, qa.shape[-1])
            qa = qa[np.all(np.isfinite(qa), axis=1)]  # failed tasks left out
            th = np.asarray(cell["theta"].values, dtype=float)
            th = th.reshape(-1, *th.shape[-2:])
            learned = np.nanmax(np.ptp(th, axis=1)) > 0
            color = next(colors)
            if not learned:  # a fixed rule: its mean accuracy as a level
                ax[0].axhline(qa.mean(), color=color, ls="--", lw=0.8, label=title)
                continue
            sm = _moving(qa, window)
            x = np.arange(sm.shape[-1]) + window
            for k, run in enumerate(sm):  # every seed: they differ more than a band shows
                ax[0].plot(x, run, color=color, lw=1, label=title if k == 0 else None)
            thm = np.nanmean(th, axis=0)
            for k in range(thm.shape[1]):
                if np.any(thm[:, k] != 0):
                    ax[1].plot(thm[:, k], color=color, lw=1,
                               ls=("-", "--", ":", "-.", (0, (5, 1)), (0, (1, 3)))[k],
                               label=f"{TERMS[k]} ({title})")
            ang = np.asarray(cell["angle"].values, dtype=float)
            ang = ang.reshape(-1, *ang.shape[-2:])[..., -1]  # deepest hidden layer
            ang = _moving(ang[np.all(np.isfinite(ang), axis=1)], window)
            for k, run in enumerate(ang):
                ax[2].plot(np.arange(run.size) + window, run, color=color, lw=1,
                           label=title if k == 0 else None)
    ax[0].set(xlabel="meta-training episode",
              ylabel=f"query accuracy ({window}-episode mean; each seed)")
    ax[1].set(xlabel="meta-training episode", ylabel="theta (mean over seeds)")
    ax[2].set(xlabel="meta-training episode",
              ylabel="deepest hidden layer: angle to backprop's signal (deg)")
    for a in ax:
        a.legend(fontsize=5)
    fig.tight_layout()
    fig.savefig(fig_path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("-o", "--figure")
    ap.add_argument("--window", type=int, default=50)
    a = ap.parse_args(argv)
    try:
        table(a.results, a.window)
        if a.figure:
            figure(a.results, a.figure, a.window)
    except (OSError, ValueError) as e:
        print(f"analysis.metaplastic: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
