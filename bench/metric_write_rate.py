"""Metric rows per second through the worker's RunContext, one row per transaction vs 100, on SQLite and PostgreSQL.

    .venv/bin/python bench/metric_write_rate.py [--rows 50000]

PostgreSQL: a scratch database on PHASELAB_TEST_POSTGRES_URL's server (default postgres@127.0.0.1:5432),
created and dropped here; skipped if no server answers.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from backend.services.runs import create_run  # noqa: E402
from backend.store.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from backend.store.dispatch import dispatcher_for  # noqa: E402
from backend.store.migrate import upgrade  # noqa: E402
from backend.store.runstate import claim_by_id  # noqa: E402
from backend.store.settings import Settings  # noqa: E402
from backend.store.vocabulary import Device  # noqa: E402
from workers import phenomena  # noqa: E402
from workers.run_context import RunContext  # noqa: E402

POSTGRES_SERVER_URL = os.environ.get(
    "PHASELAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def rows_per_second(url: str, batch: int, rows: int, seed: int) -> float:
    """Log `rows` single-metric rows through a RunContext flushing every `batch` rows; rows/s."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    config = {"p": 11, "steps": 100_000}
    with transaction(sessions) as session:
        run, _ = create_run(session, dispatcher_for(url), phenomenon="grokking", config=config, seed=seed)
    # Only the row count triggers a write: no time-based flushes, heartbeats or checkpoints.
    settings = Settings(database_url=url, flush_rows=batch, flush_seconds=3600, heartbeat_seconds=3600,
                        lease_seconds=7200, checkpoint_seconds=3600)
    attempt = claim_by_id(sessions, run.id, "bench:1", settings.lease_seconds, Device.CPU)
    assert attempt is not None
    grokking = phenomena.load("grokking")
    ctx = RunContext(run_id=run.id, attempt=attempt, phenomenon=grokking,
                     config=grokking.config.model_validate(config), device=Device.CPU, settings=settings,
                     session_factory=sessions)
    ctx.start()
    try:
        start = time.perf_counter()
        for step in range(rows):
            ctx.log(step, {"bench/value": step * 1e-3})
        ctx.writer.flush()
        elapsed = time.perf_counter() - start
    finally:
        ctx.close()
        engine.dispose()
    assert ctx.writer.rows_written == rows
    return rows / elapsed


def measure(label: str, url: str, rows: int) -> None:
    upgrade(url)
    single = rows_per_second(url, batch=1, rows=max(500, rows // 25), seed=1)
    batched = rows_per_second(url, batch=100, rows=rows, seed=2)
    print(f"{label:<11} batch 1: {single:>9,.0f} rows/s   batch 100: {batched:>9,.0f} rows/s   "
          f"ratio {batched / single:5.1f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows for the batched measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", f"sqlite:///{folder}/bench.db", args.rows)

    admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"phaselab_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: say so and stop
        print(f"PostgreSQL  skipped: no server at {POSTGRES_SERVER_URL} ({type(exc).__name__})")
        return
    try:
        measure("PostgreSQL", make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False),
                args.rows)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
