"""The worker suite, run against both dispatchers (lease queue on SQLite, procrastinate on PostgreSQL):
real worker processes, killed, frozen, cancelled and poisoned; the `runs` row must always end right."""

import math
import signal
import sqlite3
import time

import pytest
from sqlalchemy import event, text, update

from backend.services.runs import create_run
from backend.store import presence
from backend.store.db import make_engine, make_sessionmaker, transaction
from backend.store.dispatch import LeaseDispatcher, dispatcher_for
from backend.store.models import Run, Snapshot
from backend.store.runstate import claim_by_id
from backend.store.settings import Settings
from tests.databases import postgres_database
from tests.integration.conftest import TestDB
from workers import phenomena
from workers.execute import execute_run
from workers.memory_run import MemoryRun
from workers.procrastinate_app import reap_once
from workers.run_context import RunContext, SnapshotRejected

pytestmark = pytest.mark.integration

METRICS = {"train/loss", "train/acc", "val/loss", "val/acc", "weight_norm"}


def small(steps: int) -> dict:
    """A grokking config that trains at ~600 steps/s on one thread (p = 11, a 16-32 MLP)."""
    return {"p": 11, "embed_dim": 16, "width": 32, "lr": 1e-2, "steps": steps}


def assert_complete(db, run_id: str, steps: int) -> dict[str, list[tuple[int, float | None]]]:
    """Every metric at every step 0..steps exactly once (the primary key forbids duplicates; no gap)."""
    curves = db.metrics(run_id)
    assert set(curves) == METRICS
    for name, points in curves.items():
        assert [s for s, _ in points] == list(range(steps + 1)), name
    return curves


