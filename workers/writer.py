"""The buffered, fenced writer of one attempt: metric rows, snapshots, checkpoints, the summary, the end.

Every write is one transaction that starts with the fencing UPDATE (backend/store/runstate.py, `fence`):
it renews the lease and reads the cancel flag, or raises `Fenced` and rolls back, so a worker that lost
its lease writes nothing. The trainer thread and the heartbeat thread (workers/heartbeat.py) share one
lock: one transaction at a time.

Metric points are buffered and written at >= settings.flush_rows rows or every settings.flush_seconds,
with INSERT ... ON CONFLICT DO NOTHING. Each point gets the run's next `seq` (write order, continuing after
the largest stored one: the live cursor). A checkpoint is written in the same transaction as every buffered
point and records the last seq it covers, so a stored checkpoint implies every point up to its seq is stored.

The same transaction writes the buckets the points fill in the curves' min/max summary
(backend/store/curve_summary.py; `Summaries` below keeps each series' open buckets). A resumed attempt re-logs
the points a killed one wrote after its checkpoint: those already stored are left out of the insert and the
summary alike (found by one range query per series, only for x up to what was stored when the attempt
began), so the summary counts every stored point once and holds the stored values.

The rows go to the driver as tuples in one statement per batch (SQLite: executemany; PostgreSQL: one array per
column, unnest), past SQLAlchemy's per-row parameter processing: that, not the database, was most of a write's
cost.

runs.summary (workers/run_context.py computes it from the curves in memory) is written in the same
fenced transaction as the rows it was computed from, at most every SUMMARY_SECONDS and at the end.
"""

import functools
import itertools
import logging
import math
import operator
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.store.curve_summary import (
    BUCKET_COLUMNS,
    BUCKETS,
    ENTRY,
    BucketRow,
    SeriesSummary,
    bucket_row,
    entry_row,
    load_series,
)
from backend.store.db import dialect_insert, is_postgres, transaction
from backend.store.models import Checkpoint, Metric, Run, Snapshot
from backend.store.runstate import Fenced, database_now, fence
from backend.store.settings import Settings
from backend.store.vocabulary import RunStatus

log = logging.getLogger("phaselab.worker")

SUMMARY_SECONDS = 1.0  # the summary is computed at most this often while training
# Core tables: the hot path skips the ORM's bulk machinery, and each statement compiles once.
RUNS, SNAPSHOTS, CHECKPOINTS = (cast(Table, m.__table__) for m in (Run, Snapshot, Checkpoint))

NOW = object()  # in a `final` dict: the transaction's time (backend/store/runstate.database_now)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return _finite_or_none(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


MULTIROW_CHUNK = 1000  # rows per INSERT ... VALUES on PostgreSQL: well under its 65,535 parameters
METRIC_COLUMNS = ("run_id", "name", "member", "x", "value", "seq")
MetricRow = tuple[str, str, str, float, float | None, int]  # in METRIC_COLUMNS' order
_SERIES, _POINT = operator.itemgetter(1, 2), operator.itemgetter(3, 4)  # (name, member), (x, value)


