"""Language, presentation mode, who may control, the registry and run picker."""
from __future__ import annotations

import gc
import hmac
import os
import sys
import threading
import time
from pathlib import Path

import plotly.io as pio
import streamlit as st

from ..i18n import LANGS, t
from ..runs import Registry, Run
from ..threads import configure_threads
from ..worker import mode as worker_mode
from . import memory

# plotly's orjson engine leaked ~40 MB per 150 serialisations of the heatmaps'
# hover data (tests/bench/RESULTS.md); the plain json engine does not, and was faster
pio.json.config.default_engine = "json"

ASSETS = Path(__file__).resolve().parents[2] / "assets"
STATUS_COLOURS = {"queued": "gray", "running": "blue", "paused": "orange",
                  "finished": "green", "stopped": "gray", "diverged": "red", "failed": "red"}


GC_EVERY_S = 10.0
_gc_thread = None


def _collect_garbage_now_and_then():
    """Stands in for Streamlit's gc.collect() after every script run, which
    .streamlit/config.toml turns off: with torch, numpy and plotly loaded a
    full collection traverses ~250k objects (about 100-300 ms here) and a live
    page reruns every second in every browser. What is loaded by now is
    frozen out of the collector's sight (it is never garbage), and the
    cycles figures leave behind are collected every GC_EVERY_S (a few ms)."""
    global _gc_thread
    if _gc_thread is not None:
        return
    gc.freeze()

    def loop():
        while True:
            time.sleep(GC_EVERY_S)
            gc.collect()
            memory.trim()   # the arenas' free pages back to the system
    _gc_thread = threading.Thread(target=loop, name="charrnn-gc", daemon=True)
    _gc_thread.start()


@st.cache_resource
def get_registry() -> Registry:
    """One registry per server process: every browser watches the same runs."""
    configure_threads()
    _collect_garbage_now_and_then()
    if worker_mode() == "thread":
        # a training thread and every session's reruns share one GIL; a shorter
        # switch interval (default 5 ms) hands it back to training sooner
        # (tests/load/watchers.py: about 2x more steps/s with a busy viewer).
        # A worker process has its own GIL: then the default is kept.
        sys.setswitchinterval(0.0005)
    return Registry()


def _browser_lang() -> str:
    loc = (getattr(st.context, "locale", None) or "").lower()
    return "zh" if loc.startswith("zh") else "en"


def lang() -> str:
    value = st.session_state.get("lang")
    return value if value in LANGS else _browser_lang()


def tr(key: str, /, **fmt) -> str:
    return t(key, lang(), **fmt)


def error_text(exc: Exception) -> str:
    """An engine error in the reader's language when it names its sentence
    (CorpusError's key), else its own (English) message."""
    reason = getattr(exc, "i18n_reason", None)
    return tr(reason["key"], **reason) if reason else str(exc)


def fmt(prefix: str):
    """format_func for options whose labels are strings `prefix.<option>`.

    The language is fixed when the widget is drawn: Streamlit may call a
    format_func later, outside the script run, where session state (and so
    the chosen language) is out of reach."""
    language = lang()
    return lambda option: t(f"{prefix}.{option}", language)


def present() -> bool:
    return bool(st.session_state.get("present"))


def presenter_key() -> str | None:
    """The key that lets a browser control runs (env var, else Streamlit secret)."""
    key = os.environ.get("CHARRNN_PRESENTER_KEY")
    if key:
        return key
    try:
        return st.secrets.get("presenter_key") or None
    except Exception:  # no secrets file at all
        return None


def can_control() -> bool:
    key = presenter_key()
    return key is None or bool(st.session_state.get("_controller"))


def _check_key():
    entered = st.session_state.get("presenter_key_input", "")
    key = presenter_key()
    ok = bool(key) and hmac.compare_digest(entered.encode(), key.encode())
    st.session_state["_controller"] = ok
    st.session_state["_key_wrong"] = bool(entered) and not ok


