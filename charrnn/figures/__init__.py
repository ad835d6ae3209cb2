"""Figure builders: data in, `plotly.graph_objects.Figure` out.

Pure functions (no streamlit, no torch) so every chart can be built and
checked in a test. Common keyword arguments of every builder:

- ``lang``: "en" or "zh"; every visible word comes from ``charrnn.i18n``.
- ``present``: presentation mode for a projector (bigger fonts and lines,
  higher contrast).
- ``uirevision``: passed to ``layout.uirevision`` so zoom survives redraws.

Only SVG ``go.Scatter`` is used, never ``go.Scattergl``: several WebGL
contexts on one page froze the browser in a trial. Long series are thinned
for display by ``downsample`` (min/max per bucket, so spikes survive).
Colours and fonts come from ``charrnn.style``, shared with the diagram.

Modules: ``base`` (layout, sizes, thinning), ``training`` (loss,
perplexity, gradient norm, parameters, spectrum, compare), ``hidden``
(hidden-state heatmaps, dL/dH), ``generate`` (top-k, activations), ``units``
(unit order labels, the 2-D path, saturation, units found), ``cliff``
(Pascanu's one-unit error surface).
"""
from .base import CLIP_WINDOW, MAX_POINTS, downsample
from .generate import activation_html, topk_figure
from .hidden import (carried_state_figure, dh_heatmap_figure, hidden_heatmap_figure,
                     lanes_figure)
from .training import (clip_rates, grad_norm_figure, loss_figure, metrics_compare_figure,
                       param_norms_figure, perplexity_figure, spectral_figure)

__all__ = [
    "CLIP_WINDOW", "MAX_POINTS", "downsample", "loss_figure", "perplexity_figure",
    "clip_rates", "grad_norm_figure", "hidden_heatmap_figure", "lanes_figure",
    "carried_state_figure", "dh_heatmap_figure", "param_norms_figure", "spectral_figure",
    "topk_figure", "activation_html", "metrics_compare_figure",
]
