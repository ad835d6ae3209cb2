"""Corpus loading: the book, the offline fallback, and bad text."""
import hashlib

import pytest

from charrnn import data
from charrnn.config import RunConfig
from charrnn.data import CorpusError


def test_offline_and_uncached_falls_back_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.delenv("CHARRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(data, "TIME_MACHINE_URL", "http://127.0.0.1:9/timemachine.txt")
    c = data.load_corpus("timemachine", "d2l", 10000)
    assert c.warning.startswith("Offline: could not download The Time Machine")
    assert str(tmp_path / "charrnn") in c.warning and "CHARRNN_DATA_DIR" in c.warning
    assert c.name != "The Time Machine" and c.num_tokens == 10000
    assert set(c.vocab.idx_to_token[1:]) <= set(" abcdefghijklmnopqrstuvwxyz")


def test_download_is_checked_and_cached(monkeypatch, tmp_path, request):
    book = (data.Path(__import__("os").environ["CHARRNN_DATA_DIR"]) / "timemachine.txt").read_bytes()
    monkeypatch.delenv("CHARRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    served = {"n": 0, "body": b"not the book"}

    class Resp:
        def __enter__(self):
            served["n"] += 1
            return self

        def __exit__(self, *a):
            return False

        def read(self, n):
            return served["body"]

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Resp())
    with pytest.raises(OSError, match="SHA-1"):
        data.fetch_time_machine()
    assert not (tmp_path / "charrnn" / "timemachine.txt").exists()
    served["body"] = book
    p = data.fetch_time_machine()
    assert hashlib.sha1(p.read_bytes()).hexdigest() == data.TIME_MACHINE_SHA1
    assert data.fetch_time_machine() == p and served["n"] == 2  # cached: no third download


@pytest.mark.parametrize("payload, message", [
    (b"", "empty"),
    (b"   \n\t  ", "empty"),
    (b"abc\x00def", "binary"),
    ("caf\u00e9".encode("latin-1"), "not UTF-8"),
])
def test_bad_bytes_name_the_problem(payload, message):
    with pytest.raises(CorpusError, match=message):
        data.decode_user_text(payload, "notes.txt")


def test_too_large_names_the_limit():
    with pytest.raises(CorpusError, match=r"too large \(6\.0 MB\); the limit is 5 MB"):
        data.decode_user_text(b"a" * 6_000_000, "big.txt")


def test_too_short_for_one_minibatch_names_the_need():
    c = data.build_corpus("hello world " * 20, "raw", -1, "short")
    with pytest.raises(CorpusError, match=r"240 tokens.*1,156 tokens are needed"):
        data.check_length(c, 32, 35)


def test_chinese_text_keeps_every_character_with_raw_tokens():
    text = "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。\n" * 50
    c = data.build_corpus(text, "raw", -1, "千字文")
    assert "天" in c.vocab.token_to_idx and "\n" in c.vocab.token_to_idx
    assert c.num_tokens == len(text)
    with pytest.raises(CorpusError, match="raw tokens"):
        data.build_corpus(text, "d2l", -1, "千字文")


def test_user_text_and_file_corpora(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("The quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    c = data.load_corpus(str(f), "raw", -1)
    assert c.name == "mine.txt" and "T" in c.vocab.token_to_idx
    t = data.load_corpus("text", "d2l", -1, text="Hello, World!")
    assert "".join(t.vocab.to_tokens(t.corpus)) == "hello world"
    with pytest.raises(CorpusError, match="No such corpus file"):
        data.load_corpus(str(tmp_path / "missing.txt"), "raw", -1)


def test_vocab_orders_by_frequency_with_unk_first():
    v = data.Vocab(list("abbccc"))
    assert v.idx_to_token == ["<unk>", "c", "b", "a"] and v["z"] == 0


def test_config_rejects_out_of_range_with_the_range():
    from charrnn.config import ConfigError
    with pytest.raises(ConfigError, match="num_hiddens must be between 1 and 4096"):
        RunConfig.from_dict({"num_hiddens": 0})
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        RunConfig.from_dict({"lr": float("nan")})
    with pytest.raises(ConfigError, match="unknown setting"):
        RunConfig.from_dict({"lrr": 1})
    assert RunConfig.from_dict({"theta": "none"}).clipping is False
    assert RunConfig.from_dict({"theta": "0"}).theta is None
