"""Text generation: d2l's predict_ch8 (warm-up over the prefix, then greedy),
plus temperature sampling and the top-k next-character probabilities."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch


@dataclass
class Prediction:
    prefix: str                       # the prefix as the model saw it
    text: str                         # prefix + generated characters
    unknown: list[str] = field(default_factory=list)  # prefix chars not in the vocab
    top_chars: list[list[str]] = field(default_factory=list)   # per generated step
    top_probs: list[list[float]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)           # the generated tokens

    @property
    def generated(self) -> str:
        return self.text[len(self.prefix):]


def normalise_prefix(prefix: str, tokens: str) -> str:
    """With d2l tokens the model only knows lower-case letters and spaces."""
    if tokens == "d2l":
        return re.sub("[^A-Za-z]+", " ", prefix).lower()
    return prefix


@torch.no_grad()
def predict(prefix, num_preds, net, vocab, device, *, tokens="raw",
            temperature: float | None = None, top_k: int = 0,
            generator: torch.Generator | None = None, seed: int | None = None) -> Prediction:
    """predict_ch8 of the seed; temperature None or 0 means greedy (argmax).
    With a temperature, `seed` (or a `generator`) makes the sample reproducible."""
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    prefix = normalise_prefix(prefix, tokens) or " "
    unknown = sorted({c for c in prefix if c not in vocab.token_to_idx})
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    one_token = getattr(net, "step_logits", None)   # the same floats, fewer ops

    def advance(state):
        if one_token is not None:
            return one_token(outputs[-1], state)
        return net(torch.tensor([outputs[-1]], device=device).reshape((1, 1)), state)

    for y in prefix[1:]:  # warm-up: only the state changes
        _, state = advance(state)
        outputs.append(vocab[y])
    pred = Prediction(prefix, "", unknown)
    for _ in range(num_preds):
        y, state = advance(state)
        logits = y.reshape(-1).float()
        if temperature:
            probs = torch.softmax(logits / temperature, 0)
            nxt = int(torch.multinomial(probs.cpu(), 1, generator=generator))
        else:
            probs = torch.softmax(logits, 0) if top_k else None
            nxt = int(logits.argmax())
        if top_k:
            p, i = probs.topk(min(top_k, probs.numel()))
            pred.top_chars.append(vocab.to_tokens(i.tolist()))
            pred.top_probs.append(p.tolist())
        outputs.append(nxt)
    pred.tokens = [vocab.idx_to_token[i] for i in outputs[len(prefix):]]
    pred.text = "".join(vocab.idx_to_token[i] for i in outputs)
    # <unk> is five characters: keep the prefix slice honest
    pred.prefix = "".join(vocab.idx_to_token[i] for i in outputs[:len(prefix)])
    return pred
