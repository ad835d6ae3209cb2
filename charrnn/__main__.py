"""`python -m charrnn train ...`: the engine headless, with d2l's defaults.

Without --json: a progress bar and a readable summary. With --json: one JSON
object per line (per epoch, then a final one). Exit 0 only for a finished run;
bad input: non-zero, one line on stderr, no traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from .config import ConfigError, RunConfig
from .data import CorpusError
from .model import DeviceError
from .threads import configure_threads

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        sys.stderr.write(f"charrnn: error: {message}\n")
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    d = RunConfig()
    p = _Parser(prog="python -m charrnn", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train the RNN (defaults are d2l 8.5's)")
    t.add_argument("--corpus", default=d.corpus,
                   help="timemachine (default), fallback, or a path to a UTF-8 text file")
    t.add_argument("--tokens", choices=["d2l", "raw"], default=None,
                   help="d2l: letters only, lower case (default for the book); "
                        "raw: every character (default for your own file)")
    t.add_argument("--max-tokens", default=d.max_tokens, help="-1 = all")
    t.add_argument("--model", choices=["scratch", "rnn", "gru", "lstm"], default=d.model)
    t.add_argument("--num-hiddens", default=d.num_hiddens)
    t.add_argument("--batch-size", default=d.batch_size)
    t.add_argument("--num-steps", default=d.num_steps)
    t.add_argument("--lr", default=d.lr)
    t.add_argument("--num-epochs", default=d.num_epochs)
    t.add_argument("--theta", default=str(d.theta), help="clipping threshold; 0 or none = off")
    t.add_argument("--random-iter", action="store_true", help="random partitioning")
    t.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--seed", default=d.seed)
    t.add_argument("--prefix", default=d.prefix)
    t.add_argument("--activation", choices=["tanh", "relu"], default=d.activation)
    t.add_argument("--no-detach", action="store_true",
                   help="backprop through the epoch's earlier minibatches (d2l exercise)")
    t.add_argument("--threads", type=int, default=None,
                   help="CPU cores to train on (default: 2 where the machine has them; "
                        "the scratch model splits each minibatch's rows over them)")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def config_from_args(a) -> RunConfig:
    corpus = a.corpus
    tokens = a.tokens or ("d2l" if corpus in ("timemachine", "fallback") else "raw")
    return RunConfig.from_dict(dict(
        corpus=corpus, tokens=tokens, max_tokens=a.max_tokens, model=a.model,
        num_hiddens=a.num_hiddens, batch_size=a.batch_size, num_steps=a.num_steps,
        lr=a.lr, num_epochs=a.num_epochs, theta=a.theta, random_iter=a.random_iter,
        device=a.device, seed=a.seed, prefix=a.prefix, activation=a.activation,
        detach=not a.no_detach))


def _bar(done, total, width=30):
    n = int(width * done / max(total, 1))
    return "[" + "#" * n + "." * (width - n) + "]"


def _emit(obj):
    print(json.dumps(obj, allow_nan=True), flush=True)


def train(a) -> int:
    from .events import End, Epoch, Start
    from .train import Trainer  # torch import after argument errors are reported

    cfg = config_from_args(a)
    configure_threads(a.threads, headless=True)
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    ppl, speed, status, message = math.nan, 0.0, "finished", ""
    for ev in trainer.events():
        if isinstance(ev, Start):
            if ev.warning:
                sys.stderr.write(f"charrnn: warning: {ev.warning}\n")
            if not a.json:
                print(f"corpus: {ev.corpus} ({ev.num_tokens:,} tokens, vocabulary "
                      f"{ev.vocab_size}), model {cfg.model} with {ev.num_params:,} "
                      f"parameters on {ev.device} ({ev.cores} CPU core"
                      f"{'s' if ev.cores > 1 else ''})", file=sys.stderr)
        elif isinstance(ev, Epoch):
            ppl, speed = ev.perplexity, ev.tokens_per_s
            if a.json:
                _emit({"epoch": ev.epoch, "perplexity": ppl, "tokens_per_s": speed})
            else:
                sys.stderr.write(f"\r{_bar(ev.epoch, cfg.num_epochs)} epoch "
                                 f"{ev.epoch}/{cfg.num_epochs}  perplexity {ppl:.2f}  "
                                 f"{speed:,.0f} tokens/s   ")
                sys.stderr.flush()
        elif isinstance(ev, End):
            status, message = ev.status, ev.message
    seconds = time.perf_counter() - t0
    sample = trainer.predict().text
    if a.json:
        _emit({"final": True, "status": status, "perplexity": ppl, "tokens_per_s": speed,
               "vocab_size": len(trainer.vocab), "num_tokens": trainer.corpus.num_tokens,
               "sample": sample, "seconds": seconds, "message": message})
    else:
        sys.stderr.write("\n")
        print(f"status {status}{': ' + message if message else ''}")
        print(f"perplexity {ppl:.2f}, {speed:,.0f} tokens/s on {trainer.device}, "
              f"{seconds:.1f} s")
        print(sample)
        print(trainer.predict("traveller").text)
    return 0 if status == "finished" else EXIT_DIVERGED


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return train(args)
    except ConfigError as exc:  # also name the flag the user typed
        text = str(exc)
        field = text.split(" ", 1)[0]
        flag = f"--{field.replace('_', '-')}: " if field in vars(args) else ""
        sys.stderr.write(f"charrnn: error: {flag}{text}\n")
        return EXIT_BAD_INPUT
    except (CorpusError, DeviceError) as exc:
        sys.stderr.write(f"charrnn: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("\ncharrnn: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
