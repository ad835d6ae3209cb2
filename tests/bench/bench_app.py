"""The app as a user meets it: a real `streamlit run app.py` and Debian's
Chromium (Playwright), measured against the CLI headless in the same run.

    python tests/bench/bench_app.py              # ~6-8 minutes
    python tests/bench/bench_app.py --quick      # ~2 minutes
    python tests/bench/bench_app.py --hidden 128 --epochs 400 --reps 3 --threads 1

What it measures (medians; no timed assertions, this is a report):

1. startup: `streamlit run` -> /_stcore/health answers "ok" -> the train page
   is usable (the sidebar's "Start training" button is visible and enabled)
   in a browser launched beforehand; and a second page load on the warm server.
2. start -> first chart point: click "Start training" (settings from the URL
   query string) and time, in the page, until the loss chart
   (`.js-plotly-plot` whose title contains "Training loss") has a point.
3. click latency while training: Pause <-> Resume and the
   language switch English <-> 中文 (both full reruns): from the click, dispatched
   in the page, until the answer is on screen (the other label appears), and
   until the rerun finished (Streamlit's status widget gone).
4. tokens/s with the browser watching vs the CLI (`python -m charrnn train
   --json`) on the same config, alternated (app, CLI, app, CLI, ...): wall
   tokens/s (steps seen over time: the page's Step metric, the CLI's epoch
   lines) and the engine's own per-epoch tokens/s (metrics.npz, --json).
   CPU seconds of the server, the browser and the CLI are read from /proc.

The server gets CHARRNN_RUNS_DIR in a temporary folder, CHARRNN_THREADS
(--threads), and CHARRNN_DATA_DIR from tests/bench/book.py (inherited, or the
shared data folder beside the repository).
Never runs `playwright install`: it drives /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from charrnn.i18n import t  # noqa: E402  (no torch: cheap)
from tests.bench.book import data_dir  # noqa: E402
from tests.page_js import CHROMIUM_ARGS, METRIC_JS, STATUS_JS  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# the first chart point is looked for on the loss chart, at the top of the
# page: a chart below the fold is redrawn only once it is scrolled to
LOSS_MATCH = "Training loss"
assert LOSS_MATCH in t("fig.loss.title", "en")


# ------------------------------------------------------------------ /proc
def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest  # rest[1] = ppid, rest[11] = utime, rest[12] = stime


def cpu_seconds(pid, reaped_children=False) -> float:
    st = _stat(pid)
    if st is None:
        return 0.0
    fields = (11, 12, 13, 14) if reaped_children else (11, 12)  # + cutime, cstime
    return sum(int(st[i]) for i in fields) / CLK_TCK


def rss_mb(pid) -> float | None:
    """Resident set size in MB (psutil if installed, else /proc/<pid>/status VmRSS)."""
    try:
        import psutil
        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def descendants(root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(name)
            if st:
                kids.setdefault(int(st[1]), []).append(int(name))
    out, todo = set(), [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


class CpuMeter:
    """CPU seconds of the server, of its training workers (its descendants,
    running or reaped), of the browser (every other descendant of this
    process: Playwright's driver and Chromium) and of a CLI, between two reads."""

    def __init__(self, server_pid):
        self.server = server_pid

    def read(self, exclude=()):
        workers = descendants(self.server)
        browser = sum(cpu_seconds(p) for p in descendants(os.getpid())
                      if p != self.server and p not in exclude and p not in workers)
        own = cpu_seconds(self.server)
        return {"server": own, "browser": browser,
                "workers": cpu_seconds(self.server, True) - own
                + sum(cpu_seconds(p, True) for p in workers)}


# ------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a loopback port, runs in a temporary folder."""

    def __init__(self, threads=1, runs_dir=None, log_path=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.runs = Path(runs_dir or tempfile.mkdtemp(prefix="charrnn-bench-runs-"))
        self.threads = threads
        self.log_path = Path(log_path or tempfile.mkstemp(prefix="charrnn-bench-server-",
                                                          suffix=".log")[1])
        self.proc = None
        self.t_start = None

    def env(self):
        env = dict(os.environ)
        env.update(CHARRNN_RUNS_DIR=str(self.runs), CHARRNN_DATA_DIR=data_dir(),
                   CHARRNN_THREADS=str(self.threads), PYTHONUNBUFFERED="1")
        env.pop("CHARRNN_PRESENTER_KEY", None)   # the browser must be allowed to control
        return env

    def start(self):
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
        self.t_start = time.perf_counter()
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_healthy(self, timeout=60.0) -> float:
        """Seconds from Popen to /_stcore/health == ok."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited ({self.proc.returncode}); log "
                                   f"{self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/_stcore/health", timeout=1) as r:
                    if r.read().strip() == b"ok":
                        return time.perf_counter() - self.t_start
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no health within {timeout} s; log {self.log_path}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cleanup(self):
        shutil.rmtree(self.runs, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


# ------------------------------------------------------------------ page JS
FIND_JS = """
const findEl = (sel, text) => [...document.querySelectorAll(sel)]
  .find(e => (e.innerText || e.textContent || '').trim().endsWith(text));
"""

# click an element, resolve when another (by selector + label) is on screen and
# enabled: {ms}, then when no script run is in progress any more: {idle_ms}
CLICK_JS = "async (a) => {" + FIND_JS + """
  const el = findEl(a.clickSel, a.clickText);
  if (!el) return {error: 'nothing to click: ' + a.clickText};
  const ready = () => { const w = findEl(a.waitSel, a.waitText);
                        return w && !w.disabled && !w.closest('[disabled]'); };
  // a label left from the previous rerun may linger (stale) for a moment
  const w0 = performance.now();
  while (ready() && performance.now() - w0 < 5000) await new Promise(r => setTimeout(r, 20));
  if (ready()) return {error: 'already there: ' + a.waitText};
  const busy = () => document.querySelector('[data-testid="stStatusWidget"]');
  const t0 = performance.now();
  el.click();
  const ms = await new Promise(resolve => {
    let obs = null;
    const timer = setTimeout(() => { obs.disconnect(); resolve(null); }, a.timeout);
    const check = () => { if (ready()) { obs.disconnect(); clearTimeout(timer);
                                         resolve(performance.now() - t0); } };
    obs = new MutationObserver(check);
    obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                attributes: true});
    check();
  });
  if (ms === null) return {error: 'timeout waiting for ' + a.waitText};
  const t1 = performance.now();
  while (busy() && performance.now() - t1 < a.timeout) {
    await new Promise(r => setTimeout(r, 10));
  }
  return {ms: ms, idle_ms: performance.now() - t0};
}"""

# click Start, resolve when the loss chart has its first point
FIRST_POINT_JS = "async (a) => {" + FIND_JS + """
  // the page may still show the previous run's chart: the new run's chart is
  // the one whose layout.uirevision (the run id) differs from what was there
  const chart = () => {
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
      const t = el.layout && el.layout.title;
      const text = t && (typeof t === 'string' ? t : t.text);
      if (text && text.includes(a.match) && el._fullData && el._fullData.length) {
        return {rev: el.layout.uirevision, n: (el._fullData[0].x || []).length};
      }
    }
    return null;
  };
  const before = chart();
  const oldRev = before ? before.rev : undefined;
  const btn = findEl('[data-testid="stSidebar"] button', a.start);
  if (!btn) return {error: 'no start button'};
  const t0 = performance.now();
  btn.click();
  let chart_ms = null;
  while (performance.now() - t0 < a.timeout) {
    const c = chart();
    if (c && c.rev !== oldRev) {
      if (chart_ms === null) chart_ms = performance.now() - t0;
      if (c.n > 0) return {ms: performance.now() - t0, chart_ms: chart_ms};
    }
    await new Promise(r => setTimeout(r, 20));
  }
  return {error: 'no point within ' + a.timeout + ' ms'};
}"""



START_READY_JS = "(label) => {" + FIND_JS + """
  const b = findEl('[data-testid="stSidebar"] button', label);
  return !!(b && !b.disabled && b.offsetParent !== null);
}"""

IDLE_JS = """() => !document.querySelector(
    '[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')"""

MAIN_BTN = '[data-testid="stMainBlockContainer"] button'
LANG_BTN = '[data-testid="stSidebar"] button'


def run_url(hidden, epochs, extra=""):
    return f"/?num_hiddens={hidden}&num_epochs={epochs}{extra}"


def wait_usable(page, timeout_ms=60_000):
    page.wait_for_function(START_READY_JS, arg=t("cfg.start", "en"), timeout=timeout_ms,
                           polling=50)


def wait_idle(page, timeout_ms=30_000):
    for _ in range(2):   # Streamlit shows its status widget after a short delay: ask twice
        page.wait_for_function(IDLE_JS, timeout=timeout_ms, polling=50)
        page.wait_for_timeout(300)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms, polling=50)


def step_metric(page):
    v = page.evaluate(METRIC_JS, t("app.m.step", "en"))
    digits = "".join(c for c in (v or "") if c.isdigit())
    return int(digits) if digits else None


def status(page):
    s = (page.evaluate(STATUS_JS) or "").split()
    return s[0] if s else None


def poll(fn, cond, timeout_s, what, interval=0.1):
    deadline = time.monotonic() + timeout_s
    v = fn()
    while not cond(v):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s} s waiting for {what} (last {v!r})")
        time.sleep(interval)
        v = fn()
    return v


def stop_run(page, timeout_s=60):
    """Click Stop (again every 3 s: a click on an element a rerun is replacing
    can be lost) until the run header says it ended."""
    ended = ("stopped", "finished", "failed", "diverged")
    deadline = time.monotonic() + timeout_s
    while status(page) not in ended:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the run did not stop within {timeout_s} s ({status(page)!r})")
        page.evaluate("(l) => {" + FIND_JS + f"const b = findEl('{MAIN_BTN}', l);"
                      " if (b && !b.disabled) b.click(); }", t("app.ctl.stop", "en"))
        t_click = time.monotonic()
        while time.monotonic() - t_click < 3 and status(page) not in ended:
            time.sleep(0.1)


def open_page(page, server, url):
    page.goto(server.base + url, timeout=60_000)
    wait_usable(page)
    wait_idle(page)


def launch_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)


def new_page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    ctx.set_default_timeout(60_000)
    return ctx.new_page()


# ------------------------------------------------------------------ phases
def phase_startup(browser, threads):
    """Popen -> health -> usable page (first load), and a second load when warm."""
    server = Server(threads).start()
    health = server.wait_healthy()
    page = new_page(browser)
    page.goto(server.base + "/", timeout=60_000)
    wait_usable(page)
    usable = time.perf_counter() - server.t_start
    wait_idle(page)
    page2 = new_page(browser)
    t0 = time.perf_counter()
    page2.goto(server.base + "/", timeout=60_000)
    wait_usable(page2)
    warm = time.perf_counter() - t0
    page2.context.close()
    return server, page, {"health_s": health, "usable_s": usable, "warm_load_s": warm,
                          "rss_mb_idle": rss_mb(server.pid)}


def phase_first_point(page, server, hidden, reps):
    out = []
    for _ in range(reps):
        open_page(page, server, run_url(hidden, 100000))
        r = page.evaluate(FIRST_POINT_JS, {"start": t("cfg.start", "en"), "match": LOSS_MATCH,
                                           "timeout": 60_000})
        if "error" in r:
            raise RuntimeError(f"first point: {r['error']}")
        out.append(r)
        stop_run(page)
    return out


def phase_clicks(page, server, hidden, n):
    """n Pause/Resume clicks and n language clicks while a run trains."""
    open_page(page, server, run_url(hidden, 100000))
    page.evaluate("(l) => {" + FIND_JS + "findEl('[data-testid=\"stSidebar\"] button', l)"
                  ".click(); }", t("cfg.start", "en"))
    poll(lambda: step_metric(page), lambda s: s is not None and s > 20, 60, "steps > 20")
    pause, resume = t("app.ctl.pause", "en"), t("app.ctl.resume", "en")
    res = {"pause/resume (full rerun)": [], "language en<->zh (full rerun)": []}
    idle = {k: [] for k in res}
    rng = random.Random(0)
    for i in range(n):
        a, b = (pause, resume) if i % 2 == 0 else (resume, pause)
        time.sleep(rng.uniform(0.3, 1.3))     # land at all phases of the 1 s fragment cycle
        r = page.evaluate(CLICK_JS, {"clickSel": MAIN_BTN, "clickText": a, "waitSel": MAIN_BTN,
                                     "waitText": b, "timeout": 15_000})
        if "error" in r:
            raise RuntimeError(f"click {a}: {r['error']}")
        res["pause/resume (full rerun)"].append(r["ms"])
        idle["pause/resume (full rerun)"].append(r["idle_ms"])
    if status(page) == "paused":
        page.evaluate(CLICK_JS, {"clickSel": MAIN_BTN, "clickText": resume, "waitSel": MAIN_BTN,
                                 "waitText": pause, "timeout": 15_000})
    start_en, start_zh = t("cfg.start", "en"), t("cfg.start", "zh")
    for i in range(n):
        a, wait = ("中文", start_zh) if i % 2 == 0 else ("English", start_en)
        time.sleep(rng.uniform(0.3, 1.3))
        r = page.evaluate(CLICK_JS, {"clickSel": LANG_BTN, "clickText": a, "waitSel": LANG_BTN,
                                     "waitText": wait, "timeout": 15_000})
        if "error" in r:
            raise RuntimeError(f"click {a}: {r['error']}")
        res["language en<->zh (full rerun)"].append(r["ms"])
        idle["language en<->zh (full rerun)"].append(r["idle_ms"])
    if n % 2:   # back to English
        page.evaluate(CLICK_JS, {"clickSel": LANG_BTN, "clickText": "English",
                                 "waitSel": LANG_BTN, "waitText": start_en, "timeout": 15_000})
    steps = step_metric(page)
    stop_run(page)
    return res, idle, steps


def _slope(ts, ys):
    """Least-squares slope of ys over ts."""
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((x - mt) ** 2 for x in ts)
    return sum((x - mt) * (y - my) for x, y in zip(ts, ys)) / den if den else float("nan")


def tokens_per_epoch(hidden, epochs, seed=0, batch=32, steps=35):
    """Tokens of each epoch of the d2l config (sequential offsets from the seed)."""
    from charrnn import data
    corpus = data.load_corpus("timemachine", "d2l", 10000).corpus
    rng = random.Random(seed)
    return [sum(X.numel() for X, _ in data.batches(corpus, batch, steps, False, rng))
            for _ in range(epochs)]


def shown_run(page):
    """The id of the run the page shows: the run picker writes it into the URL
    (the charts are no guide: one below the fold is redrawn only when seen)."""
    return page.evaluate("() => new URL(location.href).searchParams.get('run')")


def _meta_status(folder):
    try:
        return json.loads((folder / "meta.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def app_run(page, server, meter, hidden, epochs, tokens_per_step):
    """One run with the browser watching: wall tokens/s from the Step metric.

    The run is identified by its new folder under CHARRNN_RUNS_DIR; its end by
    its meta.json; a Step reading counts only while the page shows that run
    (the gradient chart's uirevision is the run id)."""
    open_page(page, server, run_url(hidden, epochs))
    before = set(p.name for p in server.runs.iterdir()) if server.runs.exists() else set()
    c0 = meter.read()
    page.evaluate("(l) => {" + FIND_JS + "findEl('[data-testid=\"stSidebar\"] button', l)"
                  ".click(); }", t("cfg.start", "en"))
    folder = poll(lambda: [p for p in server.runs.iterdir() if p.name not in before],
                  bool, 60, "the new run's folder")[0]
    ended = ("finished", "stopped", "failed", "diverged")
    samples = []
    t_start = time.perf_counter()
    while _meta_status(folder) not in ended:
        s = step_metric(page) if shown_run(page) == folder.name else None
        now = time.perf_counter()
        if s:
            samples.append((now, s))
        if now - t_start > 3600:
            raise RuntimeError("app run did not finish within an hour")
        time.sleep(0.25)
    c1 = meter.read()
    # the step metric moves once a second: fit a line over the distinct updates,
    # leaving out the first 10% (start-up) and the final value (the end)
    pts, last = [], None
    for ts, s in samples:
        if s != last:
            pts.append((ts, s))
            last = s
    pts = pts[max(1, len(pts) // 10):-1] if len(pts) > 5 else pts
    if len(pts) < 2:
        raise RuntimeError(f"too few Step readings during app run {folder.name} ({samples!r}; "
                           f"page {page.url}); use more --epochs")
    wall = _slope([p[0] for p in pts], [p[1] for p in pts]) * tokens_per_step
    poll(lambda: (folder / "metrics.npz").exists(), bool, 30, "metrics.npz")
    import numpy as np
    time.sleep(0.5)
    with np.load(folder / "metrics.npz") as z:
        ep = z["epochs"]
    engine = float(np.median(ep[:, 2]))     # EPOCH_COLS: epoch, perplexity, tokens_per_s
    return {"wall": wall, "engine": engine, "cpu_server": c1["server"] - c0["server"],
            "cpu_browser": c1["browser"] - c0["browser"],
            "cpu_workers": c1["workers"] - c0["workers"],
            "seconds": samples[-1][0] - samples[0][0] if samples else 0}


def cli_run(hidden, epochs, threads, tok_per_epoch):
    env = dict(os.environ, CHARRNN_DATA_DIR=data_dir(), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "charrnn", "train", "--num-hiddens", str(hidden),
           "--num-epochs", str(epochs), "--threads", str(threads), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines = []
    for line in proc.stdout:
        lines.append((time.perf_counter(), json.loads(line)))
    proc.wait()
    eps = [(ts, o) for ts, o in lines if "epoch" in o]
    cum, pts = 0, []
    for ts, o in eps:
        cum += tok_per_epoch[o["epoch"] - 1]
        pts.append((ts, cum))
    pts = pts[max(1, len(pts) // 10):] if len(pts) > 5 else pts
    wall = _slope([p[0] for p in pts], [p[1] for p in pts])
    engine = statistics.median(o["tokens_per_s"] for _, o in eps)
    return {"wall": wall, "engine": engine, "seconds": time.perf_counter() - t0}


def phase_tokens(page, server, meter, hidden, epochs, reps, threads):
    tpe = tokens_per_epoch(hidden, epochs)
    tokens_per_step = 32 * 35
    app, cli, cpu = [], [], []
    import resource
    for rep in range(reps):
        order = ("app", "cli") if rep % 2 == 0 else ("cli", "app")
        for which in order:
            if which == "app":
                r = app_run(page, server, meter, hidden, epochs, tokens_per_step)
                app.append(r)
            else:
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                r = cli_run(hidden, epochs, threads, tpe)
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                r["cpu"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
                cli.append(r)
            print(f"  tokens/s rep {rep + 1}/{reps} {which}: wall {r['wall']:,.0f}, engine "
                  f"{(r['engine'] or 0):,.0f}", file=sys.stderr)
    return app, cli


# ------------------------------------------------------------------ UI profile
def synthetic_log(n_steps=5000, hidden=512, num_steps=35, lanes=(0, 1, 2, 3), seed=0):
    """A RunLog as a d2l run leaves it after n_steps: 8 steps per epoch,
    snapshots every 10 steps in bursts of 3, spectra every 50, samples."""
    import numpy as np

    from charrnn.log import RunLog
    from charrnn.events import Epoch, Sample, Snapshot, Spectral, Step
    rng = np.random.default_rng(seed)
    names = ["W_xh", "W_hh", "b_h", "W_hq", "b_q"]
    log = RunLog(names, num_steps)
    letters = list("abcdefghijklmnopqrstuvwxyz ")
    for step in range(1, n_steps + 1):
        epoch = (step - 1) // 8 + 1
        loss = 3.3 * np.exp(-step / 1500) + 0.1 + 0.05 * rng.standard_normal()
        g = float(np.exp(rng.normal(0.3, 0.8)))
        log.add_step(Step(step=step, epoch=epoch, loss=loss, grad_norm=g,
                          grad_norm_clipped=min(g, 1.0), clipped=g > 1.0,
                          param_norms=list(rng.random(5) * g), tokens_per_s=40000.0,
                          time=step * 0.028))
        if step % 8 == 0:
            log.add_epoch(Epoch(epoch=epoch, perplexity=float(np.exp(loss)), tokens=8 * 32 * 35,
                                tokens_per_s=40000.0, time=step * 0.028, step=step))
        if step % 50 == 0 or step == 1:
            log.add_spectral(Spectral(step, 1 + rng.random(), 2.0))
        if (step - 1) % 10 < 3:
            X = rng.integers(1, 28, (len(lanes), num_steps))
            log.add_snapshot(Snapshot(
                step=step, epoch=epoch, lanes=list(lanes),
                H=rng.uniform(-1, 1, (len(lanes), num_steps, hidden)).astype(np.float16),
                H0=rng.uniform(-1, 1, (len(lanes), hidden)).astype(np.float16),
                input_ids=X, target_ids=X, inputs=[[letters[i % 27] for i in r] for r in X],
                targets=[[letters[i % 27] for i in r] for r in X],
                dH=rng.random(num_steps).astype(np.float32)))
        if step % 80 == 0:
            log.add_sample(Sample(epoch=epoch, step=step, prefix="time traveller ",
                                  text="time traveller " + "x" * 50, generated="x" * 50))
    return log


def ui_profile(n_steps=5000, hidden=512, reps=7):
    """What one rerun of the train page's live fragment costs in the server:
    reading the log, building each figure, and plotly.io.to_json (what
    st.plotly_chart does with every figure), plus the JSON bytes sent."""
    import plotly.io as pio

    from charrnn import figures as F
    log = synthetic_log(n_steps, hidden)
    theta = 1.0
    rows = {}

    def timed(name, fn):
        best = []
        out = None
        for _ in range(reps):
            t0 = time.perf_counter()
            out = fn()
            best.append(time.perf_counter() - t0)
        rows[name] = (statistics.median(best) * 1000, out)
        return out

    steps = timed("log.step_columns() + epoch_columns()",
                  lambda: (log.step_columns(), log.epoch_columns()))[0]
    epochs = log.epoch_columns()
    snap = log.latest_snapshot()
    figs = {
        "perplexity_figure": lambda: F.perplexity_figure(
            epochs["epoch"], epochs["perplexity"], uirevision="r"),
        "loss_figure (smooth=0.05)": lambda: F.loss_figure(
            steps["step"], steps["loss"], smooth=0.05, uirevision="r"),
        "grad_norm_figure": lambda: F.grad_norm_figure(
            steps["step"], steps["grad_norm"], steps["grad_norm_clipped"],
            steps["clipped"] > 0.5, theta, uirevision="r"),
        f"hidden_heatmap_figure (35 x {hidden})": lambda: F.hidden_heatmap_figure(
            snap.H[0], snap.inputs[0], targets=snap.targets[0], lane=0, step=snap.step),
    }
    import plotly.tools
    total_build = total_json = total_conv = 0.0
    sizes = {}
    built = {}
    for name, build in figs.items():
        fig = timed("build " + name, build)
        built[name] = fig
        # st.plotly_chart: return_figure_from_figure_or_data (Figure.to_dict, a deep
        # copy), then plotly.io.to_json(figure, validate=False)
        conv = timed("conv " + name,
                     lambda: plotly.tools.return_figure_from_figure_or_data(fig, True))
        js = timed("to_json " + name, lambda: pio.to_json(conv, validate=False))
        sizes[name] = len(js)
        total_build += rows["build " + name][0]
        total_conv += rows["conv " + name][0]
        total_json += rows["to_json " + name][0]
    # what-ifs (not what the app does today)
    heat_name = [n for n in figs if n.startswith("hidden")][0]
    heat = built[heat_name]

    def heat_without_customdata():
        f = heat_build()
        f.data[0].customdata = None
        f.data[0].hovertemplate = "t %{x}<br>unit %{y}<br>H %{z:.3f}<extra></extra>"
        return f
    heat_build = figs[heat_name]
    lean = timed("lean heat build", heat_without_customdata)
    lean_js = timed("lean heat json", lambda: pio.to_json(lean, validate=False))
    grad_name = "grad_norm_figure"
    cached = built[grad_name]
    xs = steps["step"]

    def refresh_cached():
        # a cached figure whose traces only get new data (what a rebuild amounts to)
        with cached.batch_update():
            for tr in cached.data:
                if tr.x is not None and len(tr.x) > 100:
                    n = len(tr.x)
                    tr.x = xs[-n:].copy()
                    tr.y = steps["grad_norm"][-n:].copy()
        return cached
    timed("refresh cached grad", refresh_cached)
    json_engine = timed("json engine all", lambda: [pio.to_json(
        plotly.tools.return_figure_from_figure_or_data(f, True), validate=False, engine="json")
        for f in built.values()])
    orjson_ok = True
    try:
        import orjson  # noqa: F401
    except ImportError:
        orjson_ok = False
    print(f"\n## UI cost of one live-fragment rerun (train page, synthetic run of "
          f"{n_steps:,} steps, h{hidden}; median of {reps}, this process, ms)\n")
    print("| piece | ms | JSON sent |")
    print("|---|---|---|")
    print(f"| log.step_columns() + epoch_columns() | "
          f"{rows['log.step_columns() + epoch_columns()'][0]:.1f} | |")
    for name in figs:
        print(f"| build {name} | {rows['build ' + name][0]:.1f} | |")
        print(f"| st.plotly_chart: Figure -> dict (deep copy) | {rows['conv ' + name][0]:.1f} | |")
        print(f"| st.plotly_chart: plotly.io.to_json | {rows['to_json ' + name][0]:.1f} | "
              f"{sizes[name] / 1024:.0f} KiB |")
    total = total_build + total_conv + total_json
    print(f"| **total per rerun (4 figures)** | **{total:.0f}** | "
          f"**{sum(sizes.values()) / 1024:.0f} KiB** |")
    print("\nWhat-ifs (not what the app does):\n")
    print("| alternative | ms | JSON sent |")
    print("|---|---|---|")
    print(f"| heatmap without the per-cell customdata (hover: t, unit, value; characters "
          f"on the x axis) build + to_json | "
          f"{rows['lean heat build'][0] + rows['lean heat json'][0]:.1f} | "
          f"{len(lean_js[1] if isinstance(lean_js, tuple) else lean_js) / 1024:.0f} KiB |")
    print(f"| grad-norm figure: new data into the cached figure's traces instead of a "
          f"rebuild | {rows['refresh cached grad'][0]:.1f} | |")
    print(f"| to_json of all 4 figures with plotly's 'json' engine (the app uses 'auto' = "
          f"{'orjson, installed here' if orjson_ok else 'json: orjson is not installed'}) "
          f"| {rows['json engine all'][0]:.1f} | {sum(len(j) for j in json_engine) / 1024:.0f} KiB |")
    # memory: serialise the heatmap as st.plotly_chart does (a fresh dict each
    # rerun) 150 times with each JSON engine and watch this process's RSS
    import gc
    print("\nMemory: RSS growth over 150 serialisations of the heatmap figure (fresh "
          "Figure -> dict each time, as every rerun does):\n")
    print("| plotly JSON engine | RSS growth |")
    print("|---|---|")
    for engine in (["orjson"] if orjson_ok else []) + ["json"]:
        for _ in range(5):
            pio.to_json(heat.to_dict(), validate=False, engine=engine)
        gc.collect()
        r0 = rss_mb(os.getpid())
        for _ in range(150):
            pio.to_json(heat.to_dict(), validate=False, engine=engine)
        gc.collect()
        print(f"| {engine} | {rss_mb(os.getpid()) - r0:+.1f} MB |")
    return total, sum(sizes.values())


# ------------------------------------------------------------------ GIL
def _ui_work(log, hidden):
    """One rerun's server work of the train page's live fragment (no Streamlit):
    copy the log, build the four figures, serialise them as st.plotly_chart does."""
    import plotly.io as pio

    from charrnn import figures as F
    steps, epochs = log.step_columns(), log.epoch_columns()
    figs = [F.perplexity_figure(epochs["epoch"], epochs["perplexity"], uirevision="r"),
            F.loss_figure(steps["step"], steps["loss"], smooth=0.05, uirevision="r"),
            F.grad_norm_figure(steps["step"], steps["grad_norm"], steps["grad_norm_clipped"],
                               steps["clipped"] > 0.5, 1.0, uirevision="r")]
    snap = log.latest_snapshot()
    if snap is not None:
        figs.append(F.hidden_heatmap_figure(snap.H[0], snap.inputs[0], targets=snap.targets[0],
                                            lane=0, step=snap.step))
    for f in figs:
        pio.to_json(f, validate=False)


def _feed(log, ev):
    from charrnn.events import Epoch, Sample, Snapshot, Spectral, Step
    if isinstance(ev, (Step, Snapshot, Epoch, Spectral, Sample)):
        log.add(ev)


def _train_in_thread(cfg, log, stop):
    from charrnn.train import Trainer
    for ev in Trainer(cfg).events():
        _feed(log, ev)
        if stop.is_set():
            return


def _train_in_process(cfg, q, stop, threads):
    """The worker process: the same Trainer, its events sent to the parent."""
    import torch
    torch.set_num_threads(threads)
    from charrnn.train import Trainer
    for ev in Trainer(cfg).events():
        q.put(ev)
        if stop.is_set():
            break
    q.put(None)


def gil_experiment(hidden, seconds, reps, threads=1, ui_every=1.0):
    """Training throughput in four setups, alternated: the Trainer in a thread of
    this process (as charrnn.runs.Run does) or in a worker process, with the
    main thread idle or doing the live fragment's server work every second."""
    import multiprocessing as mp

    import torch

    from charrnn.log import RunLog
    from tests.bench.bench_engine import trainer_config
    torch.set_num_threads(threads)
    cfg = trainer_config(hidden, "cpu")
    ctx = mp.get_context("spawn")
    results = {k: [] for k in ("thread, UI idle", "thread + UI work",
                               "process, UI idle", "process + UI work")}
    ui_ms = []

    def one(kind, ui):
        log = RunLog(["W_xh", "W_hh", "b_h", "W_hq", "b_q"], 35)
        if kind == "thread":
            stop = threading.Event()
            th = threading.Thread(target=_train_in_thread, args=(cfg, log, stop), daemon=True)
            th.start()
        else:
            stop, q = ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=_train_in_process, args=(cfg, q, stop, threads),
                               daemon=True)
            proc.start()

            def drain():
                while True:
                    ev = q.get()
                    if ev is None:
                        return
                    _feed(log, ev)
            th = threading.Thread(target=drain, daemon=True)
            th.start()
        poll(lambda: log.num_steps_logged, lambda n: n >= 60, 120, "60 warm-up steps",
             interval=0.05)
        n0, t0 = log.num_steps_logged, time.perf_counter()
        nxt = t0
        while time.perf_counter() - t0 < seconds:
            if ui and time.perf_counter() >= nxt:
                u0 = time.perf_counter()
                _ui_work(log, hidden)
                ui_ms.append((time.perf_counter() - u0) * 1000)
                nxt = u0 + ui_every
            time.sleep(0.01)
        n1, t1 = log.num_steps_logged, time.perf_counter()
        stop.set()
        th.join(30)
        if kind == "process":
            proc.join(30)
        return (n1 - n0) * 32 * 35 / (t1 - t0)

    cells = [("thread", False), ("thread", True), ("process", False), ("process", True)]
    names = list(results)
    for rep in range(reps):
        order = list(zip(cells, names))
        if rep % 2:
            order.reverse()
        for (kind, ui), name in order:
            results[name].append(one(kind, ui))
        print(f"  GIL rep {rep + 1}/{reps}: " + ", ".join(
            f"{k} {v[-1]:,.0f}" for k, v in results.items()), file=sys.stderr)
    base = results["thread, UI idle"]
    print(f"\n## Training thread vs worker process, with and without the live "
          f"fragment's server work (h{hidden}, torch threads {threads}, {seconds:.0f} s "
          f"windows, {reps} alternated repetitions; no browser)\n")
    print("| setup | tokens/s (median) | x 'thread, UI idle' (median per repetition) |")
    print("|---|---|---|")
    for k, v in results.items():
        r = statistics.median(x / b for x, b in zip(v, base))
        print(f"| {k} | {statistics.median(v):,.0f} | {r:.2f}x |")
    if ui_ms:
        print(f"\nUI work per fragment rerun while training: median {statistics.median(ui_ms):.0f}"
              f" ms (in the main thread, sharing the GIL with the training thread or not)")


# ------------------------------------------------------------------ main
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--epochs", type=int, default=None, help="epochs of each tokens/s run")
    p.add_argument("--reps", type=int, default=None, help="app/CLI pairs for tokens/s")
    p.add_argument("--clicks", type=int, default=None)
    p.add_argument("--first-point-reps", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="CHARRNN_THREADS / --threads")
    p.add_argument("--skip", nargs="*", default=[], choices=["first", "clicks", "tokens"])
    p.add_argument("--ui-profile", action="store_true",
                   help="only profile building the train page's figures (no server)")
    p.add_argument("--ui-steps", type=int, default=5000)
    p.add_argument("--gil", action="store_true",
                   help="only the thread-vs-process experiment (no server, no browser)")
    a = p.parse_args(argv)
    if a.gil:
        gil_experiment(a.hidden, 6.0 if a.quick else 12.0, 2 if a.quick else 4, a.threads)
        return
    if a.ui_profile:
        import torch
        torch.set_num_threads(1)
        ui_profile(a.ui_steps, a.hidden)
        return
    epochs = a.epochs or (40 if a.quick else 150) * (4 if a.hidden <= 128 else 1)
    reps = a.reps or (1 if a.quick else 3)
    clicks = a.clicks or (10 if a.quick else 16)
    fp_reps = a.first_point_reps or (2 if a.quick else 5)
    from playwright.sync_api import sync_playwright

    print("# bench_app\n")
    print(f"command: python tests/bench/bench_app.py {' '.join(argv or sys.argv[1:])}")
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at the start; "
          f"h{a.hidden}, torch threads {a.threads}\n")
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        server = None
        try:
            server, page, st = phase_startup(browser, a.threads)
            meter = CpuMeter(server.pid)
            print("## Startup\n")
            print("| `streamlit run` -> health ok | -> train page usable (first load) | "
                  "second page load (warm server) | server RSS idle |")
            print("|---|---|---|---|")
            print(f"| {st['health_s']:.2f} s | {st['usable_s']:.2f} s | {st['warm_load_s']:.2f} s "
                  f"| {st['rss_mb_idle']:.0f} MB |")
            if "first" not in a.skip:
                fp = phase_first_point(page, server, a.hidden, fp_reps)
                print(f"\n## Start -> first point of the loss chart ({fp_reps} runs)\n")
                print("| median | min | max | chart element present (median) |")
                print("|---|---|---|---|")
                ms = [r["ms"] / 1000 for r in fp]
                cm = [r["chart_ms"] / 1000 for r in fp if r.get("chart_ms") is not None]
                print(f"| {med(ms):.2f} s | {min(ms):.2f} s | {max(ms):.2f} s | "
                      f"{med(cm):.2f} s |")
            if "clicks" not in a.skip:
                res, idle, steps = phase_clicks(page, server, a.hidden, clicks)
                print(f"\n## Click latency while training ({clicks} clicks each, ms)\n")
                print("| control | answer on screen: median | p90 | max | rerun finished: "
                      "median |")
                print("|---|---|---|---|---|")
                for k, v in res.items():
                    v = sorted(v)
                    print(f"| {k} | {med(v):.0f} | {v[int(0.9 * (len(v) - 1))]:.0f} | "
                          f"{v[-1]:.0f} | {med(idle[k]):.0f} |")
            if "tokens" not in a.skip:
                app, cli = phase_tokens(page, server, meter, a.hidden, epochs, reps, a.threads)
                print(f"\n## Training tokens/s: app with a browser watching vs CLI headless "
                      f"(h{a.hidden}, {epochs} epochs, {reps} alternated pairs, medians)\n")
                print("| | wall tokens/s | per-epoch tokens/s reported (app: wall; CLI: "
                      "compute) | run seconds | CPU s: server or CLI | CPU s: training "
                      "worker | CPU s: browser |")
                print("|---|---|---|---|---|---|---|")
                print(f"| app + browser | {med(r['wall'] for r in app):,.0f} | "
                      f"{med(r['engine'] for r in app):,.0f} | "
                      f"{med(r['seconds'] for r in app):.1f} | "
                      f"{med(r['cpu_server'] for r in app):.1f} | "
                      f"{med(r['cpu_workers'] for r in app):.1f} | "
                      f"{med(r['cpu_browser'] for r in app):.1f} |")
                print(f"| CLI headless | {med(r['wall'] for r in cli):,.0f} | "
                      f"{med(r['engine'] for r in cli):,.0f} | "
                      f"{med(r['seconds'] for r in cli):.1f} | "
                      f"{med(r['cpu'] for r in cli):.1f} | – | – |")
                wr = [x["wall"] / y["wall"] for x, y in zip(app, cli)]
                er = [x["engine"] / y["engine"] for x, y in zip(app, cli) if x["engine"]]
                print(f"\napp / CLI: wall {med(wr):.2f}x, engine-reported {med(er):.2f}x "
                      f"(median of the pairs)")
            print(f"\nserver RSS at the end: {rss_mb(server.pid):.0f} MB; load average "
                  f"{os.getloadavg()[0]:.2f}")
        finally:
            if server:
                server.stop()
                server.cleanup()
            browser.close()


if __name__ == "__main__":
    main()
