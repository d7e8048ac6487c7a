"""The worker process: take runs from the database and train them, until told to stop.

SQLite: claim the oldest queued run (backend/store/runstate.py) every settings.poll_seconds.
PostgreSQL: procrastinate's worker on the same queues, plus the reaper (workers/procrastinate_app.py).

A worker that cannot write (read-only file, full disk, file-size limit) stops claiming until a write goes
through again (workers/health.py): one log line says why, the probes back off, and it recovers by itself.

Graceful stop (SIGTERM, Ctrl-C): no new claim; the running trainer sees should_stop() at its next step,
and the run goes back to queued with its attempt given back (execute_run's "released"), so stopping
`make run` never leaves a run stuck until its lease expires. It resumes from its last checkpoint. A
second signal stops at once (the lease then expires and the run is reclaimed, as after a crash).
"""

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import make_engine, make_sessionmaker
from backend.store.runstate import claim_oldest_queued
from backend.store.settings import Settings
from backend.store.vocabulary import Queue
from workers.device import pick_device
from workers.execute import execute_run
from workers.health import WriteHealth, is_write_failure, parent_channel
from workers.presence import Presence
from workers.run_context import StopReason

log = logging.getLogger("phaselab.worker")


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def default_threads() -> int:
    """OMP_NUM_THREADS if set (serve and the tests set it per worker), else every core."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else os.cpu_count() or 1


def prepare_torch(threads: int) -> None:
    """Import torch with `threads` intra-op threads and no OpenMP spin-waiting (workers share cores)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads OpenMP
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what deterministic cuBLAS needs
    import torch
    import torch._dynamo  # noqa: F401  torch.optim imports it on first use (~2 s): pay that now, not in a run

    torch.set_num_threads(threads)
    # Same config, seed, device and threads: the same curves. warn_only: an op without a deterministic
    # kernel (some CUDA scatter ops) warns instead of failing the run.
    torch.use_deterministic_algorithms(True, warn_only=True)


def run_worker(
    settings: Settings,
    queues: list[Queue],
    device: str,
    threads: int,
    stop_event: threading.Event | None = None,
    worker_id: str | None = None,
) -> None:
    """Train runs of `queues` on `device` ("auto", "cpu" or "cuda") with `threads` torch threads."""
    prepare_torch(threads)
    device = pick_device(device)
    worker_id = worker_id or worker_identity()
    engine = make_engine(settings.resolved_database_url)
    if engine.dialect.name == "postgresql":
        _end_abandoned_transactions(engine, settings.lease_seconds)
    session_factory = make_sessionmaker(engine)
    stop = stop_event or threading.Event()
    # Its sign of life, every two heartbeats: the API tells a run queued where no worker serves that it waits. It
    # is also the write that tells a worker it can write again (the health probe).
    health = WriteHealth(worker_id, stop, report=parent_channel())
    presence = Presence(session_factory, worker_id, [str(q) for q in queues], device, threads,
                        every_seconds=2 * settings.heartbeat_seconds, health=health)
    health.probe = presence.announce
    try:
        with presence:
            if engine.dialect.name == "postgresql":
                from workers.procrastinate_app import WorkerState, run_procrastinate_worker

                state = WorkerState(settings, session_factory, worker_id, device, threads)
                run_procrastinate_worker(state, queues, stop_event)
            else:
                with _stop_on_signals(stop):
                    _poll(settings, queues, device, worker_id, session_factory, stop, health)
    finally:
        engine.dispose()


def _poll(
    settings: Settings,
    queues: list[Queue],
    device: str,
    worker_id: str,
    session_factory: sessionmaker[Session],
    stop: threading.Event,
    health: WriteHealth,
) -> None:
    def stop_requested() -> StopReason | None:
        return "shutdown" if stop.is_set() else None

    while not stop.is_set():
        if not health.ok and not health.wait_until_writable():
            break  # stopped while it could not write
        try:
            claimed = claim_oldest_queued(session_factory, queues, worker_id, settings.lease_seconds, device)
        except Exception as exc:
            if is_write_failure(exc):
                health.failed(exc, "claiming a run")
                continue
            log.warning("claim failed", exc_info=True)  # anything else: try again at the next poll
            claimed = None
        if claimed is None:
            stop.wait(settings.poll_seconds)
            continue
        run_id, attempt = claimed
        try:
            execute_run(run_id, settings=settings, session_factory=session_factory, worker_id=worker_id,
                        device=device, claimed_attempt=attempt, stop_requested=stop_requested, health=health)
        except Exception:  # execute_run settles what it can; the lease covers the rest. Keep serving.
            log.exception("run %s: unexpected error in the worker", run_id)
    log.info("worker %s stopped", worker_id)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """First SIGTERM/SIGINT: finish the current step and release the run. Second: stop now."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("stopping after the current step (%s; again to stop now)", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _end_abandoned_transactions(engine: Engine, lease_seconds: float) -> None:
    """PostgreSQL ends a worker's transaction left open longer than a lease (a process frozen mid-write),
    so its row locks cannot hold up the reaper; every transaction here is a few statements long."""
    timeout_ms = max(1000, int(lease_seconds * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms}")
        dbapi_conn.commit()
