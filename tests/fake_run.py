"""An in-memory RunContext for trainer tests, and a helper that turns what it logged into `Curves`."""

import io
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from workers.phenomena.contract import Curves


class FakeRun:
    """Implements `contract.RunContext` in memory.

    - `stop_after_step`: `should_stop()` turns True once a step ≥ this has been logged (a kill, mid-run).
    - `checkpoint_every`: `checkpoint_due()` is True on every k-th call (0: never).
    - `resume_from`: a run whose last checkpoint this one restores, as a re-queued run would.
    Checkpoints go through `torch.save`/`torch.load(weights_only=True)` like the real context's.
    """

    def __init__(
        self,
        device: str = "cpu",
        stop_after_step: int | None = None,
        checkpoint_every: int = 0,
        resume_from: "FakeRun | None" = None,
    ):
        self.device = device
        self.stop_after_step = stop_after_step
        self.checkpoint_every = checkpoint_every
        self.metrics: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.snapshots: list[tuple[int, str, np.ndarray]] = []
        self.checkpoints: list[tuple[int, bytes]] = []
        self.last_step: int | None = None
        self.logged_at: dict[int, float] = {}  # step → time.perf_counter() when it was logged
        self._due_calls = 0
        if resume_from is not None and resume_from.checkpoints:
            self.checkpoints.append(resume_from.checkpoints[-1])

    def log(self, step: int, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self.metrics[name].append((int(step), float(value)))
        self.last_step = int(step)
        self.logged_at[int(step)] = time.perf_counter()

    def snapshot(self, step: int, name: str, array: Any) -> None:
        self.snapshots.append((int(step), name, np.array(array, copy=True)))

    def should_stop(self) -> bool:
        return (
            self.stop_after_step is not None
            and self.last_step is not None
            and self.last_step >= self.stop_after_step
        )

    def checkpoint_due(self) -> bool:
        if not self.checkpoint_every:
            return False
        self._due_calls += 1
        return self._due_calls % self.checkpoint_every == 0

    def checkpoint(self, step: int, state: dict[str, Any]) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.checkpoints.append((int(step), buffer.getvalue()))

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        if not self.checkpoints:
            return None
        import torch

        step, blob = self.checkpoints[-1]
        return step, torch.load(io.BytesIO(blob), weights_only=True)

    def steps(self, name: str) -> list[int]:
        return [step for step, _ in self.metrics[name]]


def curves_of(metrics: Mapping[str, list[tuple[int, float]]]) -> Curves:
    """{name: [(step, value), ...]} → {name: (x, y)} sorted by step, as the worker hands to detect/claims."""
    curves = {}
    for name, points in metrics.items():
        ordered = sorted(points)
        x = np.array([step for step, _ in ordered], dtype=float)
        y = np.array([value for _, value in ordered], dtype=float)
        curves[name] = (x, y)
    return curves
