"""Tables and figures of the folded kernel (the folded autoencoder of Dold et al.).

    /usr/bin/python3 -m analysis.folded results/dold-folded-digits.h5 [-o FIG.png] [--grid GRID.png]

Expects a result file with the axes model (folded, backprop, pca), lambda and seed (any of
them may be missing; other axes are averaged over only if they have one value). Prints:

- the final test reconstruction MSE and linear-readout accuracy of every model (the folded
  one per lambda): mean, standard deviation and min..max over seeds, and the same at epoch 0;
- the gradient cosines per layer and lambda (cos_W: W's local update against the gradient of
  the autoencoder's cost; cos_G: G's update against the gradient of the decoder's cost from
  the network's own latent) at epoch 0 and at the end: mean and standard deviation over
  seeds; -2 (not defined) is left out and counted.

With -o it draws the cosines against lambda (epoch 0 and final), the MSE and the readout
accuracy over epochs; with --grid the first test images (top row) and their
reconstructions by PCA, backprop and the folded network per lambda (one seed).
"""
import argparse
import sys

import numpy as np

from analysis.summary import open_results

NEEDED = ("epoch", "mse_test", "readout_acc", "cos_W", "cos_G", "image", "recon")


def load(path):
    ds = open_results(path)
    missing = [v for v in NEEDED if v not in ds]
    if missing:
        raise ValueError(f"{path}: no output {', '.join(missing)}; is this a result file of the "
                         "folded kernel?")
    for d in ds["mse_test"].dims:
        if d not in ("model", "lambda", "seed", "record") and ds.sizes[d] > 1:
            raise ValueError(f"{path}: axis {d} has {ds.sizes[d]} values; select one first")
    return ds


def _squeeze(da):
    for d in list(da.dims):
        if d not in ("model", "lambda", "seed", "record", "layer", "show", "pixel") and \
                da.sizes[d] == 1:
            da = da.isel({d: 0})
    return da


def _models(ds):
    return [str(m) for m in ds["model"].values] if "model" in ds.dims else ["folded"]


def _lambdas(ds):
    return [float(x) for x in ds["lambda"].values] if "lambda" in ds.dims else [None]


def _sel(da, model=None, lam=None):
    da = _squeeze(da)
    if model is not None and "model" in da.dims:
        da = da.sel(model=model)
    if "lambda" in da.dims:
        da = da.sel({"lambda": lam}) if lam is not None else da.isel({"lambda": 0})
    return da


def _stats(x):
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "n/a"
    return f"{x.mean():.4f} ± {x.std():.4f} ({x.min():.4f}..{x.max():.4f})"


def _rows(ds):
    """(label, model, lambda) of every condition: baselines once (they do not use lambda)."""
    rows = []
    for m in _models(ds):
        if m == "folded":
            rows += [(f"folded λ={lam:g}" if lam is not None else "folded", m, lam)
                     for lam in _lambdas(ds)]
        else:
            rows.append((m, m, None))
    return rows


def results_table(ds, out=None):
    out = out or sys.stdout
    nseed = ds.sizes.get("seed", 1)
    print(f"Test reconstruction MSE (per pixel) and linear-readout accuracy; mean ± sd "
          f"(min..max) over {nseed} seed(s)\n", file=out)
    print("| model | MSE epoch 0 | MSE final | readout epoch 0 | readout final |", file=out)
    print("|---|---|---|---|---|", file=out)
    for label, m, lam in _rows(ds):
        mse = _sel(ds["mse_test"], m, lam)
        acc = _sel(ds["readout_acc"], m, lam)
        print(f"| {label} | {_stats(mse.isel(record=0))} | {_stats(mse.isel(record=-1))} | "
              f"{_stats(acc.isel(record=0))} | {_stats(acc.isel(record=-1))} |", file=out)
    print(file=out)


def _cos_stats(x):
    x = np.asarray(x, dtype=float).ravel()
    undefined = int((x < -1.5).sum())
    x = x[(x >= -1.5) & np.isfinite(x)]
    s = f"{x.mean():.3f} ± {x.std():.3f}" if x.size else "n/a"
    return s + (f" ({undefined} undefined)" if undefined else "")


