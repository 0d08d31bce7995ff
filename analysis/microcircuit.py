"""Figures and tables of the microcircuit kernel's reproductions.

    /usr/bin/python3 -m analysis.microcircuit selfpredict results/self.h5 -o docs/reproductions/mc_selfpredict.png
    /usr/bin/python3 -m analysis.microcircuit teacher results/teacher.h5 -o docs/reproductions/mc_teacher.png
    /usr/bin/python3 -m analysis.microcircuit bars results/bars.h5 -o docs/reproductions/mc_bars.png
    /usr/bin/python3 -m analysis.microcircuit classify results/fmnist.h5
    /usr/bin/python3 -m analysis.microcircuit tune results/teacher-tune.h5 [--metric NAME]
    /usr/bin/python3 -m analysis.microcircuit compare results/teacher.h5 [--metric NAME] [--against REFS.h5]
    /usr/bin/python3 -m analysis.microcircuit curves results/teacher-tune.h5 [--metric NAME] [-o FIG]
    /usr/bin/python3 -m analysis.microcircuit params results/params.h5 -o docs/reproductions/mc_params.png
    /usr/bin/python3 -m analysis.microcircuit scales      (the teacher task's scales, sampled)

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


def _combos(ds, name):
    """Every combination of the axes of output `name` other than seed and record."""
    others = [d for d in ds[name].dims if d not in ("seed", "record", "hidden_layer")]
    if not others:
        return [{}]
    grids = np.array(np.meshgrid(*[ds[o].values for o in others], indexing="ij"))
    return [dict(zip(others, v)) for v in grids.reshape(len(others), -1).T]


ANGLES = [("angle_ip_up", "angle(W_IP, W_up)"), ("angle_pi_down", "angle(W_PI, -W_down)"),
          ("angle_down_up", "angle(W_down, W_up^T)")]


def selfpredict(path, fig=None, out=sys.stdout):
    """Apical error and interneuron mismatch before and after training, and the alignment
    angles per hidden layer; the figure shows all of them over training."""
    ds = open_results(path)
    x = _x(ds)
    rows, arows = [], []
    combos = _combos(ds, "apical_error")
    has_angles = "angle_ip_up" in ds
    if fig:
        plt = _plt()
        ncol = 2 + (2 if has_angles else 0)
        f, ax = plt.subplots(1, ncol, figsize=(4.2 * ncol, 3.6))
    for sel in combos:
        sel = {k: (bool(v) if ds[k].dtype == bool else v) for k, v in sel.items()}
        label = ", ".join(f"{k}={v}" for k, v in sel.items()) or "microcircuit"
        for i, name in enumerate(["apical_error", "interneuron_error"]):
            m, lo, hi = _over_seeds(ds[name].sel(sel))
            rows.append([label, name, f"{float(m[0]):.3g}", f"{float(m[-1]):.3g}",
                         f"{float(m[0]) / max(float(m[-1]), 1e-300):.3g}"])
            if fig:
                (line,) = ax[i].loglog(np.maximum(x, 1), m, label=label)
                ax[i].fill_between(np.maximum(x, 1), lo, hi, alpha=0.2, color=line.get_color())
        if not has_angles:
            continue
        nh = int(sel.get("n_hidden", ds["n_hidden"].values if "n_hidden" in ds.coords else 1))
        for k in range(nh):
            cells = [label, k + 1]
            for c, (name, title) in enumerate(ANGLES):
                m, lo, hi = _over_seeds(ds[name].sel(sel).isel(hidden_layer=k))
                cells.append(f"{float(m[0]):.1f} -> {float(m[-1]):.1f}")
                if fig and c < 2:
                    (line,) = ax[2 + c].plot(x, m, "-" if k == 0 else "--",
                                             label=f"{label}, layer {k + 1}")
                    ax[2 + c].fill_between(x, lo, hi, alpha=0.15, color=line.get_color())
            arows.append(cells)
    _table(["setting", "quantity", "before", "after", "ratio"], rows, out)
    if arows:
        print(file=out)
        _table(["setting", "hidden layer"] + [f"{t}, degrees: before -> after" for _, t in ANGLES],
               arows, out)
    if fig:
        ax[0].set_title("apical error  <v_A^2>", fontsize=9)
        ax[1].set_title("interneuron mismatch  <(u_I - u_(k+1))^2>", fontsize=9)
        if has_angles:
            ax[2].set_title(ANGLES[0][1] + ", degrees", fontsize=9)
            ax[3].set_title(ANGLES[1][1] + ", degrees", fontsize=9)
            ax[3].legend(fontsize=6)
        for a in ax:
            a.set_xlabel("training patterns")
        ax[0].legend(fontsize=6)
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


def _variants(ds):
    """(index along the `le` axis, LE?, onset fraction, label) of each model variant; the
    onset fraction is a zip partner of `le` when the sweep has it."""
    out = []
    les = np.atleast_1d(ds["le"].values)
    onsets = (np.atleast_1d(ds["t_onset_frac"].values) if "t_onset_frac" in ds.coords
              else np.zeros(len(les)))
    for i, (le, on) in enumerate(zip(les, onsets)):
        label = "LE" if le else "original"
        if on > 0:
            label += f", onset {on:g} T"
        out.append((i, bool(le), float(on), label))
    return out


def bars(path, fig=None, out=sys.stdout, dt=0.1):
    """Final accuracy by presentation time for every model variant (original, original with
    a plasticity onset, LE), mean (min..max) over seeds and how many seeds reached 1.0, beside
    the reference card's numbers."""
    ds = open_results(path)
    acc = ds["final_test_acc"]
    variants = _variants(ds)
    nseed = ds.sizes.get("seed", 1)
    header = ["presentation (dt)", "epochs"]
    for _, le, on, label in variants:
        header += [f"{label}: ours (seeds at 1.0 of {nseed})"]
        if on == 0:
            header += [f"{label}: paper"]
    rows = []
    for j, tp in enumerate(ds["t_pattern"].values):
        steps = int(round(float(tp) / dt))
        # Epochs from the patterns seen by the end (the 9 bars per epoch), whether `epochs`
        # was fixed or zipped with the presentation time.
        # A stopped run (tasks not run are NaN) reports what it has and says how much.
        last = ds["pattern"].isel(t_pattern=j, record=-1).values
        ep = int(np.nanmax(last)) // 9 if np.isfinite(last).any() else "-"
        row = [steps, ep]
        for i, le, on, _ in variants:
            v = np.atleast_1d(acc.isel(le=i, t_pattern=j).values)
            v = v[np.isfinite(v)]
            if not len(v):
                row += ["not run"]
            else:
                part = "" if len(v) == nseed else f" [{len(v)} of {nseed} seeds run]"
                row += [f"{v.mean():.2f} ({v.min():.2f}..{v.max():.2f}; "
                        f"{int((v >= 1.0 - 1e-9).sum())}){part}"]
            if on == 0:
                ref = BARS_REFERENCE[le].get(steps)
                row += ["-" if ref is None else f"{ref:.3g}"]
        rows.append(row)
    _table(header, rows, out)
    if fig:
        plt = _plt()
        f, ax = plt.subplots(1, 2, figsize=(10, 3.8))
        steps = np.round(ds["t_pattern"].values / dt)
        for i, le, on, label in variants:
            m, lo, hi = _over_seeds(acc.isel(le=i))
            ax[0].semilogx(steps, m, "o-", label=label)
            ax[0].fill_between(steps, lo, hi, alpha=0.2)
        for le in (False, True):
            ref = sorted(BARS_REFERENCE[le].items())
            ax[0].semilogx([k for k, _ in ref], [v for _, v in ref], "x", color="k" if le else "grey",
                           label=f"paper, {'LE' if le else 'original'}")
        ax[0].set_xlabel("presentation time (dt)")
        ax[0].set_ylabel("final test accuracy (bars)")
        ax[0].set_title("final accuracy, mean and min..max over seeds", fontsize=9)
        ax[0].legend(fontsize=7)
        # Learning curves at 10 dt (where LE must reach 1.0) and at the longest time.
        ta = ds["test_acc"]
        for j, ls in ((int(np.argmin(np.abs(steps - 10))), "-"), (len(steps) - 1, ":")):
            x = ds["pattern"].isel(le=0, t_pattern=j)
            for d in x.dims:
                if d != "record":
                    x = x.isel({d: 0})
            for i, le, on, label in variants:
                m, _, _ = _over_seeds(ta.isel(le=i, t_pattern=j))
                ax[1].plot(x.values / 9, m, ls, label=f"{label}, {int(steps[j])} dt")
        ax[1].set_xlabel("epochs")
        ax[1].set_ylabel("test accuracy")
        ax[1].set_title("learning curves (mean over seeds)", fontsize=9)
        ax[1].legend(fontsize=6)
        f.tight_layout()
        f.savefig(fig, dpi=120)


