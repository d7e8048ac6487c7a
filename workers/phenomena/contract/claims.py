"""What a run is checked for: detected transitions, the paper's claims and their verdicts, and presets that
say which verdicts they expect."""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from workers.phenomena.contract.curves import Curves

Verdict = Literal[
    "pass",  # the run shows what the claim says (value measured)
    "fail",  # the run contradicts it (value measured)
    "not_yet",  # a live run has not got far enough to tell
    "inconclusive",  # the run cannot decide (too short, too noisy, the check raised): `detail` says why
    "not_applicable",  # this configuration is not what the claim is about (a ridge for "peak at p = n")
]
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "not_yet", "inconclusive", "not_applicable")


class Transition(BaseModel):
    """A detected event, drawn as a labelled vertical mark at x on the charts of its axis."""

    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    x: float = Field(validation_alias=AliasChoices("x", "step"))  # summaries before v2 said "step"
    axis: str = "step"
    metric: str | None = None
    value: float | None = None
    member: float | None = None
    charts: list[str] | None = None  # None: every chart drawn against `axis`


class ClaimResult(BaseModel):
    """A claim's verdict on a run; a pass or a fail always carries the value it rests on."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    value: float | None = None
    interval: tuple[float, float] | None = None  # 95 % interval of `value`, where one exists
    detail: str = ""
    unit: str | None = None  # of `value`, when it is not the claim's usual unit

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        return value if value is None or math.isfinite(value) else None

    @model_validator(mode="after")
    def _decided_has_value(self) -> "ClaimResult":
        if self.verdict in ("pass", "fail") and self.value is None:
            raise ValueError(f"a {self.verdict} verdict must carry its measured value")
        return self


@dataclass(frozen=True)
class Claim:
    """A paper's claim as a predicate over the curves (and the run's config)."""

    id: str
    text: str
    check: Callable[[Curves, Any], ClaimResult]
    unit: str = ""  # of the measured value: "steps", "× n", "slope"


@dataclass(frozen=True)
class Preset:
    """A named configuration, saying what it demonstrates and which verdict each claim should reach on it.

    Claims not named in `expect` are expected to pass. A contrast preset expects a claim to fail (no weight
    decay: no late generalization) or not to apply, and the UI then says "as the paper predicts".
    """

    config: Any  # the phenomenon's Config
    title: str
    demonstrates: str
    expect: Mapping[str, Verdict] = field(default_factory=dict)

    def expected(self, claim_id: str) -> Verdict:
        return self.expect.get(claim_id, "pass")
