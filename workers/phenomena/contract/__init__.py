"""The phenomenon contract: the typed parts every `spec.py` assembles into one `Phenomenon`. No torch here
(the backend reads it).

A phenomenon declares its axes (the training step, any swept quantity), its families (one curve per member:
width, lr, seed), its metrics (each on an axis, maybe per family member), charts over those axes, snapshot
views, a detector, claims with honest verdicts, presets that say which verdicts they expect, and the derived
values its reference lines are drawn at. `check` proves the parts agree when the catalogue loads.
"""

from workers.phenomena.contract.axes import STEP, Axis, Family, Metric, Role, Scale
from workers.phenomena.contract.charts import Chart, ChartKind, FitLine, Reference, SnapshotKind, SnapshotView
from workers.phenomena.contract.claims import VERDICTS, Claim, ClaimResult, Preset, Transition, Verdict
from workers.phenomena.contract.cost import Cost, OverBudget, duration, over_budget, run_seconds
from workers.phenomena.contract.curves import Curves, Series
from workers.phenomena.contract.fits import PowerLawFit, power_law
from workers.phenomena.contract.phenomenon import (
    Paper,
    Phenomenon,
    PhenomenonConfig,
    PhenomenonError,
    check,
    problems,
)
from workers.phenomena.contract.run import RunContext
from workers.phenomena.contract.summary import ClaimOutcome, RunSummary, evaluate

__all__ = [
    "STEP", "VERDICTS", "Axis", "Chart", "ChartKind", "Claim", "ClaimOutcome", "ClaimResult", "Cost", "Curves",
    "Family", "FitLine", "Metric", "OverBudget", "Paper", "Phenomenon", "PhenomenonConfig", "PhenomenonError",
    "PowerLawFit", "Preset", "Reference", "Role", "RunContext", "RunSummary", "Scale", "Series", "SnapshotKind",
    "SnapshotView", "Transition", "Verdict", "check", "duration", "evaluate", "over_budget", "power_law", "problems",
    "run_seconds",
]
