"""Memory soak: the app server with a browser watching one long run.

    python tests/bench/soak.py                       # 10 minutes, h512
    python tests/bench/soak.py --minutes 60          # the issue's hour
    python tests/bench/soak.py --quick               # 2 minutes
    python tests/bench/soak.py --minutes 30 --hidden 128 --interval 10

Starts `streamlit run app.py` (runs in a temporary folder), opens the train
page in Debian's Chromium, presses "Start training" on a run long enough to
outlast the soak, and samples every --interval seconds: the server's RSS
(psutil if installed, else /proc/<pid>/status VmRSS), the step reached, the
browser tab's JS heap. Prints the samples, the growth, and the growth per
hour extrapolated from a least-squares line over the samples after the first
two minutes (a quarter of a shorter soak: start-up allocations: torch,
plotly, the first figures), next to
what the run's own log is expected to take (RunLog keeps every step: 13
float32 = 52 bytes per step, by design; snapshots, samples and dH are bounded).
No timed or memory assertions: a report.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_app import (FIND_JS, Server, descendants,  # noqa: E402
                                   launch_browser, new_page, open_page, poll, rss_mb,
                                   run_url, status, step_metric, stop_run)
from charrnn.i18n import t  # noqa: E402

BYTES_PER_STEP = 13 * 4   # charrnn.log: 8 base columns + 5 parameter norms, float32


def slope_per_hour(samples):
    ts = [s[0] for s in samples]
    ys = [s[1] for s in samples]
    if len(ts) < 2:
        return float("nan")
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((x - mt) ** 2 for x in ts)
    return 3600 * sum((x - mt) * (y - my) for x, y in zip(ts, ys)) / den if den else float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--quick", action="store_true", help="2 minutes")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plotly-json-engine", choices=["json", "orjson"], default=None,
                   help="what-if: the server's plotly.io JSON engine (set through a "
                        "temporary sitecustomize on the server's PYTHONPATH; the app "
                        "itself is not changed). Default: plotly's 'auto' (orjson if "
                        "installed)")
    a = p.parse_args(argv)
    minutes = 2.0 if a.quick else a.minutes
    from playwright.sync_api import sync_playwright

    print("# soak\n")
    print(f"command: python tests/bench/soak.py {' '.join(argv or sys.argv[1:])}")
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; h{a.hidden}, "
          f"{minutes:g} minutes, a sample every {a.interval:g} s\n")
    samples = []   # (seconds, server RSS MB, step, JS heap MB, workers' RSS MB)

    def workers_mb(server):
        """The training worker and the spare (the server's child processes)."""
        return sum(rss_mb(p) or 0.0 for p in descendants(server.pid))
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        server = Server(a.threads)
        if a.plotly_json_engine:
            import tempfile
            hook = Path(tempfile.mkdtemp(prefix="charrnn-soak-hook-"))
            (hook / "sitecustomize.py").write_text(
                "import plotly.io as _pio\n"
                f"_pio.json.config.default_engine = {a.plotly_json_engine!r}\n")
            env = server.env()
            env["PYTHONPATH"] = os.pathsep.join(
                [str(hook)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
            server.env = lambda: env
            print(f"server's plotly JSON engine: {a.plotly_json_engine} (sitecustomize in {hook})\n")
        server.start()
        try:
            server.wait_healthy()
            page = new_page(browser)
            open_page(page, server, run_url(a.hidden, 1_000_000))
            rss_before = rss_mb(server.pid)
            page.evaluate("(l) => {" + FIND_JS + "findEl('[data-testid=\"stSidebar\"] button',"
                          " l).click(); }", t("cfg.start", "en"))
            poll(lambda: status(page), lambda s: s == "running", 60, "the run to be running")
            t0 = time.perf_counter()
            end = t0 + minutes * 60
            nxt = t0
            print("| t (s) | server RSS (MB) | step | browser JS heap (MB) | worker processes' "
                  "RSS (MB) |")
            print("|---|---|---|---|---|")
            while True:
                now = time.perf_counter()
                if now >= nxt:
                    heap = page.evaluate("() => performance.memory ? "
                                         "performance.memory.usedJSHeapSize / 1048576 : null")
                    s = (now - t0, rss_mb(server.pid), step_metric(page) or 0, heap,
                         workers_mb(server))
                    samples.append(s)
                    print(f"| {s[0]:.0f} | {s[1]:.1f} | {s[2]:,} | "
                          f"{'–' if s[3] is None else f'{s[3]:.1f}'} | {s[4]:.1f} |",
                          flush=True)
                    nxt += a.interval
                if now >= end:
                    break
                if status(page) != "running":
                    print(f"the run ended early: {status(page)}")
                    break
                time.sleep(min(1.0, max(0.05, nxt - time.perf_counter())))
            stop_run(page)
        finally:
            rss_end = rss_mb(server.pid) if server.proc and server.proc.poll() is None else None
            server.stop()
            server.cleanup()
            browser.close()
    if len(samples) < 2:
        print("too few samples")
        return
    first, last = samples[0], samples[-1]
    warm = min(120.0, minutes * 60 / 4)   # start-up allocations: leave them out
    late = [s for s in samples if s[0] >= warm]
    if len(late) < 3:
        late = samples
    span_h = (last[0] - first[0]) / 3600
    steps_per_h = (last[2] - first[2]) / span_h if span_h else 0
    print("\n## Summary\n")
    print("| | MB |")
    print("|---|---|")
    print(f"| server RSS before the run (page open, idle) | {rss_before:.1f} |")
    print(f"| at the first sample / at the last ({last[0] / 60:.1f} min) | {first[1]:.1f} / "
          f"{last[1]:.1f} |")
    print(f"| growth over the soak | {last[1] - first[1]:+.1f} |")
    print(f"| growth per hour, extrapolated (least squares over samples after {warm:.0f} s) | "
          f"{slope_per_hour([(s[0], s[1]) for s in late]):+.1f} |")
    print(f"| of which the run's step log, by design ({steps_per_h:,.0f} steps/h x "
          f"{BYTES_PER_STEP} B) | {steps_per_h * BYTES_PER_STEP / 2**20:+.1f} |")
    print(f"| worker processes (training + spare): first / last sample | {first[4]:.1f} / "
          f"{last[4]:.1f} |")
    print(f"| worker processes per hour, extrapolated | "
          f"{slope_per_hour([(s[0], s[4]) for s in late]):+.1f} |")
    heaps = [(s[0], s[3]) for s in late if s[3] is not None]
    if heaps:
        print(f"| browser JS heap per hour, extrapolated | {slope_per_hour(heaps):+.1f} |")
    if rss_end is not None:
        print(f"| server RSS after stopping the run | {rss_end:.1f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