def reference(config: dict, seed: int = 0, threads: int = 1) -> dict[tuple[str, int], float]:
    """(metric, step) -> value of an uninterrupted in-process run: what an interrupted one must match."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # as the worker that trained it
    run = MemoryRun()
    phenomena.trainer("grokking").train(phenomena.load("grokking").config.model_validate(config), run, seed)
    torch.set_num_threads(before)
    return {(name, int(x)): value for (name, _), points in run.points.items() for x, value in points.items()}


def test_a_tiny_run_completes_with_every_step_once_and_a_summary(db, workers):
    run_id = db.create(preset="tiny")
    workers().wait_ready()
    run = db.wait_status(run_id, "succeeded", timeout=30)
    steps = run.config["steps"]
    assert run.attempts == 1 and run.progress_x == steps and run.device == "cpu" and run.finished_at
    curves = assert_complete(db, run_id, steps)
    assert all(v is not None and math.isfinite(v) for points in curves.values() for _, v in points)
    summary = run.summary
    assert {t["id"] for t in summary["transitions"]} >= {"memorization"}
    assert [c["id"] for c in summary["claims"]] == [c.id for c in phenomena.load("grokking").claims]
    assert all(c["verdict"] == c["expected"] for c in summary["claims"]), summary["claims"]
    assert all(c["value"] is not None for c in summary["claims"] if c["verdict"] == "pass")
    assert {c["id"] for c in summary["claims"] if c["expected"] == "pass"} >= {"late_generalization", "norm_falls"}
    assert db.seqs(run_id) == list(range(1, 5 * (steps + 1) + 1))  # one seq per point, in write order
    assert set(summary["final"]) == METRICS and summary["final"]["train/acc"] == curves["train/acc"][-1][1]
    if db.kind == "postgres":
        assert db.jobs(run_id) == [("succeeded", "cpu")]


def owner_and_other(pair, run):
    """(the worker that holds `run`, the other one), from runs.worker = "host:pid"."""
    first, second = pair
    return (first, second) if run.worker.endswith(f":{first.proc.pid}") else (second, first)


def test_b_sigkill_mid_run_resumes_from_the_checkpoint_on_another_worker(db, workers):
    config = small(1000)
    run_id = db.create(config)
    # Both start at once; one takes the run, the other idles. Their thread counts differ: the rescuer
    # must train on with the run's own (a matmul's sums split by thread), or the curves would drift.
    pair = workers(threads=1), workers(threads=2)
    for worker in pair:
        worker.wait_ready()
    run = db.wait(run_id, lambda r: r.checkpoint_step is not None and r.progress_x > r.checkpoint_step + 20,
                  what="past a checkpoint", timeout=60)
    killed, rescuer = owner_and_other(pair, run)
    killed.signal(signal.SIGKILL)
    run = db.wait_status(run_id, "succeeded", timeout=90)
    assert run.attempts == 2 and run.worker.endswith(f":{rescuer.proc.pid}")
    assert "resumes after step" in rescuer.output  # from the checkpoint, not from scratch
    assert run.resumed_from is not None and run.resumed_from <= run.checkpoint_step  # and the run says where
    assert run.threads == (1 if killed is pair[0] else 2)  # the first attempt's count, kept by the second
    curves = assert_complete(db, run_id, 1000)
    expected = reference(config, threads=run.threads)
    assert {(name, s): v for name, points in curves.items() for s, v in points} == expected  # bit for bit


def test_c_a_frozen_worker_past_its_lease_is_fenced_and_writes_nothing(db, workers):
    run_id = db.create(small(2000))
    pair = workers(), workers()
    for worker in pair:
        worker.wait_ready()
    run = db.wait(run_id, lambda r: r.checkpoint_step is not None, what="checkpointed")
    frozen, rescuer = owner_and_other(pair, run)
    freeze_outside_a_write(db, frozen)
    taken = db.wait(run_id, lambda r: r.attempts == 2 and r.status == "running", what="taken over", timeout=15)
    assert taken.worker.endswith(f":{rescuer.proc.pid}")
    frozen.signal(signal.SIGCONT)  # it wakes mid-step, believing it still owns the run
    run = db.wait_status(run_id, "succeeded", timeout=30)
    assert run.attempts == 2 and run.worker.endswith(f":{rescuer.proc.pid}")
    assert db.checkpoint_attempt(run_id) == 2
    assert_complete(db, run_id, 2000)
    deadline = time.monotonic() + 5
    while "attempt 1 is stale" not in frozen.output and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "attempt 1 is stale" in frozen.output, frozen.output[-3000:]
    assert frozen.alive()  # it dropped the run quietly and waits for the next one


def freeze_outside_a_write(db, worker) -> None:
    """SIGSTOP the worker. On SQLite, a process frozen inside a write transaction holds the database's
    one write lock and blocks every other writer until it wakes (SQLite's nature, not the queue's), so
    thaw and refreeze until it is caught outside one. PostgreSQL ends such a transaction after a lease
    (idle_in_transaction_session_timeout) and the takeover goes on."""
    for _ in range(50):
        worker.signal(signal.SIGSTOP)
        if db.kind != "sqlite" or not sqlite_write_locked(db.url):
            return
        worker.signal(signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the worker was always inside a write transaction")


def sqlite_write_locked(url: str) -> bool:
    connection = sqlite3.connect(url.split("///", 1)[1], timeout=0.3, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def test_d_a_kill_after_the_last_step_before_finishing_ends_succeeded_once(db, workers):
    run_id = db.create(small(400))
    crashing = workers(PHASELAB_TEST_CRASH_BEFORE_FINISH="1")
    crashing.wait_ready()
    db.wait_status(run_id, "running", timeout=30)
    workers().wait_ready()  # then idles until the crashed worker's lease expires
    deadline = time.monotonic() + 30
    while crashing.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert crashing.proc.returncode == 17, crashing.output[-3000:]
    assert db.metric_count(run_id) == 401 * len(METRICS)  # every row written before it died ...
    run = db.run(run_id)
    assert run.status == "running" or run.attempts == 2  # ... and the status was not
    run = db.wait_status(run_id, "succeeded", timeout=30)
    assert run.attempts == 2 and run.progress_x == 400
    assert_complete(db, run_id, 400)
    with db.sessions() as session:
        snaps = session.query(Snapshot.step).filter(Snapshot.run_id == run_id).all()
    assert len(snaps) == len(set(snaps))
    # Finishing is idempotent: a late duplicate job for the run claims nothing and changes nothing.
    outcome = execute_run(run_id, settings=Settings(database_url=db.url), session_factory=db.sessions,
                          worker_id="late:1", device="cpu")
    assert outcome == "skipped" and db.run(run_id).status == "succeeded" and db.run(run_id).attempts == 2


def test_e_cancel_queued_running_and_racing_completion(db, workers):
    queued = db.create(small(200), seed=1)
    assert db.cancel(queued).status == "cancelled"
    running = db.create(small(100_000), seed=2)
    worker = workers()
    worker.wait_ready()
    db.wait(running, lambda r: r.status == "running" and r.progress_x > 50, what="training")
    asked = time.monotonic()
    db.cancel(running)
    run = db.wait_status(running, "cancelled", timeout=5)
    assert time.monotonic() - asked < 2.0  # stops within a step (a flush reads the flag; procrastinate aborts)
    assert run.attempts == 1 and 50 < run.progress_x < 100_000 and run.finished_at
    never = db.run(queued)
    assert never.status == "cancelled" and never.attempts == 0 and db.metric_count(queued) == 0
    if db.kind == "postgres":
        assert db.jobs(queued) == [("cancelled", "cpu")]
        assert db.jobs(running) == [("aborted", "cpu")]

    racing = db.create(small(300), seed=3)  # cancelled at the very end: either outcome, never stuck
    db.wait(racing, lambda r: r.progress_x >= 290 or r.status == "succeeded", what="near the end")
    db.cancel(racing)
    run = db.wait_status(racing, "succeeded", "cancelled", timeout=5)
    time.sleep(0.5)
    settled = db.run(racing)
    assert settled.status == run.status and settled.lease_expires_at is None
    assert worker.alive()


def ask_again(db, config: dict, seed: int) -> Run:
    """POST the same config and seed again (what a student re-opening a class link does)."""
    with transaction(db.sessions) as session:
        run, _ = create_run(session, dispatcher_for(db.url), phenomenon="grokking", config=config, seed=seed)
        return run


@pytest.mark.parametrize("wait", [0.0, 1.0], ids=["at_once", "after_it_stopped"])
def test_e2_asking_again_right_after_a_cancel_trains_the_run_to_the_end(db, workers, wait):
    config = small(2_000)
    running = db.create(config, seed=4)
    workers().wait_ready()
    db.wait(running, lambda r: r.status == "running" and r.progress_x > 50, what="training")
    db.cancel(running)
    time.sleep(wait)
    again = ask_again(db, config, seed=4)
    assert again.id == running and again.status in ("running", "queued") and not again.cancel_requested
    run = db.wait_status(running, "succeeded", timeout=60)
    assert run.progress_x == 2_000
    assert_complete(db, running, 2_000)


def test_f_poison_runs_fail_after_max_attempts_with_a_clear_error(db, workers):
    crashing = db.create(small(100), seed=1, max_attempts=3)  # its trainer raises every time
    lost = db.create(small(100), seed=2, max_attempts=2)  # it has lost its worker twice already
    with transaction(db.sessions) as session:
        session.execute(update(Run).where(Run.id == lost).values(
            status="running", attempts=2, worker="dead:1", lease_expires_at=Run.created_at))
    workers(PHASELAB_TEST_POISON="1").wait_ready()
    run = db.wait_status(crashing, "failed", timeout=20)
    assert run.attempts == 3
    assert run.error.startswith("gave up after 3 attempts") and "injected failure" in run.error
    run = db.wait_status(lost, "failed", timeout=5)
    assert run.attempts == 2 and run.error.startswith("gave up after 2 attempts") and "lease expired" in run.error


def test_g_a_gpu_run_is_never_taken_by_a_cpu_worker(db, workers):
    gpu_run = db.create(small(50), queue="gpu")  # the oldest: a queue-blind worker would take it first
    cpu_run = db.create(small(50), seed=1)
    workers("cpu").wait_ready()
    db.wait_status(cpu_run, "succeeded", timeout=30)
    time.sleep(1.0)  # more polls and reaper passes
    with db.sessions() as session:  # the cpu worker's sign of life is there; nobody serves gpu, and the run says so
        assert presence.serving(session, "cpu", 3.0) == 1 and presence.serving(session, "gpu", 3.0) == 0
    run = db.run(gpu_run)
    assert run.status == "queued" and run.attempts == 0 and run.worker is None
    if db.kind == "postgres":
        assert db.jobs(gpu_run) == [("todo", "gpu")]
    gpu = workers("gpu")  # a gpu-queue worker (pinned to cpu here) takes it
    gpu.wait_ready()
    run = db.wait_status(gpu_run, "succeeded", timeout=30)
    assert run.attempts == 1 and run.worker.endswith(f":{gpu.proc.pid}")


def test_h_metric_rows_are_written_in_batches(db):
    settings = Settings(database_url=db.url, flush_rows=100, flush_seconds=60, heartbeat_seconds=60,
                        lease_seconds=120, checkpoint_seconds=60)
    run_id = db.create(small(999))
    attempt = claim_by_id(db.sessions, run_id, "test:1", settings.lease_seconds, "cpu")
    ph = phenomena.load("grokking")
    commits = []
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    ctx = RunContext(run_id=run_id, attempt=attempt, phenomenon=ph, config=ph.config.model_validate(small(999)),
                     device="cpu", settings=settings, session_factory=db.sessions)
    ctx.start()
    try:
        for step in range(1000):
            ctx.log(step, dict.fromkeys(METRICS, 0.5))  # 5 rows a step
            assert not ctx.should_stop()
        ctx.writer.flush()
    finally:
        ctx.close()
    assert db.metric_count(run_id) == 5000 and ctx.writer.rows_written == 5000
    assert ctx.writer.writes == 5000 // 100 + 1 and len(commits) == ctx.writer.writes  # ≥ 100 rows per transaction


def test_i_sigterm_releases_the_running_run_to_the_next_worker(db, workers):
    run_id = db.create(small(100_000))
    pair = workers(), workers()
    for worker in pair:
        worker.wait_ready()
    run = db.wait(run_id, lambda r: r.checkpoint_step is not None and r.progress_x > 50, what="checkpointed")
    stopping, nxt = owner_and_other(pair, run)
    stopping.signal(signal.SIGTERM)
    stopping.proc.wait(timeout=10)
    assert "released at step " in stopping.output
    run = db.wait(run_id, lambda r: r.worker is not None and r.worker.endswith(f":{nxt.proc.pid}"), what="resumed")
    assert run.attempts == 1  # a graceful stop does not use up an attempt
    db.cancel(run_id)
    db.wait_status(run_id, "cancelled", timeout=5)
    assert "resumes after step" in nxt.output


@pytest.mark.postgres
def test_j_the_reaper_gives_a_queued_run_without_a_job_one_and_closes_jobs_of_dead_workers():
    with postgres_database() as url:
        engine = make_engine(url)
        try:
            db = TestDB("postgres", url, engine, make_sessionmaker(engine))
            settings = Settings(database_url=url, lease_seconds=2)
            with transaction(db.sessions) as session:  # a queued run whose job was lost
                orphan, _ = create_run(session, LeaseDispatcher(), phenomenon="grokking", config=small(50))
            reap_once(db.sessions, settings)
            reap_once(db.sessions, settings)
            assert db.jobs(orphan.id) == [("todo", "cpu")]  # one job, however many passes

            done = db.create(small(50), seed=1)  # a finished run whose worker died before procrastinate knew
            with transaction(db.sessions) as session:
                session.execute(update(Run).where(Run.id == done).values(status="succeeded"))
                session.execute(text("UPDATE procrastinate_jobs SET status = 'doing' WHERE args->>'run_id' = :id"),
                                {"id": done})
            reap_once(db.sessions, settings)
            assert db.jobs(done) == [("failed", "cpu")]
        finally:
            engine.dispose()


def test_j_snapshots_are_held_to_their_declared_views_and_caps(db):
    settings = Settings(database_url=db.url, heartbeat_seconds=60, lease_seconds=120, checkpoint_seconds=60)
    run_id = db.create(small(10))
    attempt = claim_by_id(db.sessions, run_id, "test:1", settings.lease_seconds, "cpu")
    ph = phenomena.load("grokking")
    cap = ph.snapshots[0].max_values
    ctx = RunContext(run_id=run_id, attempt=attempt, phenomenon=ph, config=ph.config.model_validate(small(10)),
                     device="cpu", settings=settings, session_factory=db.sessions)
    ctx.start()
    try:
        ctx.snapshot(0, "embedding_fourier", [0.5] * cap)  # at the cap: fine
        with pytest.raises(SnapshotRejected, match=f"{cap + 1} values; its view allows {cap}"):
            ctx.snapshot(1, "embedding_fourier", [0.5] * (cap + 1))
        with pytest.raises(SnapshotRejected, match="'wtw' is not a view of grokking"):
            ctx.snapshot(1, "wtw", [[1.0]])
        ctx.writer.flush()
    finally:
        ctx.close()
    with db.sessions() as session:
        assert session.query(Snapshot.step).filter(Snapshot.run_id == run_id).all() == [(0,)]
