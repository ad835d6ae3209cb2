"""Unrolled RNN: the seed notes' hand drawing, alive (../shared/DIAGRAM.md)."""
import numpy as np
import streamlit as st

from charrnn import diagram as D
from charrnn import ui
from charrnn.log import burst_of
from charrnn.ui import follow, lecture, unrolled
from charrnn.ui.views import cliff_panel

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation

lang, present = ui.lang(), ui.present()
if present:
    run = lecture.head("page.unrolled", label_key="unr.run")
else:
    st.title(ui.tr("unr.title"))
    st.caption(ui.tr("unr.intro"))
    run = ui.run_picker(label_key="unr.run")
follow.watch(run)
if run is not None and not present:
    lecture.ended_note(run)
snaps = run.log.snapshots() if run is not None else []

sources = ["example"] + (["run"] if snaps else [])
lecturer = follow.followed_phase()   # a student follows the lecturer's diagram
if lecturer is not None and lecturer["source"] in sources:
    st.session_state["unr_source"] = lecturer["source"]
    st.session_state["unr_part"] = lecturer["part"]
# on a projector the grid and its controls come first; these options go below it
options = st.container() if not present else None
opts = unrolled.options(options, sources, run,
                        default_source="run" if snaps and run.is_active else "example")
source, part, shown, sketch = opts["source"], opts["part"], opts["shown"], opts["sketch"]
mine = source == "run"   # the run's numbers; d2l's example shows only its own (θ = 1)
random_iter = part == "random"


@st.cache_data(show_spinner=False)
def book_chars(n=35):
    """The first characters of the book: token i of d2l's 0..34 example is char i."""
    from charrnn.data import load_corpus
    c = load_corpus("timemachine", "d2l", n)
    return c.vocab.to_tokens(c.corpus)


last = run.log.last_step() if mine else None
theta = run.config.theta if mine else 1.0
before = last["grad_norm"] if last else None
after = last["grad_norm_clipped"] if last else None
burst_step = None
if mine:
    cfg = run.config
    burst = burst_of(snaps, snaps[-1], limit=3)   # the diagram draws at most three
    burst_step = burst[0].step
    n = unrolled.lanes_that_fit(len(burst[0].lanes), present)   # a short projector: 2
    tokens = np.stack([s.input_ids[:n] for s in burst])          # (batches, lanes, T)
    labels = np.stack([s.target_ids[:n] for s in burst])
    chars = np.array([s.inputs[:n] for s in burst], dtype=object)
    label_chars = np.array([s.targets[:n] for s in burst], dtype=object)
    hidden = np.stack([s.H[:n, :, :4].astype(float) for s in burst])  # first units on hover
    spec = D.DiagramSpec(
        batch_size=n, num_steps=cfg.num_steps, num_batches=len(burst),
        vocab_size=len(run.idx_to_token), num_hiddens=cfg.num_hiddens,
        random_iter=random_iter, tokens=tokens, labels=labels, chars=chars,
        label_chars=label_chars, show_chars=shown == "chars", theta=theta,
        grad_norm_before=before, grad_norm_after=after, hidden=hidden,
        hidden_lanes=burst[0].lanes[:n], sketch=sketch, lang=lang, present=present)
    live_note = ui.tr("unr.live", lanes=", ".join(map(str, burst[0].lanes[:n])),
                      B=cfg.batch_size, step=burst_step)
    V, H, B, T = len(run.idx_to_token), cfg.num_hiddens, cfg.batch_size, cfg.num_steps
else:
    book = book_chars()
    X = D.small_example(random_iter=random_iter)
    spec = D.example_spec(random_iter=random_iter, show_chars=shown == "chars",
                          chars=np.vectorize(lambda i: book[i], otypes=[object])(X),
                          label_chars=np.vectorize(lambda i: book[min(i + 1, 34)],
                                                   otypes=[object])(X),
                          theta=theta, sketch=sketch, lang=lang, present=present)
    live_note = None
    V, H, B, T = 28, 512, 32, 35   # d2l 8.5's sizes

phases = D.phases(spec)
pos_key = f"unr_phase_{source}_{part}"
if lecturer is not None and (lecturer["source"], lecturer["part"]) == (source, part):
    st.session_state[pos_key] = lecturer["k"]
stepper = unrolled.Stepper(phases, pos_key, by_group=mine)
follow.on_keys(stepper.key)   # the arrows and Page Up/Down move the phase
if not present:
    unrolled.pace(st.container(horizontal=True, vertical_alignment="bottom"), stepper)
sig = (source, part, shown, sketch, lang, present, run.id if mine else None, burst_step,
       theta, before, after)


ticking = stepper.every()   # playing
# a student's diagram follows the lecturer's phase by itself (not the whole page)
following = lecturer is not None and (lecturer["source"], lecturer["part"]) == (source, part)


@st.fragment(run_every=ticking or (follow.POLL_S if following else None))
def diagram():
    """The steps, the phase (its slider and caption) and the grid lit at it;
    playing advances it here, one phase per tick."""
    if following:
        now = follow.followed_phase()
        if now is None or (now["source"], now["part"]) != (source, part):
            st.rerun(scope="app")
        st.session_state[pos_key] = now["k"]
    stepper.advance_if_playing(ticking)
    unrolled.phase_bar(stepper, present)
    k = stepper.pos
    follow.publish(phase={"source": source, "part": part, "k": k})
    grid_spec = unrolled.fitted(spec, present)
    unrolled.grid(lambda: D.grid_figure(grid_spec, phase=k),
                  sig + (k, grid_spec.present), present)


diagram()
if present:
    unrolled.pace(st.container(horizontal=True, vertical_alignment="bottom"), stepper)
    unrolled.options(st.container(), sources, run, default_source=source)
if live_note:
    st.caption(live_note)

st.subheader(ui.tr("unr.shapes"))
st.plotly_chart(D.shape_strip_figure(V, H, B, T, lang=lang, present=present, sketch=sketch),
                key="unr_shapes", config={"displaylogo": False})

st.subheader(ui.tr("unr.clip"))
st.plotly_chart(D.clip_figure(theta, before, after, lang=lang, present=present, sketch=sketch),
                key="unr_clip", config={"displaylogo": False})
cliff_panel(lang, present)

st.subheader(ui.tr("unr.predict"))
samples = run.log.sample_list() if mine else []
prefix = samples[-1]["prefix"] if samples else "time traveller "
generated = samples[-1]["generated"][:12] if samples else "the time tra"
st.plotly_chart(D.prediction_strip_figure(prefix, generated, num_hiddens=H, lang=lang,
                                          present=present, sketch=sketch),
                key="unr_predict", config={"displaylogo": False})
