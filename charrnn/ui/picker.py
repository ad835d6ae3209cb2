"""The run picker: which run a page shows (a link's ?run=, or the lecturer's)."""
from __future__ import annotations

import time

import streamlit as st

from ..runs import Run
from .core import get_registry, link_warning, tr
from .follow import followed_run, publish


def _run_label(run: Run) -> str:
    # no status: the browser keeps a kept selection's old label, so a status
    # here would go stale; the badge under the picker is always current
    when = time.strftime("%H:%M:%S", time.localtime(run.created))
    return f"{run.name} · {when} · {run.id[-4:]}"  # the id's tail: labels stay unique


def run_picker(label_key="app.run.pick", collapsed: bool = False) -> Run | None:
    """The run this page shows; `?run=ID` in the URL picks it (shareable)."""
    reg = get_registry()
    runs = reg.list()
    ids = [r.id for r in runs]
    # not bind="query-params": with a format_func that puts the label, not the id, in the URL
    url = st.query_params.get("run")
    unknown = url is not None and url not in ids and url != st.session_state.get("_run_url")
    if not runs:
        if unknown:
            link_warning("run", "link.run", value=url[:40])
        return None
    if unknown:
        shown = st.session_state.get("run") if st.session_state.get("run") in ids else ids[0]
        link_warning("run", "link.run", keep_while=shown, value=url[:40])
    if url in ids and url != st.session_state.get("_run_url"):
        st.session_state["run"] = url      # a shared link picks its run
    lecturer = followed_run(ids)
    if lecturer is not None:
        st.session_state["run"] = lecturer   # a student follows the lecturer's run
    if st.session_state.get("run") not in ids:
        st.session_state["run"] = ids[0]
    run_id = st.selectbox(tr(label_key), ids, key="run", index=ids.index(st.session_state["run"]),
                          label_visibility="collapsed" if collapsed else "visible",
                          width=200 if collapsed else "stretch",
                          format_func=lambda i: _run_label(reg.get(i)) if reg.get(i) else i)
    publish(run=run_id)
    st.session_state["_run_url"] = run_id
    if url != run_id:
        st.query_params["run"] = run_id
    return reg.get(run_id)
