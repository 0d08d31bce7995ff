"""Figures and tables of the urbanczik kernel's teacher task (Urbanczik & Senn 2014,
Fig. 1; NEST's urbanczik_synapse_example).

    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-teacher.h5 [-o FIG.png]
    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-params.h5 --params
    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-rates.h5 --rates [-o FIG.png]
    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-rates-params.h5 --rates --params

The first form prints, for the phases of the task (before teaching, the first and
the last taught repetition, after teaching), the correlation and RMS difference of
the dendritic prediction V* and the teacher's matching potential U_M, spikes and
mean weight: mean, standard deviation and min..max over seeds; and the factor by
which the RMS fell from the first repetition to the first one after teaching. With
-o it draws the figure: U, V* and U_M before, during and after learning (one seed),
the weights of 10 synapses over the repetitions, and correlation and RMS over the
repetitions (mean over seeds, min..max band).

The second form prints a table over the grid axes other than seed (eta,
tau_Delta, input_rate in sweeps/urbanczik-params.yaml): correlation and RMS in the
first repetition after teaching and the RMS factor, mean and standard deviation
over seeds.

With --rates (task rates) the tables give the angle between the student's and the
teacher's weights and |w - w*| / |w*| before teaching and after the first and the
last taught repetition, and the RMS of V* against the teacher's V*; the figure draws
them over the repetitions and the final weights against the teacher's.

Grid axes other than seed (e.g. pi_dead) give one table each; the figures draw the
first value of each unless --sel AXIS=VALUE picks another.

    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-mc-self-predict.h5 \
        --mc results/urbanczik-mc-rate.h5 [-o FIG.png]

With --mc (task self_predict, the spiking microcircuit, beside the rate kernel
`microcircuit`'s file of the same experiment) the table gives, per condition (the
grid axes other than seed of each file), the apical error (mean squared apical
potential over an evaluation) before and after training and their ratio, the
spiking network's apical error of the pattern-averaged apical potential, the
interneuron mismatch, the alignment angles of W_IP and W_PI, and the firing rates:
mean ± standard deviation over seeds. The figure draws apical error, interneuron
mismatch, the angle of W_PI to -W_down and the rates over training, both models in
the same axes (mean over seeds, min..max band).

    /usr/bin/python3 -m analysis.urbanczik results/urbanczik-mc-teacher.h5 --mc-teacher [-o FIG.png]

With --mc-teacher (task mc_teacher) the table gives per condition the test MSE of the
output potentials before and after training, its minimum over training, the apical
error and the rates; the figure draws the test MSE and the apical error over training.
"""
import argparse
import sys

import numpy as np

from analysis.summary import open_results

NEEDED = ("corr", "rms", "corr_U", "spikes", "mean_w", "w_rep", "snap_rep", "trace_t", "trace_U",
          "trace_Vstar", "trace_UM", "angle", "w_error", "w_teacher")


def load(path):
    ds = open_results(path)
    missing = [v for v in NEEDED if v not in ds]
    if missing:
        raise ValueError(f"{path}: no output {', '.join(missing)}; is this a result file of the "
                         "urbanczik kernel's teacher task?")
    return ds


def phases(ds):
    """Repetition index of each phase, from snap_rep = (0, first taught, last
    taught, last)."""
    snap = ds["snap_rep"]
    for d in snap.dims:
        if d != "snap":
            snap = snap.isel({d: 0})
    first, t0, t1, last = (int(x) for x in snap.values)
    out = {"first (no teacher)": first}
    if t0 - 1 > first:
        out["last before teaching"] = t0 - 1
    out["first taught"] = t0
    out["last taught"] = t1
    if t1 + 1 <= last:
        out["first after teaching"] = t1 + 1
    if last > t1 + 1:
        out["last"] = last
    return out


def _stats(x):
    x = np.asarray(x, dtype=float).ravel()
    return x.mean(), x.std(ddof=1) if x.size > 1 else 0.0, x.min(), x.max(), x.size


def _fmt(x, nd=3):
    m, s, lo, hi, n = _stats(x)
    return f"{m:.{nd}f} ± {s:.{nd}f} ({lo:.{nd}f}..{hi:.{nd}f})"


def rms_factor(ds):
    """RMS(V* - U_M) in the first repetition over that in the first one after
    teaching (the last taught one when there is none after), per task."""
    ph = phases(ds)
    after = ph.get("first after teaching", ph["last taught"])
    return ds["rms"].isel(rep=0) / ds["rms"].isel(rep=after)


