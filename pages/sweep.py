"""Sweep: queue one run per combination of one or two hyperparameters' values."""
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation
from dataclasses import replace

import time

import pandas as pd
import streamlit as st

from charrnn.config import ConfigError
from charrnn.data import CorpusError, check_length, load_corpus
from charrnn.export import SWEEPABLE, format_setting, parse_values, sweep_configs
from charrnn.settings import BY_NAME, SETTINGS
from charrnn import figures as F
from charrnn.sweep.ray_tune import ray_available
from charrnn.ui.config_form import build_config, config_sidebar
from charrnn.ui.core import ROOT
from charrnn.ui.results import results_panel
from charrnn.ui.sweeps import start_sweep, stop_sweep, sweep_state

# what the values box shows when a setting is chosen: a sensible first sweep
DEFAULT_VALUES = {s.name: s.sweep for s in SETTINGS if s.sweep}
lang = ui.lang()
reg = ui.get_registry()

with st.sidebar:
    st.header(ui.tr("cfg.title"))
    text = config_sidebar(page="sweep")

st.title(ui.tr("tune.sw.title"))
st.caption(ui.tr("tune.sw.intro", active=reg.max_active))


def reset_values(slot):
    axis = st.session_state.get(f"sw_axis{slot}")
    st.session_state[f"sw_vals{slot}"] = DEFAULT_VALUES.get(axis, "")


def values_box(col, slot, axis):
    st.session_state.setdefault(f"sw_vals{slot}", DEFAULT_VALUES[axis])
    return col.text_input(ui.tr("tune.sw.values", name=axis), key=f"sw_vals{slot}",
                          help=ui.tr("tune.sw.values.theta_help" if BY_NAME[axis].none
                                     else "tune.sw.values.help"))


def plan(axis1, vals1, axis2, vals2):
    """The validated configs of the grid; ConfigError / CorpusError say why not."""
    base = build_config(text)
    axes = [(axis1, parse_values(axis1, vals1, lang))]
    if axis2:
        axes.append((axis2, parse_values(axis2, vals2, lang)))
    cfgs = sweep_configs(base, *axes, lang=lang)
    if {axis1, axis2} & {"batch_size", "num_steps", "max_tokens"}:
        # these change how many minibatches the corpus makes: check each run now,
        # not in its thread after it has waited in the queue
        corpora = {}
        for cfg in cfgs:
            if cfg.max_tokens not in corpora:
                corpora[cfg.max_tokens] = load_corpus(cfg.corpus, cfg.tokens, cfg.max_tokens,
                                                      cfg.text)
            try:
                check_length(corpora[cfg.max_tokens], cfg.batch_size, cfg.num_steps)
            except CorpusError as exc:
                raise CorpusError(ui.tr("tune.sw.corpus", name=cfg.name,
                                        reason=ui.error_text(exc))) from None
    return cfgs


def start_driven(cfgs, axes, settings):
    st.session_state["sweep_name"] = start_sweep(cfgs, axes, settings)


def queue(cfgs):
    ids = [reg.create(replace(cfg)).id for cfg in cfgs]  # the registry queues them
    st.session_state["sweep_ids"] = ids
    st.session_state["_sweep_queued"] = len(ids)


if not ui.can_control():
    st.info(ui.tr("tune.sw.locked"))
