"""Structure in the hidden state: unit order, a 2-D projection, saturation, and
the units that follow a feature of the text. Pure numpy: arrays in, arrays out.

`states` below is a (samples, num_hiddens) array: every H_t the probe lanes
kept, stacked (snapshots x lanes x time steps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SATURATED = 0.95        # |h| above this: tanh's slope is below 1 - 0.95^2 ~ 0.1
VOWELS = frozenset("aeiouAEIOU")
FEATURES = ("space", "vowel", "word_pos", "quotes", "line_start", "char")


def stack_states(snaps, attr: str = "H") -> np.ndarray:
    """Every kept state of these snapshots as rows: (samples, num_hiddens) float32."""
    parts = [np.asarray(getattr(s, attr), dtype=np.float32).reshape(-1, s.H.shape[-1])
             for s in snaps if getattr(s, attr) is not None]
    if not parts:
        raise ValueError(f"no snapshot keeps {attr}")
    return np.concatenate(parts, 0)


def _gram(states):
    """(mean, X^T X of the centred states): units x units, the one pass over
    the samples that the correlation and the PCA both need."""
    X = np.asarray(states, dtype=np.float64)
    mean = X.mean(0)
    Xc = X - mean
    return mean, Xc.T @ Xc


def correlation(states: np.ndarray) -> np.ndarray:
    """Pearson correlation between units (columns); a constant unit correlates 0."""
    return _correlation(_gram(states)[1])


def _correlation(G):
    sd = np.sqrt(np.diag(G))
    inv = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 1e-6 * max(sd.max(), 1e-30))
    C = np.clip(G * inv[:, None] * inv[None, :], -1.0, 1.0)
    np.fill_diagonal(C, 1.0)
    return C


def unit_order(states: np.ndarray) -> np.ndarray:
    """A permutation of the units that puts correlated units next to each other.

    Agglomerative clustering with average linkage on the distance 1 - r
    (r: correlation of two units' activations), whose tree is read left to
    right; at each merge the two clusters are joined at the ends whose units
    are closest, so neighbours across a cluster border are similar too.
    Deterministic: the same states give the same order.
    """
    return _order(correlation(states))


def _order(C):
    n = len(C)
    if n <= 2:
        return np.arange(n)
    D = 1.0 - C
    link = D.copy()                       # average distance between live clusters
    np.fill_diagonal(link, np.inf)
    size = np.ones(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    alive = np.ones(n, bool)
    for _ in range(n - 1):
        i, j = np.unravel_index(np.argmin(link), link.shape)
        i, j = (i, j) if i < j else (j, i)
        a, b = members[i], members[j]
        # orient a and b so that the units where they meet are the closest pair
        ends = [(D[a[-1], b[0]], a, b), (D[a[-1], b[-1]], a, b[::-1]),
                (D[a[0], b[0]], a[::-1], b), (D[a[0], b[-1]], a[::-1], b[::-1])]
        _, a, b = min(ends, key=lambda e: e[0])
        members[i] = a + b
        del members[j]
        merged = (link[i] * size[i] + link[j] * size[j]) / (size[i] + size[j])
        size[i] += size[j]
        alive[j] = False
        merged[~alive] = np.inf
        merged[i] = np.inf
        link[i], link[:, i] = merged, merged
        link[j], link[:, j] = np.inf, np.inf
    (order,) = members.values()
    return np.asarray(order)


@dataclass
class Projection:
    """PCA of the kept states: fixed axes for a whole run."""
    mean: np.ndarray        # (num_hiddens,)
    axes: np.ndarray        # (2, num_hiddens), orthonormal rows
    explained: np.ndarray   # (2,) share of the variance along each axis

    def __call__(self, H) -> np.ndarray:
        """(..., num_hiddens) -> (..., 2)."""
        return (np.asarray(H, dtype=np.float64) - self.mean) @ self.axes.T


def pca(states: np.ndarray, k: int = 2) -> Projection:
    """The first k principal axes of the states (sign fixed: the largest
    loading of each axis is positive, so the picture does not flip). From
    the units' covariance: (units x units), not an SVD of every sample."""
    return _pca(*_gram(states), k)


def _pca(mean, G, k=2) -> Projection:
    var, vecs = np.linalg.eigh(G)                 # ascending
    top = np.argsort(var)[::-1][:k]
    axes = vecs[:, top].T.copy()
    for row in axes:
        big = np.argmax(np.abs(row))
        if row[big] < 0:
            row *= -1
    total = max(float(var.clip(min=0).sum()), 0.0)
    share = var[top].clip(min=0) / total if total > 0 else np.zeros(len(top))
    return Projection(mean, axes, share)


def structure(states) -> tuple[np.ndarray, Projection]:
    """unit_order(states) and pca(states) from one pass over the samples."""
    mean, G = _gram(states)
    return _order(_correlation(G)), _pca(mean, G)


def spread(points) -> float:
    """Root mean squared distance of points (..., 2) from their centroid."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, np.shape(points)[-1])
    return float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean())) if len(p) else 0.0


def saturation(H, threshold: float = SATURATED) -> float:
    """The share of activations with |h| > threshold."""
    H = np.asarray(H, dtype=np.float32)
    return float((np.abs(H) > threshold).mean()) if H.size else 0.0


# ---------------------------------------------------------------- text features
def feature(chars, kind: str, char: str | None = None) -> np.ndarray:
    """One number per character of one stretch of text (the input X_t that
    produced H_t). `kind`: space, vowel, word_pos (letters since the last
    non-letter, 0 on a non-letter), quotes (inside "..."), line_start (the
    first character of a line), char (equal to `char`). A stretch starts
    with no context: outside quotes, at a word and line start unknown (0)."""
    chars = list(chars)
    if kind == "space":
        return np.array([c == " " for c in chars], float)
    if kind == "vowel":
        return np.array([c in VOWELS for c in chars], float)
    if kind == "char":
        if not char:
            raise ValueError("feature 'char' needs a character")
        return np.array([c == char for c in chars], float)
    out = np.zeros(len(chars))
    if kind == "word_pos":
        run = 0
        for i, c in enumerate(chars):
            run = run + 1 if c.isalpha() else 0
            out[i] = run
    elif kind == "quotes":
        inside = False
        for i, c in enumerate(chars):
            if c == '"':
                inside = not inside
            out[i] = inside
    elif kind == "line_start":
        out[1:] = [p == "\n" for p in chars[:-1]]
    else:
        raise ValueError(f"unknown feature {kind!r}; one of {', '.join(FEATURES)}")
    return out


@dataclass
class Tracker:
    """A unit whose activation follows a feature."""
    unit: int
    state: str              # "H" or "C" (an LSTM's cell)
    r: float                # Pearson correlation with the feature


def text_of(snaps):
    """(chars, H rows, C rows or None) of these snapshots, lane by lane: each
    lane's snapshots in order are one stretch of text (a burst's consecutive
    minibatches continue each other), with its feature computed per stretch."""
    chars, H, C = [], [], []
    for lane in range(len(snaps[0].lanes)):
        for s in snaps:
            chars.append(list(s.inputs[lane]))
            H.append(np.asarray(s.H[lane], np.float32))
            if s.C is not None:
                C.append(np.asarray(s.C[lane], np.float32))
    return chars, H, (C if len(C) == len(H) else None)


def track(stretches, H_rows, kind: str, char: str | None = None, *, C_rows=None,
          top: int = 5) -> tuple[list[Tracker], np.ndarray]:
    """The `top` units (of H, and of C when given) whose activation correlates
    most with the feature, strongest |r| first, and the feature itself.

    `stretches`: lists of characters; `H_rows`/`C_rows`: one (len, units)
    array per stretch. Raises ValueError when the feature never changes here."""
    f = np.concatenate([feature(c, kind, char) for c in stretches])
    if f.std() == 0:
        raise ValueError("constant feature")
    found = []
    for name, rows in (("H", H_rows), ("C", C_rows)):
        if rows is None:
            continue
        X = np.concatenate(rows, 0).astype(np.float64)
        r = correlation(np.column_stack([f, X]))[0, 1:]
        found += [Tracker(int(u), name, float(r[u])) for u in range(len(r))]
    found.sort(key=lambda k: (-abs(k.r), k.state, k.unit))
    return found[:top], f
