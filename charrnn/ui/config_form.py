"""The sidebar's training settings: presets, corpus, model, hyperparameters.

Every widget's key is the RunConfig field it sets and is bound to the URL
query string, so a lecturer can prepare links ("?theta_on=false" shows the
explosion) and students open exactly that setup. `?hide=lr,theta` hides
chosen controls for a class, as TensorFlow Playground does.
"""
from __future__ import annotations

import math

import streamlit as st

from ..config import ConfigError, RunConfig
from ..data import CorpusError, check_length, decode_user_text, load_corpus
from ..model import available_devices
from .core import can_control, error_text, fmt, get_registry, sync_url, tr, url_choice

DEFAULTS = RunConfig()
CORPORA = ["timemachine", "upload", "paste"]
TOKENS = ["d2l", "raw"]
MODELS = ["scratch", "rnn", "gru", "lstm"]
PARTS = ["sequential", "random"]
# preset name -> the settings it changes (everything else: d2l 8.5 defaults)
PRESETS = {
    "d2l": {},
    "explode": {"theta_on": False},
    "quick": {"num_hiddens": 128, "num_epochs": 60},
    "relu": {"activation": "relu", "theta_on": False, "lr": 0.5},
    "random": {"part": "random"},
    "nodetach": {"detach": False, "part": "sequential", "num_hiddens": 128, "num_epochs": 100},
}
FORM_DEFAULTS = {
    "corpus_src": "timemachine", "tokens": DEFAULTS.tokens, "max_tokens": DEFAULTS.max_tokens,
    "model": DEFAULTS.model, "num_hiddens": DEFAULTS.num_hiddens,
    "batch_size": DEFAULTS.batch_size, "num_steps": DEFAULTS.num_steps, "lr": DEFAULTS.lr,
    "num_epochs": DEFAULTS.num_epochs, "theta_on": True, "theta": DEFAULTS.theta,
    "part": "sequential", "seed": DEFAULTS.seed, "device": "auto",
    "activation": DEFAULTS.activation, "prefix": DEFAULTS.prefix,
    "snapshot_every": DEFAULTS.snapshot_every, "lanes": list(DEFAULTS.probe_lanes),
    "detach": True,
}


def apply_preset(name: str):
    """Put a preset's values into the widgets (their keys are in session_state)."""
    for key, value in FORM_DEFAULTS.items():
        if key not in ("corpus_src", "device"):
            st.session_state[key] = value
    for key, value in PRESETS[name].items():
        st.session_state[key] = value


def _init(key):
    """Default for a widget, unless the URL or the session already holds one."""
    if key not in st.session_state and key not in st.query_params:
        st.session_state[key] = FORM_DEFAULTS[key]


def _hidden() -> set[str]:
    return {k.strip() for k in st.query_params.get("hide", "").split(",") if k.strip()}


def _url_number(key, lo, hi):
    """A number from the link (`?lr=0.5`) into its widget. Not bind="query-params":
    Streamlit drops a bad value silently and fails on `inf`; here a bad one (not
    a finite number, out of range, a fraction for a whole number) is replaced by
    the default with a warning naming the allowed range."""
    raw = st.query_params.get(key)
    # a value already applied stays, unless the form moved to another page (the
    # widgets there are new and start empty; the URL still holds their values)
    moved = st.session_state.get("_form_moved")
    if raw is None:  # the URL drops values at their default
        if moved:
            st.session_state[key] = FORM_DEFAULTS[key]
        return
    if raw == st.session_state.get(f"_url_{key}") and key in st.session_state and not moved:
        return
    whole = isinstance(lo, int)
    try:
        value = float(raw)
        ok = math.isfinite(value) and lo <= value <= hi and (not whole or value == int(value))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if ok:
        st.session_state[key] = int(value) if whole else value
        return
    st.session_state[key] = FORM_DEFAULTS[key]
    st.session_state.setdefault("_url_warnings", []).append(
        tr("cfg.url_bad", name=key, value=str(raw)[:40], lo=f"{lo:g}", hi=f"{hi:g}",
           default=f"{FORM_DEFAULTS[key]:g}"))


