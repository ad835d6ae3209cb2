"""UI strings in English and Chinese.

Each area of the product keeps its strings in its own module here
(EN and ZH dicts with the same keys); this module merges them.
"""
from importlib import import_module

LANGS = ("en", "zh")
_AREAS = ("common", "settings", "figures", "diagram", "app", "tuning", "views", "sweep",
          "runs", "lecture", "errors")


def _load():
    merged = {lang: {} for lang in LANGS}
    for area in _AREAS:
        try:
            mod = import_module(f"{__name__}.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{area}":
                raise
            continue
        for lang in LANGS:
            table = getattr(mod, lang.upper())
            dup = set(table) & set(merged[lang])
            if dup:
                raise KeyError(f"string keys defined twice: {sorted(dup)}")
            merged[lang].update(table)
    return merged


STRINGS = _load()


def t(key: str, lang: str = "en", /, **fmt) -> str:
    """The string `key` in `lang` (falls back to English), formatted with fmt."""
    table = STRINGS.get(lang) or STRINGS["en"]
    text = table.get(key)
    if text is None:  # unknown in this language: English; unknown anywhere: the key
        text = STRINGS["en"].get(key, key)
    return text.format(**fmt) if fmt else text


class Explained(ValueError):
    """An error that is one sentence of these tables: `key` and `fields` name
    it, so a UI says it in its reader's language; str() is the English one."""

    def __init__(self, message, key=None, **fields):
        super().__init__(message)
        self.key, self.fields = key, fields

    @classmethod
    def of(cls, key: str, /, **fields):
        return cls(t(key, "en", **fields), key, **fields)

    @property
    def i18n_reason(self) -> dict | None:
        """{"key": ..., **fields}, as a run's `reason`; None when unnamed."""
        return {"key": self.key, **self.fields} if self.key else None
