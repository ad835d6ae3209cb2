"""Where a run's training loop executes: a worker process (the default) or a
thread of the server, both driven by the same `drive()` loop.

Why a process (tests/bench/RESULTS.md, sections 5 and 6): in a thread, the
training loop and Streamlit's script runs share one GIL: building the Plotly
figures holds it for long stretches, and the training thread has to win it
back after every torch op. A worker process has its own interpreter. The run's thread in the server only supervises it: it
receives batches of events through a socket and writes them into the run's
log, and it sends the controls (pause, resume, step, stop) the other way.

The worker is `python -m charrnn.worker`, not a multiprocessing child: those
re-import the parent's `__main__`, and under Streamlit that is whichever page
script is running. One spare worker is kept started (`prewarm()`), so it has
imported torch and the engine before anyone presses Start; a run takes
it and a new spare starts in the background. Without `pass_fds` (Windows),
runs train in a thread.

`CHARRNN_WORKER=thread` keeps training in a thread (tests that patch the
engine in-process use it).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

from .events import Checkpoint, Done, End, Epoch, Failed, Ready, Sample, Start, Step, Weights

SEND_EVERY = 0.1      # seconds: steps are batched into one message
WEIGHTS_EVERY = 1.0   # seconds: how stale the weights the Generate page sees may be
PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def mode() -> str:
    m = os.environ.get("CHARRNN_WORKER", "process").strip().lower()
    if m == "thread" or os.name != "posix":
        return "thread"
    return "process"


# ------------------------------------------------------------------ controls
class ThreadControl:
    """Pause / step / stop for a loop in this process (threading.Events)."""

    def __init__(self):
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._step_once = threading.Event()
        self.sent = 0   # controls given; the loop sees each at once (see `seen`)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def seen(self) -> int:
        return self.sent

    def pause(self):
        self.sent += 1
        self._resume.clear()

    def resume(self):
        self.sent += 1
        self._step_once.clear()
        self._resume.set()

    def step(self):
        self.sent += 1
        self._step_once.set()
        self._resume.set()

    def stop(self):
        self.sent += 1
        self._stop.set()
        self._resume.set()

    def checkpoint(self, on_block=None) -> tuple[bool, float]:
        """Between minibatches: block while paused. (go on?, seconds paused)."""
        paused = 0.0
        if not self._resume.is_set():
            if on_block:
                on_block()
            told = self.sent
            t0 = time.perf_counter()
            while not self._resume.wait(0.2):
                if self._stop.is_set():
                    return False, time.perf_counter() - t0
                if self.sent != told and on_block:   # Resume then Pause: answered again
                    told = self.sent
                    on_block()
            paused = time.perf_counter() - t0
        if self._step_once.is_set():  # one step was granted: block before the next
            self._step_once.clear()
            self._resume.clear()
        return not self._stop.is_set(), paused


class ProcessControl:
    """The server's side: controls become messages to the worker process."""

    def __init__(self):
        self.conn = None
        self._stop = False
        self._early: list = []  # controls given before the worker was attached
        self._lock = threading.Lock()
        self.sent = 0           # controls given; the worker counts those it read

    @property
    def stopped(self) -> bool:
        return self._stop

    def attach(self, conn):
        with self._lock:
            self.conn = conn
            early, self._early = self._early, []
        for what in early:
            self._send(what)

    def detach(self):
        with self._lock:
            self.conn = None

    def _send(self, what):
        with self._lock:
            self.sent += 1
            if self.conn is None:
                self._early.append(what)
                return
            try:
                self.conn.send(what)
            except OSError:  # the worker is gone; the supervisor reports it
                pass

    def pause(self):
        self._send("pause")

    def resume(self):
        self._send("resume")

    def step(self):
        self._send("step")

    def stop(self):
        self._stop = True
        self._send("stop")


