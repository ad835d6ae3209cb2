"""Train: settings in the sidebar, the run's inside live in the main area."""
import streamlit as st

from charrnn import figures as F
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation
from charrnn.ui import follow, lecture
from charrnn.ui.config_form import config_sidebar, page_errors, start_run, start_side_by_side
from charrnn.ui.controls import unreadable_folders
from charrnn.ui.live import header_state, polling
from charrnn.ui.live_plot import preload as preload_charts
from charrnn.ui.core import ROOT
from charrnn.ui.tuning import export_panel

lang, present = ui.lang(), ui.present()

with st.sidebar:
    st.header(ui.tr("cfg.title"))
    text = config_sidebar()
    st.button(ui.tr("cfg.start"), icon=":material/play_arrow:", type="primary", width="stretch",
              disabled=not ui.can_control(), key="start", on_click=start_run, args=(text,))
    st.button(ui.tr("cfg.side_by_side"), icon=":material/compare_arrows:", width="stretch",
              disabled=not ui.can_control(), key="side_by_side", on_click=start_side_by_side,
              args=(text,), help=ui.tr("cfg.side_by_side.help"))
if st.session_state.get("_goto_compare"):
    st.switch_page(ROOT / "pages" / "compare.py",
                   query_params={"runs": st.session_state.pop("_goto_compare")})

if present:   # the strip: title, run, status, buttons, next demo (charrnn/ui/lecture.py)
    run = lecture.head("page.train", text)   # the short name: one line at 720p
    page_errors(text)
else:
    st.title(ui.tr("train.title"))
    page_errors(text)
    run = ui.run_picker()
    unreadable_folders()
follow.watch(run)   # a student follows the lecturer; an empty page shows the first run

if run is None:
    st.info(ui.tr("train.empty") if ui.can_control() else ui.tr("lec.wait"))
    preload_charts()
    if ui.can_control():
        cols = st.columns(3)
        for col, preset in zip(cols, ("quick", "explode", "d2l")):
            col.button(ui.tr(f"cfg.preset.{preset}"), key=f"go_{preset}", width="stretch",
                       help=ui.tr(f"cfg.preset.{preset}.help"), on_click=start_run,
                       kwargs={"preset": preset})
    st.stop()


follow.run_keys(run)
every = ui.live_every(run)
# the toggle's slot is there for every run, so the live part below keeps its
# place on the page when Start replaces a finished run by a new one (else the
# finished run's buttons linger beside the new ones until the rerun ends)
replay_slot = st.container()
replay = not present and not run.is_active and run.log.num_steps_logged > 1 and replay_slot.toggle(
    ui.tr("train.replay"), key=f"replay_{run.id}", help=ui.tr("train.replay.help"))
playing = replay and st.session_state.get(f"replay_play_{run.id}", False)
# status and buttons outside the live fragment (see run_header), in a slot
# that is there for every run, like the toggle's
header_slot = st.container()
shown = None
if present:
    shown = header_state(run)   # drawn in the strip
elif not replay:
    with header_slot:
        shown = ui.run_header(run)


def _upto(cols, upto):
    """Columns cut at training step `upto` (a replay shows the run as it was)."""
    if upto is None or not len(cols.get("step", ())):
        return cols
    keep = cols["step"] <= upto
    return {k: v[keep] for k, v in cols.items()}


@st.fragment(run_every=0.5 if playing else every)
@ui.taking_turns   # many sessions polling take turns (charrnn/ui/pace.py)
def live():
    polling(0.5 if playing else every)
    ui.follow_run(run, every, shown)  # the run ended or its header changed: rerun the page
    log = run.log
    upto = None
    if replay:
        total = int(log.last_step()["step"])
        key = f"replay_step_{run.id}"
        st.session_state.setdefault(key, max(1, total // 20))
        if playing:  # advance one frame; about 60 frames from start to end
            st.session_state[key] = min(total, st.session_state[key] + max(1, total // 60))
        r1, r2 = st.columns([1, 5])
        r1.toggle(ui.tr("train.replay.play"), key=f"replay_play_{run.id}")
        upto = r2.slider(ui.tr("train.replay.step"), 1, total, key=key)
        if playing and upto >= total:
            st.session_state[f"replay_play_{run.id}"] = False
            st.rerun(scope="app")
    elif present:
        lecture.numbers(run)
    else:
        ui.run_progress(run)
    sig = (run.id, lang, present, upto)  # versions: what each chart's data changes with
    steps = _upto(log.step_columns(), upto)
    epochs = _upto(log.epoch_columns(), upto)
    n_steps, n_epochs = len(steps["step"]), len(epochs["epoch"])

    def ppl():
        ui.chart("ppl", lambda: F.perplexity_figure(
            epochs["epoch"], epochs["perplexity"], val_perplexity=epochs["val_perplexity"],
            lang=lang, present=present, uirevision=run.id), sig, n_epochs,
            fit=1.0 if present else None)

    def loss():
        ui.chart("loss", lambda: F.loss_figure(
            steps["step"], steps["loss"], smooth=0.05, lang=lang, present=present,
            uirevision=run.id), sig, n_steps)

    def gradnorm():
        ui.chart("gradnorm", lambda: F.grad_norm_figure(
            steps["step"], steps["grad_norm"], steps["grad_norm_clipped"],
            steps["clipped"] > 0.5, run.config.theta, lang=lang, present=present,
            uirevision=run.id, legend_width=600 if present else 450,
            **lecture.grad_marks(run)), sig, n_steps,
            fit=1.0 if present else None)

    if present:   # the lesson's chart on the first screen, the perplexity beside it
        c1, c2 = st.columns([3, 2])
        with c1:
            gradnorm()
        with c2:
            ppl()
        loss()
    else:
        c1, c2 = st.columns(2)
        with c1:
            ppl()
        with c2:
            loss()
        gradnorm()
    c3, c4 = (st.container(), st.container()) if present else st.columns([3, 2])
    with c3:
        snaps = [x for x in log.snapshots() if upto is None or x.step <= upto]
        snap = snaps[-1] if snaps else None
        if snap is None:
            st.caption(ui.tr("train.no_snapshot"))
        else:
            lane = st.selectbox(ui.tr("train.lane"), snap.lanes, key="lane",
                                help=ui.tr("train.lane.help"))
            i = snap.lanes.index(lane)
            ui.chart("hidden", lambda: F.hidden_heatmap_figure(
                snap.H[i], snap.inputs[i], targets=snap.targets[i], lane=lane,
                step=snap.step, lang=lang, present=present), sig + (lane,), snap.step)
    with c4:
        st.subheader(ui.tr("train.samples"))
        samples = [x for x in log.sample_list() if upto is None or x["step"] <= upto]
        if not samples:
            st.caption(ui.tr("train.no_samples"))
        ui.show_samples([ui.sample_html(s["prefix"], s["generated"],
                                        label=ui.tr("train.sample.epoch", epoch=s["epoch"]))
                         for s in reversed(samples[-30:])])


live()
export_panel(run)
