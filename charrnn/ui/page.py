"""What every page starts with: the shared sidebar and, on a run's pages,
the head (title and run picker, or the lecture strip in presentation mode)."""
from __future__ import annotations

import streamlit as st

from ..i18n import LANGS
from ..runs import Run
from . import follow, lecture
from .core import (ASSETS, _accept_short_url_flags, _browser_lang, _link_warnings_still_true,
                   present, sync_url, tr)
from .picker import run_picker


def setup_page():
    """Sidebar header shared by every page: language, presentation, presenter
    key; above the page, what the link asked for and did not get."""
    _link_warnings_still_true()
    _accept_short_url_flags()
    follow.restore_key()
    with st.sidebar:
        st.segmented_control(
            "🌐", options=list(LANGS), key="lang",
            format_func=lambda code: {"en": "English", "zh": "中文"}[code],
            default=st.session_state["lang"],   # see config_form: a widget's own default
            required=True, label_visibility="collapsed")
        sync_url("lang", _browser_lang())
        st.toggle(tr("app.present"), key="present", value=present(), help=tr("app.present.help"))
        sync_url("present", False, "1" if st.session_state["present"] else "0")
    follow.sidebar()
    css = (ASSETS / "app.css").read_text("utf-8")
    if present():
        css += (ASSETS / "present.css").read_text("utf-8") + lecture.STRIP_CSS
    if lecture.hide_chrome():
        css += lecture.CHROME_CSS
    st.html(f"<style>{css}</style>")


def page_run(title_key: str, intro_key: str) -> Run:
    """A run-viewing page's head: title, one line of intro, the run picker
    (in presentation mode: the strip of charrnn/ui/lecture.py); with no runs
    yet, it says so and the page stops there (and shows the first run that
    starts)."""
    if present():
        run = lecture.head(title_key)
    else:
        st.title(tr(title_key))
        st.caption(tr(intro_key))
        run = run_picker()
    follow.watch(run)
    if run is None:
        st.info(tr("app.no_runs"))
        st.stop()
    if not present():
        lecture.ended_note(run)
    return run
