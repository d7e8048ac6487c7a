"""Engine and session factories. Importing this module opens nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, reader: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and a folder to live in.

    On SQLite a writer's transaction takes the write lock at BEGIN (IMMEDIATE); a `reader` engine's begins
    DEFERRED and is query_only: under WAL it reads a snapshot and never waits for the writers, nor they for
    it. The API reads (GET) through a reader, so a classroom of viewers never queues behind the worker.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None hands BEGIN to us (below), so that a write transaction takes its
        # lock at BEGIN IMMEDIATE and concurrent writers queue on the busy timeout instead of failing.
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            if reader:
                cur.execute("PRAGMA query_only=ON")  # a write through a reader is an error, not a lock
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN DEFERRED" if reader else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session) -> Any:
    """The `insert` of the session's dialect, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def masked(url: str) -> str:
    """The database URL with its password hidden, for printing."""
    return make_url(url).render_as_string(hide_password=True)
