"""Streamlit pieces for tuning: download a run's metrics and weights, upload
weights into a run's model, and continue training from uploaded weights."""
from __future__ import annotations

import secrets
import time
from dataclasses import replace

import streamlit as st

from .. import store
from ..export import (WeightsMismatch, metrics_frame, model_from_bytes, to_csv_bytes,
                      to_parquet_bytes, weights_bytes)
from ..runs import Run
from .core import can_control, get_registry, tr


def export_panel(run: Run):
    """Download buttons for the run's metrics (CSV, Parquet) and weights (.pt).

    The files are built only when a button is clicked (a callable as `data`),
    so a long run does not serialise its whole log on every redraw."""
    st.subheader(tr("tune.export"))
    c1, c2, c3 = st.columns(3)
    c1.download_button(tr("tune.export.csv"), lambda: to_csv_bytes(metrics_frame(run)),
                       file_name=f"{run.id}-metrics.csv", mime="text/csv", on_click="ignore",
                       key=f"dl_csv_{run.id}", icon=":material/table:", width="stretch",
                       help=tr("tune.export.metrics.help"))
    c2.download_button(tr("tune.export.parquet"), lambda: to_parquet_bytes(metrics_frame(run)),
                       file_name=f"{run.id}-metrics.parquet",
                       mime="application/vnd.apache.parquet", on_click="ignore",
                       key=f"dl_parquet_{run.id}", icon=":material/table:", width="stretch",
                       help=tr("tune.export.metrics.help"))
    # cheaper than copying the model on every redraw: a started run has them in
    # memory; an ended one (also one loaded from disk) has them as weights.pt
    has_weights = bool(run.idx_to_token) and run.status != "queued" and (
        run.is_active or (run.folder / "weights.pt").exists())
    c3.download_button(tr("tune.export.weights"), lambda: weights_bytes(run),
                       file_name=f"{run.id}-weights.pt", mime="application/octet-stream",
                       on_click="ignore", key=f"dl_weights_{run.id}",
                       icon=":material/download:", width="stretch", disabled=not has_weights,
                       help=tr("tune.export.weights.help") if has_weights
                       else tr("tune.export.no_weights"))
    st.caption(tr("tune.export.png"))


def _load(run: Run, data: bytes):
    """(model, None) or (None, one sentence saying why not)."""
    cfg = run.config
    try:
        return model_from_bytes(run, data), None
    except WeightsMismatch:
        return None, tr("tune.up.mismatch", model=cfg.model, hidden=cfg.num_hiddens,
                        vocab=len(run.idx_to_token))
    except store.StoreError:
        if not run.idx_to_token:
            return None, tr("tune.up.no_vocab")
        return None, tr("tune.up.not_weights")
    except Exception as exc:  # whatever else: a sentence, never a traceback
        return None, tr("tune.up.failed", reason=exc.__class__.__name__)


def weights_uploader(run: Run, offer_continue: bool = True):
    """Upload a .pt state_dict into a CPU model of the run's config.

    Returns the model, or None (nothing uploaded, or an error was shown).
    With `offer_continue`, a presenter also gets a button that starts a new
    run from the uploaded weights."""
    f = st.file_uploader(tr("tune.up.label"), type=["pt", "pth"], key=f"weights_up_{run.id}",
                         help=tr("tune.up.help"))
    if f is None:
        return None
    data = f.getvalue()
    model, error = _load(run, data)
    if error:
        st.error(error)
        return None
    st.success(tr("tune.up.ok", name=f.name))
    if offer_continue and can_control():
        if st.button(tr("tune.up.continue"), key=f"continue_{run.id}",
                     icon=":material/fast_forward:", help=tr("tune.up.continue.help")):
            continue_training(run, data)
    return model


def continue_training(run: Run, uploaded_bytes: bytes) -> Run | None:
    """A new run with `run`'s settings that starts from the uploaded weights.

    The weights are checked first (so a bad file never becomes a failed run),
    then saved, re-serialised from the checked tensors, as a file in the runs
    folder under a generated name (never the uploader's file name)."""
    if not can_control():
        st.error(tr("tune.key_needed"))
        return None
    model, error = _load(run, uploaded_bytes)
    if error:
        st.error(error)
        return None
    reg = get_registry()
    path = reg.root / f"init-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.pt"
    store.save_weights(path, model.state_dict())
    cfg = replace(run.config, init_weights=str(path.resolve()),
                  name=tr("tune.cont.name", name=run.name)[:80])
    new = reg.create(cfg)
    st.success(tr("tune.cont.started", name=new.name))
    return new
