"""The run state machine both dispatchers share: claim a run, fence every write of the attempt, put back
runs whose lease expired.

A claim is one transaction: runs whose lease expired are put back (`expire_leases`), then the oldest
queued run of the worker's queues is taken with one `UPDATE ... WHERE id = (SELECT ... LIMIT 1)
RETURNING` (`claim_oldest_queued`). Claiming increments `attempts`; that number fences every later
write of the attempt, so a worker that lost its lease writes nothing.

Every write of an attempt (workers/writer.py) is one transaction that starts with the fencing UPDATE
(`fence`)

    UPDATE runs SET lease_expires_at = now + lease, heartbeat_at = now, progress_step = ...
    WHERE id = :id AND attempts = :attempt AND status = 'running' RETURNING cancel_requested

No row means this attempt is stale (another worker reclaimed the run, or it was finished): the
transaction rolls back and `Fenced` is raised, so a worker that lost its lease writes nothing. A row
renews the lease and brings the cancel flag, which the trainer's `should_stop()` reports.

On SQLite the transaction starts with BEGIN IMMEDIATE (backend/store/db.py): claims are serialized.
On PostgreSQL the same code works (rows are locked FOR UPDATE SKIP LOCKED); there the procrastinate
worker claims by id (`claim_by_id`) and its reaper thread calls `expire_leases`
(workers/procrastinate_app.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import is_postgres, transaction
from backend.store.models import Run, as_utc
from backend.store.vocabulary import RunStatus

LEASE_LOST = "its worker stopped answering (lease expired)"

_RUNS = cast(Table, Run.__table__)  # the fencing UPDATE is on the hot path: Core, compiled once


class Fenced(Exception):
    """This attempt is stale: another worker owns the run, or it is no longer running. Nothing was written."""


@dataclass(frozen=True)
class ExpiredLease:
    """A run whose lease ran out, and where it went."""

    run_id: str
    status: RunStatus  # queued (to be claimed again), failed (out of attempts) or cancelled
    queue: str


def gave_up_error(attempts: int, why: str) -> str:
    """The error a run fails with when it runs out of attempts."""
    return f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {why}"


def database_now(session: Session) -> datetime:
    """The clock leases are measured by. PostgreSQL: the server's (its transaction start), so workers
    on machines whose clocks disagree still agree on who holds a lease. SQLite: this machine's."""
    if is_postgres(session):
        return session.execute(select(func.now())).scalar_one()
    return datetime.now(UTC)


def fence(session: Session, run_id: str, attempt: int, lease_seconds: float, now: datetime, **values: Any) -> bool:
    """The fencing UPDATE that opens every write of an attempt: renew the lease, set `values`.

    The run's cancel flag; `Fenced` if the attempt is stale, and then the caller's transaction must not
    commit.
    """
    cancel = session.execute(
        update(_RUNS)
        .where(_RUNS.c.id == run_id, _RUNS.c.attempts == attempt, _RUNS.c.status == RunStatus.RUNNING)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now, updated_at=now, **values)
        .returning(_RUNS.c.cancel_requested)
    ).scalar_one_or_none()
    if cancel is None:
        raise Fenced(f"run {run_id}: attempt {attempt} is stale")
    return bool(cancel)


def expire_leases(session: Session, now: datetime | None = None) -> list[ExpiredLease]:
    """Put back every running run whose lease expired (its worker died, froze or lost the database).

    Back to `queued` if it has attempts left (it resumes from its checkpoint), `failed` if not (a run
    that kills its worker every time is poison), `cancelled` if a cancel was asked for.
    The worker that held it is fenced: its attempt number no longer matches a running row.
    """
    now = now or database_now(session)
    expired = select(Run.id, Run.attempts, Run.max_attempts, Run.cancel_requested, Run.queue).where(
        Run.status == RunStatus.RUNNING, Run.lease_expires_at < now
    )
    if is_postgres(session):
        expired = expired.with_for_update(skip_locked=True)  # a frozen writer's locked row waits its turn
    put_back = []
    for run_id, attempts, max_attempts, cancel_requested, queue in session.execute(expired).all():
        status = RunStatus.QUEUED
        values: dict[str, object] = {"worker": None, "lease_expires_at": None, "updated_at": now}
        if cancel_requested:
            status = RunStatus.CANCELLED
            values.update(finished_at=now)
        elif attempts >= max_attempts:
            status = RunStatus.FAILED
            values.update(finished_at=now, error=gave_up_error(attempts, LEASE_LOST))
        done = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.attempts == attempts)
            .values(status=status, **values)
            .returning(Run.id)
        ).scalar_one_or_none()
        if done is not None:
            put_back.append(ExpiredLease(run_id, status, queue))
    return put_back


