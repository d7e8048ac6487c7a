"""The one typed object each `spec.py` exports (`PHENOMENON`), and the check that it is whole and consistent.

`check(phenomenon)` runs when the catalogue loads: a malformed phenomenon stops `phaselab serve` at start
with one line naming it and the part, instead of a 500 on some later request.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from workers.phenomena.contract.axes import STEP, Axis, Family, Metric
from workers.phenomena.contract.charts import Chart, SnapshotView
from workers.phenomena.contract.claims import VERDICTS, Claim, Preset, Transition
from workers.phenomena.contract.cost import Cost
from workers.phenomena.contract.curves import Curves


class Paper(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    authors: str
    year: int
    arxiv: str  # e.g. "2201.02177"
    figure: str  # which figure of the paper the phenomenon reproduces

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"


class PhenomenonConfig(BaseModel):
    """Base of every phenomenon's `Config`: unknown knobs are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    @property
    def progress_total(self) -> float:
        """The x on the progress axis at which the run ends (progress = last x / progress_total)."""
        raise NotImplementedError

    @property
    def cost(self) -> Cost:
        """The run's estimated compute (contract/cost.py): the API refuses a run over its budget. Every
        phenomenon declares it, so no knob combination is an unbounded run."""
        raise NotImplementedError


def no_derived(_config: Any) -> dict[str, float]:
    return {}


def no_members(_config: Any) -> dict[str, list[float]]:
    return {}


@dataclass(frozen=True)
class Phenomenon:
    name: str
    title: str
    one_liner: str
    summary: str  # markdown a student can follow: what to look at, why it happens, what to try
    papers: Sequence[Paper]
    config: type[PhenomenonConfig]
    presets: Mapping[str, Preset]  # "default" first: it shows the effect on a 2-core CPU in well under a minute
    metrics: Sequence[Metric]
    charts: Sequence[Chart]
    claims: Sequence[Claim]
    detect: Callable[[Curves, Any], list[Transition]]
    axes: Sequence[Axis] = (STEP,)
    families: Sequence[Family] = ()
    snapshots: Sequence[SnapshotView] = ()
    derived: Callable[[Any], Mapping[str, float]] = no_derived  # values for reference lines (p = n, 2/η)
    # the members each family will have in a run of this config (so colours are fixed before they arrive)
    members: Callable[[Any], Mapping[str, Sequence[float]]] = no_members
    progress_axis: str = "step"  # the axis the run advances along
    tags: Sequence[str] = field(default_factory=tuple)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def axis(self, axis_id: str) -> Axis | None:
        return next((a for a in self.axes if a.id == axis_id), None)

    def family(self, family_id: str) -> Family | None:
        return next((f for f in self.families if f.id == family_id), None)

    def preset_of(self, config: Any) -> str | None:
        """The name of the preset whose config `config` is, if any."""
        return next((name for name, preset in self.presets.items() if preset.config == config), None)

    def derived_values(self, config: Any) -> dict[str, float]:
        return {key: float(value) for key, value in self.derived(config).items()}

    def member_values(self, config: Any) -> dict[str, list[float]]:
        return {family: [float(m) for m in values] for family, values in self.members(config).items()}


class PhenomenonError(Exception):
    """A phenomenon is malformed: the message names it and the part."""


def _duplicates(items: Sequence[str]) -> list[str]:
    return sorted({item for item in items if list(items).count(item) > 1})


