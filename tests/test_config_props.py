"""Property-based tests (hypothesis) of RunConfig.from_dict, the one gate every
setting passes through (CLI, sidebar, URL, sweeps, run folders on disk).

1. Any dict of fuzzed values either becomes a config whose every numeric field
   lies in charrnn.config.LIMITS, or raises ConfigError: never another
   exception type (a TypeError or OverflowError would be a traceback in the
   UI or the CLI).
2. For a valid config, to_dict -> from_dict is the identity.
"""
from __future__ import annotations

import math
from dataclasses import fields

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charrnn.config import (ACTIVATIONS, DEVICES, LIMITS, MODELS, TOKENIZATIONS,
                            ConfigError, RunConfig)

FIELDS = [f.name for f in fields(RunConfig)]
INT_FIELDS = [n for n in LIMITS if n not in ("lr", "theta", "val_fraction")]
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------- values
numbers = st.one_of(
    st.integers(),                                   # any size: 10**400 too
    st.integers(min_value=-5, max_value=5000),       # near the limits
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-10, max_value=5000),
    st.sampled_from([0, -1, 1, 0.0, -0.0, 1e-9, 1e-8, 1e6, 1e6 + 1, 2**31 - 1, 2**31,
                     10**400, float("nan"), float("inf"), -float("inf")]),
)
numeric_strings = st.one_of(
    numbers.map(str),
    st.sampled_from(["", " ", "abc", "1e3", "1_000", " 12 ", "0x10", "nan", "inf", "-inf",
                     "1e400", "none", "None", "off", "true", "٣", "12abc", "<b>1</b>"]),
)
junk = st.one_of(
    st.none(), st.booleans(), st.binary(max_size=8), st.text(max_size=12),
    st.lists(st.integers(-3, 40), max_size=20), st.tuples(st.integers(0, 3)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.floats(allow_nan=True), max_size=3),
)
anything = st.one_of(numbers, numeric_strings, junk)


def value_for(name):
    """Mostly plausible values for this field, sometimes anything at all."""
    plausible = {
        "corpus": st.sampled_from(["timemachine", "fallback", "text", "", "/no/such/file"]),
        "text": st.one_of(st.none(), st.text(max_size=50)),
        "tokens": st.sampled_from(TOKENIZATIONS + ("D2L", "chars")),
        "model": st.sampled_from(MODELS + ("transformer",)),
        "device": st.sampled_from(DEVICES + ("cuda:0", "cuda:12", "cuda:", "cuda:x", "tpu")),
        "activation": st.sampled_from(ACTIVATIONS + ("sigmoid",)),
        "random_iter": st.one_of(st.booleans(), st.sampled_from(["true", "0", "yes", "maybe"])),
        "detach": st.one_of(st.booleans(), st.sampled_from(["false", "1", "nah"])),
        "prefix": st.text(max_size=30),
        "probe_lanes": st.one_of(st.lists(st.integers(-2, 40), max_size=20),
                                 st.lists(st.floats(allow_nan=True, allow_infinity=True),
                                          max_size=3)),
        "name": st.one_of(st.text(max_size=100), st.integers()),
        "init_weights": st.one_of(st.none(), st.just(""), st.text(max_size=20)),
        "theta": st.one_of(numbers, numeric_strings, st.none()),
    }
    strategy = plausible.get(name)
    if strategy is None and name in LIMITS:
        strategy = st.one_of(numbers, numeric_strings)
    return st.one_of(strategy, anything) if strategy is not None else anything


@st.composite
def fuzzed_dicts(draw):
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS)))
    d = {name: draw(value_for(name)) for name in names}
    if draw(st.integers(0, 9)) == 0:  # sometimes an unknown key, of any type
        d[draw(st.one_of(st.text(max_size=5), st.integers()))] = draw(anything)
    return d


@st.composite
def valid_dicts(draw):
    """Dicts that should validate: values drawn inside the limits."""
    d = {}
    for name, (low, high) in LIMITS.items():
        if not draw(st.booleans()):
            continue
        if name in INT_FIELDS:
            v = draw(st.integers(low, high))
            if name == "max_tokens" and v == 0:
                v = -1
        else:
            v = draw(st.floats(low, high, allow_nan=False, allow_infinity=False))
        d[name] = draw(st.sampled_from([v, str(v)])) if draw(st.booleans()) else v
    if draw(st.booleans()):
        d["theta"] = draw(st.sampled_from([None, 0, "none", "off", ""]))
    d["model"] = draw(st.sampled_from(MODELS))
    if d["model"] == "scratch":
        d["activation"] = draw(st.sampled_from(ACTIVATIONS))
    bs = int(d.get("batch_size", RunConfig.batch_size))
    d["probe_lanes"] = draw(st.lists(st.integers(0, min(bs - 1, 40)), min_size=1, max_size=16))
    d["prefix"] = draw(st.text(min_size=1, max_size=50))
    d["name"] = draw(st.text(max_size=100))
    if draw(st.booleans()):
        d["corpus"], d["text"] = "text", draw(st.text(min_size=1, max_size=50))
    return d


# ----------------------------------------------------------------- checks
def assert_in_limits(cfg: RunConfig):
    for name, (low, high) in LIMITS.items():
        value = getattr(cfg, name)
        if name == "theta" and value is None:
            continue
        assert isinstance(value, float if name in ("lr", "theta", "val_fraction") else int), \
            (name, value)
        assert not isinstance(value, bool), (name, value)
        assert math.isfinite(value) and low <= value <= high, (name, value)
    assert cfg.max_tokens != 0
    assert cfg.theta is None or cfg.theta > 0
    assert cfg.tokens in TOKENIZATIONS and cfg.model in MODELS
    assert cfg.activation in ACTIVATIONS
    assert isinstance(cfg.random_iter, bool)
    assert cfg.probe_lanes and all(0 <= i < cfg.batch_size for i in cfg.probe_lanes)
    assert isinstance(cfg.prefix, str) and 1 <= len(cfg.prefix) <= 1000
    assert cfg.text is None or isinstance(cfg.text, str)
    assert isinstance(cfg.name, str) and len(cfg.name) <= 80


@SETTINGS
@given(fuzzed_dicts())
def test_from_dict_validates_or_raises_config_error_only(d):
    try:
        cfg = RunConfig.from_dict(d)
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and len(msg) < 300, msg
        return
    assert_in_limits(cfg)


@SETTINGS
@given(st.sampled_from(sorted(LIMITS)), anything)
def test_one_bad_numeric_setting_names_itself(name, value):
    extra = {"probe_lanes": [0]} if name == "batch_size" else {}
    try:
        cfg = RunConfig.from_dict({name: value, **extra})
    except ConfigError as exc:
        assert str(exc).startswith(f"{name} must"), str(exc)
        return
    assert_in_limits(cfg)


@SETTINGS
@given(valid_dicts())
def test_valid_settings_validate_and_round_trip(d):
    cfg = RunConfig.from_dict(d)
    assert_in_limits(cfg)
    again = RunConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()
    assert RunConfig.from_dict(again.to_dict()) == again  # a fixed point


@SETTINGS
@given(fuzzed_dicts())
def test_round_trip_of_whatever_validated(d):
    try:
        cfg = RunConfig.from_dict(d)
    except ConfigError:
        return
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
