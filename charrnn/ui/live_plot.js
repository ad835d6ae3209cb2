// A Plotly chart that stays on the page and is updated in place.
//
// st.plotly_chart mounts a new chart whenever its figure changes: every
// second, for every live chart. Plotly.react on the chart already there costs
// the browser half as much (tests/bench/RESULTS.md, section 13), keeps zoom
// (the figure's uirevision), and does not flash.
//
// Streamlit calls this function on every rerun that changes `data`, with the
// same parentElement; `data` is the UTF-8 JSON that charrnn/ui/live_plot.py
// builds: {rev, src, config, failed, fig}.

function loadPlotly(src) {
  // one Plotly for the whole page, from the app's own server (charrnn/ui/serve.py)
  if (!window.__charrnnPlotly) {
    window.__charrnnPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__charrnnPlotly = null;   // the next rerun tries again
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(script);
    });
  }
  return window.__charrnnPlotly;
}

// The page's own font first (Streamlit's theme, --st-font), then the
// figure's families, which carry the CJK fonts for Chinese.
const GENERIC = /^(sans-serif|serif|monospace|system-ui|cursive|fantasy)$/;
function withPageFont(layout, element) {
  const page = getComputedStyle(element).getPropertyValue("--st-font")
    .split(",").map((f) => f.trim()).filter((f) => f && !GENERIC.test(f));
  if (!page.length) return layout;
  const font = layout.font || {};
  const family = page.join(", ") + (font.family ? ", " + font.family : "");
  return { ...layout, font: { ...font, family } };
}

// A fitted chart (msg.fit, a share) takes that share of the window below its
// own top, measured from the top of the page: on a projector the chart the
// lesson is about is on the first screen whatever the screen's size.
const MIN_FIT_PX = 260;
function fitHeight(div, share) {
  const scroller = scrollParent(div);
  const top = div.getBoundingClientRect().top + (scroller ? scroller.scrollTop : 0);
  return Math.max(MIN_FIT_PX, Math.floor((window.innerHeight - top - 12) * share));
}

function fitted(layout, div, msg) {
  if (!msg.fit) return layout;
  const height = fitHeight(div, msg.fit);
  div.style.height = height + "px";
  return { ...layout, height, autosize: true };
}

// Draws are chained so that an older figure never lands after a newer one.
function draw(div, msg, parentElement) {
  div.__chain = (div.__chain || Promise.resolve())
    .then(() => loadPlotly(msg.src))
    .then((Plotly) => {
      if (div.dataset.rev !== String(msg.rev)) return;   // a newer one came meanwhile
      if (div.dataset.failed) { div.textContent = ""; delete div.dataset.failed; }
      const layout = fitted(withPageFont(msg.fig.layout, parentElement), div, msg);
      return Plotly.react(div, msg.fig.data, layout, msg.config);
    })
    .then(() => { div.dataset.drawn = "1"; div.style.minHeight = ""; })
    .catch(() => {
      div.dataset.rev = "";
      div.dataset.failed = "1";
      div.textContent = msg.failed;
    });
}

// A chart nobody can see (scrolled away, a background tab) keeps only the
// newest figure and draws it when it comes into view: a live page is long,
// and each chart redrawn every second costs the browser a share of the CPU
// that training shares.
function seen(div) {
  return div.__inView !== false && document.visibilityState !== "hidden";
}

// Streamlit's main area scrolls inside its own element, which clips what is
// below the fold: the margin below only works with that element as the root.
function scrollParent(el) {
  for (let p = el.parentElement; p; p = p.parentElement) {
    if (/(auto|scroll)/.test(getComputedStyle(p).overflowY)) return p;
  }
  return null;
}

function drawPending(div) {
  if (div.__pending && seen(div)) {
    const [msg, parentElement] = div.__pending;
    div.__pending = null;
    draw(div, msg, parentElement);
  }
}

export default function ({ data, parentElement }) {
  const msg = JSON.parse(new TextDecoder().decode(data));
  if (msg.preload) {   // a page without charts yet: have Plotly ready for the first
    loadPlotly(msg.src).catch(() => {});
    return;
  }
  let div = parentElement.querySelector(":scope > .charrnn-plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "charrnn-plot";
    div.style.width = "100%";
    parentElement.appendChild(div);
    // follow the column's width (sidebar opened, window resized, a tab shown)
    div.__resize = new ResizeObserver(() => {
      if (div.dataset.drawn && window.Plotly) window.Plotly.Plots.resize(div);
    });
    // a fitted chart follows the window's height too
    div.__onWindow = () => {
      const fit = div.__fit;
      if (!fit || !div.dataset.drawn || !window.Plotly) return;
      const height = fitHeight(div, fit);
      if (Math.abs(height - (div._fullLayout ? div._fullLayout.height : 0)) > 4) {
        div.style.height = height + "px";
        window.Plotly.relayout(div, { height });
      }
    };
    window.addEventListener("resize", div.__onWindow);
    // and follows what is above it: a strip that wraps, a message that comes
    div.__refit = setInterval(() => div.__onWindow(), 1000);
    div.__resize.observe(div);
    // "in view" includes a margin, so a chart is current by the time it shows
    div.__view = new IntersectionObserver(([entry]) => {
      div.__inView = entry.isIntersecting;
      drawPending(div);
    }, { root: scrollParent(parentElement), rootMargin: "200px 0px" });
    div.__view.observe(div);
    div.__visibility = () => drawPending(div);
    document.addEventListener("visibilitychange", div.__visibility);
  }
  // the same figure as the one drawn (a frozen chart, another session's
  // build not yet replaced): nothing to do
  div.__fit = msg.fit;
  if (div.dataset.rev === String(msg.rev)) { div.__onWindow(); return; }
  div.dataset.rev = String(msg.rev);
  if (!div.dataset.drawn) {
    // keep the page's layout while Plotly loads; the first figure is always drawn
    div.style.minHeight = (msg.fit ? fitHeight(div, msg.fit) : msg.fig.layout.height || 450) + "px";
    draw(div, msg, parentElement);
  } else {
    div.__pending = [msg, parentElement];
    drawPending(div);
  }

  return () => {
    div.__resize.disconnect();
    div.__view.disconnect();
    window.removeEventListener("resize", div.__onWindow);
    clearInterval(div.__refit);
    document.removeEventListener("visibilitychange", div.__visibility);
    if (window.Plotly) window.Plotly.purge(div);
  };
}
