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

from .config import ConfigError
from .data import CorpusError
from .model import DeviceError
from .options import add_train_options, config_from_args
from .settings import BY_NAME
from .threads import configure_threads

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        sys.stderr.write(f"charrnn: error: {message}\n")
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The options of `train`, one per row of the settings table."""
    p = _Parser(prog="python -m charrnn", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train the RNN (defaults are d2l 8.5's)")
    add_train_options(t)
    t.add_argument("--threads", type=int, default=None,
                   help="CPU cores to train on (default: 2 where the machine has them; "
                        "the scratch model splits each minibatch's rows over them)")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    from .sweep.cli import add_sweep_parser
    add_sweep_parser(sub)
    return p


def _bar(done, total, width=30):
    n = int(width * done / max(total, 1))
    return "[" + "#" * n + "." * (width - n) + "]"


def finite_or_null(obj):
    """NaN and infinities become None (JSON null): strict parsers (jq,
    JavaScript's JSON.parse) refuse Python's NaN and Infinity."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(v) for v in obj]
    return obj


def _emit(obj):
    print(json.dumps(finite_or_null(obj), allow_nan=False), flush=True)


def train(a) -> int:
    from .events import End, Epoch, Start
    from .train import Trainer  # torch import after argument errors are reported

    cfg = config_from_args(a)
    configure_threads(a.threads, headless=True)
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    ppl, val, speed, status, message = math.nan, math.nan, 0.0, "finished", ""
    train_seconds, step_mode, split = 0.0, "", {}
    for ev in trainer.events():
        if isinstance(ev, Start):
            step_mode = ev.step_mode
            split = {"val_source": ev.val_source, "val_tokens": ev.val_tokens}
            if ev.warning:
                sys.stderr.write(f"charrnn: warning: {ev.warning}\n")
            if ev.step_note:   # a CUDA GPU without the captured step
                sys.stderr.write(f"charrnn: note: {ev.step_note['message']}\n")
            if not a.json:
                print(validation_line(ev), file=sys.stderr)
                print(f"corpus: {ev.corpus} ({ev.num_tokens:,} tokens, vocabulary "
                      f"{ev.vocab_size}), model {cfg.model} with {ev.num_params:,} "
                      f"parameters on {ev.device} ({ev.cores} CPU core"
                      f"{'s' if ev.cores > 1 else ''})", file=sys.stderr)
        elif isinstance(ev, Epoch):
            ppl, speed, train_seconds = ev.perplexity, ev.tokens_per_s, ev.time
            val = ev.val_perplexity
            if a.json:
                _emit({"epoch": ev.epoch, "perplexity": ppl, "val_perplexity": val,
                       "tokens_per_s": speed})
            else:
                sys.stderr.write(f"\r{_bar(ev.epoch, cfg.num_epochs)} epoch "
                                 f"{ev.epoch}/{cfg.num_epochs}  perplexity {ppl:.2f}  "
                                 f"validation {val:.2f}  {speed:,.0f} tokens/s   ")
                sys.stderr.flush()
        elif isinstance(ev, End):
            status, message = ev.status, ev.message
    seconds = time.perf_counter() - t0
    sample = trainer.predict().text
    if a.json:
        _emit({"final": True, "status": status, "perplexity": ppl, "val_perplexity": val,
               **split, "tokens_per_s": speed,
               "vocab_size": len(trainer.vocab), "num_tokens": trainer.corpus.num_tokens,
               "sample": sample, "seconds": seconds, "train_seconds": train_seconds,
               "step_mode": step_mode, "message": message})
    else:
        sys.stderr.write("\n")
        print(f"status {status}{': ' + message if message else ''}")
        print(f"perplexity {ppl:.2f} (validation {val:.2f}), {speed:,.0f} tokens/s on "
              f"{trainer.device}, "
              f"{seconds:.1f} s")
        print(sample)
        print(trainer.predict("traveller").text)
    return 0 if status == "finished" else EXIT_DIVERGED


def validation_line(start) -> str:
    """Which text validation perplexity is measured on, in one line."""
    n, src = start.val_tokens, start.val_source
    if src == "after":
        return f"validation: the {n:,} tokens after the training slice (held out)"
    if src == "tail":
        return (f"validation: the text's last {start.num_tokens - start.train_tokens:,} "
                f"tokens are held out (training sees the first {start.train_tokens:,}); "
                f"{n:,} of them are measured each epoch")
    return "validation: none (no held-out text)"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sweep":
            from .sweep.cli import sweep
            return sweep(args)
        return train(args)
    except ConfigError as exc:  # also name the flag the user typed
        text = str(exc)
        field = BY_NAME.get(text.split(" ", 1)[0])
        flag = f"{field.cli}: " if field is not None and field.cli else ""
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