def _insert_rows(session: Session, insert: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` (dicts: snapshots), SQLAlchemy Core; see _insert_tuples."""
    if not rows:
        return
    if not is_postgres(session):
        session.execute(insert(table).on_conflict_do_nothing(), rows)
        return
    for start in range(0, len(rows), MULTIROW_CHUNK):
        session.execute(insert(table).values(rows[start:start + MULTIROW_CHUNK]).on_conflict_do_nothing())


# PostgreSQL types of the columns, for INSERT ... SELECT FROM unnest(<one array per column>)
METRIC_TYPES = ("text", "text", "text", "float8", "float8", "int4")
BUCKET_TYPES = ("text", "int4", "text", "text", "int4", "float8", "float8", "float8", "float8", "float8")


@functools.lru_cache(maxsize=8)
def _insert_sql(table: str, columns: tuple[str, ...], pg_types: tuple[str, ...] | None) -> str:
    if pg_types is None:
        source = "VALUES (" + ", ".join("?" * len(columns)) + ")"
    else:
        source = "SELECT * FROM unnest(" + ", ".join(f"%s::{kind}[]" for kind in pg_types) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) {source} ON CONFLICT DO NOTHING"


def _insert_tuples(session: Session, table: str, columns: tuple[str, ...], pg_types: tuple[str, ...],
                   rows: Sequence[tuple]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` (tuples in `columns`' order), straight to the driver.

    SQLite: executemany, one cached statement whatever the batch size. PostgreSQL: one statement whose
    parameters are one array per column (unnest): psycopg parses a multi-row VALUES statement's thousands of
    placeholders on every call (that was most of a write), and its executemany runs as a pipeline, in which a
    worker frozen in the middle leaves its session "active" (not idle in transaction): the server's
    idle_in_transaction_session_timeout never ends it, and its lock on the run row keeps the reaper
    (FOR UPDATE SKIP LOCKED) from ever reclaiming the run.
    """
    if not rows:
        return
    connection = session.connection()
    if not is_postgres(session):
        connection.exec_driver_sql(_insert_sql(table, columns, None), list(rows))
        return
    connection.exec_driver_sql(_insert_sql(table, columns, pg_types), tuple(list(column) for column in zip(*rows,
                                                                                                         strict=True)))


class Summaries:
    """The writer's side of the curves' min/max summary: each series' open buckets, loaded when first needed.

    `prepare` runs inside the write's transaction; `forget` after a transaction that did not commit, so the
    next write reloads what the database holds instead of trusting buckets that were never stored.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._series: dict[tuple[str, str], SeriesSummary] = {}
        self._stored: set[tuple[str, str]] | None = None  # series with stored points; None: not read yet

    def forget(self) -> None:
        self._series.clear()
        self._stored = None

    def prepare(self, session: Session, rows: list[MetricRow]) -> tuple[list[MetricRow], list[BucketRow]]:
        """(the rows to insert: those not stored already, the summary rows they fill)."""
        if self._stored is None:
            self._stored = {(name, member) for name, member in session.execute(
                select(BUCKETS.c.name, BUCKETS.c.member).where(BUCKETS.c.run_id == self.run_id,
                                                               BUCKETS.c.level == ENTRY))}
        out: list[BucketRow] = []
        stored: set[int] = set()  # seqs of rows already in the database
        # Grouped by series in C (a stable sort keeps each series' write order), not row by row in Python.
        for key, group in itertools.groupby(sorted(rows, key=_SERIES), key=_SERIES):
            name, member = key
            points = list(group)
            state = self._series.get(key)
            if state is None:
                if key in self._stored:
                    state, repair = load_series(session, self.run_id, name, member)
                    out.extend(repair)
                else:
                    state = SeriesSummary()
                    out.append(entry_row(self.run_id, name, member, points[0][3], points[0][4]))
                    self._stored.add(key)
                self._series[key] = state
            if state.frontier is not None:
                points = self._unstored(session, state, key, points, stored)
            for level, bucket, e in state.add(map(_POINT, points)):
                out.append(bucket_row(self.run_id, name, member, level, bucket, e))
        return ([row for row in rows if row[5] not in stored] if stored else rows), out

    def _unstored(self, session: Session, state: SeriesSummary, key: tuple[str, str], points: list[MetricRow],
                  stored: set[int]) -> list[MetricRow]:
        """`points` less those stored already (re-logged after a resume); adds their seqs to `stored`."""
        frontier = cast(float, state.frontier)
        suspects = [row for row in points if row[3] <= frontier]
        if points[-1][3] > frontier:
            state.frontier = None  # past what was stored when the attempt began: nothing more to check
        if not suspects:
            return points
        found = set(session.execute(select(Metric.x).where(
            Metric.run_id == self.run_id, Metric.name == key[0], Metric.member == key[1],
            Metric.x >= suspects[0][3], Metric.x <= frontier)).scalars())
        again = {row[5] for row in suspects if row[3] in found}
        stored |= again
        return [row for row in points if row[5] not in again]


class RunWriter:
    """Everything attempt `attempt` of run `run_id` writes, buffered and fenced; the attempt's only writer."""

    def __init__(
        self,
        *,
        run_id: str,
        attempt: int,
        settings: Settings,
        session_factory: sessionmaker[Session],
        summarize: Callable[[], dict[str, Any]],
    ) -> None:
        self.run_id, self.attempt = run_id, attempt
        self._settings, self._sessions, self._summarize = settings, session_factory, summarize
        self._rows: list[MetricRow] = []
        self._summaries = Summaries(run_id)
        self._snapshots: list[dict[str, Any]] = []
        self.progress = 0.0  # the x on the progress axis each write reports (runs.progress_x)
        self.checkpoint_step: int | None = None  # of the last stored checkpoint
        self.seq = 0  # of the last point buffered; start() sets it after the largest stored one
        self.last_renew = self._last_flush = time.monotonic()
        self._last_summary = -math.inf
        self._cancel = False
        self._fenced = False
        self._lock = threading.Lock()  # one transaction at a time: trainer thread or heartbeat thread
        self._report: dict[str, Any] = {}  # run columns the next write sets (the attempt's thread count)
        self.writes = 0  # committed transactions, for the batching test and the bench
        self.rows_written = 0

    @property
    def cancel_requested(self) -> bool:
        """The run's cancel flag as of the last write (each write reads it)."""
        return self._cancel

    @property
    def fenced(self) -> bool:
        return self._fenced

    def raise_if_fenced(self) -> None:
        if self._fenced:
            raise Fenced(f"run {self.run_id}: attempt {self.attempt} is stale")

    # -- buffering (the trainer thread) ----------------------------------------------------------

    def add_metric(self, x: float, name: str, member: str, value: float) -> None:
        self.seq += 1
        self._rows.append((self.run_id, name, member, x, value if math.isfinite(value) else None, self.seq))

    def add_snapshot(self, step: int, name: str, matrix: np.ndarray) -> None:
        self._snapshots.append({
            "run_id": self.run_id, "name": name, "step": step,
            "shape": list(matrix.shape), "values": json_safe(matrix.ravel().tolist()),
        })

    def advance(self, x: float) -> None:
        """The trainer reached `x` on the progress axis: the next write reports it as the run's progress."""
        self.progress = max(self.progress, x)

    def report(self, **columns: Any) -> None:
        """Set these `runs` columns with the next write (fenced like everything else)."""
        self._report.update(columns)

    def flush_if_due(self) -> None:
        """Write when the buffer is full, a row has waited flush_seconds, or the lease wants renewing."""
        buffered = len(self._rows)
        if buffered >= self._settings.flush_rows:
            self._write()
            return
        now = time.monotonic()
        if (buffered and now - self._last_flush >= self._settings.flush_seconds) or (
                now - self.last_renew >= self._settings.heartbeat_seconds):
            self._write()

    # -- writes ----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write whatever is buffered (and renew the lease), now."""
        self._write()

    def checkpoint(self, step: int, data: bytes) -> None:
        """Store the serialized checkpoint of `step` with every buffered row."""
        self._write(checkpoint=(step, data))

    def finish(self, status: RunStatus, error: str | None = None) -> bool:
        """Last fenced transaction of the attempt: buffered rows, the summary, and the final status.

        `cancelled` is written only while the cancel flag is still up, in the same UPDATE: False if it went
        down (the run was asked for again), and then the run is still running, for the caller to requeue.
        """
        final = {"status": status, "error": error, "finished_at": NOW, "lease_expires_at": None}
        return self._write(final=final, summary=True, only_if_cancelled=status == RunStatus.CANCELLED)

    def requeue(self, error: str | None, *, release: bool, also: Callable[[Session], None] | None = None) -> None:
        """Hand the run back as queued: after a crash (attempt counted) or a shutdown (`release`: not counted).

        `also` runs inside the same transaction (the dispatcher's enqueue: a new procrastinate job).
        """
        final: dict[str, Any] = {"status": RunStatus.QUEUED, "worker": None, "lease_expires_at": None}
        if error is not None:
            final["error"] = error
        if release:
            # A graceful stop is not a failure: give the attempt back, so Ctrl-C three times does not
            # make a run poison. Safe for fencing: this is the attempt's last write.
            final["attempts"] = RUNS.c.attempts - 1
        self._write(final=final, summary=True, also=also)

    def renew_lease(self) -> bool:
        """The heartbeat's write: the fencing UPDATE alone. False once the attempt is fenced.

        Skipped while the trainer thread is writing: that write renews the lease anyway.
        """
        if not self._lock.acquire(blocking=False):
            return True
        try:
            with transaction(self._sessions) as session:
                self._cancel = fence(session, self.run_id, self.attempt, self._settings.lease_seconds,
                                     database_now(session))
            self.last_renew = time.monotonic()
        except Fenced:
            self._fenced = True
            return False
        except Exception:  # the database blinked: try again next beat; the lease has slack
            log.warning("run %s: heartbeat failed", self.run_id, exc_info=True)
        finally:
            self._lock.release()
        return True

    def _summary_or_none(self, force: bool) -> dict[str, Any] | None:
        if not force and time.monotonic() - self._last_summary < SUMMARY_SECONDS:
            return None
        self._last_summary = time.monotonic()
        try:
            return cast(dict[str, Any], json_safe(self._summarize()))
        except Exception:  # a detector's bug must not kill the training run; the last summary stays
            log.exception("run %s: computing the summary failed; summary not updated", self.run_id)
            return None

    def _write(
        self,
        *,
        checkpoint: tuple[int, bytes] | None = None,
        final: dict[str, Any] | None = None,
        summary: bool = False,
        also: Callable[[Session], None] | None = None,
        only_if_cancelled: bool = False,
    ) -> bool:
        """One fenced transaction; True unless `only_if_cancelled` and the flag was down (`final` not written)."""
        rows, snapshots = list(self._rows), list(self._snapshots)
        summary_json = self._summary_or_none(force=summary or final is not None)
        values: dict[str, Any] = {"progress_x": self.progress, **self._report}
        if summary_json is not None:
            values["summary"] = summary_json
        if checkpoint is not None:
            values["checkpoint_step"] = checkpoint[0]
        with self._lock:
            try:
                with transaction(self._sessions) as session:
                    now = database_now(session)
                    cancel = fence(session, self.run_id, self.attempt, self._settings.lease_seconds, now, **values)
                    insert = dialect_insert(session)
                    new_rows, buckets = self._summaries.prepare(session, rows)
                    _insert_tuples(session, "metrics", METRIC_COLUMNS, METRIC_TYPES, new_rows)
                    _insert_tuples(session, "metric_buckets", BUCKET_COLUMNS, BUCKET_TYPES, buckets)
                    _insert_rows(session, insert, SNAPSHOTS, snapshots)
                    if checkpoint is not None:
                        step, data = checkpoint
                        stored = {"step": step, "seq": self.seq, "attempt": self.attempt, "data": data,
                                  "created_at": now}
                        stmt = insert(CHECKPOINTS).values(run_id=self.run_id, **stored)
                        session.execute(stmt.on_conflict_do_update(index_elements=["run_id"], set_=stored))
                    written = True
                    if final is not None:
                        stamped = {key: now if value is NOW else value for key, value in final.items()}
                        where = [RUNS.c.id == self.run_id]
                        if only_if_cancelled:
                            where.append(RUNS.c.cancel_requested.is_(True))
                        done = session.execute(
                            update(RUNS).where(*where).values(**stamped, updated_at=now).returning(RUNS.c.id))
                        written = done.first() is not None
                    if also is not None:
                        also(session)
            except Fenced:
                self._fenced = True
                self._summaries.forget()
                raise
            except BaseException:
                self._summaries.forget()  # its open buckets may hold points that were not stored
                raise
        # Committed: only now drop what was written (a failed transaction keeps it for the next try).
        del self._rows[: len(rows)]
        del self._snapshots[: len(snapshots)]
        if checkpoint is not None:
            self.checkpoint_step = checkpoint[0]
        self._report.clear()
        self._cancel = cancel
        self._last_flush = self.last_renew = time.monotonic()
        self.writes += 1
        self.rows_written += len(rows)
        return written
