"""Hidden state: every sample of a batch keeps its own state (the seed's point)."""
import numpy as np
import streamlit as st

from charrnn import figures as F
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
run = ui.page_run("hidden.title", "hidden.intro")

follow = st.toggle(ui.tr("hidden.follow"), value=True, key="hidden_follow",
                   help=ui.tr("hidden.follow.help"))


def burst_of(snaps, snap):
    """The consecutive minibatches recorded together with `snap` (same burst)."""
    by_step = {s.step: s for s in snaps}
    start = snap.step
    while start - 1 in by_step:
        start -= 1
    out = []
    while start in by_step:
        out.append(by_step[start])
        start += 1
    return out


every = ui.live_every(run) if follow else None


@st.fragment(run_every=every)
def view():
    ui.end_polling(run, every)
    snaps = run.log.snapshots()
    if not snaps:
        st.info(ui.tr("train.no_snapshot"))
        return
    if follow:
        snap = snaps[-1]
    else:
        step = st.select_slider(ui.tr("hidden.scrub"), [s.step for s in snaps],
                                value=snaps[-1].step, key="hidden_step",
                                help=ui.tr("hidden.scrub.help"))
        snap = next(s for s in snaps if s.step == step)
    lane = st.pills(ui.tr("train.lane"), snap.lanes, default=snap.lanes[0], key="hidden_lane",
                    required=True) if len(snap.lanes) > 1 else snap.lanes[0]
    i = snap.lanes.index(lane)
    sig = (run.id, snap.step, lane, lang, present)
    st.caption(ui.tr("hidden.at", step=snap.step, epoch=snap.epoch))
    ui.chart("hid_one", lambda: F.hidden_heatmap_figure(
        snap.H[i], snap.inputs[i], targets=snap.targets[i], lane=lane, step=snap.step,
        lang=lang, present=present), sig)

    st.subheader(ui.tr("hidden.lanes"))
    st.caption(ui.tr("hidden.lanes.help"))
    ui.chart("hid_lanes", lambda: F.lanes_figure(
        snap.H, snap.inputs, lanes=snap.lanes, lang=lang, present=present), sig)

    st.subheader(ui.tr("hidden.carried"))
    burst = burst_of(snaps, snap)
    if run.config.random_iter:
        st.info(ui.tr("hidden.carried.random"))
    elif len(burst) < 2:
        st.caption(ui.tr("hidden.carried.none"))
    else:
        st.caption(ui.tr("hidden.carried.help", n=len(burst)))
        ui.chart("hid_carried", lambda: F.carried_state_figure(
            [s.H[i] for s in burst], [s.inputs[i] for s in burst], lane=lane,
            lang=lang, present=present), sig + (len(burst),))

    st.subheader(ui.tr("hidden.unit"))
    H = np.concatenate([s.H[i] for s in burst], 0) if burst else snap.H[i]
    chars = [c for s in (burst or [snap]) for c in s.inputs[i]]
    # the unit that changes most along this text is a good first look
    default_unit = int(np.argmax(H.astype(np.float32).std(0)))
    unit = st.number_input(ui.tr("hidden.unit.pick"), 0, H.shape[1] - 1, default_unit,
                           key=f"unit_{run.id}", help=ui.tr("hidden.unit.help"))
    st.html(F.activation_html(chars, H[:, unit].astype(float), unit=unit))


view()