else:
    c1, c2 = st.columns(2)
    st.session_state.setdefault("sw_axis1", "lr")  # the first thing a tuner varies
    axis1 = c1.selectbox(ui.tr("tune.sw.axis1"), SWEEPABLE, key="sw_axis1",
                         on_change=reset_values, args=(1,))
    vals1 = values_box(c1, 1, axis1)
    st.session_state.setdefault("sw_axis2", "theta")
    axis2 = c2.selectbox(ui.tr("tune.sw.axis2"), [None, *SWEEPABLE], key="sw_axis2",
                         on_change=reset_values, args=(2,),
                         format_func=lambda a: ui.tr("tune.sw.axis.none") if a is None else a)
    vals2 = values_box(c2, 2, axis2) if axis2 else ""
    try:
        cfgs = plan(axis1, vals1, axis2, vals2)
    except (ConfigError, CorpusError, OSError) as exc:
        st.error(str(exc))
        cfgs = []
    if cfgs:
        st.subheader(ui.tr("tune.sw.grid", n=len(cfgs)))
        axes = [a for a in (axis1, axis2) if a]
        st.dataframe(pd.DataFrame([{"run": c.name, **{a: format_setting(getattr(c, a))
                                                      for a in axes}} for c in cfgs]),
                     hide_index=True)
    e1, e2, e3 = st.columns(3)
    executor = e1.radio(ui.tr("sw.exec"), ["local", "ray"], key="sw_exec", horizontal=True,
                        format_func=lambda x: ui.tr(f"sw.exec.{x}"))
    address = e2.text_input(ui.tr("sw.address"), "auto", key="sw_address",
                            help=ui.tr("sw.address.help"), disabled=executor != "ray")
    scheduler = e3.selectbox(ui.tr("sw.scheduler"), ["none", "asha"], key="sw_scheduler",
                             format_func=lambda x: ui.tr(f"sw.scheduler.{x}"))
    missing = executor == "ray" and not ray_available()
    if missing:
        st.error(ui.tr("sw.ray_missing"))
    if executor == "local" and scheduler == "none":   # the registry's own queue
        st.button(ui.tr("tune.sw.queue", n=len(cfgs)), key="sw_queue", type="primary",
                  icon=":material/playlist_add:", disabled=not cfgs, on_click=queue,
                  args=(cfgs,))
    else:
        st.button(ui.tr("sw.start", n=len(cfgs)), key="sw_start", type="primary",
                  icon=":material/rocket_launch:", disabled=not cfgs or missing,
                  on_click=start_driven, args=(cfgs, [a for a in (axis1, axis2) if a],
                                               {"executor": executor, "scheduler": scheduler,
                                                "ray_address": address.strip() or "auto"}))
    if st.session_state.pop("_sweep_queued", None):
        st.success(ui.tr("tune.sw.queued", n=len(st.session_state["sweep_ids"])))

driven = sweep_state(st.session_state.get("sweep_name"))
if driven is not None:
    rec = driven["driver"].record
    for _ in range(50):   # the driver's thread makes the trials' runs first thing
        if all(t["run_id"] for t in rec.trials) or not driven["thread"].is_alive():
            break
        time.sleep(0.1)
    st.session_state["sweep_ids"] = [t["run_id"] for t in rec.trials if t["run_id"]]
    done = sum(t["status"] in ("finished", "stopped_early", "diverged", "failed")
               for t in rec.trials)
    st.markdown(ui.tr("sw.running", name=rec.name, done=done, n=len(rec.trials)))
    if driven["error"]:
        st.error(ui.tr("sw.failed", reason=driven["error"]))
    if driven["thread"].is_alive():
        st.button(ui.tr("sw.stop"), key="sw_stop", icon=":material/stop:",
                  on_click=stop_sweep, args=(rec.name,))
    elif driven["driver"].stop_event.is_set():
        st.info(ui.tr("sw.stopped", name=rec.name))

sweep = [reg.get(i) for i in st.session_state.get("sweep_ids", []) if reg.get(i)]
if not sweep:
    st.stop()


@ui.live_fragment(*sweep)
def statuses():
    st.subheader(ui.tr("tune.sw.status"))
    lines = []
    for r in sweep:
        p = r.progress()
        parts = [f"{ui.status_badge(r.status)} **{r.name}**",
                 ui.tr("tune.sw.progress", epoch=p["epoch"], total=p["num_epochs"])]
        if p["perplexity"] is not None:
            parts.append(ui.tr("tune.sw.ppl", ppl=p["perplexity"]))
        lines.append(" · ".join(parts))
    st.markdown("  \n".join(lines))
    st.page_link(ROOT / "pages" / "compare.py", label=ui.tr("tune.sw.compare"),
                 icon=":material/compare_arrows:", query_params={"runs": [r.id for r in sweep]})
    names = [r.name for r in sweep]
    epochs = {n: r.log.epoch_columns() for n, r in zip(names, sweep)}
    ui.chart("sw_val", lambda: F.metrics_compare_figure(
        {n: (e["epoch"], e["val_perplexity"]) for n, e in epochs.items()},
        y_title_key="fig.ppl.val", x_title_key="fig.axis.epoch", log_y=True, lang=lang,
        uirevision="sweep"), tuple((r.id, r.log.version) for r in sweep) + (lang,))
    results_panel(sweep, "sweep")


statuses()
