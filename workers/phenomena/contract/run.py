"""What a trainer may touch: the run context the worker (or `phaselab science`, or a test) provides."""

from collections.abc import Mapping
from typing import Any, Protocol


class RunContext(Protocol):
    device: str  # "cpu" or "cuda"

    def log(self, x: float, values: Mapping[str, float], member: float | None = None) -> None:
        """Points at `x` on each metric's declared axis; `member` for a family metric (one curve per member).

        Along one series x only grows: a point at an x at or before the series' last one is ignored (a resumed
        run re-logs the steps after its checkpoint; they are already stored)."""

    def snapshot(self, step: int, name: str, array: Any) -> None:
        """A model-internals array at `step` for the view `name` (at most its max_values numbers)."""

    def should_stop(self) -> bool: ...

    def checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Save `state` (tensors and plain containers) as of `step`; the context adds the RNG states itself."""

    def checkpoint_due(self) -> bool: ...

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        """(step, state) of the last checkpoint, with the RNG states put back; None on a fresh run."""