class RemoteControl:
    """The worker's side: reads the server's messages between minibatches.
    The server going away (end of file) counts as stop."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.paused = self.granted = self.stopped = False
        self.seen = 0   # the server's controls read so far (its `sent`)

    def _handle(self, msg):
        self.seen += 1
        if msg == "pause":
            self.paused = True
        elif msg == "resume":
            self.paused = self.granted = False
        elif msg == "step":
            self.granted = True
        elif msg == "stop":
            self.stopped = True

    def _read(self, timeout=0.0):
        try:
            while self.conn.poll(timeout):
                self._handle(self.conn.recv())
                timeout = 0.0
        except (EOFError, OSError):
            self.stopped = True

    def checkpoint(self, on_block=None) -> tuple[bool, float]:
        self._read()
        paused = 0.0
        if self.paused and not self.granted and not self.stopped:
            if on_block:
                on_block()
            told = self.seen
            t0 = time.perf_counter()
            while self.paused and not self.granted and not self.stopped:
                self._read(0.2)
                if self.seen != told and on_block and self.paused and not (
                        self.granted or self.stopped):   # Resume then Pause: answered again
                    told = self.seen
                    on_block()
            paused = time.perf_counter() - t0
        self.granted = False  # a granted step is used up; still paused after it
        return not self.stopped, paused


def drive(trainer, ctl, emit, on_block=None) -> bool:
    """Run `trainer.events()` to its end, emitting every event. Returns False
    when stopped early.

    Adds what only the consumer can measure: wall-clock time without pauses
    (`wall` on steps, `time` on epochs) and the epoch's tokens/s over that
    wall time, so the figure the app shows and its ETA include everything
    between steps (sending, the GIL, another process on the core)."""
    def blocked():   # paused: on disk as it is now, and the page shows it
        trainer.checkpoint_now(controls=ctl.seen)
        if on_block:
            on_block()
    t_start = time.perf_counter() - trainer.wall   # a resumed run's clock goes on
    paused = 0.0
    last_epoch_wall = trainer.wall
    for ev in trainer.events():
        wall = trainer.wall = time.perf_counter() - t_start - paused
        if isinstance(ev, Step):
            ev.wall = wall
        elif isinstance(ev, Epoch):
            dt = wall - last_epoch_wall
            last_epoch_wall = wall
            ev.compute_tokens_per_s = ev.tokens_per_s
            if dt > 0 and ev.tokens:
                ev.tokens_per_s = ev.tokens / dt
            ev.time = wall
        emit(ev)
        if isinstance(ev, Step):
            go_on, p = ctl.checkpoint(blocked)
            paused += p
            if not go_on:
                trainer.checkpoint_now()   # a stopped run can go on from here
                return False
    return True


# ------------------------------------------------------------------ the worker
def _weights(model) -> Weights:
    # numpy, not tensors: plain pickles, the same on any device
    return Weights({k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()})


class Outbox:
    """Events leave on a thread of their own, at most every SEND_EVERY (or at
    once when urgent), all that piled up in one message. A server busy serving
    thirty pages reads slowly, and training must not wait for it on a full
    socket (tests/load/ws_watchers.py)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._items: list = []
        self._urgent = self._closed = False
        self.failed: BaseException | None = None
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def put(self, item, urgent=False):
        if self.failed is not None:
            raise BrokenPipeError("the server has gone")
        with self._cv:
            self._items.append(item)
            if urgent:
                self._urgent = True
                self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                if not (self._urgent or self._closed):
                    self._cv.wait(SEND_EVERY)
                batch, self._items, self._urgent = self._items, [], False
                closing = self._closed
            if batch:
                try:
                    self.conn.send(batch)
                except OSError as exc:
                    self.failed = exc
                    return
            if closing:
                return

    def close(self):
        """Send what is left, then stop."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join()


def to_numpy(resume: dict | None) -> dict | None:
    """A resume state with numpy arrays for tensors: plain pickles."""
    if resume is None:
        return None
    state = resume["state"]
    return {**resume, "weights": {k: v.numpy() for k, v in resume["weights"].items()},
            "state": None if state is None else [x.numpy() for x in state]}


def from_numpy(resume: dict | None) -> dict | None:
    import torch
    if resume is None:
        return None
    state = resume["state"]
    return {**resume, "weights": {k: torch.as_tensor(v) for k, v in resume["weights"].items()},
            "state": None if state is None else [torch.as_tensor(x) for x in state]}


def serve(conn: Connection, cfg, settings: dict, resume: dict | None = None):
    """Train `cfg` (from `resume` when given), sending batches of events
    (Ready, the Trainer's events, Checkpoints and Weights, then Done or
    Failed) and obeying the server's controls."""
    for k in [k for k in os.environ if k.startswith("CHARRNN_")]:
        del os.environ[k]  # the server's settings now, not when this spare started
    os.environ.update(settings)
    out = Outbox(conn)
    last_weights = time.perf_counter()
    try:
        from .threads import configure_threads
        from .train import Trainer
        if _cuda_warm is not None:   # one thread at a time inits CUDA and captures graphs
            _cuda_warm.join()
        configure_threads()
        trainer = Trainer(cfg, resume=from_numpy(resume))
        trainer.on_checkpoint = lambda r: out.put(Checkpoint(to_numpy(r)))
        out.put(Ready(list(trainer.vocab.idx_to_token), list(trainer.model.param_names)),
                urgent=True)

        def emit(ev):
            nonlocal last_weights
            out.put(ev, urgent=isinstance(ev, (Start, End)))
            now = time.perf_counter()
            if isinstance(ev, (Epoch, Sample)) and now - last_weights >= WEIGHTS_EVERY:
                out.put(_weights(trainer.model))
                last_weights = now

        def on_block():  # paused: the page shows the latest step and weights
            out.put(_weights(trainer.model), urgent=True)

        finished = drive(trainer, RemoteControl(conn), emit, on_block)
        out.put(_weights(trainer.model))
        out.put(Done(finished), urgent=True)
        out.close()
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the server is gone: nobody to tell
    except BaseException as exc:  # reported, never a silent exit
        out.close()
        try:
            conn.send([Failed(f"{exc.__class__.__name__}: {exc}",
                               getattr(exc, "i18n_reason", None), traceback.format_exc())])
        except OSError:
            pass


