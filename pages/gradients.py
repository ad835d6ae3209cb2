"""Gradients: clipping history, per-parameter norms, gradient flow through time."""
import streamlit as st

from charrnn import figures as F
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
run = ui.page_run("grad.title", "grad.intro")
smooth = st.select_slider(ui.tr("grad.smooth"), [None, 0.3, 0.1, 0.03, 0.01],
                          value=0.1, key="grad_smooth",
                          format_func=lambda a: ui.tr("grad.smooth.off") if a is None
                          else f"α = {a}", help=ui.tr("grad.smooth.help"))


every = ui.live_every(run)


@st.fragment(run_every=every)
def view():
    ui.end_polling(run, every)
    log = run.log
    sig = (run.id, lang, present, smooth)  # versions: what each chart's data changes with
    steps = log.step_columns()
    n = len(steps["step"])
    if not len(steps["step"]):
        st.info(ui.tr("grad.none"))
        return
    ui.chart("g_hist", lambda: F.grad_norm_figure(
        steps["step"], steps["grad_norm"], steps["grad_norm_clipped"],
        steps["clipped"] > 0.5, run.config.theta, smooth=smooth, lang=lang,
        present=present, uirevision=run.id), sig, n)
    names = [n[2:] for n in steps if n.startswith("g_")]
    ui.chart("g_params", lambda: F.param_norms_figure(
        steps["step"], {n: steps["g_" + n] for n in names}, lang=lang, present=present,
        uirevision=run.id), sig, n)
    st.subheader(ui.tr("grad.flow"))
    st.caption(ui.tr("grad.flow.help"))
    dh_steps, dH = log.dH_matrix()
    if len(dh_steps):
        ui.chart("g_dh", lambda: F.dh_heatmap_figure(
            dh_steps, dH, lang=lang, present=present, uirevision=run.id), sig, len(dh_steps))
    st.subheader(ui.tr("grad.spectral"))
    st.caption(ui.tr("grad.spectral.help"))
    spec = log.spectral_columns()
    if len(spec["step"]):
        ui.chart("g_spec", lambda: F.spectral_figure(
            spec["step"], spec["radius"], spec["sigma_max"], lang=lang, present=present,
            uirevision=run.id), sig, len(spec["step"]))


view()
