"""A lecture without a browser: the runs survive Streamlit's Clear cache, the
side-by-side pair trains at once, the gradient chart's reference line and
divergence marker, a student's page follows the lecturer's, phase groups."""
import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from charrnn import diagram as D
from charrnn import figures as F
from charrnn.config import RunConfig
from charrnn.i18n import t
from charrnn.runs import Registry
from charrnn.ui import unrolled
from tests.test_app_ui import APP, SMALL, wait_for


def test_clear_cache_does_not_take_down_the_runs(registry):
    from charrnn.ui.core import get_registry
    run = registry.create(RunConfig(**{**SMALL, "num_epochs": 100_000}).validate())
    st.cache_resource.clear()   # Streamlit's menu, or its C key
    assert get_registry() is registry and get_registry().get(run.id) is run
    run.stop()


def test_the_side_by_side_pair_trains_at_once_where_there_are_two_cores(tmp_path):
    reg = Registry(tmp_path / "runs", max_active=1)
    try:
        pair = [reg.create(RunConfig(**{**SMALL, "num_epochs": 100_000,
                                        "random_iter": r}).validate(), start=False)
                for r in (False, True)]
        assert reg.start_together(pair, cores=2)
        assert wait_for(lambda: all(r.log.num_steps_logged > 2 for r in pair), 60), \
            [r.status for r in pair]
        alone = [reg.create(RunConfig(**{**SMALL, "num_epochs": 100_000}).validate(),
                            start=False) for _ in range(2)]
        assert not reg.start_together(alone, cores=1)   # one core: the queue, as usual
        assert [r.status for r in alone] == ["queued", "queued"]
    finally:
        reg.stop_all()


def test_no_clipping_chart_shows_the_clipped_theta_and_where_it_diverged():
    steps = np.arange(1, 41)
    norms = np.r_[np.full(30, 0.5), np.geomspace(1, 1e4, 10)]
    fig = F.grad_norm_figure(steps, norms, norms, None, None, reference_theta=1.0,
                             diverged=(40, "the loss stayed high"))
    names = [d.name for d in fig.data]
    assert t("fig.grad.reference", "en", theta=1.0) in names
    marker = next(d for d in fig.data if d.name == t("fig.grad.diverged", "en", step=40))
    assert list(marker.x) == [40] and marker.y[0] == 1e4   # at the explosion's peak
    assert any("the loss stayed high" in a.text for a in fig.layout.annotations)
    clipped = F.grad_norm_figure(steps, norms, np.minimum(norms, 1), norms > 1, 1.0,
                                 reference_theta=1.0)
    assert t("fig.grad.reference", "en", theta=1.0) not in [d.name for d in clipped.data]


def test_a_student_follows_the_lecturers_page(registry, monkeypatch):
    monkeypatch.setenv("CHARRNN_PRESENTER_KEY", "s3cret")
    registry.create(RunConfig(**{**SMALL, "num_epochs": 2}).validate())
    lecturer = AppTest.from_file(APP, default_timeout=60)
    lecturer.run()
    lecturer.text_input(key="presenter_key_input").input("s3cret").run()
    lecturer.switch_page("../../pages/gradients.py").run()
    assert not lecturer.exception and lecturer.title[0].value == t("grad.title", "en")
    student = AppTest.from_file(APP, default_timeout=60)
    student.run()
    assert not student.exception
    assert student.title[0].value == t("grad.title", "en"), "the student is not on Gradients"
    student.toggle(key="follow_side").set_value(False).run()
    student.switch_page("../../pages/train.py").run()
    assert student.title[0].value == t("train.title", "en"), "following off: the student stays"


def test_phase_groups_cover_one_iteration_in_six_steps():
    phases = D.phases(D.example_spec())
    starts = unrolled.groups(phases)
    assert [phases[i]["kind"] for i in starts] == list(D.PHASE_KINDS)
    assert starts[0] == 0 and starts[1] == 5 and starts[2] == 6   # 5 forward steps, loss


def test_the_d2l_example_shows_only_its_own_numbers(registry):
    run = registry.create(RunConfig(**{**SMALL, "num_epochs": 3, "theta": 0.01}).validate())
    assert wait_for(lambda: run.status == "finished", 60)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"run": run.id})
    at.run()
    at.switch_page("../../pages/unrolled.py").run()
    at.segmented_control(key="unr_source").set_value("example").run()
    for _ in range(13):   # to the last phases: clip, update, next
        at.button(key="unr_step").click().run()
    text = " ".join(m.value for m in at.markdown)
    assert "0.01" not in text and f"{run.log.last_step()['grad_norm']:.4g}" not in text


def test_unrolled_page_in_presentation_mode_has_no_two_buttons_alike(registry):
    """The strip's Step (one minibatch of the run) and the diagram's step (one
    phase) sit on one projector screen: no two buttons share a label, in
    either language."""
    run = registry.create(RunConfig(**{**SMALL, "num_epochs": 100_000}).validate())
    assert wait_for(lambda: run.log.num_steps_logged > 3, 60), run.message
    run.pause()
    for lang in ("en", "zh"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update({"lang": lang, "present": "1"})
        at.run()
        at.switch_page("../../pages/unrolled.py").run()
        assert not at.exception, at.exception
        labels = [b.label for b in at.button]
        assert t("app.ctl.step", lang) in labels and t("unr.forward", lang) in labels, labels
        twice = sorted({x for x in labels if labels.count(x) > 1})
        assert not twice, f"{lang}: buttons share a label: {twice}"
    run.stop()


def test_a_chart_nothing_will_redraw_gets_the_runs_last_steps():
    """A run that just ended (an explosion's last steps): its page stops
    polling, so the chart drawn then must be current, not the frame of a
    moment ago that a polling page would replace a second later."""
    import time

    from charrnn.ui import live
    live._shared.clear()
    built = []

    def build():
        built.append(object())
        return built[-1]
    fig, _ = live.shared_figure(("end",), 1, build)
    assert live.shared_figure(("end",), 2, build) == (fig, 1)   # polling: the frame will do
    live._building.add(("end",))   # even while another session builds the next one
    try:
        assert live.shared_figure(("end",), 2, build, current=True) == (built[-1], 2)
    finally:
        live._building.clear()
    assert len(built) == 2
    live._shared[("end",)] = (time.monotonic(), 2, built[-1], 5.0)   # a costly build
    assert live.shared_figure(("end",), 3, build, current=True) == (built[-1], 3)


def test_a_diverged_runs_perplexity_axis_labels_a_few_decades():
    """Perplexity from 10 to 1e27 (an explosion): the log axis labels a few
    decades, not 27 labels on top of each other."""
    fig = F.perplexity_figure(np.arange(1, 18), np.r_[np.full(15, 10.0), 1e7, 1e27],
                              present=True)
    ticks = list(fig.layout.yaxis.tickvals)
    assert 3 <= len(ticks) <= 7, ticks
    assert min(ticks) <= 10 and max(ticks) >= 1e25, ticks