_cuda_warm: threading.Thread | None = None


def _warm_cuda():
    """A spare on a machine with a CUDA GPU makes its CUDA context and cuBLAS
    handle while it waits: 1-2 s that a run on the GPU would otherwise spend
    between Start and its first chart point."""
    import torch
    if torch.cuda.is_available():
        a = torch.ones((8, 8), device="cuda")
        (a @ a).sum().item()


def _start_cuda_warm():
    global _cuda_warm
    _cuda_warm = threading.Thread(target=_warm_cuda, name="cuda-warm", daemon=True)
    _cuda_warm.start()


def main(argv=None):
    """`python -m charrnn.worker FD`: import everything, wait for one run."""
    argv = sys.argv[1:] if argv is None else argv
    conn = Connection(int(argv[0]))
    from . import train  # noqa: F401  (warm: the import is the slow part)
    _start_cuda_warm()
    try:
        cfg, settings, resume = conn.recv()
    except (EOFError, OSError):
        return 0  # a spare that was never used: the server has gone
    try:  # `top` and `ps -o comm` say what this process is
        with open("/proc/self/comm", "w") as f:
            f.write("charrnn-train")
    except OSError:
        pass
    serve(conn, cfg, settings, resume)
    conn.close()
    return 0


# ------------------------------------------------------------------ the server's side
# A process starts with the nice value of the thread that forked it, and the
# server's own threads may run at a lower priority than training
# (charrnn/ui/serve.py, favour_training). Workers are therefore forked by one
# thread that keeps the priority the server started with.
_launcher: ThreadPoolExecutor | None = None


def start_launcher():
    """Start the thread that forks workers, now, at this thread's priority."""
    global _launcher
    if _launcher is None:
        _launcher = ThreadPoolExecutor(1, thread_name_prefix="worker-launcher")
        _launcher.submit(int).result()   # the pool makes its thread on first use


def _popen(*args, **kwargs) -> subprocess.Popen:
    if _launcher is None:
        return subprocess.Popen(*args, **kwargs)
    return _launcher.submit(subprocess.Popen, *args, **kwargs).result()


class Worker:
    """A started `python -m charrnn.worker` and the server's end of its socket."""

    def __init__(self):
        here, there = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_PARENT)] + [p for p in [env.get("PYTHONPATH")] if p])
        self.proc = _popen(
            [sys.executable, "-m", "charrnn.worker", str(there.fileno())],
            pass_fds=[there.fileno()], stdin=subprocess.DEVNULL, cwd=str(PACKAGE_PARENT),
            env=env)
        there.close()
        self.conn = Connection(here.detach())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait(5)

    def close(self):
        self.conn.close()


_spare: Worker | None = None
_spare_lock = threading.Lock()


def prewarm():
    """Have one started worker waiting (it imports torch in the background)."""
    global _spare
    with _spare_lock:
        if _spare is None or not _spare.alive():
            try:
                _spare = Worker()
            except OSError:
                _spare = None  # the next run starts its own (and reports any error)


def start_worker(cfg, resume: dict | None = None) -> Worker:
    """A worker training `cfg` (from `resume`, a trainer's resume_state, when
    given): the spare if there is one, then a new spare."""
    global _spare
    with _spare_lock:
        w, _spare = _spare, None
    if w is None or not w.alive():
        w = Worker()
    settings = {k: v for k, v in os.environ.items() if k.startswith("CHARRNN_")}
    w.conn.send((cfg, settings, to_numpy(resume)))
    threading.Thread(target=prewarm, name="worker-prewarm", daemon=True).start()
    return w


if __name__ == "__main__":
    sys.exit(main())
