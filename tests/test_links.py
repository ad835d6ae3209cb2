"""Links read strictly: every setting's value in a link goes through the
settings table's reader; what cannot be used is replaced by the default and
said so in the main area (presentation mode too), in the reader's language,
and a link keeps every value it set so that, shared, it reproduces the view."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charrnn.i18n import t
from charrnn.settings import BY_NAME

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "tests" / "ui_entry" / "app.py")
SMALL = {"num_hiddens": "32", "batch_size": "4", "num_steps": "8", "max_tokens": "3000",
         "num_epochs": "1"}


def app(query=None, page=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(f"../../pages/{page}.py")
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def main_warnings(at) -> str:
    return " | ".join(w.value for w in at.main.warning)


def toasts(at) -> str:
    return " | ".join(x.value for x in at.toast)


def allowed(name, lang="en") -> str:
    return BY_NAME[name].allowed(lang)


# ----------------------------------------------------------------- yes / no
@pytest.mark.parametrize("word", ["1", "yes", "YES", "true", "True", "on", "On"])
def test_every_yes_word_turns_clipping_on(registry, word):
    at = app({"theta_on": word, "theta": "2.5"})
    assert at.toggle(key="theta_on").value is True
    assert at.number_input(key="theta").value == 2.5
    assert not main_warnings(at)


@pytest.mark.parametrize("word", ["0", "no", "false", "FALSE", "off", "Off"])
def test_every_no_word_turns_clipping_off(registry, word):
    at = app({"theta_on": word, **SMALL})
    assert at.toggle(key="theta_on").value is False
    assert not main_warnings(at)
    at.button(key="start").click().run()
    assert registry.list()[0].config.theta is None


@pytest.mark.parametrize("word", ["maybe", "ja", "2", "", "y"])
def test_a_word_that_is_neither_is_reported_and_the_default_used(registry, word):
    at = app({"theta_on": word})
    assert at.toggle(key="theta_on").value is True  # d2l's default: clipping on
    said = main_warnings(at)
    assert f"theta_on={word}" in said and allowed("theta").split(";")[0] not in said
    assert t("set.allowed.bool", "en") in said
    assert t("set.allowed.bool", "en") in toasts(at)


def test_yes_no_settings_are_read_alike(registry):
    at = app({"detach": "no", "present": "yes"})
    assert at.toggle(key="detach").value is False and at.toggle(key="present").value is True
    at = app({"detach": "nope", "present": "maybe"})
    assert at.toggle(key="detach").value is True and at.toggle(key="present").value is False
    said = main_warnings(at)
    assert "detach=nope" in said and "present=maybe" in said


# ------------------------------------------------------------------ numbers
def test_a_fraction_for_a_whole_number_is_refused_not_truncated(registry):
    at = app({"num_hiddens": "12.5"})
    assert at.number_input(key="num_hiddens").value == 512
    said = main_warnings(at)
    assert "num_hiddens=12.5" in said and "a whole number between 1 and 4096" in said
    assert "512" in said


@pytest.mark.parametrize("name, raw", [("lr", "1e-9"), ("lr", "2e6"), ("theta", "-1"),
                                       ("batch_size", "0"), ("max_tokens", "0"),
                                       ("seed", "1e3")])
def test_numbers_outside_the_tables_range_are_reported(registry, name, raw):
    at = app({name: raw})
    assert at.number_input(key=name).value == BY_NAME[name].default
    assert f"{name}={raw}" in main_warnings(at) and allowed(name) in main_warnings(at)


def test_the_form_offers_exactly_the_tables_range(registry):
    at = app()
    boxes = {w.key: w for w in at.number_input}
    for key in ("num_hiddens", "batch_size", "num_steps", "lr", "num_epochs", "theta",
                "seed", "max_tokens", "snapshot_every"):
        s = BY_NAME[key]
        assert (boxes[key].min, boxes[key].max) == (s.low, s.high), key


# ------------------------------------------------------------------ choices
@pytest.mark.parametrize("name, raw, key, kind", [
    ("model", "transformer", "model", "selectbox"), ("model", "GRU", "model", "selectbox"),
    ("activation", "sigmoid", "activation", "radio"), ("tokens", "chars", "tokens", "radio"),
    ("random_iter", "randomly", "part", "radio")])
def test_an_unknown_choice_is_reported_with_the_names_allowed(registry, name, raw, key, kind):
    at = app({key: raw})
    widget = getattr(at, kind)(key=key)
    s = BY_NAME[name]
    assert widget.value == (s.words[0] if s.words else s.default)
    said = main_warnings(at)
    assert f"{key}={raw}" in said and allowed(name) in said


def test_an_unknown_language_or_run_is_reported(registry):
    at = app({"lang": "fr", "run": "no-such-run"})
    said = main_warnings(at)
    assert "lang=fr" in said and "en, zh" in said
    assert "run=no-such-run" in said


def test_an_unknown_run_is_reported_beside_the_runs_there_are(registry):
    from charrnn.config import RunConfig
    run = registry.create(RunConfig(num_hiddens=8, batch_size=2, num_steps=4, max_tokens=500,
                                    num_epochs=1, probe_lanes=(0,)).validate())
    at = app({"run": "20990101-000000-zzzz"}, page="gradients")
    assert "run=20990101-000000-zzzz" in main_warnings(at)
    assert at.selectbox(key="run").value == run.id


def test_lanes_outside_the_batch_and_devices_this_machine_lacks_are_reported(registry):
    at = app({"probe_lanes": "0,40", "device": "cuda:9"})
    said = main_warnings(at)
    assert "probe_lanes=0,40" in said and "device=cuda:9" in said
    assert at.multiselect(key="probe_lanes").value == [0, 1, 2, 3]
    assert at.selectbox(key="device").value == "auto"


def test_hide_names_that_are_no_setting_are_reported(registry):
    at = app({"hide": "lr,learning_rate"})
    said = main_warnings(at)
    assert "learning_rate" in said and "num_hiddens" in said  # the names it understands
    assert all(w.key != "lr" for w in at.number_input)


def test_hide_accepts_d2l_names_too(registry):
    at = app({"hide": "random_iter,theta_on"})
    assert all(w.key != "part" for w in at.radio)
    assert all(w.key not in ("theta_on", "theta") for w in [*at.toggle, *at.number_input])
    assert not main_warnings(at)


# ------------------------------------------------- where and how long it shows
def test_the_warning_is_in_the_main_area_in_presentation_mode(registry):
    at = app({"present": "1", "num_hiddens": "abc"})
    assert at.toggle(key="present").value is True
    assert "num_hiddens=abc" in main_warnings(at)
    assert "num_hiddens=abc" in toasts(at)


def test_the_warning_is_in_the_readers_language(registry):
    at = app({"lang": "zh", "num_hiddens": "12.5"})
    said = main_warnings(at)
    assert "num_hiddens=12.5" in said and allowed("num_hiddens", "zh") in said
    assert "链接" in said


def test_the_warning_stays_while_its_cause_does_and_goes_when_the_value_is_changed(registry):
    at = app({"num_hiddens": "12.5"})
    assert "num_hiddens=12.5" in main_warnings(at)
    at.run()  # any rerun: the default is still in place of the link's value
    assert "num_hiddens=12.5" in main_warnings(at)
    at.number_input(key="num_hiddens").set_value(64).run()
    assert "num_hiddens" not in main_warnings(at)


# ---------------------------------------------------------- the link itself
def test_a_link_keeps_every_value_it_set_even_the_defaults(registry):
    query = {"theta_on": "false", "detach": "false", "part": "sequential", "num_hiddens": "512",
             "model": "scratch", "lr": "1"}
    at = app(query)
    at.run()
    for key in query:
        assert key in at.query_params, key
    assert at.query_params["theta_on"] == "false" and at.query_params["detach"] == "false"


def test_a_widget_change_is_written_into_the_link(registry):
    at = app()
    at.toggle(key="theta_on").set_value(False).run()
    at.toggle(key="detach").set_value(False).run()
    at.number_input(key="num_hiddens").set_value(64).run()
    assert (at.query_params["theta_on"], at.query_params["detach"],
            at.query_params["num_hiddens"]) == ("false", "false", "64")
    again = app(dict(at.query_params))  # the link, opened elsewhere, shows the same
    assert again.toggle(key="theta_on").value is False
    assert again.toggle(key="detach").value is False
    assert again.number_input(key="num_hiddens").value == 64


def test_runs_to_compare_that_are_not_there_are_reported(registry):
    from charrnn.config import RunConfig
    run = registry.create(RunConfig(num_hiddens=8, batch_size=2, num_steps=4, max_tokens=500,
                                    num_epochs=1, probe_lanes=(0,)).validate())
    at = app({"runs": f"{run.id},20990101-000000-zzzz"}, page="compare")
    assert "runs=20990101-000000-zzzz" in main_warnings(at)
    assert run.id not in main_warnings(at)


def test_start_refuses_a_hidden_bad_value_in_the_readers_language(registry):
    at = app({"lang": "zh", "hide": "num_hiddens", "num_hiddens": "0"})
    assert "num_hiddens=0" in main_warnings(at)  # said before Start is pressed
    at.button(key="start").click().run()
    said = " ".join(e.value for e in at.error)
    assert registry.list() == []
    assert "num_hiddens 必须在 1 到 4096 之间" in said, said
