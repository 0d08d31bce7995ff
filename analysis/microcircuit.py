"""Figures and tables of the microcircuit kernel's reproductions.

    /usr/bin/python3 -m analysis.microcircuit selfpredict results/self.h5 -o docs/reproductions/mc_selfpredict.png
    /usr/bin/python3 -m analysis.microcircuit teacher results/teacher.h5 -o docs/reproductions/mc_teacher.png
    /usr/bin/python3 -m analysis.microcircuit bars results/bars.h5
    /usr/bin/python3 -m analysis.microcircuit classify results/fmnist.h5
    /usr/bin/python3 -m analysis.microcircuit params results/params.h5 -o docs/reproductions/mc_params.png

Every command prints its numbers as a Markdown table on stdout; those with -o also
draw a figure. Curves are means over the `seed` axis (when there is one) with the
min..max band.
"""
import argparse
import sys

import numpy as np

from analysis.summary import open_results

# Final accuracy on bars by presentation time (dt units), from the reference card
# (Haider et al. 2021): original 0.375 up to 50 dt, 1.0 only at 5000 dt; LE 1.0 from 10 dt.
BARS_REFERENCE = {
    False: {3: 0.375, 5: 0.375, 10: 0.375, 50: 0.375, 5000: 1.0},
    True: {10: 1.0, 50: 1.0, 500: 1.0, 1000: 1.0, 2000: 1.0, 5000: 1.0},
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _over_seeds(da):
    """(mean, min, max) over the seed axis, or the array three times."""
    if "seed" in da.dims:
        return da.mean("seed"), da.min("seed"), da.max("seed")
    return da, da, da


def _table(header, rows, out):
    print("| " + " | ".join(header) + " |", file=out)
    print("|" + "|".join("---" for _ in header) + "|", file=out)
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |", file=out)


def _x(ds):
    """Training patterns at each record point (the same for every task)."""
    p = ds["pattern"]
    for d in p.dims:
        if d != "record":
            p = p.isel({d: 0})
    return p.values


def selfpredict(path, fig=None, out=sys.stdout):
    ds = open_results(path)
    x = _x(ds)
    rows = []
    if fig:
        plt = _plt()
        f, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    others = [d for d in ds["apical_error"].dims if d not in ("seed", "record")]
    combos = [{}] if not others else [
        dict(zip(others, v)) for v in np.array(np.meshgrid(*[ds[o].values for o in others])).T.reshape(-1, len(others))
    ]
    for sel in combos:
        label = ", ".join(f"{k}={v}" for k, v in sel.items()) or "microcircuit"
        for i, name in enumerate(["apical_error", "interneuron_error"]):
            m, lo, hi = _over_seeds(ds[name].sel(sel))
            rows.append([label, name, f"{float(m[0]):.3g}", f"{float(m[-1]):.3g}",
                         f"{float(m[0]) / max(float(m[-1]), 1e-300):.3g}"])
            if fig:
                ax[i].semilogy(x, m, label=label)
                ax[i].fill_between(x, lo, hi, alpha=0.2)
    _table(["setting", "quantity", "before", "after", "ratio"], rows, out)
    if fig:
        ax[0].set_title("apical error  <v_A^2>")
        ax[1].set_title("interneuron mismatch  <(u_I - u_out)^2>")
        for a in ax:
            a.set_xlabel("training patterns")
        ax[0].legend(fontsize=7)
        f.tight_layout()
        f.savefig(fig, dpi=120)


def teacher(path, fig=None, out=sys.stdout):
    ds = open_results(path)
    x = _x(ds)
    rows = []
    if fig:
        plt = _plt()
        f, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for model in ds["model"].values:
        m, lo, hi = _over_seeds(ds["test_mse"].sel(model=model))
        fm, flo, fhi = (float(v[-1]) for v in (m, lo, hi))
        rows.append([model, f"{float(m[0]):.3f}", f"{fm:.3f}", f"{flo:.3f} .. {fhi:.3f}"])
        if fig:
            ax[0].plot(x, m, label=str(model))
            ax[0].fill_between(x, lo, hi, alpha=0.2)
    _table(["model", "test MSE before", "test MSE after", "after, min .. max over seeds"], rows, out)
    if fig:
        m, lo, hi = _over_seeds(ds["angle"].sel(model="microcircuit"))
        ax[1].plot(x, m)
        ax[1].fill_between(x, lo, hi, alpha=0.2)
        ax[0].set_yscale("log")
        ax[0].set_title("teacher-student regression: test MSE")
        ax[1].set_title("angle(W_down, W_out^T), degrees")
        for a in ax:
            a.set_xlabel("training patterns")
        ax[0].legend()
        f.tight_layout()
        f.savefig(fig, dpi=120)


def bars(path, fig=None, out=sys.stdout, dt=0.1):
    ds = open_results(path)
    acc = ds["final_test_acc"]
    rows = []
    for tp in ds["t_pattern"].values:
        steps = int(round(float(tp) / dt))
        row = [steps]
        for le in (False, True):
            m, lo, hi = _over_seeds(acc.sel(t_pattern=tp, le=le))
            ref = BARS_REFERENCE[le].get(steps)
            row += [f"{float(m):.2f} ({float(lo):.2f}..{float(hi):.2f})",
                    "-" if ref is None else f"{ref:.3g}"]
        rows.append(row)
    _table(["presentation (dt)", "original: ours", "original: paper", "LE: ours", "LE: paper"],
           rows, out)
    if fig:
        plt = _plt()
        f, ax = plt.subplots(figsize=(5, 3.5))
        steps = np.round(ds["t_pattern"].values / dt)
        for le in (False, True):
            m, lo, hi = _over_seeds(acc.sel(le=le))
            ax.semilogx(steps, m, "o-", label="LE" if le else "original")
            ax.fill_between(steps, lo, hi, alpha=0.2)
        ax.set_xlabel("presentation time (dt)")
        ax.set_ylabel("final accuracy (bars)")
        ax.legend()
        f.tight_layout()
        f.savefig(fig, dpi=120)


def classify(path, fig=None, out=sys.stdout):
    ds = open_results(path)
    rows = []
    for model in ds["model"].values:
        m, lo, hi = _over_seeds(ds["final_test_acc"].sel(model=model))
        tm, _, _ = _over_seeds(ds["final_train_acc"].sel(model=model))
        rows.append([model, f"{float(m):.3f} ({float(lo):.3f}..{float(hi):.3f})", f"{float(tm):.3f}"])
    _table(["model", "test accuracy", "train accuracy"], rows, out)


def _num(x):
    """Four decimals, or four significant digits for the huge values of diverged runs."""
    x = float(x)
    return f"{x:.4f}" if abs(x) < 1e4 else f"{x:.4g}"


DIVERGED = 10.0  # a final test MSE above this (or a failed task, NaN) counts as diverged


def params(path, fig=None, out=sys.stdout):
    """Marginals of the final test MSE along every grid axis: mean, median, and how many
    runs diverged (failed with NaN/Inf, or final test MSE above DIVERGED). A few diverged
    runs dominate the mean, so the median is the robust figure."""
    ds = open_results(path)
    err = ds["final_test_mse"]
    axes = [d for d in err.dims if d != "seed"]
    bad = err.isnull() | (err > DIVERGED)
    rows = []
    for a in axes:
        others = [d for d in err.dims if d != a]
        marg = err.mean(others)
        med = err.median(others)
        nbad = bad.sum(others)
        ntot = bad.count(others)
        for v, e, m, nb, nt in zip(ds[a].values, marg.values, med.values, nbad.values,
                                    ntot.values):
            rows.append([a, v, _num(e), _num(m), f"{int(nb)}/{int(nt)}"])
    _table(["parameter", "value", "final test MSE (mean over the other axes)", "median",
            f"diverged (NaN or > {DIVERGED:g})"], rows, out)
    if fig:
        plt = _plt()
        n = len(axes)
        cols = min(n, 4)
        f, ax = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.2 * cols, 2.8 * ((n + cols - 1) // cols)),
                             squeeze=False)
        for i, a in enumerate(axes):
            others = [d for d in err.dims if d != a]
            ok = err.where(~bad)
            med = ok.median(others)
            lo = ok.quantile(0.25, others)
            hi = ok.quantile(0.75, others)
            axi = ax[i // cols][i % cols]
            xs = [str(v) for v in ds[a].values]
            axi.plot(xs, med.values, "o-")
            axi.fill_between(range(len(xs)), lo.values, hi.values, alpha=0.2)
            axi.set_title(a)
            axi.set_yscale("log")
        for j in range(n, len(ax.flat)):
            ax.flat[j].axis("off")
        f.suptitle("final test MSE across the grid (median and quartiles over the other axes; "
                   "diverged runs left out)", fontsize=9)
        f.tight_layout()
        f.savefig(fig, dpi=120)


COMMANDS = {"selfpredict": selfpredict, "teacher": teacher, "bars": bars, "classify": classify,
            "params": params}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=sorted(COMMANDS))
    ap.add_argument("file")
    ap.add_argument("-o", "--figure", help="write a figure (PNG) here")
    a = ap.parse_args(argv)
    COMMANDS[a.what](a.file, a.figure)


if __name__ == "__main__":
    main()
