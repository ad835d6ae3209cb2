"""Sweeps started from the app: the driver runs on a thread of the server,
its trials are runs of the server's registry (the pages show them live,
wherever they train), and any browser can see or stop it."""
from __future__ import annotations

import threading
import time

import streamlit as st

from ..sweep.cli import run_rows
from ..sweep.driver import Driver
from ..sweep.plan import Trial
from ..sweep.record import SweepRecord
from .core import get_registry


@st.cache_resource
def _sweeps() -> dict:
    """name -> {"driver", "thread", "error"}: the server's sweeps."""
    return {}


def start_sweep(cfgs, axes, settings: dict) -> str:
    """Start a sweep of `cfgs` (varying `axes`) on a thread; returns its name."""
    reg = get_registry()
    trials = [Trial(i, {a: getattr(c, a) for a in axes}, c) for i, c in enumerate(cfgs)]
    name = time.strftime("sweep-%Y%m%d-%H%M%S")
    settings = {"threads": 1, "max_concurrent": reg.max_active, "gpus": 0, **settings}
    rec = SweepRecord.new(reg.root, name, settings, trials)
    driver = Driver(rec)
    entry = {"driver": driver, "error": None}

    def main():
        try:
            run_rows(driver, rec.pending(), settings, registry=reg)
        except Exception as exc:   # shown on the page, never a dead thread in silence
            entry["error"] = str(exc).splitlines()[0][:300] if str(exc) else repr(exc)
    entry["thread"] = threading.Thread(target=main, name=f"sweep-{name}", daemon=True)
    _sweeps()[name] = entry
    entry["thread"].start()
    return name


def sweep_state(name):
    return _sweeps().get(name)


def stop_sweep(name):
    entry = _sweeps().get(name)
    if entry is not None:
        entry["driver"].stop_event.set()
