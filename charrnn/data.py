"""Corpus, vocabulary and minibatches with d2l's semantics (d2l 8.2, 8.3).

- The Time Machine is fetched as d2l fetches it (its URL, SHA-1 check) and
  cached in a user cache directory; CHARRNN_DATA_DIR is searched first.
- Offline and uncached, a fallback corpus the project may ship is used and
  `Corpus.warning` says why and what to do.
- `seq_data_iter_random` / `seq_data_iter_sequential` are d2l's, with a
  `random.Random` passed in so a run is reproducible from its seed.
"""
from __future__ import annotations

import collections
import hashlib
import os
import re
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .i18n import Explained, t

TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
TIME_MACHINE_FILE = "timemachine.txt"
MAX_CORPUS_BYTES = 5 * 1024 * 1024  # user text; the book is 0.18 MB
# Validation perplexity is measured on at most this many tokens each epoch; a
# twentieth of an epoch's training tokens bounds it first (d2l: 500, 14 x 35).
VAL_MAX_TOKENS = 1000
ASSETS = Path(__file__).resolve().parent.parent / "assets"


class CorpusError(Explained):
    """A corpus cannot be used; the message is one sentence for the user
    (`key` names it in charrnn.i18n, the message is the English one)."""


def _refuse(key, **fields) -> CorpusError:
    return CorpusError.of(key, **fields)


# ---------------------------------------------------------------- vocabulary
class Vocab:
    """d2l's Vocab: tokens sorted by frequency (ties: first seen), <unk> = 0."""

    def __init__(self, tokens=(), min_freq=0, reserved_tokens=()):
        if tokens and isinstance(tokens[0], list):
            tokens = [tok for line in tokens for tok in line]
        counter = collections.Counter(tokens)
        # sorted() is stable, so equal counts keep first-seen order as in d2l
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"] + list(reserved_tokens)
        self.token_to_idx = {tok: idx for idx, tok in enumerate(self.idx_to_token)}
        for token, freq in self.token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(tok) for tok in tokens]

    def to_tokens(self, indices):
        if hasattr(indices, "__len__") and not isinstance(indices, str):
            return [self.idx_to_token[int(i)] for i in indices]
        return self.idx_to_token[int(indices)]

    @property
    def unk(self):
        return 0


# ------------------------------------------------------------- preprocessing
def d2l_lines(text: str) -> list[str]:
    """d2l's read_time_machine: letters only, lower case, one entry per line."""
    return [re.sub("[^A-Za-z]+", " ", line).strip().lower()
            for line in text.split("\n")]


def tokenize(text: str, mode: str) -> list[list[str]]:
    """Character tokens per line. d2l drops line breaks (lines are joined)."""
    if mode == "d2l":
        return [list(line) for line in d2l_lines(text)]
    if mode == "raw":
        return [list(text)]
    raise _refuse("corpus.tokens", value=repr(mode))


@dataclass
class Corpus:
    name: str                 # what the user sees: "The Time Machine", a file name
    text: str                 # the raw text (kept for the activation view)
    tokens: str               # d2l | raw
    corpus: list[int]         # token indices, truncated to max_tokens
    vocab: Vocab
    warning: str | None = None  # e.g. offline fallback; shown, not fatal
    rest: list[int] = field(default_factory=list)  # the tokens after the max_tokens slice

    @property
    def num_tokens(self) -> int:
        return len(self.corpus)


def build_corpus(text: str, tokens: str, max_tokens: int, name: str,
                 warning: str | None = None) -> Corpus:
    """d2l's load_corpus_time_machine on any text (vocab from all of it)."""
    lines = tokenize(text, tokens)
    vocab = Vocab(lines)
    corpus = [vocab[tok] for line in lines for tok in line]
    rest = []
    if max_tokens > 0:
        corpus, rest = corpus[:max_tokens], corpus[max_tokens:max_tokens + VAL_MAX_TOKENS]
    if not corpus:
        raise _refuse("corpus.d2l_empty" if tokens == "d2l" else "corpus.empty")
    if len(set(corpus)) < 2:  # the only target is the input: nothing to learn or show
        only = repr(vocab.to_tokens(corpus[0]))
        d2l_hides = tokens == "d2l" and len(set(text[:100_000])) > 1
        raise _refuse("corpus.one_char_d2l" if d2l_hides else "corpus.one_char", only=only)
    return Corpus(name, text, tokens, corpus, vocab, warning, rest)


