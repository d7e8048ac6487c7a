"""procrastinate on PostgreSQL: the `execute_run` task, and the reaper that recovers runs of lost workers.

A run's job only carries it to a worker (LISTEN/NOTIFY: picked up in milliseconds); the `runs` row
stays the truth, exactly as with the SQLite lease queue, and the same `execute_run` trains it.

Recovery. One failure detector for both dispatchers: the run's lease. Each worker process runs a
reaper thread that, every heartbeat_seconds, in one transaction:
  1. puts back running runs whose lease expired (backend/store/runstate.expire_leases: queued, or failed
     when out of attempts, or cancelled), closes their old jobs as failed and defers a new job for each
     queued one; the lost worker is fenced by the attempt counter;
  2. closes as failed the `doing` jobs of dead procrastinate workers (no heartbeat for lease_seconds)
     whose run is not running (the worker died between fetching the job and claiming the run, or after
     finishing the run but before procrastinate recorded it);
  3. defers a job for any queued run that has none (belt and braces: a run must never wait forever).
A killed worker's run is back on a live worker within lease_seconds + heartbeat_seconds (~2.5 s in
the tests; ~32 s with the default 30 s lease). We chose this over procrastinate's own stalled-job
retry (`get_stalled_jobs` + `retry_job` on the same job id) because a frozen worker that wakes up
would then close the job its successor is running. With a new job per attempt the woken worker only
finds its own job already closed (one warning line) while its writes are fenced. Rows are locked
FOR UPDATE SKIP LOCKED, so any number of workers can reap at once, and a worker frozen inside a
transaction has it ended by the server after a lease (workers/loop.py), so its locks cannot stall
the reaper.
"""

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate.job_context import AbortReason, JobContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import transaction
from backend.store.procrastinate_jobs import TASK_NAME, defer_execute_run, fail_jobs
from backend.store.runstate import ExpiredLease, expire_leases
from backend.store.settings import Settings
from backend.store.vocabulary import Queue, RunStatus
from workers.execute import Outcome, execute_run
from workers.run_context import StopReason

log = logging.getLogger("phaselab.worker")


def conninfo_from_url(url: str) -> str:
    """libpq conninfo (a postgresql:// URI) for a SQLAlchemy `postgresql+psycopg://` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class WorkerState:
    """What the task needs from its worker process; passed as procrastinate's additional_context."""

    settings: Settings
    session_factory: sessionmaker[Session]
    worker_id: str
    device: str
    threads: int


def make_app(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name=TASK_NAME, pass_context=True)
    def execute_run_task(context: JobContext, run_id: str) -> str:
        state: WorkerState = context.additional_context["phaselab"]
        import torch

        torch.set_num_threads(state.threads)  # the task runs in a pool thread: set it here, not only in main

        def stop_requested() -> StopReason | None:
            reason = context.abort_reason()
            if reason is AbortReason.SHUTDOWN:
                return "shutdown"
            return "cancel" if reason is AbortReason.USER_REQUEST else None

        outcome = execute_run(run_id, settings=state.settings, session_factory=state.session_factory,
                              worker_id=state.worker_id, device=state.device, stop_requested=stop_requested)
        if outcome in (Outcome.CANCELLED, Outcome.RELEASED) and context.should_abort():
            raise procrastinate.exceptions.JobAborted(outcome.value)
        # A crash was logged and settled by execute_run (requeued with a new job, or failed): the job
        # itself did its work. The run's fate is in `runs`, not in the job's status.
        return outcome.value

    return app


_STALE_DOING_JOBS = text(
    "SELECT j.id, j.args->>'run_id' AS run_id FROM procrastinate_jobs j "
    "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
    "JOIN runs r ON r.id = j.args->>'run_id' "
    "WHERE j.task_name = :task AND j.status = 'doing' AND r.status <> :running "
    "AND (w.id IS NULL OR w.last_heartbeat < NOW() - make_interval(secs => :stale)) "
    "FOR UPDATE OF j SKIP LOCKED"
)

