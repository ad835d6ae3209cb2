"""Hardening (issue 7): bad input, faults, load and trust, without a browser.

Every item of the issue that AppTest, the engine or the CLI can show has a
test here; what only a browser shows is in tests/browser/test_hardening_browser.py
and the load figures come from tests/load/watchers.py.

Tests marked xfail(strict=True) document a bug found while hardening (the
reason names the file and the fix); they turn red once the bug is fixed, so
the mark can be removed then.
"""
from __future__ import annotations

import functools
import json
import math
import pickle
import random
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from charrnn import checkpoint, data, store
from charrnn.config import LIMITS, ConfigError, RunConfig
from charrnn.data import MAX_CORPUS_BYTES, CorpusError
from charrnn.runs import Registry
from charrnn.ui.core import reset_registry
from tests import helpers
from tests.charts import array, figures
from tests.helpers import blocked_at, finish, wait_for

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "tests" / "ui_entry" / "app.py")
PAGES = ("train", "hidden_state", "gradients", "generate", "unrolled", "compare", "sweep")


# ----------------------------------------------------------------- helpers
small = functools.partial(helpers.small, num_hiddens=16, num_epochs=2, snapshot_every=3)


@pytest.fixture
def root(tmp_path, monkeypatch):
    """The runs folder the app's registry will use (prepare it before `registry`)."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("CHARRNN_RUNS_DIR", str(path))
    monkeypatch.delenv("CHARRNN_PRESENTER_KEY", raising=False)
    monkeypatch.delenv("CHARRNN_MAX_ACTIVE", raising=False)
    return path


@pytest.fixture
def registry(root):
    """The app's server-wide registry (a module singleton) in a temporary folder."""
    reset_registry()
    from charrnn.ui.core import get_registry
    reg = get_registry()
    yield reg
    reg.stop_all()
    reset_registry()


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "plain-runs", max_active=1)
    yield r
    r.stop_all()


def app(page=None, query=None) -> AppTest:
    """A deep link: the page (default: train) with the query string, one script run."""
    at = AppTest.from_file(APP, default_timeout=60)
    if page and page != "train":
        at.switch_page(f"../../pages/{page}.py")
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [i.value for i in at.info] + [e.value for e in at.error]
                    + [w.value for w in at.warning] + [t.value for t in at.title]
                    + [s.value for s in at.subheader])


def errors(at) -> str:
    return " | ".join(e.value for e in at.error)


