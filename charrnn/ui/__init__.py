"""Shared Streamlit pieces. The only part of charrnn that imports streamlit."""
from .core import (can_control, fmt, get_registry, lang, present, run_picker, setup_page,
                   status_badge, tr)
from .live import chart, end_polling, live_every, run_header
from .nav import ensure_navigation

__all__ = ["can_control", "fmt", "ensure_navigation", "chart", "end_polling", "get_registry", "lang", "live_every", "present",
           "run_header", "run_picker", "setup_page", "status_badge", "tr"]
