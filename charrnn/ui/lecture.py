"""Presentation mode: the compact header strip every page shares on a
projector, the next-demo menu, and Streamlit's own chrome kept off screen.

On a projector the chart the lesson is about must be on the first screen:
the page's title, run picker, status, buttons and key numbers share one
strip at the top, and the main figure takes the screen below it
(`chart(..., fit=...)`, charrnn/ui/live.py)."""
from __future__ import annotations

import streamlit as st

from ..i18n import STRINGS
from ..runs import Run
from .core import PAGES, ROOT, can_control, get_registry, presenter_key, status_badge, tr
from .picker import run_picker

# Streamlit's running figure and its Stop (which does not stop training),
# Deploy and the developer menu: none of it belongs on a projector or on a
# watching student's screen. The header keeps the button that opens the sidebar.
# Nor Streamlit's greying of what a rerun has not redrawn yet: a live chart
# faded every second or so on a busy laptop.
CHROME_CSS = """
[data-testid="stStatusWidget"], [data-testid="stToolbarActions"], [data-testid="stMainMenu"],
[data-testid="stAppDeployButton"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; }
"""

# The strip: a short header bar (only the button that opens the sidebar, and
# it never covers the strip's buttons), narrow margins, the title small.
STRIP_CSS = """
[data-testid="stHeader"], [data-testid="stToolbar"] { height: 2.3rem !important; min-height: 0 !important;
                                                      background: transparent !important; }
[data-testid="stHeader"] { pointer-events: none; }
[data-testid="stExpandSidebarButton"] { pointer-events: auto; }
[data-testid="stMainBlockContainer"] { padding: 2.3rem 1.2rem 2rem 1.2rem !important; }
.st-key-lecture_head h1 { font-size: 1.1rem !important; padding: 0 !important; margin: 0 !important;
                          white-space: nowrap; }
.st-key-lecture_head { gap: 0.3rem !important; }
.st-key-lecture_head [data-testid="stMarkdownContainer"] p { font-size: 1rem; margin: 0; }
.st-key-lecture_head button { min-height: 2.1rem; padding: 0.1rem 0.4rem; }
.st-key-lecture_head button p { font-size: 0.95rem !important; }
.st-key-lecture_head [data-testid="stSelectbox"] * { font-size: 0.9rem; }
.st-key-lecture_numbers p { font-size: 1.05rem !important; margin: 0; }
.st-key-lecture_numbers { gap: 0.2rem !important; }
"""


def hide_chrome() -> bool:
    """In presentation mode, and for a watcher when a presenter key is set."""
    from .core import present
    return present() or (presenter_key() is not None and not can_control())


DEMO_MENU = "_lec_demo_menus"   # how many times the next-demo menu was closed by a click


def _next_demo(preset: str | None, text=None, side_by_side=False):
    """The lecturer moves on: what trains now stops, the next demo starts
    (it would otherwise wait in the queue behind it)."""
    from .config_form import start_run, start_side_by_side
    # the menu closes: the class sees the run start. Its state set to closed is
    # not enough when the click came while the rerun that opened it was under
    # way (the browser never saw it open); a new key is a new, closed menu.
    st.session_state[DEMO_MENU] = st.session_state.get(DEMO_MENU, 0) + 1
    if not can_control():
        return
    for run in get_registry().list():
        if run.is_active:
            run.stop()
    if side_by_side:
        start_side_by_side(text)
    else:
        start_run(text, preset=preset)


def demo_menu(text=None):
    """The next demo in two actions: open the menu, click a preset (it starts).
    Start uses the settings in the sidebar."""
    from .config_form import PRESETS
    with st.popover(tr("lec.demo"), icon=":material/play_circle:",
                    key=f"lec_demo_menu_{st.session_state.get(DEMO_MENU, 0)}"):
        st.caption(tr("lec.demo.help"))
        for preset in PRESETS:
            helps = f"cfg.preset.{preset}.help"
            st.button(tr(f"cfg.preset.{preset}"), key=f"lec_go_{preset}", width="stretch",
                      help=tr(helps) if helps in STRINGS["en"] else None, on_click=_next_demo,
                      args=(preset,), disabled=not can_control())
        st.divider()
        st.button(tr("cfg.start"), icon=":material/play_arrow:", type="primary",
                  key="lec_start", width="stretch", on_click=_next_demo, args=(None, text),
                  disabled=not can_control(), help=tr("lec.start.help"))
        st.button(tr("cfg.side_by_side"), icon=":material/compare_arrows:", width="stretch",
                  key="lec_side", disabled=not can_control(), on_click=_next_demo,
                  args=(None, text, True), help=tr("cfg.side_by_side.help"))