def _claim_values(worker_id: str, device: str | None, lease_seconds: float, now: datetime) -> dict[str, object]:
    return {
        "status": RunStatus.RUNNING,
        "attempts": Run.attempts + 1,
        "worker": worker_id,
        "device": device,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "heartbeat_at": now,
        "started_at": func.coalesce(Run.started_at, now),
        "updated_at": now,
    }


def claim_oldest_queued(
    session_factory: sessionmaker[Session],
    queues: Sequence[str],
    worker_id: str,
    lease_seconds: float,
    device: str | None = None,
) -> tuple[str, int] | None:
    """(run_id, attempt) of the oldest queued run of `queues`, now running under this worker; or None."""
    with transaction(session_factory) as session:
        now = database_now(session)
        expire_leases(session, now)
        _fail_exhausted(session, now, queues)
        oldest = (
            select(Run.id)
            .where(Run.queue.in_(queues), Run.status == RunStatus.QUEUED, Run.attempts < Run.max_attempts)
            .order_by(Run.created_at, Run.id)
            .limit(1)
        )
        if is_postgres(session):
            oldest = oldest.with_for_update(skip_locked=True)
        row = session.execute(
            update(Run)
            .where(Run.id == oldest.scalar_subquery(), Run.status == RunStatus.QUEUED)
            .values(**_claim_values(worker_id, device, lease_seconds, now))
            .returning(Run.id, Run.attempts)
        ).first()
    return (row[0], row[1]) if row else None


def claim_by_id(
    session_factory: sessionmaker[Session],
    run_id: str,
    worker_id: str,
    lease_seconds: float,
    device: str | None = None,
) -> int | None:
    """Claim one run by id (a procrastinate job names its run): the new attempt number, or None.

    None when there is nothing to do: the run finished, another worker holds a live lease on it, or it
    cannot run again (cancel asked for: marked cancelled; out of attempts: marked failed).
    """
    with transaction(session_factory) as session:
        now = database_now(session)
        current = select(Run.status, Run.attempts, Run.max_attempts, Run.cancel_requested,
                         Run.lease_expires_at).where(Run.id == run_id)
        if is_postgres(session):
            current = current.with_for_update()
        row = session.execute(current).first()
        if row is None:
            return None
        expired = row.status == RunStatus.RUNNING and row.lease_expires_at is not None and as_utc(row.lease_expires_at) < now
        if row.status != RunStatus.QUEUED and not expired:
            return None
        same = (Run.id == run_id, Run.status == row.status, Run.attempts == row.attempts)
        if row.cancel_requested or row.attempts >= row.max_attempts:
            why = LEASE_LOST if row.status == RunStatus.RUNNING else "out of attempts"
            final = {"status": RunStatus.CANCELLED} if row.cancel_requested else {
                "status": RunStatus.FAILED, "error": gave_up_error(row.attempts, why)}
            session.execute(update(Run).where(*same).values(
                **final, finished_at=now, updated_at=now, worker=None, lease_expires_at=None))
            return None
        return session.execute(
            update(Run).where(*same).values(**_claim_values(worker_id, device, lease_seconds, now))
            .returning(Run.attempts)
        ).scalar_one_or_none()


def _fail_exhausted(session: Session, now: datetime, queues: Sequence[str]) -> None:
    """A queued run with no attempts left (max_attempts lowered by hand, say) fails instead of waiting forever."""
    session.execute(
        update(Run)
        .where(Run.queue.in_(queues), Run.status == RunStatus.QUEUED, Run.attempts >= Run.max_attempts)
        .values(status=RunStatus.FAILED, finished_at=now, updated_at=now,
                error=func.coalesce(Run.error, "out of attempts"))
    )
