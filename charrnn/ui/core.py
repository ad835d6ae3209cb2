"""Language, presentation mode, who may control, the registry and run picker."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import streamlit as st

from ..i18n import LANGS, t
from ..settings import ConfigError, as_bool
from ..runs import Registry, Run

ASSETS = Path(__file__).resolve().parents[2] / "assets"
STATUS_COLOURS = {"queued": "gray", "running": "blue", "paused": "orange",
                  "finished": "green", "stopped": "gray", "diverged": "red", "failed": "red",
                  "interrupted": "orange"}


# The registry lives in this module, not in st.cache_resource: Streamlit's
# menu (and its C key) clears that cache, and a live run would be orphaned
# for every browser until the server restarts.
_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    """One registry per server process: every browser watches the same runs.
    (The server's own tuning is app.py's: charrnn/ui/serve.py, tune_server.)"""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = Registry()
        return _registry


def reset_registry() -> None:
    """Forget the registry and where the lecturer was (tests: the next
    get_registry reads CHARRNN_RUNS_DIR again)."""
    global _registry
    from .follow import reset
    with _registry_lock:
        _registry = None
    reset()


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


# ---------------------------------------------------------------- links
_UNSET = object()


def link_warning(key: str, message: str, keep_while=_UNSET, **params):
    """Say that the link's value for `key` was not used: in the main area (in
    every mode: a collapsed sidebar hides nothing) and once as a toast. It
    stays while session_state[key] still equals `keep_while` (the value put
    in its place); without `keep_while`, for this script run only. A param
    may be {lang: text}: the reader's language picks."""
    ss = st.session_state
    stored = ss.setdefault("_link_warnings", {})
    entry = (message, params, keep_while)
    if keep_while is not _UNSET:
        if stored.get(key) == entry:
            return  # already shown by setup_page in this run
        stored[key] = entry
    text = _warning_text(message, params)
    if ss.get("_link_toasted", {}).get(key) != text:
        ss.setdefault("_link_toasted", {})[key] = text
        st.toast(text, icon=":material/link_off:")
    _show_warning(key, text)


def _warning_text(message, params) -> str:
    language = lang()
    return tr(message, **{k: v.get(language, v.get("en")) if isinstance(v, dict) else v
                          for k, v in params.items()})


def _show_warning(key, text):
    shown = st.session_state.setdefault("_link_shown", set())
    if key in shown:
        return
    shown.add(key)
    box = st.session_state.get("_link_box")
    (box if box is not None else st).warning(text, icon=":material/link_off:")


def _link_warnings_still_true():
    """At the top of the main area: the link warnings whose cause is still there
    (the value put in place of the link's is still the one in use)."""
    ss = st.session_state
    ss["_link_shown"] = set()
    ss["_link_box"] = st.container()
    stored = ss.get("_link_warnings", {})
    for key, (message, params, keep_while) in list(stored.items()):
        if ss.get(key, _UNSET) != keep_while:
            del stored[key]
            ss.get("_link_toasted", {}).pop(key, None)
        else:
            _show_warning(key, _warning_text(message, params))


def allowed_words(options) -> dict:
    """'one of a, b' in every language, for a link warning."""
    return {code: t("set.allowed.choice", code, choices=", ".join(map(str, options)))
            for code in LANGS}


def url_choice(key: str, options, default, moved: bool = False):
    """Before a choice widget whose labels are translated: a value in the URL
    (`?key=raw_option`) picks it; another value is reported and the default
    used. bind="query-params" would write the shown, translated label into
    the link, so a Chinese link would fail in English."""
    url = st.query_params.get(key)
    # `moved`: the widget is drawn on another page than last time, so it starts empty
    fresh = url != st.session_state.get(f"_url_{key}") or key not in st.session_state or moved
    if url in [str(o) for o in options] and fresh:
        st.session_state[key] = next(o for o in options if str(o) == url)
        st.session_state.setdefault("_link_set", {})[key] = st.session_state[key]
    elif url is not None and fresh:
        st.session_state[key] = default
        link_warning(key, "link.bad", keep_while=default, name=key, value=url[:40],
                     allowed=allowed_words(options), default=str(default))
    elif key not in st.session_state or (url is None and moved):
        st.session_state[key] = default


