"""The urbanczik kernel's neuron and rule (src/kernels/urbanczik/urbanczik.h) in NumPy:
the same equations, propagators and order of operations as urbanczik_model.c, vectorised
over the synapses, one Python iteration per time step (the rule is recurrent in time).

The inputs and spike uniforms are those of bench/urbanczik/uz_bench.c: input i spikes at
the end of step s when frac((s n + i) g) < rate dt, the teacher is on throughout, and in
`check` mode the spike of step s is drawn with frac((s + 0.5) sqrt 2); `run` returns the
final weights, which bench.py compares with the C version's.
"""
import math
import time

import numpy as np

GOLDEN = 0.6180339887498949
SQRT2 = 1.4142135623730951

P = dict(C_s=300.0, C_d=300.0, gL_s=30.0, gL_d=30.0, EL_s=-70.0, EL_d=-70.0, E_ex=0.0, E_in=-75.0,
         g_sp=600.0, tau_ex=3.0, tau_in=3.0, tau_d=3.0, I_e=0.0, phi_max=0.15, k=0.5, beta=1 / 3,
         theta=-55.0, t_ref=3.0, u_unit=15.0, eta=0.17, tau_Delta=100.0, w_min=0.0, w_max=1350.0,
         dt=0.1)


def pattern(n, steps, p):
    """Synapse indices of each step, as in uz_bench.c (float64 products, as there)."""
    out = []
    i = np.arange(n, dtype=np.float64)
    for s in range(steps):
        x = (s * n + i) * GOLDEN
        out.append(np.nonzero(x - np.floor(x) < p)[0])
    return out


def run(n, steps, w0=90.0, uniforms=None, pat=None, rng=None):
    """Simulates `steps` steps; returns (weights, spikes). uniforms: a function of the step
    giving the spike draw's uniform (check mode), else rng.random() per live step. pat:
    input lists to repeat (default: the first `steps` steps of the formula)."""
    p = P
    dt = p["dt"]
    tau_L = p["C_d"] / p["gL_d"]
    aL, aS, aD = math.exp(-dt / tau_L), math.exp(-dt / p["tau_d"]), math.exp(-dt / p["tau_Delta"])
    aE, aI = math.exp(-dt / p["tau_ex"]), math.exp(-dt / p["tau_in"])
    mE = -math.expm1(-dt / p["tau_ex"]) * p["tau_ex"] / dt
    mI = -math.expm1(-dt / p["tau_in"]) * p["tau_in"] / dt
    psp = p["tau_d"] / (p["gL_d"] * (tau_L - p["tau_d"]))
    pVI = psp * (aL - aS)
    ref_steps = round(p["t_ref"] / dt)
    c = p["eta"] * (1 - aD)
    gLs, ELs, gsp, Cs = p["gL_s"], p["EL_s"], p["g_sp"], p["C_s"]
    pm, kk, beta, theta, uu, Cd = p["phi_max"], p["k"], p["beta"], p["theta"], p["u_unit"], p["C_d"]
    if pat is None:
        pat = pattern(n, steps, 10.0 * 1e-3 * dt)
    w = np.full(n, w0)
    trL, trS, D = np.zeros(n), np.zeros(n), np.zeros(n)
    tmp = np.empty(n)
    U, V, gE, gI, Id, refr, spikes = ELs, p["EL_d"], 0.0, 0.0, 0.0, 0, 0
    for s in range(steps):
        # subthreshold dynamics
        V0 = V
        V = p["EL_d"] + (V0 - p["EL_d"]) * aL + pVI * Id
        Id *= aS
        ge, gi, Vm = gE * mE, gI * mI, 0.5 * (V0 + V)
        G = gLs + ge + gi + gsp
        Uinf = (gLs * ELs + ge * p["E_ex"] + gi * p["E_in"] + gsp * Vm + p["I_e"]) / G
        U = Uinf + (U - Uinf) * math.exp(-G * dt / Cs)
        gE *= aE
        gI *= aI
        trL *= aL
        trS *= aS
        # weights
        np.multiply(D, c, out=tmp)
        w += tmp
        np.clip(w, p["w_min"], p["w_max"], out=w)
        # input of the step's end
        idx = pat[s % len(pat)]
        Id += w[idx].sum()
        trL[idx] += 1.0
        trS[idx] += 1.0
        t = (s + 1) * dt
        gE += (48.0 * math.sin(2 * math.pi * 0.01 * t) + 54.0) * dt
        gI += 180.0 * dt
        # spike
        sp = 0
        if refr > 0:
            refr -= 1
        else:
            u = uniforms(s) if uniforms else rng.random()
            if u < -math.expm1(-pm / (1 + kk * math.exp(beta * (theta - U))) * dt):
                refr, sp = ref_steps, 1
        spikes += sp
        # PI of the step
        vs = (gLs * ELs + gsp * V) / (gLs + gsp)
        phi = pm / (1 + kk * math.exp(beta * (theta - vs)))
        h = uu * beta / (1 + math.exp(-beta * (theta - vs)) / kk)
        f = uu * Cd * (sp - phi * dt) * h * psp
        D *= aD
        np.subtract(trL, trS, out=tmp)
        tmp *= f
        D += tmp
    return w, spikes


def check(n, steps):
    return run(n, steps, uniforms=lambda s: (s + 0.5) * SQRT2 - math.floor((s + 0.5) * SQRT2))


def rate(n, seconds):
    """(steps, cpu seconds) over whole 200 ms patterns for about `seconds` of CPU."""
    pat = pattern(n, 2000, 10.0 * 1e-3 * P["dt"])
    rng = np.random.default_rng(1)
    steps, t0 = 0, time.process_time()
    while True:
        run(n, 2000, pat=pat, rng=rng)
        steps += 2000
        t = time.process_time() - t0
        if t >= seconds:
            return steps, t
