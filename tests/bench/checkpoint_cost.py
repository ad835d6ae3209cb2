"""What checkpoints cost a d2l run: `python -m tests.bench.checkpoint_cost`.

d2l's settings (512 hidden, batch 32, num_steps 35, lr 1, theta 1, The Time
Machine's first 10,000 tokens: ~8 minibatches an epoch, so a checkpoint
several times a second). Trains the same epochs with and without
checkpoints, alternating, in ONE process: the trainer's part (the resume
state, numpy copies, the pickle a worker sends) and the run's part (freezing
the log, the writer thread writing the files) share the process and its GIL,
the worst case (CHARRNN_WORKER=thread); a worker process only pays the first.
Prints tokens/s of each, the ratio, and the CPU time each part took: the
training's share in each worker mode (in a worker process the training pays
only for copying and pickling its resume state; the server writes).
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from pathlib import Path

from charrnn import checkpoint, store
from charrnn.config import RunConfig
from charrnn.events import Checkpoint, Epoch
from charrnn.log import RunLog
from charrnn.threads import configure_threads
from charrnn.train import Trainer
from charrnn.worker import from_numpy, to_numpy


def train(epochs: int, with_checkpoints: bool, folder: Path) -> dict:
    cfg = RunConfig(num_epochs=epochs, device="cpu").validate()
    trainer = Trainer(cfg)
    log = RunLog(trainer.model.param_names, cfg.num_steps)
    writer = checkpoint.Writer(folder, store.quick_write)
    cost = {"trainer_s": 0.0, "worker_s": 0.0, "n": 0}

    def on_checkpoint(r):
        c0 = time.thread_time()
        msg = pickle.dumps(Checkpoint(to_numpy(r)))        # what a worker sends
        cost["worker_s"] += time.thread_time() - c0
        resume = from_numpy(pickle.loads(msg).resume)       # what the run receives
        resume["at"] = time.time()
        writer.submit(checkpoint.freeze(log), resume, {"checkpoint": checkpoint.summary(resume)})
        cost["trainer_s"] += time.thread_time() - c0
        cost["n"] += 1
    if with_checkpoints:
        trainer.on_checkpoint = on_checkpoint
    t0, c0 = time.perf_counter(), time.thread_time()
    tokens = 0
    for ev in trainer.events():
        if isinstance(ev, Epoch):
            tokens += ev.tokens
        try:
            log.add(ev)
        except TypeError:   # Start, End: not the log's
            pass
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    writer.close()
    if writer.error:   # a failed write costs less than a written one: no figures then
        raise SystemExit(f"checkpoint writer failed: {writer.error!r}")
    return {"tokens_per_s": tokens / wall, "wall": wall, "cpu_s": cpu,
            "writer_cpu_s": writer.cpu_s, "writer_user_s": writer.user_s,
            "written": writer.count, **cost}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    configure_threads(1, headless=True)
    off, on = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.rounds):
            off.append(train(a.epochs, False, Path(tmp) / f"off{i}"))
            on.append(train(a.epochs, True, Path(tmp) / f"on{i}"))
            print(f"round {i + 1}: off {off[-1]['tokens_per_s']:,.0f} tokens/s, on "
                  f"{on[-1]['tokens_per_s']:,.0f} tokens/s ({on[-1]['n']} checkpoints, "
                  f"{on[-1]['written']} written)", flush=True)
    a_off = statistics.median(r["tokens_per_s"] for r in off)
    a_on = statistics.median(r["tokens_per_s"] for r in on)
    wall = sum(r["wall"] for r in on)
    train_cpu = sum(r["cpu_s"] - r["trainer_s"] for r in on)   # the training thread's own
    ck_cpu = sum(r["trainer_s"] + r["writer_cpu_s"] for r in on)
    n = sum(r["n"] for r in on)
    print(f"CPU time: checkpoints {ck_cpu / train_cpu:.2%} of the training's "
          f"(trainer side {1e3 * sum(r['trainer_s'] for r in on) / n:.2f} ms and writer "
          f"{1e3 * sum(r['writer_cpu_s'] for r in on) / max(1, sum(r['written'] for r in on)):.2f}"
          f" ms per checkpoint; training {1e3 * train_cpu / n:.1f} ms per checkpoint); "
          f"{n / wall:.1f} checkpoints/s")
    worker = sum(r["worker_s"] for r in on)
    print(f"worker process (CHARRNN_WORKER=process, the default): the training pays "
          f"{worker / train_cpu:.2%} (its resume state copied and pickled, "
          f"{1e3 * worker / n:.2f} ms per checkpoint); the server's side "
          f"{(ck_cpu - worker) / train_cpu:.2%} runs beside it")
    user = sum(r["writer_user_s"] for r in on)
    written = max(1, sum(r["written"] for r in on))
    trainer = sum(r["trainer_s"] for r in on) - worker   # in a thread nothing is pickled
    print(f"worker thread (CHARRNN_WORKER=thread): the training pays at most "
          f"{(trainer + user) / train_cpu:.2%}: the run's side of each checkpoint "
          f"({1e3 * trainer / n:.2f} ms) and the writer's time in Python and numpy, which "
          f"holds the GIL ({1e3 * user / written:.2f} ms user CPU per checkpoint); its file "
          f"system calls ({1e3 * (sum(r['writer_cpu_s'] for r in on) - user) / written:.2f} ms "
          f"of kernel time) release the GIL and run on another core")
    ratios = [b["tokens_per_s"] / a["tokens_per_s"] for a, b in zip(off, on)]
    print(f"measured: tokens/s with checkpoints / without, per round: "
          f"{', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}, "
          f"medians of the rounds {a_on / a_off:.3f}")

if __name__ == "__main__":
    main()