def _phase_table(ds, ph, columns, out):
    """One row per phase; columns: (header, output, decimals)."""
    print("| phase | repetition | " + " | ".join(c[0] for c in columns) + " |", file=out)
    print("|---|---|" + "---|" * len(columns), file=out)
    for name, r in ph.items():
        cells = [_fmt(ds[v].isel(rep=r), nd) for _, v, nd in columns]
        print(f"| {name} | {r} | " + " | ".join(cells) + " |", file=out)
    print(file=out)


def _axes(ds):
    """Grid axes other than seed."""
    return [d for d in ds["corr"].dims if d not in ("rep", "seed")]


def _cells(ds):
    """(title, dataset) for every combination of the grid axes other than seed."""
    axes = _axes(ds)
    if not axes:
        yield "", ds
        return
    for idx in np.ndindex(*(ds.sizes[a] for a in axes)):
        sel = dict(zip(axes, idx))
        title = ", ".join(f"{a} = {_val(ds[a].values[i])}" for a, i in sel.items())
        yield title, ds.isel(sel)


def _val(v):
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode()
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    return f"{v:g}" if isinstance(v, (float, np.floating, int, np.integer)) else str(v)


def teacher_table(ds, out=None, at=()):
    """at: further repetitions to show, between the phases."""
    out = out or sys.stdout  # looked up per call, so that redirection works
    for title, cell in _cells(ds):
        if title:
            print(f"### {title}\n", file=out)
        _teacher_table(cell, out, at)
        print(file=out)


def _teacher_table(ds, out, at=()):
    ph = phases(ds)
    if at:
        rows = list(ph.items()) + [(f"repetition {r}", r) for r in at if r not in ph.values()]
        ph = dict(sorted(rows, key=lambda kv: kv[1]))
    nseed = ds.sizes.get("seed", 1)
    print(f"mean ± sd (min..max) over {nseed} seed(s)", file=out)
    print(file=out)
    _phase_table(ds, ph, [("corr(V*, U_M)", "corr", 3), ("RMS(V* - U_M) (mV)", "rms", 2),
                          ("corr(U, U_M)", "corr_U", 3), ("spikes", "spikes", 1),
                          ("mean weight (pA)", "mean_w", 1)], out)
    print(f"RMS factor (first repetition / first after teaching): {_fmt(rms_factor(ds), 2)}",
          file=out)
    # Where the remaining error sits: the last repetition's traces, split at
    # U_M's midpoint (the two halves of the sine).
    vs, um = ds["trace_Vstar"].isel(snap=3), ds["trace_UM"].isel(snap=3)
    mid = 0.5 * (float(um.min()) + float(um.max()))
    lo = np.sqrt((((vs - um) ** 2).where(um < mid)).mean("sample"))
    hi = np.sqrt((((vs - um) ** 2).where(um >= mid)).mean("sample"))
    print(f"last repetition (traces): U_M from {float(um.min()):.1f} to {float(um.max()):.1f} mV; "
          f"V* min {_fmt(vs.min('sample'), 1)}, max {_fmt(vs.max('sample'), 1)} mV; RMS where U_M "
          f"< {mid:.1f} mV {_fmt(lo, 2)}, above {_fmt(hi, 2)}", file=out)


def params_table(ds, out=None):
    out = out or sys.stdout
    ph = phases(ds)
    after = ph.get("first after teaching", ph["last taught"])
    axes = _axes(ds)
    if not axes:
        raise ValueError("no grid axes besides seed: use the teacher table")
    if is_rates(ds):
        return _rates_params_table(ds, axes, ph, out)
    print(f"repetition {after} (first after teaching); mean ± sd over "
          f"{ds.sizes.get('seed', 1)} seed(s)", file=out)
    print(file=out)
    print("| " + " | ".join(axes) + " | corr(V*, U_M) | RMS (mV) | RMS factor | spikes/rep |",
          file=out)
    print("|" + "---|" * (len(axes) + 4), file=out)
    fac = rms_factor(ds)
    corr = ds["corr"].isel(rep=after)
    rms = ds["rms"].isel(rep=after)
    spk = ds["spikes"].isel(rep=after)

    def ms(x, nd):
        m, s, *_ = _stats(x)
        return f"{m:.{nd}f} ± {s:.{nd}f}"

    for idx in np.ndindex(*(ds.sizes[a] for a in axes)):
        sel = dict(zip(axes, idx))
        vals = [ds[a].values[i] for a, i in sel.items()]
        print("| " + " | ".join(f"{v:g}" for v in vals) +
              f" | {ms(corr.isel(sel), 3)} | {ms(rms.isel(sel), 2)} | {ms(fac.isel(sel), 2)} |"
              f" {ms(spk.isel(sel), 1)} |", file=out)


