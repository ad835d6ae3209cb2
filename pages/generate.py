"""Generate: d2l's predict_ch8 (greedy) or temperature sampling, step by step."""
import streamlit as st

from charrnn import figures as F
from charrnn import ui

ui.ensure_navigation()  # a deep link on a fresh server: see ensure_navigation
from charrnn.generate import predict
from charrnn.ui.tuning import weights_uploader

lang, present = ui.lang(), ui.present()
run = ui.page_run("gen.title", "gen.intro")
with st.expander(ui.tr("tune.up.label")):
    uploaded = weights_uploader(run)
model = uploaded or run.model()
if model is None:
    st.info(ui.tr("gen.no_model"))
    st.stop()

c1, c2, c3 = st.columns([3, 1, 2])
prefix = c1.text_input(ui.tr("gen.prefix"), value=run.config.prefix, max_chars=500,
                       key="gen_prefix")
num_preds = c2.number_input(ui.tr("gen.num"), 1, 2000, 50, key="gen_num")
mode = c3.segmented_control(ui.tr("gen.mode"), ["greedy", "temperature"], default="greedy",
                            key="gen_mode", required=True,
                            format_func=ui.fmt("gen.mode"))
temperature = None
if mode == "temperature":
    t1, t2 = st.columns(2)
    temperature = t1.slider(ui.tr("gen.temperature"), 0.1, 2.0, 0.8, 0.05, key="gen_temp",
                            help=ui.tr("gen.temperature.help"))
    seed = t2.number_input(ui.tr("gen.seed"), 0, 2**31 - 1, 0, key="gen_seed")

if not prefix:
    st.warning(ui.tr("gen.empty_prefix"))
    st.stop()
pred = predict(prefix, int(num_preds), model, run.vocab(), "cpu", tokens=run.config.tokens,
               temperature=temperature, top_k=5, seed=seed if temperature else None)
if pred.unknown:
    st.warning(ui.tr("gen.unknown", chars=" ".join(repr(c) for c in pred.unknown)))
if pred.prefix != prefix:
    st.caption(ui.tr("gen.normalised", prefix=pred.prefix))
ui.show_samples([ui.sample_html(pred.prefix, pred.generated)], scroll=False)
st.subheader(ui.tr("gen.topk"))
st.caption(ui.tr("gen.topk.help"))
shown = min(len(pred.top_chars), 60)
st.plotly_chart(F.topk_figure(pred.top_chars[:shown], pred.top_probs[:shown],
                              generated=pred.tokens[:shown], lang=lang,
                              present=present), key="gen_topk")