def tune(path, fig=None, out=sys.stdout, metric="final_test_mse"):
    """A learning-rate sweep: the metric (mean over seeds) at every point of the grid, one row
    per point, best first, and the chosen point (lowest mean; failed tasks are NaN and last),
    one per model when there is a model axis."""
    ds = open_results(path)
    m = ds[metric]
    if "seed" in m.dims:
        m = m.mean("seed")
    axes = list(m.dims)
    flat = m.stack(point=axes)
    order = np.argsort(np.nan_to_num(flat.values, nan=np.inf), kind="stable")
    rows = [[*(flat["point"].values[i]), _num(flat.values[i])] for i in order]
    _table(axes + [metric + " (mean over seeds)"], rows, out)
    print(file=out)
    # With a model axis, each model gets its own best point.
    groups = ([[i for i in order if flat["point"].values[i][axes.index("model")] == mdl]
               for mdl in m["model"].values] if "model" in axes else [order])
    chosen = []
    for g in groups:
        best = dict(zip(axes, flat["point"].values[g[0]]))
        print("chosen: " + ", ".join(f"{a}={v}" for a, v in best.items()) +
              f" ({metric} {_num(flat.values[g[0]])})", file=out)
        chosen.append(best)
    return chosen[0] if len(chosen) == 1 else chosen