def is_rates(ds):
    return bool((ds["angle"] >= 0).any())


def _ms(x, nd):
    m, s, *_ = _stats(x)
    return f"{m:.{nd}f} ± {s:.{nd}f}"


def rates_table(ds, out=None):
    out = out or sys.stdout
    ph = phases(ds)
    nseed = ds.sizes.get("seed", 1)
    print(f"mean ± sd (min..max) over {nseed} seed(s); angle and error after the repetition",
          file=out)
    print(file=out)
    for title, cell in _cells(ds):
        if title:
            print(f"### {title}\n", file=out)
        _phase_table(cell, ph, [("angle(w, w*) (deg)", "angle", 2),
                                ("abs(w - w*) / abs(w*)", "w_error", 3),
                                ("RMS(V* - V*_teacher) (mV)", "rms", 2),
                                ("mean weight (pA)", "mean_w", 1)], out)
    print(f"teacher's mean weight: {float(ds['w_teacher'].mean()):.1f} pA", file=out)


def _rates_params_table(ds, axes, ph, out):
    last = ph["last taught"]
    print(f"after repetition {last} (last taught) against repetition 0; mean ± sd over "
          f"{ds.sizes.get('seed', 1)} seed(s)", file=out)
    print(file=out)
    print("| " + " | ".join(axes) + " | angle before (deg) | angle after (deg) | error before |"
          " error after | RMS(V* - V*_teacher) after (mV) |", file=out)
    print("|" + "---|" * (len(axes) + 5), file=out)
    for title, cell in _cells(ds):
        vals = [v.split(" = ")[1] for v in title.split(", ")]
        print("| " + " | ".join(vals) +
              f" | {_ms(cell['angle'].isel(rep=0), 2)} | {_ms(cell['angle'].isel(rep=last), 2)} |"
              f" {_ms(cell['w_error'].isel(rep=0), 3)} | {_ms(cell['w_error'].isel(rep=last), 3)} |"
              f" {_ms(cell['rms'].isel(rep=last), 2)} |", file=out)


def _select(ds, sel):
    """The cell of the figure: sel's values, the first value of other grid axes."""
    for a in _axes(ds):
        if a in (sel or {}):
            v = sel[a]
            vals = [_val(x) for x in ds[a].values]
            if v not in vals:
                raise ValueError(f"--sel {a}={v}: the axis has {', '.join(vals)}")
            ds = ds.isel({a: vals.index(v)})
        else:
            ds = ds.isel({a: 0})
    return ds


def _band(ax, x, da, *args, **kw):
    """Mean over seeds against x, with a min..max band when there are seeds."""
    m = da.mean("seed") if "seed" in da.dims else da
    line, = ax.plot(x, m.values, *args, **kw)
    if "seed" in da.dims:
        ax.fill_between(x, da.min("seed").values, da.max("seed").values,
                        color=line.get_color(), alpha=0.12 if kw.get("color") else 0.2)
    return line


