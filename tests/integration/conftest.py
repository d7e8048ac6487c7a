"""The shared worker suite's fixtures: `db` (SQLite file or fresh PostgreSQL database) and real worker processes.

Both dispatchers pass the same tests: the lease queue on SQLite, procrastinate on PostgreSQL.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.services.runs import cancel_run, create_run
from backend.store.db import make_engine, make_sessionmaker, transaction
from backend.store.dispatch import dispatcher_for
from backend.store.models import Checkpoint, Metric, Run
from tests.databases import database
from tests.servers import ROOT, phaselab_env

# Quick leases so that recovery takes seconds: a lost worker's run is reclaimed within ~2.5 s.
WORKER_ENV = {
    "PHASELAB_LEASE_SECONDS": "2",
    "PHASELAB_HEARTBEAT_SECONDS": "0.5",
    "PHASELAB_CHECKPOINT_SECONDS": "0.5",
    "PHASELAB_POLL_SECONDS": "0.2",
}


@dataclass
class TestDB:
    """A migrated database and the few queries the tests make of it."""

    __test__ = False
    kind: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def create(self, config: dict[str, Any] | None = None, *, preset: str | None = None, seed: int = 0,
               queue: str = "cpu", max_attempts: int = 3) -> str:
        with transaction(self.sessions) as session:
            run, created = create_run(session, dispatcher_for(self.url), phenomenon="grokking", config=config,
                                      preset=preset, seed=seed, queue=queue, max_attempts=max_attempts)
            assert created
            return run.id

    def run(self, run_id: str) -> Run:
        with self.sessions() as session:
            return session.get_one(Run, run_id)

    def cancel(self, run_id: str) -> Run:
        with transaction(self.sessions) as session:
            return cancel_run(session, dispatcher_for(self.url), session.get_one(Run, run_id))

    def metrics(self, run_id: str) -> dict[str, list[tuple[int, float | None]]]:
        """name -> [(step, value)] sorted by step, of the plain metrics (grokking's, on the step axis)."""
        with self.sessions() as session:
            rows = session.execute(
                select(Metric.name, Metric.x, Metric.value).where(Metric.run_id == run_id, Metric.member == "")
                .order_by(Metric.name, Metric.x)
            ).all()
        out: dict[str, list[tuple[int, float | None]]] = {}
        for name, x, value in rows:
            out.setdefault(name, []).append((int(x), value))
        return out

    def seqs(self, run_id: str) -> list[int]:
        """Every stored point's seq, in seq order."""
        with self.sessions() as session:
            return list(session.execute(select(Metric.seq).where(Metric.run_id == run_id).order_by(Metric.seq))
                        .scalars())

    def metric_count(self, run_id: str) -> int:
        with self.sessions() as session:
            return session.execute(select(func.count()).where(Metric.run_id == run_id)).scalar_one()

    def checkpoint_attempt(self, run_id: str) -> int | None:
        with self.sessions() as session:
            return session.execute(select(Checkpoint.attempt).where(Checkpoint.run_id == run_id)).scalar()

    def jobs(self, run_id: str) -> list[tuple[str, str]]:
        """(status, queue) of the run's procrastinate jobs, oldest first (PostgreSQL only)."""
        with self.sessions() as session:
            return [tuple(r) for r in session.execute(text(
                "SELECT status::text, queue_name FROM procrastinate_jobs WHERE args->>'run_id' = :id ORDER BY id"
            ), {"id": run_id})]

    def wait(self, run_id: str, until: Callable[[Run], bool], timeout: float = 20, what: str = "") -> Run:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if until(run):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id}: not {what or 'there'} after {timeout}s: status={run.status} "
                                     f"attempts={run.attempts} x={run.progress_x} error={run.error}")
            time.sleep(0.05)

    def wait_status(self, run_id: str, *statuses: str, timeout: float = 20) -> Run:
        return self.wait(run_id, lambda r: r.status in statuses, timeout, what="/".join(statuses))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Iterator[TestDB]:
    with database(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield TestDB(request.param, url, engine, make_sessionmaker(engine))
        finally:
            engine.dispose()


class Worker:
    """A real `phaselab worker` process (`python -m backend worker`); its output goes to a log file."""

    def __init__(self, url: str, log: Path, queue: str, env: dict[str, str], threads: int = 1) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend", "worker", "--queue", queue, "--device", "cpu",
                 "--threads", str(threads)],
                cwd=ROOT, env=phaselab_env(url, **{**WORKER_ENV, **env}), stdout=out, stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 90) -> None:
        """Until it printed its start line (torch is imported by then: seconds, more on a busy machine)."""
        deadline = time.monotonic() + timeout
        while "phaselab worker" not in self.output:
            assert self.alive(), f"worker exited {self.proc.returncode}:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"worker not ready:\n{self.output[-3000:]}"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGCONT)  # a frozen one must wake to die
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def workers(db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """start(queue="cpu", threads=1, **env) -> Worker; every worker is killed at teardown (before the database goes)."""
    started: list[Worker] = []

    def start(queue: str = "cpu", threads: int = 1, **env: str) -> Worker:
        worker = Worker(db.url, tmp_path / f"worker{len(started)}.log", queue, env, threads)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
