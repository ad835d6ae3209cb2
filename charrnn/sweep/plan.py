"""A sweep's trials from its axes: a grid (`lr=0.5,1,2`), random samples
(`lr=loguniform:0.05:5`, `num_hiddens=64,128,256`), seeds as one more axis.

Every value is read by the settings table (charrnn/settings.py) as the CLI
reads it, and every trial's config is validated before anything runs: bad
input is one ConfigError naming the axis or the trial.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from ..config import ConfigError, RunConfig
from ..settings import BY_NAME, read_text

MAX_TRIALS = 1000
_SHORT = {"theta": "θ", "num_hiddens": "h", "batch_size": "batch", "num_steps": "steps",
          "num_epochs": "epochs", "max_tokens": "tokens", "random_iter": "random"}
DISTRIBUTIONS = ("loguniform", "uniform", "randint")


@dataclass
class Trial:
    index: int
    varied: dict            # the values this trial sets (what tells it apart)
    config: RunConfig


def _setting(name: str):
    s = BY_NAME.get(name)
    if s is None or not s.cli or name in ("corpus", "device"):
        raise ConfigError(f"{name!r} is not a setting a sweep can vary")
    return s


def _split(spec: str, flag: str) -> tuple[str, str]:
    name, sep, values = str(spec).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not values.strip():
        raise ConfigError(f"{flag} {spec!r}: write NAME=VALUES, e.g. {flag} lr=0.5,1,2")
    _setting(name)
    return name, values.strip()


def parse_grid(spec: str) -> tuple[str, list]:
    """'lr=0.5,1,2' -> ('lr', [0.5, 1.0, 2.0]); 'theta=1,none' keeps None."""
    name, text = _split(spec, "--grid")
    values = [read_text(name, part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise ConfigError(f"--grid {spec!r}: no values")
    return name, list(dict.fromkeys(values))


def parse_random(spec: str):
    """'lr=loguniform:0.05:5' -> ('lr', sampler); 'num_hiddens=64,128' -> a choice."""
    name, text = _split(spec, "--random")
    kind, _, rest = text.partition(":")
    if kind in DISTRIBUTIONS:
        parts = rest.split(":")
        if len(parts) != 2:
            raise ConfigError(f"--random {spec!r}: write {kind}:LOW:HIGH")
        low, high = (read_text(name, p) for p in parts)
        if low is None or high is None or not low < high:
            raise ConfigError(f"--random {spec!r}: LOW must be below HIGH")
        if kind == "loguniform" and low <= 0:
            raise ConfigError(f"--random {spec!r}: loguniform needs LOW above 0")
        whole = BY_NAME[name].whole or kind == "randint"

        def draw(rng, low=low, high=high, kind=kind):
            if kind == "loguniform":
                x = math.exp(rng.uniform(math.log(low), math.log(high)))
            elif kind == "uniform":
                x = rng.uniform(low, high)
            else:
                return rng.randint(int(low), int(high))
            return int(round(x)) if whole else float(f"{x:.4g}")
        return name, draw
    choices = parse_grid(spec)[1]
    return name, lambda rng: rng.choice(choices)


def label(varied: dict) -> str:
    """'lr=0.5 θ=none seed=1': what tells a trial apart from the others."""
    parts = []
    for name, value in varied.items():
        shown = BY_NAME[name].show(value)
        parts.append(f"{_SHORT.get(name, name)}={shown}")
    return " ".join(parts)


def plan(base: RunConfig, grid=(), rand=(), samples: int = 1, sample_seed: int = 0,
         ) -> list[Trial]:
    """The trials: every grid combination, `samples` times, each time with a
    fresh draw of the random axes. Raises ConfigError naming what is wrong."""
    axes = [parse_grid(g) for g in grid]
    draws = [parse_random(r) for r in rand]
    names = [n for n, _ in axes] + [n for n, _ in draws]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{sorted(dup)[0]} is given as an axis twice")
    if samples < 1:
        raise ConfigError("--samples must be at least 1")
    if not axes and not draws and samples == 1:
        raise ConfigError("a sweep needs --grid NAME=VALUES or --random NAME=... "
                          "(and --samples N)")
    size = math.prod(len(v) for _, v in axes) * samples
    if size > MAX_TRIALS:
        raise ConfigError(f"the sweep would have {size} trials; at most {MAX_TRIALS}")
    rng = random.Random(sample_seed)
    trials = []
    for _ in range(samples):
        for combo in itertools.product(*[[(n, v) for v in vals] for n, vals in axes]):
            varied = dict(combo)
            varied.update({n: draw(rng) for n, draw in draws})
            trials.append(varied)
    out = []
    base_dict = base.to_dict()
    for i, varied in enumerate(trials):
        d = {**base_dict, **varied}
        if samples > 1 and not draws:
            d["name"] = f"{label(varied)} #{i // (len(trials) // samples) + 1}"
        else:
            d["name"] = label(varied) or f"trial {i}"
        d["probe_lanes"] = [x for x in d["probe_lanes"] if x < d["batch_size"]] or [0]
        try:
            out.append(Trial(i, varied, RunConfig.from_dict(d)))
        except ConfigError as exc:
            raise ConfigError(f"trial {i} ({label(varied)}): {exc}") from None
    return out
