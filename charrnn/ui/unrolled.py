"""The Unrolled RNN page's pieces: its options, and ONE position in the
training iteration that the Step buttons, Play / Pause, the slider and the
keys all move (the figure itself has no player of its own)."""
from __future__ import annotations

import dataclasses
import time

import streamlit as st

from .core import fmt, tr
from .live import PLOTLY_CONFIG, shared_figure
from .live_plot import live_plot

SPEEDS = [1500, 900, 500, 250]   # ms per phase while playing


def options(where, sources, run, default_source) -> dict:
    """Show (example or this run), partitioning, tokens, style, drawn in
    `where`; with `where` None only read (presentation mode draws them
    below the grid). "This run" always has the run's own partitioning."""
    s = st.session_state
    if where is None:
        source = s.get("unr_source", default_source)
        source = source if source in sources else default_source
        part = s.get("unr_part", "sequential")
        shown, style = s.get("unr_tokens", "chars"), s.get("unr_style", "sketch")
    else:
        c1, c2, c3, c4 = where.columns([3, 2, 2, 2])
        source = c1.segmented_control(tr("unr.source"), sources, key="unr_source",
                                      required=True, default=default_source,
                                      format_func=fmt("unr.source"))
        if source == "run":
            part = "random" if run.config.random_iter else "sequential"
            c2.markdown(f"{tr('cfg.part')}  \n**{tr(f'cfg.part.{part}')}**",
                        help=tr("unr.part.run"))
        else:
            part = c2.segmented_control(tr("cfg.part"), ["sequential", "random"],
                                        key="unr_part", default="sequential", required=True,
                                        format_func=fmt("cfg.part"))
        shown = c3.segmented_control(tr("unr.tokens"), ["chars", "ids"], key="unr_tokens",
                                     default="chars", required=True,
                                     format_func=fmt("unr.tokens"))
        style = c4.segmented_control(tr("unr.style"), ["clean", "sketch"], key="unr_style",
                                     default="sketch", required=True,
                                     format_func=fmt("unr.style"))
    if source == "run":   # the run's own partitioning: it had no other
        part = "random" if run.config.random_iter else "sequential"
    return {"source": source, "part": part, "shown": shown, "sketch": style == "sketch"}


def groups(phases) -> list[int]:
    """Where each phase group starts: forward, loss, backward, clip, update, next."""
    return [p["index"] for i, p in enumerate(phases)
            if i == 0 or p["kind"] != phases[i - 1]["kind"]]


class Stepper:
    """The diagram's position (session state `key`) and how it moves."""

    def __init__(self, phases, key: str, by_group: bool):
        self.phases, self.key_name, self.starts = phases, key, groups(phases)
        s = st.session_state
        # each source keeps its own pace: this run by phase group, d2l's example by phase
        self.by_key = "unr_by_group" if by_group else "unr_by_phase"
        s.setdefault(self.by_key, "group" if by_group else "phase")
        s[key] = min(max(int(s.get(key, 0)), 0), len(phases) - 1)

    @property
    def pos(self) -> int:
        return st.session_state[self.key_name]

    def _set(self, k):
        st.session_state[self.key_name] = min(max(int(k), 0), len(self.phases) - 1)
        st.session_state["_unr_moved"] = time.monotonic()

    @property
    def by_group(self) -> bool:
        return st.session_state.get(self.by_key) == "group"

    def next(self):
        if self.by_group:
            later = [i for i in self.starts if i > self.pos]
            self._set(later[0] if later else len(self.phases) - 1)
        else:
            self._set(self.pos + 1)

    def back(self):
        if self.by_group:
            earlier = [i for i in self.starts if i < self.pos]
            self._set(earlier[-1] if earlier else 0)
        else:
            self._set(self.pos - 1)

    @property
    def playing(self) -> bool:
        return bool(st.session_state.get("unr_playing"))

    def play(self):
        if self.pos >= len(self.phases) - 1:
            self._set(0)
        st.session_state["unr_playing"] = True
        st.session_state["_unr_moved"] = time.monotonic()

    def pause(self):
        st.session_state["unr_playing"] = False

    def key(self, name):
        """The keyboard (follow.on_keys): space plays or pauses, arrows step."""
        if name == "toggle":
            self.pause() if self.playing else self.play()
        elif name == "next":
            self.pause()
            self.next()
        elif name == "back":
            self.pause()
            self.back()

    def speed_s(self) -> float:
        return st.session_state.get("unr_speed", 500) / 1000

    def every(self):
        return self.speed_s() if self.playing else None

    def advance_if_playing(self, ticking):
        """One phase per tick while playing (not on a rerun some click made
        sooner); at the end it stops. The fragment's ticking is fixed when the
        page runs: Play or Hold pressed inside it reruns the page."""
        if (ticking is not None) != self.playing:
            st.rerun(scope="app")
        if not self.playing:
            return
        if time.monotonic() - st.session_state.get("_unr_moved", 0) < 0.8 * self.speed_s():
            return
        if self.pos >= len(self.phases) - 1:
            self.pause()
            st.rerun(scope="app")
        self._set(self.pos + 1)


