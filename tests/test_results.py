"""Results of several runs: the table, the note on a setting that changed
nothing, the spread over seeds, the export; on the Compare and Sweep pages."""
import io
import math

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from charrnn.config import RunConfig
from charrnn.events import Epoch, Ready, Start, Step
from charrnn.results import inert_settings, long_frame, over_seeds, results_table
from charrnn.runs import Run
from tests.test_app_ui import APP

START = Start(vocab_size=28, num_tokens=10000, corpus="The Time Machine", warning=None,
              device="cpu", cores=1, num_params=100, param_names=["W_hh"])


def made_run(root, run_id, peak=0.5, val=(9.0, 7.0), **cfg):
    """A finished run whose steps' gradient norms reach `peak`."""
    run = Run(RunConfig(num_epochs=len(val), name=run_id, **cfg).validate(), run_id, root)
    run._apply(Ready(idx_to_token=["<unk>", " ", "e"], param_names=["W_hh"]))
    run._apply(START)
    for i, v in enumerate(val, 1):
        for s in range(2):
            g = peak if s else peak / 2
            theta = run.config.theta
            run._apply(Step(step=2 * i + s, epoch=i, loss=2.0, grad_norm=g,
                            grad_norm_clipped=min(g, theta) if theta else g,
                            clipped=bool(theta and g > theta), param_norms=[g],
                            tokens_per_s=1e4, time=float(i)))
        run._apply(Epoch(epoch=i, perplexity=v - 1, val_perplexity=v, tokens=100,
                         tokens_per_s=1e4, time=float(i), step=2 * i))
    run.status = "finished"
    return run


def test_the_table_marks_the_lowest_validation_perplexity(tmp_path):
    runs = [made_run(tmp_path, "a", val=(9, 8), lr=0.5), made_run(tmp_path, "b", val=(9, 6), lr=2),
            made_run(tmp_path, "c", val=(9, 7), lr=1)]
    t = results_table(runs)
    assert list(t.loc[t["best"], "name"]) == ["b"]
    row = t.set_index("name").loc["b"]
    assert row["val_perplexity"] == 6 and row["perplexity"] == 5 and row["lr"] == "2"
    assert row["best_perplexity"] == 5 and row["clip_rate"] == 0


def test_runs_that_differ_only_in_a_theta_never_reached_are_named(tmp_path):
    quiet = [made_run(tmp_path, "q1", peak=0.5, theta=1), made_run(tmp_path, "q2", peak=0.5,
                                                                   theta=None)]
    [note] = inert_settings(quiet)
    assert note["setting"] == "theta" and note["theta"] == 1 and note["peak"] == 0.5
    clipped = [made_run(tmp_path, "c1", peak=3, theta=1), made_run(tmp_path, "c2", peak=3,
                                                                   theta=None)]
    assert inert_settings(clipped) == []
    other = [made_run(tmp_path, "o1", peak=0.5, theta=1, lr=1),
             made_run(tmp_path, "o2", peak=0.5, theta=None, lr=2)]
    assert inert_settings(other) == []         # lr differs too: theta is not the only one


def test_mean_and_spread_over_seeds(tmp_path):
    runs = [made_run(tmp_path, f"s{s}{lr}", val=(9, v), lr=lr, seed=s)
            for lr, vals in ((1, (6, 8)), (2, (5, 5))) for s, v in enumerate(vals)]
    t = results_table(runs)
    agg = over_seeds(t, ["lr", "seed"]).set_index("lr")
    assert agg.loc["1", "val_perplexity_mean"] == 7 and agg.loc["2", "val_perplexity_std"] == 0
    assert agg.loc["1", "val_perplexity_std"] == pytest.approx(math.sqrt(2))
    assert list(agg["seeds"]) == [2, 2]


def test_the_export_has_a_row_per_run_and_epoch_and_settings_as_columns(tmp_path):
    runs = [made_run(tmp_path, "a", lr=0.5), made_run(tmp_path, "b", lr=2)]
    df = long_frame(runs)
    assert len(df) == 4 and {"lr", "theta", "num_hiddens", "val_perplexity"} <= set(df.columns)
    back = pd.read_parquet(io.BytesIO(df.to_parquet(index=False)))
    assert back.equals(df)


def add(registry, run):
    registry.add(run)
    return run


def test_compare_shows_results_and_why_two_curves_are_the_same(registry):
    a = add(registry, made_run(registry.root, "theta1", theta=1, val=(9, 6)))
    b = add(registry, made_run(registry.root, "nothing", theta=None, val=(9, 7)))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"runs": [a.id, b.id]})
    at.run()
    at.switch_page("../../pages/compare.py").run()
    assert not at.exception, at.exception
    assert "Results" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert list(table.loc[table["best"] == "★", "name"]) == ["theta1"]
    assert table["open"].tolist() == [f"./?run={a.id}", f"./?run={b.id}"]
    assert any("no step's gradient norm" in i.value for i in at.info)


def test_sweep_page_offers_executors_and_says_what_to_install(registry, monkeypatch):
    import charrnn.sweep.ray_tune as rt
    monkeypatch.setattr(rt, "ray_available", lambda: False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("../../pages/sweep.py").run()
    at.radio(key="sw_exec").set_value("ray").run()
    assert any("pip install -r requirements-ray.txt" in e.value for e in at.error)
    assert at.button(key="sw_start").disabled
    at.radio(key="sw_exec").set_value("local").run()
    at.selectbox(key="sw_scheduler").set_value("asha").run()
    assert not at.button(key="sw_start").disabled and not at.error


def test_a_sweep_started_on_the_page_shows_its_trials_and_can_be_stopped(registry):
    from tests.test_app_ui import wait_for
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"num_hiddens": "16", "batch_size": "4", "num_steps": "8",
                            "max_tokens": "2000", "num_epochs": "500"})
    at.run()
    at.switch_page("../../pages/sweep.py").run()
    at.text_input(key="sw_vals1").input("0.5, 1").run()
    at.selectbox(key="sw_axis2").set_value(None).run()
    at.selectbox(key="sw_scheduler").set_value("asha").run()
    at.button(key="sw_start").click().run()
    assert not at.exception, at.exception
    assert wait_for(lambda: len(registry.list()) == 2, 30)
    assert sorted(r.name for r in registry.list()) == ["lr=0.5", "lr=1"]
    assert wait_for(lambda: any(r.log.epochs.n for r in registry.list()), 60)
    at.run()
    assert any("Sweep sweep-" in m.value for m in at.markdown)
    at.button(key="sw_stop").click().run()
    assert wait_for(lambda: not any(r.is_active for r in registry.list()), 60)
    import threading
    assert wait_for(lambda: not any(t.name.startswith("sweep-") for t in threading.enumerate()),
                    60)
    at.run()
    assert any("--resume sweep-" in i.value for i in at.info)
