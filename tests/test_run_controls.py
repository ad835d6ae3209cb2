"""What the run's buttons do: Delete and a long run's Stop ask first, an
ended run resumes from its checkpoint or restarts with its settings, and a
viewer without the presenter key changes nothing, whatever reaches the
server (a disabled button is only what the viewer sees)."""
from __future__ import annotations

import time

import pytest
import streamlit as st

from charrnn.ui import config_form, controls
from tests.test_hardening import app, finish, small, texts, wait_for


def buttons(at, prefix):
    return [b for b in at.button if b.key and b.key.startswith(prefix)]


def test_delete_asks_first_and_cancel_keeps_the_run(registry):
    run = finish(registry.create(small(num_epochs=1)))
    at = app(query={"run": run.id})
    at.button(key=f"delete_{run.id}").click().run()
    assert registry.get(run.id) is not None and run.folder.exists()
    assert "cannot be undone" in texts(at)
    at.button(key=f"cancel_{run.id}").click().run()
    assert registry.get(run.id) is not None and not buttons(at, "yes_")
    at.button(key=f"delete_{run.id}").click().run()
    at.button(key=f"yes_delete_{run.id}").click().run()
    assert registry.get(run.id) is None and not run.folder.exists()


def test_stop_asks_only_after_a_minute_of_training(registry, monkeypatch):
    run = registry.create(small(num_epochs=100_000))
    assert wait_for(lambda: run.log.num_steps_logged > 3)
    run.pause()
    monkeypatch.setattr(controls, "STOP_ASKS_AFTER_S", 0.0)   # it "trained for a minute"
    at = app(query={"run": run.id})
    at.button(key=f"stop_{run.id}").click().run()
    assert run.status == "paused" and "more than a minute" in texts(at)
    at.button(key=f"yes_stop_{run.id}").click().run()
    run.join(20)
    assert run.status == "stopped"
    young = registry.create(small(num_epochs=100_000))
    assert wait_for(lambda: young.log.num_steps_logged > 3)
    monkeypatch.setattr(controls, "STOP_ASKS_AFTER_S", 3600.0)
    at = app(query={"run": young.id})
    at.button(key=f"stop_{young.id}").click().run()
    young.join(20)
    assert young.status == "stopped"   # at once


def test_a_stopped_run_resumes_and_restarts_from_its_buttons(registry):
    run = registry.create(small(num_epochs=6))
    assert wait_for(lambda: run.log.epochs.n >= 2)
    run.stop()
    run.join(20)
    n = run.log.num_steps_logged
    at = app(query={"run": run.id})
    assert f"Resume from step {n}" in [b.label for b in buttons(at, "resumeck_")]
    at.button(key=f"resumeck_{run.id}").click().run()
    assert wait_for(lambda: run.status == "finished", 120)
    assert run.log.epochs.n == 6 and run.log.num_steps_logged > n
    at.run()
    at.button(key=f"restart_{run.id}").click().run()
    new = registry.list()[0]
    assert new.id != run.id and new.config == run.config
    assert at.selectbox(key="run").value == new.id
    finish(new)


def forge_click(at, key):
    """What a crafted client can send: a click on a button drawn disabled."""
    hits = buttons(at, key)
    assert hits, key
    hits[0].proto.disabled = False
    hits[0].click().run()


def _viewer(monkeypatch):
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")


def test_a_viewer_without_the_key_changes_nothing_through_the_servers_entry_points(
        registry, monkeypatch):
    """Each callback as the server would call it for a viewer's session."""
    done = finish(registry.create(small(num_epochs=1)))
    live = registry.create(small(num_epochs=100_000))
    assert wait_for(lambda: live.log.num_steps_logged > 3)
    live.pause()
    _viewer(monkeypatch)
    at = app(query={"run": live.id})
    n = live.log.num_steps_logged
    # a forged click on every disabled button (AppTest sends it, as a crafted client could)
    for key in ("start", "side_by_side"):   # drawn disabled for a viewer (Streamlit drops these)
        forge_click(at, key)
    # the run's own buttons are not drawn for a viewer: no callback of theirs is
    # registered in this session, so no message can reach one
    assert not buttons(at, f"resume_{live.id}") and not buttons(at, f"stop_{live.id}")
    at2 = app(query={"run": done.id})
    assert not buttons(at2, f"delete_{done.id}") and not buttons(at2, f"restart_{done.id}")
    assert live.status == "paused" and live.log.num_steps_logged == n
    assert {r.id for r in registry.list()} == {done.id, live.id}
    assert live.status == "paused" and live.log.num_steps_logged == n
    assert {r.id for r in registry.list()} == {done.id, live.id} and done.folder.exists()
    # the callbacks themselves, with a question that was never asked of this viewer
    st.session_state["_confirm"] = ("delete", done.id)
    for call in (config_form.start_run, config_form.start_side_by_side,
                 lambda: config_form.start_run(preset="quick"),
                 lambda: controls.confirmed("delete", done.id),
                 lambda: controls.ask_stop(live), lambda: controls.step(live),
                 lambda: controls.resume(live), lambda: controls.restart(done.id)):
        call()
    assert live.status == "paused" and live.log.num_steps_logged == n
    assert {r.id for r in registry.list()} == {done.id, live.id} and done.folder.exists()
    monkeypatch.delenv("CHARRNN_PRESENTER_KEY")
    live.stop()
    live.join(20)
