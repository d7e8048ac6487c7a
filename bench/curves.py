"""Curves at any length, side by side in one run: a 1M-point curve read whole + downsampled vs read from the
min/max summary, and metric ingestion by a raw sqlite3 executemany vs the worker's write path.

    .venv/bin/python bench/curves.py [--points 1000000] [--rows 200000] [--postgres]

Both comparisons are ratios against a baseline measured here, in the same run, on the same SQLite file:
- reads: `read_points` + downsampling in memory (what GET /api/runs/{id}/metrics did) vs `read_downsampled`
  (what it does now), and the GET itself, each the median of a few tries;
- ingestion: raw sqlite3 executemany of the rows, 1000 per transaction, vs the same rows logged through a
  RunContext (the trainer's `ctx.log`: the fenced writer and its summary), at the default flush_rows and at
  100 (the old default); the best of two rounds each, taken in turns so that a busy machine slows all alike.
  It runs first, into a small file, where raw inserts are fastest: the stricter ratio.
"""

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from backend.main import create_api  # noqa: E402
from backend.services.metrics import as_series  # noqa: E402
from backend.services.runs import create_run  # noqa: E402
from backend.store.curves import read_downsampled, read_points  # noqa: E402
from backend.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, make_sessionmaker, transaction  # noqa: E402
from backend.store.dispatch import dispatcher_for  # noqa: E402
from backend.store.migrate import upgrade  # noqa: E402
from backend.store.runstate import claim_by_id  # noqa: E402
from backend.store.settings import Settings  # noqa: E402
from backend.store.vocabulary import Device, RunStatus  # noqa: E402
from workers import phenomena  # noqa: E402
from workers.run_context import RunContext  # noqa: E402
from workers.writer import RunWriter  # noqa: E402

