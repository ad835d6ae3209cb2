"""Every UI string exists in English and Chinese, and every string is used."""
import re
import string
from pathlib import Path

from charrnn.i18n import STRINGS, t

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for p in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("charrnn/**/*.py")]
           if "i18n" not in p.parts]
PREFIXES = sorted({k.split(".")[0] for k in STRINGS["en"]})
# a key in code: "fig.loss.title", or f"cfg.preset.{p}" (braces match any part)
KEY = re.compile(r"""f?(["'])((?:%s)\.[A-Za-z0-9_.{}\[\]]+?)\1""" % "|".join(PREFIXES))


def _fields(text):
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)


def _code_keys():
    literal, patterns = set(), set()
    for path in SOURCES:
        text = path.read_text("utf-8")
        for prefix in re.findall(r'fmt\("([a-z_.]+)"\)', text):  # ui.fmt: prefix.<option>
            patterns.add(re.escape(prefix) + r"\.[A-Za-z0-9_]+")
        for _, key in KEY.findall(text):
            if "{" in key:
                patterns.add(re.sub(r"\\\{.*?\\\}", r"[A-Za-z0-9_]+", re.escape(key)))
            elif key in STRINGS["en"] or not key.endswith((".css", ".py", ".txt", ".json")):
                literal.add(key)
    return literal, patterns


def test_both_languages_have_the_same_keys_and_placeholders():
    en, zh = STRINGS["en"], STRINGS["zh"]
    assert set(en) == set(zh)
    for key in en:
        assert _fields(en[key]) == _fields(zh[key]), key
        assert zh[key].strip(), key


def test_every_key_the_code_asks_for_exists():
    literal, patterns = _code_keys()
    missing = sorted(k for k in literal if k not in STRINGS["en"])
    assert not missing, missing
    for pattern in patterns:
        assert any(re.fullmatch(pattern, k) for k in STRINGS["en"]), pattern


def test_no_string_is_unused():
    literal, patterns = _code_keys()
    unused = [k for k in STRINGS["en"] if k not in literal
              and not any(re.fullmatch(p, k) for p in patterns)]
    assert not unused, unused


def test_chinese_is_really_translated():
    same = [k for k in STRINGS["en"] if STRINGS["en"][k] == STRINGS["zh"][k]
            and re.search(r"[A-Za-z]{4,}", STRINGS["en"][k])
            and not re.fullmatch(r"[\sA-Za-z_().,:=θ|{}0-9·\-+*/<>&;²ₜ₋₁]+", STRINGS["en"][k])]
    assert len(same) < 0.05 * len(STRINGS["en"]), same[:20]
    assert t("train.title", "zh") == "看 RNN 如何学习"
    assert t("train.title", "fr") == t("train.title", "en")  # unknown language: English
