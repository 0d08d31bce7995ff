"""The folded autoencoder's training step in NumPy: the same equations as
src/kernels/folded/fd_model.c for two weight layers (64-32-8, 784-256-32), the
fixed-point relaxation from the feed-forward pathways with a fixed number of sweeps (a sweep
that would raise the energy is taken back and its step halved), then
the local updates. Weights and inputs are the closed forms of fd_bench.c."""
import time

import numpy as np


def phi(u):
    return 1.0 / (1.0 + np.exp(-u))


def dphi(u):
    s = 1.0 / (1.0 + np.exp(-u))
    return s * (1.0 - s)


def fill(rows, cols, m):
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return np.sin(1.0 + 0.37 * r + 0.11 * c + 1.7 * m) / np.sqrt(cols)


def pattern(n0, p):
    return 0.5 + 0.5 * np.sin(0.7 * p + 0.13 * np.arange(n0))


class Net:
    def __init__(self, n, lam, iters, damping=0.5):
        n0, n1, n2 = n
        eta = 0.64 / n0  # as fd_bench.c: a stable step for either size
        self.W1, self.W2 = fill(n1, n0, 1), fill(n2, n1, 2)
        self.G0, self.G1 = fill(n0, n1, 3), fill(n1, n2, 4)
        self.lam, self.iters, self.eta, self.damping = lam, iters, eta, damping

    def learn(self, x):
        lam, W1, W2, G0, G1 = self.lam, self.W1, self.W2, self.G0, self.G1
        a1, a2, b0, b1 = lam, 1.0, 1.0, 1.0 - lam
        # start: the encoder's and the decoder's potentials, mixed as in the soma
        ea1 = W1 @ x
        ea2 = W2 @ phi(ea1)
        da1 = G1 @ phi(ea2)
        u1, u2 = a1 * ea1 + b1 * da1, a2 * ea2
        # gradient steps on E; a step that raises E is taken back and halved
        w, e_prev = self.damping, np.inf
        for _ in range(self.iters):
            r1, r2 = phi(u1), phi(u2)
            mW1, mW2 = u1 - W1 @ x, u2 - W2 @ r1
            mG0, mG1 = x - G0 @ r1, u1 - G1 @ r2
            e = 0.5 * (b0 * mG0 @ mG0 + a1 * mW1 @ mW1 + b1 * mG1 @ mG1 + a2 * mW2 @ mW2)
            if e > e_prev + 1e-12 * (1.0 + abs(e_prev)) and w > 1e-12:
                w *= 0.5
                u1, u2 = u01 + w * d1, u02 + w * d2
                continue
            e_prev = e
            rhs1 = (a1 * (u1 - mW1) + b1 * (u1 - mG1)
                    + dphi(u1) * (a2 * (W2.T @ mW2) + b0 * (G0.T @ mG0))) / (a1 + b1)
            rhs2 = (a2 * (u2 - mW2) + dphi(u2) * (b1 * (G1.T @ mG1))) / a2
            u01, u02, d1, d2 = u1, u2, rhs1 - u1, rhs2 - u2
            u1, u2 = u1 + w * d1, u2 + w * d2
        r1, r2 = phi(u1), phi(u2)
        mW1, mW2 = u1 - W1 @ x, u2 - W2 @ r1
        mG0, mG1 = x - G0 @ r1, u1 - G1 @ r2
        eta = self.eta
        W1 += eta * np.outer(mW1, x)
        W2 += eta * np.outer(mW2, r1)
        G0 += eta * np.outer(mG0, r1)
        G1 += eta * np.outer(mG1, r2)


def check(n, lam, iters, patterns):
    net = Net(n, lam, iters)
    for p in range(patterns):
        net.learn(pattern(n[0], p))
    return [float(m.sum()) for m in (net.W1, net.W2, net.G0, net.G1)]


def rate(n, lam, iters, seconds):
    net = Net(n, lam, iters)
    t0, p = time.process_time(), 0
    while True:
        for _ in range(10):
            net.learn(pattern(n[0], p))
            p += 1
        t = time.process_time() - t0
        if t >= seconds:
            return p, t
