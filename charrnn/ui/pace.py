"""Many browsers watching one run: the live fragments' reruns take turns.

Every browser on a live page asks its fragment to rerun every second, and
Streamlit runs each session's rerun on a thread of its own. With a hundred
sessions, a hundred threads share the server's one GIL with the event loop
that sends what they draw; the loop got a hundredth of it, and Streamlit
drops a fragment run's unsent messages when that session's next run
starts (its queue is cleared on the loop, late). The server then ran at
a full core and delivered almost nothing (tests/load/README.md). So a
polling rerun runs its body only with the server's one turn held: the
others wait on a lock (off the GIL), the loop keeps up, and each run's
charts reach its browser before that session's next run starts.

A full run (a page load, a click) does not wait: what a user does is never
queued behind other sessions' polling.

After its turn, a polling run waits (off the turn) until what it drew has
left its session's queue for the socket. A watcher's next auto rerun was
nearly always waiting already (the line is longer than the 1 s interval),
so it started the moment this run ended, and its start cleared this run's
still unsent charts: 60% of the runs of a 100-watcher hall were thrown away
after all their work (tests/load/README.md)."""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager

from streamlit.runtime.scriptrunner import get_script_run_ctx

try:   # Streamlit's own check for a waiting run: raises for a click or a closed tab
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check
except ImportError:   # pragma: no cover - an older Streamlit
    def get_run_yield_check():
        return None

SEEN_S = 5.0         # a session in line for a turn, or in it this recently, is watching
SLICE_S = 0.5        # a waiting run looks this often whether its session wants it ended
MAX_WAIT_S = 60.0    # waited longer (a stuck turn?), a run goes on without it
SENT_WAIT_S = 3.0    # the longest a run waits for its messages to leave (a stuck loop)
SENT_POLL_S = 0.02   # how often the loop looks again at a queue not yet flushed
# a line on stderr every 100 turns (tests/load/ws_watchers.py --keep keeps it)
LOG = bool(os.environ.get("CHARRNN_PACE_LOG"))


class Line:
    """One turn, handed to whoever waited longest (first come, first served).
    A semaphore wakes its oldest waiter, but a waiter whose wait times out
    (to look at its session) joins again at the back: with a hundred in
    line, some sessions were served six times in 40 s and most not at all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy = False
        self._queue: deque = deque()

    def acquire(self, check=None, max_wait: float = MAX_WAIT_S) -> bool:
        """Wait for the turn; `check()` every SLICE_S may raise to leave the
        line. False: `max_wait` passed without it."""
        with self._lock:
            if not self._busy and not self._queue:
                self._busy = True
                return True
            mine = threading.Event()
            self._queue.append(mine)
        end = time.monotonic() + max_wait
        try:
            while not mine.wait(min(SLICE_S, max(0.0, end - time.monotonic()))):
                if check is not None:
                    check()
                if time.monotonic() >= end:
                    break
        except BaseException:
            self._leave(mine)
            raise
        if mine.is_set():
            return True
        self._leave(mine)
        return False

    def _leave(self, mine):
        """Out of the line; a turn handed over just now goes to the next."""
        with self._lock:
            if mine.is_set():
                self._hand_on()
            else:
                self._queue.remove(mine)

    def release(self):
        with self._lock:
            self._hand_on()

    def _hand_on(self):
        if self._queue:
            self._queue.popleft().set()   # still busy: the turn goes to the next
        else:
            self._busy = False


_turn = Line()
_held = threading.local()   # this thread's run holds the turn
_stats_lock = threading.Lock()
_stats = {"turns": 0, "waited_s": 0.0, "cpu_s": 0.0, "sent_wait_s": 0.0, "unsent": 0}
_seen: dict = {}     # session id -> when it last left the line for a turn
_in_line: dict = {}  # session id -> its runs waiting for a turn now


def polling() -> bool:
    """This script run reruns fragments only (their run_every, or a widget in
    them), not the page."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx is not None and ctx.fragment_ids_this_run)