def _num(key, label, lo, hi, step=None, fmt=None, help=None, hidden=()):
    if key in hidden:  # not drawn: Start validates the link's value and names the range
        return st.session_state.get(key, st.query_params.get(key, FORM_DEFAULTS[key]))
    _url_number(key, lo, hi)
    if key not in st.session_state:
        st.session_state[key] = FORM_DEFAULTS[key]
    value = st.number_input(label, min_value=lo, max_value=hi, step=step, format=fmt,
                            key=key, help=help)
    sync_url(key, FORM_DEFAULTS[key])
    return value


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
            st.error(error_text(exc))
            return None
    text = st.text_area(tr("cfg.paste"), key="paste", height=150,
                        placeholder=tr("cfg.paste.placeholder"))
    if not text.strip():
        return None
    try:
        return decode_user_text(text.encode("utf-8"), tr("cfg.paste.name"))
    except CorpusError as exc:
        st.error(error_text(exc))
        return None


def config_sidebar(page: str = "train"):
    """Draw the settings on `page`; returns the user's text (or None)."""
    hidden = _hidden()
    st.session_state["_form_moved"] = st.session_state.get("_form_page") not in (None, page)
    st.session_state["_form_page"] = page
    st.session_state.pop("_url_warnings", None)
    st.selectbox(tr("cfg.preset"), list(PRESETS), key="preset", index=None,
                 placeholder=tr("cfg.preset.placeholder"),
                 format_func=fmt("cfg.preset"),
                 on_change=lambda: apply_preset(st.session_state["preset"])
                 if st.session_state.get("preset") else None)

    st.subheader(tr("cfg.h.corpus"))
    url_choice("corpus_src", CORPORA, "timemachine", moved=st.session_state["_form_moved"])
    src = st.radio(tr("cfg.corpus"), CORPORA, key="corpus_src",
                   format_func=fmt("cfg.corpus"),
                   horizontal=True, label_visibility="collapsed")
    sync_url("corpus_src", "timemachine")
    text = None if src == "timemachine" else _user_text(src)
    url_choice("tokens", TOKENS, FORM_DEFAULTS["tokens"], moved=st.session_state["_form_moved"])
    if "tokens" not in hidden:
        st.radio(tr("cfg.tokens"), TOKENS, key="tokens",
                 format_func=fmt("cfg.tokens"), horizontal=True,
                 help=tr("cfg.tokens.help"))
        sync_url("tokens", FORM_DEFAULTS["tokens"])

    st.subheader(tr("cfg.h.model"))
    url_choice("model", MODELS, FORM_DEFAULTS["model"], moved=st.session_state["_form_moved"])
    if "model" not in hidden:
        st.selectbox(tr("cfg.model"), MODELS, key="model",
                     format_func=fmt("cfg.model"))
        sync_url("model", FORM_DEFAULTS["model"])
    _num("num_hiddens", "num_hiddens", 1, 4096, 32, help=tr("cfg.num_hiddens.help"),
         hidden=hidden)

    st.subheader(tr("cfg.h.training"))
    c1, c2 = st.columns(2)
    with c1:
        _num("batch_size", "batch_size", 1, 1024, 1, hidden=hidden)
        _num("lr", "lr", 1e-6, 1e6, None, "%g", help=tr("cfg.lr.help"), hidden=hidden)
    with c2:
        _num("num_steps", "num_steps", 1, 1000, 1, hidden=hidden)
        _num("num_epochs", "num_epochs", 1, 1_000_000, 10, hidden=hidden)
    _init("theta_on")
    if "theta" not in hidden:
        st.toggle(tr("cfg.clip"), key="theta_on", bind="query-params", help=tr("cfg.clip.help"))
    if st.session_state.get("theta_on", True):
        _num("theta", "theta (θ)", 1e-6, 1e9, None, "%g", hidden=hidden)
    url_choice("part", PARTS, "sequential", moved=st.session_state["_form_moved"])
    if "part" not in hidden:
        st.radio(tr("cfg.part"), PARTS, key="part",
                 format_func=fmt("cfg.part"), horizontal=True,
                 help=tr("cfg.part.help"))
        sync_url("part", "sequential")

    with st.expander(tr("cfg.h.more")):
        devices = available_devices()
        _init("device")
        if st.session_state.get("device") not in devices:
            st.session_state["device"] = "auto"
        st.selectbox(tr("cfg.device"), devices, key="device", help=tr("cfg.device.help"))
        _num("seed", "seed", 0, 2**31 - 1, 1, hidden=hidden)
        _num("max_tokens", "max_tokens", -1, 10_000_000, 1000, help=tr("cfg.max_tokens.help"),
             hidden=hidden)
        _init("activation")
        st.radio(tr("cfg.activation"), ["tanh", "relu"], key="activation", horizontal=True,
                 bind="query-params", help=tr("cfg.activation.help"))
        _init("detach")
        st.toggle(tr("cfg.detach"), key="detach", bind="query-params", help=tr("cfg.detach.help"))
        _init("prefix")
        st.text_input(tr("cfg.prefix"), key="prefix", max_chars=200)
        _init("lanes")
        bs = int(st.session_state.get("batch_size") or 1)
        lanes = [i for i in st.session_state.get("lanes", []) if i < bs] or [0]
        st.session_state["lanes"] = lanes
        st.multiselect(tr("cfg.lanes"), list(range(min(bs, 64))), key="lanes",
                       max_selections=16, help=tr("cfg.lanes.help"))
        _num("snapshot_every", "snapshot_every", 1, 1_000_000, 1,
             help=tr("cfg.snapshot_every.help"), hidden=hidden)
    for warning in st.session_state.get("_url_warnings", []):
        st.warning(warning)
    return text


