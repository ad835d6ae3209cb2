"""Tuning helpers without Streamlit: a run's metrics as tables and files, its
weights as a state_dict file, the settings in which runs differ, and the grid
of configs of a hyperparameter sweep.

Messages meant for the user come from `charrnn.i18n` (keys `tune.*`), so the
pages can show them as they are, in either language.
"""
from __future__ import annotations

import io
import math
from dataclasses import fields

import numpy as np
import pandas as pd
import torch

from . import store
from .config import ConfigError, RunConfig
from .i18n import t
from .model import make_model
from .settings import BY_NAME, NONE_WORDS, SWEEPABLE, show_value  # SWEEPABLE: rows with `sweep`

MAX_SWEEP = 25
_SHORT = {"theta": "θ", "num_hiddens": "h", "batch_size": "batch", "num_steps": "steps",
          "num_epochs": "epochs", "max_tokens": "tokens"}
# never worth a row in a comparison: the label itself, and per-run bookkeeping
_NOT_COMPARED = ("name",)


# ---------------------------------------------------------------- metrics
def metrics_frame(run) -> pd.DataFrame:
    """One row per logged step, with the epoch's perplexity joined on `epoch`.

    Columns: step, epoch, loss, grad_norm, grad_norm_clipped, clipped (bool),
    grad_norm[<parameter>] for each parameter, tokens_per_s, time, perplexity
    and val_perplexity (NaN for the steps of an epoch that has not finished). Floats are float64
    so a CSV written from the frame reads back to the same numbers.
    """
    cols = run.log.step_columns()
    names = [n[2:] for n in cols if n.startswith("g_")]
    df = pd.DataFrame({
        "step": cols["step"].astype(np.int64),
        "epoch": cols["epoch"].astype(np.int64),
        "loss": cols["loss"].astype(np.float64),
        "grad_norm": cols["grad_norm"].astype(np.float64),
        "grad_norm_clipped": cols["grad_norm_clipped"].astype(np.float64),
        "clipped": cols["clipped"] > 0.5,
        **{f"grad_norm[{n}]": cols["g_" + n].astype(np.float64) for n in names},
        "tokens_per_s": cols["tokens_per_s"].astype(np.float64),
        "time": cols["time"].astype(np.float64),
    })
    ppl = epochs_frame(run)[["epoch", "perplexity", "val_perplexity"]]
    return df.merge(ppl, on="epoch", how="left")


def epochs_frame(run) -> pd.DataFrame:
    """One row per finished epoch: epoch, perplexity, val_perplexity (on the
    held-out text), tokens_per_s, time, step."""
    cols = run.log.epoch_columns()
    return pd.DataFrame({
        "epoch": cols["epoch"].astype(np.int64),
        "perplexity": cols["perplexity"].astype(np.float64),
        "val_perplexity": cols["val_perplexity"].astype(np.float64),
        "tokens_per_s": cols["tokens_per_s"].astype(np.float64),
        "time": cols["time"].astype(np.float64),
        "step": cols["step"].astype(np.int64),
    })


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


# ---------------------------------------------------------------- weights
class WeightsMismatch(store.StoreError):
    """A readable state_dict that does not fit the run's model."""


def weights_bytes(run) -> bytes:
    """The run's current weights as a torch.save'd state_dict of CPU tensors."""
    model = run.model()  # a detached CPU copy, safe while the run trains
    if model is None:
        raise store.StoreError("this run has no weights yet")
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def model_from_bytes(run, data: bytes):
    """A CPU model of the run's config holding the state_dict in `data`.

    StoreError when `data` is not a plain state_dict (it is loaded with
    weights_only=True, so nothing in it is ever executed); WeightsMismatch
    when it is one but for another model, size or vocabulary."""
    if not run.idx_to_token:
        raise store.StoreError("the run has no vocabulary yet")
    sd = store.load_weights(bytes(data))
    cfg = run.config
    model = make_model(cfg.model, len(run.idx_to_token), cfg.num_hiddens, "cpu", cfg.activation)
    try:
        model.load_state_dict(sd)  # strict: every name and shape must match
    except (KeyError, RuntimeError, TypeError) as exc:
        raise WeightsMismatch(str(exc).splitlines()[0][:200]) from None
    return model


