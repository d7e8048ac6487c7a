"""The real RunContext a trainer talks to: buffered, fenced writes of metrics, snapshots and checkpoints.

Every write is one transaction that starts with the fencing UPDATE

    UPDATE runs SET lease_expires_at = now + lease, heartbeat_at = now, progress_step = ...
    WHERE id = :id AND attempts = :attempt AND status = 'running' RETURNING cancel_requested

No row means this attempt is stale (another worker reclaimed the run, or it was finished): the
transaction rolls back and `Fenced` is raised, so a worker that lost its lease writes nothing. A row
renews the lease and brings the cancel flag, which `should_stop()` reports.

Metric rows are buffered and written at >= settings.flush_rows rows or every settings.flush_seconds,
with INSERT ... ON CONFLICT DO NOTHING, so a resumed run rewrites the steps after its checkpoint as
no-ops. A checkpoint at step s is written in the same transaction as every buffered metric, so a
stored checkpoint at s implies all metrics <= s are stored.

The curves are also kept in memory (on resume: reloaded up to the checkpoint) for the spec's
detect() and CLAIMS, evaluated at most every SUMMARY_SECONDS and at the end; runs.summary is written
in the same fenced transaction as the rows it was computed from.

Heartbeat: the trainer calls should_stop() every step and log() most steps; both renew the lease
when settings.heartbeat_seconds have passed. A step longer than the lease (a big Hessian, a slow GPU
kernel) would otherwise let another worker reclaim a healthy run, and with several workers the run
would bounce between them until it ran out of attempts. So a daemon thread also renews the lease
when the trainer has been silent for heartbeat_seconds, but only up to MAX_SILENT_SECONDS of silence:
a trainer that hangs for longer (a deadlock) loses its lease and the run is reclaimed. A frozen
process (SIGSTOP, a suspended VM) freezes the thread too, so fencing still catches it.
"""

import io
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, Literal, cast

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.store.curves import read_curves
from backend.store.db import dialect_insert, transaction
from backend.store.models import Checkpoint, Metric, Run, Snapshot
from backend.store.settings import Settings
from workers.lease_queue import database_now

log = logging.getLogger("phaselab.worker")

StopReason = Literal["cancel", "shutdown"]

MAX_SILENT_SECONDS = 600.0  # longest trainer step the heartbeat thread covers for
SUMMARY_SECONDS = 1.0  # detect() and CLAIMS run at most this often while training
# Core tables: the hot path skips the ORM's bulk machinery, and each statement compiles once.
RUNS, METRICS, SNAPSHOTS, CHECKPOINTS = (cast(Table, m.__table__) for m in (Run, Metric, Snapshot, Checkpoint))


NOW = object()  # in a `final` dict: the transaction's time (workers/lease_queue.database_now)


class Fenced(Exception):
    """This attempt is stale: another worker owns the run, or it is no longer running. Nothing was written."""


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


