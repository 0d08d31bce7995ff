"""Figure 4 of Bull (2024), "Toward Neuromic Computing: Neurons as Autoencoders",
from a result file of the `nk` kernel (sweeps/bull2024-fig4.yaml or -small.yaml).

    /usr/bin/python3 -m analysis.bull2024 results/bull2024-fig4.h5 [--figure F.png] [--table T.md]
    /usr/bin/python3 -m analysis.bull2024 seeds0-9.h5 seeds10-19.h5 ...   (parts of one sweep)

Draws test MSE against K, one panel per N, the mean over seeds with min/max bars
and one line per model (dashed: the expected MSE of always answering the mean); prints a table of paired and Welch t-tests of nMLP
against hMLP for every (N, K), and checks the paper's claim in words: for small N
neuron autoencoding is better at every K tried (t-test, p < 0.05), for larger N
there is no significant difference. The figure goes next to the result file
(same name, .png; the first file's) unless --figure says otherwise.

The runs of one (N, K, seed) share their data and their initial encoder and
output weights across models, so the paired test (over seeds) is the one the
verdicts use; the Welch test, which ignores the pairing, is shown beside it.
"""
import argparse
import math
import pathlib
import sys
import warnings

import numpy as np

from analysis.summary import open_results

ALPHA = 0.05
DIMS = ("N", "K", "model", "seed")


def _load_one(path, output):
    ds = open_results(path)
    if output not in ds:
        raise ValueError(f"{path}: no output '{output}'; is this a result file of the nk kernel?")
    da = ds[output].load()
    ds.close()
    missing = [d for d in DIMS if d not in da.dims]
    if missing:
        raise ValueError(f"{path}: {output} needs the axes {', '.join(DIMS)}; "
                         f"missing {', '.join(missing)} (dimensions are {da.dims})")
    extra = [d for d in da.dims if d not in DIMS]
    if extra:
        raise ValueError(f"{path}: {output} has extra axes {', '.join(extra)}; "
                         "select one value of each before this analysis")
    da = da.transpose(*DIMS)
    models = [str(m) for m in da["model"].values]
    for m in ("nmlp", "hmlp"):
        if m not in models:
            raise ValueError(f"{path}: the model axis needs '{m}' (it has {', '.join(models)})")
    return da.assign_coords(model=models)


def load(paths, output="test_mse"):
    """The output as a DataArray (N, K, model, seed); several files (runs of
    different seeds of the same sweep) are joined along seed, NaN where a file
    lacks an (N, K)."""
    import xarray as xr
    if isinstance(paths, (str, pathlib.Path)):
        paths = [paths]
    parts = [_load_one(p, output) for p in paths]
    if len(parts) == 1:
        return parts[0]
    # Files may cover different seeds, N or K (e.g. more seeds for the cheap
    # small N): the union of their axes, NaN where no file has a cell; a cell
    # that two files both hold is an error.
    coords = {d: sorted(set().union(*(p[d].values.tolist() for p in parts)),
                        key=(lambda m: ("nmlp", "hmlp", "mlp").index(m) if m in ("nmlp", "hmlp", "mlp") else 9)
                        if d == "model" else None)
              for d in DIMS}
    out = xr.DataArray(np.full([len(coords[d]) for d in DIMS], np.nan), coords=coords, dims=DIMS,
                       name=output)
    have = xr.zeros_like(out, dtype=bool)
    for p, path in zip(parts, paths):
        sel = {d: p[d].values for d in DIMS}
        if bool(have.loc[sel].any()):
            raise ValueError(f"{path}: holds (N, K, model, seed) cells that an earlier file also "
                             "holds; each run may appear in one file only")
        out.loc[sel] = p.values
        have.loc[sel] = True
    return out


def mean_predictor_mse(n, k):
    """Expected MSE of always answering the mean fitness: the variance of an NK
    fitness over random genomes, (1/(12N)) (1 - 2^-(K+1)), averaged over landscapes
    (each gene's contribution is one of 2^(K+1) U[0,1) entries, equally likely)."""
    return (1.0 - 2.0 ** -(k + 1)) / (12.0 * n)


