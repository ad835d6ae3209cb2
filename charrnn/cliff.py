"""Pascanu, Mikolov and Bengio's (2013) one-unit RNN, whose error surface has a
cliff: x_t = w * sigmoid(x_{t-1}) + b from x_0 = 0.5, loss (x_T - 0.7)^2 with
T = 50. Where the map's two stable fixed points meet (a bifurcation), x_T
jumps and the gradient is huge; gradient descent is thrown off the wall
unless its gradient norm is clipped.
"""
from __future__ import annotations

import numpy as np

X0, TARGET, T = 0.5, 0.7, 50
W_RANGE, B_RANGE = (0.0, 12.0), (-8.0, 2.0)   # the figure's window
LR = 0.02


def loss_and_grad(w, b, steps: int = T):
    """Loss and (dL/dw, dL/db), forward-mode through the recurrence; w and b
    may be arrays of one shape (a grid)."""
    w, b = np.broadcast_arrays(np.asarray(w, float), np.asarray(b, float))
    x = np.full(w.shape, X0)
    dw = np.zeros(w.shape)
    db = np.zeros(w.shape)
    for _ in range(steps):
        s = 1.0 / (1.0 + np.exp(-x))
        slope = w * s * (1.0 - s)
        x, dw, db = w * s + b, s + slope * dw, 1.0 + slope * db
    e = x - TARGET
    return e * e, np.stack([2 * e * dw, 2 * e * db], -1)


def surface(n_w: int = 121, n_b: int = 101):
    """(w values, b values, loss grid of shape (n_b, n_w))."""
    w = np.linspace(*W_RANGE, n_w)
    b = np.linspace(*B_RANGE, n_b)
    L, _ = loss_and_grad(*np.meshgrid(w, b))
    return w, b, L


def descend(w0: float, b0: float, *, lr: float = LR, steps: int = 100,
            theta: float | None = None) -> np.ndarray:
    """Gradient descent from (w0, b0): (points, 2). With theta, the gradient's
    norm is clipped to theta first (the seed's rule), so no step is longer
    than lr * theta. Stops early when a step leaves the numbers behind."""
    p = np.array([w0, b0], float)
    path = [p.copy()]
    for _ in range(steps):
        _, g = loss_and_grad(*p)
        norm = float(np.linalg.norm(g))
        if not np.isfinite(norm):
            break
        if theta is not None and norm > theta:
            g = g * (theta / norm)
        p = p - lr * g
        path.append(p.copy())
        if np.abs(p).max() > 1e3:
            break
    return np.array(path)
