"""The views that teach on a short real run, in English and Chinese (AppTest)."""
import json

import numpy as np
import pytest

from charrnn import clipping
from tests.charts import array, live_figures
from tests.test_app_ui import app, finished_run, texts


def html_of(at):
    return " ".join(h.proto.body for h in at.get("html"))


def plotly_specs(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_hidden_state_page_shows_structure_in_both_languages(registry, lang):
    run = finished_run(registry)
    at = app("hidden_state", query={"lang": lang})
    words = {"en": ("The state in two dimensions", "Saturated units",
                    "Find the units that track something"),
             "zh": ("二维中的隐状态", "饱和的单元", "找出追踪某种特征的单元")}[lang]
    shown = texts(at)
    assert all(w in shown for w in words), shown
    # the heatmap rows are the units in the run's fixed similarity order
    heat = live_figures(at)[0]["data"][0]
    order = [int(u) for u in heat["y"]]
    assert sorted(order) == list(range(run.config.num_hiddens)) and order != sorted(order)
    # the 2-D projection: one frame per kept snapshot (at most 40), a slider through them
    pca = plotly_specs(at)[0]
    snaps = run.log.snapshots()
    assert len(pca["frames"]) == min(40, len(snaps)) and pca["layout"]["sliders"]
    assert pca["frames"][-1]["name"] == str(snaps[-1].step)
    # the unit finder names units with their correlation, over escaped text
    assert html_of(at).count("r = ") == 5
    at.segmented_control(key="hidden_order").set_value("index").run()
    heat = live_figures(at)[0]["data"][0]
    assert [int(u) for u in heat["y"]] == list(range(run.config.num_hiddens))


def test_the_unit_finder_follows_the_feature_the_user_picks(registry):
    finished_run(registry)
    at = app("hidden_state")
    first = html_of(at)
    at.pills(key="track_feature").set_value("vowel").run()
    assert not at.exception and html_of(at) != first and html_of(at).count("r = ") == 5
    at.pills(key="track_feature").set_value("quotes").run()   # d2l tokens: no quotes
    assert "never changes" in texts(at)
    at.pills(key="track_feature").set_value("char").run()
    at.text_input(key="track_char").input("t").run()
    assert not at.exception and html_of(at).count("r = ") == 5


def test_an_lstm_runs_cell_states_are_searched_too(registry):
    finished_run(registry, model="lstm")
    at = app("hidden_state")
    assert "cell states c[j]" in texts(at) and not at.exception


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gradients_page_suggests_theta_from_the_runs_norms(registry, lang):
    run = finished_run(registry)
    at = app("gradients", query={"lang": lang})
    norms = run.log.step_columns()["grad_norm"]
    theta = clipping.suggested_theta(norms, 1000)
    assert at.metric[0].value == f"{theta:.3g}"
    note = {"en": "necessary", "zh": "必要"}[lang]
    assert note in " ".join(m.value for m in at.markdown)
    at.button(key="theta_start").click().run()
    new = [r for r in registry.list() if r.id != run.id]
    assert len(new) == 1 and new[0].config.theta == float(f"{theta:.3g}")
    assert new[0].config.num_hiddens == run.config.num_hiddens
    new[0].stop()


def test_the_suggested_theta_averages_the_window_the_user_picks(registry):
    run = finished_run(registry)
    at = app("gradients")
    norms = run.log.step_columns()["grad_norm"]
    assert len(norms) > 200   # the last 100 steps differ from all of them
    at.segmented_control(key="theta_window").set_value(100).run()
    last100 = clipping.suggested_theta(norms, 100)
    assert f"{last100:.3g}" != f"{clipping.suggested_theta(norms, None):.3g}"
    assert at.metric[0].value == f"{last100:.3g}"
    at.button(key="theta_start").click().run()
    new = [r for r in registry.list() if r.id != run.id]
    assert len(new) == 1 and new[0].config.theta == float(f"{last100:.3g}")
    new[0].stop()


def test_only_the_presenter_starts_a_run_with_the_suggested_theta(registry, monkeypatch):
    finished_run(registry)
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")
    at = app("gradients")
    assert at.button(key="theta_start").disabled


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_unrolled_page_draws_pascanus_cliff(registry, lang):
    at = app("unrolled", query={"lang": lang})
    cliff = plotly_specs(at)[-2]   # before the prediction strip
    names = [tr.get("name") or "" for tr in cliff["data"]]
    assert any("20" in n for n in names) and len(cliff["data"]) == 4
    at.slider(key="cliff_theta").set_value(5.0).run()
    cliff = plotly_specs(at)[-2]
    clipped = np.array([array(cliff["data"][2]["x"]), array(cliff["data"][2]["y"])]).T
    assert np.linalg.norm(np.diff(clipped, axis=0), axis=1).max() <= 0.02 * 5.0 + 1e-9