def _ttests(a, b):
    """Paired and Welch t-tests of a against b (NaN pairs dropped)."""
    from scipy import stats
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 2:
        return dict(n=len(a), t_paired=math.nan, p_paired=math.nan, t_welch=math.nan, p_welch=math.nan)
    d = a - b
    if np.all(d == d[0]):  # no spread: the t statistic is undefined
        tp, pp = (math.nan, 1.0) if d[0] == 0 else (math.copysign(math.inf, d[0]), 0.0)
    else:
        tp, pp = stats.ttest_rel(a, b)
    if np.std(a) == 0 and np.std(b) == 0:
        tw, pw = (math.nan, 1.0) if a[0] == b[0] else (math.copysign(math.inf, a[0] - b[0]), 0.0)
    else:
        tw, pw = stats.ttest_ind(a, b, equal_var=False)
    return dict(n=len(a), t_paired=float(tp), p_paired=float(pp), t_welch=float(tw), p_welch=float(pw))


def verdict(row):
    """'nmlp better', 'hmlp better', 'no difference' (paired test), or 'too few runs'."""
    if row["n"] < 2:
        return "too few runs"
    if not (row["p_paired"] < ALPHA):
        return "no difference"
    return "nmlp better" if row["nmlp_mean"] < row["hmlp_mean"] else "hmlp better"


def compare(da):
    """One row per (N, K): means of each model, the tests of nmlp vs hmlp, a verdict."""
    rows = []
    for n in da["N"].values:
        for k in da["K"].values:
            cell = da.sel(N=n, K=k)
            a = cell.sel(model="nmlp").values.astype(float)
            b = cell.sel(model="hmlp").values.astype(float)
            row = dict(N=int(n), K=int(k), nmlp_mean=float(np.nanmean(a)), hmlp_mean=float(np.nanmean(b)),
                       baseline=mean_predictor_mse(int(n), int(k)))
            if "mlp" in da["model"].values:
                row["mlp_mean"] = float(np.nanmean(cell.sel(model="mlp").values))
            row.update(_ttests(a, b))
            row["verdict"] = verdict(row)
            rows.append(row)
    return rows


def claim(rows):
    """The paper's claim, checked per N and overall; a list of sentences."""
    ns = sorted({r["N"] for r in rows})
    by_n = {n: [r for r in rows if r["N"] == n] for n in ns}
    better = {n: sum(r["verdict"] == "nmlp better" for r in by_n[n]) for n in ns}
    worse = {n: sum(r["verdict"] == "hmlp better" for r in by_n[n]) for n in ns}
    same = {n: sum(r["verdict"] == "no difference" for r in by_n[n]) for n in ns}
    if all(r["verdict"] == "too few runs" for r in rows):
        return ["Too few runs (fewer than 2 seeds with results) for any t-test: no verdict."]
    out = []
    for n in ns:
        total = len(by_n[n])
        ks = lambda v: ", ".join(str(r["K"]) for r in by_n[n] if r["verdict"] == v) or "none"
        out.append(f"N={n}: nMLP significantly better at {better[n]}/{total} K ({ks('nmlp better')}); "
                   f"hMLP better at {worse[n]} ({ks('hmlp better')}); "
                   f"no significant difference at {same[n]} ({ks('no difference')}).")
    all_better = [n for n in ns if better[n] == len(by_n[n])]
    none_differ = [n for n in ns if same[n] == len(by_n[n])]
    # The claim's shape: a threshold below which nMLP wins at every K and above
    # which nothing differs.
    split = None
    for i in range(1, len(ns)):
        if all(n in all_better for n in ns[:i]) and all(n in none_differ for n in ns[i:]):
            split = i
    if split is not None:
        out.append(f"Agrees with the paper: nMLP is significantly better at every K for "
                   f"N <= {ns[split - 1]}, and there is no significant difference at any K for "
                   f"N >= {ns[split]} (paired t-test over seeds, p < {ALPHA}).")
    else:
        small = ", ".join(map(str, all_better)) or "no N"
        large = ", ".join(map(str, none_differ)) or "no N"
        out.append(f"Does not match the paper's pattern exactly: nMLP better at every K for {small}; "
                   f"no significant difference at any K for {large} (paired t-test over seeds, "
                   f"p < {ALPHA}). The paper: better at all K for small N, no difference for larger N.")
    if any(worse.values()):
        out.append("hMLP is significantly better somewhere, which the paper does not report.")
    return out


