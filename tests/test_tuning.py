"""Tuning tools: export (CSV, Parquet, weights), weights upload and continued
training, config differences, sweeps; the compare and sweep pages (AppTest)."""
import io
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from charrnn import store
from charrnn.config import ConfigError, RunConfig
from charrnn.export import (MAX_SWEEP, WeightsMismatch, config_diff, epochs_frame,
                            metrics_frame, model_from_bytes, parse_values, sweep_configs,
                            to_csv_bytes, to_parquet_bytes, weights_bytes)
from charrnn.runs import Registry
from tests.charts import live_figures
from tests.helpers import finished_run, wait_for

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SMALL = dict(num_hiddens=32, batch_size=4, num_steps=8, max_tokens=3000, snapshot_every=3)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """One finished run, shared by the tests that only read it."""
    reg = Registry(tmp_path_factory.mktemp("runs"))
    yield finished_run(reg)
    reg.stop_all()


def app(page, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def url_runs(at):
    value = at.query_params.get("runs", [])
    return [value] if isinstance(value, str) else list(value)


def html_of(at):
    return " ".join(h.proto.body for h in at.get("html"))


# ---------------------------------------------------------------- export
def test_metrics_frame_holds_every_step_and_the_epoch_perplexity(done):
    df = metrics_frame(done)
    steps = done.log.step_columns()
    assert len(df) == len(steps["step"]) > 0
    assert list(df["step"]) == list(steps["step"].astype(int))
    np.testing.assert_array_equal(df["loss"].to_numpy(np.float32), steps["loss"])
    assert df["clipped"].dtype == bool
    for name in done.log.param_names:
        np.testing.assert_array_equal(df[f"grad_norm[{name}]"].to_numpy(np.float32),
                                      steps["g_" + name])
    ep = epochs_frame(done)
    assert list(ep["epoch"]) == [1, 2, 3]
    last = df[df["epoch"] == 3]["perplexity"]
    assert (last == ep["perplexity"].iloc[2]).all()


def test_csv_and_parquet_round_trip_the_numbers(done):
    df = metrics_frame(done)
    from_csv = pd.read_csv(io.BytesIO(to_csv_bytes(df)))
    pd.testing.assert_frame_equal(from_csv, df, check_exact=True)
    from_parquet = pd.read_parquet(io.BytesIO(to_parquet_bytes(df)))
    pd.testing.assert_frame_equal(from_parquet, df, check_exact=True)


def test_weights_export_then_import_gives_identical_tensors(done):
    data = weights_bytes(done)
    sd = torch.load(io.BytesIO(data), weights_only=True)
    original = done.model().state_dict()
    assert set(sd) == set(original)
    assert all(v.device.type == "cpu" for v in sd.values())
    model = model_from_bytes(done, data)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, original[name]), name