class RunContext:
    """One attempt of one run, as the trainer sees it (workers/phenomena/contract.py's RunContext)."""

    def __init__(
        self,
        *,
        run_id: str,
        attempt: int,
        spec: ModuleType,
        config: BaseModel,
        device: str,
        settings: Settings,
        session_factory: sessionmaker[Session],
        stop_requested: Callable[[], StopReason | None] | None = None,
    ) -> None:
        self.device = device
        self.run_id, self.attempt = run_id, attempt
        self._spec, self._config, self._settings = spec, config, settings
        self._sessions = session_factory
        self._stop_requested = stop_requested or (lambda: None)
        self.stop_reason: StopReason | None = None

        self._rows: list[dict[str, Any]] = []
        self._snapshots: list[dict[str, Any]] = []
        self._curves: dict[str, tuple[list[int], list[float]]] = {}  # in memory for detect / CLAIMS
        self.progress = 0
        self.checkpoint_step: int | None = None

        now = time.monotonic()
        self._last_flush = self._last_renew = self._last_checkpoint = self._last_call = now
        self._last_summary = -math.inf
        self._cancel = False
        self._fenced = False
        self._lock = threading.Lock()  # one transaction at a time: trainer thread or heartbeat thread
        self._beat_stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.writes = 0  # committed transactions, for the batching test and the bench
        self.rows_written = 0

    # -- lifecycle (execute_run) -----------------------------------------------------------------

    def start(self) -> None:
        """Load the curves up to the checkpoint (a resumed run), then start the heartbeat thread."""
        with self._sessions() as session:
            self.checkpoint_step = session.execute(
                select(Run.checkpoint_step).where(Run.id == self.run_id)
            ).scalar_one_or_none()
            if self.checkpoint_step is not None:
                stored = read_curves(session, self.run_id, up_to_step=self.checkpoint_step)
                self._curves = {name: (xs.tolist(), ys.tolist()) for name, (xs, ys) in stored.items()}
                self.progress = self.checkpoint_step
        self._beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{self.run_id}", daemon=True)
        self._beat.start()

    def close(self) -> None:
        self._beat_stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)

    # -- the trainer's side ----------------------------------------------------------------------

    def log(self, step: int, values: Mapping[str, float]) -> None:
        self._touch()
        for name, raw in values.items():
            value = float(raw)
            self._rows.append({"run_id": self.run_id, "name": name, "step": step, "value": _finite_or_none(value)})
            xs, ys = self._curves.setdefault(name, ([], []))
            if not xs or step > xs[-1]:  # curves stay sorted; a re-logged step keeps its first value
                xs.append(step)
                ys.append(value)
        self.progress = max(self.progress, step)
        self._maybe_flush()

    def snapshot(self, step: int, name: str, array: Any) -> None:
        self._touch()
        matrix = np.asarray(array, dtype=float)
        self._snapshots.append({
            "run_id": self.run_id, "name": name, "step": step,
            "shape": list(matrix.shape), "values": json_safe(matrix.ravel().tolist()),
        })

    def should_stop(self) -> bool:
        self._touch()
        self._maybe_flush()
        reason: StopReason | None = "cancel" if self._cancel else self._stop_requested()
        if reason is not None:
            self.stop_reason = self.stop_reason or reason
            return True
        return False

    def checkpoint(self, step: int, state: dict[str, Any]) -> None:
        import torch

        self._touch()
        buffer = io.BytesIO()
        torch.save(state, buffer)  # serialized outside the transaction: locks stay short
        self._write(checkpoint=(step, buffer.getvalue()))
        self._last_checkpoint = time.monotonic()

    def checkpoint_due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self._settings.checkpoint_seconds

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        import torch

        with self._sessions() as session:
            row = session.execute(
                select(Checkpoint.step, Checkpoint.data).where(Checkpoint.run_id == self.run_id)
            ).first()
        if row is None:
            return None
        # weights_only: tensors and plain containers only (model and optimizer state dicts), so the
        # database's bytes cannot run code; tests/fake_run.py holds trainers to the same rule.
        state = torch.load(io.BytesIO(row.data), map_location=self.device, weights_only=True)
        log.info("run %s attempt %d resumes after step %d", self.run_id, self.attempt, row.step)
        return row.step, state

    # -- execute_run's side ----------------------------------------------------------------------

    def flush(self) -> None:
        """Write whatever is buffered (and renew the lease), now."""
        self._write()

    def finish(self, status: str, error: str | None = None) -> None:
        """Last fenced transaction of the attempt: buffered rows, the summary, and the final status."""
        self._write(final={"status": status, "error": error, "finished_at": NOW, "lease_expires_at": None},
                    summary=True)

    def requeue(self, error: str | None, *, release: bool, also: Callable[[Session], None] | None = None) -> None:
        """Hand the run back as queued: after a crash (attempt counted) or a shutdown (`release`: not counted).

        `also` runs inside the same transaction (the dispatcher's enqueue: a new procrastinate job).
        """
        final: dict[str, Any] = {"status": "queued", "worker": None, "lease_expires_at": None}
        if error is not None:
            final["error"] = error
        if release:
            # A graceful stop is not a failure: give the attempt back, so Ctrl-C three times does not
            # make a run poison. Safe for fencing: this is the attempt's last write.
            final["attempts"] = RUNS.c.attempts - 1
        self._write(final=final, summary=True, also=also)

    @property
    def cancel_requested(self) -> bool:
        """The run's cancel flag as of the last write (each write reads it)."""
        return self._cancel

    def summary(self) -> dict[str, Any]:
        """{"transitions", "claims", "final"} from the curves in memory (detect and CLAIMS of the spec)."""
        curves = {name: (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
                  for name, (xs, ys) in self._curves.items()}
        transitions = [t.model_dump() for t in self._spec.detect(curves, self._config)]
        claims = []
        for claim in self._spec.CLAIMS:
            result = claim.check(curves, self._config)
            claims.append({"id": claim.id, "text": claim.text, "verdict": result.verdict,
                           "value": result.value, "detail": result.detail})
        final = {name: ys[-1] for name, (_, ys) in self._curves.items() if ys}
        return json_safe({"transitions": transitions, "claims": claims, "final": final})

    # -- writing ---------------------------------------------------------------------------------

    def _touch(self) -> None:
        if self._fenced:
            raise Fenced(f"run {self.run_id}: attempt {self.attempt} is stale")
        self._last_call = time.monotonic()

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if (
            len(self._rows) >= self._settings.flush_rows
            or (self._rows and now - self._last_flush >= self._settings.flush_seconds)
            or now - self._last_renew >= self._settings.heartbeat_seconds
        ):
            self._write()

    def _summary_or_none(self, force: bool) -> dict[str, Any] | None:
        if not force and time.monotonic() - self._last_summary < SUMMARY_SECONDS:
            return None
        self._last_summary = time.monotonic()
        try:
            return self.summary()
        except Exception:  # a detector's bug must not kill the training run; the last summary stays
            log.exception("run %s: detect/CLAIMS failed; summary not updated", self.run_id)
            return None

    def _fence(self, session: Session, now: datetime, **values: Any) -> bool:
        """The fencing UPDATE: renew the lease; the cancel flag, or Fenced if this attempt is stale."""
        cancel = session.execute(
            update(RUNS)
            .where(RUNS.c.id == self.run_id, RUNS.c.attempts == self.attempt, RUNS.c.status == "running")
            .values(lease_expires_at=now + timedelta(seconds=self._settings.lease_seconds),
                    heartbeat_at=now, updated_at=now, **values)
            .returning(RUNS.c.cancel_requested)
        ).scalar_one_or_none()
        if cancel is None:
            raise Fenced(f"run {self.run_id}: attempt {self.attempt} is stale")
        return bool(cancel)

    def _write(
        self,
        *,
        checkpoint: tuple[int, bytes] | None = None,
        final: dict[str, Any] | None = None,
        summary: bool = False,
        also: Callable[[Session], None] | None = None,
    ) -> None:
        rows, snapshots = list(self._rows), list(self._snapshots)
        summary_json = self._summary_or_none(force=summary or final is not None)
        values: dict[str, Any] = {"progress_step": self.progress}
        if summary_json is not None:
            values["summary"] = summary_json
        if checkpoint is not None:
            values["checkpoint_step"] = checkpoint[0]
        with self._lock:
            try:
                with transaction(self._sessions) as session:
                    now = database_now(session)
                    cancel = self._fence(session, now, **values)
                    insert = dialect_insert(session)
                    # executemany: one cached statement, whatever the batch size.
                    if rows:
                        session.execute(insert(METRICS).on_conflict_do_nothing(), rows)
                    if snapshots:
                        session.execute(insert(SNAPSHOTS).on_conflict_do_nothing(), snapshots)
                    if checkpoint is not None:
                        step, data = checkpoint
                        stmt = insert(CHECKPOINTS).values(run_id=self.run_id, step=step, attempt=self.attempt,
                                                          data=data, created_at=now)
                        session.execute(stmt.on_conflict_do_update(
                            index_elements=["run_id"],
                            set_={"step": step, "attempt": self.attempt, "data": data, "created_at": now}))
                    if final is not None:
                        stamped = {key: now if value is NOW else value for key, value in final.items()}
                        session.execute(update(RUNS).where(RUNS.c.id == self.run_id).values(**stamped, updated_at=now))
                    if also is not None:
                        also(session)
            except Fenced:
                self._fenced = True
                raise
        # Committed: only now drop what was written (a failed transaction keeps it for the next try).
        del self._rows[: len(rows)]
        del self._snapshots[: len(snapshots)]
        if checkpoint is not None:
            self.checkpoint_step = checkpoint[0]
        self._cancel = cancel
        self._last_flush = self._last_renew = time.monotonic()
        self.writes += 1
        self.rows_written += len(rows)

    # -- the heartbeat thread --------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = self._settings.heartbeat_seconds
        while not self._beat_stop.wait(interval / 2):
            now = time.monotonic()
            quiet = now - self._last_renew >= interval
            alive = now - self._last_call < MAX_SILENT_SECONDS
            if not (quiet and alive) or self._fenced:
                continue
            if not self._lock.acquire(blocking=False):
                continue  # the trainer thread is writing: that renews the lease
            try:
                with transaction(self._sessions) as session:
                    self._cancel = self._fence(session, database_now(session))
                self._last_renew = time.monotonic()
            except Fenced:
                self._fenced = True
                return
            except Exception:  # the database blinked: try again next beat; the lease has slack
                log.warning("run %s: heartbeat failed", self.run_id, exc_info=True)
            finally:
                self._lock.release()
