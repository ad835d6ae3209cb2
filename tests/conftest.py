import os
from pathlib import Path

import pytest

# Tests read d2l's book from the shared data folder (CI lays it beside the repo)
# rather than downloading it; a run can still override CHARRNN_DATA_DIR.
_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "CHARRNN_DATA_DIR" not in os.environ and (_SHARED / "timemachine.txt").exists():
    os.environ["CHARRNN_DATA_DIR"] = str(_SHARED)
os.environ.setdefault("CHARRNN_THREADS", "1")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A fresh server-wide registry (the one the pages use) in a temporary runs folder."""
    import streamlit as st

    from charrnn.ui.core import get_registry, reset_registry
    monkeypatch.setenv("CHARRNN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("CHARRNN_PRESENTER_KEY", raising=False)
    st.cache_resource.clear()
    reset_registry()
    reg = get_registry()
    yield reg
    reg.stop_all()
    st.cache_resource.clear()
    reset_registry()


@pytest.fixture(params=["process", "thread"])
def mode(request, monkeypatch):
    """Each worker mode in turn: a process per run (the server's default) or a thread."""
    monkeypatch.setenv("CHARRNN_WORKER", request.param)
    return request.param
