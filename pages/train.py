"""Train: settings in the sidebar, the run's inside live in the main area."""
import html

import streamlit as st

from charrnn import figures as F
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation
from charrnn.ui.config_form import config_sidebar, start_run
from charrnn.ui.tuning import export_panel

lang, present = ui.lang(), ui.present()

with st.sidebar:
    st.header(ui.tr("cfg.title"))
    text = config_sidebar()
    st.button(ui.tr("cfg.start"), icon=":material/play_arrow:", type="primary", width="stretch",
              disabled=not ui.can_control(), key="start", on_click=start_run, args=(text,))
    if st.session_state.get("_start_error"):
        st.error(st.session_state["_start_error"])

st.title(ui.tr("train.title"))
run = ui.run_picker()

if run is None:
    st.info(ui.tr("train.empty"))
    if ui.can_control():
        cols = st.columns(3)
        for col, preset in zip(cols, ("quick", "explode", "d2l")):
            col.button(ui.tr(f"cfg.preset.{preset}"), key=f"go_{preset}", width="stretch",
                       help=ui.tr(f"cfg.preset.{preset}.help"), on_click=start_run,
                       kwargs={"preset": preset})
    st.stop()


every = ui.live_every(run)


@st.fragment(run_every=every)
def live():
    ui.end_polling(run, every)  # the run ended: stop polling, refresh the controls
    ui.run_header(run)
    log = run.log
    sig = (run.id, log.version, lang, present)
    steps = log.step_columns()
    epochs = log.epoch_columns()
    c1, c2 = st.columns(2)
    with c1:
        ui.chart("ppl", lambda: F.perplexity_figure(
            epochs["epoch"], epochs["perplexity"], lang=lang, present=present,
            uirevision=run.id), sig)
    with c2:
        ui.chart("loss", lambda: F.loss_figure(
            steps["step"], steps["loss"], smooth=0.05, lang=lang, present=present,
            uirevision=run.id), sig)
    ui.chart("gradnorm", lambda: F.grad_norm_figure(
        steps["step"], steps["grad_norm"], steps["grad_norm_clipped"],
        steps["clipped"] > 0.5, run.config.theta, lang=lang, present=present,
        uirevision=run.id), sig)
    c3, c4 = st.columns([3, 2])
    with c3:
        snap = log.latest_snapshot()
        if snap is None:
            st.caption(ui.tr("train.no_snapshot"))
        else:
            lane = st.selectbox(ui.tr("train.lane"), snap.lanes, key="lane",
                                help=ui.tr("train.lane.help"))
            i = snap.lanes.index(lane)
            ui.chart("hidden", lambda: F.hidden_heatmap_figure(
                snap.H[i], snap.inputs[i], targets=snap.targets[i], lane=lane,
                step=snap.step, lang=lang, present=present), sig + (lane,))
    with c4:
        st.subheader(ui.tr("train.samples"))
        samples = log.sample_list()
        if not samples:
            st.caption(ui.tr("train.no_samples"))
        rows = []
        for s in reversed(samples[-30:]):
            rows.append(
                f"<div class='sample'><span class='sample-epoch'>"
                f"{html.escape(ui.tr('train.sample.epoch', epoch=s['epoch']))}</span> "
                f"<span class='sample-prefix'>{html.escape(s['prefix'])}</span>"
                f"<span class='sample-gen'>{html.escape(s['generated'])}</span></div>")
        st.html("<div class='samples'>" + "".join(rows) + "</div>")


live()
export_panel(run)