def _buttons(run: Run):
    """Pause or Resume, Step, Stop (the callbacks check the key themselves)."""
    from . import controls
    if run.status == "paused":
        st.button(tr("app.ctl.resume"), icon=":material/play_arrow:", key=f"resume_{run.id}",
                  on_click=controls.resume, args=(run,), type="primary")
    else:
        st.button(tr("app.ctl.pause"), icon=":material/pause:", key=f"pause_{run.id}",
                  on_click=controls.pause, args=(run,), disabled=run.status != "running")
    st.button(tr("app.ctl.step"), icon=":material/skip_next:", key=f"step_{run.id}",
              on_click=controls.step, args=(run,), disabled=run.status != "paused",
              help=tr("app.ctl.step.help"))
    st.button(tr("app.ctl.stop"), icon=":material/stop:", key=f"stop_{run.id}",
              on_click=controls.ask_stop, args=(run,), disabled=not run.is_active)


def _menu():
    """The pages (the sidebar that lists them is closed on a projector) and the keys."""
    from .follow import keys_help
    with st.popover("", icon=":material/menu:", help=tr("lec.pages")):
        for name, icon in PAGES:
            st.page_link(ROOT / "pages" / f"{name}.py", label=tr(f"page.{name}"), icon=icon)
        st.divider()
        keys_help()


def head(title_key: str, text=None, label_key: str = "app.run.pick") -> Run | None:
    """The strip at the top of a page in presentation mode: title, run picker,
    status, the run's buttons, the next-demo menu. Returns the picked run."""
    from .follow import follow_switch, key_popover
    with st.container(horizontal=True, vertical_alignment="center", key="lecture_head"):
        st.title(tr(title_key))
        run = run_picker(label_key, collapsed=True)
        if run is not None:
            st.markdown(f"{status_badge(run.status)}")
            if can_control():
                _buttons(run)
        if can_control():
            demo_menu(text)
        _menu()
        key_popover()
        follow_switch()
    if run is not None and can_control():
        from .controls import _confirm_box
        _confirm_box(run)   # Stop on a long run asks first
    return run   # Start's errors: config_form.page_errors, under the strip


def numbers(run: Run):
    """The key numbers in one line (inside the page's live fragment)."""
    p = run.progress()
    ppl = p["perplexity"]
    last = run.log.last_step() or {}
    gn = last.get("grad_norm")
    parts = [f"**{tr('app.m.epoch')}** {p['epoch']}/{p['num_epochs']}",
             f"**{tr('app.m.step')}** {p['step']:,}",
             f"**{tr('app.m.ppl')}** " + ("–" if ppl is None else f"{ppl:.2f}" if ppl < 1000
                                          else f"{ppl:.2g}"),
             f"**{tr('lec.m.grad')}** " + ("–" if gn is None else f"{gn:.3g}"),
             "**θ** " + (f"{run.config.theta:g}" if run.config.clipping else tr("lec.noclip"))]
    # a run that ended badly says so in this line, its whole message on hover:
    # a box under it would take the height the main chart needs at 720p
    ended = _ended_message(run)
    if ended is not None:
        parts.append(":red[**⚠ " + (_diverged_at(run) or tr(f"status.{run.status}")) + "**]")
    with st.container(key="lecture_numbers"):
        st.markdown(" · ".join(parts), help=ended)


def _ended_message(run: Run) -> str | None:
    if run.status not in ("diverged", "failed"):
        return None
    message = tr(run.reason["key"], **run.reason) if run.reason else run.message
    return tr(f"app.status.{run.status}") + " " + message


def _diverged_at(run: Run) -> str | None:
    step = (run.reason or {}).get("step")
    return tr("fig.grad.diverged", step=int(step)) if run.status == "diverged" and step else None


def ended_note(run: Run):
    """A run that diverged or failed says so, where and why, on every page."""
    message = _ended_message(run)
    if message is not None:
        st.error(message, icon=":material/warning:")


def grad_marks(run: Run) -> dict:
    """What the gradient-norm chart adds for a lecture: without clipping, the
    clipped preset's θ as a reference line; where and why the run diverged."""
    from ..config import RunConfig
    marks = {"reference_theta": None if run.config.clipping else RunConfig().theta}
    reason = run.reason or {}
    if run.status == "diverged" and str(reason.get("key", "")).startswith("diverge."):
        kind = reason["key"].split(".", 1)[1]
        why = tr(f"fig.grad.why.{kind}", **{k: v for k, v in reason.items() if k != "key"})
        marks["diverged"] = (int(reason.get("step", 0)), why)
    return marks