NAME = "bench/value"  # not one of grokking's metrics: the run's summary has nothing to detect in it
RAW_BATCH = 1000
POSTGRES_SERVER_URL = os.environ.get(
    "PHASELAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def curve(n: int, offset: int = 0) -> np.ndarray:
    """A noisy decaying curve with two one-point spikes and a few non-finite values (stored as NULL)."""
    rng = np.random.default_rng(offset)
    steps = np.arange(n, dtype=np.float64)
    values = np.exp(-steps / (n / 5)) + 0.01 * rng.standard_normal(n)
    values[n // 3], values[2 * n // 3] = 50.0, -50.0
    values[::9973] = np.nan
    return values


def new_run(sessions: sessionmaker[Session], url: str, seed: int) -> str:
    with transaction(sessions) as session:
        run, _ = create_run(session, dispatcher_for(url), phenomenon="grokking", config={"p": 11, "steps": 100_000},
                            seed=seed)
    return run.id


def write_path(url: str, sessions: sessionmaker[Session], seed: int, values: np.ndarray, flush_rows: int) -> float:
    """rows/s of `values` logged one per step through a RunContext flushing every flush_rows rows."""
    run_id = new_run(sessions, url, seed)
    # Only the row count triggers a write (the default flush_rows): no timed flushes, heartbeats, checkpoints.
    settings = Settings(database_url=url, flush_rows=flush_rows, flush_seconds=3600, heartbeat_seconds=3600,
                        lease_seconds=7200, checkpoint_seconds=3600)
    attempt = claim_by_id(sessions, run_id, "bench:1", settings.lease_seconds, Device.CPU)
    assert attempt is not None
    grokking = phenomena.load("grokking")
    ctx = RunContext(run_id=run_id, attempt=attempt, phenomenon=grokking,
                     config=grokking.config.model_validate({"p": 11, "steps": 100_000}), device=Device.CPU,
                     settings=settings, session_factory=sessions)
    logged = values.tolist()
    ctx.start()
    try:
        start = time.perf_counter()
        for step, value in enumerate(logged):
            ctx.log(step, {NAME: value})
        ctx.writer.flush()
        elapsed = time.perf_counter() - start
    finally:
        ctx.close()
    assert ctx.writer.rows_written == len(logged)
    return len(logged) / elapsed


def raw_executemany(path: str, sessions: sessionmaker[Session], url: str, seed: int, values: np.ndarray) -> float:
    """rows/s of the same rows by sqlite3 executemany, RAW_BATCH per transaction, the app's pragmas."""
    run_id = new_run(sessions, url, seed)
    rows = [(run_id, NAME, "", float(step), value if np.isfinite(value) else None, step + 1)
            for step, value in enumerate(values.tolist())]
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        start = time.perf_counter()
        for at in range(0, len(rows), RAW_BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO metrics (run_id, name, member, x, value, seq) VALUES (?, ?, ?, ?, ?, ?) "
                             "ON CONFLICT DO NOTHING", rows[at:at + RAW_BATCH])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return len(rows) / elapsed


def median_ms(fn: Callable[[], object], tries: int) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def ingestion(path: str, url: str, sessions: sessionmaker[Session], rows: int, flushes: list[int]) -> None:
    """Raw executemany and the write path at each flush size, in turns, twice; the best of each."""
    values = curve(rows, offset=1)
    raw: list[float] = []
    ours: dict[int, list[float]] = {flush: [] for flush in flushes}
    for round_ in range(2):
        raw.append(raw_executemany(path, sessions, url, 100 + round_, values))
        for flush in flushes:
            ours[flush].append(write_path(url, sessions, 200 + 10 * round_ + flush, values, flush))
    default = Settings().flush_rows
    print(f"{f'ingestion of {rows:,} rows':<27}{f'raw sqlite3 executemany ({RAW_BATCH}/txn)':<38}{max(raw):>9,.0f} rows/s   "
          "(baseline)", flush=True)
    for flush in flushes:
        label = f"write path, flush_rows {flush}{' (default)' if flush == default else ''}"
        print(f"{'':<27}{label:<38}{max(ours[flush]):>9,.0f} rows/s   ratio {max(ours[flush]) / max(raw):.2f}x",
              flush=True)


def reads(url: str, sessions: sessionmaker[Session], points: int, max_points: int) -> None:
    values = curve(points)
    start = time.perf_counter()
    run_id = _write_long_curve(url, sessions, values)
    written = time.perf_counter() - start

    def whole() -> list[dict]:
        with sessions() as session:
            found, _ = read_points(session, run_id)
        return as_series(found, None, max_points, {})

    def summary() -> list[dict]:
        with sessions() as session:
            found, _ = read_downsampled(session, run_id, None, max_points)
        return as_series(found)

    shown = summary()
    assert len(shown[0]["x"]) <= max_points
    assert max(v for v in shown[0]["value"] if v is not None) == 50.0  # the spike survived
    whole_ms = median_ms(whole, 3)
    summary_ms = median_ms(summary, 15)
    with TestClient(create_api(Settings(database_url=url))) as client:
        def get() -> dict:
            answer = client.get(f"/api/runs/{run_id}/metrics", params={"max_points": max_points})
            assert answer.status_code == 200
            return answer.json()

        get()
        api_ms = median_ms(get, 15)
        served = len(get()["series"][0]["x"])
    print(f"{f'read of {points:,} points':<27}{f'whole + downsampled to ≤{max_points}':<38}{whole_ms:>9.1f} ms       "
          "(baseline)", flush=True)
    print(f"{'':<27}{'the summary':<38}{summary_ms:>9.1f} ms       ratio {whole_ms / summary_ms:.0f}x faster",
          flush=True)
    print(f"{'':<27}{'GET /api/runs/{id}/metrics':<38}{api_ms:>9.1f} ms       ({served} points; the curve was "
          f"written in {written:.1f} s)", flush=True)


def _write_long_curve(url: str, sessions: sessionmaker[Session], values: np.ndarray) -> str:
    """A run holding `values` as one curve, written by the worker's writer (so with its summary)."""
    run_id = new_run(sessions, url, 1)
    settings = Settings(database_url=url, flush_rows=10_000, flush_seconds=3600, heartbeat_seconds=3600,
                        lease_seconds=7200)
    attempt = claim_by_id(sessions, run_id, "bench:1", settings.lease_seconds, Device.CPU)
    assert attempt is not None
    writer = RunWriter(run_id=run_id, attempt=attempt, settings=settings, session_factory=sessions,
                       summarize=dict)
    for step, value in enumerate(values.tolist()):
        writer.add_metric(float(step), NAME, "", value)
        if step % 10_000 == 9_999:
            writer.flush()
    writer.finish(RunStatus.SUCCEEDED)
    return run_id


def postgres_reads(points: int, max_points: int) -> None:
    """The read comparison again on a scratch database of PHASELAB_TEST_POSTGRES_URL's server, dropped after."""
    admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"phaselab_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: say so and stop
        print(f"PostgreSQL skipped: no server at {POSTGRES_SERVER_URL} ({type(exc).__name__})")
        return
    url = make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            print("PostgreSQL:")
            reads(url, make_sessionmaker(engine), points, max_points)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the long curve that is read")
    parser.add_argument("--rows", type=int, default=200_000, help="rows written by each ingestion measurement")
    parser.add_argument("--max-points", type=int, default=2000)
    parser.add_argument("--flush-rows", type=int, nargs="+", default=sorted({Settings().flush_rows, 100}, reverse=True),
                        help="the write path's flush sizes (default: the setting's default, and 100)")
    parser.add_argument("--postgres", action="store_true", help="also the reads on PostgreSQL (about a minute more)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            print("SQLite:")
            ingestion(path, url, sessions, args.rows, args.flush_rows)  # first, into a small file: the stricter ratio
            reads(url, sessions, args.points, args.max_points)
        finally:
            engine.dispose()
    if args.postgres:
        postgres_reads(args.points, args.max_points)


if __name__ == "__main__":
    main()