def sync_url(key: str, default, text=None):
    """After the widget: the URL shows its value as `text` (default: str).
    A value at its default is left out, unless the link set it: a shared
    link then says it too and reproduces the view."""
    ss = st.session_state
    value = ss.get(key)
    explicit = ss.setdefault("_link_set", {})
    if key in explicit and explicit[key] != value:
        del explicit[key]  # changed since the link set it
    shown = None if value is None else (text if text is not None else str(value))
    if shown is None or (value == default and key not in explicit):
        if key in st.query_params:
            del st.query_params[key]
        shown = None
    elif st.query_params.get(key) != shown:
        st.query_params[key] = shown
    ss[f"_url_{key}"] = shown


def link_flag(key: str):
    """A yes/no switch in the link (`?present=1`): True, False, or None when
    the link has none or an unreadable one."""
    raw = st.query_params.get(key)
    if raw is None:
        return None
    try:
        return as_bool(key, raw)
    except ConfigError:
        return None


def _accept_short_url_flags():
    """`?present=1` and `?lang=zh` in a lecturer's link set those switches."""
    url_choice("lang", LANGS, _browser_lang())
    raw = st.query_params.get("present")
    if raw is not None and raw != st.session_state.get("_url_present"):
        flag = link_flag("present")
        st.session_state["present"] = bool(flag)
        if flag is None:
            link_warning("present", "link.bad", keep_while=False, name="present",
                         value=raw[:40], default="false",
                         allowed={code: t("set.allowed.bool", code) for code in LANGS})
        else:
            st.session_state.setdefault("_link_set", {})["present"] = flag
    st.session_state.setdefault("present", False)


def setup_page():
    """Sidebar header shared by every page: language, presentation, presenter
    key; above the page, what the link asked for and did not get."""
    from . import follow, lecture
    _link_warnings_still_true()
    _accept_short_url_flags()
    follow.restore_key()
    with st.sidebar:
        st.segmented_control(
            "🌐", options=list(LANGS), key="lang",
            format_func=lambda code: {"en": "English", "zh": "中文"}[code],
            required=True, label_visibility="collapsed")
        sync_url("lang", _browser_lang())
        st.toggle(tr("app.present"), key="present", help=tr("app.present.help"))
        sync_url("present", False, "1" if st.session_state["present"] else "0")
    follow.sidebar()
    css = (ASSETS / "app.css").read_text("utf-8")
    if present():
        css += (ASSETS / "present.css").read_text("utf-8") + lecture.STRIP_CSS
    if lecture.hide_chrome():
        css += lecture.CHROME_CSS
    st.html(f"<style>{css}</style>")
    follow.bridge()


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


def run_picker(label_key="app.run.pick", collapsed: bool = False) -> Run | None:
    """The run this page shows; `?run=ID` in the URL picks it (shareable)."""
    reg = get_registry()
    runs = reg.list()
    ids = [r.id for r in runs]
    # not bind="query-params": with a format_func that puts the label, not the id, in the URL
    url = st.query_params.get("run")
    unknown = url is not None and url not in ids and url != st.session_state.get("_run_url")
    if not runs:
        if unknown:
            link_warning("run", "link.run", value=url[:40])
        return None
    if unknown:
        shown = st.session_state.get("run") if st.session_state.get("run") in ids else ids[0]
        link_warning("run", "link.run", keep_while=shown, value=url[:40])
    if url in ids and url != st.session_state.get("_run_url"):
        st.session_state["run"] = url      # a shared link picks its run
    from .follow import followed_run, publish
    lecturer = followed_run(ids)
    if lecturer is not None:
        st.session_state["run"] = lecturer   # a student follows the lecturer's run
    if st.session_state.get("run") not in ids:
        st.session_state["run"] = ids[0]
    run_id = st.selectbox(tr(label_key), ids, key="run",
                          label_visibility="collapsed" if collapsed else "visible",
                          width=240 if collapsed else "stretch",
                          format_func=lambda i: _run_label(reg.get(i)) if reg.get(i) else i)
    publish(run=run_id)
    st.session_state["_run_url"] = run_id
    if url != run_id:
        st.query_params["run"] = run_id
    return reg.get(run_id)


def page_run(title_key: str, intro_key: str) -> Run:
    """A run-viewing page's head: title, one line of intro, the run picker
    (in presentation mode: the strip of charrnn/ui/lecture.py); with no runs
    yet, it says so and the page stops there (and shows the first run that
    starts)."""
    from . import lecture
    from .follow import watch
    if present():
        run = lecture.head(title_key)
    else:
        st.title(tr(title_key))
        st.caption(tr(intro_key))
        run = run_picker()
    watch(run)
    if run is None:
        st.info(tr("app.no_runs"))
        st.stop()
    if not present():
        lecture.ended_note(run)
    return run
