"""The settings table (charrnn/settings.py): one row per setting, and every door
(the validator, the CLI, a link) accepts exactly the same values."""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charrnn import settings as table
from charrnn.config import ConfigError, RunConfig
from charrnn.settings import BY_NAME, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
NOT_SETTINGS = {"text", "name", "init_weights"}  # per run, not chosen in a form or a flag
SETTINGS_HYP = settings(max_examples=150, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])


def test_every_field_of_a_run_has_exactly_one_row():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert set(names) == {f.name for f in fields(RunConfig)} - NOT_SETTINGS
    assert RunConfig() == RunConfig(**{s.name: s.default for s in SETTINGS})


def test_flags_and_link_names_are_unique_and_never_shadow_another_setting():
    flags = [s.cli for s in SETTINGS if s.cli]
    links = [s.url for s in SETTINGS if s.url] + [s.switch for s in SETTINGS if s.switch]
    assert len(flags) == len(set(flags)) and len(links) == len(set(links))
    for s in SETTINGS:  # a link name that is another setting's d2l name would mislead
        assert s.url is None or s.url == s.name or s.url not in BY_NAME, s.url


def test_readme_settings_table_is_generated_from_the_table():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert table.README_START in readme and table.README_END in readme
    assert table.with_readme_table(readme) == readme, \
        "README's settings table is stale: run `python -m charrnn.settings`"


def test_a_stale_readme_table_is_noticed():
    readme = (ROOT / "README.md").read_text("utf-8")
    stale = readme.replace("| `num_hiddens` | `512` |", "| `num_hiddens` | `256` |")
    assert stale != readme and table.with_readme_table(stale) != stale


def test_cli_help_is_made_from_the_table(capsys):
    from charrnn.__main__ import main
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for s in SETTINGS:
        assert s.cli in out
        assert " ".join(s.allowed("en").split()) in out, s.name


# ------------------------------------------------------------ the three doors
class _Accepted(Exception):
    pass


def _validator_door(name, text) -> bool:
    extra = {"probe_lanes": [0]} if name == "batch_size" else {}
    try:
        RunConfig.from_dict({name: text, **extra})
        return True
    except ConfigError:
        return False


def _cli_door(name, text) -> bool:
    from charrnn import train
    from charrnn.__main__ import main

    def accepted(*a, **k):
        raise _Accepted
    with mock.patch.object(train, "Trainer", accepted), \
            mock.patch.object(sys, "stderr", new=mock.MagicMock()):
        try:
            code = main(["train", f"{BY_NAME[name].cli}={text}"])
        except SystemExit as exc:  # argparse refused it
            code = exc.code
        except _Accepted:
            return True
    assert code == 2, (name, text, code)
    return False


def _link_door(name, text) -> bool:
    from charrnn.ui.config_form import read_link_value
    value, problem = read_link_value(BY_NAME[name], text)
    return problem is None


DOORS = [s.name for s in SETTINGS if s.cli and s.url]


def _texts(s):
    near = []
    if s.low is not None:
        for x in (s.low, s.high):
            near += [x, x - 1, x + 1, x - 1e-9 * max(1, abs(x)), x + 0.5]
    junk = st.sampled_from(["", " ", "abc", "1e3", "1_000", " 12 ", "0x10", "nan", "inf", "-inf",
                            "1e400", "none", "None", "NONE", "off", "On", "true", "TRUE", "yes",
                            "y", "2", "-1", "٣", "12.5", "12.0", "<b>1</b>", "0,1", "0, 3",
                            "1,1", "", *s.choices, *(c.upper() for c in s.choices), *s.words,
                            "cuda:0", "cuda:x"])
    return st.one_of(junk, st.sampled_from(near or [0]).map(lambda x: f"{x:g}"),
                     st.sampled_from(near or [0]).map(repr),
                     st.integers(-10, 5000).map(str), st.floats().map(str),
                     st.text(max_size=6))


@pytest.mark.parametrize("name", DOORS)
def test_the_cli_a_link_and_the_validator_accept_the_same_values(name):
    s = BY_NAME[name]

    @SETTINGS_HYP
    @given(_texts(s))
    def check(text):
        if "\x00" in text:  # no such link or argument reaches us
            return
        doors = {"validator": _validator_door(name, text), "cli": _cli_door(name, text),
                 "link": _link_door(name, text)}
        assert len(set(doors.values())) == 1, (name, text, doors)
    check()


BOUNDARY = ["", " ", "abc", "1e3", "1_000", " 12 ", "nan", "inf", "1e400", "none", "off", "0",
            "-1", "1", "2", "12.5", "12.0", "1e-9", "1e-8", "1000000", "1000001", "4096", "4097",
            "1024", "1025", "2147483647", "2147483648", "true", "Yes", "ON", "y", "random",
            "sequential", "0,1", "0,40", "x" * 200, "x" * 201, "rnn", "RNN", "relu", "raw",
            "cuda:0", "cuda:x"]


@pytest.mark.parametrize("name", DOORS)
def test_boundary_values_are_accepted_alike_by_every_door(name):
    got = {text: (_validator_door(name, text), _cli_door(name, text), _link_door(name, text))
           for text in BOUNDARY}
    split = {text: doors for text, doors in got.items() if len(set(doors)) != 1}
    assert not split, f"{name}: (validator, cli, link) disagree on {split}"
    assert any(v[0] for v in got.values()) and not all(v[0] for v in got.values())



def test_a_value_reads_the_same_in_a_link_and_a_table_but_for_the_list_comma():
    """A link, README and the CLI write a setting as Setting.show does; the
    compare and sweep tables (export.format_setting) alike, lists with ", "."""
    from charrnn.export import format_setting
    lanes, part = BY_NAME["probe_lanes"], BY_NAME["random_iter"]
    assert lanes.show((0, 1, 2)) == "0,1,2" and format_setting((0, 1, 2)) == "0, 1, 2"
    assert (part.show(True), part.show(False)) == ("random", "sequential")
    assert (format_setting(True), format_setting(False)) == ("true", "false")
    assert BY_NAME["theta"].show(None) == format_setting(None) == "none"
    assert BY_NAME["lr"].show(1e-8) == format_setting(1e-8) == "1e-08"
    assert BY_NAME["num_hiddens"].show(512) == format_setting(512) == "512"