_QUEUED_WITHOUT_JOB = text(
    "SELECT r.id, r.queue FROM runs r WHERE r.status = :queued AND NOT EXISTS ("
    "  SELECT 1 FROM procrastinate_jobs j WHERE j.task_name = :task AND j.args->>'run_id' = r.id"
    "  AND j.status IN ('todo', 'doing')) "
    "FOR UPDATE OF r SKIP LOCKED"
)


def reap_once(session_factory: sessionmaker[Session], settings: Settings) -> list[ExpiredLease]:
    """One pass of the reaper (see the module docstring); the runs it put back."""
    with transaction(session_factory) as session:
        reaped = expire_leases(session)
        for run in reaped:
            fail_jobs(session, run.run_id)
            if run.status == RunStatus.QUEUED:
                defer_execute_run(session, run.run_id, run.queue)
        stale = session.execute(
            _STALE_DOING_JOBS, {"task": TASK_NAME, "stale": settings.lease_seconds, "running": RunStatus.RUNNING}
        ).all()
        for job_id, _ in stale:
            session.execute(text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"), {"id": job_id})
        for run_id, queue in session.execute(_QUEUED_WITHOUT_JOB, {"task": TASK_NAME, "queued": RunStatus.QUEUED}).all():
            defer_execute_run(session, run_id, queue)
    for run in reaped:
        log.warning("run %s: its worker stopped answering (lease expired); now %s", run.run_id, run.status)
    return reaped


def start_reaper(session_factory: sessionmaker[Session], settings: Settings, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(settings.heartbeat_seconds):
            try:
                reap_once(session_factory, settings)
            except Exception:  # the database blinked: next tick
                log.warning("reaper pass failed", exc_info=True)

    thread = threading.Thread(target=loop, name="reaper", daemon=True)
    thread.start()
    return thread


def _quiet_closed_jobs(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """One line instead of a traceback when a worker that was frozen past its lease wakes up and
    procrastinate cannot close the job the reaper already closed (its run went on elsewhere)."""
    error, task = context.get("exception"), context.get("future")
    name = task.get_name() if isinstance(task, asyncio.Task) else ""
    if isinstance(error, procrastinate.exceptions.ConnectorException) and name.startswith("process job"):
        why = str(error.__cause__ or error).strip().splitlines()[0]
        log.warning("%s: procrastinate could not record the end of this job (%s); the reaper had closed it "
                    "while this worker was unresponsive", name, why)
        return
    loop.default_exception_handler(context)


def run_procrastinate_worker(
    state: WorkerState, queues: list[Queue], stop_event: threading.Event | None = None
) -> None:
    """procrastinate's worker on `queues` (plus the reaper thread) until SIGTERM/SIGINT or `stop_event`.

    On stop, procrastinate aborts the running job with reason SHUTDOWN at once
    (shutdown_graceful_timeout=0); execute_run then stops after the current step and releases the run
    back to queued with a new job, so another worker (or this one, restarted) resumes it.
    """
    settings = state.settings
    app = make_app(conninfo_from_url(settings.resolved_database_url))
    reaper_stop = threading.Event()
    reaper = start_reaper(state.session_factory, settings, reaper_stop)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(_quiet_closed_jobs)
        async with app.open_async():
            worker = asyncio.create_task(app.run_worker_async(
                queues=queues,
                name=state.worker_id,
                concurrency=1,  # training is CPU/GPU bound: one run per worker process
                wait=True,
                fetch_job_polling_interval=settings.poll_seconds,
                abort_job_polling_interval=settings.heartbeat_seconds,
                shutdown_graceful_timeout=0,
                listen_notify=True,
                additional_context={"phaselab": state},
                install_signal_handlers=True,
                update_heartbeat_interval=settings.heartbeat_seconds,
                stalled_worker_timeout=settings.lease_seconds,
            ))
            while stop_event is not None and not worker.done():
                if stop_event.is_set():
                    worker.cancel()  # procrastinate turns this into a graceful stop
                    break
                await asyncio.sleep(0.1)
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    try:
        asyncio.run(main())
    finally:
        reaper_stop.set()
        reaper.join(timeout=5)
