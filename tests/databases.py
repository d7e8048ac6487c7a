"""Real databases for tests: a fresh SQLite file, or a fresh database on the local PostgreSQL server."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.store.migrate import upgrade

POSTGRES_SERVER_URL = os.environ.get(
    "PHASELAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    url = f"sqlite:///{folder / 'phaselab.db'}"
    upgrade(url)
    yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, migrated database on the PostgreSQL server, dropped afterwards; skip if none answers."""
    admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"phaselab_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_SERVER_URL} ({type(exc).__name__}); "
                    "set PHASELAB_TEST_POSTGRES_URL")
    url = make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        with sqlite_database(folder) as url:
            yield url
    else:
        with postgres_database() as url:
            yield url
