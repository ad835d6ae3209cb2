"""The app through streamlit.testing (AppTest): every page, the controls, bad input."""
import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from charrnn.config import RunConfig
from charrnn.ui import live
from tests.charts import array, live_figures
from tests.helpers import blocked_at, finished_run, wait_for

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "tests" / "ui_entry" / "app.py")
SMALL = dict(num_hiddens=32, batch_size=4, num_steps=8, max_tokens=3000, snapshot_every=3)


def app(page=None, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(f"../../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at):
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [i.value for i in at.info] + [e.value for e in at.error]
                    + [t.value for t in at.title] + [s.value for s in at.subheader])


def test_empty_train_page_offers_one_click_presets(registry):
    at = app()
    assert at.title[0].value == "Watch an RNN learn"
    labels = [b.label for b in at.button]
    assert {"Quick demo", "Exploding gradients (no clipping)", "d2l 8.5 defaults"} <= set(labels)
    assert "Start training" in labels


def test_exploding_preset_starts_a_run_without_clipping(registry):
    at = app(query={"num_hiddens": "32", "max_tokens": "3000"})
    at.button(key="go_explode").click().run()
    runs = registry.list()
    # no clipping, and the lr that makes it explode within seconds (the preset's help says so)
    assert len(runs) == 1 and runs[0].config.theta is None and runs[0].config.lr == 3.0
    runs[0].stop()


def test_start_pause_step_resume_stop_from_the_page(registry):
    at = app(query={"num_hiddens": "32", "batch_size": "4", "num_steps": "8",
                    "max_tokens": "-1", "num_epochs": "5000"})   # epochs longer than this
    at.button(key="start").click().run()
    run = registry.list()[0]
    assert run.config.num_hiddens == 32 and run.config.num_epochs == 5000
    assert wait_for(lambda: run.log.num_steps_logged > 3)
    at.run()
    at.button(key=f"pause_{run.id}").click().run()
    assert run.status == "paused"
    assert wait_for(lambda: blocked_at(run) is not None, 30), "the worker never paused"
    n = run.log.num_steps_logged
    at.button(key=f"step_{run.id}").click().run()
    assert wait_for(lambda: blocked_at(run) == n + 1, 30), (run.log.num_steps_logged, n + 1)
    at.run()   # what the page shows of a run waiting after one step
    assert "paused" in texts(at)
    [shown] = [m.value for m in at.metric if m.label == "Step"]
    assert shown == f"{n + 1:,}", (shown, n + 1)
    at.button(key=f"resume_{run.id}").click().run()
    assert run.status == "running"
    at.button(key=f"stop_{run.id}").click().run()
    run.join(10)
    assert run.status == "stopped"
    at.run()
    assert "stopped" in texts(at)


def test_train_page_shows_a_finished_runs_charts_and_samples(registry):
    run = finished_run(registry)
    at = app()
    assert run.name in texts(at)
    assert len(live_figures(at)) >= 4  # perplexity, loss, gradient norm, hidden state
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "time traveller" in html and "epoch 3" in html


def test_bad_upload_shows_a_message_not_a_traceback(registry):
    at = app()
    at.radio(key="corpus_src").set_value("upload").run()
    at.get("file_uploader")[0].upload("notes.txt", b"\x00\x01binary\x00").run()
    assert not at.exception
    assert any("looks binary" in e.value for e in at.error)


def test_too_short_paste_is_refused_before_a_run_starts(registry):
    at = app()
    at.radio(key="corpus_src").set_value("paste").run()
    at.text_area(key="paste").input("far too short").run()
    at.button(key="start").click().run()
    assert registry.list() == []
    assert any("too short for one minibatch" in e.value for e in at.error)


def test_corpus_errors_speak_the_readers_language(registry):
    """A lecture in Chinese: a bad upload, a too-short paste and a run that
    failed on its corpus are explained in Chinese."""
    at = app(query={"lang": "zh"})
    at.radio(key="corpus_src").set_value("upload").run()
    at.get("file_uploader")[0].upload("notes.txt", b"\x00\x01binary\x00").run()
    assert any("notes.txt 看起来是二进制文件" in e.value for e in at.error)
    at.radio(key="corpus_src").set_value("paste").run()
    at.text_area(key="paste").input("far too short").run()
    at.button(key="start").click().run()
    assert registry.list() == []
    assert any("不够一个小批量" in e.value for e in at.error)
    # a run created past the form (an old link, the API) fails in the worker
    run = registry.create(RunConfig(**{**SMALL, "corpus": "text", "text": "far too short",
                                       "tokens": "raw"}).validate())
    assert wait_for(lambda: run.status == "failed", 30)
    assert "too short for one minibatch" in run.message  # logs and the CLI: English
    assert run.reason["key"] == "corpus.too_short"
    at = app(query={"lang": "zh", "run": run.id})
    assert any("不够一个小批量" in e.value for e in at.error), [e.value for e in at.error]


def test_out_of_range_query_values_never_reach_a_run(registry):
    """A link with typos in some numbers: those become the defaults, the
    link's other numbers are kept."""
    at = app(query={"num_hiddens": "-5", "lr": "nan", "batch_size": "abc", "num_steps": "12",
                    "num_epochs": "7"})
    assert not at.exception
    at.button(key="start").click().run()
    runs = registry.list()
    assert len(runs) == 1, [e.value for e in at.error]
    runs[0].stop()
    cfg = runs[0].config
    assert (cfg.num_hiddens, cfg.lr, cfg.batch_size) == (512, 1.0, 32)   # d2l's defaults
    assert (cfg.num_steps, cfg.num_epochs) == (12, 7)


@pytest.mark.parametrize("page", ["hidden_state", "gradients", "generate"])
def test_every_page_says_what_to_do_without_runs(registry, page):
    at = app(page)
    assert "No runs yet" in texts(at)


def test_hidden_state_page_shows_lanes_carried_state_and_unit_text(registry):
    run = finished_run(registry)
    at = app("hidden_state")
    assert "Each sample keeps its own hidden state" in texts(at)
    assert len(live_figures(at)) >= 3  # one lane, all lanes, carried state
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "h[" in html and "background-color" in html
    at.toggle(key="hidden_follow").set_value(False).run()
    assert not at.exception and at.select_slider(key="hidden_step")


def test_hidden_state_text_is_escaped(registry):
    text = "<script>alert(1)</script> <b>bold</b> " * 60
    run = finished_run(registry, corpus="text", text=text, tokens="raw", prefix="<i>")
    at = app("hidden_state")
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "<script>" not in html and "&lt;" in html
    at = app()
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "<i>" not in html and "&lt;i&gt;" in html


def test_gradients_page_draws_every_chart(registry):
    finished_run(registry)
    at = app("gradients")
    titles = " ".join(texts(at).split())
    assert "Gradient flow through time" in titles and "Spectrum of W_hh" in titles
    assert len(live_figures(at)) == 4


def test_generate_page_greedy_equals_predict(registry):
    run = finished_run(registry)
    at = app("generate")
    html = " ".join(h.proto.body for h in at.get("html"))
    expected = run.model()
    from charrnn.generate import predict
    pred = predict(run.config.prefix, 50, expected, run.vocab(), "cpu", tokens="d2l")
    assert pred.generated.replace(" ", "") in html.replace(" ", "")
    at.segmented_control(key="gen_mode").set_value("temperature").run()
    assert not at.exception and at.slider(key="gen_temp").value == 0.8


def test_chinese_interface_from_the_url(registry):
    at = app(query={"lang": "zh"})
    assert at.title[0].value == "看 RNN 如何学习"
    assert "快速演示" in [b.label for b in at.button]


def test_a_viewer_without_the_presenter_key_cannot_control(registry, monkeypatch):
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")
    run = registry.create(RunConfig(**{**SMALL, "num_epochs": 5000}).validate())
    at = app()
    assert at.button(key="start").disabled
    assert not any(b.key and b.key.startswith(("pause_", "stop_", "delete_")) for b in at.button)
    at.text_input(key="presenter_key_input").input("wrong").run()
    assert any("not right" in e.value for e in at.error)
    at.text_input(key="presenter_key_input").input("s3cret").run()
    assert not at.button(key="start").disabled
    at.button(key=f"stop_{run.id}").click().run()
    run.join(10)
    assert run.status == "stopped"


def test_unrolled_page_steps_through_one_iteration(registry):
    at = app("unrolled")
    assert at.title[0].value == "The RNN unrolled"
    # the grid is a live chart (updated in place); shapes, clipping, the cliff, prediction
    assert len(at.get("plotly_chart")) == 4
    first = " ".join(m.value for m in at.markdown)
    assert "Forward step 1/5" in first
    at.button(key="unr_step").click().run()
    assert "Forward step 2/5" in " ".join(m.value for m in at.markdown)
    at.button(key="unr_step").click().run()
    at.button(key="unr_back").click().run()
    assert "Forward step 2/5" in " ".join(m.value for m in at.markdown)
    at.segmented_control(key="unr_part").set_value("random").run()
    assert not at.exception


def test_unrolled_page_draws_a_runs_real_minibatches(registry):
    run = finished_run(registry)
    at = app("unrolled")
    at.segmented_control(key="unr_source").set_value("run").run()
    assert not at.exception
    caps = " ".join(c.value for c in at.caption)
    assert "Samples 0, 1, 2, 3 of 4" in caps


def test_side_by_side_starts_sequential_and_random_and_opens_compare(registry):
    at = app(query={"num_hiddens": "32", "batch_size": "4", "num_steps": "8",
                    "max_tokens": "3000", "num_epochs": "2"})
    at.button(key="side_by_side").click().run()
    assert not at.exception
    runs = registry.list()
    assert sorted(r.config.random_iter for r in runs) == [False, True]
    assert {r.config.num_hiddens for r in runs} == {32}
    assert at.title[0].value == "Compare runs"


def test_replay_shows_a_finished_run_as_it_was(registry):
    run = finished_run(registry, num_epochs=6)
    total = run.log.num_steps_logged
    at = app()
    at.toggle(key=f"replay_{run.id}").set_value(True).run()
    slider = at.slider(key=f"replay_step_{run.id}")
    slider.set_value(10).run()
    assert not at.exception
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "epoch 6" not in html  # the last sample came after step 10
    at.toggle(key=f"replay_play_{run.id}").set_value(True).run()
    assert at.slider(key=f"replay_step_{run.id}").value > 10
    assert total > 10


def test_url_state_round_trips_raw_values_in_any_language(registry):
    query = {"lang": "zh", "present": "1", "part": "random", "model": "gru",
             "num_hiddens": "48", "theta_on": "false", "max_tokens": "3000",
             "batch_size": "4", "num_steps": "8", "num_epochs": "1"}
    at = app(query=query)
    assert at.radio(key="part").value == "random" and at.selectbox(key="model").value == "gru"
    assert at.toggle(key="present").value is True
    for key in ("lang", "part", "model"):
        assert at.query_params[key] == query[key]  # raw values, not translated labels
    at.button(key="start").click().run()
    cfg = registry.list()[0].config
    assert (cfg.random_iter, cfg.model, cfg.num_hiddens, cfg.theta) == (True, "gru", 48, None)
    at.radio(key="part").set_value("sequential").run()
    assert "part" not in at.query_params  # back at its default: the link stays short


def test_a_diverged_run_says_where_and_why_in_chinese(registry):
    run = registry.create(RunConfig(num_epochs=50, lr=1e6, theta=None).validate())
    assert wait_for(lambda: run.status == "diverged", 60)
    run.join(10)
    at = app(query={"lang": "zh"})
    err = " ".join(e.value for e in at.error)
    assert "训练发散了" in err and "发散" in err and f"第 {run.reason['step']} 步" in err
    assert len(live_figures(at)) >= 3  # the charts still show what happened


def test_a_link_can_hide_controls_for_a_class(registry):
    at = app(query={"hide": "lr,theta,model", "lr": "0.5", "num_hiddens": "32",
                    "max_tokens": "3000", "batch_size": "4", "num_steps": "8"})
    keys = {w.key for w in at.number_input} | {w.key for w in at.toggle}
    assert "lr" not in keys and "theta_on" not in keys and "theta" not in keys
    assert "num_hiddens" in keys
    assert all(s.key != "model" for s in at.selectbox)
    at.button(key="start").click().run()
    cfg = registry.list()[0].config
    assert cfg.lr == 0.5 and cfg.theta == 1.0 and cfg.model == "scratch"
    registry.list()[0].stop()


def test_the_app_serialises_charts_without_orjson(registry):
    """orjson leaked memory on the heatmaps' hover data (tests/bench/RESULTS.md)."""
    import plotly.io as pio
    app()
    assert pio.json.config.default_engine == "json"


def test_watchers_share_one_build_of_each_figure(registry, monkeypatch):
    """Thirty students on one run must not cost thirty builds per redraw."""
    from charrnn import figures as F
    from charrnn.ui import live
    run = finished_run(registry)
    live._shared.clear()
    builds = []
    real = F.grad_norm_figure

    def counted(*a, **k):
        builds.append(1)
        return real(*a, **k)
    monkeypatch.setattr(F, "grad_norm_figure", counted)
    sessions = [app(query={"run": run.id}) for _ in range(3)]
    assert len(builds) == 1  # the first session built it, the others were handed it
    sessions[1].run()
    assert len(builds) == 1
    # students reading Chinese get (and share) the other figure
    app(query={"run": run.id, "lang": "zh"})
    app(query={"run": run.id, "lang": "zh"})
    assert len(builds) == 2


def test_a_shared_figure_is_rebuilt_when_its_data_changes():
    from charrnn.ui import live
    live._shared.clear()
    built = []

    def build():
        built.append(object())
        return built[-1]
    fig, version = live.shared_figure(("k",), 1, build)
    assert live.shared_figure(("k",), 1, build) == (fig, 1) and len(built) == 1
    # new data within one frame: the frame's figure, with its own version, so the
    # session asks again at its next redraw
    assert live.shared_figure(("k",), 2, build) == (fig, 1)
    live._shared[("k",)] = (time.monotonic() - live.FRAME_S, 1, fig, 0.0)  # a frame later
    live._building.add(("k",))  # another session is building the next one: wait for it
    assert live.shared_figure(("k",), 2, build) == (fig, 1) and len(built) == 1
    live._building.clear()
    assert live.shared_figure(("k",), 2, build) == (built[-1], 2) and len(built) == 2
    # a figure that costs 0.5 s of CPU to build is rebuilt at most every 5 s
    live._shared[("k",)] = (time.monotonic() - 2.0, 2, built[-1], 0.5)
    assert live.shared_figure(("k",), 3, build) == (built[-1], 2) and len(built) == 2


def test_a_frozen_chart_keeps_its_figure_while_a_followed_one_moves_on(registry,
                                                                       monkeypatch):
    # A followed chart is rebuilt at most every max(frame_s(), 10x its build's
    # cost) (tested above): on a loaded machine one build can cost over a tenth
    # of a frame, so a wait of FRAME_S did not always let it move. Here every
    # new step is a new frame.
    monkeypatch.setattr(live, "frame_s", lambda: 0.0)
    monkeypatch.setattr(live, "BUILD_SHARE", float("inf"))
    run = registry.create(RunConfig(**{**SMALL, "num_epochs": 5000}).validate())
    try:
        assert wait_for(lambda: run.log.num_steps_logged > 3)
        at = app()

        def drawn(key):   # (revision, last step) of a live chart on the page
            [c] = [c for c in at.get("bidi_component") if c.proto.id.endswith(key)]
            sent = json.loads(c.proto.bytes)
            return sent["rev"], float(array(sent["fig"]["data"][0]["x"])[-1])

        at.toggle(key="follow_loss").set_value(False).run()
        frozen, followed = drawn("chart_loss"), drawn("chart_gradnorm")
        n = run.log.num_steps_logged
        assert wait_for(lambda: run.log.num_steps_logged > n + 5)
        at.run()
        assert drawn("chart_loss") == frozen
        rev, last = drawn("chart_gradnorm")
        assert rev != followed[0] and last > followed[1]
        at.toggle(key="follow_loss").set_value(True).run()
        assert drawn("chart_loss")[1] > frozen[1]
        # frozen means no new data, not the old language
        at.toggle(key="follow_loss").set_value(False).run()
        at.segmented_control(key="lang").set_value("zh").run()
        assert any("训练损失" in f["layout"]["title"]["text"] for f in live_figures(at))
    finally:
        run.stop()


def test_sample_text_and_run_names_show_as_text_not_markup():
    """A corpus or a run name with HTML in it is shown, never interpreted."""
    from charrnn.ui import sample_html
    row = sample_html("<b>", "</div><script>x</script>", label="epoch 3", title="a<i>run")
    assert "<script>" not in row and "&lt;script&gt;" in row
    assert "<b>a&lt;i&gt;run</b>" in row and "&lt;b&gt;" in row
