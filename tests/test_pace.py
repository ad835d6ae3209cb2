"""Many sessions polling one run take turns (charrnn/ui/pace.py), and shared
figures come less often the more sessions watch (charrnn/ui/live.py)."""
import threading
import time
import types

import pytest

from charrnn.ui import live, pace
from tests.helpers import wait_for


class Ended(Exception):
    """What Streamlit's yield check raises when a waiting run must end."""


@pytest.fixture
def runs(monkeypatch):
    """Script runs faked per thread: `runs.enter(polling, session)` makes the
    calling thread a fragment rerun (polling) or a full run of `session`."""
    local = threading.local()
    ended = set()

    def ctx(suppress_warning=False):
        return getattr(local, "ctx", None)

    def check():
        if local.ctx.session_id in ended:
            raise Ended()

    monkeypatch.setattr(pace, "get_script_run_ctx", ctx)
    monkeypatch.setattr(pace, "get_run_yield_check", lambda: check)
    monkeypatch.setattr(pace, "_seen", {})
    monkeypatch.setattr(pace, "_in_line", {})

    def enter(polling, session="s"):
        local.ctx = types.SimpleNamespace(session_id=session,
                                          fragment_ids_this_run=["live"] if polling else None)
    return types.SimpleNamespace(enter=enter, ended=ended)


def crowd(runs, n, polling):
    """n sessions run a body at once; returns the most bodies seen inside together."""
    inside, most = [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(n)

    def session(i):
        runs.enter(polling, f"s{i}")
        start.wait()
        with pace.turn():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.02)   # a body's work, with the GIL released
            with lock:
                inside[0] -= 1
    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return most[0]


def test_polling_sessions_run_their_bodies_one_at_a_time(runs):
    """A hundred threads in the GIL starved the loop that sends their charts."""
    assert crowd(runs, 12, polling=True) == 1
    assert pace.watching() == 12


def test_sessions_in_line_are_served_in_the_order_they_came(runs, monkeypatch):
    """Every watcher in a lecture hall gets its turn, not a lucky few: a
    session whose next run asks as its turn ends goes to the back, and waits
    that outlast the slice in which a run looks at its session keep their place."""
    monkeypatch.setattr(pace, "SLICE_S", 0.02)
    order = []

    def session(i):
        runs.enter(polling=True, session=f"s{i}")
        with pace.turn():
            order.append(i)
    runs.enter(polling=True, session="holder")
    with pace.turn():
        threads = []
        for i in range(6):
            threads.append(threading.Thread(target=session, args=(i,)))
            threads[-1].start()
            assert wait_for(lambda: f"s{i}" in pace._in_line, 5.0, 0.01)
        time.sleep(5 * pace.SLICE_S)   # every one of them has looked at its session
    with pace.turn():   # the holder's next run asks at once: it comes after them
        order.append("holder again")
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4, 5, "holder again"]


def test_a_full_run_does_not_wait_for_a_turn(runs):
    """A page load or a click is never queued behind other sessions' polling."""
    assert crowd(runs, 6, polling=False) > 1
    runs.enter(polling=True, session="poller")
    with pace.turn():   # a poller holds the turn; a click's run goes straight in
        got = []
        t = threading.Thread(target=lambda: (runs.enter(False, "clicker"),
                                             got.append(pace.polling())))
        t.start()
        t.join(5)
        assert got == [False]


def test_a_live_body_inside_another_goes_on_with_its_turn(runs):
    """A page with one live fragment inside another must not wait for itself."""
    log = []

    def nested():
        runs.enter(polling=True, session="nested")
        with pace.turn():
            with pace.turn():
                log.append("inner ran")
        log.append("free" if pace._turn.acquire(max_wait=0.5) else "still held")
        pace._turn.release()
    t = threading.Thread(target=nested)
    t.start()
    t.join(5)
    assert log == ["inner ran", "free"]


def test_a_waiting_run_ends_when_its_session_wants_it_and_leaves_the_turn_free(runs):
    runs.enter(polling=True, session="holder")
    outcome = []

    def waiter():
        runs.enter(polling=True, session="waiter")
        try:
            with pace.turn():
                outcome.append("ran")
        except Ended:
            outcome.append("ended")
    with pace.turn():
        t = threading.Thread(target=waiter)
        t.start()
        assert wait_for(lambda: "waiter" in pace._in_line, 5.0, 0.01)
        assert pace.watching() == 2   # in line for as long as it takes: watching
        runs.ended.add("waiter")   # e.g. its user clicked Stop: a full rerun is due
        t.join(5)
        assert outcome == ["ended"] and not pace._in_line
    # nothing leaked: the next poller gets the turn at once
    assert pace._turn.acquire(max_wait=0.5)
    pace._turn.release()


