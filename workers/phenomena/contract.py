"""The phenomenon contract: the plain types every `spec.py` fills in. No torch here (the backend reads it)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

# A run's curves: metric name -> (x, y), both 1-D float arrays sorted by x.
# x is the metric's `step` column: a training step, or the swept quantity (e.g. width p).
Curves = Mapping[str, tuple[np.ndarray, np.ndarray]]

Verdict = Literal["pass", "fail", "not_yet"]


class Paper(BaseModel):
    title: str
    authors: str
    year: int
    arxiv: str  # e.g. "2201.02177"
    figure: str  # which figure of the paper the phenomenon reproduces

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"


class Chart(BaseModel):
    """One chart: metrics (y) against the run's x (the `step` column)."""

    id: str
    title: str
    metrics: list[str]
    x_label: str = "step"
    y_label: str = ""
    log_x: bool = False
    log_y: bool = False
    # a vertical reference line drawn on the chart, e.g. p = n for double descent: (label, config field)
    reference: tuple[str, str] | None = None


class Transition(BaseModel):
    """A detected event, drawn as a labelled vertical mark at `step`."""

    id: str
    label: str
    step: int
    metric: str | None = None
    value: float | None = None


class ClaimResult(BaseModel):
    verdict: Verdict
    value: float | None = None  # the measured quantity the verdict rests on
    detail: str = ""


@dataclass(frozen=True)
class Claim:
    """A paper's claim as a predicate over the curves (and the run's config)."""

    id: str
    text: str
    check: Callable[[Curves, Any], ClaimResult]


class PhenomenonConfig(BaseModel):
    """Base of every phenomenon's `Config`: unknown knobs are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @property
    def total_steps(self) -> int:
        """The x value the run ends at (progress = last step / total_steps)."""
        raise NotImplementedError


class RunContext(Protocol):
    """What a trainer may touch; the worker provides it. See workers/context.py."""

    device: str  # "cpu" or "cuda"

    def log(self, step: int, values: Mapping[str, float]) -> None: ...
    def snapshot(self, step: int, name: str, array: Any) -> None: ...
    def should_stop(self) -> bool: ...
    def checkpoint(self, step: int, state: dict[str, Any]) -> None: ...
    def checkpoint_due(self) -> bool: ...
    def restore(self) -> tuple[int, dict[str, Any]] | None: ...