# ---------------------------------------------------------------- compare
def format_setting(value) -> str:
    """A setting as table text (one column type, so Arrow never trips on it)."""
    return show_value(value, ", ")


def run_labels(runs) -> list[str]:
    """The runs' names, made unique ("name (2)") so they can label columns and lines."""
    seen: dict[str, int] = {}
    out = []
    for name in (r.name for r in runs):
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def config_diff(runs, lang: str = "en") -> pd.DataFrame:
    """Rows: the settings whose values differ between `runs`; columns: run names.

    A user's own text is summarised by its length (it can be megabytes and
    may be private); the weights a run started from by the file's name."""
    labels = run_labels(runs)
    keys = [f.name for f in fields(RunConfig) if f.name not in _NOT_COMPARED]
    rows = {}
    for key in keys:
        values = [getattr(r.config, key) for r in runs]
        if len(runs) > 1 and any(v != values[0] for v in values[1:]):
            rows[key] = [_summary(key, v, lang) for v in values]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=labels) if rows else \
        pd.DataFrame(columns=labels, dtype=object)
    df.index.name = t("tune.diff.setting", lang)
    return df


def _summary(key, value, lang):
    if key == "text" and value is not None:
        return t("tune.diff.text_len", lang, n=f"{len(value):,}")
    if key == "init_weights" and value:
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    return format_setting(value)


# ---------------------------------------------------------------- sweep
def parse_values(name: str, text: str, lang: str = "en") -> list:
    """'0.5, 1, 2' -> [0.5, 1.0, 2.0]; for theta 'none' means no clipping.

    Whole-number settings accept only whole numbers; repeats are dropped."""
    if name not in SWEEPABLE:
        raise ConfigError(t("tune.err.axis", lang, name=name, allowed=", ".join(SWEEPABLE)))
    out = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() in NONE_WORDS and BY_NAME[name].none:
            out.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(t("tune.err.number", lang, name=name, value=part)) from None
        if not math.isfinite(value):
            raise ConfigError(t("tune.err.number", lang, name=name, value=part))
        if BY_NAME[name].whole:
            if value != int(value):
                raise ConfigError(t("tune.err.whole", lang, name=name, value=part))
            value = int(value)
        out.append(value)
    if not out:
        raise ConfigError(t("tune.err.empty", lang, name=name))
    return list(dict.fromkeys(out))


def _label(name, value) -> str:
    short = _SHORT.get(name, name)
    return f"{short}=none" if value is None else f"{short}={value:g}"


def sweep_configs(base: RunConfig, axis1, axis2=None, *, lang: str = "en") -> list[RunConfig]:
    """The grid axis1 × axis2 of validated copies of `base`, each named by its values.

    An axis is (setting name, list of values). Raises ConfigError naming the
    bad axis or value, or when the grid would exceed MAX_SWEEP runs."""
    axes = [axis1] + ([axis2] if axis2 is not None else [])
    for name, values in axes:
        if name not in SWEEPABLE:
            raise ConfigError(t("tune.err.axis", lang, name=name, allowed=", ".join(SWEEPABLE)))
        if not values:
            raise ConfigError(t("tune.err.empty", lang, name=name))
    if len(axes) == 2 and axes[0][0] == axes[1][0]:
        raise ConfigError(t("tune.err.same_axis", lang, name=axes[0][0]))
    size = math.prod(len(values) for _, values in axes)
    if size > MAX_SWEEP:
        raise ConfigError(t("tune.err.too_many", lang, n=size, max=MAX_SWEEP))
    grid = [[]]
    for name, values in axes:
        grid = [combo + [(name, v)] for combo in grid for v in values]
    base_dict = base.to_dict()
    out = []
    for combo in grid:
        d = {**base_dict, **dict(combo), "name": " ".join(_label(n, v) for n, v in combo)}
        if any(n == "batch_size" for n, _ in combo):
            # watched rows must exist in a smaller batch: keep those that do
            d["probe_lanes"] = [i for i in d["probe_lanes"] if i < d["batch_size"]] or [0]
        try:
            out.append(RunConfig.from_dict(d))
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(t("tune.err.value", lang, name=d["name"], reason=str(exc))) from None
    return out
