"""The server process's memory: glibc's malloc settings and a garbage
collector that runs now and then instead of after every script run. Nothing
here happens on import: app.py calls these by name when the server starts.

Why malloc needs settings: Streamlit runs every script run on a fresh
thread and serves its static files from a pool of threads; glibc gives
threads their own malloc arenas (up to 8 per core), and the chart JSON each
rerun allocates and frees scatters over them, fragments and is not given
back (tests/bench/RESULTS.md, the memory soak).

- `M_ARENA_MAX` 2 caps the arenas, but only if set before glibc has made
  more than 8: glibc fixes its limit the first time it needs one, and a
  browser's first visit fetches dozens of scripts at once, one thread each.
  So app.py is an `st.App`, which `streamlit run` imports before it serves
  anything, and calls `tame_malloc()` first (tests/test_server.py counts
  the arenas).
- The threshold above which a block is mmapped on its own is fixed at
  128 KB: glibc otherwise raises it up to 32 MB as such blocks are freed,
  after which every chart's JSON lands in the arenas; an mmapped block goes
  back to the system when freed.
- `trim()` (with the garbage collection) gives the arenas' free pages back.
Same effect as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 in the
environment.
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024
GC_EVERY_S = 10.0

_libc = None
_gc_thread: threading.Thread | None = None


def _glibc():
    global _libc
    if _libc is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt, libc.malloc_trim   # noqa: B018 - glibc's, or AttributeError
            _libc = libc
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
            _libc = False
    return _libc


def tame_malloc():
    """Cap the malloc arenas and fix the mmap threshold (see above)."""
    libc = _glibc()
    if libc:
        libc.mallopt(M_ARENA_MAX, ARENAS)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim():
    libc = _glibc()
    if libc:
        libc.malloc_trim(0)


def collect_garbage_in_background():
    """Freeze what is loaded by now out of the collector's sight (modules are
    never garbage) and collect the rest every GC_EVERY_S on a thread of its
    own, then trim. Stands in for Streamlit's gc.collect() after every script
    run, which .streamlit/config.toml turns off: with torch, numpy and plotly
    loaded a full collection traverses about 250k objects, and a live page
    reruns every second in every browser. Once per process."""
    global _gc_thread
    if _gc_thread is not None:
        return
    gc.freeze()

    log = bool(os.environ.get("CHARRNN_PACE_LOG"))   # the load tests read it

    def loop():
        while True:
            time.sleep(GC_EVERY_S)
            t0 = time.monotonic()
            found = gc.collect()
            t1 = time.monotonic()
            trim()
            if log:
                print(f"charrnn.gc: {found} unreachable, collected in {1000 * (t1 - t0):.0f} ms, "
                      f"trimmed in {1000 * (time.monotonic() - t1):.0f} ms",
                      file=sys.stderr, flush=True)
    _gc_thread = threading.Thread(target=loop, name="charrnn-gc", daemon=True)
    _gc_thread.start()
