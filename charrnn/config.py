"""RunConfig: every setting of a training run, validated in one place.

The CLI, the app's sidebar and the link all build a RunConfig through
`RunConfig.from_dict`; each value passes `settings.coerce`, the reader of
the settings table (charrnn/settings.py), so one set of rules and one set of
error messages naming the allowed range serves them all. What is checked
here beyond the table: the rules between settings.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .settings import (BY_NAME, LIMITS, SETTINGS, ConfigError, check_lanes, coerce,
                       show_bad)

MODELS = BY_NAME["model"].choices
TOKENIZATIONS = BY_NAME["tokens"].choices
DEVICES = BY_NAME["device"].choices
ACTIVATIONS = BY_NAME["activation"].choices
__all__ = ["ACTIVATIONS", "DEVICES", "LIMITS", "MODELS", "TOKENIZATIONS", "ConfigError",
           "RunConfig"]


def _default(name):
    return BY_NAME[name].default


@dataclass
class RunConfig:
    """The settings of one run; defaults, ranges and meanings: charrnn/settings.py."""
    # corpus: "timemachine", "fallback", a file path, or "text" (see `text`)
    corpus: str = _default("corpus")
    text: str | None = None          # the user's own text when corpus == "text"
    tokens: str = _default("tokens")
    max_tokens: int = _default("max_tokens")
    model: str = _default("model")
    num_hiddens: int = _default("num_hiddens")
    batch_size: int = _default("batch_size")
    num_steps: int = _default("num_steps")
    lr: float = _default("lr")
    num_epochs: int = _default("num_epochs")
    theta: float | None = _default("theta")
    random_iter: bool = _default("random_iter")
    device: str = _default("device")
    seed: int = _default("seed")
    prefix: str = _default("prefix")
    num_preds: int = _default("num_preds")
    activation: str = _default("activation")
    detach: bool = _default("detach")
    val_fraction: float = _default("val_fraction")
    probe_lanes: tuple[int, ...] = _default("probe_lanes")
    snapshot_every: int = _default("snapshot_every")
    sample_every: int = _default("sample_every")
    spectral_every: int = _default("spectral_every")
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
            raise ConfigError.of("cfg.err.mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(show_bad(k) for k in set(data) - known)
        if unknown:
            names = ", ".join(unknown[:5])
            if len(unknown) > 5:
                raise ConfigError.of("cfg.err.unknown_more", names=names, more=len(unknown) - 5)
            raise ConfigError.of("cfg.err.unknown", names=names)
        cfg = cls(**{k: v for k, v in data.items()})
        cfg.validate()
        return cfg

    def validate(self) -> "RunConfig":
        """Coerce types and check ranges in place (the table's rules, then the
        rules between settings); raise ConfigError."""
        for setting in SETTINGS:
            setattr(self, setting.name, coerce(setting, getattr(self, setting.name)))
        if not self.detach and (self.model != "scratch" or self.random_iter):
            raise ConfigError.of("cfg.err.detach")
        if self.activation != "tanh" and self.model != "scratch":
            raise ConfigError.of("cfg.err.activation")
        if self.text is not None and not isinstance(self.text, str):
            raise ConfigError.of("cfg.err.text_type")
        if self.corpus == "text" and not self.text:
            raise ConfigError.of("cfg.err.text_needed")
        check_lanes(self.probe_lanes, self.batch_size)
        self.name = str(self.name or "")[:80]
        if self.init_weights in ("", None):
            self.init_weights = None
        elif not isinstance(self.init_weights, str):
            raise ConfigError.of("cfg.err.init_weights")
        return self