def build_config(text) -> RunConfig:
    """Widgets -> a validated RunConfig (ConfigError / CorpusError on bad input)."""
    s = st.session_state
    src = s.get("corpus_src", "timemachine")

    def val(key):
        if key in s:
            return s[key]
        return st.query_params.get(key, FORM_DEFAULTS[key])

    if src != "timemachine" and not text:
        raise CorpusError(tr("cfg.err.no_text"))
    cfg = RunConfig.from_dict(dict(
        corpus="timemachine" if src == "timemachine" else "text", text=text,
        tokens=val("tokens"), max_tokens=val("max_tokens"), model=val("model"),
        num_hiddens=val("num_hiddens"), batch_size=val("batch_size"),
        num_steps=val("num_steps"), lr=val("lr"), num_epochs=val("num_epochs"),
        theta=val("theta") if str(val("theta_on")).lower() not in ("false", "0") else None,
        random_iter=val("part") == "random", device=val("device"), seed=val("seed"),
        prefix=val("prefix") or " ", activation=val("activation") if val("model") == "scratch"
        else "tanh", probe_lanes=tuple(val("lanes")) or (0,),
        snapshot_every=val("snapshot_every"),
        detach=str(val("detach")).lower() not in ("false", "0")))
    # fail here, in the page, rather than in the thread a second later
    corpus = load_corpus(cfg.corpus, cfg.tokens, cfg.max_tokens, cfg.text)
    check_length(corpus, cfg.batch_size, cfg.num_steps)
    return cfg


def start_run(text=None, preset: str | None = None):
    """Create a run from the widgets (after applying `preset`).

    Meant for on_click callbacks (they run before the widgets exist, so a
    preset can set them); errors go to session_state["_start_error"]."""
    if not can_control():
        st.session_state["_start_error"] = tr("app.key.needed")
        return None
    if preset:
        apply_preset(preset)
    try:
        cfg = build_config(text)
    except (ConfigError, CorpusError) as exc:
        st.session_state["_start_error"] = error_text(exc)
        return None
    st.session_state.pop("_start_error", None)
    run = get_registry().create(cfg)
    st.session_state["run"] = run.id
    return run


def start_side_by_side(text=None):
    """Lecture preset: the same settings with sequential and with random
    partitioning, started together and opened in the compare page."""
    if not can_control():
        st.session_state["_start_error"] = tr("app.key.needed")
        return
    try:
        cfg = build_config(text)
    except (ConfigError, CorpusError) as exc:
        st.session_state["_start_error"] = error_text(exc)
        return
    st.session_state.pop("_start_error", None)
    reg = get_registry()
    ids = []
    for random_iter in (False, True):
        d = cfg.to_dict()
        d.update(random_iter=random_iter, name="")
        ids.append(reg.create(RunConfig.from_dict(d)).id)
    st.session_state["run"] = ids[0]
    st.session_state["_goto_compare"] = ids
