"""Where the grid puts things: lanes x time steps x minibatches, and what each cell says."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canvas import Look, char, num, sub
from .spec import DiagramSpec

ROW_IN, ROW_H, ROW_O, ROW_LBL = 0.0, 1.05, 2.05, 2.85     # lane-local rows (bottom to top)
LANE_LO, LANE_HI = -0.42, 3.2               # lane band, lane-local
HW, HH = 0.28, 0.28                         # cell half width / height
OW, OH = 0.22, 0.19                         # output half width / height
GAP = 1.6                                    # last col -> next first col
FWD_DY, GRAD_DY = 0.08, -0.12               # arrow heights around H


@dataclass
class Col:
    j: int            # column index inside a minibatch
    first: int        # first time step (1-based) it stands for
    last: int         # last time step it stands for
    ell: bool         # the "..." column of summarised steps


def _columns(T, max_steps):
    """One column per step, or the first 3, a "..." column and the last."""
    if T > max(max_steps, 5):
        return [Col(0, 1, 1, False), Col(1, 2, 2, False), Col(2, 3, 3, False),
                Col(3, 4, T - 1, True), Col(4, T, T, False)]
    return [Col(j, j + 1, j + 1, False) for j in range(T)]


class Geom:
    """Coordinates of every row, column, lane and label of the grid (data units)."""

    def __init__(self, spec: DiagramSpec):
        B, T, NB = spec.batch_size, spec.num_steps, spec.num_batches
        self.spec = spec
        self.lanes = [0, 1, None, B - 1] if B > max(spec.max_lanes, 3) else list(range(B))
        self.hidden_lanes = B - sum(1 for i in self.lanes if i is not None)
        self.cols = _columns(T, spec.max_steps)
        self.ncols = len(self.cols)
        self.pitch_b = self.ncols - 1 + GAP
        self.bottom = self._stack_lanes()
        self.x_first = 0.0
        self.x_last = self.x(NB - 1, self.ncols - 1)
        self.top = LANE_HI
        self.t_row = LANE_HI + 0.35
        self.tag_row = LANE_HI + 0.95   # a phase's tag (the loss), clear of the step numbers
        self.mb_row = LANE_HI + 1.95
        self.param_lo = LANE_HI + 2.4
        self.param_hi = LANE_HI + 3.2
        self.caption_y = self.bottom - 0.65
        self.legend_y = self.bottom - 1.35
        self.xr = (-1.85, self.x_last + 2.3)
        self.yr = (self.bottom - 1.8, self.param_hi + 0.25)

    def _stack_lanes(self):
        """Each lane's base y, top to bottom; a "more lanes" gap where lanes are hidden."""
        self.base: dict[int, float] = {}
        self.more_y = None
        prev_bottom = None
        for lane in self.lanes:
            if lane is None:
                top = prev_bottom - 0.35
                self.more_y = top - 0.5
                prev_bottom = top - 1.0
                continue
            base = 0.0 if prev_bottom is None else prev_bottom - 0.45 - LANE_HI
            self.base[lane] = base
            prev_bottom = base + LANE_LO
        return prev_bottom

    def x(self, b, j):
        return b * self.pitch_b + j

    def boundary_x(self, k):
        """x of the dashed line between minibatch k-1 and k."""
        return self.x(k - 1, self.ncols - 1) + GAP / 2

    def col_of_step(self, t):
        for c in self.cols:
            if c.first <= t <= c.last:
                return c
        raise ValueError(t)

    def y(self, lane, row):
        return self.base[lane] + row

    def band(self, lane):
        return self.base[lane] + LANE_LO, self.base[lane] + LANE_HI

    def real_lanes(self):
        return [i for i in self.lanes if i is not None]


def cell_id(lane, b, t):
    return f"lane{lane}:b{b}t{t}"


def token_text(spec: DiagramSpec, b, lane, t, *, label=False):
    """The text of an input (or label) at minibatch b, lane, step t (1-based)."""
    s = t - 1
    if spec.show_chars:
        arr = spec.label_chars if label else spec.chars
        if arr is not None:
            return char(arr[b, lane, s])
        if label and spec.chars is not None:
            nxt = next_of(spec.chars, spec.random_iter, b, lane, s)
            if nxt is not None:
                return char(nxt)
    arr = spec.labels if label else spec.tokens
    if arr is not None:
        return str(int(arr[b, lane, s]))
    if label and spec.tokens is not None:
        nxt = next_of(spec.tokens, spec.random_iter, b, lane, s)
        if nxt is not None:
            return str(int(nxt))
        return "?"
    return ("y" if label else "x") + sub(t)


def next_of(arr, random_iter, b, lane, s):
    T = arr.shape[2]
    if s + 1 < T:
        return arr[b, lane, s + 1]
    if not random_iter and b + 1 < arr.shape[0]:
        return arr[b + 1, lane, 0]
    return None


def hidden_text(spec: DiagramSpec, st: Look, b, lane, t):
    h = spec.hidden
    if h is None:
        return None
    lanes = list(spec.hidden_lanes) if spec.hidden_lanes is not None else None
    if h.ndim >= 3 and h.shape[0] == spec.num_batches and (
            h.ndim == 4 or (h.ndim == 3 and h.shape[2] == spec.num_steps
                            and h.shape[1] != spec.num_steps)):
        h = h[b]
    elif b != spec.active_batch:
        return None
    row = lanes.index(lane) if lanes is not None and lane in lanes else (
        lane if lanes is None else None)
    if row is None or row >= h.shape[0] or t - 1 >= h.shape[1]:
        return None
    v = h[row, t - 1]
    if np.ndim(v) == 0:
        return st.tr("diag.hover.hsummary", value=num(v))
    vals = ", ".join(f"{float(a):+.3f}" for a in np.ravel(v)[:8])
    return st.tr("diag.hover.hunits", k=min(8, np.size(v)), values=vals)