def problems(ph: Phenomenon) -> list[str]:
    """Every inconsistency of `ph`, as "part: what is wrong"; empty when it is whole."""
    found: list[str] = []
    axes, families = {a.id for a in ph.axes}, {f.id for f in ph.families}
    metrics = {m.name: m for m in ph.metrics}
    claims = {c.id for c in ph.claims}
    for what, ids in (("axes", [a.id for a in ph.axes]), ("families", [f.id for f in ph.families]),
                      ("metrics", [m.name for m in ph.metrics]), ("charts", [c.id for c in ph.charts]),
                      ("claims", [c.id for c in ph.claims]), ("snapshots", [s.name for s in ph.snapshots])):
        found += [f"{what}: {dup!r} is declared twice" for dup in _duplicates(ids)]
    if ph.progress_axis not in axes:
        found.append(f"progress_axis: {ph.progress_axis!r} is not one of its axes {sorted(axes)}")
    for m in ph.metrics:
        if m.axis not in axes:
            found.append(f"metrics[{m.name}]: axis {m.axis!r} is not declared")
        if m.family is not None and m.family not in families:
            found.append(f"metrics[{m.name}]: family {m.family!r} is not declared")
    if not (isinstance(ph.config, type) and issubclass(ph.config, PhenomenonConfig)):
        found.append("config: must be a subclass of contract.PhenomenonConfig")
        return found
    if "default" not in ph.presets:
        found.append("presets: there is no 'default' preset")
    for name, preset in ph.presets.items():
        if not isinstance(preset, Preset):
            found.append(f"presets[{name}]: must be a contract.Preset")
            continue
        if not isinstance(preset.config, ph.config):
            found.append(f"presets[{name}]: config is not a {ph.config.__name__}")
            continue
        try:
            ph.config.model_validate(preset.config.model_dump(mode="json"))
        except ValidationError as exc:
            found.append(f"presets[{name}]: does not validate: {exc.errors()[0]['msg']}")
        found += [f"presets[{name}]: {p}" for p in _cost_problems(preset.config)]
        for claim_id, verdict in preset.expect.items():
            if claim_id not in claims:
                found.append(f"presets[{name}]: expects a verdict of unknown claim {claim_id!r}")
            if verdict not in VERDICTS:
                found.append(f"presets[{name}]: {verdict!r} is not a verdict ({', '.join(VERDICTS)})")
    derived: Mapping[str, float] = {}
    if "default" in ph.presets and isinstance(ph.presets["default"], Preset):
        try:
            derived = ph.derived_values(ph.presets["default"].config)
        except Exception as exc:  # noqa: BLE001 - any error here is a malformed part
            found.append(f"derived: raised {type(exc).__name__}: {exc}")
        found += [f"derived: {key} = {value} is not finite" for key, value in derived.items()
                  if not math.isfinite(value)]
    for chart in ph.charts:
        found += [f"charts[{chart.id}]: {p}" for p in _chart_problems(chart, axes, metrics, derived)]
    if "default" in ph.presets and isinstance(ph.presets["default"], Preset):
        try:
            planned = ph.member_values(ph.presets["default"].config)
            found += [f"members: {family!r} is not a declared family" for family in planned if family not in families]
        except Exception as exc:  # noqa: BLE001
            found.append(f"members: raised {type(exc).__name__}: {exc}")
    if not callable(ph.detect):
        found.append("detect: is not callable")
    for claim in ph.claims:
        if not isinstance(claim, Claim) or not callable(claim.check):
            found.append(f"claims[{getattr(claim, 'id', claim)}]: must be a contract.Claim with a check")
    return found


def _cost_problems(config: PhenomenonConfig) -> list[str]:
    """The declared cost is there, finite and positive, and names knobs the config has (the first an integer)."""
    try:
        cost = config.cost
    except Exception as exc:  # noqa: BLE001 - NotImplementedError included: every config declares its cost
        return [f"cost: raised {type(exc).__name__}: {exc}".rstrip(": ")]
    if not isinstance(cost, Cost):
        return ["cost: is not a contract.Cost"]
    found = []
    if not (math.isfinite(cost.seconds) and cost.seconds > 0):
        found.append(f"cost: {cost.seconds!r} seconds is not a positive number")
    fields = type(config).model_fields
    found += [f"cost: knob {knob!r} is not a field of its Config" for knob in cost.knobs if knob not in fields]
    if not cost.knobs or not isinstance(getattr(config, cost.knobs[0], None), int):
        found.append("cost: its first knob must be an integer knob (steps, epochs): the one a 422 says how far to take")
    return found


def _chart_problems(chart: Chart, axes: set[str], metrics: Mapping[str, Metric],
                    derived: Mapping[str, float]) -> list[str]:
    found = []
    if chart.x not in axes:
        found.append(f"axis {chart.x!r} is not declared")
    drawn = [*chart.metrics, *chart.baselines, *([chart.fit.metric] if chart.fit else []),
             *([chart.x_metric] if chart.x_metric else [])]
    for name in drawn:
        metric = metrics.get(name)
        if metric is None:
            found.append(f"metric {name!r} is not declared")
        elif metric.axis != chart.x:
            found.append(f"metric {name!r} is on axis {metric.axis!r}, the chart on {chart.x!r}")
    if chart.kind in ("band", "heatmap"):
        found += [f"a {chart.kind} needs a family metric; {name!r} has none" for name in chart.metrics
                  if name in metrics and metrics[name].family is None]
    if (chart.kind == "scatter") != (chart.x_metric is not None):
        found.append("x_metric is for scatter charts, and a scatter needs one")
    found += [f"reference {ref.label!r}: {ref.value!r} is not a derived value ({sorted(derived)})"
              for ref in chart.references if ref.value not in derived]
    return found


def check(ph: Phenomenon) -> Phenomenon:
    """`ph` itself, or PhenomenonError naming the phenomenon and its first malformed part."""
    if not isinstance(ph, Phenomenon):
        raise PhenomenonError(f"PHENOMENON is a {type(ph).__name__}, not a contract.Phenomenon")
    found = problems(ph)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PhenomenonError(f"phenomenon {ph.name!r}: {found[0]}{more}")
    return ph
