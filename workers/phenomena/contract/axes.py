"""What a phenomenon's numbers are measured against: axes (x), families (one curve per member) and metrics."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scale = Literal["linear", "log"]
# What a metric measures, for its colour: train blue, held-out orange, anything else its own.
Role = Literal["train", "held_out", "other"]

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
METRIC_NAME = r"^[a-z][a-z0-9_]*(/[a-z0-9_]+)*$"  # train/loss, val/acc, loss_vs_m


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Axis(Part):
    """A quantity a run advances along or sweeps: the training step, a width p, an angle, a learning rate."""

    id: str = Field(pattern=IDENTIFIER)
    label: str  # the axis title on a chart: "features p"
    unit: str = ""  # shown beside the label only where it adds something ("degrees"); "" when the label says it
    scale: Scale = "linear"  # how charts drawn against it scale by default
    symbol: str = ""  # the short name progress is told in ("p 600 / 1,000"); "" : the id


STEP = Axis(id="step", label="step", symbol="step")


class Family(Part):
    """A parameter whose members each get their own curve of a metric (one per width m, per lr, per seed).

    The member is data: `run.log(x, values, member=16)`, stored in its own column, never in the name.
    """

    id: str = Field(pattern=IDENTIFIER)  # "m", "lr", "seed"
    label: str  # legend title: "hidden dimensions m"
    unit: str = ""
    scale: Scale = "linear"  # spacing of the sequential colour scale over members


class Metric(Part):
    """A logged quantity: its name, the axis its x is on, and the family it is logged per member of, if any."""

    name: str = Field(pattern=METRIC_NAME, max_length=64)
    axis: str = "step"
    family: str | None = None
    role: Role = "other"
    label: str = ""  # legend text; empty: the name

    @property
    def legend(self) -> str:
        return self.label or self.name
