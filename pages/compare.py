"""Compare: several runs' curves overlaid, the settings they differ in, their text."""
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation
import time

import streamlit as st

from charrnn import figures as F
from charrnn.export import config_diff, run_labels
from charrnn.ui.results import results_panel
from charrnn.ui.core import link_warning

MAX_RUNS = 10
lang, present = ui.lang(), ui.present()
st.title(ui.tr("tune.cmp.title"))
if st.session_state.get("_side_note"):   # the side-by-side pair could not train at once
    st.info(st.session_state.pop("_side_note"))
st.caption(ui.tr("tune.cmp.intro"))
reg = ui.get_registry()
runs = reg.list()
if not runs:
    st.info(ui.tr("app.no_runs"))
    st.stop()
ids = [r.id for r in runs]
missing = [i.strip() for v in st.query_params.get_all("runs") for i in v.split(",")
           if i.strip() and i.strip() not in ids]
if missing:  # said while the link names them
    link_warning("runs", "link.runs", value=",".join(missing)[:60])


def url_ids():
    """Run ids in the URL (?runs=A&runs=B or ?runs=A,B) that still exist."""
    wanted = [i.strip() for v in st.query_params.get_all("runs") for i in v.split(",")]
    return [i for i in dict.fromkeys(wanted) if i in ids][:MAX_RUNS]


def to_url():
    st.query_params["runs"] = st.session_state["runs"]


# The URL holds run ids, synced by hand: a multiselect bound with
# bind="query-params" writes the *shown labels* into the link (Streamlit 1.67
# serialises format_func's text), and names are neither unique nor short.
if url_ids() and url_ids() != st.session_state.get("runs"):
    st.session_state["runs"] = url_ids()     # arrived by a link (e.g. from Sweep)
elif "runs" not in st.session_state:
    st.session_state["runs"] = ids[:2]
else:                                        # a chosen run may have been deleted
    st.session_state["runs"] = [i for i in st.session_state["runs"] if i in ids]


def label(run_id):
    # no status here: this box is not redrawn live; the badges below are
    r = reg.get(run_id)
    return f"{r.name} · {time.strftime('%H:%M:%S', time.localtime(r.created))}"


chosen = st.multiselect(ui.tr("tune.cmp.pick"), ids, key="runs", format_func=label,
                        default=st.session_state["runs"],   # see config_form: its own default
                        max_selections=MAX_RUNS, on_change=to_url,
                        help=ui.tr("tune.cmp.pick.help", max=MAX_RUNS))
if list(st.query_params.get_all("runs")) != chosen:
    st.query_params["runs"] = chosen
picked = [reg.get(i) for i in chosen if reg.get(i) is not None]
if not picked:
    st.info(ui.tr("tune.cmp.choose"))
    st.stop()
names = run_labels(picked)                   # unique, as config_diff's columns


@ui.live_fragment(*picked)
def live():
    st.markdown("  \n".join(f"{ui.status_badge(r.status)} {n}" for n, r in zip(names, picked)))
    sig = tuple((r.id, r.log.version) for r in picked) + (lang, present)
    epochs = {n: r.log.epoch_columns() for n, r in zip(names, picked)}
    steps = {n: r.log.step_columns() for n, r in zip(names, picked)}
    kw = dict(lang=lang, present=present, uirevision="compare")
    c1, c2 = st.columns(2)
    with c1:
        ui.chart("cmp_ppl", lambda: F.metrics_compare_figure(
            {n: (e["epoch"], e["perplexity"]) for n, e in epochs.items()},
            y_title_key="tune.y.ppl", x_title_key="fig.axis.epoch", log_y=True, **kw), sig)
    with c2:
        ui.chart("cmp_loss", lambda: F.metrics_compare_figure(
            {n: (s["step"], s["loss"]) for n, s in steps.items()},
            y_title_key="tune.y.loss", **kw), sig)
    ui.chart("cmp_grad", lambda: F.metrics_compare_figure(
        {n: (s["step"], s["grad_norm"]) for n, s in steps.items()},
        y_title_key="tune.y.grad", log_y=True, **kw), sig)
    st.subheader(ui.tr("tune.cmp.samples"))
    rows = []
    for n, r in zip(names, picked):
        samples = r.log.sample_list()
        if samples:
            s = samples[-1]
            rows.append(ui.sample_html(s["prefix"], s["generated"], title=n,
                                       label=ui.tr("tune.cmp.sample.epoch", epoch=s["epoch"])))
        else:
            rows.append(ui.sample_html("", "", title=n, label=ui.tr("tune.cmp.no_sample")))
    ui.show_samples(rows, scroll=False)


live()
st.subheader(ui.tr("tune.cmp.diff"))
if len(picked) == 1:
    st.caption(ui.tr("tune.cmp.one"))
else:
    diff = config_diff(picked, lang)
    if diff.empty:
        st.caption(ui.tr("tune.cmp.same"))
    else:
        st.dataframe(diff, width="stretch")
results_panel(picked, "compare")
