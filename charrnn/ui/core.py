"""Language, presentation mode, who may control, the registry, link warnings:
the base every other UI module stands on (it imports none of them)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st

from ..i18n import LANGS, t
from ..settings import ConfigError, as_bool
from ..runs import Registry

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
# the app's pages, in the navigation's order, with their icons
PAGES = [("train", ":material/model_training:"), ("hidden_state", ":material/grid_on:"),
         ("gradients", ":material/show_chart:"), ("generate", ":material/edit_note:"),
         ("unrolled", ":material/account_tree:"),
         ("compare", ":material/compare_arrows:"), ("sweep", ":material/tune:")]
_RESET_HOOKS: list = []
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
    with _registry_lock:
        _registry = None
    for hook in _RESET_HOOKS:
        hook()


def on_registry_reset(hook) -> None:
    """Call `hook` whenever the registry is forgotten (modules above keep
    state that belongs to it, such as where the lecturer is)."""
    _RESET_HOOKS.append(hook)


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


def status_badge(status: str) -> str:
    """Markdown badge for a run status, translated."""
    colour = STATUS_COLOURS.get(status, "gray")
    label = tr(f"status.{status}")
    return f":{colour}-badge[{label}]"


