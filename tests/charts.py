"""The charts an AppTest page draws, as plotly figure dicts.

Live charts are the app's own component (charrnn/ui/live_plot.py), which
AppTest knows only as an element with bytes; the diagram's and the
generator's charts are st.plotly_chart.
"""
import base64
import json

import numpy as np

from charrnn.ui.live_plot import NAME, figure_of


def live_figures(at) -> list[dict]:
    return [figure_of(c.proto.bytes) for c in at.get("bidi_component")
            if c.proto.component_name == NAME]


def figures(at) -> list[dict]:
    """Every chart of the page: the live ones, then the st.plotly_chart ones."""
    return live_figures(at) + [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def array(v) -> np.ndarray:
    """A trace's x/y: a list, or plotly 6's {"dtype", "bdata"} encoding."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v if v is not None else [])
