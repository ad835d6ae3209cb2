"""The app's pages and the one place that routes to them.

Streamlit 1.67 routes the runs of a freshly started server through its
legacy pages/-folder router until some run calls st.navigation: a deep link
then runs the page file alone, without app.py (no shared sidebar, legacy
navigation, for every session). `ensure_navigation`, called first by app.py
and by every page, turns that router off and reruns before anything is
drawn, so the rerun goes through app.py's st.navigation. url_path equals
each file's name, so both routers resolve a link to the same page.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from . import follow
from .core import PAGES, ROOT, link_flag, tr
from .page import setup_page


def navigation():
    """Page config, the shared sidebar, and st.navigation over PAGES; a
    student who follows the lecturer is taken to the lecturer's page; then
    the browser's side (follow.bridge: the keys, the window's size)."""
    st.set_page_config(
        page_title="RNN Training Explorer", page_icon=str(ROOT / "assets" / "icon.png"), layout="wide",
        initial_sidebar_state="collapsed" if link_flag("present") else "auto")
    setup_page()
    pages = {name: st.Page(ROOT / "pages" / f"{name}.py", title=tr(f"page.{name}"), icon=icon,
                           url_path=name, default=(name == "train"))
             for name, icon in PAGES}
    page = st.navigation(list(pages.values()))
    here = next((name for name, p in pages.items() if p is page or p.url_path == page.url_path),
                "train")
    if st.session_state.get("_goto_compare"):   # a side-by-side pair just started
        st.switch_page(pages["compare"], query_params={
            **_kept_params(), "runs": ",".join(st.session_state.pop("_goto_compare"))})
    target = follow.followed_page()
    if target in pages and target != here:
        st.switch_page(pages[target], query_params=_kept_params())
    follow.publish(page=here)
    # the browser's side only after st.navigation: a rerun the browser asks
    # for names the page it was last told of, and before st.navigation that
    # is the entry script, not a page: the bridge's first report (as it
    # mounts) then took a deep link to the default page
    follow.bridge()
    return page


def _kept_params() -> dict:
    """What a page switch keeps of the URL: language and presentation mode."""
    return {k: st.query_params[k] for k in ("lang", "present") if k in st.query_params}


def ensure_navigation():
    """First call of app.py and of every page: leave the legacy router."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
