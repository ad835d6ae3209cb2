"""Gradients: clipping history, per-parameter norms, gradient flow through time,
and the theory beside them: theta from the run's norms, what sigma_max says."""
import streamlit as st

from charrnn import clipping
from charrnn import figures as F
from charrnn import ui
from charrnn.ui import follow, lecture
from charrnn.ui import views as V

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
run = ui.page_run("grad.title", "grad.intro")


def smoothing():
    return st.select_slider(ui.tr("grad.smooth"), [None, 0.3, 0.1, 0.03, 0.01],
                            value=0.1, key="grad_smooth",
                            format_func=lambda a: ui.tr("grad.smooth.off") if a is None
                            else f"α = {a}", help=ui.tr("grad.smooth.help"))


# on a projector the clipping chart comes first; its smoothing is set below it
smooth = st.session_state.get("grad_smooth", 0.1) if present else smoothing()
follow.run_keys(run)


def theta_advice(steps):
    """Pascanu's rule on this run's norms, and a new run with its theta."""
    st.subheader(ui.tr("views.theta"))
    st.caption(ui.tr("views.theta.help"))
    norms = steps["grad_norm"]
    window = st.segmented_control(
        ui.tr("views.theta.window"), [w or 0 for w in clipping.WINDOWS], default=1000,
        required=True, key="theta_window", format_func=lambda w: ui.tr(
            "views.theta.last", n=w) if w else ui.tr("views.theta.all")) or None
    try:
        theta = clipping.suggested_theta(norms, window)
    except ValueError:
        st.info(ui.tr("views.theta.bad"))
        return
    used = norms[-window:] if window else norms
    first = int(steps["step"][len(norms) - len(used)])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(ui.tr("views.theta.suggested"), f"{theta:.3g}", help=ui.tr(
        "views.theta.suggested.help", a=first, b=int(steps["step"][-1]), n=len(used)))
    own = run.config.theta
    c2.metric(ui.tr("views.theta.current"), ui.tr("views.theta.none") if own is None
              else f"{own:g}")
    c3.metric(ui.tr("views.theta.would"), f"{100 * clipping.clipped_share(norms, theta):.0f}%",
              help=ui.tr("views.theta.would.help", n=len(norms)))
    c4.metric(ui.tr("views.theta.did"), f"{100 * float((steps['clipped'] > 0.5).mean()):.0f}%")
    if st.button(ui.tr("views.theta.start", theta=theta), key="theta_start",
                 icon=":material/play_arrow:", disabled=not ui.can_control(),
                 help=None if ui.can_control() else ui.tr("app.key.needed")):
        new = V.start_like(run, theta=float(f"{theta:.3g}"))
        if new is not None:   # kept: the live fragment redraws every second
            st.session_state["theta_started"] = ui.tr(
                "views.theta.started", name=new.name, theta=new.config.theta)
    if st.session_state.get("theta_started"):
        st.success(st.session_state["theta_started"])


@ui.live_fragment(run)
def view():
    if present:
        lecture.numbers(run)
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
        present=present, uirevision=run.id, legend_width=1100 if present else 450,
        **lecture.grad_marks(run)), sig, n,
        fit=1.0 if present else None)
    if present:
        smoothing()
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
    st.markdown(ui.tr("views.sigma.note"))
    theta_advice(steps)


view()