def _fmt_p(p):
    return "nan" if not math.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def table(rows):
    """A Markdown table of the comparison."""
    mlp = "mlp_mean" in rows[0]
    head = "| N | K | mean predictor | nMLP mean | hMLP mean |" + (" MLP mean |" if mlp else "") + \
           " runs | paired t | paired p | Welch t | Welch p | verdict (paired) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['N']} | {r['K']} | {r['baseline']:.5f} | {r['nmlp_mean']:.5f} | {r['hmlp_mean']:.5f} |"
            + (f" {r['mlp_mean']:.5f} |" if mlp else "")
            + f" {r['n']} | {r['t_paired']:.2f} | {_fmt_p(r['p_paired'])} | {r['t_welch']:.2f} |"
              f" {_fmt_p(r['p_welch'])} | {r['verdict']} |")
    return "\n".join(lines)


COLORS = {"nmlp": "tab:blue", "hmlp": "tab:orange", "mlp": "tab:gray"}
LABELS = {"nmlp": "nMLP (neuron autoencoding)", "hmlp": "hMLP (layer autoencoding)", "mlp": "MLP"}


def figure(da, path, rows=None):
    """Test MSE against K, one panel per N: mean over seeds with min/max bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [int(n) for n in da["N"].values]
    ks = np.array([int(k) for k in da["K"].values], dtype=float)
    models = [m for m in ("nmlp", "hmlp", "mlp") if m in da["model"].values]
    cols = min(len(ns), 4)
    nrows = math.ceil(len(ns) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 3.2 * nrows), squeeze=False)
    width = 0.12 * (ks.max() - ks.min() if len(ks) > 1 else 1) / max(len(ks) - 1, 1)
    for ax, n in zip(axes.flat, ns):
        for i, m in enumerate(models):
            v = da.sel(N=n, model=m).values  # (K, seed)
            mean, lo, hi = np.nanmean(v, 1), np.nanmin(v, 1), np.nanmax(v, 1)
            x = ks + (i - (len(models) - 1) / 2) * width
            ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], color=COLORS[m], marker="o", ms=3,
                        lw=1.2, capsize=2, label=LABELS[m])
        kk = np.linspace(ks.min(), ks.max(), 200)
        ax.plot(kk, mean_predictor_mse(n, kk), color="k", ls="--", lw=0.8,
                label="always the mean (expected)")
        if rows:
            for r in rows:
                if r["N"] == n and r["verdict"].endswith("better"):
                    top = float(np.nanmax(da.sel(N=n, K=r["K"]).values))
                    ax.annotate("*", (r["K"], top), ha="center", va="bottom", fontsize=12,
                                color=COLORS[r["verdict"].split()[0]])
        runs = int(np.isfinite(da.sel(N=n).values).any(axis=(0, 1)).sum())
        ax.set_title(f"N = {n} ({runs} seeds)")
        ax.set_xlabel("K")
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(ns):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("test MSE")
    fig.suptitle(f"NK regression: test MSE of the final network, mean and min/max over seeds "
                 f"(* paired t-test p < {ALPHA}, coloured by the better model)",
                 fontsize=9)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _quiet_nan(f):
    """Cells with no finished run (partial files) give NaN without a warning."""
    def wrapped(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return f(*a, **k)
    return wrapped


compare = _quiet_nan(compare)
figure = _quiet_nan(figure)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="+",
                    help="result file(s) of the nk kernel with axes N, K, model, seed "
                         "(several: runs of different seeds, joined)")
    ap.add_argument("--figure", help="where to write the figure (default: the first FILE with .png)")
    ap.add_argument("--table", help="also write the Markdown table and the verdicts here")
    a = ap.parse_args(argv)
    try:
        da = load(a.file)
    except (ValueError, OSError) as e:
        print(f"analysis.bull2024: {e}", file=sys.stderr)
        return 2
    rows = compare(da)
    words = claim(rows)
    fig = figure(da, a.figure or str(pathlib.Path(a.file[0]).with_suffix(".png")), rows)
    text = table(rows) + "\n\n" + "\n".join(f"- {w}" for w in words) + "\n"
    print(text)
    print(f"figure: {fig}")
    if a.table:
        pathlib.Path(a.table).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
