"""The settings table: every setting of a run declared once.

Like TensorFlow Playground's `State.PROPS`: one row per setting (its d2l
name, type, default, allowed values, label and help keys, CLI flag, link
name). Validation (`charrnn.config`), the CLI's options and --help, the
sidebar form and its link, `?hide=`, the sweep axes and README's settings
table are all made from these rows, so a value one door accepts every door
accepts. `coerce` is the one reader: the validator calls it, and the page
calls it on a link's text.

A new setting: a field in RunConfig, a row here, and its label/help strings
in charrnn/i18n/settings.py; then `python -m charrnn.settings` rewrites
README's table.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from .i18n import Explained, t

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
NONE_WORDS = ("none", "off")
MAX_LANES = 16


class ConfigError(Explained):
    """A setting is out of range; the message is one sentence for the user,
    in English; `i18n_reason` names the same sentence in charrnn/i18n."""


def _err(key: str, **fields) -> ConfigError:
    return ConfigError.of(key, **fields)


def _plain(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


@dataclass(frozen=True)
class Setting:
    name: str                    # the d2l name, also RunConfig's field
    kind: str                    # int | float | bool | choice | text | lanes | device
    default: object
    low: float | None = None     # numbers: inclusive range; text: length range
    high: float | None = None
    choices: tuple = ()
    none: bool = False           # None (or 0, "none", "off") means off
    label: str | None = None     # i18n key; None: the d2l name itself is the label
    help: str = ""               # i18n key
    cli: str | None = None       # flag of `python -m charrnn train`
    url: str | None = None       # name in a link (and the sidebar widget's key)
    group: str | None = None     # sidebar section (corpus, model, training, more)
    words: tuple = ()            # bool in a link: its words for (False, True)
    switch: str | None = None    # none-able number: link name of its on/off switch
    switch_label: str | None = None  # i18n key of that switch
    option_labels: str | None = None  # i18n key pattern of a choice's labels: "cfg.model.{}"
    sweep: str | None = None     # a sweep's first values; None: not a sweep axis
    step: float | None = None    # the number box's +/- step
    fmt: str | None = None       # the number box's printf format
    no_zero: bool = False        # 0 is refused (max_tokens: -1 = all, else at least 1)

    @property
    def whole(self) -> bool:
        return self.kind == "int"

    def allowed(self, lang: str = "en") -> str:
        """What may be typed, in words: 'a whole number between 1 and 4096'."""
        if self.kind in ("int", "float"):
            key = "set.allowed.int" if self.whole else "set.allowed.float"
            text = t(key, lang, lo=_plain(self.low), hi=_plain(self.high))
            if self.no_zero:
                text = t("set.allowed.no_zero", lang, allowed=text)
            return t("set.allowed.none", lang, allowed=text) if self.none else text
        if self.kind == "bool":
            if self.words:
                return t("set.allowed.choice", lang, choices=", ".join(self.words))
            return t("set.allowed.bool", lang)
        if self.kind in ("choice", "device"):
            extra = ", cuda:N" if self.kind == "device" else ""
            return t("set.allowed.choice", lang, choices=", ".join(self.choices) + extra)
        if self.kind == "lanes":
            return t("set.allowed.lanes", lang, max=MAX_LANES)
        return t("set.allowed.text", lang, lo=_plain(self.low), hi=_plain(self.high))

    def show(self, value) -> str:
        """A value as a link, a table cell or a CLI argument writes it."""
        if self.kind == "bool" and value is not None:
            return show_value(bool(value), words=self.words)
        return show_value(value)


def show_value(value, sep: str = ",", words: tuple = ()) -> str:
    """A value as text: none, true/false (or `words` for False, True), 0.5,
    a list joined by `sep` (a link's comma; a table reads better with ", ")."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return (words or ("false", "true"))[value]
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return sep.join(str(v) for v in value)
    return str(value)


S = Setting
SETTINGS: tuple[Setting, ...] = (
    S("corpus", "text", "timemachine", 1, 4096, help="set.corpus.help", cli="--corpus"),
    S("tokens", "choice", "d2l", choices=("d2l", "raw"), label="cfg.tokens",
      option_labels="cfg.tokens.{}", help="cfg.tokens.help", cli="--tokens", url="tokens",
      group="corpus"),
    S("model", "choice", "scratch", choices=("scratch", "rnn", "gru", "lstm"), label="cfg.model",
      option_labels="cfg.model.{}", help="set.model.help", cli="--model", url="model",
      group="model"),
    S("num_hiddens", "int", 512, 1, 4096, help="cfg.num_hiddens.help", cli="--num-hiddens",
      url="num_hiddens", group="model", sweep="64, 128, 256", step=32),
    S("batch_size", "int", 32, 1, 1024, help="set.batch_size.help", cli="--batch-size",
      url="batch_size", group="training", sweep="8, 32", step=1),
    S("num_steps", "int", 35, 1, 1000, help="set.num_steps.help", cli="--num-steps",
      url="num_steps", group="training", sweep="10, 35", step=1),
    S("lr", "float", 1.0, 1e-8, 1e6, help="cfg.lr.help", cli="--lr", url="lr",
      group="training", sweep="0.5, 1, 2", fmt="%g"),
    S("num_epochs", "int", 500, 1, 1_000_000, help="set.num_epochs.help", cli="--num-epochs",
      url="num_epochs", group="training", sweep="50, 100", step=10),
    S("theta", "float", 1.0, 0.0, 1e9, none=True, label="cfg.theta", help="cfg.clip.help",
      cli="--theta", url="theta", group="training", switch="theta_on", switch_label="cfg.clip",
      sweep="1, none", fmt="%g"),
    S("random_iter", "bool", False, label="cfg.part", help="cfg.part.help", cli="--random-iter",
      url="part", group="training", words=("sequential", "random"),
      option_labels="cfg.part.{}"),
    S("device", "device", "auto", choices=("auto", "cpu", "cuda", "mps"), label="cfg.device",
      help="cfg.device.help", cli="--device", url="device", group="more"),
    S("seed", "int", 0, 0, 2**31 - 1, help="set.seed.help", cli="--seed", url="seed",
      group="more", sweep="0, 1, 2", step=1),
    S("max_tokens", "int", 10000, -1, 10_000_000, help="cfg.max_tokens.help",
      cli="--max-tokens", url="max_tokens", group="more", sweep="3000, 10000", step=1000,
      no_zero=True),
    S("activation", "choice", "tanh", choices=("tanh", "relu"), label="cfg.activation",
      help="cfg.activation.help", cli="--activation", url="activation", group="more"),
    S("detach", "bool", True, label="cfg.detach", help="cfg.detach.help", cli="--detach",
      url="detach", group="more"),
    S("prefix", "text", "time traveller ", 1, 200, label="cfg.prefix", help="set.prefix.help",
      cli="--prefix", url="prefix", group="more"),
    S("probe_lanes", "lanes", (0, 1, 2, 3), label="cfg.lanes", help="cfg.lanes.help",
      cli="--probe-lanes", url="probe_lanes", group="more"),
    S("snapshot_every", "int", 10, 1, 1_000_000, help="cfg.snapshot_every.help",
      cli="--snapshot-every", url="snapshot_every", group="more", step=1),
    S("sample_every", "int", 10, 1, 1_000_000, help="set.sample_every.help",
      cli="--sample-every"),
    S("spectral_every", "int", 50, 1, 1_000_000, help="set.spectral_every.help",
      cli="--spectral-every"),
    S("num_preds", "int", 50, 1, 10_000, help="set.num_preds.help", cli="--num-preds"),
    S("val_fraction", "float", 0.1, 0.0, 0.5, help="set.val_fraction.help",
      cli="--val-fraction", url="val_fraction", group="more", step=0.05, fmt="%g"),
)
del S
BY_NAME = {s.name: s for s in SETTINGS}
BY_URL = {s.url: s for s in SETTINGS if s.url}
FORM = tuple(s for s in SETTINGS if s.group)
SWEEPABLE = tuple(s.name for s in SETTINGS if s.sweep)
LIMITS = {s.name: (s.low, s.high) for s in SETTINGS if s.kind in ("int", "float")}
# the names `?hide=` understands: a setting's link name, its d2l name, its switch
HIDE_NAMES = {**{s.name: s for s in FORM}, **BY_URL,
              **{s.switch: s for s in FORM if s.switch}}


# ------------------------------------------------------------ the one reader
def show_bad(value) -> str:
    """repr of a bad value, short enough for one line (a 400-digit int too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_int(name, value, s: Setting | None = None) -> int:
    if s is None:
        problem = _err("set.err.whole_any", name=name, value=show_bad(value))
    else:
        problem = _err("set.err.whole", name=name, value=show_bad(value), lo=f"{s.low:g}",
                       hi=f"{s.high:g}")
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


def as_float(name, value, s: Setting) -> float:
    fields = dict(name=name, value=show_bad(value), lo=f"{s.low:g}", hi=f"{s.high:g}")
    if isinstance(value, bool):
        raise _err("set.err.number", **fields)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _err("set.err.number", **fields) from None
    except OverflowError:           # an int too large for a float
        out = math.inf
    if not math.isfinite(out):
        raise _err("set.err.finite", **fields)
    return out


def as_bool(name, value, words=()) -> bool:
    """Yes/no: True/False, 1/0, and the words true/false, yes/no, on/off in any
    case (or a setting's own pair of words); nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS or (words and text == words[1]):
            return True
        if text in FALSE_WORDS or (words and text == words[0]):
            return False
    if words:
        raise _err("set.err.words", name=name, value=show_bad(value), no=words[0], yes=words[1])
    raise _err("set.err.bool", name=name, value=show_bad(value))


def _in_range(s: Setting, value):
    if s.no_zero and value == 0:
        raise _err("set.err.no_zero", name=s.name, lo=f"{s.low:g}")
    if not (s.low <= value <= s.high):
        shown = show_bad(value) if isinstance(value, int) else f"{value:g}"
        raise _err("set.err.range", name=s.name, lo=f"{s.low:g}", hi=f"{s.high:g}", value=shown)
    return value


def split_list(value):
    """'0,1, 2' -> ['0', '1', '2']; a list stays a list."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise _err("set.err.lanes_list")
    return list(value)


def coerce(s: Setting, value):
    """`value` (a Python value, or text from a link or the command line) as the
    setting's type, inside its range; else ConfigError, one sentence."""
    if s.kind in ("int", "float"):
        if s.none and (value is None or (isinstance(value, str)
                                         and value.strip().lower() in ("", *NONE_WORDS))):
            return None
        out = as_int(s.name, value, s) if s.whole else as_float(s.name, value, s)
        if s.none and out == 0:
            return None
        return _in_range(s, out)
    if s.kind == "bool":
        return as_bool(s.name, value, s.words)
    if s.kind == "choice":
        if isinstance(value, str) and value in s.choices:
            return value
        raise _err("set.err.choice", name=s.name, choices=", ".join(s.choices),
                   value=show_bad(value))
    if s.kind == "device":
        if isinstance(value, str) and (value in s.choices
                                       or re.fullmatch(r"cuda:[0-9]{1,3}", value)):
            return value
        raise _err("set.err.device", choices=", ".join(s.choices), value=show_bad(value))
    if s.kind == "lanes":
        lanes = tuple(as_int("each probe lane", i) for i in split_list(value))
        if not lanes or len(lanes) > MAX_LANES:
            raise _err("set.err.lanes_count", max=MAX_LANES)
        if any(i < 0 for i in lanes):
            raise _err("set.err.lanes_from_0")
        return tuple(dict.fromkeys(lanes))
    if not isinstance(value, str) or not (s.low <= len(value) <= s.high):
        if s.name == "corpus":
            raise _err("set.err.corpus")
        raise _err("set.err.text", name=s.name, lo=f"{s.low:g}", hi=f"{s.high:g}")
    return value


def check_lanes(lanes, batch_size: int):
    """The rows to watch must exist in a minibatch."""
    if any(i >= batch_size for i in lanes):
        raise _err("set.err.lanes_range", last=batch_size - 1, batch_size=batch_size)
    return lanes


def switch_of(s: Setting) -> Setting:
    """The on/off switch of a none-able setting, as a setting of its own."""
    return Setting(s.switch, "bool", s.default is not None, label=s.switch_label,
                   help=s.help, url=s.switch)


def read_text(name: str, text: str):
    """A link's or the command line's text for setting `name` -> its value."""
    return coerce(BY_NAME[name], text)


# ------------------------------------------------------------ README's table
README_START, README_END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def readme_table() -> str:
    rows = ["| setting | default | allowed | CLI | link | meaning |",
            "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        link = f"`?{s.url}=`" if s.url else ""
        if s.switch:
            link += f", `?{s.switch}=`"
        meaning = t(s.help, "en").replace("|", "\\|") if s.help else ""
        rows.append(f"| `{s.name}` | `{s.show(s.default)}` | {s.allowed('en')} | "
                    f"`{s.cli}` | {link} | {meaning} |")
    return "\n".join(rows)


def with_readme_table(readme: str) -> str:
    """README's text with the generated table between its markers."""
    head, sep, rest = readme.partition(README_START)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        raise ValueError(f"README needs the markers {README_START} and {README_END}")
    return f"{head}{README_START}\n{readme_table()}\n{README_END}{tail}"


if __name__ == "__main__":  # python -m charrnn.settings: rewrite README's table
    path = Path(__file__).resolve().parents[1] / "README.md"
    path.write_text(with_readme_table(path.read_text("utf-8")), "utf-8")
    print(f"wrote the settings table into {path.name}")
