"""Text the model wrote, as the pages show it: the prefix it was given, then
what it generated, in the app's sample style (assets/app.css)."""
from __future__ import annotations

import html

import streamlit as st


def sample_html(prefix: str, generated: str, label: str = "", title: str = "") -> str:
    """One sample: an optional bold title (a run's name) and grey label (its
    epoch) before the text; with a title the text starts on its own line."""
    head = f"<b>{html.escape(title)}</b> " if title else ""
    if label:
        head += f"<span class='sample-epoch'>{html.escape(label)}</span>"
        head += "<br>" if title else " "
    text = (f"<span class='sample-prefix'>{html.escape(prefix)}</span>"
            f"<span class='sample-gen'>{html.escape(generated)}</span>") if prefix or generated \
        else ""
    return f"<div class='sample'>{head}{text}</div>"


def show_samples(rows: list[str], scroll: bool = True):
    """Samples made by `sample_html`, in one box (scrolling when `scroll`)."""
    style = "" if scroll else " style='max-height:none'"
    st.html(f"<div class='samples'{style}>" + "".join(rows) + "</div>")
