"""Tables and figure of the dendnet kernel: how deep a temporal convolutional network must
be to mimic a neuron, with and without NMDA (Beniaguev, Segev and London 2021).

    /usr/bin/python3 -m analysis.dendnet results/dendnet-depth.h5 [-o FIG.png]

For every value of the grid axes other than condition, depth and seed (none in
sweeps/dendnet-depth.yaml) and every condition, the table gives by depth the test AUC
of spike prediction (mean, standard deviation and min..max over seeds), the TPR at 0.25 %
false positives, voltage RMSE and explained variance, the best test AUC over the epochs
(optimistic: an epoch chosen on the test set itself; it shows what overfitting costs), and
the output rates, and (kernel version 2) the validation AUC of the kept weights and the
epoch kept (counted from 1) out of the epochs run before early stopping; then the
gain in AUC over depth 1 (paired by seed: the networks of one seed are fitted to the
same simulations) and the verdict on the reference's effect:
  ampa (and lif): no depth gains 0.002 AUC or more over depth 1 (mean over seeds);
  nmda: some depth >= 3 gains 0.01 AUC or more over depth 1.
With -o it draws AUC against depth for each condition (mean, min..max band) and the
test AUC over the epochs (training curves) of every depth, first seed.
"""
import argparse
import itertools
import sys

import numpy as np

from analysis.summary import open_results

NEEDED = ("auc", "tpr", "v_rmse", "v_explained", "rate_train", "rate_test", "ampa_scale",
          "curve_auc", "curve_loss")
OWN = ("condition", "depth", "seed")


def load(path):
    ds = open_results(path)
    missing = [v for v in NEEDED if v not in ds]
    if missing or "depth" not in ds["auc"].dims:
        raise ValueError(f"{path}: no output {', '.join(missing) or 'auc over depth'}; is this a "
                         "result file of the dendnet kernel with a depth axis?")
    return ds


def _groups(ds):
    """Selections over the grid axes that are not condition, depth or seed."""
    other = [d for d in ds["auc"].dims if d not in OWN]
    for vals in itertools.product(*(ds[d].values for d in other)):
        yield dict(zip(other, vals))


def _conditions(one):
    if "condition" in one["auc"].dims:
        return [(str(c), one.sel(condition=c)) for c in one["condition"].values]
    return [("(fixed)", one)]


def _over_seeds(da, fn):
    return fn(da, "seed") if "seed" in da.dims else da


def gains(one):
    """AUC(depth) - AUC(depth 1), by seed when there is a seed axis."""
    auc = one["auc"]
    return auc - auc.sel(depth=auc["depth"].values.min())


def verdict(name, g):
    """The reference's effect for one condition, from the gains over depth 1."""
    m = _over_seeds(g, lambda d, s: d.mean(s))
    depths = g["depth"].values
    if name == "nmda":
        deep = m.sel(depth=depths[depths >= 3])
        if deep.size == 0:
            return "no depth >= 3 in the sweep"
        best = float(deep.max())
        return (f"best gain of depth >= 3 over depth 1: {best:+.4f} "
                f"({'shows' if best >= 0.01 else 'does not show'} the effect: >= 0.01)")
    rest = m.sel(depth=depths[depths > 1])
    if rest.size == 0:
        return "no depth > 1 in the sweep"
    best = float(rest.max())
    return (f"largest gain of a depth > 1 over depth 1: {best:+.4f} "
            f"({'as' if best < 0.002 else 'unlike'} the reference: < 0.002)")


def _fmt_stats(da, nd=4):
    if "seed" not in da.dims:
        return f"{float(da):.{nd}f}"
    v = da.values
    return (f"{v.mean():.{nd}f} ± {v.std(ddof=1) if v.size > 1 else 0:.{nd}f} "
            f"({v.min():.{nd}f}..{v.max():.{nd}f})")


def table(ds, out=None):
    out = out or sys.stdout
    for sel in _groups(ds):
        one = ds.sel(sel) if sel else ds
        if sel:
            print("### " + ", ".join(f"{k} = {v}" for k, v in sel.items()), file=out)
        for name, c in _conditions(one):
            nseed = c.sizes.get("seed", 1)
            scale = _over_seeds(c["ampa_scale"].isel(depth=0), lambda d, s: d.mean(s))
            print(f"\ncondition {name}: {nseed} seed(s); output rate train "
                  f"{float(c['rate_train'].mean()):.2f} Hz, test {float(c['rate_test'].mean()):.2f} Hz"
                  + (f"; AMPA scaled by {float(scale):.3f} to match the nmda rate"
                     if name == "ampa" else ""), file=out)
            stop = "epoch_kept" in c  # kernel version 2: validation and early stopping
            print("\n| depth | AUC mean ± sd (min..max) | gain over depth 1 (paired) | TPR at 0.25 % FPR |"
                  " V RMSE (mV) | V explained variance | best AUC over epochs (on test) |"
                  + (" validation AUC | epoch kept / run (mean) |" if stop else ""), file=out)
            print("|---|---|---|---|---|---|---|" + ("---|---|" if stop else ""), file=out)
            g = gains(c)
            best = c["curve_auc"].max("epoch")
            for d in c["depth"].values:
                cd = c.sel(depth=d)
                print(f"| {int(d)} | {_fmt_stats(cd['auc'])} | {_fmt_stats(g.sel(depth=d))} | "
                      f"{_fmt_stats(cd['tpr'], 3)} | {_fmt_stats(cd['v_rmse'], 3)} | "
                      f"{_fmt_stats(cd['v_explained'], 3)} | {_fmt_stats(best.sel(depth=d))} |"
                      + (f" {_fmt_stats(cd['val_auc'])} | {float(cd['epoch_kept'].mean()) + 1:.1f}"
                         f" / {float(cd['epochs_run'].mean()):.1f} |" if stop else ""), file=out)
            print(f"\n{name}: {verdict(name, g)}", file=out)


def figure(ds, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = next(_groups(ds))
    one = ds.sel(sel) if sel else ds
    conds = _conditions(one)
    fig, axes = plt.subplots(1, 1 + len(conds), figsize=(4.2 * (1 + len(conds)), 3.8))
    ax = axes[0]
    for name, c in conds:
        auc = c["auc"]
        depth = auc["depth"].values
        m = _over_seeds(auc, lambda d, s: d.mean(s)).values
        ax.plot(depth, m, "o-", label=name)
        if "seed" in auc.dims:
            ax.fill_between(depth, auc.min("seed").values, auc.max("seed").values, alpha=0.2)
    ax.set_xlabel("TCN depth (layers)")
    ax.set_ylabel("test AUC (1 ms bins)")
    ax.set_title("spike prediction by depth\n(mean over seeds, min..max band)", fontsize=9)
    ax.legend(fontsize=8)
    for ax, (name, c) in zip(axes[1:], conds):
        cur = c["curve_auc"]
        if "seed" in cur.dims:
            cur = cur.isel(seed=0)
        for d in c["depth"].values:
            y = cur.sel(depth=d).values
            y = np.where(y < 0, np.nan, y)  # -1: epochs after an early stop
            ax.plot(np.arange(1, y.size + 1), y, label=f"depth {int(d)}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test AUC")
        ax.set_title(f"{name}: test AUC over training (seed 0)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--figure", help="draw AUC by depth and the training curves here")
    a = ap.parse_args(argv)
    try:
        ds = load(a.file)
        table(ds)
        if a.figure:
            figure(ds, a.figure)
    except (ValueError, KeyError, OSError) as e:
        print(f"analysis.dendnet: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