def compare(path, fig=None, out=sys.stdout, metric="final_test_mse", against=None):
    """Models against each other over seeds: mean (min..max) of the metric per model and a
    paired test of the microcircuit against every other model (same seed = same data and
    initial forward weights): mean paired difference, Wilcoxon signed-rank and paired t-test
    p-values (two-sided). With `against`, the other models come from that results file
    (the same base seed and seeds, e.g. references trained on another loss)."""
    from scipy import stats

    ds = open_results(path)
    m = ds[metric]
    mc = m.sel(model="microcircuit").values
    refs = ds
    if against:
        refs = open_results(against)
        if not np.array_equal(refs["seed"].values, ds["seed"].values):
            raise SystemExit(f"{against}: seeds {refs['seed'].values.tolist()} differ from "
                             f"{path}'s {ds['seed'].values.tolist()}")
    others = [mdl for mdl in refs["model"].values if mdl != "microcircuit"]
    rows = [["microcircuit", f"{float(mc.mean()):.4f}", f"{float(mc.min()):.4f} .. {float(mc.max()):.4f}"]]
    for model in others:
        v = refs[metric].sel(model=model)
        rows.append([model, f"{float(v.mean()):.4f}", f"{float(v.min()):.4f} .. {float(v.max()):.4f}"])
    _table(["model", f"{metric}, mean over {ds.sizes['seed']} seeds", "min .. max"], rows, out)
    print(file=out)
    rows = []
    for model in others:
        other = refs[metric].sel(model=model).values
        d = mc - other
        w = stats.wilcoxon(mc, other).pvalue if np.any(d != 0) else 1.0
        t = stats.ttest_rel(mc, other).pvalue
        rows.append([f"microcircuit - {model}", f"{d.mean():+.4f}", f"{int((d < 0).sum())}/{len(d)}",
                     f"{w:.3g}", f"{t:.3g}"])
    _table(["paired difference", "mean", "seeds where the microcircuit is lower",
            "Wilcoxon p", "paired t p"], rows, out)


def curves(path, fig=None, out=sys.stdout, metric="test_mse"):
    """A curve output (default test_mse) over training at every point of the grid, mean over
    seeds: one row per point, one column per record point (training patterns seen); with a
    figure, the curves on a log scale."""
    ds = open_results(path)
    x = _x(ds)
    m = ds[metric]
    if "seed" in m.dims:
        m = m.mean("seed")
    combos = _combos(ds, metric)
    axes = list(combos[0])
    rows = []
    if fig:
        plt = _plt()
        f, ax = plt.subplots(figsize=(6, 4))
    for c in combos:
        v = m.sel(c).values
        rows.append([*c.values(), *(_num(e) for e in v)])
        if fig:
            ax.plot(x, v, "o-", label=", ".join(f"{a}={c[a]}" for a in axes))
    _table(axes + [f"{metric} after {int(p)}" for p in x], rows, out)
    if fig:
        ax.set_yscale("log")
        ax.set_xlabel("training patterns")
        ax.set_ylabel(metric + " (mean over seeds)")
        ax.legend(fontsize=7)
        f.tight_layout()
        f.savefig(fig, dpi=120)
    return rows


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


