"""A worker that cannot write: one log line naming the database's error, probes that back off, recovery by itself,
and the report `phaselab serve` reads from each local worker's pipe. (Real processes and a real file-size limit:
tests/integration/test_worker_cannot_write.py.)"""

import json
import logging
import os
import sqlite3
import sys
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from workers import health as health_module
from workers.health import (
    HEALTH_FD,
    HealthReport,
    WriteHealth,
    database_error,
    is_write_failure,
    parent_channel,
)
from workers.local_pool import LocalWorkers

FULL = OperationalError("INSERT INTO workers ...", {}, sqlite3.OperationalError("database or disk is full"))
READ_ONLY = OperationalError("UPDATE runs ...", {}, sqlite3.OperationalError("attempt to write a readonly database"))


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(health_module, "FIRST_RETRY_SECONDS", 0.01)
    monkeypatch.setattr(health_module, "MAX_RETRY_SECONDS", 0.04)


def test_the_database_error_is_told_in_its_own_words():
    assert database_error(FULL) == "OperationalError: database or disk is full"
    assert is_write_failure(FULL) and not is_write_failure(ValueError("a trainer's bug"))


def test_one_line_says_why_then_the_probes_back_off_until_a_write_goes_through(caplog):
    results = [FULL, FULL, None]  # two more failed probes, then a write that works
    probes: list[float] = []

    def probe() -> None:
        probes.append(time.monotonic())
        if (outcome := results.pop(0)) is not None:
            raise outcome

    reports: list[HealthReport] = []
    health = WriteHealth("host:1", threading.Event(), report=reports.append, probe=probe)
    with caplog.at_level(logging.DEBUG, logger="phaselab.worker"):
        health.failed(FULL, "recording its sign of life")
        health.failed(FULL, "claiming a run")  # the same error again: not said again
        assert not health.ok and health.problem == "OperationalError: database or disk is full (while recording " \
            "its sign of life)"
        assert health.wait_until_writable() is True
    assert health.ok and health.problem is None and len(probes) == 3
    assert probes[2] - probes[1] > probes[1] - probes[0] > 0  # the pause doubles
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert said[0].startswith("worker host:1 cannot write to the database: OperationalError: database or disk is full")
    assert "claims no runs" in said[0] and said[1].startswith("worker host:1 can write to the database again")
    assert len(said) == 2, said
    assert [r.writable for r in reports] == [False, True] and reports[0].problem == health_module.database_error(
        FULL) + " (while recording its sign of life)" and reports[0].since


def test_a_new_error_is_said_and_reported_again(caplog):
    reports: list[HealthReport] = []
    health = WriteHealth("host:2", threading.Event(), report=reports.append)
    with caplog.at_level(logging.ERROR, logger="phaselab.worker"):
        health.failed(FULL, "writing run r1")
        health.failed(READ_ONLY, "trying a write again")
    assert len(caplog.records) == 2 and "now: OperationalError: attempt to write a readonly database" in \
        caplog.records[1].getMessage()
    assert [r.writable for r in reports] == [False, False]


def test_a_worker_told_to_stop_stops_waiting():
    stop = threading.Event()

    def probe() -> None:
        stop.set()
        raise FULL

    health = WriteHealth("host:3", stop, probe=probe)
    health.failed(FULL, "claiming a run")
    assert health.wait_until_writable() is False and not health.ok


def test_a_local_worker_reports_on_its_pipe(monkeypatch):
    read, write = os.pipe()
    monkeypatch.setenv(HEALTH_FD, str(write))
    send = parent_channel()
    assert send is not None
    send(HealthReport(False, "OperationalError: disk I/O error (while claiming a run)", 1.5e9))
    os.close(write)
    with os.fdopen(read) as pipe:
        assert json.loads(pipe.readline()) == {"writable": False, "since": 1.5e9,
                                               "problem": "OperationalError: disk I/O error (while claiming a run)"}


def test_no_pipe_no_channel(monkeypatch):
    monkeypatch.delenv(HEALTH_FD, raising=False)
    assert parent_channel() is None


def test_serve_reads_each_local_workers_state_from_its_pipe():
    """A stand-in worker that reports it cannot write; LocalWorkers.health() (what /api/health/ready shows) says so."""
    child = ("import json, os, time; fd = int(os.environ['PHASELAB_HEALTH_FD']); "
             "os.write(fd, (json.dumps({'writable': False, 'problem': 'OperationalError: disk I/O error', "
             "'since': 1.5e9}) + '\\n').encode()); time.sleep(60)")
    pool = LocalWorkers([sys.executable, "-c", child], 1)
    try:
        deadline = time.monotonic() + 20
        while pool.health()[0]["writable"] is not False:
            assert time.monotonic() < deadline, pool.health()
            time.sleep(0.05)
        (state,) = pool.health()
        assert state == {"worker": 1, "pid": pool.pids[0], "alive": True, "writable": False,
                         "problem": "OperationalError: disk I/O error", "since": 1.5e9}
    finally:
        pool.stop(grace_seconds=2)
    assert pool.health()[0]["alive"] is False and pool.health()[0]["writable"] is None


def test_the_presence_thread_alone_brings_a_worker_back(monkeypatch):
    """On PostgreSQL procrastinate's loop claims, not ours: the sign-of-life thread does the probing there."""
    from workers import presence as presence_module

    calls: list[int] = []
    failures = [FULL, FULL]

    def announce(*_args: object) -> None:
        calls.append(1)
        if failures:
            raise failures.pop(0)

    monkeypatch.setattr(presence_module, "announce", announce)
    monkeypatch.setattr(presence_module, "retire", lambda *_args: None)
    health = WriteHealth("host:4", threading.Event())
    beat = presence_module.Presence(None, "host:4", ["cpu"], "cpu", 1, every_seconds=0.005,  # type: ignore[arg-type]
                                    health=health)
    health.probe = beat.announce
    with beat:  # the first beat fails: unhealthy; the next beats probe on the backoff until one goes through
        deadline = time.monotonic() + 5
        while not (health.ok and len(calls) >= 3):
            assert time.monotonic() < deadline, (health.problem, len(calls))
            time.sleep(0.01)
    assert health.ok and len(calls) >= 3
