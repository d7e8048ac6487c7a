"""The API's schema families: what goes in (RunCreate) and what comes out (RunPublic, RunsPublic, ...)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.store.vocabulary import Queue, RunStatus

MAX_STEP = 2**31 - 1  # steps and offsets are 32-bit integers in the database


class Health(BaseModel):
    status: Literal["ok"] = "ok"
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


class ChartPublic(BaseModel):
    id: str
    title: str
    metrics: list[str]
    x_label: str
    y_label: str
    log_x: bool
    log_y: bool
    reference: tuple[str, str] | None


class SnapshotView(BaseModel):
    name: str
    title: str
    x_label: str = ""


class ClaimPublic(BaseModel):
    id: str
    text: str


class PhenomenonPublic(PhenomenonSummary):
    summary: str
    version: str
    config_schema: dict[str, Any]
    presets: dict[str, dict[str, Any]]  # type: ignore[assignment]  # name -> full config
    charts: list[ChartPublic]
    snapshots: list[SnapshotView]
    claims: list[ClaimPublic]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phenomenon: str = Field(description="A name from GET /api/phenomena.")
    config: dict[str, Any] | None = Field(None, description="Knobs; missing ones come from the preset.")
    preset: str | None = Field(None, description="Preset the knobs start from (default: `default`).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed; same config and seed give the same curves.")
    queue: Queue | None = Field(None, description="Worker queue; default from PHASELAB_DEFAULT_QUEUE.")


class Progress(BaseModel):
    step: int
    total: int


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
    summary: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class Series(BaseModel):
    step: list[int]
    value: list[float | None]


class MetricsPublic(BaseModel):
    metrics: dict[str, Series]
    last_step: int | None


class SnapshotSeries(BaseModel):
    steps: list[int]
    shape: list[int]
    values: list[list[float | None]]


class SnapshotsPublic(BaseModel):
    snapshots: dict[str, SnapshotSeries]
