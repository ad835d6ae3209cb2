"""Load test: N browser sessions watch one training run.

    python -m tests.load.watchers                 # 30 watchers, 120 s in all
    python -m tests.load.watchers --watchers 10 --seconds 90 --json out.json

What it does, all on 127.0.0.1 and bounded by --seconds (a watchdog kills
everything it started when the time is up):
1. starts `streamlit run app.py` (headless, a temporary runs folder, no
   presenter key) and Debian's Chromium through Playwright;
2. one browser context opens the Train page and starts one run (d2l's
   defaults unless --query says otherwise);
3. baseline: with that one viewer, measures the run's speed for a window;
4. opens N more browser contexts (each its own Streamlit session) on the same
   run, waits until they show it, and measures the same window again;
5. stops the run (its metrics are saved) and prints a table.

Figures: training speed as steps/s and tokens/s over wall-clock time
(counted inside the server: see LAUNCHER) and as the median of the per-step
tokens/s the trainer logs (compute time of a step, read from the run's
metrics.npz); the server's RSS (/proc/<pid>/status VmRSS) and CPU; the
answer time of GET /_stcore/health sampled every 0.5 s; how many watchers
loaded; Chromium's CPU. On a 2-core machine the browsers compete with the
server for the same cores: the "Chromium CPU" column shows how much.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from tests.page_js import CHROMIUM_ARGS, METRIC_JS, STATUS_JS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CLK = os.sysconf("SC_CLK_TCK")



def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------- /proc probes
def rss_mb(pid) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(root: int) -> list[int]:
    """Every process below `root` (Playwright's driver, Chromium and its helpers)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        frontier += kids
    return out


def is_chromium(pid) -> bool:
    try:
        return "chrom" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return False


class Sampler(threading.Thread):
    """Every `every` s: server RSS, server CPU, Chromium CPU, /_stcore/health latency."""

    def __init__(self, base, pid, every=0.5):
        super().__init__(daemon=True, name="sampler")
        self.base, self.pid, self.every = base, pid, every
        self.phase = "start"
        self.rows = []   # (t, phase, rss_mb, latency_ms or None, server_cpu_s, chromium_cpu_s)
        self._halt = threading.Event()

    def chromium_cpu(self):
        return sum(cpu_seconds(p) for p in descendants(os.getpid()) if is_chromium(p))

    def run(self):
        while not self._halt.is_set():
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + "/_stcore/health", timeout=10) as r:
                    r.read()
                latency = (time.monotonic() - t0) * 1000
            except Exception:
                latency = None  # no answer within 10 s counts as a failure
            self.rows.append((time.monotonic(), self.phase, rss_mb(self.pid), latency,
                              cpu_seconds(self.pid), self.chromium_cpu()))
            self._halt.wait(max(0.0, self.every - (time.monotonic() - t0)))

    def stop(self):
        self._halt.set()
        self.join(15)


# ------------------------------------------------------------------ server
# The server is the app unchanged, started through this launcher: it wraps
# RunLog.add_step to count steps and writes "wall-time total-steps" to a file
# four times a second, so training speed is measured inside the server, on
# the wall clock, however slowly the pages redraw.
LAUNCHER = r"""
import os, sys, threading, time
import charrnn.log as L
_count = [0]
_orig = L.RunLog.add_step
def _add_step(self, ev):
    _orig(self, ev)
    _count[0] += 1
L.RunLog.add_step = _add_step
def _report(path):
    with open(path, "a", buffering=1) as f:
        while True:
            f.write(f"{time.time():.3f} {_count[0]}\n")
            time.sleep(0.25)
threading.Thread(target=_report, args=(os.environ["CHARRNN_LOAD_STEPS"],), daemon=True,
                 name="load-steps").start()
from streamlit.web.cli import main
sys.argv = ["streamlit", *sys.argv[1:]]
main(prog_name="streamlit")
"""