def url_choice(key: str, options, default, moved: bool = False):
    """Before a choice widget whose labels are translated: a value in the URL
    (`?key=raw_option`) picks it. bind="query-params" would write the shown,
    translated label into the link, so a Chinese link would fail in English."""
    url = st.query_params.get(key)
    # `moved`: the widget is drawn on another page than last time, so it starts empty
    fresh = url != st.session_state.get(f"_url_{key}") or key not in st.session_state or moved
    if url in [str(o) for o in options] and fresh:
        st.session_state[key] = next(o for o in options if str(o) == url)
    elif key not in st.session_state or (url is None and moved):
        st.session_state[key] = default


def sync_url(key: str, default):
    """After the widget: the URL shows its value (and drops it at the default)."""
    value = st.session_state.get(key)
    st.session_state[f"_url_{key}"] = None if value is None else str(value)
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def _accept_short_url_flags():
    """`?present=1` and `?lang=zh` in a lecturer's link set those switches."""
    url_choice("lang", LANGS, _browser_lang())
    flag = st.query_params.get("present")
    if flag is not None and flag != st.session_state.get("_url_present"):
        st.session_state["present"] = flag in ("1", "true", "True", "yes")
    st.session_state.setdefault("present", False)


def setup_page():
    """Sidebar header shared by every page: language, presentation, presenter key."""
    _accept_short_url_flags()
    with st.sidebar:
        st.segmented_control(
            "🌐", options=list(LANGS), key="lang",
            format_func=lambda code: {"en": "English", "zh": "中文"}[code],
            required=True, label_visibility="collapsed")
        sync_url("lang", _browser_lang())
        st.toggle(tr("app.present"), key="present", help=tr("app.present.help"))
        if st.session_state["present"]:
            st.query_params["present"] = "1"
        elif "present" in st.query_params:
            del st.query_params["present"]
        st.session_state["_url_present"] = "1" if st.session_state["present"] else None
        if presenter_key():
            if st.session_state.get("_controller"):
                st.caption("🔑 " + tr("app.key.ok"))
            else:
                st.text_input(tr("app.key.label"), type="password", key="presenter_key_input",
                              on_change=_check_key, help=tr("app.key.help"))
                if st.session_state.get("_key_wrong"):
                    st.error(tr("app.key.wrong"))
                else:
                    st.caption("👀 " + tr("app.key.watching"))
    css = (ASSETS / "app.css").read_text("utf-8")
    if present():
        css += (ASSETS / "present.css").read_text("utf-8")
    st.html(f"<style>{css}</style>")


def status_badge(status: str) -> str:
    """Markdown badge for a run status, translated."""
    colour = STATUS_COLOURS.get(status, "gray")
    label = tr(f"status.{status}")
    return f":{colour}-badge[{label}]"


def _run_label(run: Run) -> str:
    # no status: the browser keeps a kept selection's old label, so a status
    # here would go stale; the badge under the picker is always current
    when = time.strftime("%H:%M:%S", time.localtime(run.created))
    return f"{run.name} · {when} · {run.id[-4:]}"  # the id's tail: labels stay unique


def run_picker(label_key="app.run.pick") -> Run | None:
    """The run this page shows; `?run=ID` in the URL picks it (shareable)."""
    reg = get_registry()
    runs = reg.list()
    if not runs:
        return None
    ids = [r.id for r in runs]
    # not bind="query-params": with a format_func that puts the label, not the id, in the URL
    url = st.query_params.get("run")
    if url in ids and url != st.session_state.get("_run_url"):
        st.session_state["run"] = url      # a shared link picks its run
    if st.session_state.get("run") not in ids:
        st.session_state["run"] = ids[0]
    run_id = st.selectbox(tr(label_key), ids, key="run",
                          format_func=lambda i: _run_label(reg.get(i)) if reg.get(i) else i)
    st.session_state["_run_url"] = run_id
    if url != run_id:
        st.query_params["run"] = run_id
    return reg.get(run_id)


def page_run(title_key: str, intro_key: str) -> Run:
    """A run-viewing page's head: title, one line of intro, the run picker;
    with no runs yet, it says so and the page stops there."""
    st.title(tr(title_key))
    st.caption(tr(intro_key))
    run = run_picker()
    if run is None:
        st.info(tr("app.no_runs"))
        st.stop()
    return run
