"""What redrawing the train page's four charts once a second costs Chromium:
a new chart each time (what `st.plotly_chart` does with a changed figure)
vs `Plotly.react` on the same chart.

    python tests/bench/browser_redraw.py              # 2 alternated pairs of 20 s
    python tests/bench/browser_redraw.py --quick      # 1 pair of 10 s

No server: the four figures come from the app's own builders
(`charrnn.figures`) over a synthetic 5,000-step log that grows by 60 steps a
frame, serialised as `st.plotly_chart` serialises them, and are drawn by
plotly.js (the copy in the plotly Python package) in a local page, 620 x 380
each, two by two:
- `remount`: the old chart is purged and a new one built (`Plotly.newPlot`),
  as when Streamlit replaces a chart whose spec, hence element id, changed;
- `react`: `Plotly.react` updates the same chart in place, as a component
  that kept its chart would.
Both parse the four figures' JSON every frame. Reports Chromium's CPU (all
its processes, from /proc) per second of wall time. A report, no assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_app import synthetic_log  # noqa: E402
from tests.page_js import CHROMIUM_ARGS  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FRAMES, FIRST, GROWTH = 16, 5000, 60

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="plotly.min.js"></script><script src="frames.js"></script>
<style>body{margin:0;font-family:sans-serif}
.g{display:grid;grid-template-columns:1fr 1fr;gap:8px;width:1260px}.c{height:380px}</style>
</head><body><div class="g" id="g"></div><script>
const mode = location.hash.slice(1), g = document.getElementById("g");
const config = {displaylogo: false};
let divs = [0, 1, 2, 3].map(() => g.appendChild(Object.assign(
  document.createElement("div"), {className: "c"})));
let k = 0;
function frame() {
  const figs = FRAMES[k++ % FRAMES.length].map(s => JSON.parse(s));
  figs.forEach((fig, i) => {
    fig.layout.width = 620; fig.layout.height = 380;
    if (mode === "remount") {
      Plotly.purge(divs[i]);
      const d = Object.assign(document.createElement("div"), {className: "c"});
      g.replaceChild(d, divs[i]); divs[i] = d;
      Plotly.newPlot(d, fig.data, fig.layout, config);
    } else {
      Plotly.react(divs[i], fig.data, fig.layout, config);
    }
  });
}
frame(); setInterval(frame, 1000);
</script></body></html>
"""


def frames(hidden: int) -> list:
    """FRAMES x the train page's four figures, as JSON strings."""
    import plotly.io as pio

    from charrnn import figures as F
    pio.json.config.default_engine = "json"   # as charrnn/ui/core.py sets it
    log = synthetic_log(FIRST + GROWTH * FRAMES, hidden)
    steps, epochs = log.step_columns(), log.epoch_columns()
    snap = log.latest_snapshot()
    out = []
    for k in range(FRAMES):
        upto = FIRST + GROWTH * k
        s = {c: v[steps["step"] <= upto] for c, v in steps.items()}
        e = {c: v[epochs["step"] <= upto] for c, v in epochs.items()}
        H = snap.H[0] * (0.5 + 0.1 * (k % 5))    # new values every frame
        figs = [F.perplexity_figure(e["epoch"], e["perplexity"], uirevision="r"),
                F.loss_figure(s["step"], s["loss"], smooth=0.05, uirevision="r"),
                F.grad_norm_figure(s["step"], s["grad_norm"], s["grad_norm_clipped"],
                                   s["clipped"] > 0.5, 1.0, uirevision="r"),
                F.hidden_heatmap_figure(H, snap.inputs[0], targets=snap.targets[0], lane=0,
                                        step=upto)]
        out.append([pio.to_json(f, validate=False) for f in figs])
    return out


def chromium_cpu_s() -> float:
    """CPU seconds of every process whose command line names chromium."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"chromium" not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None, help="measured per variant")
    a = p.parse_args(argv)
    reps = a.reps or (1 if a.quick else 2)
    seconds = a.seconds or (10.0 if a.quick else 20.0)
    import plotly
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="charrnn-redraw-"))
    try:
        shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", folder)
        data = frames(a.hidden)
        (folder / "frames.js").write_text("const FRAMES = " + json.dumps(data) + ";\n")
        (folder / "page.html").write_text(PAGE)
        kib = sum(len(x) for x in data[0]) / 1024
        print(f"command: python tests/bench/browser_redraw.py {' '.join(argv or sys.argv[1:])}")
        print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; h{a.hidden}, "
              f"{kib:.0f} KiB of figure JSON a frame, one frame a second\n")
        cores = {"remount": [], "react": []}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for rep in range(reps):
                order = ("remount", "react") if rep % 2 == 0 else ("react", "remount")
                for mode in order:
                    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = ctx.new_page()
                    page.goto((folder / "page.html").as_uri() + "#" + mode)
                    time.sleep(5)   # the first frames, plotly's start-up
                    c0, t0 = chromium_cpu_s(), time.perf_counter()
                    time.sleep(seconds)
                    used = (chromium_cpu_s() - c0) / (time.perf_counter() - t0)
                    cores[mode].append(used)
                    print(f"  rep {rep + 1}/{reps} {mode}: {used:.2f} cores", flush=True)
                    ctx.close()
            browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    med = {m: statistics.median(v) for m, v in cores.items()}
    print("\n| redraw | Chromium, cores (median) |\n|---|---|")
    for m in ("remount", "react"):
        print(f"| {m} | {med[m]:.2f} |")
    print(f"\nreact / remount: {med['react'] / med['remount']:.2f}x the browser's CPU")


if __name__ == "__main__":
    main()
