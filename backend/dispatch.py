"""How a queued run reaches a worker: the lease queue on `runs` (SQLite) or procrastinate (PostgreSQL).

The backend only enqueues and cancels, inside the caller's transaction; workers/ does the rest.
"""

from typing import Protocol

from sqlalchemy.orm import Session

from backend.models import Run


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


def dispatcher_for(database_url: str) -> Dispatcher:
    if database_url.startswith("postgresql"):
        from backend.procrastinate_dispatch import ProcrastinateDispatcher

        return ProcrastinateDispatcher()
    return LeaseDispatcher()