def check_length(corpus: Corpus, batch_size: int, num_steps: int,
                 num_tokens: int | None = None) -> None:
    """One minibatch must fit whatever offset d2l's iterators draw (in the
    `num_tokens` training sees, when a tail is held out)."""
    need = batch_size * num_steps + num_steps + 1
    n = corpus.num_tokens if num_tokens is None else num_tokens
    if n < need:
        raise _refuse("corpus.too_short", n=n, need=need)


def decode_user_text(data: bytes, name: str = "the text",
                     limit: int = MAX_CORPUS_BYTES) -> str:
    """Bytes a user brought -> text, or CorpusError naming the problem."""
    if len(data) > limit:
        raise _refuse("corpus.too_large", name=name, mb=len(data) / 1e6, limit=limit / 1e6)
    if b"\x00" in data:
        raise _refuse("corpus.binary", name=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("corpus.not_utf8", name=name, pos=exc.start) from None
    if not text.strip():
        raise _refuse("corpus.blank", name=name)
    return text


# ------------------------------------------------------------ time machine
def cache_dir() -> Path:
    """Where downloads are cached (a user cache dir, as d2l's ../data is per user)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "charrnn"


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("CHARRNN_DATA_DIR"):
        dirs.append(Path(os.environ["CHARRNN_DATA_DIR"]).expanduser())
    dirs.append(cache_dir())
    return dirs


def fetch_time_machine(timeout: float = 10.0) -> Path:
    """Path of a verified timemachine.txt; downloads it (d2l's URL) if needed.

    Raises OSError with a user-facing sentence when offline and uncached.
    """
    for d in _search_dirs():
        p = d / TIME_MACHINE_FILE
        if p.is_file() and _sha1(p) == TIME_MACHINE_SHA1:
            return p
    target = cache_dir() / TIME_MACHINE_FILE
    try:
        with urllib.request.urlopen(TIME_MACHINE_URL, timeout=timeout) as resp:
            data = resp.read(2 * MAX_CORPUS_BYTES)
    except Exception as exc:  # any network failure means: offline
        raise OSError(f"could not download The Time Machine from {TIME_MACHINE_URL} "
                      f"({exc.__class__.__name__}: {exc})") from None
    if hashlib.sha1(data).hexdigest() != TIME_MACHINE_SHA1:
        raise OSError(f"the download from {TIME_MACHINE_URL} failed its SHA-1 check")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)  # atomic: a half-written file is never "cached"
    return target


def fallback_text() -> tuple[str, str]:
    """(name, text) of a corpus every installation has: Python's pydoc topics."""
    try:
        from pydoc_data.topics import topics
        return "Python documentation (pydoc topics)", "\n".join(topics.values())
    except ImportError:
        return "charrnn's fallback text", (ASSETS / "fallback.txt").read_text("utf-8")


def load_corpus(corpus: str = "timemachine", tokens: str = "d2l", max_tokens: int = 10000,
                text: str | None = None) -> Corpus:
    """The corpus a RunConfig names: timemachine | fallback | text | a path."""
    if corpus == "timemachine":
        try:
            path = fetch_time_machine()
        except OSError as exc:
            name, fb = fallback_text()
            warning = (f"Offline: {exc}. Training on the fallback corpus ({name}) instead. "
                       f"To use the book, put d2l's timemachine.txt into {cache_dir()} "
                       f"or set CHARRNN_DATA_DIR to a folder holding it.")
            return build_corpus(fb, tokens, max_tokens, name, warning)
        return build_corpus(path.read_text("utf-8"), tokens, max_tokens, "The Time Machine")
    if corpus == "fallback":
        name, fb = fallback_text()
        return build_corpus(fb, tokens, max_tokens, name)
    if corpus == "text":
        if text is None:
            raise _refuse("corpus.no_text")
        return build_corpus(decode_user_text(text.encode("utf-8")), tokens, max_tokens,
                            "your text")
    path = Path(corpus).expanduser()
    if not path.is_file():
        raise _refuse("corpus.no_file", path=corpus)
    if path.stat().st_size > MAX_CORPUS_BYTES:
        raise _refuse("corpus.too_large", name=path.name, mb=path.stat().st_size / 1e6,
                      limit=MAX_CORPUS_BYTES / 1e6)
    return build_corpus(decode_user_text(path.read_bytes(), path.name), tokens,
                        max_tokens, path.name)


# ---------------------------------------------------------------- validation
@dataclass
class Split:
    train: list[int]          # the tokens training sees (d2l's slice, or all but the tail)
    val: list[int]            # the held-out tokens validation perplexity is measured on
    source: str               # "after": the tokens after the slice; "tail": held out; "none"


def validation_split(corpus: Corpus, num_steps: int, val_fraction: float) -> Split:
    """The held-out text of a run. The tokens that follow the training slice
    when there are enough of them (d2l's run on the book: training is
    untouched); else the slice's last `val_fraction`, which training then
    does not see. What is measured each epoch is bounded: at most a twentieth of
    the tokens an epoch trains on (forward only, on one core: 2-3% of its time)
    and at most VAL_MAX_TOKENS."""
    need = num_steps + 1          # one row of one minibatch
    if not val_fraction:
        return Split(corpus.corpus, [], "none")
    if len(corpus.rest) >= max(need, min(VAL_MAX_TOKENS, val_fraction * corpus.num_tokens)):
        train, held = corpus.corpus, corpus.rest
        source = "after"
    else:
        n_val = int(round(val_fraction * corpus.num_tokens))
        if n_val < need:
            return Split(corpus.corpus, [], "none")
        cut = corpus.num_tokens - n_val
        train, held, source = corpus.corpus[:cut], corpus.corpus[cut:], "tail"
    return Split(train, held[:max(need, min(VAL_MAX_TOKENS, len(train) // 20))], source)


def val_batches(ids, batch_size, num_steps, random_iter):
    """The held-out tokens as minibatches, deterministically (no random offset
    or shuffle: every epoch is measured on the same text). Sequential: row i
    continues row i, so the state carries over, as in training; random: each
    minibatch starts from zeros (the caller resets the state). Fewer rows
    than batch_size when the text is short."""
    ids = torch.as_tensor(ids)
    rows = max(1, min(batch_size, (len(ids) - 1) // num_steps))
    n = ((len(ids) - 1) // rows) * rows
    Xs, Ys = ids[:n].reshape(rows, -1), ids[1:n + 1].reshape(rows, -1)
    for i in range(0, (Xs.shape[1] // num_steps) * num_steps, num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


# --------------------------------------------------------------- minibatches
def seq_data_iter_random(corpus, batch_size, num_steps, rng, offset=None):
    """d2l's random sampling: a random offset, shuffled subsequences.

    `offset` fixes the start offset instead of drawing it (the diagram's printout)."""
    if offset is None:
        offset = rng.randint(0, num_steps - 1)
    corpus = corpus[offset:]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    rng.shuffle(initial_indices)
    num_batches = num_subseqs // batch_size
    corpus = torch.as_tensor(corpus)   # once per epoch; no copy when it is one
    for i in range(0, batch_size * num_batches, batch_size):
        starts = initial_indices[i: i + batch_size]
        X = torch.stack([corpus[j: j + num_steps] for j in starts])
        Y = torch.stack([corpus[j + 1: j + 1 + num_steps] for j in starts])
        yield X, Y


def seq_data_iter_sequential(corpus, batch_size, num_steps, rng, offset=None):
    """d2l's sequential partitioning: row i of batch k+1 continues row i of batch k."""
    if offset is None:
        offset = rng.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    corpus = torch.as_tensor(corpus)   # a Python list costs ~0.3 ms per 10k tokens
    Xs = corpus[offset: offset + num_tokens]
    Ys = corpus[offset + 1: offset + 1 + num_tokens]
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


def batches(corpus, batch_size, num_steps, random_iter, rng, offset=None):
    """d2l's minibatches of `corpus` (token ids: a list, or a 1-D int64 tensor,
    which saves converting the list every epoch)."""
    fn = seq_data_iter_random if random_iter else seq_data_iter_sequential
    return fn(corpus, batch_size, num_steps, rng, offset)
