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

    /usr/bin/python3 -m analysis.dendnet properties results/dendnet-neuron.h5 [MORE.h5 ...]
        [-o FIG.png]

The neuron-property sweep (sweeps/dendnet-neuron.yaml and its runs with --set): one row
per neuron (every combination of the axes other than condition, depth and seed, e.g. the
points of a zip group, of each file in turn), with the values of its parameters along those axes, what differs from the first
neuron (the baseline), the output rates and conductance factors of both conditions (with
rate_target they are brought to one rate), the depth-1 AUC, and for every deeper depth the
gain over depth 1 of nmda and of ampa and the difference nmda - ampa (paired by seed: mean
± sd, then the seeds' values), and whether the reference's criteria hold (nmda: the best
mean gain of a depth >= 3 is >= 0.01; ampa: no mean gain of a depth > 1 reaches 0.002).
With -o it draws those gains and the training rates by neuron, seeds as dots.
"""
import argparse
import itertools
import sys

import numpy as np
import xarray as xr

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
    """Selections (by position: a zip axis may repeat values) over the grid axes that are
    not condition, depth or seed."""
    other = [d for d in ds["auc"].dims if d not in OWN]
    for idx in itertools.product(*(range(ds.sizes[d]) for d in other)):
        yield dict(zip(other, idx))


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


def criterion(name, g):
    """(best mean gain, criterion met) for one condition, from the gains over depth 1:
    nmda, the best depth >= 3 (>= 0.01); the others, the largest depth > 1 (< 0.002).
    (None, False) without such a depth."""
    m = _over_seeds(g, lambda d, s: d.mean(s))
    depths = g["depth"].values
    sel = m.sel(depth=depths[depths >= 3] if name == "nmda" else depths[depths > 1])
    if sel.size == 0:
        return None, False
    best = float(sel.max())
    return best, best >= 0.01 if name == "nmda" else best < 0.002


def verdict(name, g):
    """The reference's effect for one condition, from the gains over depth 1."""
    best, ok = criterion(name, g)
    if name == "nmda":
        if best is None:
            return "no depth >= 3 in the sweep"
        return (f"best gain of depth >= 3 over depth 1: {best:+.4f} "
                f"({'shows' if ok else 'does not show'} the effect: >= 0.01)")
    if best is None:
        return "no depth > 1 in the sweep"
    return (f"largest gain of a depth > 1 over depth 1: {best:+.4f} "
            f"({'as' if ok else 'unlike'} the reference: < 0.002)")


def _fmt_stats(da, nd=4):
    if "seed" not in da.dims:
        return f"{float(da):.{nd}f}"
    v = da.values
    return (f"{v.mean():.{nd}f} ± {v.std(ddof=1) if v.size > 1 else 0:.{nd}f} "
            f"({v.min():.{nd}f}..{v.max():.{nd}f})")


def table(ds, out=None):
    out = out or sys.stdout
    for sel in _groups(ds):
        one = ds.isel(sel) if sel else ds
        if sel:
            print("### " + ", ".join(f"{k} = {ds[k].values[i]}" for k, i in sel.items()), file=out)
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
    one = ds.isel(sel) if sel else ds
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


# ---- the neuron-property sweep ----

def neurons(dss):
    """(label, changed, dataset, selection) for every neuron of one or more sweeps, in
    order: the combinations of the axes other than condition, depth and seed, selected by
    position (a zip axis may repeat its first parameter's values). label: the parameters
    along those axes; changed: those that differ from the first neuron's, or that it does
    not have (a later run that adds an axis, e.g. --set "grid.Ra=[450]"), or "baseline"."""
    rows = []
    for ds in dss:
        for sel in _groups(ds):
            vals = {c: ds[c].values[i] for d, i in sel.items()
                    for c in ds.coords if ds[c].dims == (d,)}
            rows.append((vals, ds, sel))
    if not rows:
        return []
    base = rows[0][0]
    out = []
    for vals, ds, sel in rows:
        label = ", ".join(f"{k} {_num(v)}" for k, v in vals.items())
        diff = [f"{k} {_num(v)}" for k, v in vals.items() if k not in base or v != base[k]]
        out.append((label, ", ".join(diff) or "baseline", ds, sel))
    return out


def _num(v):
    return f"{float(v):g}" if np.issubdtype(np.asarray(v).dtype, np.number) else str(v)


def _seeds(da, nd=4):
    """mean ± sd [seed values] of a gain paired by seed."""
    v = np.atleast_1d(da.values)
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{v.mean():+.{nd}f} ± {sd:.{nd}f} [{', '.join(f'{x:+.{nd}f}' for x in v)}]"


def property_rows(dss):
    """Per neuron of one sweep or a list of them: its label and the numbers of the property
    table (a dict)."""
    dss = [dss] if isinstance(dss, xr.Dataset) else list(dss)
    for ds in dss:
        if "condition" not in ds["auc"].dims or not {"nmda", "ampa"} <= set(ds["condition"].values):
            raise ValueError("the property table needs both conditions, nmda and ampa")
    rows = []
    for label, changed, ds, sel in neurons(dss):
        one = ds.isel(sel)
        r = {"label": label, "changed": changed}
        g = {}
        for name in ("nmda", "ampa"):
            c = one.sel(condition=name)
            r[f"{name}_rate"] = float(c["rate_train"].isel(depth=0).mean())
            scale = c["exc_scale" if name == "nmda" and "exc_scale" in c else "ampa_scale"]
            r[f"{name}_scale"] = float(scale.isel(depth=0).mean())
            r[f"{name}_auc1"] = float(c["auc"].isel(depth=0).mean())
            g[name] = gains(c)
            r[f"{name}_ok"] = criterion(name, g[name])[1]
        depths = g["nmda"]["depth"].values
        r["gains"] = {int(d): (g["nmda"].sel(depth=d), g["ampa"].sel(depth=d),
                               g["nmda"].sel(depth=d) - g["ampa"].sel(depth=d))
                      for d in depths[1:]}
        rows.append(r)
    return rows


def property_table(dss, out=None):
    out = out or sys.stdout
    rows = property_rows(dss)
    nseed = (dss if isinstance(dss, xr.Dataset) else dss[0]).sizes.get("seed", 1)
    print(f"{len(rows)} neurons, {nseed} seed(s); gains paired by seed: mean ± sd [seeds]\n",
          file=out)
    print("| neuron | changed | rate nmda / ampa (Hz, training) | exc_scale nmda | ampa_scale |"
          " AUC depth 1 nmda / ampa |", file=out)
    print("|---|---|---|---|---|---|", file=out)
    for r in rows:
        print(f"| {r['label']} | {r['changed']} | {r['nmda_rate']:.2f} / {r['ampa_rate']:.2f} |"
              f" {r['nmda_scale']:.3f} | {r['ampa_scale']:.3f} |"
              f" {r['nmda_auc1']:.4f} / {r['ampa_auc1']:.4f} |", file=out)
    for d in rows[0]["gains"] if rows else []:
        print(f"\n| changed | nmda gain, depth {d} - 1 | ampa gain | nmda - ampa | nmda >= 0.01 |"
              " ampa < 0.002 |", file=out)
        print("|---|---|---|---|---|---|", file=out)
        for r in rows:
            gn, ga, gd = r["gains"][d]
            print(f"| {r['changed']} | {_seeds(gn)} | {_seeds(ga)} | {_seeds(gd)} |"
                  f" {'yes' if r['nmda_ok'] else 'no'} | {'yes' if r['ampa_ok'] else 'no'} |",
                  file=out)
    met = [r["changed"] for r in rows if r["nmda_ok"] and r["ampa_ok"]]
    print(f"\nboth criteria met: {', '.join(met) if met else 'nowhere'}", file=out)
    return rows


def property_figure(dss, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = property_rows(dss)
    d = max(rows[0]["gains"])
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for k, (name, mark) in enumerate((("nmda", "o"), ("ampa", "s"))):
        vals = [np.atleast_1d(r["gains"][d][k].values) for r in rows]
        xs = x + (k - 0.5) * 0.18
        ax.plot(xs, [v.mean() for v in vals], mark, ms=8, label=f"{name} (mean)")
        for xi, v in zip(xs, vals):
            ax.plot(np.full(v.size, xi), v, ".", color="grey")
    ax.axhline(0.01, ls="--", lw=0.8, color="C0", label="nmda criterion >= 0.01")
    ax.axhline(0.002, ls=":", lw=0.8, color="C1", label="ampa criterion < 0.002")
    ax.axhline(0, lw=0.5, color="k")
    ax.set_ylabel(f"test AUC gain, depth {d} over depth 1")
    ax.set_title("depth gain by neuron (seeds grey)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    for name, mark in (("nmda", "o"), ("ampa", "s")):
        ax.plot(x, [r[f"{name}_rate"] for r in rows], mark, label=name)
    ax.set_ylabel("output rate, training set (Hz, mean over seeds)")
    ax.set_ylim(bottom=0)
    ax.set_title("output rates (rate_target on the calibration inputs)", fontsize=9)
    ax.legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels([r["changed"] for r in rows], rotation=20, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    props = bool(argv) and argv[0] == "properties"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="+" if props else None,
                    help="result file (properties: one or more, their neurons in order)")
    ap.add_argument("-o", "--figure", help="draw AUC by depth and the training curves here "
                    "(properties: the depth gains and rates by neuron)")
    a = ap.parse_args(argv[1:] if props else argv)
    try:
        if props:
            dss = [load(f) for f in a.file]
            property_table(dss)
            if a.figure:
                property_figure(dss, a.figure)
            return 0
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