class _Evil:
    """A pickle that would create a folder when unpickled (never allowed)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import os
        return os.makedirs, (self.target,)


def _torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _foreign_files(tmp_path):
    target = str(tmp_path / "pwned")
    return target, {
        "pickled object": pickle.dumps(_Evil(target)),
        "torch-saved object": _torch_bytes({"W_xh": _Evil(target)}),
        "random bytes": np.random.default_rng(0).bytes(4096),
        "empty": b"",
        "not tensors": _torch_bytes({"W_xh": 1.0}),
    }


def test_foreign_or_corrupted_weights_are_refused(done, tmp_path):
    target, files = _foreign_files(tmp_path)
    for what, data in files.items():
        with pytest.raises(store.StoreError):
            model_from_bytes(done, data)
    assert not Path(target).exists()  # nothing in a file was ever executed
    wrong = {k: torch.zeros(2, 2) for k in done.model().state_dict()}
    with pytest.raises(WeightsMismatch):
        model_from_bytes(done, _torch_bytes(wrong))


# ---------------------------------------------------------------- compare / sweep
def _fake(label, **cfg):
    return SimpleNamespace(name=label, config=RunConfig(**cfg).validate())


def test_config_diff_lists_exactly_the_differing_settings():
    secret = "my private diary " * 100
    runs = [_fake("a"), _fake("b", lr=0.5, theta=None),
            _fake("c", corpus="text", text=secret, name="ignored")]
    diff = config_diff(runs)
    assert list(diff.columns) == ["a", "b", "c"]
    assert set(diff.index) == {"lr", "theta", "corpus", "text"}
    assert diff.loc["theta", "b"] == "none" and diff.loc["lr", "b"] == "0.5"
    assert "1,700" in diff.loc["text", "c"] and "diary" not in diff.to_csv()
    assert config_diff([_fake("a"), _fake("a", name="x")]).empty
    assert list(config_diff([_fake("a"), _fake("a")]).columns) == ["a", "a (2)"]


def test_sweep_builds_the_named_validated_grid():
    base = RunConfig(**SMALL)
    cfgs = sweep_configs(base, ("lr", [0.5, 1.0, 2.0]), ("theta", [1.0, None]))
    assert [c.name for c in cfgs] == ["lr=0.5 θ=1", "lr=0.5 θ=none", "lr=1 θ=1",
                                      "lr=1 θ=none", "lr=2 θ=1", "lr=2 θ=none"]
    assert [(c.lr, c.theta) for c in cfgs][:2] == [(0.5, 1.0), (0.5, None)]
    assert all(c.num_hiddens == 32 and c.batch_size == 4 for c in cfgs)
    one = sweep_configs(RunConfig(probe_lanes=(0, 3)), ("batch_size", [2, 8]))
    assert [c.probe_lanes for c in one] == [(0,), (0, 3)]  # rows of the smaller batch


def test_sweep_rejects_bad_axes_and_values():
    base = RunConfig(**SMALL)
    with pytest.raises(ConfigError, match="activation cannot be swept"):
        sweep_configs(base, ("activation", ["relu"]))
    with pytest.raises(ConfigError, match="lr"):
        sweep_configs(base, ("lr", [-1.0]))
    with pytest.raises(ConfigError, match="at most 25"):
        sweep_configs(base, ("lr", [0.1 * i for i in range(1, 7)]), ("seed", list(range(5))))
    assert len(sweep_configs(base, ("lr", [1, 2, 3, 4, 5]), ("seed", [0, 1, 2, 3, 4]))) \
        == MAX_SWEEP
    with pytest.raises(ConfigError, match="different"):
        sweep_configs(base, ("lr", [1]), ("lr", [2]))
    assert parse_values("theta", "1, none, 1") == [1.0, None]
    assert parse_values("num_hiddens", " 64,128 ") == [64, 128]
    for name, text in (("lr", "fast"), ("num_hiddens", "1.5"), ("lr", " , "), ("lr", "inf"),
                       ("num_hiddens", "none")):
        with pytest.raises(ConfigError):
            parse_values(name, text)


# ---------------------------------------------------------------- Streamlit pieces
UPLOADER = """
from charrnn.ui.core import get_registry
from charrnn.ui.tuning import weights_uploader
import streamlit as st
model = weights_uploader(get_registry().list()[-1])
st.text("model" if model is not None else "no model")
"""


def _uploader_app():
    at = AppTest.from_string(UPLOADER, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_uploader_loads_good_weights_and_refuses_bad_ones_with_a_sentence(registry, tmp_path):
    run = finished_run(registry)
    at = _uploader_app()
    up = at.get("file_uploader")[0]
    up.upload("mine.pt", weights_bytes(run)).run()
    assert not at.exception and at.text[0].value == "model" and not at.error
    target, files = _foreign_files(tmp_path)
    for what, data in files.items():
        at.get("file_uploader")[0].upload("bad.pt", data).run()
        assert not at.exception, what
        assert at.text[0].value == "no model", what
        assert len(at.error) == 1 and "not a weights file" in at.error[0].value, what
        assert "Traceback" not in at.error[0].value
    assert not Path(target).exists()
    wrong = {k: torch.zeros(2, 2) for k in run.model().state_dict()}
    at.get("file_uploader")[0].upload("other.pt", _torch_bytes(wrong)).run()
    assert "do not fit" in at.error[0].value and "num_hiddens 32" in at.error[0].value


def test_continue_training_starts_from_the_uploaded_weights(registry):
    from charrnn.ui.tuning import continue_training
    run = finished_run(registry)
    new = continue_training(run, weights_bytes(run))
    assert new is not None and new.id != run.id
    path = Path(new.config.init_weights)
    assert path.parent == registry.root.resolve() and path.suffix == ".pt"
    saved = store.load_weights(path)
    for name, tensor in run.model().state_dict().items():
        assert torch.equal(saved[name], tensor)
    assert {k: v for k, v in new.config.to_dict().items() if k not in ("init_weights", "name")} \
        == {k: v for k, v in run.config.to_dict().items() if k not in ("init_weights", "name")}
    assert wait_for(lambda: new.status == "finished"), new.message
    # it starts where the first run ended, not from random weights
    assert new.log.step_columns()["loss"][0] < run.log.step_columns()["loss"][0] - 0.3
    assert continue_training(run, b"garbage") is None


def test_continue_training_needs_the_presenter(registry, monkeypatch):
    from charrnn.ui.tuning import continue_training
    run = finished_run(registry)
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")
    assert continue_training(run, weights_bytes(run)) is None
    assert len(registry.list()) == 1


def test_export_panel_offers_the_three_downloads(registry):
    finished_run(registry)
    at = AppTest.from_string(
        "from charrnn.ui.core import get_registry\n"
        "from charrnn.ui.tuning import export_panel\n"
        "export_panel(get_registry().list()[0])\n", default_timeout=60).run()
    assert not at.exception, at.exception
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Metrics (CSV)", "Metrics (Parquet)",
                                                "Weights (.pt)"]
    assert not buttons[2].proto.disabled
    assert any("camera" in c.value for c in at.caption)


# ---------------------------------------------------------------- pages
def test_compare_page_overlays_runs_and_shows_their_differences(registry):
    text = "<script>alert(1)</script> <b>bold</b> " * 60
    a = finished_run(registry, corpus="text", text=text, tokens="raw", prefix="<i>")
    b = finished_run(registry, corpus="text", text=text, tokens="raw", prefix="<i>", lr=0.5,
                     name="<b>bold</b>")
    at = app("compare")
    assert set(at.multiselect(key="runs").value) == {a.id, b.id}
    assert len(live_figures(at)) == 3
    diff = at.dataframe[0].value
    assert set(diff.index) == {"lr"}
    page = html_of(at)
    assert "<i>" not in page and "<script>" not in page and "<b>bold" not in page
    assert "&lt;i&gt;" in page and "&lt;b&gt;bold" in page
    assert "epoch 3" in page


def test_compare_page_takes_its_runs_from_the_url(registry):
    a = finished_run(registry)
    b = finished_run(registry, lr=0.5)
    finished_run(registry, lr=2.0)
    at = app("compare", query={"runs": [a.id, b.id, "nonexistent"]})
    assert at.multiselect(key="runs").value == [a.id, b.id]
    assert url_runs(at) == [a.id, b.id]
    at.multiselect(key="runs").unselect(a.id).run()
    assert url_runs(at) == [b.id]
    assert len(live_figures(at)) == 3 and "same settings" not in " ".join(
        c.value for c in at.caption)


def test_compare_page_follows_a_live_run(registry):
    live = registry.create(RunConfig(**{**SMALL, "num_epochs": 5000}).validate())
    assert wait_for(lambda: live.log.num_steps_logged > 3)
    at = app("compare", query={"runs": [live.id]})
    assert "running" in " ".join(m.value for m in at.markdown)
    assert len(live_figures(at)) == 3
    live.stop()


def test_sweep_page_shows_the_grid_then_queues_and_links_to_compare(registry):
    at = app("sweep", query={"num_hiddens": "32", "batch_size": "4", "num_steps": "8",
                             "max_tokens": "3000", "num_epochs": "2"})
    assert at.selectbox(key="sw_axis1").value == "lr"
    at.text_input(key="sw_vals1").input("0.5, 1").run()
    assert "The grid: 4 runs" in [s.value for s in at.subheader]
    assert at.button(key="sw_queue").label == "Queue 4 runs"
    at.button(key="sw_queue").click().run()
    runs = registry.list()
    assert sorted(r.name for r in runs) == ["lr=0.5 θ=1", "lr=0.5 θ=none", "lr=1 θ=1",
                                            "lr=1 θ=none"]
    assert all(r.config.num_hiddens == 32 for r in runs)
    status = " ".join(m.value for m in at.markdown)
    assert "lr=0.5 θ=none" in status and ("queued" in status or "running" in status)
    link = at.get("page_link")[0].proto
    assert link.page == "compare"
    assert sorted(link.query_string.replace("runs=", "").split("&")) == sorted(r.id for r in runs)


def test_sweep_page_explains_bad_values_and_large_grids(registry):
    at = app("sweep")
    at.text_input(key="sw_vals1").input("0.5, fast").run()
    assert any("not a number" in e.value for e in at.error)
    assert at.button(key="sw_queue").disabled
    at.text_input(key="sw_vals1").input(", ".join(str(i) for i in range(1, 14))).run()
    assert any("at most 25" in e.value for e in at.error)
    at.selectbox(key="sw_axis2").set_value(None).run()
    assert not at.error and not at.button(key="sw_queue").disabled
    assert registry.list() == []


def test_sweep_page_needs_the_presenter_key(registry, monkeypatch):
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")
    at = app("sweep")
    assert any("Only the presenter" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "sw_queue"]


def test_tuning_pages_in_chinese(registry):
    # AppTest formats options in English between runs, so switch pages first,
    # then the language (a real browser has no such limit)
    for page, title in (("compare", "比较运行"), ("sweep", "超参数扫描")):
        at = app(page)
        at.segmented_control(key="lang").set_value("zh").run()
        assert not at.exception, at.exception
        assert at.title[0].value == title


def test_every_tuning_string_exists_in_both_languages():
    from charrnn.i18n import tuning
    assert set(tuning.EN) == set(tuning.ZH)
    assert all(k.startswith("tune.") for k in tuning.EN)
