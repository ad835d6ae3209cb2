"""The sidebar's training settings, drawn from the settings table.

Each setting of the table with a sidebar group gets its widget, keyed by the
setting's link name, and is bound to the link: a lecturer prepares links
("?theta_on=false" shows the explosion) and students open exactly that
setup. A link's values are read strictly by the table's reader; one that
cannot be used is replaced by the default and said so in the main area.
`?hide=lr,theta` hides chosen controls for a class, as TensorFlow
Playground does.
"""
from __future__ import annotations

import streamlit as st

from ..config import ConfigError, RunConfig
from ..data import CorpusError, check_length, decode_user_text, load_corpus
from ..i18n import LANGS, t
from ..model import available_devices
from ..settings import BY_NAME, FORM, HIDE_NAMES, Setting, check_lanes, coerce, switch_of
from .core import (can_control, fmt, get_registry, lang,
                   link_warning, sync_url, tr, url_choice)

CORPORA = ["timemachine", "upload", "paste"]
GROUPS = {"corpus": "cfg.h.corpus", "model": "cfg.h.model", "training": "cfg.h.training",
          "more": "cfg.h.more"}
# preset name -> the settings it changes (everything else: d2l 8.5 defaults)
PRESETS = {
    "d2l": {},
    # lr 3 without clipping explodes within tens of steps (d2l's lr 1 takes minutes)
    "explode": {"theta": None, "lr": 3.0},
    "quick": {"num_hiddens": 128, "num_epochs": 60},
    "relu": {"activation": "relu", "theta": None, "lr": 0.5},
    "random": {"random_iter": True},
    "nodetach": {"detach": False, "random_iter": False, "num_hiddens": 128, "num_epochs": 100},
}


# ------------------------------------------------------- widget <-> setting
def to_widget(s: Setting, value):
    """A setting's value as its widget holds it (a choice's word, a list)."""
    if value is None:  # theta off: the number keeps its default, the switch says off
        value = s.default
    if s.kind == "bool" and s.words:
        return s.words[bool(value)]
    if s.kind == "lanes":
        return list(value)
    return value


def from_widget(s: Setting, state):
    if s.kind == "bool" and s.words and state in s.words:
        return state == s.words[1]
    if s.kind == "lanes" and isinstance(state, list):
        return tuple(state)
    return state


def read_link_value(s: Setting, raw: str, batch_size: int | None = None):
    """A link's text for `s`: (value, None), or (None, the ConfigError) when it
    cannot be used. The table's reader, the one every door uses."""
    try:
        value = coerce(s, raw)
        if s.kind == "lanes":
            check_lanes(value, BY_NAME["batch_size"].default if batch_size is None
                        else batch_size)
        return value, None
    except ConfigError as exc:
        return None, exc


def _allowed(s: Setting) -> dict:
    return {code: s.allowed(code) for code in LANGS}


def _from_link(s: Setting, hidden: bool, moved: bool, batch_size: int | None = None):
    """Before a widget: the link's value (`?num_hiddens=64`), read strictly, into
    it; a value that cannot be used: the default, and a warning that names
    the allowed values. A value already applied stays, unless the form moved
    to another page (its widgets there start empty; the link still holds them)."""
    ss, key = st.session_state, s.url
    default = to_widget(s, s.default)
    raw = st.query_params.get(key)
    if raw is None:
        if not hidden and (key not in ss or moved):
            ss[key] = default
        return
    if raw == ss.get(f"_url_{key}") and key in ss and not moved:
        return
    value, problem = read_link_value(s, raw, batch_size)
    if problem is None:
        if s.switch and value is None:  # ?theta=none: the switch off
            ss[s.switch] = False
            value = s.default
        ss[key] = to_widget(s, value)
        ss.setdefault("_link_set", {})[key] = ss[key]
    elif hidden:  # not drawn: Start refuses it and names the range
        link_warning(key, "link.kept", name=key, value=raw[:40], allowed=_allowed(s))
    else:
        ss[key] = default
        link_warning(key, "link.bad", keep_while=default, name=key, value=raw[:40],
                     allowed=_allowed(s), default=s.show(s.default))


