"""A sweep on disk: RUNS/sweeps/NAME.json, rewritten atomically whenever a
trial starts or ends, so a driver that dies loses nothing already finished
and `--resume NAME` knows what is left."""
from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path

from .. import store
from ..config import RunConfig
from .plan import Trial

ENDED = ("finished", "stopped_early", "diverged", "failed")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def sweeps_dir(root: Path) -> Path:
    return Path(root) / "sweeps"


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class SweepRecord:
    def __init__(self, root: Path, name: str, settings: dict, trials: list[dict]):
        self.root, self.name = Path(root), name
        self.settings = settings      # executor, scheduler, ray_address, ...
        self.trials = trials          # one dict per trial (see `new`)
        self.lock = threading.Lock()

    @property
    def path(self) -> Path:
        return sweeps_dir(self.root) / f"{self.name}.json"

    @classmethod
    def new(cls, root, name, settings, trials: list[Trial]) -> "SweepRecord":
        if not NAME.match(name):
            raise ValueError(f"invalid sweep name {name!r}: letters, digits, - and _ only")
        rows = [{"trial": t.index, "config": {k: _jsonable(v) for k, v in t.varied.items()},
                 "cfg": t.config.to_dict(), "run_id": None, "status": "pending",
                 "perplexity": None, "val_perplexity": None, "epochs": 0, "message": "",
                 "pid": None} for t in trials]
        rec = cls(root, name, {**settings, "created": time.time()}, rows)
        rec.save()
        return rec

    @classmethod
    def load(cls, root, name) -> "SweepRecord":
        path = sweeps_dir(root) / f"{name}.json"
        if not NAME.match(str(name)) or not path.is_file():
            raise FileNotFoundError(f"no sweep named {name!r} in {sweeps_dir(root)}")
        data = store.read_json(path)
        return cls(root, name, data["settings"], data["trials"])

    def save(self):
        with self.lock:
            store.write_json(self.path, {"name": self.name, "settings": self.settings,
                                         "trials": self.trials})

    def pending(self) -> list[dict]:
        """Trials to run: never started, or cut short by the driver stopping."""
        return [t for t in self.trials if t["status"] not in ENDED]

    def config(self, row) -> RunConfig:
        return RunConfig.from_dict(row["cfg"])

    def update(self, row, **fields):
        with self.lock:
            row.update({k: _jsonable(v) for k, v in fields.items()})
        self.save()


def list_sweeps(root) -> list[str]:
    folder = sweeps_dir(root)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.stem for p in paths if NAME.match(p.stem)]
