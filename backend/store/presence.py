"""Which workers are alive, and which queues they serve: each worker writes its row every few seconds; the API
reads them to tell a run queued where no worker serves that it is waiting for nothing."""

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import dialect_insert, transaction
from backend.store.models import Worker
from backend.store.runstate import database_now


def queues_column(queues: list[str]) -> str:
    return "," + ",".join(queues) + ","


def announce(factory: sessionmaker[Session], worker_id: str, queues: list[str], device: str, threads: int) -> None:
    """This worker is alive now, serving `queues` on `device`."""
    with transaction(factory) as session:
        values = {"queues": queues_column(queues), "device": device, "threads": threads,
                  "seen_at": database_now(session)}
        insert = dialect_insert(session)(Worker).values(id=worker_id, **values)
        session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=values))


def retire(factory: sessionmaker[Session], worker_id: str) -> None:
    """This worker stopped cleanly: forget it at once (a killed one ages out instead)."""
    with transaction(factory) as session:
        session.execute(delete(Worker).where(Worker.id == worker_id))


def serving(session: Session, queue: str, within_seconds: float) -> int:
    """How many workers serving `queue` showed a sign of life in the last `within_seconds`."""
    since = database_now(session) - timedelta(seconds=within_seconds)
    return session.execute(
        select(func.count()).select_from(Worker)
        .where(Worker.queues.contains(f",{queue},"), Worker.seen_at >= since)
    ).scalar_one()
