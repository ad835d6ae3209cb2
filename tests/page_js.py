"""What every script that drives the app in Chromium shares: the launch
flags this machine needs, and the JavaScript that reads the page's state
(browser tests, tests/load, tests/bench)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

# the value of the main area's metric whose label is `label` (e.g. "Step")
METRIC_JS = """(label) => {
  for (const m of document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (l && v && l.textContent.trim() === label) return v.textContent.trim();
  }
  return null;
}"""

# the run header (status badge + name)
STATUS_JS = """() => {
  const h = document.querySelector('[data-testid="stMainBlockContainer"] h3');
  return h ? h.textContent.trim() : null;
}"""

# the page drawn knows the window's size: in presentation mode the browser
# bridge (charrnn/ui/bridge.js) reports it as it mounts, and this turns true
# once the rerun of that report has come back (the page has settled on it)
SIZED_JS = "() => !!(window.__charrnnKeys && window.__charrnnKeys.sized)"
