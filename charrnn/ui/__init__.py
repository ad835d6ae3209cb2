"""Shared Streamlit pieces. The only part of charrnn that imports streamlit.
Importing it changes nothing in the process: the server's tuning is called
by app.py (charrnn/ui/serve.py, tune_server)."""
from .core import can_control, error_text, fmt, get_registry, lang, present, status_badge, tr
from .live import (chart, end_polling, follow_run, live_every, live_fragment, run_header,
                   run_progress)
from .nav import ensure_navigation
from .pace import taking_turns
from .page import page_run, setup_page
from .picker import run_picker
from .samples import sample_html, show_samples

__all__ = ["can_control", "chart", "end_polling", "ensure_navigation", "error_text", "fmt",
           "follow_run", "get_registry", "lang", "live_every", "live_fragment", "page_run",
           "present", "run_header", "run_picker", "run_progress", "sample_html", "setup_page",
           "show_samples", "status_badge", "taking_turns", "tr"]
