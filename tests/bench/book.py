"""Where the benchmarks read d2l's book: one lookup for every script here.

CHARRNN_DATA_DIR first, then the shared data folder beside the repository
(as tests/conftest.py), then the app's own download cache (the only step that imports torch,
so bench_app.py stays cheap to start).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOOK = "timemachine.txt"


def book_path() -> Path:
    """timemachine.txt, or exit with one line that says how to point at it."""
    cands = []
    if os.environ.get("CHARRNN_DATA_DIR"):
        cands.append(Path(os.environ["CHARRNN_DATA_DIR"]).expanduser())
    cands.append(REPO.parent / "shared" / "data")
    for d in cands:
        if (d / BOOK).is_file():
            return d / BOOK
    from charrnn.data import cache_dir   # imports torch: only when nothing else has it
    if (cache_dir() / BOOK).is_file():
        return cache_dir() / BOOK
    raise SystemExit(f"{BOOK} not found: set CHARRNN_DATA_DIR to a folder holding it")


def data_dir() -> str:
    """The folder to pass on as CHARRNN_DATA_DIR."""
    return str(book_path().parent)
