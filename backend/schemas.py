"""The API's schema families: what goes in (RunCreate) and what comes out (RunPublic, RunsPublic, ...)."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend import catalogue
from backend.store.vocabulary import Queue, RunStatus
from workers.phenomena.contract import Axis, Chart, Family, Metric, RunSummary, SnapshotView, Verdict

MAX_STEP = 2**31 - 1  # steps and offsets are 32-bit integers in the database

# The catalogue's names as enumerations, so the OpenAPI document lists them (clients and fuzzers see the choices;
# a wrong one is a 422 naming the field). Built when the API module loads, from the folders present then.
PhenomenonName = StrEnum("PhenomenonName", {name: name for name in catalogue.names()})  # type: ignore[misc]
PresetName = StrEnum("PresetName", {name: name for name in catalogue.preset_names()})  # type: ignore[misc]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    database: str
    version: str


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: str
    version: str


class PaperPublic(BaseModel):
    title: str
    authors: str
    year: int
    arxiv: str
    figure: str
    url: str


class PhenomenonSummary(BaseModel):
    name: str
    title: str
    one_liner: str
    papers: list[PaperPublic]
    presets: list[str]


class PhenomenaPublic(BaseModel):
    data: list[PhenomenonSummary]
    count: int


class PresetPublic(BaseModel):
    title: str
    demonstrates: str
    expect: dict[str, Verdict] = Field(description="Claim id -> the verdict this preset expects (others: pass).")


class ClaimPublic(BaseModel):
    id: str
    text: str
    unit: str


class PhenomenonPublic(PhenomenonSummary):
    summary: str
    code_version: str = Field(description="Digest of the phenomenon's code; part of every run's content hash.")
    config_schema: dict[str, Any]
    presets: dict[str, dict[str, Any]]  # type: ignore[assignment]  # name -> full config
    preset_info: dict[str, PresetPublic]
    axes: list[Axis]
    families: list[Family]
    metrics: list[Metric]
    progress_axis: str
    charts: list[Chart]
    snapshots: list[SnapshotView]
    claims: list[ClaimPublic]


class RunCreate(BaseModel):
    # Strict: `"seed": true` or `"steps": "10"` is a 422, not silently read as 1 or 10. (FastAPI validates the
    # parsed JSON in Python mode, so the enumerations say strict=False to take their names as strings.)
    model_config = ConfigDict(extra="forbid", strict=True)

    phenomenon: PhenomenonName = Field(  # type: ignore[valid-type]
        description="A name from GET /api/phenomena.", strict=False)
    config: dict[str, Any] | None = Field(None, description="Knobs; missing ones come from the preset. Types are "
                                          "strict: a number is a JSON number, not a string.")
    preset: PresetName | None = Field(  # type: ignore[valid-type]
        None, strict=False, description="Preset the knobs start from (default: `default`); each phenomenon has its own, listed "
        "in GET /api/phenomena/{name}.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed; same config and seed give the same curves.")
    queue: Queue | None = Field(None, strict=False, description="Worker queue; default from PHASELAB_DEFAULT_QUEUE.")


class Progress(BaseModel):
    axis: str = Field(description="The axis the run advances along (the training step, a width p, ...).")
    label: str
    symbol: str = Field(description="Its short name: 'p 600 / 1,000'.")
    unit: str
    x: float
    total: float
    resumed_from: float | None = Field(None, description="Where the current attempt resumed (its checkpoint's x) "
                                       "after its worker was lost or stopped; null: it started from the beginning.")


class RunPublic(BaseModel):
    id: str
    phenomenon: str
    config: dict[str, Any]
    seed: int
    queue: Queue
    status: RunStatus
    progress: Progress
    attempts: int
    error: str | None
    device: str | None
    worker: str | None
    threads: int | None = Field(description="Torch threads the run was trained with (None: not started).")
    code_version: str
    derived: dict[str, float] = Field(description="Values the charts' reference lines are drawn at (p = n, 2/η).")
    members: dict[str, list[float]] = Field(description="Family id -> the members this run logs.")
    summary: RunSummary
    waiting: str | None = Field(None, description="Queued where no live worker serves its queue: what it waits for "
                                "and how to start a worker; null otherwise.")
    created_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    updated_at: AwareDatetime


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class SeriesPublic(BaseModel):
    metric: str
    member: float | None = Field(description="The family member; null for a plain metric.")
    x: list[float]
    value: list[float | None]


class MetricsPublic(BaseModel):
    series: list[SeriesPublic]
    cursor: int | None = Field(description="Pass as `after` to get only the points written since (null: none yet).")
    truncated: bool = Field(False, description="With `after`: more new points than max_points; fetch again without "
                            "`after`.")


class SnapshotIndex(BaseModel):
    steps: list[int]
    shape: list[int]


class SnapshotsPublic(BaseModel):
    snapshots: dict[str, SnapshotIndex]


class SnapshotPublic(BaseModel):
    name: str
    step: int
    shape: list[int]
    values: list[float | None]


class SnapshotHistory(BaseModel):
    name: str
    steps: list[int]
    shape: list[int]
    values: list[list[float | None]]