# Every widget below is given the form's value (d2l's default, a link's, a
# preset's) as its own default too, not only through st.session_state: that
# reaches the browser once, with the run that set it, and a browser that
# draws the widget only from a later run's copy (a rerun landed first: the
# bridge's first report) drew Streamlit's default, a number's minimum
# (num_hiddens 1, lr 1e-8), and sent it back with the next click.
def _index(options, value) -> int:
    return options.index(value) if value in options else 0


def _start(s: Setting):
    """The number a widget starts from: the form's, in the widget's type and range."""
    value = st.session_state.get(s.url)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not s.low <= value <= s.high:
        value = s.default
    return int(value) if s.kind == "int" else float(value)


def _number(s: Setting):
    kw = dict(min_value=s.low, max_value=s.high, step=s.step, format=s.fmt,
              help=tr(s.help) if s.help else None)
    st.number_input(tr(s.label) if s.label else s.name, key=s.url, value=_start(s), **kw)


def _choice(s: Setting, options):
    labels = s.option_labels
    kw = dict(key=s.url, help=tr(s.help) if s.help else None,
              index=_index(options, st.session_state.get(s.url)))
    if labels:
        language = lang()  # fixed now: a format_func may be called outside the run
        kw["format_func"] = lambda o: t(labels.format(o), language)
    if len(options) > 3 or s.kind == "device":
        st.selectbox(tr(s.label), options, **kw)
    else:
        st.radio(tr(s.label), options, horizontal=True, **kw)


def _widget(s: Setting, hidden: set, moved: bool):
    """One setting: its link value in, its widget, its value back into the link."""
    ss, key = st.session_state, s.url
    is_hidden = key in hidden
    if s.switch:
        sw = switch_of(s)
        _from_link(sw, is_hidden, moved)
        if not is_hidden:
            st.toggle(tr(sw.label), key=sw.url, value=bool(ss.get(sw.url, True)),
                      help=tr(s.help))
            sync_url(sw.url, True, sw.show(ss[sw.url]))
        if not ss.get(sw.url, True):
            return  # no clipping: no θ to choose
    batch_size = ss.get("batch_size", BY_NAME["batch_size"].default)
    _from_link(s, is_hidden, moved, batch_size)
    if is_hidden:
        return
    if s.kind in ("int", "float"):
        _number(s)
    elif s.kind == "bool" and not s.words:
        st.toggle(tr(s.label), key=key, value=bool(ss.get(key, s.default)), help=tr(s.help))
    elif s.kind in ("bool", "choice"):
        _choice(s, list(s.words or s.choices))
    elif s.kind == "device":
        devices = available_devices()
        if ss.get(key) not in devices:
            if key in st.query_params and ss.get(key) != s.default:
                link_warning(key, "link.device", keep_while=s.default, value=str(ss[key])[:40],
                             allowed=", ".join(devices), default=s.default)
            ss[key] = s.default
        _choice(s, devices)
    elif s.kind == "lanes":
        bs = int(batch_size)
        ss[key] = [i for i in ss.get(key, []) if i < bs] or [0]
        st.multiselect(tr(s.label), list(range(bs)), key=key, max_selections=16,
                       default=ss[key], help=tr(s.help))
    else:
        st.text_input(tr(s.label), key=key, max_chars=int(s.high), value=str(ss.get(key, "")),
                      help=tr(s.help))
    default = to_widget(s, s.default)
    sync_url(key, default, s.show(from_widget(s, ss.get(key))))


# ----------------------------------------------------------------- the form
def apply_preset(name: str):
    """Put a preset's values into the widgets (their keys are in session_state)."""
    values = {s.name: s.default for s in FORM if s.kind != "device"}
    values.update(PRESETS[name])
    for name_, value in values.items():
        s = BY_NAME[name_]
        st.session_state[s.url] = to_widget(s, value)
        if s.switch:
            st.session_state[s.switch] = value is not None