def _diverged(ds):
    """A run diverged if it failed (NaN/Inf) or ended above its own error before training
    (the first record): a scale-free test, whatever the task's error scale."""
    err = ds["final_test_mse"]
    bad = ~np.isfinite(err)
    if "test_mse" in ds and "record" in ds["test_mse"].dims:
        bad = bad | (err > ds["test_mse"].isel(record=0))
    return bad


def _walsh(y):
    """All 2^k contrasts of a 2^k full factorial: y has k axes of length 2 (low, high).
    Returns an array of the same shape whose entry at index bits b is the effect of the
    interaction of the factors with b_i = 1 (the mean of y where the product of their
    signs is +1 minus the mean where it is -1); entry (0, ..., 0) is the grand mean."""
    c = np.asarray(y, dtype=float).copy()
    for ax in range(c.ndim):
        lo, hi = np.take(c, 0, axis=ax), np.take(c, 1, axis=ax)
        c = np.stack([lo + hi, hi - lo], axis=ax)
    n = c.size
    c = c / (n / 2)
    c.flat[0] /= 2
    return c


def _lenth(contrasts):
    """Lenth's pseudo standard error of unreplicated factorial effects, and the margin of
    error at 95% (t quantile with m/3 degrees of freedom, m = number of effects)."""
    from scipy import stats

    a = np.abs(np.asarray(contrasts, dtype=float))
    s0 = 1.5 * np.median(a)
    pse = 1.5 * np.median(a[a < 2.5 * s0]) if np.any(a < 2.5 * s0) else s0
    return pse, float(stats.t.ppf(0.975, len(a) / 3.0)) * pse


def effects(ds, group="phi", top=6, learning=False):
    """Factorial effects on log10(final test MSE) of a two-level full grid, computed
    separately for each value of `group` (the transfer function, which is zipped with its
    scale and threshold and changes the error scale). Diverged runs (see _diverged) enter
    at their error before training, so a divergence counts as "no learning", not as an
    infinite error. With learning=True the effects are on log10(final / before training),
    what learning did, without the parameters' effect on the starting error. Returns
    {group value: (main effects {axis: effect}, top interactions [((a, b), effect)],
    margin of error, runs, diverged runs)}."""
    err = ds["final_test_mse"]
    bad = _diverged(ds)
    first = ds["test_mse"].isel(record=0) if "test_mse" in ds else err
    y = np.log10(err.where(~bad, first))
    if learning:
        y = y - np.log10(first)
    groups = [None] if group not in y.dims else list(ds[group].values)
    res = {}
    for g in groups:
        yg = y if g is None else y.sel({group: g})
        axes = [d for d in yg.dims if d != "seed" and yg.sizes[d] == 2]
        if "seed" in yg.dims:
            yg = yg.mean("seed")
        yg = yg.transpose(*axes)
        c = _walsh(yg.values)
        idx = np.array(np.unravel_index(np.arange(c.size), c.shape)).T
        order = idx.sum(1)
        main = {a: float(c[tuple(np.eye(len(axes), dtype=int)[i])]) for i, a in enumerate(axes)}
        pairs = [((axes[i], axes[j]), float(c[tuple(b)]))
                 for b in idx[order == 2] for i, j in [np.flatnonzero(b)]]
        pairs.sort(key=lambda t: -abs(t[1]))
        _, me = _lenth(c.flat[1:])
        bg = bad if g is None else bad.sel({group: g})
        res[g] = (main, pairs[:top], me, int(bg.size), int(bg.sum()))
    return res


def params(path, fig=None, out=sys.stdout):
    """Marginals of the final test MSE along every grid axis (mean, median, diverged runs),
    then the factorial effects on log10 of it per transfer function (effects()), with
    Lenth's 95% margin of error: an effect larger than the margin is a real one."""
    ds = open_results(path)
    err = ds["final_test_mse"]
    axes = [d for d in err.dims if d != "seed"]
    bad = _diverged(ds)
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
            "diverged (NaN, or above its error before training)"], rows, out)
    eff = effects(ds)
    learn = effects(ds, learning=True)
    for what, res in (("log10 final test MSE", eff),
                      ("log10(final test MSE / before training), what learning did", learn)):
        for g, (main, pairs, me, n, nb) in res.items():
            _effects_table(ds, what, g, main, pairs, me, n, nb, out)
    if fig:
        _effects_figure(ds, eff, learn, fig)


