"""How a phenomenon is drawn: charts over its axes, and views of model internals (snapshots)."""

from typing import Literal

from pydantic import Field

from workers.phenomena.contract.axes import IDENTIFIER, Part

ChartKind = Literal[
    "lines",  # each metric (each member of a family) a line against the chart's axis
    "band",  # a family over seeds drawn as mean ± 95 % CI per x
    "scatter",  # metrics[0] against x_metric, paired at equal x (a family: one colour per member)
    "heatmap",  # metrics[0] over (x axis, family member): z = value, e.g. lr × width
]
SnapshotKind = Literal[
    "vector_over_time",  # a 1-D array per step: heatmap (index × step) beside the latest vector
    "matrix",  # a 2-D array per step, scrubbable over the stored steps (WᵀW, attention patterns)
    "scatter",  # an (N, 2) or (N, 3) array per step: points, the third column a label/colour
]


class Reference(Part):
    """A reference line at a value the run derives from its config (p = n, 2/η), published with the run."""

    label: str  # "p = n"
    value: str  # a key of the phenomenon's derived(config)
    orient: Literal["x", "y"] = "x"  # x: a vertical line at x = value; y: a horizontal line at y = value


class FitLine(Part):
    """A fitted line drawn on the chart with its slope and 95 % interval (summary.fits[chart id])."""

    metric: str
    kind: Literal["power_law"] = "power_law"
    label: str = "power-law fit"


class Chart(Part):
    id: str = Field(pattern=IDENTIFIER)
    title: str
    metrics: list[str] = Field(min_length=1)
    x: str = "step"  # the axis the chart is drawn against (scatter: the axis pairing its points)
    kind: ChartKind = "lines"
    baselines: list[str] = []  # metrics drawn dashed and labelled ("least squares", "1-step GD")
    x_metric: str | None = None  # scatter only: the metric on the horizontal axis
    y_label: str = ""
    log_x: bool | None = None  # None: as the axis' scale says
    log_y: bool = False
    references: list[Reference] = []
    fit: FitLine | None = None
    caption: str = ""  # one line under the chart: what to look at
    # Drawn only once the run logs one of its metrics: a chart about a knob that is off on most runs (label
    # noise, a gradient filter, outlier groups). The trainer logs those metrics only when they mean something.
    optional: bool = False


class SnapshotView(Part):
    """A view of model internals stored over training: `run.snapshot(step, name, array)`."""

    name: str = Field(pattern=IDENTIFIER)
    title: str
    kind: SnapshotKind = "vector_over_time"
    x_label: str = ""  # vector: the index ("frequency k"); matrix: the columns; scatter: the first column
    y_label: str = ""
    max_values: int = Field(16_384, ge=1, le=65_536)  # the cap on one snapshot's size; larger is an error
