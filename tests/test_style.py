"""One look for the charts and the diagram (charrnn/style.py): a student who
sees the forward pass in blue on the Unrolled RNN page finds the same blue on
the Train page's curves, and a space reads the same in both."""
import numpy as np

from charrnn import diagram as D
from charrnn import figures as F
from charrnn.style import BLUE


def _named(fig, name):
    return next(s for s in list(fig.layout.shapes) + list(fig.layout.annotations)
                if s.name == name)


def test_the_diagram_and_the_charts_share_the_palette():
    grid = D.grid_figure(D.example_spec())
    loss = F.loss_figure(np.arange(5), np.linspace(3, 2, 5))
    state_cell = _named(grid, "cell:lane0:b0t1").line.color
    fwd_arrow = _named(grid, "arrow:fwd:lane0:b0t1->lane0:b0t2").arrowcolor
    assert state_cell == fwd_arrow == loss.data[0].line.color == BLUE


def test_a_space_and_a_newline_read_the_same_in_both():
    X = D.small_example()
    chars = np.full(X.shape, " ", dtype=object)
    chars[0, 0, 1] = "\n"
    grid = D.grid_figure(D.example_spec(chars=chars, show_chars=True))
    topk = F.topk_figure(np.array([[" ", "\n"]], dtype=object), np.array([[0.6, 0.4]]))
    in_grid = {_named(grid, "input:lane0:b0t1").text, _named(grid, "input:lane0:b0t2").text}
    in_chart = set(np.ravel(topk.data[0].text))
    assert in_grid == in_chart == {"␣", "↵"}
