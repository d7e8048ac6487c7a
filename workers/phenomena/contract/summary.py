"""The run summary — transitions, claim verdicts, fits, final values — and the one function that computes it.

The worker (as the curves grow), `phaselab rescore` and `phaselab science` all call `evaluate`; the API
publishes `RunSummary` as the run's `summary`, and the UI reads that same shape.
"""

import math
import traceback
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from workers.phenomena.contract.claims import ClaimResult, Transition, Verdict
from workers.phenomena.contract.curves import Curves
from workers.phenomena.contract.fits import PowerLawFit, power_law
from workers.phenomena.contract.phenomenon import Phenomenon


class ClaimOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    text: str = ""
    verdict: Verdict
    value: float | None = None
    interval: tuple[float, float] | None = None
    detail: str = ""
    unit: str = ""
    expected: Verdict | None = None  # what the run's preset expects; None: no preset matches the config
    error: str | None = None  # the check raised: its message (the verdict is then "inconclusive")

    @property
    def as_expected(self) -> bool | None:
        return None if self.expected is None else self.verdict == self.expected


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="ignore")

    transitions: list[Transition] = []
    claims: list[ClaimOutcome] = []
    fits: dict[str, PowerLawFit] = {}  # chart id -> the fit drawn on it
    final: dict[str, float | None] = {}  # plain metric -> its last value
    preset: str | None = None  # the preset whose config this run has
    errors: list[str] = []  # detectors or fits that raised, with their message

    @field_validator("final")
    @classmethod
    def _finite(cls, final: dict[str, float | None]) -> dict[str, float | None]:
        return {k: v if v is None or math.isfinite(v) else None for k, v in final.items()}


def _raised(part: str, exc: Exception) -> str:
    return f"{part} raised {traceback.format_exception_only(exc)[-1].strip()}"


def evaluate(ph: Phenomenon, curves: Curves, config: Any) -> RunSummary:
    """Detect, fit and check `curves`; a part that raises is recorded with its message, the rest still run."""
    errors: list[str] = []
    try:
        transitions = list(ph.detect(curves, config))
    except Exception as exc:  # noqa: BLE001 - a detector's bug must show in the summary, not kill the run
        transitions = []
        errors.append(_raised("detect", exc))
    fits: dict[str, PowerLawFit] = {}
    for chart in ph.charts:
        if chart.fit is not None:
            try:
                fit = power_law(curves, chart.fit.metric)
            except Exception as exc:  # noqa: BLE001
                errors.append(_raised(f"fit of chart {chart.id}", exc))
                continue
            if fit is not None:
                fits[chart.id] = fit
    preset_name = ph.preset_of(config)
    preset = ph.presets[preset_name] if preset_name else None
    claims = []
    for claim in ph.claims:
        expected = preset.expected(claim.id) if preset else None
        try:
            result = claim.check(curves, config)
            if not isinstance(result, ClaimResult):
                raise TypeError(f"returned {type(result).__name__}, not a ClaimResult")
            error = None
        except Exception as exc:  # noqa: BLE001
            error = _raised(f"claim {claim.id}", exc)
            result = ClaimResult(verdict="inconclusive", detail=f"the check could not run: {error}")
        claims.append(ClaimOutcome(id=claim.id, text=claim.text, expected=expected, error=error,
                                   **{**result.model_dump(), "unit": result.unit or claim.unit}))
    final = {name: curves.last(name) for name in curves}
    return RunSummary(transitions=transitions, claims=claims, fits=fits, final=final, preset=preset_name,
                      errors=errors)
