"""Follow the lecturer: with a presenter key set, what the lecturer's browser
shows (page, run, the unrolled diagram's phase) is published here, and a
student's page follows it unless the student turns following off.

Also the browser's side of a lecture (bridge.js): the keyboard (space,
arrows, Page Up/Down from a presenter's clicker, P for presentation mode) and
the presenter key remembered by that browser. What the browser keeps is a
token derived from the key (an HMAC) in a cookie, never the key itself and
never in a URL; the server reads it when a session starts (st.context.cookies),
so a reloaded lecturer's page controls from its first run."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import streamlit as st

from .core import can_control, get_registry, on_registry_reset, presenter_key, present, tr

POLL_S = 1.0           # a follower looks for news this often (it must follow within 2 s)
EMPTY_POLL_S = 2.0     # a page without runs looks for the first one this often

_lock = threading.Lock()
# version: the page or run moved (a follower reruns its page); the phase alone
# moves phase_version (the Unrolled RNN page's diagram follows it by itself)
_state: dict = {"page": None, "run": None, "phase": None, "version": 0, "phase_version": 0,
                "time": 0.0}


def lecturer() -> dict:
    with _lock:
        return dict(_state)


def publish(**what):
    """The lecturer's browser says where it is (page, run, phase)."""
    if presenter_key() is None or not st.session_state.get("_controller"):
        return
    with _lock:
        changed = {k: v for k, v in what.items() if _state.get(k) != v}
        if changed:
            _state.update(changed)
            _state["phase_version" if set(changed) == {"phase"} else "version"] += 1
            _state["time"] = time.time()


def reset():
    """Forget the lecturer (with the registry, in tests)."""
    with _lock:
        _state.update(page=None, run=None, phase=None, version=0, phase_version=0, time=0.0)


on_registry_reset(reset)


def following() -> bool:
    """A student (a key is set, this browser has not entered it) who has not
    turned following off."""
    return (presenter_key() is not None and not can_control()
            and st.session_state.get("follow_lecturer", True))


def followed_run(ids) -> str | None:
    run = lecturer()["run"]
    return run if following() and run in ids else None


def followed_page() -> str | None:
    return lecturer()["page"] if following() else None


def followed_phase():
    return lecturer()["phase"] if following() else None


def _news() -> tuple:
    """What a watching page reruns for: the lecturer moved, or a new run."""
    runs = get_registry().list()
    return (lecturer()["version"] if following() else None, runs[0].id if runs else None)


def watch(run):
    """On a page that a student follows, or that has no run yet: a small
    fragment that reruns the page once there is news (the lecturer moved,
    a run appeared). Draws nothing."""
    if not following() and run is not None:
        return
    seen = _news()

    @st.fragment(run_every=POLL_S if following() else EMPTY_POLL_S)
    def _look():
        if _news() != seen:
            st.rerun(scope="app")
    _look()


# ------------------------------------------------------------------ the key
COOKIE = "charrnn_presenter"
KEY_MENU = "_key_menu_gen"


def _token(key: str) -> str:
    return hmac.new(key.encode(), b"charrnn presenter", hashlib.sha256).hexdigest()


def restore_key():
    """A browser that entered the key before (its cookie) controls again."""
    key = presenter_key()
    if key is None or st.session_state.get("_controller") or st.session_state.get("_forgotten"):
        return
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:   # no browser behind this session (tests, bare mode)
        token = None
    if isinstance(token, str) and token and _accept("", token):
        st.session_state["_controller"] = True


def _accept(entered: str, token: str | None = None):
    key = presenter_key()
    if not key:
        return False
    if token is not None:
        return hmac.compare_digest(token.encode(), _token(key).encode())
    return hmac.compare_digest(entered.encode(), key.encode())


def _check_key(widget: str):
    entered = st.session_state.get(widget, "")
    ok = _accept(entered)
    st.session_state["_controller"] = ok
    st.session_state["_key_wrong"] = bool(entered) and not ok
    if ok:
        st.session_state.pop("_forgotten", None)
        _close_key_menu()


def _close_key_menu():
    """The strip's key menu closes once the key is taken or forgotten: the
    lecturer gets on with the lesson (a new key is a new, closed menu; Escape
    alone lost the race with the rerun the key started)."""
    st.session_state[KEY_MENU] = st.session_state.get(KEY_MENU, 0) + 1


def _forget():
    st.session_state["_controller"] = False
    st.session_state["_forgotten"] = True
    # emptied, not deleted: deleting a widget's key in a callback reset every
    # number of the sidebar's form to its minimum (num_hiddens 1, lr 1e-8)
    for widget in ("presenter_key_input", "presenter_key_popover"):
        st.session_state[widget] = ""
    _close_key_menu()


