"""Every sentence the engine can end a run with, or refuse a setting, a corpus
or a file with, exists in English and in Chinese, and says its numbers."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from charrnn.i18n import STRINGS, t

ROOT = Path(__file__).resolve().parents[1]

# Each way a run can end with a reason, with the fields the engine gives it
# (charrnn/train.py divergence and diverged_event, charrnn/runs.py _set_end
# and _interrupted). Written out on purpose: a new one must be added here.
END_REASONS = {
    "diverge.loss_nan": {"step": 7, "epoch": 1, "value": float("nan")},
    "diverge.grad_nan": {"step": 7, "epoch": 1, "value": float("inf")},
    "diverge.loss_high": {"step": 7, "epoch": 1, "value": 1e8, "factor": 10.0,
                          "limit": 33.3, "uniform": 3.33, "n": 5},
    "diverge.ppl_inf": {"step": 7, "epoch": 1},
    "stop.at_step": {"step": 7},
    "stop.queued": {},
    "stop.server": {"step": 7, "epoch": 1, "at": "10:11:12"},
    "stop.worker": {"step": 7, "epoch": 1, "at": "10:11:12", "code": -9},
}


def keys_in_source(pattern: str) -> set[str]:
    found = set()
    for path in (ROOT / "charrnn").rglob("*.py"):
        found |= set(re.findall(pattern, path.read_text("utf-8")))
    return found


@pytest.mark.parametrize("key", sorted(END_REASONS))
def test_every_end_reason_has_its_sentence_in_both_languages(key):
    fields = END_REASONS[key]
    en, zh = t(key, "en", **fields), t(key, "zh", **fields)
    assert key in STRINGS["en"] and key in STRINGS["zh"]
    assert en != zh and "{" not in en + zh
    for name in ("step", "code"):
        if name in fields:
            assert str(fields[name]) in en and str(fields[name]) in zh


def test_the_list_of_end_reasons_is_every_one_the_engine_gives():
    divergence_kinds = keys_in_source(r'return "(\w+)", \{"value"') | {"ppl_inf"}
    ended = keys_in_source(r'_set_end\("\w+", "([\w.]+)"') | keys_in_source(
        r'_interrupted\("([\w.]+)"') | {f"diverge.{k}" for k in divergence_kinds}
    assert ended == set(END_REASONS)


def test_every_refusal_of_the_engine_is_in_both_languages():
    keys = keys_in_source(r'(?:_refuse|_err|\.of)\("([\w.]+)"')
    assert len(keys) > 30
    missing = sorted(k for k in keys if k not in STRINGS["en"] or k not in STRINGS["zh"])
    assert missing == []
    same = sorted(k for k in keys if STRINGS["en"][k] == STRINGS["zh"][k])
    assert same == []


def test_a_settings_error_is_said_in_the_readers_language():
    from charrnn.config import ConfigError, RunConfig
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"num_hiddens": 0})
    reason = err.value.i18n_reason
    assert str(err.value) == "num_hiddens must be between 1 and 4096, not 0"
    assert t(reason["key"], "zh", **reason) == "num_hiddens 必须在 1 到 4096 之间，而不是 0"