def cosine_table(ds, out=None):
    out = out or sys.stdout
    if "folded" not in _models(ds):
        return
    nlayer = ds.sizes["layer"]
    print("Cosine of the local update with the negative gradient (finite differences), "
          "mean ± sd over seeds; W_k: against the autoencoder's cost, G_k: against the "
          "decoder's cost from the network's latent\n", file=out)
    head = [f"W_{k + 1}" for k in range(nlayer)] + [f"G_{k}" for k in range(nlayer)]
    print("| λ | record | " + " | ".join(head) + " |", file=out)
    print("|---|---|" + "---|" * len(head), file=out)
    for lam in _lambdas(ds):
        cw = _sel(ds["cos_W"], "folded", lam)
        cg = _sel(ds["cos_G"], "folded", lam)
        ep = _sel(ds["epoch"], "folded", lam)
        if "seed" in ep.dims:
            ep = ep.isel(seed=0)
        for r, name in ((0, "first"), (-1, "last")):
            cells = [_cos_stats(cw.isel(record=r, layer=k)) for k in range(nlayer)]
            cells += [_cos_stats(cg.isel(record=r, layer=k)) for k in range(nlayer)]
            lam_s = f"{lam:g}" if lam is not None else "-"
            print(f"| {lam_s} | epoch {int(ep.isel(record=r))} | " + " | ".join(cells) + " |",
                  file=out)
    print(file=out)


def _mean_cos(da):
    x = np.asarray(da, dtype=float)
    x = np.where(x < -1.5, np.nan, x)
    axes = tuple(i for i, d in enumerate(da.dims) if d == "seed")
    return np.nanmean(x, axis=axes) if axes else x


def figure(ds, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    lams = [x for x in _lambdas(ds) if x is not None]
    nlayer = ds.sizes["layer"]
    if "folded" in _models(ds) and lams:
        for k in range(nlayer):
            for name, var, mk in (("W", "cos_W", "o"), ("G", "cos_G", "s")):
                label = f"{name}_{k + 1 if name == 'W' else k}"
                for r, ls in ((0, ":"), (-1, "-")):
                    y = [_mean_cos(_sel(ds[var], "folded", lam).isel(record=r, layer=k))
                         for lam in lams]
                    ax[k // 1 if nlayer == 2 else 0].plot(
                        range(len(lams)), y, ls, marker=mk,
                        label=f"{label} {'epoch 0' if r == 0 else 'final'}")
        for a in ax[:2]:
            a.set_xticks(range(len(lams)), [f"{x:g}" for x in lams])
            a.set_xlabel("λ")
            a.set_ylabel("cosine with -gradient")
            a.axhline(1, color="k", lw=0.5)
            a.legend(fontsize=7)
        ax[0].set_title("layer 1 (W_1, G_0)")
        ax[1].set_title("layer 2 (W_2, G_1)" if nlayer > 1 else "")
    for label, m, lam in _rows(ds):
        mse = _sel(ds["mse_test"], m, lam)
        acc = _sel(ds["readout_acc"], m, lam)
        ep = _sel(ds["epoch"], m, lam)
        if "seed" in ep.dims:
            ep = ep.isel(seed=0)
        for a, v in ((ax[2], mse), (ax[3], acc)):
            y = v.mean("seed") if "seed" in v.dims else v
            a.plot(ep.values, y.values, marker=".", label=label,
                   ls="--" if m != "folded" else "-")
    ax[2].set_yscale("log")
    ax[2].set_title("test reconstruction MSE")
    ax[3].set_title("linear readout accuracy (test)")
    for a in ax[2:]:
        a.set_xlabel("epoch")
        a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def image_grid(ds, path, seed_index=0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [("data", None, None)] + [(lbl, m, lam) for lbl, m, lam in _rows(ds)]
    first = _sel(ds["image"], _models(ds)[0], None)
    if "seed" in first.dims:
        first = first.isel(seed=seed_index)
    nshow, npix = first.shape
    side = int(round(np.sqrt(npix)))
    fig, ax = plt.subplots(len(rows), nshow, figsize=(nshow * 0.9, len(rows) * 0.95))
    ax = np.atleast_2d(ax)
    for i, (label, m, lam) in enumerate(rows):
        imgs = first if m is None else _sel(ds["recon"], m, lam)
        if "seed" in imgs.dims:
            imgs = imgs.isel(seed=seed_index)
        for j in range(nshow):
            ax[i, j].imshow(np.clip(imgs.values[j].reshape(side, side), 0, 1), cmap="gray_r",
                            vmin=0, vmax=1)
            ax[i, j].set_xticks([])
            ax[i, j].set_yticks([])
        ax[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="analysis.folded", description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--figure", help="cosines, MSE and readout figure (PNG)")
    ap.add_argument("--grid", help="image grid of reconstructions (PNG)")
    ap.add_argument("--seed-index", type=int, default=0, help="seed of the image grid")
    a = ap.parse_args(argv)
    try:
        ds = load(a.file)
        results_table(ds)
        cosine_table(ds)
        if a.figure:
            figure(ds, a.figure)
        if a.grid:
            image_grid(ds, a.grid, a.seed_index)
    except (ValueError, KeyError, OSError) as e:
        print(f"analysis.folded: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
