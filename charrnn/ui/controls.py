"""A run's buttons: pause, step, stop, delete while it trains or has ended;
resume from its checkpoint and restart with its settings once it has ended.

Every callback checks the presenter key itself: a disabled button is only
what a viewer sees, and a click can reach the server without it. Delete, and
Stop on a run that has trained for more than STOP_ASKS_AFTER_S, ask first.
"""
from __future__ import annotations

import functools

import streamlit as st

from ..runs import Run
from .core import can_control, get_registry, tr

STOP_ASKS_AFTER_S = 60.0
_CONFIRM = "_confirm"   # session state: (what, run id) waiting for a yes


def trained_s(run: Run) -> float:
    """Seconds the run has trained (pauses excluded)."""
    last = run.log.last_step() or {}
    ep = run.log.epochs.last() or {}
    return max(last.get("time", 0.0), ep.get("time", 0.0))


def _guarded(fn):
    """A callback that does nothing for a viewer without the presenter key."""
    @functools.wraps(fn)
    def callback(*args):
        if can_control():
            fn(*args)
    return callback


@_guarded
def pause(run: Run):
    run.pause()


@_guarded
def resume(run: Run):
    run.resume()


@_guarded
def step(run: Run):
    run.step()


@_guarded
def ask_stop(run: Run):
    if trained_s(run) > STOP_ASKS_AFTER_S:
        st.session_state[_CONFIRM] = ("stop", run.id)
    else:
        run.stop()


@_guarded
def ask_delete(run: Run):
    st.session_state[_CONFIRM] = ("delete", run.id)


def cancel():
    st.session_state.pop(_CONFIRM, None)


@_guarded
def confirmed(what: str, run_id: str):
    if st.session_state.pop(_CONFIRM, None) != (what, run_id):
        return   # a stale click: the question is no longer on the page
    reg = get_registry()
    if what == "delete":
        reg.delete(run_id)
    elif what == "delete_folder":
        reg.delete_unreadable(run_id)
    elif what == "stop" and reg.get(run_id) is not None:
        reg.get(run_id).stop()


@_guarded
def resume_from_checkpoint(run_id: str):
    get_registry().resume(run_id)


@_guarded
def restart(run_id: str):
    run = get_registry().restart(run_id)
    if run is not None:
        st.session_state["run"] = run.id


def _confirm_box(run: Run):
    what, run_id = st.session_state.get(_CONFIRM, (None, None))
    if run_id != run.id:
        return
    box = st.container(border=True)
    box.warning(tr(f"app.confirm.{what}", name=run.name))
    a, b = box.columns(2)
    a.button(tr(f"app.confirm.{what}.yes"), key=f"yes_{what}_{run.id}", type="primary",
             on_click=confirmed, args=(what, run.id), width="stretch")
    b.button(tr("app.confirm.cancel"), key=f"cancel_{run.id}", on_click=cancel,
             width="stretch")


def control_buttons(run: Run):
    if not run.is_active:
        return ended_buttons(run)
    cols = st.columns(4)
    if run.status == "paused":
        cols[0].button(tr("app.ctl.resume"), icon=":material/play_arrow:", key=f"resume_{run.id}",
                       on_click=resume, args=(run,), width="stretch", type="primary")
    else:
        cols[0].button(tr("app.ctl.pause"), icon=":material/pause:", key=f"pause_{run.id}",
                       on_click=pause, args=(run,), disabled=run.status != "running",
                       width="stretch")
    cols[1].button(tr("app.ctl.step"), icon=":material/skip_next:", key=f"step_{run.id}",
                   on_click=step, args=(run,), disabled=run.status != "paused",
                   width="stretch", help=tr("app.ctl.step.help"))
    cols[2].button(tr("app.ctl.stop"), icon=":material/stop:", key=f"stop_{run.id}",
                   on_click=ask_stop, args=(run,), disabled=not run.is_active, width="stretch")
    cols[3].button(tr("app.ctl.delete"), icon=":material/delete:", key=f"delete_{run.id}",
                   disabled=True, width="stretch", help=tr("app.ctl.delete.help"))
    _confirm_box(run)


def ended_buttons(run: Run):
    """An ended run: go on from its checkpoint, start it again, or delete it."""
    cols = st.columns(3)
    ck = run.checkpoint
    cols[0].button(tr("app.ctl.continue", step=ck["step"] if ck else 0),
                   icon=":material/resume:", key=f"resumeck_{run.id}",
                   on_click=resume_from_checkpoint, args=(run.id,),
                   disabled=not run.resumable, width="stretch",
                   type="primary" if run.resumable else "secondary",
                   help=tr("app.ctl.continue.help"))
    cols[1].button(tr("app.ctl.restart"), icon=":material/replay:", key=f"restart_{run.id}",
                   on_click=restart, args=(run.id,), width="stretch",
                   help=tr("app.ctl.restart.help"))
    cols[2].button(tr("app.ctl.delete"), icon=":material/delete:", key=f"delete_{run.id}",
                   on_click=ask_delete, args=(run,), width="stretch",
                   help=tr("app.ctl.delete.help"))
    _confirm_box(run)


def unreadable_folders():
    """Run folders the registry could not read, each with why; the presenter
    can delete them from here."""
    reg = get_registry()
    if not reg.unreadable:
        return
    with st.expander(tr("app.problems.title") + f" ({len(reg.unreadable)})", expanded=True):
        for name, problem in sorted(reg.unreadable.items()):
            reason = problem["reason"]
            text = tr(reason["key"], **reason) if reason else problem["message"]
            st.warning(f"**{name}**: {text}")
            if not can_control():
                continue
            asked = st.session_state.get(_CONFIRM) == ("delete_folder", name)
            if asked:
                a, b = st.columns(2)
                a.button(tr("app.confirm.delete.yes"), key=f"yes_delete_folder_{name}",
                         type="primary", on_click=confirmed, args=("delete_folder", name))
                b.button(tr("app.confirm.cancel"), key=f"cancel_folder_{name}", on_click=cancel)
            else:
                st.button(tr("app.problems.delete"), key=f"delete_folder_{name}",
                          icon=":material/delete:", on_click=ask_delete_folder, args=(name,))


@_guarded
def ask_delete_folder(name: str):
    st.session_state[_CONFIRM] = ("delete_folder", name)