def _effects_table(ds, what, g, main, pairs, me, n, nb, out):
    """One transfer function's main effects and largest interactions, as two tables."""
    name = "" if g is None else f" (phi = {g})"
    print(f"\nEffects on {what}{name}: {n} runs, {nb} diverged; "
          f"95% margin of error (Lenth) {me:.4f}", file=out)
    ax_names = list(main)
    rows = []
    for a in ax_names:
        lo, hi = ds[a].values
        rows.append([a, f"{lo} -> {hi}", f"{main[a]:+.4f}", f"x{10 ** main[a]:.3f}",
                     "yes" if abs(main[a]) > me else "no"])
    _table(["parameter", "low -> high", "effect on log10 MSE", "factor on MSE",
            "beyond margin"], rows, out)
    rows = [[f"{a} x {b}", f"{e:+.4f}", "yes" if abs(e) > me else "no"] for (a, b), e in pairs]
    _table(["largest two-factor interactions", "effect on log10 MSE", "beyond margin"],
           rows, out)


def _effects_figure(ds, eff, learn, fig):
    """Main effects on the final error and on what learning did, side by side, and the
    largest two-factor interactions on the final error, one colour per transfer function."""
    plt = _plt()
    keys = list(eff)
    ax_names = list(eff[keys[0]][0])
    f, ax = plt.subplots(1, 3, figsize=(15, 0.38 * len(ax_names) + 1.8))
    h = 0.8 / len(keys)
    for k, g in enumerate(keys):
        off = (k - (len(keys) - 1) / 2) * h
        for j, res in enumerate((eff, learn)):
            main, _, me, _, _ = res[g]
            ax[j].barh(np.arange(len(ax_names)) + off, [main[a] for a in ax_names], height=h,
                       color=f"C{k}", label=f"phi = {g}")
            ax[j].axvspan(-me, me, color=f"C{k}", alpha=0.12)
        pairs = eff[g][1]
        ax[2].barh(np.arange(len(pairs)) + off, [e for _, e in pairs], height=h, color=f"C{k}")
        for i, ((a, b), _) in enumerate(pairs):
            ax[2].text(0, i + off, f" {a} x {b}", va="center", fontsize=6)
    for j in (0, 1):
        ax[j].set_yticks(range(len(ax_names)))
        ax[j].set_yticklabels([f"{a} ({ds[a].values[0]} -> {ds[a].values[1]})"
                               for a in ax_names] if j == 0 else [], fontsize=7)
        ax[j].axvline(0, color="k", lw=0.5)
    ax[0].set_xlabel("main effect on log10 final test MSE (low -> high)", fontsize=8)
    ax[1].set_xlabel("main effect on log10(final / before training)", fontsize=8)
    ax[0].legend(fontsize=7)
    ax[2].set_yticks([])
    ax[2].axvline(0, color="k", lw=0.5)
    ax[2].set_xlabel("largest two-factor interactions, log10 final test MSE", fontsize=8)
    f.suptitle("parameter study: factorial effects (shaded: Lenth's 95% margin)", fontsize=9)
    f.tight_layout()
    f.savefig(fig, dpi=120)