def _hidden() -> set[str]:
    """The link names of the settings `?hide=` names (link or d2l names)."""
    asked = [k.strip() for k in st.query_params.get("hide", "").split(",") if k.strip()]
    unknown = [k for k in asked if k not in HIDE_NAMES]
    if unknown:
        link_warning("hide", "link.hide", names=", ".join(unknown)[:80],
                     allowed=", ".join(s.url for s in FORM))
    return {HIDE_NAMES[k].url for k in asked if k in HIDE_NAMES}


def _said(exc) -> dict:
    """An error kept for later reruns: its key, so it is said in the language
    of the page that shows it."""
    return exc.i18n_reason or {"message": str(exc)}


def _say(said: dict) -> str:
    return tr(said["key"], **said) if "key" in said else said["message"]


def _user_text(src):
    """The uploaded or pasted text, or None (an error is shown in place)."""
    if src == "upload":
        f = st.file_uploader(tr("cfg.upload"), type=["txt", "md", "text"], key="upload",
                             help=tr("cfg.upload.help"))
        if f is None:
            return None
        try:
            return decode_user_text(f.getvalue(), f.name)
        except CorpusError as exc:
            st.session_state["_corpus_error"] = _said(exc)
            return None
    text = st.text_area(tr("cfg.paste"), key="paste", height=150,
                        placeholder=tr("cfg.paste.placeholder"))
    if not text.strip():
        return None
    try:
        return decode_user_text(text.encode("utf-8"), tr("cfg.paste.name"))
    except CorpusError as exc:
        st.session_state["_corpus_error"] = _said(exc)
        return None


def _corpus_source(moved):
    st.session_state.pop("_corpus_error", None)   # set again while the text is still bad
    url_choice("corpus_src", CORPORA, "timemachine", moved=moved)
    src = st.radio(tr("cfg.corpus"), CORPORA, key="corpus_src", format_func=fmt("cfg.corpus"),
                   index=_index(CORPORA, st.session_state.get("corpus_src")),
                   horizontal=True, label_visibility="collapsed")
    sync_url("corpus_src", "timemachine")
    return None if src == "timemachine" else _user_text(src)


def config_sidebar(page: str = "train"):
    """Draw the settings on `page`; returns the user's text (or None)."""
    hidden = _hidden()
    ss = st.session_state
    moved = ss.get("_form_page") not in (None, page)
    ss["_form_page"] = page
    st.selectbox(tr("cfg.preset"), list(PRESETS), key="preset", index=None,
                 placeholder=tr("cfg.preset.placeholder"), format_func=fmt("cfg.preset"),
                 on_change=lambda: apply_preset(ss["preset"]) if ss.get("preset") else None)
    text = None
    for group, title in GROUPS.items():
        rows = [s for s in FORM if s.group == group]
        if group == "more":
            box = st.expander(tr(title))
        else:
            st.subheader(tr(title))
            box = st.container()
        with box:
            if group == "corpus":
                text = _corpus_source(moved)
            if group == "training":  # the plain numbers side by side, two columns
                numbers = [s for s in rows if s.kind in ("int", "float") and not s.switch]
                cols = st.columns(2)
                for i, s in enumerate(numbers):
                    with cols[i % 2]:
                        _widget(s, hidden, moved)
                rows = [s for s in rows if s not in numbers]
            for s in rows:
                _widget(s, hidden, moved)
    return text


def _setting_value(s: Setting):
    """The value Start uses: the widget's, else (hidden) the link's text, which
    the validator reads and refuses with the range named."""
    ss, qp = st.session_state, st.query_params
    if s.url in ss:
        value = from_widget(s, ss[s.url])
    else:
        value = qp.get(s.url, s.default)
    if s.switch:
        on = ss.get(s.switch, qp.get(s.switch, True))
        if not coerce(switch_of(s), on):
            return None
    return value


