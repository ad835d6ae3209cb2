"""Load test: N lightweight websocket clients watch one training run.

    python -m tests.load.ws_watchers                      # 30 watchers, 150 s in all
    python -m tests.load.ws_watchers --watchers 5 --seconds 120 --json out.json
    python -m tests.load.ws_watchers --query "num_hiddens=512"

Why websocket clients, not browsers: in a classroom the 30 browsers run on 30
laptops, not on the server, so the server machine should not pay for their
rendering. tests/load/watchers.py opens Chromium contexts on the same
machine, and on 2 cores Chromium competes with the server and the training
process for the CPU. Here each watcher is an asyncio task in ONE client
process (this one) that speaks Streamlit's own protocol (1.67: protobuf
BackMsg / ForwardMsg over ws://127.0.0.1:PORT/_stcore/stream) the way the
browser's frontend does, without rendering anything:
- at connect it sends rerun_script(ClientState: query string, page name "",
  context info);
- it follows the server: page_info_changed sets its query string,
  new_session/navigation its page script hash; an auto_rerun message (the
  Train page's live view is an st.fragment(run_every=1 s)) arms a timer that
  sends rerun_script(fragment_id, is_auto_rerun) every interval, as the
  frontend's setInterval does; stop_auto_rerun and a full run's new_session
  disarm it;
- it keeps the frontend's ForwardMsg cache bookkeeping (hashes of cacheable
  messages, sent back as cached_message_hashes, aged per finished run), so
  the server sends ref_hash messages exactly where it would to a browser;
- it never touches a widget (empty widget states), like a student watching.
Its CPU is the "client CPU" column: it shares the cores with the server.

What it does, all on 127.0.0.1 and bounded by --seconds (a watchdog kills
everything it started 15 s after that):
1. starts `streamlit run app.py` through watchers.py's launcher (headless, a
   temporary runs folder, no presenter key, CHARRNN_DATA_DIR=../shared/data
   unless set);
2. a websocket client opens the Train page with --query and clicks "Start
   training" (a BackMsg with the button's trigger value), reads the run id
   from the URL the server sets (?run=ID), and disconnects: runs live in the
   server-wide registry, so the run goes on with nobody watching;
3. baseline: ONE watcher on /?run=ID for a window;
4. N watchers in all (N-1 more connect), each waits for its first chart,
   then the same window again;
5. a watcher clicks Stop (the run saves its metrics), everything closes.

Figures per window: training speed as steps/s over wall-clock time (counted
inside the server, watchers.py's LAUNCHER) and tokens/s, plus the median of
the per-step tokens/s the trainer logged (metrics.npz); the server's RSS at
the start / end of the window; CPU as a share of one core of the server, of
all its child processes (training runs in a worker process, see
charrnn/worker.py) and of this client process; the answer time of GET
/_stcore/health sampled every 0.5 s; per watcher, the chart updates it got
(a script run that delivered at least one chart delta: the app's live chart
component, or a plotly_chart), the median /
p90 seconds between them and the longest wait (including the window's ends);
how many gaps between two updates, of all watchers, were longer than
`--slow` seconds (2); bytes received by all watchers per second (websocket
message payloads; the server negotiates no compression); script runs that
ended per second, all watchers together, and the share of them "cut" (their
script_finished came as FINISHED_EARLY_FOR_RERUN: the session's next run
started before the server had sent it, and Streamlit dropped what of it was
still unsent; since a live run waits until its charts have left, charrnn/ui/pace.py,
only the run's last "finished" message is still in the queue then, so
nearly every run reads "cut" while its charts did arrive).
`--keep` keeps the server's log (with CHARRNN_PACE_LOG=1 in the environment
the server writes a line every 100 live turns: charrnn/ui/pace.py).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from charrnn.ui.live_plot import NAME as LIVE_PLOT
from tests.load.watchers import (Sampler, cpu_seconds, descendants, fmt_value, log, measure,
                                 percentile, read_per_step, run_info, start_server,
                                 start_watchdog, stop_server, window_row)

# a live chart's payload starts with its figure's revision (charrnn/ui/live_plot.py)
REV = re.compile(rb'\{"rev": (\d+)')
EARLY_FOR_RERUN = 2  # ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
TEARDOWN_S = 15.0    # kept at the end of --seconds: close the clients, stop the server


class _Sampler(Sampler):
    """watchers.py's sampler (health latency, server RSS and CPU); there are
    no browsers here, so it does not walk /proc for Chromium every 0.5 s."""

    def chromium_cpu(self):
        return 0.0


# ------------------------------------------------------------------ client
class Watcher:
    """One Streamlit session driven over the websocket as the frontend would."""

    def __init__(self, name: str, ws_url: str, query: str, page_name: str = "",
                 base_url: str = ""):
        self.name, self.ws_url = name, ws_url
        self.query, self.page_name, self.base_url = query, page_name, base_url
        self.page_script_hash = ""
        self.ws = None
        # the frontend's ForwardMsg cache: hash -> [run count when last used, fragment id, chart?]
        self.cache: dict[str, list] = {}
        self.run_count = 0
        self.max_age = 2
        self.got_new_session = False
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.buttons: dict[str, str] = {}  # widget id -> fragment id of its delta
        # what it received
        self.bytes_log: list[tuple[float, int]] = []   # (wall time, bytes) per message
        self.chart_times: list[float] = []            # wall time of each chart update
        self.fresh_times: list[float] = []            # ... that drew a frame not seen before
        self.revs_seen: set = set()
        self.chart_msgs = 0
        self.ref_hits = 0
        self.ref_misses = 0
        self.finished: list[int] = []                   # script_finished statuses
        self.run_ends: list[tuple[float, int]] = []     # (wall time, status) of each run's end
        self.reruns_sent = 0
        self.connected_at = None
        self.error = None
        self.closed = False
        self.closed_at = None
        self.closing = False  # we are closing it: what follows is no error
        self._run_has_chart = False
        self._run_started = 0.0
        self._changed = asyncio.Event()

    # ---------------------------------------------------------- sending
    async def send_rerun(self, fragment_id=None, auto=False, triggers=()):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_script_hash
        cs.page_name = "" if self.page_script_hash else self.page_name
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.cached_message_hashes.extend(self.cache)
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url = f"{self.base_url}/{self.page_name}" + (f"?{self.query}" if self.query else "")
        ci.is_embedded, ci.color_scheme = False, "light"
        for wid in triggers:
            w = cs.widget_states.widgets.add()
            w.id, w.trigger_value = wid, True
        self.got_new_session = False  # as the frontend: reset on every rerun request
        self.reruns_sent += 1
        await self.ws.send(msg.SerializeToString())

    async def click(self, key: str) -> bool:
        """Click the button whose widget key is `key` (its id ends in -key)."""
        for wid, frag in self.buttons.items():
            if wid.endswith("-" + key):
                await self.send_rerun(fragment_id=frag or None, triggers=[wid])
                return True
        return False

    # ---------------------------------------------------------- auto reruns
    def _arm(self, fragment_id: str, interval: float):
        old = self.timers.get(fragment_id)
        if old and old[0] == interval:
            return
        self._disarm([fragment_id])

        async def tick():  # setInterval: fixed rate, whether or not the last run finished
            nxt = time.monotonic() + interval
            while True:
                await asyncio.sleep(max(0.0, nxt - time.monotonic()))
                nxt += interval
                try:
                    await self.send_rerun(fragment_id=fragment_id, auto=True)
                except Exception:
                    return
        self.timers[fragment_id] = (interval, asyncio.ensure_future(tick()))

    def _disarm(self, fragment_ids=None):
        for fid in list(self.timers if fragment_ids is None else fragment_ids):
            entry = self.timers.pop(fid, None)
            if entry:
                entry[1].cancel()

    # ---------------------------------------------------------- receiving
    def _handle(self, data: bytes):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        now = time.time()
        self.bytes_log.append((now, len(data)))
        m = ForwardMsg()
        m.ParseFromString(data)
        kind = m.WhichOneof("type")
        if kind == "delta":
            d = m.delta
            chart = False
            if d.WhichOneof("type") == "new_element":
                el = d.new_element
                etype = el.WhichOneof("type")
                # the live charts are the app's component (charrnn/ui/live_plot.py)
                chart = etype == "plotly_chart" or (
                    etype == "bidi_component" and el.bidi_component.component_name == LIVE_PLOT)
                if etype == "button":
                    self.buttons[el.button.id] = d.fragment_id
            if m.metadata.cacheable and m.hash and m.hash not in self.cache:
                self.cache[m.hash] = [self.run_count, d.fragment_id, chart]
            if chart:
                self.chart_msgs += 1
                if not self._run_has_chart:
                    self._run_has_chart = True
                    self.chart_times.append(now)
                rev = REV.match(el.bidi_component.bytes) if etype == "bidi_component" else None
                if rev and rev.group(1) not in self.revs_seen:
                    self.revs_seen.add(rev.group(1))
                    if not self.fresh_times or self.fresh_times[-1] < self._run_started:
                        self.fresh_times.append(now)
        elif kind == "ref_hash":
            entry = self.cache.get(m.ref_hash)
            if entry is None:
                self.ref_misses += 1
            else:
                entry[0] = self.run_count
                self.ref_hits += 1
        elif kind == "new_session":
            self.got_new_session = True
            self._run_has_chart = False
            self._run_started = now
            if not m.metadata.run.fragment_ids:  # a full run: timers go, page hash comes
                self._disarm()
                self.page_script_hash = m.new_session.page_script_hash
                self.max_age = m.new_session.config.max_cached_message_age or self.max_age
        elif kind == "navigation":
            self.page_script_hash = m.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = m.page_info_changed.query_string
        elif kind == "auto_rerun":
            if m.auto_rerun.fragment_id:
                self._arm(m.auto_rerun.fragment_id, m.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            self._disarm(list(m.stop_auto_rerun.fragment_ids))
        elif kind == "script_finished":
            status = m.script_finished
            self.finished.append(status)
            self.run_ends.append((now, status))
            if (m.metadata.HasField("run") and self.got_new_session
                    and status != EARLY_FOR_RERUN):  # the frontend's cache ageing
                self.run_count += 1
                frags = set(m.metadata.run.fragment_ids)
                for h, entry in list(self.cache.items()):
                    if frags and (not entry[1] or entry[1] not in frags):
                        continue
                    if self.run_count - entry[0] > self.max_age:
                        del self.cache[h]
        self._changed.set()

    async def run(self):
        """Connect, ask for the page, then answer the server until closed."""
        from websockets.asyncio.client import connect
        try:
            async with connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                               proxy=None, open_timeout=30,
                               ping_interval=None) as ws:
                self.ws = ws
                self.connected_at = time.time()
                await self.send_rerun()
                async for data in ws:
                    if isinstance(data, bytes):
                        self._handle(data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self.closing:
                self.error = f"{exc.__class__.__name__}: {exc}"[:200]
        finally:
            self.closed, self.closed_at = True, time.time()
            self._disarm()
            self._changed.set()

    async def wait(self, cond, timeout) -> bool:
        end = time.monotonic() + timeout
        while not cond():
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                return cond()
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
        return True

    async def close(self):
        """Close politely; a server too busy to answer the close handshake
        within 2 s gets the connection dropped."""
        self.closing = True
        self._disarm()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:
                pass
            transport = getattr(self.ws, "transport", None)
            if transport is not None:
                transport.abort()  # a no-op once the connection is closed

    # ---------------------------------------------------------- figures
    def window(self, t0, t1, slow: float = 2.0) -> dict:
        times, gaps, longest = waits(self.chart_times, t0, t1)
        fresh, fresh_gaps, fresh_longest = waits(self.fresh_times, t0, t1)
        return {"updates": len(times),
                "gaps": len(gaps), "slow_gaps": sum(1 for g in gaps if g > slow),
                "fresh": len(fresh), "fresh_gap_p90": percentile(fresh_gaps, 90),
                "fresh_longest": fresh_longest, "fresh_gaps": len(fresh_gaps),
                "fresh_slow_gaps": sum(1 for g in fresh_gaps if g > slow),
                "gap_p50": statistics.median(gaps) if gaps else None,
                "gap_p90": percentile(gaps, 90),
                "longest_wait": longest,
                "runs": sum(1 for t, _ in self.run_ends if t0 <= t <= t1),
                "runs_cut": sum(1 for t, s in self.run_ends
                                if t0 <= t <= t1 and s == EARLY_FOR_RERUN),
                "bytes": sum(n for t, n in self.bytes_log if t0 <= t <= t1),
                "messages": sum(1 for t, _ in self.bytes_log if t0 <= t <= t1)}


def waits(stamps, t0, t1) -> tuple[list, list, float]:
    """The stamps within [t0, t1], the gaps between them, and the longest wait
    (a gap, or from the window's start to the first / the last to its end)."""
    times = [t for t in stamps if t0 <= t <= t1]
    gaps = [b - a for a, b in zip(times, times[1:])]
    edges = [times[0] - t0, t1 - times[-1]] if times else [t1 - t0]
    return times, gaps, max(gaps + edges)


class ClientLoop:
    """An asyncio loop in a thread: every watcher is a task on it."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="ws-clients")
        self.thread.start()
        self.tasks = []

    def call(self, coro, timeout=None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, watcher: Watcher):
        async def start():
            watcher._changed = asyncio.Event()  # bound to this loop
            self.tasks.append(asyncio.ensure_future(watcher.run()))
        self.call(start(), 10)

    def stop(self, watchers):
        async def close_all():
            await asyncio.gather(*(w.close() for w in watchers), return_exceptions=True)
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
        try:
            self.call(close_all(), 6)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)


def steps_now(steps_file: Path) -> int:
    """Steps trained so far (the launcher's last line)."""
    try:
        lines = steps_file.read_text().splitlines()
        return int(lines[-1].split()[1]) if lines else 0
    except (OSError, ValueError, IndexError):
        return 0


def alive(pid) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children_cpu(pid) -> float:
    return sum(cpu_seconds(p) for p in descendants(pid))


# -------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.load.ws_watchers",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--watchers", type=int, default=30,
                    help="websocket watchers in the second window (default 30)")
    ap.add_argument("--seconds", type=float, default=150, help="hard limit for everything")
    ap.add_argument("--query", default="num_epochs=100000",
                    help="the Train page's query string for the run (d2l defaults otherwise)")
    ap.add_argument("--slow", type=float, default=2.0,
                    help="a gap between two updates longer than this (s) is counted (default 2)")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds per measuring window (default: (--seconds - 60) / 2, "
                         "10 to 40)")
    ap.add_argument("--min-updates", type=int, default=5,
                    help="K: a watcher counts as served with at least K chart updates "
                         "in a window (default 5)")
    ap.add_argument("--stagger", type=float, default=0.1, help="seconds between connections")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep", action="store_true",
                    help="keep the server's log and runs folder (their path is printed)")
    a = ap.parse_args(argv)
    a.watchers = max(1, a.watchers)

    t_start = time.monotonic()
    hard_end = t_start + a.seconds
    window = a.window or max(10.0, min(40.0, (a.seconds - 60) / 2))
    tmp = Path(tempfile.mkdtemp(prefix="charrnn-wsload-"))
    runs = tmp / "runs"
    server_log = tmp / "server.log"
    steps_file = tmp / "steps.txt"
    proc = sampler = clients = None
    watchers: list[Watcher] = []
    windows = {}
    result = {"watchers_requested": a.watchers, "seconds": a.seconds, "query": a.query,
              "window_s": window, "min_updates": a.min_updates, "cores": os.cpu_count(),
              "loadavg_before": os.getloadavg(),
              "client": "one Python process, every watcher an asyncio task (websockets)"}
    start_watchdog(a.seconds)
    run_id = None
    kept = False
    try:
        proc, base = start_server(runs, server_log, steps_file)
        ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
        log(f"server pid {proc.pid} at {base} ({time.monotonic() - t_start:.1f} s)")
        sampler = _Sampler(base, proc.pid)
        sampler.start()
        clients = ClientLoop()

        # 1. a client starts the run, then leaves
        sampler.phase = "starting"
        starter = Watcher("starter", ws_url, a.query, base_url=base)
        watchers.append(starter)
        clients.spawn(starter)
        limit = max(5.0, min(60.0, hard_end - time.monotonic() - 2 * window - TEARDOWN_S - 10))
        ok = clients.call(starter.wait(
            lambda: any(s != EARLY_FOR_RERUN for s in starter.finished)
            and any(w.endswith("-start") for w in starter.buttons), limit), limit + 5)
        if not ok:
            raise RuntimeError(f"the Train page did not load over the websocket "
                               f"({starter.error or 'timeout'}); server log: {server_log}")
        if not clients.call(starter.click("start"), 10):
            raise RuntimeError("no Start button")
        clients.call(starter.wait(lambda: "run=" in starter.query, 30), 35)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and steps_now(steps_file) == 0:
            time.sleep(0.25)
        ids = [p.name for p in runs.iterdir()] if runs.exists() else []
        url_id = dict(kv.split("=", 1) for kv in starter.query.split("&") if "=" in kv).get("run")
        run_id = url_id if url_id in ids else (ids[0] if ids else None)
        if run_id is None or steps_now(steps_file) == 0:
            raise RuntimeError(f"the run did not start; server log: {server_log}")
        tokens_per_step, model = run_info(runs, run_id)
        result.update(run=run_id, tokens_per_step=tokens_per_step, model=model)
        clients.call(starter.close(), 10)
        s_before = steps_now(steps_file)
        time.sleep(2)
        log(f"run {run_id} training ({time.monotonic() - t_start:.1f} s); starter gone, "
            f"steps {s_before} -> {steps_now(steps_file)} in 2 s with no session watching")

        def window_measure(phase, n, deadline):
            sampler.phase = phase
            c0, k0, t0 = cpu_seconds(os.getpid()), children_cpu(proc.pid), time.time()
            w = measure(steps_file, window, deadline)
            t1 = t0 + (w[2] if w else window)
            c1, k1, t_end = cpu_seconds(os.getpid()), children_cpu(proc.pid), time.time()
            windows[phase] = {"w": w, "t0": t0, "t1": t1, "watchers": n,
                              "client_cpu_pct": 100 * (c1 - c0) / (t_end - t0),
                              "worker_cpu_pct": 100 * (k1 - k0) / (t_end - t0)}
            log(f"{phase} window: {w}")

        # 2. baseline: one watcher
        sampler.phase = "connecting 1"
        first = Watcher("w00", ws_url, f"run={run_id}", base_url=base)
        watchers.append(first)
        clients.spawn(first)
        if not clients.call(first.wait(lambda: len(first.chart_times) >= 2, 30), 35):
            log(f"the first watcher got {len(first.chart_times)} chart updates in 30 s "
                f"({first.error or 'no error'})")
        window_measure("1 watcher", 1, hard_end - window - TEARDOWN_S - 10)

        # 3. N watchers
        sampler.phase = "connecting"
        t_open = time.monotonic()
        crowd = [first]
        for i in range(1, a.watchers):
            w = Watcher(f"w{i:02d}", ws_url, f"run={run_id}", base_url=base)
            watchers.append(w)
            crowd.append(w)
            clients.spawn(w)
            time.sleep(a.stagger)
        ramp = max(5.0, min(40.0, hard_end - time.monotonic() - window - TEARDOWN_S - 8))

        async def all_charted():
            await asyncio.gather(*(w.wait(lambda w=w: len(w.chart_times) >= 1, ramp)
                                   for w in crowd))
        try:
            clients.call(all_charted(), ramp + 5)
        except Exception:
            pass
        result["open_seconds"] = round(time.monotonic() - t_open, 1)
        result["watchers_with_a_chart_before_window"] = sum(1 for w in crowd if w.chart_times)
        firsts = [w.chart_times[0] - w.connected_at for w in crowd[1:]
                  if w.chart_times and w.connected_at]
        result["first_chart_s_p50"] = statistics.median(firsts) if firsts else None
        result["first_chart_s_max"] = max(firsts, default=None)
        log(f"{result['watchers_with_a_chart_before_window']}/{len(crowd)} watchers have a "
            f"chart ({result['open_seconds']} s)")
        window_measure(f"{len(crowd)} watchers", len(crowd), hard_end - TEARDOWN_S - 2)

        # 4. stop the run (its metrics are saved)
        sampler.phase = "stopping"
        stopper = next((w for w in crowd if not w.closed), None)
        saved = False
        if stopper is not None and clients.call(stopper.click(f"stop_{run_id}"), 10):
            wait_end = min(hard_end - TEARDOWN_S, time.monotonic() + 15)
            while time.monotonic() < wait_end and not saved:
                time.sleep(0.25)
                saved = (runs / run_id / "metrics.npz").exists()
        if not saved:
            log("the run did not stop in time (no metrics.npz); the server's shutdown ends it")
    finally:
        # within TEARDOWN_S: clients (<= 5 s), server (<= 10 s), then the sampler,
        # whose health request fails at once with the server gone
        if clients is not None:
            clients.stop(watchers)
        if proc is not None:
            kids = descendants(proc.pid)  # the training worker(s)
            stop_server(proc)
            end = time.monotonic() + 3
            while time.monotonic() < end and any(alive(k) for k in kids):
                time.sleep(0.1)
            for k in kids:
                if alive(k):
                    log(f"server child {k} outlived the server: killed")
                    try:
                        os.kill(k, signal.SIGKILL)
                    except OSError:
                        pass
        if sampler is not None:
            sampler.stop()
        errors = [line for line in server_log.read_text(errors="replace").splitlines()
                  if "Traceback" in line or "ERROR" in line or "Error" in line] \
            if server_log.exists() else []
        result["server_log_errors"] = errors[:20]
        if errors:
            kept = True
            log(f"{len(errors)} error lines in the server log, kept at {server_log}: "
                + " | ".join(errors[:5]))

    # ------------------------------------------------------------- figures
    per_step = read_per_step(runs / run_id / "metrics.npz")
    table = []
    for phase, win in windows.items():
        row = window_row(sampler.rows, phase, win["w"], phase, win["watchers"],
                         tokens_per_step, per_step)
        rows = [r for r in sampler.rows if r[1] == phase]
        lat = [r[3] for r in rows]
        rss = [r[2] for r in rows if r[2] is not None]
        row.pop("chromium_cpu_pct", None)
        row.update(health_ms_p90=percentile(lat, 90),
                   rss_mb_start=rss[0] if rss else None, rss_mb_end=rss[-1] if rss else None,
                   client_cpu_pct=win["client_cpu_pct"], worker_cpu_pct=win["worker_cpu_pct"])
        crowd = [w for w in watchers if w.name != "starter"][:win["watchers"]]
        per = [w.window(win["t0"], win["t1"], a.slow) for w in crowd]
        span = win["t1"] - win["t0"]
        ups = [p["updates"] for p in per]
        row.update(
            watchers_connected=sum(1 for w in crowd if w.connected_at
                                   and w.connected_at <= win["t0"]),
            watchers_served=sum(1 for u in ups if u >= a.min_updates),
            updates_min=min(ups, default=None), updates_median=statistics.median(ups) if ups
            else None, updates_max=max(ups, default=None),
            gap_s_p50=statistics.median([p["gap_p50"] for p in per if p["gap_p50"] is not None])
            if any(p["gap_p50"] is not None for p in per) else None,
            gap_s_p90=statistics.median([p["gap_p90"] for p in per if p["gap_p90"] is not None])
            if any(p["gap_p90"] is not None for p in per) else None,
            longest_wait_s=max((p["longest_wait"] for p in per), default=None),
            slow_gaps=sum(p["slow_gaps"] for p in per), gaps=sum(p["gaps"] for p in per),
            fresh_min=min((p["fresh"] for p in per), default=None),
            fresh_median=statistics.median([p["fresh"] for p in per]) if per else None,
            fresh_gap_s_p90=statistics.median([p["fresh_gap_p90"] for p in per
                                               if p["fresh_gap_p90"] is not None] or [0]),
            fresh_longest_s=max((p["fresh_longest"] for p in per), default=None),
            fresh_slow_gaps=sum(p["fresh_slow_gaps"] for p in per),
            fresh_gaps=sum(p["fresh_gaps"] for p in per),
            kb_per_s=sum(p["bytes"] for p in per) / 1024 / span,
            messages_per_s=sum(p["messages"] for p in per) / span,
            runs_per_s=sum(p["runs"] for p in per) / span,
            runs_cut_pct=100 * sum(p["runs_cut"] for p in per)
            / max(1, sum(p["runs"] for p in per)),
            watchers_closed_by_then=sum(1 for w in crowd
                                        if w.closed_at is not None and w.closed_at <= win["t1"]),
            per_watcher=[{"name": w.name, **p} for w, p in zip(crowd, per)])
        table.append(row)
    result["table"] = table
    result["watchers_errors"] = {w.name: w.error for w in watchers if w.error}
    result["ref_hash_hits"] = sum(w.ref_hits for w in watchers)
    result["ref_hash_misses"] = sum(w.ref_misses for w in watchers)
    result["reruns_sent"] = sum(w.reruns_sent for w in watchers)
    all_rss = [r[2] for r in sampler.rows if r[2] is not None]
    result["rss_mb_peak"] = max(all_rss, default=None)
    result["rss_mb_over_time"] = [(round(r[0] - t_start, 1), r[1], round(r[2] or 0, 1))
                                  for r in sampler.rows[::4]]
    result["loadavg_after"] = os.getloadavg()
    if len(table) == 2 and table[0].get("steps_per_s") and table[1].get("steps_per_s"):
        result["speed_ratio_wall"] = table[1]["steps_per_s"] / table[0]["steps_per_s"]
    if (len(table) == 2 and table[0].get("tokens_per_s_step_median")
            and table[1].get("tokens_per_s_step_median")):
        result["speed_ratio_step"] = (table[1]["tokens_per_s_step_median"]
                                      / table[0]["tokens_per_s_step_median"])
    result["total_seconds"] = round(time.monotonic() - t_start, 1)

    f = fmt_value
    print(f"\nRun {result.get('model')} ({a.query}); {result['cores']} cores; load average "
          f"before {result['loadavg_before'][0]:.2f}, after {result['loadavg_after'][0]:.2f}; "
          f"windows of {window:.0f} s; watchers: websocket clients, asyncio tasks in one "
          f"client process (pid {os.getpid()})")
    head = (f"{'window':<12} {'steps/s':>8} {'tok/s wall':>11} {'tok/s step':>11} "
            f"{'health p50':>11} {'p90':>7} {'max':>7} {'fail':>5} {'RSS MB start-end':>17} "
            f"{'server CPU':>10} {'worker CPU':>10} {'client CPU':>10}")
    print(head)
    print("-" * len(head))
    for r in table:
        print(f"{r['phase']:<12} {f(r.get('steps_per_s'), '{:.1f}'):>8} "
              f"{f(r.get('tokens_per_s_wall')):>11} {f(r.get('tokens_per_s_step_median')):>11} "
              f"{f(r['health_ms_p50'], '{:.0f} ms'):>11} {f(r['health_ms_p90'], '{:.0f}'):>7} "
              f"{f(r['health_ms_max'], '{:.0f}'):>7} {r['health_failures']:>5} "
              f"{f(r['rss_mb_start']) + '-' + f(r['rss_mb_end']):>17} "
              f"{f(r.get('server_cpu_pct'), '{:.0f} %'):>10} "
              f"{f(r.get('worker_cpu_pct'), '{:.0f} %'):>10} "
              f"{f(r.get('client_cpu_pct'), '{:.0f} %'):>10}")
    head = (f"{'window':<12} {'connected':>9} {f'>={a.min_updates} upd':>8} "
            f"{'updates min/med/max':>19} {'gap p50':>8} {'gap p90':>8} {'longest':>8} "
            f"{f'>{a.slow:g} s':>11} "
            f"{'KB/s':>7} {'msgs/s':>7} {'runs/s':>7} {'cut':>5} {'closed':>6}")
    print()
    print(head)
    print("-" * len(head))
    for r in table:
        ups = f"{f(r['updates_min'])}/{f(r['updates_median'], '{:g}')}/{f(r['updates_max'])}"
        print(f"{r['phase']:<12} {r['watchers_connected']:>9} {r['watchers_served']:>8} "
              f"{ups:>19} {f(r['gap_s_p50'], '{:.2f} s'):>8} {f(r['gap_s_p90'], '{:.2f} s'):>8} "
              f"{f(r['longest_wait_s'], '{:.1f} s'):>8} "
              f"{str(r['slow_gaps']) + '/' + str(r['gaps']):>11} {f(r['kb_per_s']):>7} "
              f"{f(r['messages_per_s']):>7} {f(r['runs_per_s'], '{:.1f}'):>7} "
              f"{f(r['runs_cut_pct'], '{:.0f}%'):>5} {r['watchers_closed_by_then']:>6}")
    for r in table:   # runs that drew a frame the watcher had not seen (a new figure)
        print(f"{r['phase']}: new frames per watcher min/median {f(r['fresh_min'])}/"
              f"{f(r['fresh_median'], '{:g}')}, gap p90 {f(r['fresh_gap_s_p90'], '{:.2f}')} s, "
              f"longest {f(r['fresh_longest_s'], '{:.1f}')} s, "
              f"over {a.slow:g} s {r['fresh_slow_gaps']}/{r['fresh_gaps']}")
    for key in ("speed_ratio_wall", "speed_ratio_step"):
        if key in result:
            print(f"{key}: {result[key]:.2f} ({table[1]['phase']} / 1 watcher)")
    if "open_seconds" in result:
        print(f"{result['watchers_with_a_chart_before_window']}/{a.watchers} watchers had a "
              f"chart before the second window ({result['open_seconds']} s after the first "
              f"new one connected); connect to first chart: median "
              f"{f(result['first_chart_s_p50'], '{:.1f}')} s, max "
              f"{f(result['first_chart_s_max'], '{:.1f}')} s")
    print(f"server RSS peak {f(result['rss_mb_peak'])} MB; ref_hash hits "
          f"{result['ref_hash_hits']}, misses {result['ref_hash_misses']}; reruns sent "
          f"{result['reruns_sent']}; total {result['total_seconds']} s")
    if result["watchers_errors"]:
        print("watcher errors: " + "; ".join(f"{k}: {v}"
                                             for k, v in result["watchers_errors"].items()))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    if a.keep:
        print(f"server log kept: {server_log}")
    elif not kept:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
