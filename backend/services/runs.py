"""Creating, listing and cancelling runs: the logic behind the thin /api/runs routes."""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend import catalogue
from backend.store.db import dialect_insert
from backend.store.dispatch import Dispatcher
from backend.store.models import Run
from backend.store.vocabulary import FINAL_STATUSES, Queue, RunStatus
from workers.phenomena.contract import OverBudget, over_budget

# Asking again for a run in one of these re-queues it (it resumes from its checkpoint); a succeeded run stays.
REQUEUED_ON_REQUEST = (RunStatus.FAILED, RunStatus.CANCELLED)


UnknownPreset = catalogue.UnknownPreset
BUDGET_SETTING = "PHASELAB_MAX_RUN_CPU_SECONDS"


class TooExpensive(Exception):
    """The config is valid but its run is over the compute budget: `over` says by how much and what would fit."""

    def __init__(self, over: OverBudget):
        super().__init__(over.message)
        self.over = over


def new_run_id() -> str:
    """Short, URL-safe, unguessable enough for sharing (8 chars, 48 bits)."""
    return secrets.token_urlsafe(6)


def create_run(
    session: Session,
    dispatcher: Dispatcher,
    *,
    phenomenon: str,
    config: dict[str, Any] | None = None,
    preset: str | None = None,
    seed: int = 0,
    queue: Queue = Queue.CPU,
    max_attempts: int = 3,
    budget_seconds: float = 0.0,
    admit: Callable[[Session], None] | None = None,
) -> tuple[Run, bool]:
    """The run for this content hash, and whether this call created (or re-queued) it.

    Raises catalogue.UnknownPhenomenon, UnknownPreset, pydantic.ValidationError, TooExpensive (the run's estimated
    compute is over `budget_seconds` of one CPU thread; 0: no budget), and whatever `admit` raises: it is called
    before a run is created or re-queued, never when the existing run is returned as it is (a client's limits).
    The database's unique index on content_hash decides races: INSERT ... ON CONFLICT DO NOTHING.
    A failed or cancelled run asked for again is re-queued (its checkpoint lets it resume); a running one whose
    cancel is pending keeps going.
    """
    ph = catalogue.get(phenomenon)
    validated = catalogue.resolve_config(ph, config, preset)
    if (over := over_budget(validated, budget_seconds, BUDGET_SETTING)) is not None:
        raise TooExpensive(over)
    code = catalogue.code_version(phenomenon)
    digest = catalogue.content_hash(phenomenon, validated, seed, code)
    if admit is not None:
        existing = session.execute(select(Run.status).where(Run.content_hash == digest)).scalar_one_or_none()
        if existing is None or existing in REQUEUED_ON_REQUEST:
            admit(session)
    values = {
        "id": new_run_id(),
        "phenomenon": phenomenon,
        "config": validated.model_dump(mode="json"),
        "seed": seed,
        "code_version": code,
        "content_hash": digest,
        "queue": queue,
        "status": RunStatus.QUEUED,
        "cancel_requested": False,
        "attempts": 0,
        "max_attempts": max_attempts,
        "progress_x": 0.0,
        "progress_total": float(validated.progress_total),
        "summary": {},
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
    }
    stmt = (
        dialect_insert(session)(Run)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["content_hash"])
        .returning(Run.id)
    )
    created_id = session.execute(stmt).scalar_one_or_none()
    run = session.execute(
        select(Run).where(Run.content_hash == digest).execution_options(populate_existing=True)
    ).scalar_one()
    if created_id is not None:
        dispatcher.enqueue(session, run)
        return run, True
    if run.status == RunStatus.RUNNING and run.cancel_requested:
        # Asked for again while a cancel is on its way: withdraw the cancel. A worker that has not seen it
        # trains on; one already stopping puts the run back in the queue (workers/execute.py).
        withdrawn = session.execute(
            update(Run)
            .where(Run.id == run.id, Run.status == RunStatus.RUNNING, Run.cancel_requested.is_(True))
            .values(cancel_requested=False, updated_at=datetime.now(UTC))
            .returning(Run.id)
        ).scalar_one_or_none()
        session.refresh(run)
        if withdrawn is not None:
            return run, False
        # Else its worker wrote `cancelled` first: re-queued just below, as any cancelled run asked for again.
    if run.status in REQUEUED_ON_REQUEST:
        requeued = session.execute(
            update(Run)
            .where(Run.id == run.id, Run.status.in_(REQUEUED_ON_REQUEST))
            .values(status=RunStatus.QUEUED, cancel_requested=False, attempts=0, error=None, finished_at=None,
                    queue=queue, updated_at=datetime.now(UTC))
            .returning(Run.id)
        ).scalar_one_or_none()
        if requeued is not None:
            session.refresh(run)
            dispatcher.enqueue(session, run)
            return run, True
    return run, False


def list_runs(
    session: Session, *, phenomenon: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Run], int]:
    query = select(Run)
    if phenomenon:
        query = query.where(Run.phenomenon == phenomenon)
    if status:
        query = query.where(Run.status == status)
    count = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Run.created_at.desc(), Run.id).limit(limit).offset(offset)).scalars()
    return list(rows), count


def cancel_run(session: Session, dispatcher: Dispatcher, run: Run) -> Run:
    """A queued run is cancelled at once; a running one at its worker's next step; a finished one stays."""
    if run.status in FINAL_STATUSES:
        return run
    now = datetime.now(UTC)
    session.execute(
        update(Run)
        .where(Run.id == run.id, Run.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELLED, cancel_requested=True, finished_at=now, updated_at=now)
    )
    session.execute(
        update(Run).where(Run.id == run.id, Run.status == RunStatus.RUNNING).values(cancel_requested=True, updated_at=now)
    )
    session.refresh(run)
    dispatcher.cancel(session, run)
    return run