@contextmanager
def turn():
    """Hold the live turn for a fragment rerun's body; a full run goes at once,
    and so does a live body inside one that holds the turn already."""
    if not polling() or getattr(_held, "turn", False):
        yield
        return
    check = get_run_yield_check()
    sid = _session_id()
    start = time.monotonic()
    with _stats_lock:   # watching while in line, however long (a starved server)
        _in_line[sid] = _in_line.get(sid, 0) + 1
    got = False
    try:   # a click's full rerun or a closed session (`check`) ends the wait
        got = _turn.acquire(check)
    finally:
        with _stats_lock:
            _in_line[sid] -= 1
            if not _in_line[sid]:
                del _in_line[sid]
            _seen[sid] = time.monotonic()
            _stats["turns"] += got
            _stats["waited_s"] += time.monotonic() - start
    c0 = time.thread_time()
    _held.turn = True
    try:
        yield
    finally:
        _held.turn = False
        if got:
            _turn.release()
        with _stats_lock:
            _stats["cpu_s"] += time.thread_time() - c0
            if LOG and got and _stats["turns"] % 100 == 0:
                _log()
    if got:   # not on an exception: an ended run's output is not worth waiting for
        t0 = time.monotonic()
        sent = wait_sent(sid, check)
        with _stats_lock:
            _stats["sent_wait_s"] += time.monotonic() - t0
            _stats["unsent"] += not sent


def _log():
    n = _stats["turns"]
    print(f"charrnn.pace: {n} turns, {1000 * _stats['cpu_s'] / n:.1f} ms CPU and "
          f"{1000 * _stats['waited_s'] / n:.0f} ms waiting per turn, "
          f"{1000 * _stats['sent_wait_s'] / n:.0f} ms until sent ({_stats['unsent']} not), "
          f"{len(_seen.keys() | _in_line.keys())} sessions watching", file=sys.stderr,
          flush=True)


def _session_queue(session_id):
    """(the event loop, the session's queue of messages for its browser), or
    None where there is no server (AppTest, bare mode) or Streamlit changed."""
    try:
        from streamlit.runtime import Runtime
        info = Runtime.instance()._session_mgr.get_active_session_info(session_id)
        session = info.session
        return session._event_loop, session._browser_queue
    except Exception:
        return None


def wait_sent(session_id, check=None, timeout: float | None = None) -> bool:
    """Wait until the messages this thread's run has enqueued so far have left
    the session's queue (the server's loop hands them to the socket's own
    queue, which a new run does not clear). False: not seen within
    `timeout`, or no queue to look at. `check()` may raise to stop waiting."""
    timeout = SENT_WAIT_S if timeout is None else timeout
    found = _session_queue(session_id)
    if found is None:
        return False
    loop, queue = found
    flushed = threading.Event()

    def probe():   # on the loop: after the run's own messages, queued before it
        if queue.is_empty():
            flushed.set()
        elif not flushed.is_set() and time.monotonic() < end:
            loop.call_later(SENT_POLL_S, probe)

    end = time.monotonic() + timeout
    try:
        loop.call_soon_threadsafe(probe)
    except RuntimeError:   # the loop is closed: the server is stopping
        return False
    while not flushed.wait(min(SLICE_S, max(0.0, end - time.monotonic()))):
        if check is not None:
            check()
        if time.monotonic() >= end:
            return False
    return True


def taking_turns(body):
    """Decorator for a live fragment's body (under st.fragment): `turn`."""
    @functools.wraps(body)   # the fragment's identity is the page's function
    def paced(*args, **kwargs):
        with turn():
            return body(*args, **kwargs)
    return paced


def _session_id():
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def watching() -> int:
    """Sessions whose live fragments wait for a turn, or had one in the last
    SEEN_S seconds."""
    now = time.monotonic()
    with _stats_lock:
        for sid in [s for s, t in _seen.items() if now - t > SEEN_S]:
            del _seen[sid]
        return len(_seen.keys() | _in_line.keys())


def stats() -> dict:
    """Turns taken, seconds waited for them and CPU seconds in them, since
    the server started."""
    with _stats_lock:
        return dict(_stats)