def steps_at(path: Path, t: float) -> float | None:
    """Total steps at wall time t, interpolated from the launcher's file."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            a, b = line.split()
            rows.append((float(a), int(b)))
        except ValueError:
            pass
    before = [r for r in rows if r[0] <= t]
    after = [r for r in rows if r[0] >= t]
    if not before or not after:
        return None
    (t0, s0), (t1, s1) = before[-1], after[0]
    return s0 if t1 == t0 else s0 + (s1 - s0) * (t - t0) / (t1 - t0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs: Path, logfile: Path, steps_file: Path):
    port = free_port()
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(runs),
               CHARRNN_THREADS=os.environ.get("CHARRNN_THREADS", "1"),
               PYTHONUNBUFFERED="1", CHARRNN_LOAD_STEPS=str(steps_file))
    env.pop("CHARRNN_PRESENTER_KEY", None)
    data = REPO.parent / "shared" / "data"
    if "CHARRNN_DATA_DIR" not in env and (data / "timemachine.txt").exists():
        env["CHARRNN_DATA_DIR"] = str(data)
    cmd = [sys.executable, "-c", LAUNCHER, "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--server.runOnSave", "false"]
    out = open(logfile, "wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}); see {logfile}")
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not become healthy in 60 s; see {logfile}")


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---------------------------------------------------------------- browsers
def step_of(page) -> int | None:
    try:
        value = page.evaluate(METRIC_JS, "Step")
    except Exception:
        return None
    digits = re.sub(r"[^0-9]", "", value or "")
    return int(digits) if digits else None


def status_of(page) -> str | None:
    try:
        text = page.evaluate(STATUS_JS) or ""
    except Exception:
        return None
    return text.split()[0] if text.split() else None


def wait_until(fn, cond, deadline, interval=0.25):
    value = fn()
    while not cond(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    return value if cond(value) else None


def measure(steps_file, seconds, deadline):
    """(first step, last step, seconds) trained in a window, on the wall clock."""
    end = min(time.monotonic() + seconds, deadline)
    t0 = time.time()
    time.sleep(max(0.0, end - time.monotonic()))
    t1 = time.time()
    time.sleep(0.6)  # let the launcher write a line past t1
    s0, s1 = steps_at(steps_file, t0), steps_at(steps_file, t1)
    if s0 is None or s1 is None:
        return None
    return s0, s1, t1 - t0


def percentile(values, q):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def start_watchdog(seconds, grace=15.0):
    """Whatever happens, nothing this script started outlives `seconds` (+ grace
    to clean up): then every descendant is killed and the script exits (3)."""
    def watchdog():
        time.sleep(seconds + grace)
        log("watchdog: time is up, killing what this script started")
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(3)
    threading.Thread(target=watchdog, daemon=True, name="watchdog").start()


def run_info(runs: Path, run_id: str) -> tuple[int, str]:
    """(tokens per training step, a short description) of a run, from its config.json."""
    cfg = json.loads((runs / run_id / "config.json").read_text())
    return (cfg["batch_size"] * cfg["num_steps"],
            f"{cfg['model']} h{cfg['num_hiddens']} b{cfg['batch_size']} T{cfg['num_steps']}")


def read_per_step(metrics: Path):
    """{"step", "tps"} arrays from a saved run's metrics.npz (tokens/s the
    trainer logged per step), or None when the file is not there."""
    if not metrics.exists():
        return None
    import numpy as np
    with np.load(metrics, allow_pickle=False) as z:
        names = [str(n) for n in z["step_names"]]
        steps = z["steps"]
    return {"step": steps[:, names.index("step")], "tps": steps[:, names.index("tokens_per_s")]}


def window_row(sampler_rows, label, w, phase, viewers, tokens_per_step, per_step=None):
    """One table row: training speed in window `w` ((s0, s1, seconds) from
    measure()), and the Sampler's rows of `phase` (health, RSS, CPU)."""
    import numpy as np
    rows = [r for r in sampler_rows if r[1] == phase]
    lat = [r[3] for r in rows]
    out = {"phase": label, "viewers": viewers}
    if w:
        s0, s1, dt = w
        out["steps_per_s"] = (s1 - s0) / dt
        out["tokens_per_s_wall"] = out["steps_per_s"] * tokens_per_step
        if per_step is not None:
            sel = (per_step["step"] > round(s0)) & (per_step["step"] <= round(s1))
            if sel.any():
                out["tokens_per_s_step_median"] = float(np.median(per_step["tps"][sel]))
    out["health_ms_p50"] = percentile(lat, 50)
    out["health_ms_p95"] = percentile(lat, 95)
    out["health_ms_max"] = max((x for x in lat if x is not None), default=None)
    out["health_failures"] = sum(1 for x in lat if x is None)
    rss = [r[2] for r in rows if r[2] is not None]
    out["rss_mb_min"] = min(rss, default=None)
    out["rss_mb_max"] = max(rss, default=None)
    if len(rows) >= 2:
        span = rows[-1][0] - rows[0][0]
        out["server_cpu_pct"] = 100 * (rows[-1][4] - rows[0][4]) / span if span else None
        out["chromium_cpu_pct"] = 100 * (rows[-1][5] - rows[0][5]) / span if span else None
    return out


