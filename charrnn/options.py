"""The settings table as command-line options, and the flags given back as a
RunConfig: what `python -m charrnn train` and `sweep` share."""
from __future__ import annotations

from .config import RunConfig
from .i18n import t
from .settings import BY_NAME, SETTINGS


def _help(s) -> str:
    text = f"{t(s.help, 'en')} Allowed: {s.allowed('en')}."
    if s.name == "tokens":
        return text + " Default: d2l for the book, raw for your own file."
    return (text + f" Default: {s.show(s.default)}.").replace("%", "%%")


def add_train_options(t):
    """One option per row of the settings table (train's, and a sweep's base)."""
    for s in SETTINGS:
        if not s.cli:
            continue
        kw = {"dest": s.name, "default": None, "help": _help(s)}
        if s.kind == "choice":
            kw["choices"] = list(s.choices)
        elif s.kind == "bool":  # --random-iter alone means yes
            kw.update(nargs="?", const="yes", metavar="|".join(s.words or ("yes", "no")))
        else:
            kw["metavar"] = {"int": "N", "float": "X", "lanes": "I,J,..."}.get(s.kind, "TEXT")
        t.add_argument(s.cli, **kw)
    t.add_argument("--no-detach", dest="detach", action="store_const", const="no",
                   help="the same as --detach=no")


def config_from_args(a) -> RunConfig:
    """The flags given (text, read by the settings table like a link's) -> RunConfig."""
    given = {s.name: getattr(a, s.name) for s in SETTINGS
             if s.cli and getattr(a, s.name) is not None}
    corpus = given.get("corpus", BY_NAME["corpus"].default)
    given.setdefault("tokens", "d2l" if corpus in ("timemachine", "fallback") else "raw")
    if "probe_lanes" not in given:  # the default rows that a small batch has
        batch_size = given.get("batch_size", BY_NAME["batch_size"].default)
        try:
            bs = int(batch_size)
        except (TypeError, ValueError):
            bs = None  # the validator names the bad batch_size
        if bs is not None:
            given["probe_lanes"] = [i for i in BY_NAME["probe_lanes"].default if i < bs] or [0]
    return RunConfig.from_dict(given)
