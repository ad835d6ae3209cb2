"""What a training run reports, as typed events: the one vocabulary that the
trainer yields, the worker sends, the run applies, the store saves and the
CLI prints.

`Trainer.events()` yields Start, then Step (and Snapshot, Spectral) per
minibatch, Epoch and Sample per epoch, and one End. A worker process adds
its own: Ready before training, Weights now and then, Done or Failed last.
Plain dataclasses: they pickle across the worker's socket as they are.
A new probe is one dataclass here, yielded by the trainer and applied by the
run (charrnn/runs.py), stored by the log (charrnn/log.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Start:
    """The corpus and model a run trains on (kept as the run's `info`)."""
    vocab_size: int
    num_tokens: int
    corpus: str
    warning: str | None
    device: str
    cores: int
    num_params: int
    param_names: list[str]
    step_mode: str = "eager"       # or "cuda_graph": one replay per minibatch (cuda_graph.py)
    # on a CUDA GPU without the captured step: why ({"key", "error", "message"})
    step_note: dict | None = None
    train_tokens: int = 0          # what training sees (all but a held-out tail)
    val_source: str = "none"       # "after" the training slice, a held-out "tail", or none
    val_tokens: int = 0            # measured each epoch (charrnn.data.validation_split)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Step:
    """One minibatch's numbers (after ONE backward and the clipping)."""
    step: int
    epoch: int
    loss: float
    grad_norm: float            # before clipping
    grad_norm_clipped: float    # after: min(grad_norm, theta)
    clipped: bool
    param_norms: list[float]    # per parameter, in param_names' order
    tokens_per_s: float
    time: float                 # training seconds so far
    wall: float | None = None   # wall seconds without pauses, added by the consumer (drive)


@dataclass
class Snapshot:
    """What the probe lanes saw in one minibatch."""
    step: int
    epoch: int
    lanes: list[int]
    H: np.ndarray          # (lanes, num_steps, num_hiddens) float16
    H0: np.ndarray         # (lanes, num_hiddens) the state entering the minibatch
    input_ids: np.ndarray  # (lanes, num_steps)
    target_ids: np.ndarray
    inputs: list[list[str]]
    targets: list[list[str]]
    dH: np.ndarray         # (num_steps,) ||dL/dH_t|| over the whole batch
    C: np.ndarray | None = None   # LSTM: cell states, like H; None for the other models


@dataclass
class Spectral:
    """W_hh's spectral radius and largest singular value at a step."""
    step: int
    radius: float
    sigma_max: float


@dataclass
class Epoch:
    epoch: int
    perplexity: float
    tokens: int
    tokens_per_s: float
    time: float
    step: int
    # the trainer's own tokens/s, kept when the consumer replaces tokens_per_s
    # with its wall-clock figure (drive)
    compute_tokens_per_s: float | None = None
    val_perplexity: float = float("nan")   # on the held-out text; NaN: none


@dataclass
class Sample:
    """Text the model generated after an epoch (predict_ch8)."""
    epoch: int
    step: int
    prefix: str
    text: str
    generated: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class End:
    """How the run ended: "finished" or "diverged" (with its reason's fields,
    so a UI can say it in its own language)."""
    status: str
    message: str
    reason: dict | None = None


@dataclass
class Checkpoint:
    """Where the trainer can go on from exactly (Trainer.resume_state: weights,
    step, data order, carried state); None where it cannot (a GPU's batched
    flush). The run writes it to disk with its log."""
    resume: dict | None


# ------------------------------------------------- a worker process's own
@dataclass
class Ready:
    """The worker built the trainer: the vocabulary and the parameters' names."""
    idx_to_token: list[str]
    param_names: list[str]


@dataclass
class Weights:
    """The model's weights as numpy arrays (plain pickles, any device)."""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Done:
    finished: bool   # False: stopped before the end


@dataclass
class Failed:
    """An exception in the worker, reported rather than a silent exit."""
    message: str
    reason: dict | None
    traceback: str


TrainerEvent = Start | Step | Snapshot | Spectral | Epoch | Sample | End
WorkerEvent = TrainerEvent | Checkpoint | Ready | Weights | Done | Failed