def fmt_value(v, fmt="{:,.0f}"):
    """A table cell: "-" for a missing figure."""
    return "-" if v is None else fmt.format(v)


# -------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.load.watchers",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--watchers", type=int, default=30, help="browser sessions (default 30)")
    ap.add_argument("--seconds", type=float, default=120, help="hard limit for everything")
    ap.add_argument("--query", default="num_epochs=100000",
                    help="the Train page's query string for the run (d2l defaults otherwise)")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds per measuring window (default: 1/5 of --seconds)")
    ap.add_argument("--stagger", type=float, default=0.3, help="seconds between opening pages")
    ap.add_argument("--nice-browser", type=int, default=0,
                    help="renice Chromium by this much (models browsers on other machines)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    t_start = time.monotonic()
    hard_end = t_start + a.seconds
    window = a.window or max(8.0, a.seconds / 5)
    tmp = Path(tempfile.mkdtemp(prefix="charrnn-load-"))
    runs = tmp / "runs"
    server_log = tmp / "server.log"
    steps_file = tmp / "steps.txt"
    proc = None
    result = {"watchers_requested": a.watchers, "seconds": a.seconds, "query": a.query,
              "cores": os.cpu_count(), "loadavg_before": os.getloadavg()}

    # the watchdog: whatever happens, nothing outlives --seconds (+15 s to clean up)
    start_watchdog(a.seconds)

    try:
        proc, base = start_server(runs, server_log, steps_file)
        log(f"server pid {proc.pid} at {base} ({time.monotonic() - t_start:.1f} s)")
        sampler = Sampler(base, proc.pid)
        sampler.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         timeout=60_000)
            if a.nice_browser:
                for pid in descendants(os.getpid()):
                    if is_chromium(pid):
                        try:
                            os.setpriority(os.PRIO_PROCESS, pid, a.nice_browser)
                        except OSError:
                            pass

            def new_page():
                ctx = browser.new_context(viewport={"width": 1280, "height": 800},
                                          locale="en-US")
                ctx.set_default_timeout(30_000)
                return ctx.new_page()

            # 1. one viewer starts the run
            sampler.phase = "starting"
            first = new_page()
            first.goto(f"{base}/?{a.query}", timeout=60_000)
            first.get_by_test_id("stSidebar").get_by_role(
                "button", name="Start training", exact=True).click(timeout=60_000)
            ok = wait_until(lambda: step_of(first), lambda s: s is not None and s > 0,
                            min(hard_end, time.monotonic() + 60))
            if ok is None:
                raise RuntimeError(f"the run did not start; server log: {server_log}")
            run_id = next(runs.iterdir()).name
            tokens_per_step, model = run_info(runs, run_id)
            result.update(run=run_id, tokens_per_step=tokens_per_step, model=model)
            log(f"run {run_id} training ({time.monotonic() - t_start:.1f} s)")

            # 2. baseline: one viewer
            time.sleep(2)  # past the first steps' warm-up
            sampler.phase = "1 viewer"
            base_w = measure(steps_file, window, hard_end - 0.55 * a.seconds)
            log(f"baseline window: {base_w}")

            # 3. N watchers
            sampler.phase = "opening"
            pages, t_open = [], time.monotonic()
            open_deadline = time.monotonic() + max(10.0, hard_end - time.monotonic()
                                                   - window - 20)
            for i in range(a.watchers):
                if time.monotonic() > open_deadline:
                    log(f"stopped opening at {i} watchers: out of time")
                    break
                try:
                    pg = new_page()
                    pg.goto(f"{base}/?run={run_id}", wait_until="commit", timeout=30_000)
                    pages.append(pg)
                except Exception as exc:
                    log(f"watcher {i} failed to open: {exc.__class__.__name__}")
                time.sleep(a.stagger)
            if a.nice_browser:
                for pid in descendants(os.getpid()):
                    if is_chromium(pid):
                        try:
                            os.setpriority(os.PRIO_PROCESS, pid, a.nice_browser)
                        except OSError:
                            pass
            loaded = 0
            for pg in pages:
                if wait_until(lambda: status_of(pg), lambda s: s == "running",
                              open_deadline + 10) is not None:
                    loaded += 1
            result["watchers_opened"] = len(pages)
            result["watchers_showing_the_run"] = loaded
            result["open_seconds"] = round(time.monotonic() - t_open, 1)
            log(f"{loaded}/{len(pages)} watchers show the run "
                f"({result['open_seconds']} s to open)")

            # 4. N + 1 viewers
            sampler.phase = "load"
            load_w = measure(steps_file, window, hard_end - 12)
            log(f"load window: {load_w}")
            sampler.phase = "stopping"

            # 5. stop the run; its metrics are saved when the thread ends
            try:
                first.get_by_test_id("stMainBlockContainer").get_by_role(
                    "button", name="Stop", exact=True).first.click(timeout=10_000)
            except Exception as exc:
                log(f"could not click Stop ({exc.__class__.__name__}); the server stops it")
            for pg in pages:
                try:
                    pg.context.close()
                except Exception:
                    pass
            wait_until(lambda: (runs / run_id / "metrics.npz").exists(), bool,
                       time.monotonic() + 10)
            browser.close()
        sampler.stop()
    finally:
        if proc is not None:
            stop_server(proc)

    # ------------------------------------------------------------- figures
    per_step = read_per_step(runs / run_id / "metrics.npz")
    table = [window_row(sampler.rows, "1 viewer", base_w, "1 viewer", 1, tokens_per_step,
                        per_step),
             window_row(sampler.rows, f"1+{len(pages)} open", load_w, "load", 1 + len(pages),
                        tokens_per_step, per_step)]
    all_rss = [r[2] for r in sampler.rows if r[2] is not None]
    result["rss_mb_over_time"] = [(round(r[0] - t_start, 1), r[1], round(r[2] or 0, 1))
                                  for r in sampler.rows[::4]]
    result["rss_mb_peak"] = max(all_rss, default=None)
    result["table"] = table
    result["loadavg_after"] = os.getloadavg()
    if table[0].get("tokens_per_s_wall") and table[1].get("tokens_per_s_wall"):
        result["speed_ratio_wall"] = table[1]["tokens_per_s_wall"] / table[0]["tokens_per_s_wall"]
    if table[0].get("tokens_per_s_step_median") and table[1].get("tokens_per_s_step_median"):
        result["speed_ratio_step"] = (table[1]["tokens_per_s_step_median"]
                                      / table[0]["tokens_per_s_step_median"])
    result["total_seconds"] = round(time.monotonic() - t_start, 1)

    f = fmt_value
    print(f"\nRun {result.get('model')}; {result['cores']} cores; load average before "
          f"{result['loadavg_before'][0]:.2f}, after {result['loadavg_after'][0]:.2f}; "
          f"{result['watchers_opened']} watchers opened, {result['watchers_showing_the_run']} "
          f"showed the run within {result['open_seconds']} s")
    head = (f"{'phase':<12} {'steps/s':>8} {'tok/s wall':>11} {'tok/s step':>11} "
            f"{'health p50':>11} {'p95':>7} {'max':>7} {'fail':>5} {'RSS MB':>13} "
            f"{'server CPU':>10} {'Chromium CPU':>12}")
    print(head)
    print("-" * len(head))
    for r in table:
        print(f"{r['phase']:<12} {f(r.get('steps_per_s'), '{:.1f}'):>8} "
              f"{f(r.get('tokens_per_s_wall')):>11} {f(r.get('tokens_per_s_step_median')):>11} "
              f"{f(r['health_ms_p50'], '{:.0f} ms'):>11} {f(r['health_ms_p95'], '{:.0f}'):>7} "
              f"{f(r['health_ms_max'], '{:.0f}'):>7} {r['health_failures']:>5} "
              f"{f(r['rss_mb_min'])}-{f(r['rss_mb_max']):<7} "
              f"{f(r.get('server_cpu_pct'), '{:.0f} %'):>10} "
              f"{f(r.get('chromium_cpu_pct'), '{:.0f} %'):>12}")
    for key in ("speed_ratio_wall", "speed_ratio_step"):
        if key in result:
            print(f"{key}: {result[key]:.2f} (with / without the watchers)")
    print(f"server RSS peak {f(result['rss_mb_peak'])} MB; total {result['total_seconds']} s")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
