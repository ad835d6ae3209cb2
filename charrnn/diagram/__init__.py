"""The unrolled-RNN diagram (the design card's DIAGRAM.md), as pure functions.

Config in, ``plotly.graph_objects.Figure`` out; no streamlit.  One module
per concern:

- ``spec``: ``DiagramSpec``, ``small_example`` / ``partition_tokens`` /
  ``example_spec`` (d2l's printout, partitioned by ``charrnn.data``).
- ``canvas``: the look (sizes, the palette of ``charrnn.style``) and a canvas
  of named shapes, clean or hand-drawn.
- ``geometry`` / ``grid``: lanes x time steps x minibatches, shared
  parameters, H_0, minibatch boundaries (detach / restart from zeros).
- ``phases`` / ``animate``: one training iteration, phase by phase.
- ``shapes``, ``clip``, ``predict``: the shapes strip, gradient clipping as a
  projection onto a sphere, and greedy prediction after a warm-up.

Every shape and annotation carries a ``name`` that says what it is, so tests
(and readers of the JSON) can check content, e.g.
``arrow:fwd:lane0:b0t3->lane0:b0t4``, ``arrow:grad:lane1:b2t5->lane1:b2t4``,
``arrow:param:lane0:b1t2``, ``h0:lane1:b0``, ``boundary:1``, ``detach:1``,
``cell:lane0:b0t1``, ``lane:0``.  Arrows always name both ends, lane included.
"""
from .animate import animated_figure, grid_figure
from .canvas import CLEAN_FONT, SKETCH_FONT
from .canvas import char as _char  # noqa: F401  (tests compare cell text with it)
from .clip import clip_figure
from .phases import PHASE_KINDS, phases
from .predict import prediction_strip_figure
from .shapes import param_count, shape_rows, shape_strip_figure
from .spec import DiagramSpec, example_spec, partition_tokens, small_example

__all__ = [
    "DiagramSpec", "small_example", "partition_tokens", "example_spec",
    "shape_rows", "param_count", "shape_strip_figure", "grid_figure",
    "phases", "animated_figure", "clip_figure", "prediction_strip_figure",
    "SKETCH_FONT", "CLEAN_FONT", "PHASE_KINDS",
]