def _key_box(widget: str):
    if st.session_state.get("_controller"):
        st.caption("🔑 " + tr("app.key.ok"))
        st.button(tr("lec.key.forget"), key=f"{widget}_forget", on_click=_forget,
                  help=tr("lec.key.forget.help"))
        return
    st.text_input(tr("app.key.label"), type="password", key=widget,
                  on_change=_check_key, args=(widget,), help=tr("app.key.help"))
    if st.session_state.get("_key_wrong"):
        st.error(tr("app.key.wrong"))
    else:
        st.caption("👀 " + tr("app.key.watching"))


def _follow_toggle(key: str):
    st.toggle(tr("lec.follow"), key=key, value=st.session_state.get("follow_lecturer", True),
              on_change=lambda: st.session_state.__setitem__(
                  "follow_lecturer", st.session_state[key]),
              help=tr("lec.follow.help"))


def sidebar():
    """The key box and the follow switch in the sidebar (outside presentation
    mode: there they are in the strip)."""
    if presenter_key() is None or present():
        return
    with st.sidebar:
        _key_box("presenter_key_input")
        if not can_control():
            _follow_toggle("follow_side")


def key_popover():
    """The key box in presentation mode's strip."""
    if presenter_key() is None:
        return
    with st.popover("" if can_control() else tr("app.key.label"), icon=":material/key:",
                    help=tr("app.key.help"),
                    key=f"lec_key_menu_{st.session_state.get(KEY_MENU, 0)}"):
        _key_box("presenter_key_popover")


def follow_switch():
    if presenter_key() is not None and not can_control():
        _follow_toggle("follow_strip")


KEYS = [("space", "lec.keys.space"), ("→ / PgDn", "lec.keys.next"),
        ("← / PgUp", "lec.keys.back"), ("P", "lec.keys.present")]


def keys_help():
    """The keyboard's list (inside the strip's menu)."""
    st.markdown(f"**{tr('lec.keys')}**\n\n" + "\n".join(f"- **{k}**: {tr(v)}" for k, v in KEYS))
    if not can_control():
        st.caption(tr("lec.keys.watcher"))


# ------------------------------------------------------- the browser's side
_JS = (Path(__file__).with_name("bridge.js")).read_text(encoding="utf-8")
_bridge = st.components.v2.component("charrnn.bridge", js=_JS, isolate_styles=False)
BRIDGE_CSS = ".st-key-charrnn_bridge { display: none; }"


def _on_key():
    event = (st.session_state.get("charrnn_bridge") or {}).get("key") or {}
    name = event.get("name")
    if name == "present":
        st.session_state["present"] = not st.session_state.get("present", False)
        return
    if not can_control() or name not in ("toggle", "next", "back"):
        return
    page, handler = st.session_state.get("_key_handler") or (None, None)
    if handler is not None and page == _page_id():
        handler(name)


def _page_id():
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else None


def on_keys(handler):
    """The page's own meaning of the keys: handler("toggle" | "next" | "back").
    Set every run; the key pressed before the next run calls it, on this
    page only. (Not cleared at each run's start: a key whose rerun cut that
    run short, before the page set its handler again, was lost.)"""
    st.session_state["_key_handler"] = (_page_id(), handler)


def run_keys(run):
    """Space pauses or resumes `run`; the right arrow steps it while paused."""
    def handle(name):
        if name == "toggle":
            run.resume() if run.status == "paused" else run.pause()
        elif name == "next":
            run.pause() if run.status == "running" else run.step()
    on_keys(handle)


def bridge():
    """Mount the browser's side (hidden): the keys, and the cookie that
    remembers (or forgets) the presenter."""
    key = presenter_key()
    forgotten = bool(st.session_state.get("_forgotten"))
    data = {"controls": can_control(), "cookie": COOKIE,
            "remember": _token(key) if key and st.session_state.get("_controller") else None,
            "forget": forgotten,
            # the window's size where a page asked for it, and on a projector
            # (every page sizes its figure there): its report reruns the page
            "viewport": bool(st.session_state.get("_want_viewport")) or present(),
            # whether this run knows it (the browser can tell a page sized to it)
            "sized": _reported() is not None}
    st.html(f"<style>{BRIDGE_CSS}</style>")
    _bridge(data=json.dumps(data), key="charrnn_bridge", on_key_change=_on_key,
            on_viewport_change=lambda: None, width="stretch", height=0)


def _reported() -> dict | None:
    state = st.session_state.get("charrnn_bridge") or {}
    size = state.get("viewport") if hasattr(state, "get") else None
    return size if isinstance(size, dict) and size.get("h") else None


def viewport() -> dict | None:
    """{w, h} of this browser's window, once the bridge has reported it (the
    first call asks the bridge to report it from then on)."""
    st.session_state["_want_viewport"] = True
    return _reported()