def test_shared_figures_come_less_often_when_many_sessions_watch(runs, monkeypatch):
    """One session: a new frame every FRAME_S; a lecture hall: every MAX_FRAME_S."""
    live._shared.clear()
    built = []

    def build():
        built.append(object())
        return built[-1]
    live.shared_figure(("k",), 1, build)
    # the figure is a little more than one frame old and its data changed
    live._shared[("k",)] = (time.monotonic() - live.FRAME_S - 0.1, 1, built[-1], 0.0)
    pace._seen.update({f"s{i}": time.monotonic() for i in range(100)})
    assert live.frame_s() == live.MAX_FRAME_S
    assert live.shared_figure(("k",), 2, build) == (built[0], 1) and len(built) == 1
    pace._seen.clear()
    pace._seen["alone"] = time.monotonic()
    assert live.frame_s() == live.FRAME_S
    assert live.shared_figure(("k",), 2, build) == (built[-1], 2) and len(built) == 2


def test_a_slow_build_counts_its_wall_time_while_sessions_wait_for_the_turn(runs):
    """A server that gets a fifth of a core spent most of it building charts:
    their CPU time was within budget, but every session waited for them."""

    def build():
        time.sleep(0.2)   # a build that waits for the CPU or the GIL as long
        return object()
    live._shared.clear()
    pace._seen["alone"] = time.monotonic()
    live.shared_figure(("alone",), 1, build)
    assert live._shared[("alone",)][3] < 0.1   # alone: its CPU time, as before
    pace._seen.update({f"s{i}": time.monotonic() for i in range(100)})
    live.shared_figure(("crowd",), 1, build)
    cost = live._shared[("crowd",)][3]
    assert cost >= 0.2 and cost / live.BUILD_SHARE > live.MAX_FRAME_S


@pytest.fixture
def server_loop():
    """A running asyncio loop in a thread, as the server's."""
    import asyncio
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.close()


class Queue(list):
    """A session's queue of messages for its browser (ForwardMsgQueue's is_empty)."""

    def is_empty(self):
        return not self


def test_a_run_ends_only_once_its_charts_have_left_for_the_browser(runs, monkeypatch, server_loop):
    """The session's next run starting clears what is still queued: 60% of a
    lecture hall's runs were thrown away unsent. A polling run leaves its
    turn at once but ends only after the loop has flushed its messages."""
    queue = Queue()
    monkeypatch.setattr(pace, "_session_queue", lambda sid: (server_loop, queue))
    events = []
    runs.enter(polling=True, session="watcher")
    with pace.turn():
        queue.append("chart")   # what the body drew, on its way to the loop
        server_loop.call_soon_threadsafe(
            server_loop.call_later, 0.3, lambda: (queue.clear(), events.append("flushed")))
    events.append("run ended")
    assert events == ["flushed", "run ended"]
    # and the turn was free meanwhile: not held while waiting for the socket
    assert pace._turn.acquire(max_wait=0.5)
    pace._turn.release()


def test_a_run_whose_messages_never_leave_ends_after_a_while(runs, monkeypatch, server_loop):
    """A stuck loop or a gone browser: the run still ends, after SENT_WAIT_S."""
    monkeypatch.setattr(pace, "SENT_WAIT_S", 0.3)
    monkeypatch.setattr(pace, "_session_queue", lambda sid: (server_loop, Queue(["chart"])))
    runs.enter(polling=True, session="stuck")
    t0 = time.monotonic()
    with pace.turn():
        pass
    assert 0.3 <= time.monotonic() - t0 < 3
    assert pace.wait_sent("stuck", timeout=0.1) is False


def test_streamlit_still_has_what_wait_sent_looks_at():
    """wait_sent reads Streamlit's private session queue; an upgrade that
    renames it would quietly bring back the thrown-away runs."""
    import inspect

    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
    init = inspect.getsource(AppSession.__init__)
    assert "self._browser_queue = ForwardMsgQueue()" in init
    assert "self._event_loop = " in init
    assert callable(ForwardMsgQueue.is_empty)
    assert "_session_mgr" in inspect.getsource(Runtime.__init__)
    assert pace._session_queue("no such session") is None   # no server here: no wait
