"""Held-out perplexity on the pages: beside training perplexity, and the
memorisation note when one is far below the other."""
import math

from streamlit.testing.v1 import AppTest

from charrnn.config import RunConfig
from charrnn.events import Epoch, Ready, Start
from charrnn.runs import Run
from tests.test_app_ui import APP

START = Start(**{"vocab_size": 28, "num_tokens": 10000, "corpus": "The Time Machine", "warning": None,
         "device": "cpu", "cores": 1, "num_params": 100, "param_names": ["W_hh"],
         "train_tokens": 10000, "val_source": "after", "val_tokens": 1000})


def ended_run(registry, run_id, curve):
    """A finished run whose epochs had (training, validation) perplexity `curve`."""
    run = Run(RunConfig(num_epochs=len(curve), name=run_id).validate(), run_id, registry.root)
    run._apply(Ready(idx_to_token=["<unk>", " ", "e"], param_names=["W_hh"]))
    run._apply(START)
    for i, (ppl, val) in enumerate(curve, 1):
        run._apply(Epoch(epoch=i, perplexity=ppl, val_perplexity=val, tokens=1000,
                         tokens_per_s=1e5, time=i, step=8 * i))
    run.status = "finished"
    return registry.add(run)


def train_page(run, lang="en"):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"run": run.id, "lang": lang})
    at.run()
    assert not at.exception, at.exception
    return at


def test_memorising_run_is_named_with_what_to_try_in_both_languages(registry):
    run = ended_run(registry, "memorises", [(9.0, 9.5), (3.0, 6.0), (1.04, 8.7)])
    at = train_page(run)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Perplexity"] == "1.04" and metrics["Validation perplexity"] == "8.70"
    [note] = [w.value for w in at.warning if "memorising" in w.value]
    assert "1.04" in note and "8.70" in note and "fewer epochs" in note
    assert "6.00 at epoch 2" in note                        # where to stop instead
    zh = train_page(run, "zh")
    assert any("模型正在记忆" in w.value for w in zh.warning)


def test_a_run_that_generalises_gets_no_note(registry):
    run = ended_run(registry, "learns", [(12.0, 12.4), (8.0, 8.9), (6.1, 7.2)])
    at = train_page(run)
    assert not [w for w in at.warning if "memorising" in w.value]
    assert {m.label: m.value for m in at.metric}["Validation perplexity"] == "7.20"


def test_a_run_without_held_out_text_shows_a_dash(registry):
    run = ended_run(registry, "noval", [(6.0, math.nan)])
    at = train_page(run)
    assert {m.label: m.value for m in at.metric}["Validation perplexity"] == "–"
    assert not [w for w in at.warning if "memorising" in w.value]
