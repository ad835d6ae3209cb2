"""Hidden state: every sample of a batch keeps its own state (the seed's point),
and the structure that forms in it: similar units, a 2-D path, saturation, the
units that track a feature of the text."""
import numpy as np
import streamlit as st

from charrnn import figures as F
from charrnn.figures import units as FU
from charrnn import ui
from charrnn import units as U
from charrnn.log import burst_of
from charrnn.ui import follow as lecturer, lecture
from charrnn.ui import views as V

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
run = ui.page_run("hidden.title", "hidden.intro")



def switches():
    c1, c2 = st.columns(2)
    live = c1.toggle(ui.tr("hidden.follow"), value=True, key="hidden_follow",
                     help=ui.tr("hidden.follow.help"))
    order = c2.segmented_control(ui.tr("views.order"), ["similar", "index"], key="hidden_order",
                                 default="similar", required=True,
                                 help=ui.tr("views.order.help"), format_func=ui.fmt("views.order"))
    return live, order


# on a projector the heatmap comes first; these switches are below it
follow, order_by = (st.session_state.get("hidden_follow", True),
                    st.session_state.get("hidden_order", "similar")) if present else switches()
lecturer.run_keys(run)
TRACK_SNAPS = 12   # the unit finder reads the last kept snapshots (late training)
TRACK_SHOWN = 140  # characters of text under each unit found


def unit_finder(snaps, i, lane):
    st.subheader(ui.tr("views.track"))
    recent = snaps[-TRACK_SNAPS:]
    stretches, H, C = U.text_of(recent)
    st.caption(ui.tr("views.track.help", n=sum(map(len, stretches)), k=len(recent),
                     a=recent[0].step, b=recent[-1].step)
               + (" " + ui.tr("views.track.lstm") if C is not None else ""))
    a, b = st.columns([3, 1])
    kind = a.pills(ui.tr("views.track.feature"), list(U.FEATURES), default="space",
                   key="track_feature", required=True, format_func=ui.fmt("views.track"))
    char = None
    if kind == "char":
        char = b.text_input(ui.tr("views.track.char_pick"), "e", max_chars=1, key="track_char",
                            help=ui.tr("views.track.char_help"))
        if len(char) != 1:
            st.info(ui.tr("views.track.char_bad"))
            return
    try:
        found, _ = U.track(stretches, H, kind, char, C_rows=C)
    except ValueError:
        st.info(ui.tr("views.track.constant"))
        return
    burst = burst_of(snaps, snaps[-1])
    st.caption(ui.tr("views.track.excerpt", lane=lane))
    chars = [c for s in burst for c in s.inputs[i]][-TRACK_SHOWN:]
    Hb = np.concatenate([s.H[i] for s in burst], 0)[-TRACK_SHOWN:]
    Cb = np.concatenate([s.C[i] for s in burst], 0)[-TRACK_SHOWN:] if C is not None else None
    st.html(FU.trackers_html(found, chars, Hb, Cb, lang=lang))


@ui.live_fragment(run, follow=follow)
def view():
    if present:
        lecture.numbers(run)
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
    row = st.container(horizontal=True, vertical_alignment="center") if present else st
    lane = row.pills(ui.tr("train.lane"), snap.lanes, default=snap.lanes[0], key="hidden_lane",
                     required=True, label_visibility="collapsed" if present else "visible") \
        if len(snap.lanes) > 1 else snap.lanes[0]
    i = snap.lanes.index(lane)
    shape = V.structure(run, snaps)
    order = shape.order if order_by == "similar" else np.arange(snap.H.shape[-1])
    sig = (run.id, snap.step, lane, lang, present, order_by, shape.n)
    row.caption(ui.tr("hidden.at", step=snap.step, epoch=snap.epoch) + " " + ui.tr(
        "views.order.basis", n=shape.n, a=shape.first, b=shape.last,
        more=ui.tr("views.order.more") if shape.active else ""))
    ui.chart("hid_one", lambda: FU.label_units(F.hidden_heatmap_figure(
        snap.H[i][:, order], snap.inputs[i], targets=snap.targets[i], lane=lane,
        step=snap.step, lang=lang, present=present), order), sig,
        fit=1.0 if present else None)
    if present:
        switches()

    st.subheader(ui.tr("hidden.lanes"))
    st.caption(ui.tr("hidden.lanes.help"))
    ui.chart("hid_lanes", lambda: FU.label_units(F.lanes_figure(
        snap.H[..., order], snap.inputs, lanes=snap.lanes, lang=lang, present=present),
        order), sig)

    st.subheader(ui.tr("views.pca"))
    st.caption(ui.tr("views.pca.help"))
    st.plotly_chart(FU.pca_figure(snaps, shape.proj, lane=lane, lang=lang, present=present),
                    key="hid_pca", config={"displaylogo": False})
    st.caption(ui.tr("views.pca.where", step=snaps[-1].step, lane=lane, first=snaps[0].step,
                     spread=U.spread(shape.proj(snaps[-1].H[i])),
                     spread0=U.spread(shape.proj(snaps[0].H[i]))))

    st.subheader(ui.tr("views.sat"))
    if run.config.model == "scratch" and run.config.activation == "relu":
        st.info(ui.tr("views.sat.relu"))
    else:
        shares = [U.saturation(s.H) for s in snaps]
        st.caption(ui.tr("views.sat.help", th=U.SATURATED, slope=1 - U.SATURATED ** 2) + " "
                   + ui.tr("views.sat.now", share=100 * shares[-1], first=100 * shares[0]))
        ui.chart("hid_sat", lambda: FU.saturation_figure(
            [s.step for s in snaps], shares, lang=lang, present=present, uirevision=run.id),
            (run.id, lang, present), len(snaps))

    unit_finder(snaps, i, lane)

    st.subheader(ui.tr("hidden.carried"))
    burst = burst_of(snaps, snap)
    if run.config.random_iter:
        st.info(ui.tr("hidden.carried.random"))
    elif len(burst) < 2:
        st.caption(ui.tr("hidden.carried.none"))
    else:
        st.caption(ui.tr("hidden.carried.help", n=len(burst)))
        ui.chart("hid_carried", lambda: FU.label_units(F.carried_state_figure(
            [s.H[i][:, order] for s in burst], [s.inputs[i] for s in burst], lane=lane,
            lang=lang, present=present), order), sig + (len(burst),))

    st.subheader(ui.tr("hidden.unit"))
    H = np.concatenate([s.H[i] for s in burst], 0) if burst else snap.H[i]
    chars = [c for s in (burst or [snap]) for c in s.inputs[i]]
    # the unit that changes most along this text is a good first look
    default_unit = int(np.argmax(H.astype(np.float32).std(0)))
    unit = st.number_input(ui.tr("hidden.unit.pick"), 0, H.shape[1] - 1, default_unit,
                           key=f"unit_{run.id}", help=ui.tr("hidden.unit.help"))
    st.html(F.activation_html(chars, H[:, unit].astype(float), unit=unit))


view()
