"""A RunContext in memory: `phaselab science`, the conformance suite and trainer tests run trainers with it.

It behaves as the worker's context does where a trainer can tell: checkpoints go through torch.save and
torch.load(weights_only=True) with the RNG states added, snapshots are held to their view's size cap, and
`evaluate` sees the same `Curves`.
"""

import io
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from workers import rng
from workers.phenomena.contract import Curves, Phenomenon


class SnapshotTooLarge(ValueError):
    pass


class MemoryRun:
    """- `stop_after`: `should_stop()` turns True once x ≥ this has been logged on the progress axis.
    - `checkpoint_every`: `checkpoint_due()` is True on every k-th call (0: never).
    - `resume_from`: a run whose last checkpoint (and the points logged up to it) this one starts from.
    """

    def __init__(self, phenomenon: Phenomenon | None = None, device: str = "cpu", stop_after: float | None = None,
                 checkpoint_every: int = 0, resume_from: "MemoryRun | None" = None):
        self.device = device
        self.phenomenon = phenomenon
        self.stop_after = stop_after
        self.checkpoint_every = checkpoint_every
        self.points: dict[tuple[str, float | None], dict[float, float]] = defaultdict(dict)
        self.snapshots: list[tuple[int, str, np.ndarray]] = []
        self.checkpoints: list[tuple[int, bytes, dict[tuple[str, float | None], dict[float, float]]]] = []
        self.progress: float | None = None
        self.logged_at: dict[float, float] = {}  # progress x -> time.perf_counter() when first logged
        self._due_calls = 0
        self._last: dict[tuple[str, float | None], float] = {}
        self._caps = {view.name: view.max_values for view in (phenomenon.snapshots if phenomenon else ())}
        self._progress_metrics = (
            {m.name for m in phenomenon.metrics if m.axis == phenomenon.progress_axis} if phenomenon else None
        )
        if resume_from is not None and resume_from.checkpoints:
            step, blob, points = resume_from.checkpoints[-1]
            self.checkpoints.append((step, blob, points))
            for key, values in points.items():
                self.points[key] = dict(values)
                self._last[key] = max(values, default=-np.inf)

    # -- the trainer's side ------------------------------------------------------------------------

    def log(self, x: float, values: Mapping[str, float], member: float | None = None) -> None:
        x = float(x)
        key_member = None if member is None else float(member)
        for name, value in values.items():
            points = self.points[(name, key_member)]
            if points and x <= self._last.get((name, key_member), -np.inf):
                continue  # x only grows along a series: a re-logged or earlier x keeps what was logged first
            points[x] = float(value)
            self._last[(name, key_member)] = x
            if self._progress_metrics is None or name in self._progress_metrics:
                self.progress = x if self.progress is None else max(self.progress, x)
                self.logged_at.setdefault(x, time.perf_counter())

    def snapshot(self, step: int, name: str, array: Any) -> None:
        matrix = np.array(array, dtype=float, copy=True)
        cap = self._caps.get(name)
        if self.phenomenon is not None and cap is None:
            raise KeyError(f"snapshot {name!r} is not one of the phenomenon's views {sorted(self._caps)}")
        if cap is not None and matrix.size > cap:
            raise SnapshotTooLarge(f"snapshot {name!r} has {matrix.size} values; its view allows {cap}")
        self.snapshots.append((int(step), name, matrix))

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.progress is not None and self.progress >= self.stop_after

    def checkpoint_due(self) -> bool:
        if not self.checkpoint_every:
            return False
        self._due_calls += 1
        return self._due_calls % self.checkpoint_every == 0

    def checkpoint(self, step: int, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(rng.with_rng(state), buffer)
        self.checkpoints.append((int(step), buffer.getvalue(), {k: dict(v) for k, v in self.points.items()}))

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        if not self.checkpoints:
            return None
        step, blob, _ = self.checkpoints[-1]
        return step, rng.without_rng(torch.load(io.BytesIO(blob), weights_only=True))

    # -- reading back --------------------------------------------------------------------------------

    def curves(self, finished: bool = False) -> Curves:
        series = {}
        for key, points in self.points.items():
            xs = np.array(sorted(points), dtype=float)
            series[key] = (xs, np.array([points[x] for x in xs], dtype=float))
        return Curves(series, finished=finished)

    def xs(self, name: str, member: float | None = None) -> list[float]:
        return sorted(self.points[(name, None if member is None else float(member))])

    def names(self) -> set[str]:
        return {name for name, _ in self.points}
