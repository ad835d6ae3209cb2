"""One look for the charts (charrnn/figures) and the diagram (charrnn/diagram).

Colours, fonts and how a character is shown are decided here once, so a
forward arrow in the diagram and the loss curve beside it share a blue.
"""
from __future__ import annotations

import html

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
GREEN = "#009E73"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
BLACK = "#000000"
PALETTE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, BLACK, YELLOW)

# Greys for text, rules and secondary labels.
INK = "#1f2937"
MUTED = "#6b7280"
FAINT = "#c7cdd6"
WHITE = "#ffffff"

# ColorBrewer RdBu, ordered so that negative = blue, 0 = white, positive = red.
DIVERGING = [
    [0.0, "#053061"], [0.15, "#2166ac"], [0.3, "#67a9cf"], [0.5, "#ffffff"],
    [0.7, "#ef8a62"], [0.85, "#b2182b"], [1.0, "#67001f"],
]

FONTS_LATIN = ('"Inter", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
               '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif')
FONTS_CJK = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
             '"Microsoft YaHei", "Inter", "Helvetica Neue", Arial, sans-serif')
# The diagram's hand-drawn look: a handwriting face where one is installed.
FONTS_SKETCH = ('"Comic Neue", "Comic Sans MS", "Segoe Print", "Chalkboard SE", '
                '"xkcd Script", "Noto Sans CJK SC", "PingFang SC", '
                '"Microsoft YaHei", cursive, sans-serif')

# Characters that would be invisible (or break a label) get a glyph.
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍", "": "∅"}


def visible_char(c) -> str:
    """A character as shown on a tick or in a cell: visible whitespace, HTML-escaped."""
    if c is None:
        return "?"
    c = str(c)
    return VISIBLE.get(c, html.escape(c, quote=False))


def rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def rgba(colour: str, alpha: float) -> str:
    """A palette colour made translucent (highlights drawn over the diagram)."""
    r, g, b = rgb(colour)
    return f"rgba({r},{g},{b},{alpha:g})"


def mix(colour: str, other: str, amount: float) -> str:
    """`colour` moved `amount` (0..1) of the way to `other`, as #rrggbb."""
    a, b = rgb(colour), rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


def tint(colour: str, amount: float) -> str:
    """A light fill of a palette colour (`amount` towards white)."""
    return mix(colour, WHITE, amount)


def shade(colour: str, amount: float) -> str:
    """A darker palette colour, for text and thin lines that must read on white."""
    return mix(colour, BLACK, amount)