def rates_figure(ds, path, sel=None, seed_index=0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ph = phases(ds)
    reps = np.arange(ds.sizes["rep"])
    for title, cell in _cells(ds):
        for ax, name in zip(axes[:2], ("angle", "w_error")):
            _band(ax, reps, cell[name], label=title or "all")
    for ax, lab in zip(axes[:2], ("angle(w, w*) (deg)", "|w - w*| / |w*|")):
        ax.axvspan(ph["first taught"], ph["last taught"] + 1, color="0.9", zorder=0)
        ax.set_xlabel("repetition (grey: teacher on)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=8)
    one = _select(ds, sel)
    one = one.isel(seed=seed_index) if "seed" in one.dims else one
    w, ws = one["w_final"].values, one["w_teacher"].values
    axes[2].plot(ws, w, ".", ms=4)
    hi = max(ws.max(), w.max())
    axes[2].plot([0, hi], [0, hi], "k--", lw=0.8)
    axes[2].set_xlabel("teacher's weight w* (pA)")
    axes[2].set_ylabel("learned weight w (pA)")
    axes[2].set_title("final weights, one seed" + (f" ({', '.join(f'{k}={v}' for k, v in (sel or {}).items())})" if sel else ""), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def figure(ds, path, seed_index=0, sel=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = _select(ds, sel)
    one = ds.isel(seed=seed_index) if "seed" in ds.dims else ds
    snap = one["snap_rep"].values
    t = one["trace_t"].values
    fig, axes = plt.subplots(5, 1, figsize=(9, 13))
    titles = ["before learning (repetition %d, no teacher)" % snap[0],
              "during learning (repetition %d, teacher on)" % snap[2],
              "after learning (repetition %d, no teacher)" % snap[3]]
    for ax, s, title in zip(axes[:3], (0, 2, 3), titles):
        u, vs, um = (one[v].isel(snap=s).values for v in ("trace_U", "trace_Vstar", "trace_UM"))
        ax.plot(t, um, color="r", lw=1.5, label="$U_M$ (teacher's matching potential)")
        ax.plot(t, u, color="darkblue", lw=0.8, label="$U$ (soma)")
        ax.plot(t, vs, color="b", ls="--", lw=1.2, label="$V^*$ (dendritic prediction)")
        ax.set_ylabel("mV")
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[2].set_xlabel("time in the pattern (ms)")
    w = one["w_rep"].values  # (rep, input)
    reps = np.arange(w.shape[0])
    for i in range(0, w.shape[1], max(1, w.shape[1] // 10)):
        axes[3].step(reps, w[:, i], where="post", lw=1)
    axes[3].set_ylabel("weight (pA)")
    axes[3].set_title("weights of 10 synapses at the end of each repetition", fontsize=10)
    ph = phases(ds)
    for ax in axes[3:]:
        ax.axvspan(ph["first taught"], ph["last taught"] + 1, color="0.9", zorder=0)
    for name, color in (("corr", "k"), ("rms", "m")):
        da = ds[name]
        m = da.mean("seed") if "seed" in da.dims else da
        lo = da.min("seed") if "seed" in da.dims else da
        hi = da.max("seed") if "seed" in da.dims else da
        ax = axes[4] if name == "corr" else axes[4].twinx()
        ax.plot(reps, m.values, color=color, label=name)
        ax.fill_between(reps, lo.values, hi.values, color=color, alpha=0.2)
        ax.set_ylabel("corr($V^*$, $U_M$)" if name == "corr" else "RMS($V^*$ - $U_M$) (mV)",
                      color=color)
    axes[4].set_xlabel("repetition (grey: teacher on)")
    axes[4].set_title("over repetitions: mean over seeds, min..max band", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


MC_NEEDED = ("mc_pattern", "mc_apical_error", "mc_apical_slow", "mc_interneuron_error",
             "mc_rate_hidden", "mc_rate_out", "mc_rate_inter", "mc_angle_ip_up",
             "mc_angle_pi_down")
RATE_NEEDED = ("pattern", "apical_error", "interneuron_error", "angle_ip_up", "angle_pi_down")


def mc_load(spiking, rate):
    """The spiking self_predict file and the rate kernel's file, checked."""
    spk = _task(open_results(spiking), "self_predict")
    miss = [v for v in MC_NEEDED if v not in spk]
    if miss or (spk["mc_pattern"].values < 0).any():
        raise ValueError(f"{spiking}: not a result file of the urbanczik kernel's self_predict "
                         f"task{' (no output ' + ', '.join(miss) + ')' if miss else ''}")
    rt = open_results(rate)
    miss = [v for v in RATE_NEEDED if v not in rt]
    if miss:
        raise ValueError(f"{rate}: no output {', '.join(miss)}; is this a result file of the "
                         "microcircuit kernel?")
    if (rt["apical_error"].values < 0).any():
        raise ValueError(f"{rate}: the apical error is -1 (a baseline model, or no hidden layer)")
    return spk, rt


def _mc_cells(ds, var):
    """(title, dataset) per combination of the axes of var other than seed and record."""
    axes = [d for d in ds[var].dims if d not in ("seed", "record", "hidden_layer")]
    for idx in np.ndindex(*(ds.sizes[a] for a in axes)):
        sel = dict(zip(axes, idx))
        yield ", ".join(f"{a} = {_val(ds[a].values[i])}" for a, i in sel.items()), ds.isel(sel)


def _rate_cell(c):
    """The rate kernel's cell with the spiking names (first hidden layer)."""
    first = {"hidden_layer": 0} if "hidden_layer" in c.dims else {}
    return {"pattern": c["pattern"], "apical": c["apical_error"], "slow": None,
            "inter": c["interneuron_error"], "ip": c["angle_ip_up"].isel(first),
            "pi": c["angle_pi_down"].isel(first), "rates": None}


def _spk_cell(c):
    return {"pattern": c["mc_pattern"], "apical": c["mc_apical_error"], "slow": c["mc_apical_slow"],
            "inter": c["mc_interneuron_error"], "ip": c["mc_angle_ip_up"],
            "pi": c["mc_angle_pi_down"],
            "rates": (c["mc_rate_hidden"], c["mc_rate_out"], c["mc_rate_inter"])}


def mc_rows(spk, rt):
    """(model, condition, cell) for every condition of both files, rate first."""
    rows = [("rate", t, _rate_cell(c)) for t, c in _mc_cells(rt, "apical_error")]
    return rows + [("spiking", t, _spk_cell(c)) for t, c in _mc_cells(spk, "mc_apical_error")]


def _end(da, j):
    return da.isel(record=j).values


def mc_table(spk, rt, out=None):
    out = out or sys.stdout
    print("| model | condition | apical error before | after | before / after | "
          "pattern-averaged apical error after | interneuron error before -> after | "
          "angle(W_IP, W_up) after (deg) | angle(W_PI, -W_down) after (deg) | "
          "rates hidden / output / inter after (Hz) | seeds |", file=out)
    print("|---|---|---|---|---|---|---|---|---|---|---|", file=out)
    for model, title, c in mc_rows(spk, rt):
        a0, a1 = _end(c["apical"], 0), _end(c["apical"], -1)
        m0, m1 = _stats(a0)[0], _stats(a1)[0]
        slow = _fmt(_end(c["slow"], -1), 4) if c["slow"] is not None else "-"
        i0, i1 = _stats(_end(c["inter"], 0))[0], _stats(_end(c["inter"], -1))[0]
        rates = ("-" if c["rates"] is None else
                 " / ".join(f"{_stats(_end(r, -1))[0]:.1f}" for r in c["rates"]))
        n = _stats(a1)[4]
        ratio = f"{m0 / m1:.3g}" if m0 > 0 and m1 > 0 else "-"
        print(f"| {model} | {title or '-'} | {m0:.4g} | {_fmt(a1, 4)} | {ratio} | {slow} | "
              f"{i0:.3g} -> {i1:.3g} | {_stats(_end(c['ip'], -1))[0]:.1f} | "
              f"{_stats(_end(c['pi'], -1))[0]:.1f} | {rates} | {n} |", file=out)


def mc_figure(spk, rt, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    colours = {}  # one colour per condition apart from the start; the rate model black
    for model, title, c in mc_rows(spk, rt):
        x = c["pattern"]
        x = (x.isel(seed=0) if "seed" in x.dims else x).values
        style = "-" if "self_predicting" not in title else "--"
        lw = 2.2 if model == "rate" else 1.2
        label = f"{model}: {title}"
        key_c = (model, ", ".join(t for t in title.split(", ") if "init" not in t))
        colour = "k" if model == "rate" else colours.setdefault(key_c, f"C{len(colours)}")
        for ax, key in zip(axes[:3], ("apical", "inter", "pi")):
            _band(ax, x, c[key], style, lw=lw, label=label, color=colour)
        if c["rates"] is not None and "self_predicting" not in title:
            for r, mk in zip(c["rates"], ("-", ":", "-.")):
                m = r.mean("seed") if "seed" in r.dims else r
                axes[3].plot(x, m.values, mk, color=colour, label=f"{key_c[1]}: {r.name[8:]}")
    for ax, lab in zip(axes, ("apical error (mean v_A^2)", "interneuron error (mean (u_I - u)^2)",
                              "angle(W_PI, -W_down) (deg)", "spiking: mean rate (Hz)")):
        ax.set_xlabel("training patterns (100 ms each)")
        ax.set_ylabel(lab)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=6)
    axes[3].legend(fontsize=5)
    fig.suptitle("self-prediction, 30-20-10: rate microcircuit (thick) and spiking microcircuit "
                 "(thin); dashed: from the self-predicting state", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _task(ds, task):
    """The cells of one task when the file has the task as an axis."""
    if "task" in ds.dims:
        names = [_val(v) for v in ds["task"].values]
        if task not in names:
            raise ValueError(f"the file's task axis has {', '.join(names)}, not {task}")
        ds = ds.isel(task=names.index(task))
    return ds


def mc_teacher_load(path):
    ds = _task(open_results(path), "mc_teacher")
    miss = [v for v in MC_NEEDED + ("mc_test_mse",) if v not in ds]
    if miss or (ds["mc_test_mse"].values < 0).any():
        raise ValueError(f"{path}: not a result file of the urbanczik kernel's mc_teacher task"
                         f"{' (no output ' + ', '.join(miss) + ')' if miss else ''}")
    return ds


def mc_teacher_table(ds, out=None):
    out = out or sys.stdout
    print("| condition | test MSE before | after | before / after | least over training | "
          "apical error after | rates hidden / output / inter after (Hz) | seeds |", file=out)
    print("|---|---|---|---|---|---|---|---|", file=out)
    for title, c in _mc_cells(ds, "mc_test_mse"):
        m = c["mc_test_mse"]
        b, a = _end(m, 0), _end(m, -1)
        least = m.min("record").values
        rates = " / ".join(f"{_stats(_end(c[r], -1))[0]:.1f}"
                           for r in ("mc_rate_hidden", "mc_rate_out", "mc_rate_inter"))
        print(f"| {title or '-'} | {_fmt(b, 2)} | {_fmt(a, 2)} | {_stats(b)[0] / _stats(a)[0]:.2f} | "
              f"{_fmt(least, 2)} | {_fmt(_end(c['mc_apical_error'], -1), 3)} | {rates} | "
              f"{_stats(a)[4]} |", file=out)


def mc_teacher_figure(ds, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for title, c in _mc_cells(ds, "mc_test_mse"):
        x = c["mc_pattern"]
        x = (x.isel(seed=0) if "seed" in x.dims else x).values
        for ax, key in zip(axes, ("mc_test_mse", "mc_apical_error")):
            _band(ax, x, c[key], label=title or "all")
    for ax, lab in zip(axes, ("test MSE of the output potentials", "apical error (mean v_A^2)")):
        ax.set_xlabel("training patterns (100 ms each)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=8)
    fig.suptitle("spiking microcircuit, teacher-student (30-50-10 student)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--figure", help="draw the Fig. 1 style figure into this file")
    ap.add_argument("--params", action="store_true", help="table over the grid axes")
    ap.add_argument("--rates", action="store_true", help="the rates task's tables and figure")
    ap.add_argument("--at", default="", metavar="R,R,...",
                    help="further repetitions for the teacher table's rows")
    ap.add_argument("--seed-index", type=int, default=0, help="seed of the trace panels")
    ap.add_argument("--mc", metavar="RATE.h5",
                    help="FILE is task self_predict's; compare with the rate kernel's RATE.h5")
    ap.add_argument("--mc-teacher", action="store_true", help="FILE is task mc_teacher's")
    ap.add_argument("--sel", action="append", default=[], metavar="AXIS=VALUE",
                    help="value of a grid axis for the figure's single-run panels")
    a = ap.parse_args(argv)
    try:
        sel = dict(x.split("=", 1) for x in a.sel)
        if a.mc_teacher:
            ds = mc_teacher_load(a.file)
            mc_teacher_table(ds)
            if a.figure:
                mc_teacher_figure(ds, a.figure)
            return 0
        if a.mc:
            spk, rt = mc_load(a.file, a.mc)
            mc_table(spk, rt)
            if a.figure:
                mc_figure(spk, rt, a.figure)
            return 0
        ds = load(a.file)
        if a.rates != is_rates(ds):
            raise ValueError(f"{a.file} holds the {'rates' if is_rates(ds) else 'teacher'} task; "
                             f"{'drop' if a.rates else 'add'} --rates")
        if a.params:
            params_table(ds)
        elif a.rates:
            rates_table(ds)
        else:
            teacher_table(ds, at=[int(x) for x in a.at.split(",") if x])
        if a.figure:
            (rates_figure if a.rates else figure)(ds, a.figure, sel=sel, seed_index=a.seed_index)
    except (ValueError, KeyError, OSError) as e:
        print(f"analysis.urbanczik: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
