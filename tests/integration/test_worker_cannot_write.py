"""A worker that cannot write, for real: a file-size limit (RLIMIT_FSIZE, set on the running worker process with
prlimit, as a full disk or a quota would) makes every write to the SQLite file fail. The worker says why in one
log line, stops claiming, and recovers by itself when the limit is lifted: a queued run is then trained; a run it
was training is handed back without counting the attempt and completes with every step once; and `phaselab serve`
reports the local worker's state in /api/health/ready.

SQLite only: the limit is on the worker's own writes to the file. Its output goes to a pipe, not a file: the limit
would stop its log lines too (as it would not stop a terminal's or a journal's).
"""

import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from backend.store import presence
from tests.integration.conftest import WORKER_ENV, TestDB
from tests.integration.test_workers import assert_complete, small
from tests.servers import ROOT, phaselab_env, running_server

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                         reason="prlimit on another process is Linux's")]

CANNOT = "cannot write to the database: OperationalError:"
AGAIN = "can write to the database again"


def limit_writes(pid: int, on: bool) -> None:
    """Every write of process `pid` past the first byte of a file fails (EFBIG), or none does."""
    soft = 1 if on else resource.RLIM_INFINITY
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, resource.RLIM_INFINITY))


class PipedWorker:
    """`phaselab worker` whose output is read from a pipe (a log file would be held to the limit too)."""

    def __init__(self, url: str, **env: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "worker", "--queue", "cpu", "--device", "cpu", "--threads", "1"],
            cwd=ROOT, env=phaselab_env(url, **{**WORKER_ENV, **env}), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self._lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def wait_for(self, text: str, timeout: float = 90, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            assert self.proc.poll() is None, f"worker exited {self.proc.returncode}:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n{self.output[-3000:]}"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            limit_writes(self.proc.pid, False)
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[TestDB]:
    from backend.store.db import make_engine, make_sessionmaker
    from tests.databases import sqlite_database

    with sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            yield TestDB("sqlite", url, engine, make_sessionmaker(engine))
        finally:
            engine.dispose()


@pytest.fixture
def piped_worker(sqlite_db) -> Iterator[Callable[..., PipedWorker]]:
    started: list[PipedWorker] = []

    def start(**env: str) -> PipedWorker:
        started.append(PipedWorker(sqlite_db.url, **env))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def test_an_idle_worker_that_cannot_write_says_why_claims_nothing_and_recovers_by_itself(sqlite_db, piped_worker):
    worker = piped_worker()
    worker.wait_for("phaselab worker")
    time.sleep(1)  # its row is written
    limit_writes(worker.proc.pid, True)
    worker.wait_for(CANNOT, timeout=10)  # its next sign of life (every 1 s here) fails
    line = next(line for line in worker.output.splitlines() if CANNOT in line)
    assert "ERROR" in line and "claims no runs until a write goes through" in line, line
    run_id = sqlite_db.create(small(50))  # this process can write: the run waits in the queue
    time.sleep(4)  # two leases (2 s each) without a write from it
    assert sqlite_db.run(run_id).status == "queued" and sqlite_db.run(run_id).attempts == 0
    with sqlite_db.sessions() as session:
        assert presence.serving(session, "cpu", 2.0) == 0  # its row aged out: the API says nobody serves cpu
    assert worker.output.count(CANNOT) == 1 and "Traceback" not in worker.output, worker.output[-3000:]

    limit_writes(worker.proc.pid, False)
    worker.wait_for(AGAIN, timeout=40)
    run = sqlite_db.wait_status(run_id, "succeeded", timeout=60)
    assert run.attempts == 1
    with sqlite_db.sessions() as session:
        assert presence.serving(session, "cpu", 2.0) == 1


def test_a_run_whose_writes_fail_mid_training_is_handed_back_and_completes(sqlite_db, piped_worker):
    worker = piped_worker(PHASELAB_LEASE_SECONDS="20")
    worker.wait_for("phaselab worker")
    run_id = sqlite_db.create(small(6000))
    sqlite_db.wait(run_id, lambda r: r.status == "running" and r.progress_x >= 200, timeout=60, what="training")
    limit_writes(worker.proc.pid, True)
    worker.wait_for(CANNOT, timeout=10)
    line = next(line for line in worker.output.splitlines() if CANNOT in line)
    assert f"(while writing run {run_id})" in line or "(while recording its sign of life)" in line, line
    frozen = sqlite_db.run(run_id)
    assert frozen.status == "running" and frozen.error is None
    time.sleep(2)
    assert sqlite_db.run(run_id).progress_x == frozen.progress_x  # nothing written while it cannot

    limit_writes(worker.proc.pid, False)
    worker.wait_for(AGAIN, timeout=40)
    run = sqlite_db.wait_status(run_id, "succeeded", "failed", timeout=120)
    assert run.status == "succeeded" and run.error is None, worker.output[-3000:]
    assert run.attempts == 1  # the outage was not counted against the run
    assert_complete(sqlite_db, run_id, 6000)
    assert f"run {run_id} released" in worker.output and "crashed" not in worker.output, worker.output[-3000:]


def test_serve_reports_a_local_worker_that_cannot_write_in_readiness(tmp_path):
    from tests.databases import sqlite_database

    with sqlite_database(tmp_path) as url, running_server(url, tmp_path / "serve.log", workers=1,
                                                          PHASELAB_HEARTBEAT_SECONDS="0.5") as base:
        deadline = time.monotonic() + 60
        while not (ready := httpx.get(f"{base}/api/health/ready", timeout=10)).json().get("workers"):
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
        assert ready.status_code == 200
        (local,) = ready.json()["workers"]
        assert local["alive"] and local["writable"] is True
        while "phaselab worker" not in (tmp_path / "serve.log").read_text():  # up, and its start line written
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        limit_writes(local["pid"], True)
        try:
            deadline = time.monotonic() + 20
            while (answer := httpx.get(f"{base}/api/health/ready", timeout=10)).status_code != 503:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.2)
            body = answer.json()
            assert f"local worker 1 (pid {local['pid']}) cannot write to the database since" in body["detail"]
            assert "OperationalError" in body["detail"] and answer.headers["retry-after"]
            assert body["workers"][0]["writable"] is False and body["workers"][0]["since"]
            assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200  # the API itself is fine
        finally:
            limit_writes(local["pid"], False)
        deadline = time.monotonic() + 40
        while (answer := httpx.get(f"{base}/api/health/ready", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.json()["workers"][0]["writable"] is True
