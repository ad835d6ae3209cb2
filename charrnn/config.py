"""RunConfig: every setting of a training run, validated in one place.

The CLI, the app's sidebar and the URL query string all build a RunConfig
through `RunConfig.from_dict`, so one set of rules (and one set of error
messages naming the allowed range) serves them all.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

MODELS = ("scratch", "rnn", "gru", "lstm")
TOKENIZATIONS = ("d2l", "raw")
DEVICES = ("auto", "cpu", "cuda", "mps")
ACTIVATIONS = ("tanh", "relu")


class ConfigError(ValueError):
    """A setting is out of range; the message is one sentence for the user."""


# name -> (low, high) inclusive, for the numeric settings
LIMITS = {
    "max_tokens": (-1, 10_000_000),
    "num_hiddens": (1, 4096),
    "batch_size": (1, 1024),
    "num_steps": (1, 1000),
    "lr": (1e-8, 1e6),
    "num_epochs": (1, 1_000_000),
    "theta": (0.0, 1e9),
    "seed": (0, 2**31 - 1),
    "snapshot_every": (1, 1_000_000),
    "sample_every": (1, 1_000_000),
    "spectral_every": (1, 1_000_000),
    "num_preds": (1, 10_000),
}


@dataclass
class RunConfig:
    # corpus: "timemachine", "fallback", a file path, or "text" (see `text`)
    corpus: str = "timemachine"
    text: str | None = None          # the user's own text when corpus == "text"
    tokens: str = "d2l"              # d2l | raw
    max_tokens: int = 10000          # -1 = all (d2l)
    model: str = "scratch"           # scratch | rnn | gru | lstm
    num_hiddens: int = 512
    batch_size: int = 32
    num_steps: int = 35
    lr: float = 1.0
    num_epochs: int = 500
    theta: float | None = 1.0        # None or 0 = no clipping
    random_iter: bool = False        # False: sequential partitioning
    device: str = "auto"
    seed: int = 0
    prefix: str = "time traveller "
    num_preds: int = 50
    activation: str = "tanh"         # scratch model only: tanh (d2l) | relu
    detach: bool = True              # False: backprop through the epoch's earlier minibatches
    # probes
    probe_lanes: tuple[int, ...] = (0, 1, 2, 3)
    snapshot_every: int = 10         # steps between hidden-state snapshots
    sample_every: int = 10           # epochs between text samples
    spectral_every: int = 50         # steps between W_hh spectra
    name: str = ""                   # shown in run pickers
    init_weights: str | None = None  # a state_dict file to start from (continue training)

    @property
    def clipping(self) -> bool:
        return self.theta is not None and self.theta > 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["probe_lanes"] = list(self.probe_lanes)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        """Build and validate; unknown keys are an error (typos must not pass)."""
        if not isinstance(data, dict):
            raise ConfigError("settings must be a mapping of names to values")
        known = {f.name for f in fields(cls)}
        unknown = sorted(_show(k) for k in set(data) - known)
        if unknown:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ConfigError(f"unknown setting(s): {', '.join(unknown[:5])}{more}")
        cfg = cls(**{k: v for k, v in data.items()})
        cfg.validate()
        return cfg

    def validate(self) -> "RunConfig":
        """Coerce types and check ranges in place; raise ConfigError."""
        ints = ("max_tokens", "num_hiddens", "batch_size", "num_steps",
                "num_epochs", "seed", "snapshot_every", "sample_every",
                "spectral_every", "num_preds")
        for name in ints:
            setattr(self, name, _as_int(name, getattr(self, name)))
        self.lr = _as_float("lr", self.lr)
        if self.theta in (None, "", "none", "None", "off"):
            self.theta = None
        else:
            self.theta = _as_float("theta", self.theta)
            if self.theta == 0:
                self.theta = None
        for name in ints + ("lr",):
            _check_range(name, getattr(self, name))
        if self.theta is not None:
            _check_range("theta", self.theta)
        if self.max_tokens == 0:
            raise ConfigError("max_tokens must be -1 (all) or at least 1")
        self.random_iter = _as_bool("random_iter", self.random_iter)
        for name, allowed in (("tokens", TOKENIZATIONS), ("model", MODELS),
                              ("activation", ACTIVATIONS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, "
                                  f"not {_show(getattr(self, name))}")
        if not isinstance(self.device, str) or not (
                self.device in DEVICES or re.fullmatch(r"cuda:[0-9]{1,3}", self.device)):
            raise ConfigError(f"device must be one of {', '.join(DEVICES)} "
                              f"or cuda:N, not {_show(self.device)}")
        self.detach = _as_bool("detach", self.detach)
        if not self.detach and (self.model != "scratch" or self.random_iter):
            raise ConfigError("detach can only be turned off for the scratch model with "
                              "sequential partitioning (random partitioning carries no state)")
        if self.activation != "tanh" and self.model != "scratch":
            raise ConfigError("activation can only be changed for the scratch model")
        if not isinstance(self.corpus, str) or not self.corpus:
            raise ConfigError("corpus must be timemachine, fallback, text or a file path")
        if self.text is not None and not isinstance(self.text, str):
            raise ConfigError("text must be the text itself (a string)")
        if self.corpus == "text" and not self.text:
            raise ConfigError("corpus 'text' needs the text itself")
        if not isinstance(self.prefix, str) or not self.prefix:
            raise ConfigError("prefix must be at least one character")
        if len(self.prefix) > 1000:
            raise ConfigError("prefix must be at most 1000 characters")
        if isinstance(self.probe_lanes, (str, bytes, dict)) or not hasattr(
                self.probe_lanes, "__iter__"):
            raise ConfigError("probe_lanes must be a list of batch row numbers")
        lanes = tuple(_as_int("each probe lane", i, ranged=False) for i in self.probe_lanes)
        if not lanes or len(lanes) > 16:
            raise ConfigError("probe_lanes must name between 1 and 16 batch rows")
        if any(i < 0 or i >= self.batch_size for i in lanes):
            raise ConfigError(f"probe_lanes must lie in 0..{self.batch_size - 1} "
                              f"(batch_size is {self.batch_size})")
        self.probe_lanes = tuple(dict.fromkeys(lanes))
        self.name = str(self.name or "")[:80]
        if self.init_weights in ("", None):
            self.init_weights = None
        elif not isinstance(self.init_weights, str):
            raise ConfigError("init_weights must be the path of a weights file")
        return self


def _range_words(name) -> str:
    """' between LOW and HIGH' for a setting with limits, else ''."""
    if name not in LIMITS:
        return ""
    low, high = LIMITS[name]
    return f" between {low:g} and {high:g}"


def _show(value) -> str:
    """repr of a bad value, short enough for one line (a 400-digit int too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_int(name, value, ranged=True):
    words = _range_words(name) if ranged else ""
    problem = ConfigError(f"{name} must be a whole number{words}, not {_show(value)}")
    if isinstance(value, bool):
        raise problem
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise problem
        return int(value)
    if isinstance(value, int):
        return int(value)
    if not isinstance(value, (str, bytes)) and not hasattr(value, "__index__"):
        raise problem            # lists, dicts, None: never str()-parsed
    try:
        return int(value.strip() if isinstance(value, (str, bytes)) else value)
    except (TypeError, ValueError, OverflowError):
        raise problem from None


def _as_float(name, value):
    words = _range_words(name)
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number{words}, not {_show(value)}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number{words}, not {_show(value)}") from None
    except OverflowError:           # an int too large for a float
        out = math.inf
    if not math.isfinite(out):
        raise ConfigError(f"{name} must be a finite number{words}, not {_show(value)}")
    return out


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    if not isinstance(value, int) or value in (0, 1):  # str() of a huge int raises
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
    raise ConfigError(f"{name} must be true or false, not {_show(value)}")


def _check_range(name, value):
    low, high = LIMITS[name]
    if not (low <= value <= high):
        shown = _show(value) if isinstance(value, int) else f"{value:g}"
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {shown}")
