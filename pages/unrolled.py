"""Unrolled RNN: the seed notes' hand drawing, alive (../shared/DIAGRAM.md)."""
import numpy as np
import streamlit as st

from charrnn import diagram as D
from charrnn import ui
from charrnn.log import burst_of
from charrnn.ui.views import cliff_panel

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
st.title(ui.tr("unr.title"))
st.caption(ui.tr("unr.intro"))
run = ui.run_picker(label_key="unr.run")
snaps = run.log.snapshots() if run is not None else []

c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
sources = ["example"] + (["run"] if snaps else [])
source = c1.segmented_control(ui.tr("unr.source"), sources, key="unr_source", required=True,
                              default="run" if snaps and run.is_active else "example",
                              format_func=ui.fmt("unr.source"))
part_default = "random" if run is not None and run.config.random_iter else "sequential"
part = c2.segmented_control(ui.tr("cfg.part"), ["sequential", "random"], key="unr_part",
                            default=part_default, required=True,
                            format_func=ui.fmt("cfg.part"))
shown = c3.segmented_control(ui.tr("unr.tokens"), ["chars", "ids"], key="unr_tokens",
                             default="chars", required=True,
                             format_func=ui.fmt("unr.tokens"))
style = c4.segmented_control(ui.tr("unr.style"), ["clean", "sketch"], key="unr_style",
                             default="sketch", required=True,
                             format_func=ui.fmt("unr.style"))
random_iter, sketch = part == "random", style == "sketch"


@st.cache_data(show_spinner=False)
def book_chars(n=35):
    """The first characters of the book: token i of d2l's 0..34 example is char i."""
    from charrnn.data import load_corpus
    c = load_corpus("timemachine", "d2l", n)
    return c.vocab.to_tokens(c.corpus)


last = run.log.last_step() if run is not None else None
theta = run.config.theta if run is not None else 1.0
before = last["grad_norm"] if last else None
after = last["grad_norm_clipped"] if last else None
if source == "run":
    cfg = run.config
    burst = burst_of(snaps, snaps[-1], limit=3)   # the diagram draws at most three
    tokens = np.stack([s.input_ids for s in burst])          # (batches, lanes, T)
    labels = np.stack([s.target_ids for s in burst])
    chars = np.array([s.inputs for s in burst], dtype=object)
    label_chars = np.array([s.targets for s in burst], dtype=object)
    hidden = np.stack([s.H[:, :, :4].astype(float) for s in burst])  # first units on hover
    spec = D.DiagramSpec(
        batch_size=len(burst[0].lanes), num_steps=cfg.num_steps, num_batches=len(burst),
        vocab_size=len(run.idx_to_token), num_hiddens=cfg.num_hiddens,
        random_iter=random_iter, tokens=tokens, labels=labels, chars=chars,
        label_chars=label_chars, show_chars=shown == "chars", theta=theta,
        grad_norm_before=before, grad_norm_after=after, hidden=hidden,
        hidden_lanes=burst[0].lanes, sketch=sketch, lang=lang, present=present)
    st.caption(ui.tr("unr.live", lanes=", ".join(map(str, burst[0].lanes)),
                     B=cfg.batch_size, step=burst[0].step))
    V, H, B, T = len(run.idx_to_token), cfg.num_hiddens, cfg.batch_size, cfg.num_steps
else:
    book = book_chars()
    X = D.small_example(random_iter=random_iter)
    spec = D.example_spec(random_iter=random_iter, show_chars=shown == "chars",
                          chars=np.vectorize(lambda i: book[i], otypes=[object])(X),
                          label_chars=np.vectorize(lambda i: book[min(i + 1, 34)],
                                                   otypes=[object])(X),
                          theta=theta, grad_norm_before=before, grad_norm_after=after,
                          sketch=sketch, lang=lang, present=present)
    V, H, B, T = 28, 512, 32, 35
    if run is not None:
        V, H = len(run.idx_to_token) or 28, run.config.num_hiddens
        B, T = run.config.batch_size, run.config.num_steps

phases = D.phases(spec)
key = f"unr_phase_{source}_{part}"
k = min(st.session_state.get(key, 0), len(phases) - 1)
b1, b2, b3, b4 = st.columns([1.4, 1.4, 2, 4])
if b1.button(ui.tr("unr.back"), icon=":material/skip_previous:", width="stretch",
             disabled=k == 0, key="unr_back"):
    k -= 1
if b2.button(ui.tr("unr.forward"), icon=":material/skip_next:", width="stretch",
             disabled=k == len(phases) - 1, key="unr_step"):
    k += 1
st.session_state[key] = k
speed = b3.select_slider(ui.tr("unr.speed"), [1500, 900, 500, 250], value=500, key="unr_speed",
                         format_func=ui.fmt("unr.speed"))
b4.markdown(f"**{phases[k]['label']}** · {phases[k]['caption']}")
st.plotly_chart(D.animated_figure(spec, duration_ms=speed, start=k), key="unr_grid",
                config={"displaylogo": False})
st.caption(ui.tr("unr.play_help"))

st.subheader(ui.tr("unr.shapes"))
st.plotly_chart(D.shape_strip_figure(V, H, B, T, lang=lang, present=present, sketch=sketch),
                key="unr_shapes", config={"displaylogo": False})

st.subheader(ui.tr("unr.clip"))
st.plotly_chart(D.clip_figure(theta, before, after, lang=lang, present=present, sketch=sketch),
                key="unr_clip", config={"displaylogo": False})
cliff_panel(lang, present)

st.subheader(ui.tr("unr.predict"))
samples = run.log.sample_list() if run is not None else []
prefix = samples[-1]["prefix"] if samples else "time traveller "
generated = samples[-1]["generated"][:12] if samples else "the time tra"
st.plotly_chart(D.prediction_strip_figure(prefix, generated, num_hiddens=H, lang=lang,
                                          present=present, sketch=sketch),
                key="unr_predict", config={"displaylogo": False})
