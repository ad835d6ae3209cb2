"""The server's start, as `streamlit run app.py` serves app.py's `st.App`.

Why app.py is an `st.App` at all: charrnn/ui/memory.py. The one thing the
plain `streamlit run` does that `st.App`'s server does not is to open a
browser tab on a desktop; `lifespan` does it.
"""
from __future__ import annotations

import threading
import webbrowser
from contextlib import asynccontextmanager

import streamlit as st

_WILDCARD = {"", "0.0.0.0", "::"}


def local_url() -> str:
    """Where a browser on this machine finds the app."""
    address = st.get_option("browser.serverAddress") or ""
    if address in _WILDCARD or address == "localhost":
        address = st.get_option("server.address") or ""
    if address in _WILDCARD:
        address = "localhost"
    if ":" in address:   # IPv6
        address = f"[{address}]"
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{address}:{st.get_option('server.port')}/{base + '/' if base else ''}"


@asynccontextmanager
async def lifespan(_app):
    # the socket already listens (st.App binds it before starting): the tab's
    # first request waits in the backlog; a thread, since a browser may take
    # seconds to launch
    if not st.get_option("server.headless"):
        threading.Thread(target=webbrowser.open, args=(local_url(),), daemon=True,
                         name="open-browser").start()
    yield
