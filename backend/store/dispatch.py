"""How a queued run reaches a worker: the lease queue on `runs` (SQLite) or procrastinate (PostgreSQL).

The API only enqueues and cancels, inside the caller's transaction; the workers claim, run and settle
(backend/store/runstate.py, workers/).
"""

from typing import Protocol

from sqlalchemy.orm import Session

from backend.store.models import Run
from backend.store.procrastinate_jobs import cancel_jobs, defer_execute_run


class Dispatcher(Protocol):
    def enqueue(self, session: Session, run: Run) -> None:
        """Make `run` (already flushed, status queued) reach a worker of `run.queue`."""

    def cancel(self, session: Session, run: Run) -> None:
        """Tell the dispatcher that `run` (cancel_requested already set) should stop."""


class LeaseDispatcher:
    """SQLite: the queued row itself is the job; workers claim it with one UPDATE ... RETURNING."""

    def enqueue(self, session: Session, run: Run) -> None:
        return None

    def cancel(self, session: Session, run: Run) -> None:
        return None


class ProcrastinateDispatcher:
    """Each attempt of a run is one procrastinate job `execute_run(run_id=...)` on the run's queue.

    The `runs` row stays the truth (status, attempts, lease, cancel flag); jobs only carry runs to workers.
    """

    def enqueue(self, session: Session, run: Run) -> None:
        defer_execute_run(session, run.id, run.queue)

    def cancel(self, session: Session, run: Run) -> None:
        # A queued run's job becomes `cancelled` (no worker will fetch it); a running one's gets
        # abort_requested, which its worker hears at once by NOTIFY (and polls as a fallback). The
        # worker also reads runs.cancel_requested at each metric flush, so either path stops it.
        cancel_jobs(session, run.id)


def dispatcher_for(database_url: str) -> Dispatcher:
    if database_url.startswith("postgresql"):
        return ProcrastinateDispatcher()
    return LeaseDispatcher()
