"""The results of several runs, for Compare and Sweep: a sortable table with
the best run marked and a link to each run, a note on settings that changed
nothing, the objective against each varied setting, the spread over seeds,
and one export of the whole comparison."""
from __future__ import annotations

import streamlit as st

from ..export import to_csv_bytes, to_parquet_bytes
from ..figures.sweep import objective_figure
from ..results import inert_settings, long_frame, over_seeds, results_table, varied_settings
from .core import lang, present, tr

COLUMNS = ("best", "name", "status", "epochs", "perplexity", "best_perplexity",
           "val_perplexity", "best_val_perplexity", "clip_rate", "tokens_per_s", "seconds")


def results_panel(runs, key: str):
    """Everything a tuner asks of `runs`, under a "Results" heading."""
    st.subheader(tr("res.title"))
    varied = varied_settings(runs)
    table = results_table(runs, varied)
    if table.empty:
        return
    shown = table[[*COLUMNS, *varied]].copy()
    shown["best"] = shown["best"].map(lambda b: "★" if b else "")
    shown.insert(1, "open", [f"./?run={r}" for r in table["run_id"]])
    cfg = st.column_config
    st.dataframe(shown, hide_index=True, width="stretch", key=f"res_{key}", column_config={
        "best": cfg.TextColumn(tr("res.best"), width="small"),
        "open": cfg.LinkColumn(tr("res.open"), display_text=tr("res.open"), width="small"),
        "name": cfg.TextColumn(tr("res.run")),
        "status": cfg.TextColumn(tr("res.status")),
        "epochs": cfg.NumberColumn(tr("res.epochs")),
        "perplexity": cfg.NumberColumn(tr("res.ppl"), format="%.3f"),
        "best_perplexity": cfg.NumberColumn(tr("res.best_ppl"), format="%.3f"),
        "val_perplexity": cfg.NumberColumn(tr("res.val"), format="%.3f"),
        "best_val_perplexity": cfg.NumberColumn(tr("res.best_val"), format="%.3f"),
        "clip_rate": cfg.NumberColumn(tr("res.clip"), format="percent"),
        "tokens_per_s": cfg.NumberColumn(tr("res.speed"), format="%.0f"),
        "seconds": cfg.NumberColumn(tr("res.seconds"), format="%.1f")})
    st.caption(tr("res.help"))
    for note in inert_settings(runs):
        st.info(tr("res.inert", runs=", ".join(note["runs"]), peak=note["peak"],
                   theta=note["theta"]), icon=":material/info:")
    if varied and len(runs) > 2:
        st.plotly_chart(objective_figure(table, varied, lang=lang(), present=present()),
                        key=f"obj_{key}")
    seeds = over_seeds(table, varied)
    if not seeds.empty:
        st.markdown(f"**{tr('res.seeds')}**")
        st.dataframe(seeds, hide_index=True, key=f"seeds_{key}")
    export = long_frame(runs)
    st.markdown(f"**{tr('res.export')}**")
    c1, c2 = st.columns(2)
    c1.download_button("CSV", lambda: to_csv_bytes(export), file_name=f"{key}-runs.csv",
                       mime="text/csv", on_click="ignore", key=f"res_csv_{key}",
                       help=tr("res.export.help"), icon=":material/table:")
    c2.download_button("Parquet", lambda: to_parquet_bytes(export),
                       file_name=f"{key}-runs.parquet", mime="application/vnd.apache.parquet",
                       on_click="ignore", key=f"res_pq_{key}", help=tr("res.export.help"),
                       icon=":material/table:")
