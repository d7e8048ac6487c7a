"""SQLAlchemy 2 ORM models: runs (the truth of every job), metrics, checkpoints, snapshots, sweeps."""

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.store.vocabulary import Queue, RunStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every time Phaselab stores is UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass



class Sweep(Base):
    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    phenomenon: Mapped[str] = mapped_column(String(64))
    base_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    axes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_claim", "status", "queue", "created_at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    phenomenon: Mapped[str] = mapped_column(String(64), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    code_version: Mapped[str] = mapped_column(String(32))  # digest of the phenomenon's code (workers/phenomena)
    # sha256 of (phenomenon, config, seed, trainer version): the database makes it unique,
    # so N identical submissions race to one row.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    queue: Mapped[str] = mapped_column(String(16), default=Queue.CPU)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED, index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(128))
    device: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress_x: Mapped[float] = mapped_column(Float, default=0.0)  # on the phenomenon's progress axis
    progress_total: Mapped[float] = mapped_column(Float, default=0.0)
    resumed_from: Mapped[float | None] = mapped_column(Float)  # this attempt's checkpoint x; NULL: from the start
    threads: Mapped[int | None] = mapped_column(Integer)  # torch threads of the attempt that trains it
    checkpoint_step: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sweep_id: Mapped[str | None] = mapped_column(ForeignKey("sweeps.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Metric(Base):
    """One point of one series: (metric, family member) at x. The primary key makes a resumed run's rewrite
    of a point a no-op; `seq` numbers a run's points in write order (the live cursor, the resume point)."""

    __tablename__ = "metrics"
    __table_args__ = (
        PrimaryKeyConstraint("run_id", "name", "member", "x", name="pk_metric_points"),
        Index("ix_metrics_run_seq", "run_id", "seq"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(32), default="", server_default="")  # '' for a plain metric
    x: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)  # NULL where the value was not finite
    seq: Mapped[int] = mapped_column(Integer)


class MetricBucket(Base):
    """One bucket of a curve's multi-resolution min/max summary (backend/store/curve_summary.py): the lowest and
    highest point of BASE·2^level consecutive points of one series, written once, with its last point.

    Level -1 is the series' entry (one row, written with its first point in lo_x, lo_value), so a run's series
    are listed without reading its points. The key leads with the level, so one level of a series is one range.
    """

    __tablename__ = "metric_buckets"
    __table_args__ = (PrimaryKeyConstraint("run_id", "level", "name", "member", "bucket", name="pk_metric_buckets"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(32))
    bucket: Mapped[int] = mapped_column(Integer)
    last_x: Mapped[float | None] = mapped_column(Float)  # x of the bucket's last point (NULL in an entry)
    lo_x: Mapped[float | None] = mapped_column(Float)  # the lowest point (NULL when every value is NULL)
    lo_value: Mapped[float | None] = mapped_column(Float)
    hi_x: Mapped[float | None] = mapped_column(Float)  # the highest point
    hi_value: Mapped[float | None] = mapped_column(Float)


class Checkpoint(Base):
    """The latest checkpoint of a run (toy models are small): any worker on any machine can resume."""

    __tablename__ = "checkpoints"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)  # the run's points up to this seq were stored with it
    attempt: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Snapshot(Base):
    """A small matrix of model internals at one step (e.g. the embedding's Fourier power)."""

    __tablename__ = "snapshots"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    shape: Mapped[list[int]] = mapped_column(JSON)
    values: Mapped[list[float]] = mapped_column(JSON)  # row-major, flattened


class Probe(Base):
    """A row each writer updates to prove the database takes writes (GET /api/health/ready)."""

    __tablename__ = "probes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer)


class Worker(Base):
    """A worker's last sign of life (workers/presence.py writes it; the API reads it for queued runs)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    queues: Mapped[str] = mapped_column(String(256))  # ",cpu,gpu,"
    device: Mapped[str] = mapped_column(String(16))
    threads: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