def scales(path=None, fig=None, out=sys.stdout, n=20000, seed=0):
    """The teacher-student task's scales in the paper's setting, by sampling (no results
    file): the teacher's outputs y = 10 W2 phi(2 W1 x), and the student's hidden potentials
    u = g_B / g_tot W x (steady state, no apical input) and rates phi(u), with
    phi(u) = 0.1 log(1 + e^(u-3)), inputs and weights U(-1, 1), 30-20-10 and 30-50-10."""
    rng = np.random.default_rng(seed)
    phi = lambda u: 0.1 * np.logaddexp(0.0, u - 3.0)  # noqa: E731
    slope = lambda u: 0.1 / (1.0 + np.exp(3.0 - u))  # noqa: E731
    x = rng.uniform(-1, 1, (n, 30))
    w1, w2 = rng.uniform(-1, 1, (20, 30)), rng.uniform(-1, 1, (10, 20))
    y = 10 * phi(2 * x @ w1.T) @ w2.T
    u = x @ rng.uniform(-1, 1, (50, 30)).T * (1.0 / (0.1 + 1.0 + 0.8))
    r = phi(u)
    rows = [["teacher output y: mean, std", f"{y.mean():.2f}, {y.std():.2f}"],
            ["fraction of teacher outputs below u = 1", f"{(y < 1).mean():.2f}"],
            ["slope of phi at u = 1", f"{slope(1.0):.4f}"],
            ["student hidden potential u: std", f"{u.std():.2f}"],
            ["student hidden rate phi(u): mean, std", f"{r.mean():.4f}, {r.std():.4f}"],
            ["slope of phi at u = 0", f"{slope(0.0):.4f}"]]
    rows += _output_drive(rng, x, y, r, phi, out)
    _table(["quantity", f"value ({n} samples, seed {seed})"], rows, out)
    return rows


# Conductances of the card (1/ms) and the time per pattern (ms).
G_LK, G_B, G_SOM, T_PATTERN = 0.1, 1.0, 0.8, 100.0
CARD_ETA_OUT = 0.0005  # the card's output rate (1/ms)


def _output_drive(rng, x, y, r, phi, out):
    """How fast the output rule can move the output weights at the start, per unit of learning
    rate: the rule is dW/dt = eta (phi(u) - phi(vhat)) r^T with, at steady state, vhat =
    g_B / (g_lk + g_B) W r and u nudged toward the target y, u = (g_B W r + g_som y) /
    (g_lk + g_B + g_som). Against it, the size of output weights that fit the teacher by least
    squares on these hidden rates, and the patterns of 100 ms that eta = 0.0005 / ms (the
    card's) and eta = 300 would need to move the weights that far at the starting drive (a
    lower bound: the drive shrinks as the error does)."""
    w0 = rng.uniform(-1, 1, (10, 50))
    vb = r @ w0.T
    vhat = G_B / (G_LK + G_B) * vb
    u = (G_B * vb + G_SOM * y) / (G_LK + G_B + G_SOM)
    drive = np.sqrt(np.mean(((phi(u) - phi(vhat))[:, :, None] * r[:, None, :]) ** 2))
    wfit, *_ = np.linalg.lstsq(G_B / (G_LK + G_B) * r, y, rcond=None)
    wrms = float(np.sqrt(np.mean((wfit.T - w0) ** 2)))
    need = lambda eta: wrms / (eta * T_PATTERN * drive)  # noqa: E731
    return [["output rule's drive at the start, rms of (phi(u) - phi(vhat)) r_j (per ms per unit eta)",
             f"{drive:.3g}"],
            ["least-squares output weights minus the initial ones: rms", f"{wrms:.3g}"],
            [f"patterns to cover that at eta {CARD_ETA_OUT} / ms (the card's)", f"{need(CARD_ETA_OUT):.3g}"],
            ["patterns to cover that at eta 300 / ms", f"{need(300.0):.3g}"]]


COMMANDS = {"scales": scales, "selfpredict": selfpredict, "teacher": teacher, "bars": bars, "classify": classify,
            "params": params, "tune": tune, "compare": compare, "curves": curves}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=sorted(COMMANDS))
    ap.add_argument("file", nargs="?", help="results file (every command but scales)")
    ap.add_argument("-o", "--figure", help="write a figure (PNG) here")
    ap.add_argument("--against", help="compare: take the other models from this results file "
                    "(same base seed and seeds)")
    ap.add_argument("--metric", help="tune, compare: the output to rank or compare by "
                    "(default final_test_mse; e.g. final_test_rate_mse); curves: the curve "
                    "to print (default test_mse; e.g. test_rate_mse)")
    a = ap.parse_args(argv)
    if a.file is None and a.what != "scales":
        ap.error(f"{a.what} needs a results file")
    if a.metric and a.what not in ("tune", "compare", "curves"):
        ap.error("--metric applies to tune, compare and curves only")
    if a.against and a.what != "compare":
        ap.error("--against applies to compare only")
    kw = {"metric": a.metric} if a.metric else {}
    if a.against:
        kw["against"] = a.against
    COMMANDS[a.what](a.file, a.figure, **kw)


if __name__ == "__main__":
    main()
