"""The microcircuit kernel's Euler step (src/kernels/microcircuit/mc_model.c) in NumPy, for
bench/microcircuit/bench.py: the same equations, one vectorised call per layer quantity.

Layers 0 (input) .. L (output). Hidden layer k: soma u, basal v_B, apical v_A and n[k+1]
interneurons u_I; output: basal only, nudged toward the target with g_som. Rates are the
logistic of the somatic potentials; every plasticity rule with the tau_w low-pass.
"""
import time

import numpy as np

PAPER = dict(g_lk=0.1, g_B=1.0, g_A=0.8, g_D=1.0, g_som=0.8, g_lk_dend=1.0, dt=0.1, tau_in=3.0,
             tau_w=30.0, sigma=0.1, eta_up=0.0011875, eta_up_out=0.0005, eta_IP=0.0011875,
             eta_PI=0.0059375)


def phi(u):
    return 1.0 / (1.0 + np.exp(-u))


class Net:
    def __init__(self, n, weights=None, rng=None, c=PAPER):
        self.n, self.L, self.c = list(n), len(n) - 1, dict(c)
        L = self.L
        self.r = [np.zeros(m) for m in n]
        self.u = [None] + [np.zeros(m) for m in n[1:]]
        self.uI = [None] + [np.zeros(n[k + 1]) for k in range(1, L)] + [None]
        self.rI = [None] + [np.zeros(n[k + 1]) for k in range(1, L)] + [None]
        if weights is None:
            weights = {}
            for k in range(1, L + 1):  # the C code's draw order: every W_up, then the lateral ones
                weights["W_up", k] = rng.uniform(-1, 1, (n[k], n[k - 1]))
            for k in range(1, L):
                weights["W_down", k] = rng.uniform(-1, 1, (n[k], n[k + 1]))
                weights["W_PI", k] = rng.uniform(-1, 1, (n[k], n[k + 1]))
                weights["W_IP", k] = rng.uniform(-1, 1, (n[k + 1], n[k]))
        self.W = {key: np.array(w, dtype=float) for key, w in weights.items()}
        self.G = {key: np.zeros_like(w) for key, w in self.W.items()}
        self.target = np.zeros(n[L])

    def step(self, x, rng=None):
        c, L, W, r = self.c, self.L, self.W, self.r
        dt, gd = c["dt"], c["g_lk_dend"]
        r[0] += min(1.0, dt / c["tau_in"]) * (x - r[0])
        vB, vA, vI = {}, {}, {}
        for k in range(1, L + 1):
            vB[k] = W["W_up", k] @ r[k - 1] / gd
            if k < L:
                vA[k] = (W["W_down", k] @ r[k + 1] + W["W_PI", k] @ self.rI[k]) / gd
                vI[k] = W["W_IP", k] @ r[k] / gd
        du, duI = {}, {}
        for k in range(1, L + 1):
            u = self.u[k]
            d = -c["g_lk"] * u + c["g_B"] * (vB[k] - u)
            du[k] = d + (c["g_A"] * (vA[k] - u) if k < L else c["g_som"] * (self.target - u))
        for k in range(1, L):
            uI = self.uI[k]
            duI[k] = -c["g_lk"] * uI + c["g_D"] * (vI[k] - uI) + c["g_som"] * (self.u[k + 1] - uI)
        for k in range(1, L + 1):
            self.u[k] = self.u[k] + dt * du[k]
            if rng is not None and c["sigma"] > 0:
                self.u[k] += c["sigma"] * np.sqrt(dt) * rng.standard_normal(self.n[k])
            r[k] = phi(self.u[k])
            if k < L:
                self.uI[k] = self.uI[k] + dt * duI[k]
                self.rI[k] = phi(self.uI[k])
        for k in range(1, L + 1):
            g = c["g_lk"] + c["g_B"] + (c["g_A"] if k < L else 0.0)
            err = r[k] - phi(c["g_B"] / g * vB[k])
            self.update(("W_up", k), c["eta_up_out"] if k == L else c["eta_up"], err, r[k - 1])
        for k in range(1, L):
            errI = self.rI[k] - phi(c["g_D"] / (c["g_lk"] + c["g_D"]) * vI[k])
            self.update(("W_IP", k), c["eta_IP"], errI, r[k])
            self.update(("W_PI", k), c["eta_PI"], -vA[k], self.rI[k])

    def update(self, key, eta, post, pre):
        a = self.c["dt"] / self.c["tau_w"]
        G = self.G[key]
        G *= 1.0 - a
        G += np.outer(a * post, pre)  # scaling the vector, not the matrix: one temporary less
        self.W[key] += (self.c["dt"] * eta) * G


def setup(n, seed=1):
    rng = np.random.default_rng(seed)
    net = Net(n, rng=rng)
    x = rng.uniform(0, 1, n[0])
    net.target = rng.uniform(-1, 1, n[-1])
    return net, x, rng


def rate(n, seconds):
    """Steps per CPU second of one network stepping with noise and plasticity."""
    net, x, rng = setup(n)
    t0, steps = time.process_time(), 0
    while True:
        for _ in range(10):
            net.step(x, rng)
        steps += 10
        t = time.process_time() - t0
        if t >= seconds and steps >= 50:
            return steps, t


def read_dump(path):
    """The C bench's --dump file: {(name, k): array}."""
    out, lines = {}, open(path).read().split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, k, a, b = lines[i].split()
        a, b = int(a), int(b)
        out[name, int(k)] = np.array(lines[i + 1:i + 1 + a * b], dtype=float).reshape(a, b)
        i += 1 + a * b
    return out


def check_against_dump(path, n):
    """Largest difference of somatic potentials and forward weights after 200 steps."""
    d = read_dump(path)
    L = len(n) - 1
    w = {(name, k): v for (name, k), v in d.items() if name in ("W_up", "W_down", "W_PI", "W_IP")}
    net = Net(n, weights=w, c=dict(PAPER, sigma=0.0))
    net.target = d["target", L].ravel()
    x = d["x", 0].ravel()
    for _ in range(200):
        net.step(x)
    du = max(np.abs(net.u[k] - d["u", k].ravel()).max() for k in range(1, L + 1))
    dw = max(np.abs(net.W["W_up", k] - d["W_up_after", k]).max() for k in range(1, L + 1))
    return du, dw
