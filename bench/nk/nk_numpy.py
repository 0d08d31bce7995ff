"""A straightforward NumPy implementation of the nk kernel's hill-climber, for
speed comparisons (bench/nk/bench.py): the same networks, moves, objectives
and tie rule as src/kernels/nk/, vectorised over examples, and every proposal
re-evaluated from scratch (forward pass, task error and reconstruction errors),
like the kernel's `eval: full` mode. It draws its own random numbers (NumPy's
generator), so it walks a different path through the same kind of problem.

    /usr/bin/python3 bench/nk/nk_numpy.py [SECONDS [N...]]
"""
import sys
import time

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def nk_data(n, k, count, rng):
    """Random links and tables, `count` genomes as +-1 inputs, their fitness."""
    links = np.array([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)],
                     dtype=int).reshape(n, k)
    tables = rng.random((n, 2 ** (k + 1)))
    bits = rng.integers(0, 2, (count, n))
    genes = np.concatenate([bits[:, :, None], bits[:, links]], axis=2)  # (count, n, k+1)
    rows = genes @ (2 ** np.arange(k, -1, -1))                          # gene i most significant
    y = tables[np.arange(n), rows].mean(axis=1)
    return 2.0 * bits - 1.0, y


class Climber:
    """One network (mlp, nmlp or hmlp) and its hill-climber."""

    def __init__(self, model, x, y, h=10, r=1.0, seed=0):
        self.model, self.x, self.y, self.r = model, x, y, r
        self.rng = np.random.default_rng(seed)
        n = x.shape[1]
        self.n, self.h = n, h
        self.W = self.rng.uniform(-1, 1, (h, n + 1))  # encoder, last column the bias
        self.v = self.rng.uniform(-1, 1, h + 1)       # output layer, last the bias
        # Decoder d[j, i]: input i decoded from neuron j (nmlp), or the decoder
        # layer's node i reading neuron j (hmlp).
        self.D = self.rng.uniform(-1, 1, (h, n)) if model != "mlp" else None
        self.cur = self.evaluate()

    def evaluate(self):
        """Task SSE and reconstruction SSE (per neuron for nmlp), from scratch."""
        hid = sigmoid(self.x @ self.W[:, :-1].T + self.W[:, -1])  # (E, H)
        out = sigmoid(hid @ self.v[:-1] + self.v[-1])
        task = float(((out - self.y) ** 2).sum())
        if self.model == "nmlp":
            rec = ((sigmoid(hid[:, :, None] * self.D[None]) - self.x[:, None, :]) ** 2).sum(axis=(0, 2))
        elif self.model == "hmlp":
            rec = float(((sigmoid(hid @ self.D) - self.x) ** 2).sum())
        else:
            rec = None
        return task, rec

    def objective(self, ev, hidden, j):
        task, rec = ev
        if not hidden or self.model == "mlp":
            return task
        return rec[j] if self.model == "nmlp" else rec

    def cycle(self):
        rng, n = self.rng, self.n
        hidden = rng.random() < 0.5
        if hidden:
            count = self.W.size + (self.D.size if self.D is not None else 0)
            q = int(rng.integers(count))
            arr, i = (self.W, q) if q < self.W.size else (self.D, q - self.W.size)
            j = i // (n + 1) if arr is self.W else i // n  # the neuron that owns it
        else:
            arr, i, j = self.v, int(rng.integers(self.h + 1)), -1
        delta = self.r * (2.0 * rng.random() - 1.0)
        old = arr.flat[i]
        arr.flat[i] = old + delta
        new = self.evaluate()
        before, after = self.objective(self.cur, hidden, j), self.objective(new, hidden, j)
        keep = after < before or (after == before and rng.random() < 0.5)
        if keep:
            self.cur = new
        else:
            arr.flat[i] = old
        return keep


def rate(model, x, y, seconds):
    """Cycles and CPU seconds (this thread's, as the C benchmark) over about `seconds`,
    at least 20 cycles."""
    c = Climber(model, x, y)
    t0, cycles = time.thread_time(), 0
    while True:
        for _ in range(5):
            c.cycle()
        cycles += 5
        t = time.thread_time() - t0
        if t >= seconds and cycles >= 20:
            return cycles, t


def main(argv):
    seconds = float(argv[0]) if argv else 1.5
    ns = [int(a) for a in argv[1:]] or [20, 100, 500]
    print("# N model mode cycles seconds cycles_per_second")
    for n in ns:
        x, y = nk_data(n, 4, 1000, np.random.default_rng(1))
        for model in ("mlp", "nmlp", "hmlp"):
            cycles, t = rate(model, x, y, seconds)
            print(f"{n} {model} numpy {cycles} {t:.4f} {cycles / t:.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