def html_of(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def control_buttons(at):
    """Buttons that start, stop, pause, step, delete or queue runs."""
    keys = ("start", "side_by_side", "go_", "pause_", "resume_", "step_", "stop_", "delete_",
            "sw_queue", "continue_", "resumeck_", "restart_", "yes_", "lec_")
    return [b for b in at.button if b.key and b.key.startswith(keys)]


def unique_text(n, alphabet="abcdefgh ", seed=0) -> str:
    return "".join(random.Random(seed).choices(alphabet, k=n))


# =================================================================== corpora
BAD_BYTES = {
    "empty": (b"", "empty"),
    "whitespace": (b"  \n\t \r\n   " * 50, "empty"),
    "nul": (b"some text\x00more text " * 100, "looks binary"),
    "not_utf8": ("caf\u00e9 cr\u00e8me ".encode("latin-1") * 200, "not UTF-8"),
    "too_large": (b"ab " * (MAX_CORPUS_BYTES // 3 + 1), "too large"),
}


@pytest.mark.parametrize("case", sorted(BAD_BYTES))
def test_bad_corpus_bytes_are_refused_with_a_sentence(case):
    payload, message = BAD_BYTES[case]
    with pytest.raises(CorpusError, match=message) as info:
        data.decode_user_text(payload, "notes.txt")
    assert "notes.txt" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_BYTES))
def test_bad_corpus_file_in_the_cli_is_one_line(case, tmp_path, capsys):
    from charrnn.__main__ import main
    f = tmp_path / "notes.txt"
    f.write_bytes(BAD_BYTES[case][0])
    code = main(["train", "--corpus", str(f), "--num-epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and BAD_BYTES[case][1] in err[0], err


@pytest.mark.parametrize("case", ["empty", "whitespace", "nul", "not_utf8", "too_large"])
def test_bad_upload_shows_a_message_and_starts_nothing(registry, case):
    payload, message = BAD_BYTES[case]
    at = app()
    at.radio(key="corpus_src").set_value("upload").run()
    at.get("file_uploader")[0].upload("notes.txt", payload).run()
    assert not at.exception
    if payload:  # an empty file: Streamlit's uploader itself may show nothing yet
        assert message in errors(at), errors(at)
    at.button(key="start").click().run()
    assert not at.exception and registry.list() == []
    assert errors(at)


def test_a_single_repeated_character_is_refused():
    with pytest.raises(CorpusError, match="only one distinct character"):
        data.build_corpus("a" * 5000, "raw", -1, "aaaa")
    with pytest.raises(CorpusError, match="only one distinct character.*choose raw tokens"):
        data.build_corpus("aaaa\n" * 1000, "d2l", -1, "aaaa")
    # max_tokens cuts the corpus: the rule is about what is trained on
    with pytest.raises(CorpusError, match="only one distinct character"):
        data.build_corpus("a" * 5000 + "bcd", "raw", 3000, "mostly a")
    assert len(data.build_corpus("ab" * 2000, "raw", -1, "ab").vocab) == 3


def test_a_single_repeated_character_in_the_ui_names_the_problem(registry):
    at = app()
    at.radio(key="corpus_src").set_value("paste").run()
    at.text_area(key="paste").input("z" * 5000).run()
    at.radio(key="tokens").set_value("raw").run()
    at.button(key="start").click().run()
    assert not at.exception and registry.list() == []
    assert "only one distinct character" in errors(at)


def test_shorter_than_one_minibatch_is_refused_everywhere(reg, tmp_path, capsys):
    c = data.build_corpus("short text, ", "raw", -1, "x")
    with pytest.raises(CorpusError, match="too short for one minibatch"):
        data.check_length(c, 4, 8)
    run = finish(reg.create(small(corpus="text", text="short text, ", tokens="raw")))
    assert run.status == "failed" and "too short for one minibatch" in run.message
    from charrnn.__main__ import main
    f = tmp_path / "short.txt"
    f.write_text("short text, " * 3, "utf-8")
    assert main(["train", "--corpus", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needed" in err[0]


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    f = tmp_path / "big.txt"
    f.write_bytes(b"ab " * (MAX_CORPUS_BYTES // 3 + 1))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a too-large file"))
    with pytest.raises(CorpusError, match="too large.*the limit is 5 MB"):
        data.load_corpus(str(f), "raw", -1)


# --- one enormous line: 2 MB without a newline, under the 5 MB limit
BIG_LINE = unique_text(2_000_000, "abcdefghij <>&", seed=1)


def test_an_enormous_line_is_a_usable_corpus():
    assert "\n" not in BIG_LINE and len(BIG_LINE.encode()) < MAX_CORPUS_BYTES
    t0 = time.perf_counter()
    text = data.decode_user_text(BIG_LINE.encode("utf-8"), "one line")
    c = data.build_corpus(text, "raw", -1, "one line")
    assert c.num_tokens == 2_000_000 and len(c.vocab) == 15
    d = data.build_corpus(text, "d2l", -1, "one line")  # one line, letters and spaces
    assert set(d.vocab.idx_to_token[1:]) <= set("abcdefghij ")
    assert time.perf_counter() - t0 < 30


def test_an_enormous_line_trains_and_every_page_stays_bounded(registry):
    # all 2 M tokens in few, large minibatches: one epoch of 10 steps
    run = finish(registry.create(RunConfig(
        corpus="text", text=BIG_LINE, tokens="raw", max_tokens=-1, num_hiddens=8,
        batch_size=1000, num_steps=199, num_epochs=1, snapshot_every=5,
        prefix="abc <b>").validate()), 120)
    assert run.status == "finished", run.message
    assert run.info["num_tokens"] == 2_000_000
    other = finish(registry.create(small()))
    for page in ("train", "hidden_state", "compare"):
        at = app(page, query={"run": run.id, "runs": f"{run.id},{other.id}"})
        if page != "compare":
            assert at.selectbox(key="run").value == run.id
        body = html_of(at)
        assert len(body) < 200_000, f"{page}: {len(body):,} characters of HTML"
        for spec in figures(at):
            assert len(json.dumps(spec)) < 2_000_000, f"{page}: a chart of >2 MB"
        assert BIG_LINE[:2000] not in body and "abc <b>" not in body
        for df in at.dataframe:  # compare: the text is summarised by its length
            assert BIG_LINE[:100] not in df.value.to_string()
    assert other.status == "finished"


# --- Chinese and mixed scripts
HANZI = "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。\n"


def test_chinese_trains_with_raw_tokens_and_d2l_says_choose_raw(reg):
    with pytest.raises(CorpusError, match="choose raw tokens"):
        data.build_corpus(HANZI * 40, "d2l", -1, "千字文")
    run = finish(reg.create(small(corpus="text", text=HANZI * 40, tokens="raw",
                                  prefix="天地")))
    assert run.status == "finished", run.message
    assert "宇" in run.idx_to_token and run.log.sample_list()[-1]["prefix"] == "天地"
    mixed = "The RNN 读 text: привет, мир! مرحبا 🙂 naïve café\n" * 60
    run = finish(reg.create(small(corpus="text", text=mixed, tokens="raw", prefix="The")))
    assert run.status == "finished" and "🙂" in run.idx_to_token and "и" in run.idx_to_token
    d2l = data.build_corpus(mixed, "d2l", -1, "mixed")  # the Latin letters survive
    assert set(d2l.vocab.idx_to_token[1:]) <= set("abcdefghijklmnopqrstuvwxyz ")


def test_chinese_paste_in_the_ui_d2l_refused_raw_starts(registry):
    at = app(query={"num_hiddens": "16", "batch_size": "4", "num_steps": "8"})
    at.radio(key="corpus_src").set_value("paste").run()
    at.text_area(key="paste").input(HANZI * 40).run()
    at.button(key="start").click().run()
    assert not at.exception and registry.list() == []
    assert "choose raw tokens" in errors(at)
    at.radio(key="tokens").set_value("raw").run()
    at.button(key="start").click().run()
    runs = registry.list()
    assert len(runs) == 1 and runs[0].config.tokens == "raw"
    runs[0].stop()


# --- HTML and script tags in the text: shown as text on every page
TAGS = ('<script>alert("x")</script> <img src=x onerror=alert(1)> <b>bold</b> '
        '<a href="javascript:alert(2)">link</a> <style>*{display:none}</style> &amp; ') * 40


def test_html_in_the_corpus_is_shown_as_text_on_every_page(registry):
    run = finish(registry.create(small(corpus="text", text=TAGS, tokens="raw",
                                       prefix="<script>", num_epochs=3)))
    assert run.status == "finished", run.message
    other = finish(registry.create(small(corpus="text", text=TAGS[::-1], tokens="raw",
                                         prefix="<b>")))
    seen = {}
    for page in ("train", "hidden_state", "generate", "compare"):
        at = app(page, query={"run": run.id, "runs": f"{run.id},{other.id}"})
        body = html_of(at)
        seen[page] = body
        for raw in ("<script", "<img", "<a href", "<b>bold", "<style>*{display", "onerror="):
            assert raw not in body, f"{page} shows raw {raw!r}"
        for spec in figures(at):
            dumped = json.dumps(spec)
            assert "<script" not in dumped and "<img" not in dumped, page
    # the text is there, escaped: samples, the unit's text, generated text, compare
    assert "&lt;script&gt;" in seen["train"]
    assert "&lt;" in seen["hidden_state"] and "h[" in seen["hidden_state"]
    assert "&lt;script&gt;" in seen["generate"]
    assert "&lt;script&gt;" in seen["compare"] and "&lt;b&gt;" in seen["compare"]
    assert "<b>" in seen["compare"]  # the page's own markup still works


def test_quotes_on_chart_axes_are_shown_as_quotes():
    from charrnn import figures as F
    chars = ['"', "'", "<", "&", "a", "b"]
    fig = F.hidden_heatmap_figure(np.zeros((6, 4), np.float16), chars, lane=0, step=1)
    ticks = json.dumps(fig.to_plotly_json()["layout"])
    assert "&lt;" in ticks  # '<' must stay escaped for Plotly
    assert "&quot;" not in ticks and "&#x27;" not in ticks


def test_html_in_a_pasted_corpus_error_is_plain_text(registry):
    at = app()
    at.radio(key="corpus_src").set_value("paste").run()
    at.text_area(key="paste").input("<script>alert(1)</script>").run()
    at.button(key="start").click().run()
    assert not at.exception and registry.list() == []
    assert errors(at)  # too short: a sentence; st.error is markdown, never raw HTML
    assert not any("<script>" in h.proto.body for h in at.get("html"))


# ======================================================== numeric settings
NUMERIC = sorted(LIMITS)
INTS = [n for n in NUMERIC if n not in ("lr", "theta")]
HUGE = 10 ** 400
BAD_VALUES = [0, -5, -1e-300, float("nan"), float("inf"), -float("inf"), HUGE, -HUGE, 1e300,
              2 ** 63, "abc", "", "12abc", "1e3", [1], {"a": 1}, None, True, b"\xff", 1.5]


def _valid(name, value) -> bool:
    """Is `value` acceptable for `name` (an oracle written from the issue's rules)?"""
    if name == "theta" and (value is None or value in ("",) or (
            isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)):
        return True  # no clipping
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict, bytes)):
        return False
    try:
        if name in INTS:
            if isinstance(value, float):
                if not math.isfinite(value) or value != int(value):
                    return False
            x = int(value) if not isinstance(value, str) else int(value.strip())
        else:
            x = float(value)
    except (ValueError, OverflowError):
        return False
    if isinstance(x, float) and not math.isfinite(x):
        return False
    low, high = LIMITS[name]
    return low <= x <= high and not (name == "max_tokens" and x == 0)


def _range(name) -> str:
    low, high = LIMITS[name]
    return f"between {low:g} and {high:g}"


@pytest.mark.parametrize("name", NUMERIC)
def test_every_numeric_setting_rejects_bad_values_naming_the_range(name):
    for value in BAD_VALUES:
        extra = {"probe_lanes": (0,)} if name == "batch_size" else {}
        if _valid(name, value):
            cfg = RunConfig.from_dict({name: value, **extra})
            got = getattr(cfg, name)
            if got is not None:
                low, high = LIMITS[name]
                assert low <= got <= high
            continue
        with pytest.raises(ConfigError) as info:
            RunConfig.from_dict({name: value, **extra})
        msg = str(info.value)
        assert msg.startswith(f"{name} must") and "\n" not in msg and len(msg) < 200, msg
        if name == "max_tokens" and value == 0:
            assert "at least 1" in msg
        else:
            assert _range(name) in msg, f"{name}={value!r}: {msg}"


def test_fixed_validation_bugs():
    """Each of these raised something other than ConfigError before (config.py)."""
    for bad in ({"lr": HUGE}, {"theta": HUGE}, {"num_hiddens": HUGE}, {"seed": -HUGE},
                {"probe_lanes": [float("inf")]}, {"probe_lanes": ["x"]}, {1: 2, "a": 3},
                {"corpus": "text", "text": 5}, {"device": "cuda:x"}, {"probe_lanes": 3}):
        with pytest.raises(ConfigError):
            RunConfig.from_dict(bad)
    with pytest.raises(ConfigError, match="whole number"):
        RunConfig.from_dict({"probe_lanes": [0.5]})  # was silently lane 0
    with pytest.raises(ConfigError, match="about 401 digits"):
        RunConfig.from_dict({"num_hiddens": HUGE})
    # a value is echoed in the message, shortened: a URL can carry megabytes
    for bad in ({"random_iter": 10 ** 5000}, {"random_iter": "x" * 100_000},
                {"tokens": "<b>" * 100_000}, {"device": "cuda" * 10_000},
                {"x" * 100_000: 1}, {**{f"k{i}": i for i in range(100)}}):
        with pytest.raises(ConfigError) as info:
            RunConfig.from_dict(bad)
        assert len(str(info.value)) < 300, str(info.value)[:500]


CLI_FLAGS = {"max_tokens": "--max-tokens", "num_hiddens": "--num-hiddens",
             "batch_size": "--batch-size", "num_steps": "--num-steps", "lr": "--lr",
             "num_epochs": "--num-epochs", "theta": "--theta", "seed": "--seed"}
CLI_VALUES = ["0", "-5", "nan", "inf", "-inf", "1e400", "1" + "0" * 400, "abc", "2.5", ""]


def _cli(argv, capsys, monkeypatch):
    from charrnn import train
    from charrnn.__main__ import main

    def no_training(*a, **k):
        raise AssertionError(f"{argv} was accepted and would train")
    monkeypatch.setattr(train, "Trainer", no_training)
    try:
        code = main(["train", *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


def _cli_cases():
    for name, flag in CLI_FLAGS.items():
        for value in CLI_VALUES:
            parsed = value
            if name in INTS:
                try:
                    parsed = int(value)
                except ValueError:
                    continue  # argparse refuses it: see the next test
            elif name == "lr":
                try:
                    parsed = float(value)
                except ValueError:
                    continue
            if not _valid(name, parsed):
                yield name, flag, value


@pytest.mark.parametrize("name, flag, value", list(_cli_cases()))
def test_cli_bad_number_is_one_line_naming_the_range(name, flag, value, capsys, monkeypatch):
    code, err = _cli([f"{flag}={value}"], capsys, monkeypatch)  # = : "-5" is no option
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert name in lines[0], lines
    assert _range(name) in lines[0] or (name == "max_tokens" and "at least 1" in lines[0]), \
        lines


@pytest.mark.parametrize("flag", ["--num-hiddens", "--batch-size", "--lr", "--seed"])
def test_cli_wrong_type_is_one_line(flag, capsys, monkeypatch):
    code, err = _cli([flag, "abc"], capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and flag in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("flag, name", [("--num-hiddens", "num_hiddens"), ("--lr", "lr")])
def test_cli_wrong_type_names_the_range(flag, name, capsys, monkeypatch):
    code, err = _cli([flag, "abc"], capsys, monkeypatch)
    assert code == 2 and _range(name) in err


def test_cli_huge_and_nan_in_a_real_process():
    """The real entry point: exit code 2, one stderr line, no traceback."""
    import subprocess
    for args, words in ((["--num-hiddens", "9" * 400], "num_hiddens must be between 1 and "
                         "4096"),):
        r = subprocess.run([sys.executable, "-m", "charrnn", "train", *args],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr[-2000:]


URL_BOUND = ["num_hiddens", "batch_size", "num_steps", "lr", "num_epochs", "theta", "seed",
             "max_tokens", "snapshot_every"]
URL_INTS = [n for n in URL_BOUND if n in INTS]


def _in_limits(cfg: RunConfig):
    for name, (low, high) in LIMITS.items():
        value = getattr(cfg, name)
        assert value is None or low <= value <= high, (name, value)


@pytest.mark.parametrize("value", ["-5", "nan", "abc", "99999999999999999999", "<script>"])
def test_bad_numbers_in_the_url_never_reach_a_run(registry, value):
    """Each bad value is named in a warning and replaced by its default: Start
    trains the defaults, never the value nor a clamped one."""
    at = app(query={name: value for name in URL_BOUND})
    warned = " ".join(w.value for w in at.warning)
    assert [n for n in URL_BOUND if f"{n}={value}" not in warned] == [], warned
    at.button(key="start").click().run()
    assert not at.exception
    runs = registry.list()
    assert len(runs) == 1, errors(at)
    runs[0].stop()
    _in_limits(runs[0].config)
    default = RunConfig()
    assert {n: getattr(runs[0].config, n) for n in URL_BOUND} == \
        {n: getattr(default, n) for n in URL_BOUND}


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400"])
def test_infinite_numbers_in_the_url_do_not_crash_the_page(registry, value):
    for name in URL_INTS:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params[name] = value
        at.run()
        assert not at.exception, f"?{name}={value}"


HIDDEN_BAD = ["0", "-5", "nan", "inf", "1e400", "abc", "<b>x</b>"]


@pytest.mark.parametrize("name", URL_BOUND)
def test_bad_numbers_for_hidden_controls_are_refused_with_the_range(registry, name):
    """?hide=... keeps a setting out of the sidebar: the URL value itself is used,
    so Start must refuse a bad one with a sentence naming the range."""
    i = URL_BOUND.index(name)
    for value in (HIDDEN_BAD[i % 7], HIDDEN_BAD[(i + 3) % 7]):
        if value == "0" and name in ("theta", "seed"):
            value = "-1"  # 0 is valid there (theta 0: no clipping)
        at = app(query={"hide": name, name: value})
        at.button(key="start").click().run()
        assert not at.exception
        assert registry.list() == [], f"?{name}={value} started a run"
        assert name in errors(at) and (_range(name) in errors(at) or "at least 1" in
                                       errors(at)), f"?{name}={value}: {errors(at)!r}"


def test_a_bad_url_value_is_reported_not_silently_clamped(registry):
    at = app(query={"num_hiddens": "-5", "lr": "nan"})
    assert at.number_input(key="num_hiddens").value == RunConfig().num_hiddens
    assert "between 1 and 4096" in " ".join(w.value for w in at.warning) + errors(at)


# ============================================================== divergence
def test_divergence_on_lr_1e6_without_clipping(registry):
    """Exactly the issue's case: lr 1e6, no clipping, d2l defaults otherwise. The
    loss jumps to ~1e8 and stays finite; the ln|V| rule must call it diverged."""
    cfg = RunConfig(lr=1e6, theta=None).validate()
    assert (cfg.num_hiddens, cfg.batch_size, cfg.num_steps, cfg.max_tokens) == (512, 32, 35,
                                                                                10000)
    run = finish(registry.create(cfg), 120)
    assert run.status == "diverged", (run.status, run.message)
    steps = run.log.step_columns()
    n = len(steps["step"])
    assert n >= 2 and run.message.startswith(f"Diverged at step {n}, epoch 1:"), run.message
    assert "ln|V|" in run.message or "became" in run.message
    assert np.isfinite(steps["loss"]).all() and steps["loss"].max() > 1e4  # finite, yet huge
    # the steps before it are in the log, on disk and on every page
    again = Registry(run.folder.parent).get(run.id)
    assert again.status == "diverged" and again.log.num_steps_logged == n
    at = app(query={"run": run.id})
    assert "Training diverged." in errors(at) and f"Diverged at step {n}" in errors(at)
    xs = [array(tr.get("x")) for spec in figures(at) for tr in spec["data"]]
    assert any(len(x) == n and x[-1] == n for x in xs), [len(x) for x in xs]
    for page in ("gradients", "hidden_state"):
        app(page, query={"run": run.id})


# ==================================================== corrupted run folders
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A finished tiny run on disk, to clone and damage."""
    folder = tmp_path_factory.mktemp("template")
    r = Registry(folder / "runs")
    run = finish(r.create(small()))
    assert run.status == "finished"
    return run.folder


class Bomb:
    """Unpickling this creates a file: proof that something was unpickled."""
    marker = None

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _bomb_bytes(marker: Path, as_torch: bool) -> bytes:
    import io
    Bomb.marker = str(marker)
    if not as_torch:
        return pickle.dumps({"W_xh": Bomb()})
    buf = io.BytesIO()
    torch.save({"W_xh": Bomb()}, buf)
    return buf.getvalue()


def _damage(folder: Path, how: str, marker: Path):
    meta = json.loads((folder / "meta.json").read_text())
    if how == "meta_bad_json":
        (folder / "meta.json").write_text('{"id": ')
    elif how == "meta_a_list":
        (folder / "meta.json").write_text("[1, 2]")
    elif how == "config_bad_json":
        (folder / "config.json").write_text("{nope")
    elif how == "config_missing":
        (folder / "config.json").unlink()
    elif how == "config_unknown_key":
        cfg = json.loads((folder / "config.json").read_text())
        cfg["os_command"] = "rm -rf /"
        (folder / "config.json").write_text(json.dumps(cfg))
    elif how == "config_out_of_range":
        cfg = json.loads((folder / "config.json").read_text())
        cfg["num_hiddens"] = -1
        (folder / "config.json").write_text(json.dumps(cfg))
    elif how == "metrics_garbage":
        (folder / "metrics.npz").write_bytes(b"PK\x03\x04 not a zip at all")
    elif how == "metrics_pickled_object":
        import io
        Bomb.marker = str(marker)
        buf = io.BytesIO()
        np.savez(buf, steps=np.array([Bomb()], dtype=object), step_names=np.array(["a"]))
        (folder / "metrics.npz").write_bytes(buf.getvalue())
    elif how == "weights_pickle_bomb":
        (folder / "weights.pt").write_bytes(_bomb_bytes(marker, as_torch=False))
    elif how == "weights_torch_bomb":
        (folder / "weights.pt").write_bytes(_bomb_bytes(marker, as_torch=True))
    elif how == "weights_wrong_shape":
        torch.save({"W_xh": torch.zeros(2, 2)}, folder / "weights.pt")
    elif how == "weights_truncated":
        data_ = (folder / "weights.pt").read_bytes()
        (folder / "weights.pt").write_bytes(data_[: len(data_) // 2])
    elif how == "tokens_not_a_list":
        meta["idx_to_token"] = 7
        (folder / "meta.json").write_text(json.dumps(meta))
    elif how == "info_not_a_dict":
        meta["info"] = "x"
        (folder / "meta.json").write_text(json.dumps(meta))
    else:
        raise AssertionError(how)


DAMAGES = ["meta_bad_json", "meta_a_list", "config_bad_json", "config_missing",
           "config_unknown_key", "config_out_of_range", "metrics_garbage",
           "metrics_pickled_object", "weights_pickle_bomb", "weights_torch_bomb",
           "weights_wrong_shape", "weights_truncated", "tokens_not_a_list",
           "info_not_a_dict"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_run_folder_is_refused_with_a_message(template, tmp_path, how):
    root = tmp_path / "runs"
    good = root / "good-run"
    shutil.copytree(template, good)
    bad = root / f"bad-{how.replace('_', '-')}"
    shutil.copytree(template, bad)
    marker = tmp_path / "UNPICKLED"
    _damage(bad, how, marker)
    r = Registry(root)
    assert not marker.exists(), "a file in the run folder was unpickled"
    assert [x.id for x in r.list()] == ["good-run"]
    assert len(r.problems) == 1 and r.problems[0].startswith(bad.name), r.problems
    assert "Traceback" not in r.problems[0] and len(r.problems[0]) < 600
    if how == "config_unknown_key":
        assert "os_command" in r.problems[0]
    if "bomb" in how:
        assert "weights_only=True" in r.problems[0]


def test_a_pickle_bomb_is_never_unpickled_anywhere(registry, template, tmp_path):
    """As init_weights of a run, and uploaded on the Generate page."""
    marker = tmp_path / "UNPICKLED"
    for as_torch in (False, True):
        bomb = tmp_path / f"bomb-{as_torch}.pt"
        bomb.write_bytes(_bomb_bytes(marker, as_torch))
        run = finish(registry.create(small(init_weights=str(bomb))))
        assert run.status == "failed" and "weights_only=True" in run.message
        with pytest.raises(store.StoreError):
            store.load_weights(bomb.read_bytes())
    good = finish(registry.create(small(name="good")))  # a label of its own: see below
    at = app("generate", query={"run": good.id})
    assert at.selectbox(key="run").value == good.id
    at.get("file_uploader")[0].upload("evil.pt", _bomb_bytes(marker, True)).run()
    assert not at.exception and "not a weights file" in errors(at)
    assert not marker.exists()


def test_run_names_cannot_escape_the_runs_folder(registry, root, tmp_path):
    run = finish(registry.create(small()))
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    for name in ("../x", "..", "./x", "x/../../x", "/tmp", "a\\..\\x", "x\x00", ""):
        with pytest.raises(store.StoreError):
            store.run_path(root, name)
        assert registry.get(name) is None
        registry.delete(name)  # unknown: nothing happens
        with pytest.raises(store.StoreError):
            store.delete_run(root, name)
    assert (outside / "keep.txt").exists() and run.folder.exists()
    # a folder with a name the app would never make is not loaded
    weird = root / ".hidden run"
    shutil.copytree(run.folder, weird)
    assert ".hidden run" not in [x.id for x in Registry(root).list()]
    # and the URL cannot point a page at such a name
    for page in ("train", "hidden_state", "generate", "gradients"):
        at = app(page, query={"run": "../x"})
        assert at.selectbox(key="run").value == run.id
    at = app("compare", query={"runs": "../x,..,/etc"})
    assert not at.exception


def test_a_foreign_meta_with_odd_fields_still_shows_its_run(root, template):
    """A meta.json another tool wrote (a list for a name, a word for a date, a
    status the app does not know) costs the run nothing: it is listed, named,
    drawn with all its steps and compared, as stopped."""
    shutil.copytree(template, root / "good-run")
    foreign = root / "foreign-run"
    shutil.copytree(template, foreign)
    meta = json.loads((foreign / "meta.json").read_text())
    meta.update(created="yesterday", status="hacked", name=["not", "a", "name"])
    (foreign / "meta.json").write_text(json.dumps(meta))
    reset_registry()
    try:
        from charrnn.ui.core import get_registry
        reg = get_registry()
        run = reg.get("foreign-run")
        assert run is not None and reg.problems == [], reg.problems
        assert run.status == "stopped" and run.name == "['not', 'a', 'name']"
        n = run.log.num_steps_logged
        assert n > 0 and run.model() is not None
        at = app("train", query={"run": "foreign-run"})
        picker = at.selectbox(key="run")
        assert picker.value == "foreign-run" and len(picker.options) == 2   # both listed
        assert run.name in texts(at) and "stopped" in texts(at)
        xs = [array(tr.get("x")) for spec in figures(at) for tr in spec["data"]]
        assert any(len(x) and x[-1] == n for x in xs), [x[-1:] for x in xs]
        at = app("compare", query={"runs": "good-run,foreign-run"})
        [table] = [df.value.to_string() for df in at.dataframe if "open" in df.value.columns]
        assert "?run=foreign-run" in table and "?run=good-run" in table
    finally:
        reset_registry()


# =================================================================== faults
def test_stop_during_an_epoch(reg):
    # ~5,000 steps per epoch: at ~300 the faster engine sometimes finished the
    # epoch between the 20th step reaching the page and the Stop reaching the worker
    run = reg.create(small(max_tokens=20000, batch_size=1, num_steps=4, num_epochs=5,
                           probe_lanes=(0,)))
    assert wait_for(lambda: run.log.num_steps_logged >= 20)
    run.stop()
    run.join(10)
    assert not run._thread.is_alive()
    n = run.log.num_steps_logged
    assert run.status == "stopped" and f"stopped at step {n}" in run.message.lower()
    assert run.log.epochs.n == 0 and n < 4900  # mid-epoch
    meta = json.loads((run.folder / "meta.json").read_text())
    assert meta["status"] == "stopped"
    again = Registry(run.folder.parent).get(run.id)
    assert again.status == "stopped" and again.log.num_steps_logged == n


def test_pause_resume_fifty_times_quickly_and_step_while_paused(mode, reg):
    run = reg.create(small(num_epochs=100_000, max_tokens=-1))   # epochs longer than this
    assert wait_for(lambda: run.log.num_steps_logged >= 3)
    t0 = time.monotonic()
    for _ in range(50):
        run.pause()
        run.step()
        run.resume()
    assert time.monotonic() - t0 < 5 and run.status == "running"
    n = run.log.num_steps_logged
    assert wait_for(lambda: run.log.num_steps_logged > n + 5, 20), "no progress after 50x"
    # several browsers clicking at once
    def clicker(seed):
        rng = random.Random(seed)
        for _ in range(50):
            rng.choice((run.pause, run.resume, run.step))()
    threads = [threading.Thread(target=clicker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    run.resume()   # whatever the clicks left, Resume trains on
    m = run.log.num_steps_logged
    assert wait_for(lambda: run.log.num_steps_logged > m + 5, 20), "Resume did not resume"
    run.pause()
    assert wait_for(lambda: blocked_at(run) is not None, 30), "the worker never paused"
    n = run.log.num_steps_logged
    for k in range(1, 4):
        run.step()
        assert wait_for(lambda: blocked_at(run) == n + k, 30), (run.log.num_steps_logged, n + k)
        assert run.status == "paused"
    run.stop()
    run.join(20)
    # stopped while paused: the log holds what it had at the pause and the three steps
    assert run.status == "stopped" and run.log.num_steps_logged == n + 3
    assert not run._thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name == f"train-{run.id}"]


def test_stop_while_paused_and_stop_twice(reg):
    run = reg.create(small(num_epochs=100_000))
    assert wait_for(lambda: run.log.num_steps_logged >= 2)
    run.pause()
    run.stop()
    run.stop()
    run.join(10)
    assert run.status == "stopped" and not run._thread.is_alive()
    run.resume()
    run.step()
    run.pause()
    assert run.status == "stopped"


def test_delete_a_run_while_a_page_shows_it(registry):
    """Another browser (the presenter) deletes the run this page shows."""
    pages = ["train", "hidden_state", "generate", "compare"]
    keep = finish(registry.create(small(num_epochs=1)))
    doomed = {page: finish(registry.create(small(num_epochs=1, name=f"on {page}")))
              for page in pages}
    for page in pages:
        gone = doomed[page]
        at = app(page, query={"run": gone.id, "runs": f"{gone.id},{keep.id}"})
        picker = at.selectbox(key="run") if page != "compare" else None
        shown = picker.options[picker.index] if picker is not None else None
        registry.delete(gone.id)
        if picker is not None:
            # what a browser sends back: the label of the option it still shows.
            # (AppTest would re-format the stale id with the live format_func.)
            picker.set_value(shown)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert registry.get(gone.id) is None and not gone.folder.exists()
        if picker is not None:
            assert at.selectbox(key="run").value != gone.id
    registry.delete(keep.id)
    for page in ("train", "compare"):
        app(page)  # the empty state, no exception
    assert registry.list() == []


def test_the_run_picker_keeps_one_of_two_look_alike_runs(registry):
    a = registry.create(small(), start=False)
    b = registry.create(small(), start=False)
    b.created = a.created  # same name, same second
    at = app("hidden_state", query={"run": a.id})
    assert at.selectbox(key="run").value == a.id
    at.run()
    assert at.selectbox(key="run").value == a.id


def test_delete_button_of_a_finished_run(registry):
    keep = finish(registry.create(small()))
    gone = finish(registry.create(small()))
    at = app(query={"run": gone.id})
    at.button(key=f"delete_{gone.id}").click().run()
    assert registry.get(gone.id) is not None   # it asks first
    at.button(key=f"yes_delete_{gone.id}").click().run()
    assert not at.exception and registry.get(gone.id) is None
    assert registry.get(keep.id) is not None and keep.name in texts(at)


def test_delete_a_run_after_a_restart(root):
    r = Registry(root)
    run = finish(r.create(small()))
    reset_registry()
    try:
        at = app(query={"run": run.id})
        at.button(key=f"delete_{run.id}").click().run()
        at.button(key=f"yes_delete_{run.id}").click().run()
        assert not at.exception
        assert not run.folder.exists()
    finally:
        reset_registry()


def test_restart_keeps_finished_runs_and_marks_interrupted_ones(reg):
    done = finish(reg.create(small(num_epochs=2)))
    live = reg.create(small(num_epochs=100_000))
    assert wait_for(lambda: live.log.num_steps_logged >= 3)
    live.pause()
    # pausing writes a checkpoint where the run stands
    assert wait_for(lambda: (checkpoint.read_resume(live.folder) or {}).get("step")
                    == live.log.num_steps_logged)
    # a second server process on the same folder = a restart after a crash
    again = Registry(reg.root)
    a, b = again.get(done.id), again.get(live.id)
    assert a.status == "finished" and a.log.num_steps_logged == done.log.num_steps_logged
    assert a.log.epochs.n == 2 and a.model() is not None
    assert b.status == "interrupted" and "server stopped" in b.message.lower()
    assert b.reason["step"] == b.log.num_steps_logged   # paused: checkpointed where it is
    assert b.log.num_steps_logged >= 3 and b.resumable
    assert not b.is_active
    b.stop()  # controls of a run loaded from disk do nothing
    b.resume()
    assert b.status == "interrupted"
    live.stop()
    live.join(10)
    assert not again.problems


def test_an_exception_in_the_training_thread_fails_the_run_not_the_server(registry,
                                                                          monkeypatch):
    from charrnn import train
    real = train.grad_clipping
    calls = {"n": 0}

    def flaky(grads, theta):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("simulated fault in step 7")
        return real(grads, theta)
    monkeypatch.setattr(train, "grad_clipping", flaky)
    monkeypatch.setenv("CHARRNN_WORKER", "thread")  # the patch lives in this process;
    # a worker process's own faults: tests/test_runs.py (killed, raising)
    run = finish(registry.create(small(num_epochs=100)))
    assert run.status == "failed" and run.message == "RuntimeError: simulated fault in step 7"
    assert run.log.num_steps_logged >= 1 and hasattr(run, "traceback")
    assert not run._thread.is_alive()
    at = app(query={"run": run.id})
    assert "The run failed:" in errors(at) and "simulated fault in step 7" in errors(at)
    monkeypatch.setattr(train, "grad_clipping", real)
    nxt = finish(registry.create(small()))
    assert nxt.status == "finished"
    at.run()
    assert not at.exception
    on_disk = json.loads((run.folder / "meta.json").read_text())
    assert on_disk["status"] == "failed" and "simulated fault" in on_disk["message"]


def test_more_runs_than_the_cap_queue_and_all_finish(tmp_path):
    r = Registry(tmp_path / "runs", max_active=2)
    runs = [r.create(small(num_epochs=2, seed=i)) for i in range(6)]
    most, started = 0, []  # started: in the order the runs were seen training
    deadline = time.monotonic() + 120
    while any(x.is_active for x in runs) and time.monotonic() < deadline:
        active = [x for x in runs if x.status in ("running", "paused")]
        most = max(most, len(active))
        for x in active:
            if x.id not in started:
                started.append(x.id)
        time.sleep(0.01)
    for x in runs:
        x.join(10)
    assert [x.status for x in runs] == ["finished"] * 6, [(x.status, x.message) for x in runs]
    assert most <= 2 and len(started) >= 5
    assert started == [x.id for x in runs if x.id in started]  # first come, first served
    # a queued run can be stopped; the others still run
    r2 = Registry(tmp_path / "runs2", max_active=1)
    a = r2.create(small(num_epochs=3))
    b = r2.create(small(num_epochs=3))
    c = r2.create(small(num_epochs=3))
    assert b.status == "queued"
    b.stop()
    assert b.status == "stopped"
    finish(a)
    finish(c)
    assert a.status == c.status == "finished" and b.log.num_steps_logged == 0
    r.stop_all()
    r2.stop_all()


def test_finished_runs_are_written_atomically(reg):
    run = finish(reg.create(small()))
    stopped = reg.create(small(num_epochs=1000))
    assert wait_for(lambda: stopped.log.num_steps_logged > 2)
    stopped.stop()
    stopped.join(10)
    for x in (run, stopped):
        names = sorted(p.name for p in x.folder.iterdir())
        assert not [n for n in names if n.endswith((".tmp", ".part"))], names
        assert {"config.json", "meta.json", "metrics.npz", "samples.json",
                "weights.pt"} <= set(names)
        json.loads((x.folder / "meta.json").read_text())
        store.load_weights(x.folder / "weights.pt")
    assert not list(reg.root.rglob("*.tmp"))


# =================================================================== trust
def _presenter(monkeypatch, key="s3cret"):
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", key)


def test_a_viewer_cannot_control_through_any_widget_or_url(registry, monkeypatch):
    _presenter(monkeypatch)
    done = finish(registry.create(small(name="done")))
    live = registry.create(small(num_epochs=100_000, name="live"))
    assert wait_for(lambda: live.log.num_steps_logged > 2)
    live.pause()  # an active run that does not compete for the CPU with the pages
    hostile = {"start": "1", "stop": live.id, "delete": done.id, "pause": live.id,
               "action": "delete", "preset": "explode", "sw_queue": "1",
               "_controller": "true", "controller": "1", "presenter_key_input": "s3cret",
               "key": "s3cret", "presenter_key": "s3cret", f"stop_{live.id}": "1",
               f"delete_{done.id}": "1", "go_quick": "1", "runs": f"{live.id},{done.id}"}
    for page, run, present in [(p, live, "0") for p in PAGES] + [
            ("train", live, "1"), ("unrolled", live, "1"), ("train", done, "0"),
            ("generate", done, "0")]:   # Generate last: the upload below happens there
        at = app(page, query={**hostile, "run": run.id, "present": present})
        working = [b.key for b in control_buttons(at) if not b.disabled]
        assert working == [], f"{page} ({run.status}): a viewer sees {working}"
    # the Generate page: uploaded weights offer no "continue training" to a viewer
    at.get("file_uploader")[0].upload("w.pt", (done.folder / "weights.pt").read_bytes()).run()
    assert not at.exception and "w.pt" in " ".join(x.value for x in at.success)
    assert not [b for b in control_buttons(at) if not b.disabled]
    assert {x.id for x in registry.list()} == {done.id, live.id}
    assert live.status == "paused" and done.folder.exists()
    live.resume()
    assert wait_for(lambda: live.status == "running")


def test_the_presenter_key_unlocks_controls_and_a_wrong_key_does_not(registry, monkeypatch):
    _presenter(monkeypatch)
    live = registry.create(small(num_epochs=100_000))
    at = app(query={"run": live.id})
    at.text_input(key="presenter_key_input").input("S3CRET").run()
    assert not [b for b in control_buttons(at) if not b.disabled]
    at.text_input(key="presenter_key_input").input("s3cret").run()
    assert any(b.key == f"stop_{live.id}" and not b.disabled for b in control_buttons(at))
    at.button(key=f"stop_{live.id}").click().run()
    live.join(10)
    assert live.status == "stopped"


def test_the_upload_limit_in_config_toml_fits_corpus_and_weights():
    import io
    import tomllib

    from charrnn.model import make_model
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    limit = cfg["server"]["maxUploadSize"] * 1024 * 1024  # Streamlit counts MiB
    assert MAX_CORPUS_BYTES < limit <= 2 * MAX_CORPUS_BYTES  # the app's own message first
    buf = io.BytesIO()
    torch.save(make_model("scratch", 28, 512, "cpu").state_dict(), buf)  # d2l's model
    assert 1_000_000 < len(buf.getvalue()) < limit
    assert cfg["browser"]["gatherUsageStats"] is False