def build_config(text) -> RunConfig:
    """Widgets -> a validated RunConfig (ConfigError / CorpusError on bad input)."""
    src = st.session_state.get("corpus_src", "timemachine")
    if src != "timemachine" and not text:
        raise CorpusError.of("cfg.err.no_text")
    values = {s.name: _setting_value(s) for s in FORM}
    if values["model"] != "scratch":
        values["activation"] = "tanh"
    values["prefix"] = values["prefix"] or " "
    cfg = RunConfig.from_dict(dict(
        values, corpus="timemachine" if src == "timemachine" else "text", text=text))
    # fail here, in the page, rather than in the thread a second later
    corpus = load_corpus(cfg.corpus, cfg.tokens, cfg.max_tokens, cfg.text)
    check_length(corpus, cfg.batch_size, cfg.num_steps)
    return cfg


def _inputs(text) -> str:
    """What Start's settings and text are now (an error made from others is stale)."""
    ss = st.session_state
    return repr((ss.get("corpus_src"), hash(text), [repr(_setting_value(s)) for s in FORM]))


def _refused(exc, text):
    st.session_state["_start_error"] = {**_said(exc), "_inputs": _inputs(text)}


def page_errors(text):
    """Start's error and the corpus's, in the main area and once as a toast,
    in the reader's language; each goes once its cause is gone (the text or
    a setting changed and Start would now accept them; the key was entered)."""
    ss = st.session_state
    start = ss.get("_start_error")
    if start and start.get("key") == "app.key.needed":
        if can_control():
            start = ss.pop("_start_error") and None
    elif start and start.get("_inputs") != _inputs(text):
        try:
            build_config(text)
            start = ss.pop("_start_error") and None
        except (ConfigError, CorpusError) as exc:
            _refused(exc, text)
            start = ss["_start_error"]
    corpus = ss.get("_corpus_error")
    if corpus and start and start.get("key") == "cfg.err.no_text":
        start = None   # the corpus's own error says why there is no text
    messages = [_say(x) for x in (corpus, start) if x]
    toasted = ss.get("_toasted", set())
    for message in messages:
        st.error(message, icon=":material/error:")
        if message not in toasted:
            st.toast(message, icon=":material/error:")
    ss["_toasted"] = set(messages)


def start_run(text=None, preset: str | None = None):
    """Create a run from the widgets (after applying `preset`).

    Meant for on_click callbacks (they run before the widgets exist, so a
    preset can set them); errors go to session_state["_start_error"]."""
    if not can_control():
        st.session_state["_start_error"] = {"key": "app.key.needed"}
        return None
    if preset:
        apply_preset(preset)
    try:
        cfg = build_config(text)
    except (ConfigError, CorpusError) as exc:
        _refused(exc, text)
        return None
    st.session_state.pop("_start_error", None)
    run = get_registry().create(cfg)
    st.session_state["run"] = run.id
    return run


def start_side_by_side(text=None):
    """Lecture preset: the same settings with sequential and with random
    partitioning, started together and opened in the compare page."""
    if not can_control():
        st.session_state["_start_error"] = {"key": "app.key.needed"}
        return
    try:
        cfg = build_config(text)
    except (ConfigError, CorpusError) as exc:
        _refused(exc, text)
        return
    st.session_state.pop("_start_error", None)
    reg = get_registry()
    runs = []
    for random_iter in (False, True):
        d = cfg.to_dict()
        d.update(random_iter=random_iter, name="")
        runs.append(reg.create(RunConfig.from_dict(d), start=False))
    # together, one core each, where the machine has two; else the page says why not
    if not reg.start_together(runs):
        st.session_state["_side_note"] = tr("lec.side.queued")
    ids = [r.id for r in runs]
    st.session_state["run"] = ids[0]
    st.session_state["_goto_compare"] = ids