def buttons(stepper: Stepper, where):
    """Previous phase, Play / Hold, Next phase (named apart from the run's Step minibatch)."""
    n = len(stepper.phases)
    where.button(tr("unr.back"), icon=":material/arrow_back:", key="unr_back",
                 disabled=stepper.pos == 0, on_click=stepper.back)
    if stepper.playing:
        where.button(tr("unr.pause"), icon=":material/pause:", key="unr_pause",
                     on_click=stepper.pause, type="primary")
    else:
        where.button(tr("unr.play"), icon=":material/play_arrow:", key="unr_play",
                     on_click=stepper.play, type="primary")
    where.button(tr("unr.forward"), icon=":material/arrow_forward:", key="unr_step",
                 disabled=stepper.pos == n - 1, on_click=stepper.next)


def pace(where, stepper: Stepper):
    """Step by phase or phase group; the speed of playing."""
    where.segmented_control(tr("unr.by"), ["phase", "group"], key=stepper.by_key, required=True,
                            format_func=fmt("unr.by"), help=tr("unr.by.help"))
    where.select_slider(tr("unr.speed"), SPEEDS, value=500, key="unr_speed",
                        format_func=fmt("unr.speed"), width=260)


def _slid(key_name):
    st.session_state[key_name] = st.session_state["unr_slider"]
    st.session_state["unr_playing"] = False


def phase_bar(stepper: Stepper, present: bool):
    """One row: Previous phase, Play / Hold, Next phase and the phase slider (its value
    names the phase); then the phase's sentence."""
    ph = stepper.phases
    row = st.container(horizontal=True, vertical_alignment="center", key="unr_steps")
    buttons(stepper, row)
    st.session_state["unr_slider"] = stepper.pos
    row.select_slider(tr("unr.phase"), list(range(len(ph))), key="unr_slider",
                      format_func=lambda i: ph[i]["label"], on_change=_slid,
                      args=(stepper.key_name,), label_visibility="collapsed")
    if not present:   # the figure says it too; a projector has no room for both
        p = ph[stepper.pos]
        st.markdown(f"**{p['label']}** · {p['caption']}")


BIG_FONTS_MIN_H = 900   # a window at least this tall gets the projector's big grid fonts


def _short(present: bool) -> bool:
    from .follow import viewport
    size = viewport()
    return present and (size is None or size["h"] < BIG_FONTS_MIN_H)


def lanes_that_fit(n: int, present: bool) -> int:
    """How many of a run's probed samples the grid draws: two on a short
    projector (the point, rows that never touch, needs two)."""
    return min(n, 2) if _short(present) else n


def fitted(spec, present: bool):
    """The spec the grid is drawn with: in presentation mode on a short
    window (720p) the grid takes the screen below the strip with the normal
    fonts, which the projector's big ones would overlap at that height."""
    return dataclasses.replace(spec, present=False) if _short(present) else spec


def grid(build, signature: tuple, present: bool):
    """The grid, built once per phase for every session, updated in place."""
    fig, _ = shared_figure(("unr_grid", *signature), None, build)
    live_plot(fig, key="unr_grid", config=PLOTLY_CONFIG, failed=tr("app.chart.failed"),
              fit=1.0 if present else None)
