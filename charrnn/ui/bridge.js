// The browser's side of a lecture (charrnn/ui/follow.py): the keyboard, and
// the presenter's token kept in a cookie of this site.
//
// data: {controls, cookie, remember, forget, viewport, sized} (JSON). Streamlit calls this on
// every rerun that changes `data`; the key listener is added once per page
// and always sends through the newest call's setTriggerValue.

const KEYS = {
  " ": "toggle", ArrowRight: "next", PageDown: "next", ArrowLeft: "back", PageUp: "back",
};
const YEAR_S = 365 * 24 * 3600;

function typing(target) {
  if (!target || !target.closest) return false;
  return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
}

function onKey(event) {
  const state = window.__charrnnKeys;
  if (!state || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  let name = KEYS[event.key];
  if (event.key === "p" || event.key === "P") name = "present";
  if (!name || (name !== "present" && !state.controls)) return;  // a watcher's keys scroll
  event.preventDefault();
  // a focused button would also take the space as a click
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  state.count += 1;
  state.send("key", { name, n: state.count });
}

function readCookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? hit.slice(name.length + 1) : null;
}

// the window's size, so that the server can size a figure's fonts to it
function reportViewport() {
  const state = window.__charrnnKeys;
  const size = { w: window.innerWidth, h: window.innerHeight };
  if (!state || !state.setState || !state.wantViewport) return;
  if (state.viewport && state.viewport.w === size.w && state.viewport.h === size.h) return;
  state.viewport = size;
  state.setState("viewport", size);
}

export default function ({ data, setTriggerValue, setStateValue }) {
  const msg = typeof data === "string" ? JSON.parse(data) : data || {};
  if (!window.__charrnnKeys) {
    window.__charrnnKeys = { count: 0 };
    window.addEventListener("keydown", onKey, true);
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(reportViewport, 400);
    });
  }
  window.__charrnnKeys.send = setTriggerValue;
  window.__charrnnKeys.setState = setStateValue;
  window.__charrnnKeys.wantViewport = !!msg.viewport;
  window.__charrnnKeys.sized = !!msg.sized;   // the page drawn knows the window's size
  reportViewport();
  window.__charrnnKeys.controls = !!msg.controls;
  if (!msg.cookie) return;
  if (msg.forget && readCookie(msg.cookie) !== null) {
    document.cookie = `${msg.cookie}=; path=/; max-age=0; SameSite=Strict`;
  } else if (msg.remember && readCookie(msg.cookie) !== msg.remember) {
    document.cookie = `${msg.cookie}=${msg.remember}; path=/; max-age=${YEAR_S}; SameSite=Strict`;
  }
}
