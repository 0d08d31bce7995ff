"""The dendnet kernel's temporal convolutional network (src/kernels/dendnet/dn_tcn.c) in
NumPy: the same layout of parameters, the same causal "valid" convolutions unrolled into
one matrix product per layer, the same losses, backward pass and Adam, and the same
generated problem as build/bench/dd_bench (inputs, targets, weights without random
numbers), so that the two can be compared number for number and timed side by side.
"""
import math
import time

import numpy as np

GOLDEN = 0.6180339887498949


def kernels(depth, rf, first):
    if depth == 1:
        return [rf]
    rest = int(math.floor((rf - first) / (depth - 1) + 0.5)) + 1  # C's lround for >= 0
    return [first] + [max(rest, 1)] * (depth - 1)


class TCN:
    def __init__(self, cin, depth, width, rf, first):
        self.cin, self.depth, self.width = cin, depth, width
        self.K = kernels(depth, rf, first)
        self.rf = 1 + sum(k - 1 for k in self.K)
        self.shapes = []  # (offset of W, ci, K), offset of b
        off = 0
        for l, K in enumerate(self.K):
            ci = cin if l == 0 else width
            self.shapes.append((off, ci, K, off + width * ci * K))
            off += width * ci * K + width
        self.off_head, self.off_hb = off, off + 2 * width
        self.np = off + 2 * width + 2
        self.w = np.zeros(self.np)
        self.g = np.zeros(self.np)
        self.m = np.zeros(self.np)
        self.s = np.zeros(self.np)
        self.t = 0

    def W(self, l):
        off, ci, K, _ = self.shapes[l]
        return self.w[off:off + self.width * ci * K].reshape(self.width, ci * K)

    def b(self, l):
        ob = self.shapes[l][3]
        return self.w[ob:ob + self.width]

    def forward(self, x0, B, L):
        """x0: (cin, B * (L + rf - 1)); returns logits and voltages, (B * L,) each."""
        self.B, self.L = B, L
        a = x0.reshape(self.cin, B, L + self.rf - 1)
        self.cols, self.acts, self.lin = [], [], []
        for l, K in enumerate(self.K):
            ci, Li = a.shape[0], a.shape[2]
            Lo = Li - K + 1
            # rows (c, k), columns (b, t): a[c, b, t + k]
            col = np.stack([a[:, :, k:k + Lo] for k in range(K)], axis=1).reshape(ci * K, B * Lo)
            z = self.W(l) @ col + self.b(l)[:, None]
            act = np.maximum(z, 0.0)
            self.cols.append(col)
            self.acts.append(act)
            self.lin.append(Li)
            a = act.reshape(self.width, B, Lo)
        Wh = self.w[self.off_head:self.off_hb].reshape(2, self.width)
        self.out = Wh @ self.acts[-1] + self.w[self.off_hb:self.off_hb + 2][:, None]
        return self.out[0], self.out[1]

    def backward(self, y, v, vw):
        N = self.B * self.L
        z, e = self.out[0], self.out[1] - v
        bce = np.mean(np.where(z > 0, z + np.log1p(np.exp(-np.abs(z))), np.log1p(np.exp(z)))
                      - y * z)
        mse = np.mean(e * e)
        dout = np.stack([(1.0 / (1.0 + np.exp(-z)) - y) / N, 2.0 * vw * e / N])
        g = self.g
        g[:] = 0
        Wh = self.w[self.off_head:self.off_hb].reshape(2, self.width)
        g[self.off_head:self.off_hb] = (dout @ self.acts[-1].T).ravel()
        g[self.off_hb:self.off_hb + 2] = dout.sum(axis=1)
        da = Wh.T @ dout
        for l in range(self.depth - 1, -1, -1):
            off, ci, K, ob = self.shapes[l]
            da = da * (self.acts[l] > 0)
            g[off:off + self.width * ci * K] = (da @ self.cols[l].T).ravel()
            g[ob:ob + self.width] = da.sum(axis=1)
            if l == 0:
                break
            Li = self.lin[l]
            Lo = Li - K + 1
            dcol = (self.W(l).T @ da).reshape(ci, K, self.B, Lo)
            prev = np.zeros((ci, self.B, Li))
            for k in range(K):
                prev[:, :, k:k + Lo] += dcol[:, k]
            da = prev.reshape(ci, self.B * Li)
        return bce + vw * mse

    def adam(self, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * self.g
        self.s = b2 * self.s + (1 - b2) * self.g * self.g
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        self.w -= lr * (self.m / c1) / (np.sqrt(self.s / c2) + eps)


def problem(cin, depth, width, rf, first, B, L):
    """The generated problem of dd_bench.c."""
    n = TCN(cin, depth, width, rf, first)
    idx = np.arange(n.np, dtype=float)
    for l in range(depth + 1):
        if l < depth:
            off, ci, K, ob = n.shapes[l]
            fan, sl = ci * K, slice(off, ob)
        else:
            fan, sl = width, slice(n.off_head, n.off_hb)
        n.w[sl] = 0.3 * np.sin(0.7 * idx[sl] + 1) / math.sqrt(fan)
    cols = B * (L + n.rf - 1)
    i = np.arange(cin * cols, dtype=float)
    x = ((i * GOLDEN) % 1.0 < 0.1).astype(float).reshape(cin, cols)
    j = np.arange(B * L, dtype=float)
    y = ((j * 1.4142135623730951) % 1.0 < 0.05).astype(float)
    v = np.sin(0.01 * j)
    return n, x, y, v


def check(cin, depth, width, rf, first, B, L):
    n, x, y, v = problem(cin, depth, width, rf, first, B, L)
    n.forward(x, B, L)
    loss = n.backward(y, v, 0.5)
    return loss, n.g.copy()


def rate(cin, depth, width, rf, first, B, L, steps):
    """Training samples (output bins) per CPU second, and the last loss."""
    n, x, y, v = problem(cin, depth, width, rf, first, B, L)
    t0 = time.process_time()
    loss = 0.0
    for _ in range(steps):
        n.forward(x, B, L)
        loss = n.backward(y, v, 0.5)
        n.adam(1e-3)
    t = time.process_time() - t0
    return B * L * steps / t, loss
