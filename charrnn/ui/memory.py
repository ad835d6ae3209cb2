"""The server process's malloc settings: glibc, not Python, decided its growth.

Streamlit runs every script run on a fresh thread, and its static files are
served from a pool of threads. glibc gives threads their own malloc arenas
(up to 8 per core), and the hundreds of KB of chart JSON each rerun
allocates and frees scatter over them: they fragment and are not given back
(the memory soak: +100-300 MB/h, tests/bench/RESULTS.md sections 10-11).

- `M_ARENA_MAX` 2 caps the arenas, but only if set before glibc has made
  more than 8: glibc fixes its limit the first time it needs one. A
  browser's first visit fetches dozens of scripts at once, one thread each,
  and made 16 before the first script run: app.py is therefore an `st.App`,
  which `streamlit run` imports before it serves anything, and calls
  `tame_malloc()` then (tests/test_server.py counts the arenas).
- The threshold above which a block is mmapped on its own is fixed at
  128 KB too. glibc otherwise raises it up to 32 MB as such blocks are
  freed, after which every chart's JSON lands in the arenas. An mmapped
  block goes back to the system when freed, whatever the arenas look like.
- `trim()` (every 10 s, with the garbage collection) gives the arenas' free
  pages back.
Same effect as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 in the
environment.
"""
from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024

_libc = None


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
    libc = _glibc()
    if libc:
        libc.mallopt(M_ARENA_MAX, ARENAS)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim():
    libc = _glibc()
    if libc:
        libc.malloc_trim(0)
