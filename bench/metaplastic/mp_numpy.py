"""The metaplastic kernel's inner loop in NumPy (src/kernels/metaplastic/mp.h has the
equations): softplus hidden layers (beta 10), softmax output, teaching signals through
fixed random feedback B, and the plastic update theta0 F0 + theta1 F1 + theta2 F2
(pseudo-gradient, error-Hebbian, Oja) after each example. The deterministic start of
bench/metaplastic/mp_bench.c, so that both can be compared weight by weight.
"""
import time

import numpy as np

GOLDEN = 0.6180339887498949
SQRT2 = 1.4142135623730951
BETA = 10.0
THETA = (0.02, 0.01, 0.005)


def frac(x):
    return x - np.floor(x)


def start(sizes):
    W, B = [], []
    for l in range(1, len(sizes)):
        n, n0 = sizes[l], sizes[l - 1]
        lim = np.sqrt(6.0 / (n + n0))
        i = np.arange(1, n * n0 + 1, dtype=float)
        W.append((lim * (2 * frac(i * GOLDEN + 0.1 * l) - 1)).reshape(n, n0))
        B.append((lim * (2 * frac(i * SQRT2 + 0.3 * l) - 1)).reshape(n, n0))
    return W, B


def inputs(sizes, count):
    n0 = sizes[0]
    k = np.arange(count * n0, dtype=float)
    return frac(k * SQRT2 / 3.0).reshape(count, n0), np.arange(count) % sizes[-1]


def learn(W, B, x, label, theta=THETA):
    """One plastic update, in place."""
    L = len(W)
    ys, ss = [x], []
    for l in range(L):
        a = W[l] @ ys[-1]
        if l < L - 1:
            z = BETA * a
            ys.append(np.where(z > 30, a, np.log1p(np.exp(np.minimum(z, 30))) / BETA))
            ss.append(1.0 / (1.0 + np.exp(-z)))
        else:
            p = np.exp(a - a.max())
            ys.append(p / p.sum())
    e = [None] * (L + 1)
    e[L] = ys[L].copy()
    e[L][label] -= 1.0
    for l in range(L, 0, -1):
        g = B[l - 1].T @ e[l]
        e[l - 1] = g * ss[l - 2] if l > 1 else g
    for l in range(1, L + 1):
        Wl, y, y0 = W[l - 1], ys[l], ys[l - 1]
        oja = y0 - Wl.T @ y
        Wl += (-theta[0] * np.outer(e[l], y0) - theta[1] * np.outer(e[l], e[l - 1])
               + theta[2] * np.outer(y, oja))


def check(sizes, updates):
    W, B = start(sizes)
    x, y = inputs(sizes, updates)
    for j in range(updates):
        learn(W, B, x[j], y[j])
    return np.concatenate([w.ravel() for w in W])


def rate(sizes, seconds):
    """Plastic updates per CPU second."""
    W, B = start(sizes)
    x, y = inputs(sizes, 300)
    n, t0 = 0, time.process_time()
    while True:
        for _ in range(20):
            learn(W, B, x[n % 300], y[n % 300])
            n += 1
        t = time.process_time() - t0
        if t >= seconds:
            return n / t
