"""execute_run: one attempt of one run, from claim to final status. Both dispatchers call it.

The `runs` row decides everything: the claim increments `attempts`, every write is fenced on it, and
the attempt ends in exactly one of
  succeeded | cancelled    the trainer returned (cancelled if it stopped early on a cancel)
  released                 the worker is shutting down: back to queued, the attempt not counted
  requeued | failed        the trainer raised: queued again while attempts < max_attempts, else failed
  fenced                   another worker owns the run now: this one stops and writes nothing
  skipped                  nothing to claim (finished, cancelled, or another worker holds the lease)
  unwritable               the database could not be written, and the worker stopped before it could again
A write that fails because the database cannot be written (read-only, disk full, file-size limit) is no crash
of the run: the worker waits until a write goes through (workers/health.py), then settles the run as it would
have (the trainer had finished) or hands it back to the queue without counting the attempt.
A worker that dies without reaching any of these leaves a lease that expires; the next claim (lease
queue) or the reaper (procrastinate) puts the run back, and it resumes from its checkpoint.
"""

import logging
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import transaction
from backend.store.dispatch import Dispatcher, dispatcher_for
from backend.store.models import Run
from backend.store.runstate import Fenced, claim_by_id, database_now, gave_up_error
from backend.store.settings import Settings
from backend.store.vocabulary import RunStatus
from workers import phenomena
from workers.health import WriteHealth, is_write_failure
from workers.phenomena.contract import Phenomenon
from workers.run_context import RunContext, StopReason
from workers.writer import RunWriter

log = logging.getLogger("phaselab.worker")


class Outcome(StrEnum):
    """How one attempt ended (the module docstring). The first three are also the run's status."""

    SUCCEEDED = RunStatus.SUCCEEDED
    CANCELLED = RunStatus.CANCELLED
    FAILED = RunStatus.FAILED
    RELEASED = "released"
    REQUEUED = "requeued"
    FENCED = "fenced"
    SKIPPED = "skipped"
    UNWRITABLE = "unwritable"


# Test-only fault injection, off unless set in a worker's environment (tests/integration/test_workers.py).
CRASH_BEFORE_FINISH = "PHASELAB_TEST_CRASH_BEFORE_FINISH"  # os._exit after the last step, before the final status
POISON = "PHASELAB_TEST_POISON"  # every attempt raises, as a trainer bug would


def execute_run(
    run_id: str,
    *,
    settings: Settings,
    session_factory: sessionmaker[Session],
    worker_id: str,
    device: str,
    claimed_attempt: int | None = None,
    stop_requested: Callable[[], StopReason | None] | None = None,
    dispatcher: Dispatcher | None = None,
    health: WriteHealth | None = None,
) -> Outcome:
    """Train run `run_id` (claimed here unless `claimed_attempt` says the caller did) and settle it.

    With `health`, a database that cannot be written makes the worker wait for it (see the module docstring)."""
    attempt = claimed_attempt
    if attempt is None:
        attempt = claim_by_id(session_factory, run_id, worker_id, settings.lease_seconds, device)
        if attempt is None:
            log.info("run %s: nothing to claim (finished, cancelled or running elsewhere)", run_id)
            return Outcome.SKIPPED
    dispatcher = dispatcher or dispatcher_for(settings.resolved_database_url)
    with session_factory() as session:
        run = session.get_one(Run, run_id)
        session.expunge(run)
    log.info("run %s attempt %d/%d: %s on %s", run_id, attempt, run.max_attempts, run.phenomenon, device)

    ctx: RunContext | None = None
    phenomenon: Phenomenon | None = None
    trained = False
    try:
        phenomenon = phenomena.load(run.phenomenon)
        config = phenomenon.config.model_validate(run.config)  # the stored JSON rebuilds the same Config
        ctx = RunContext(run_id=run_id, attempt=attempt, phenomenon=phenomenon, config=config, device=device,
                         settings=settings, session_factory=session_factory, stop_requested=stop_requested)
        # A run keeps the thread count its first attempt had: matmuls split their sums by thread, so a
        # resumed run on a worker with other threads would drift from the uninterrupted one (~1e-3 in 60 steps).
        threads = run.threads or _torch_threads()
        ctx.writer.report(threads=threads)
        ctx.start()
        if os.environ.get(POISON):
            raise RuntimeError(f"injected failure ({POISON})")
        with _threads(threads):
            phenomena.trainer(run.phenomenon).train(config, ctx, run.seed)
        trained = True
        return _settle(ctx, run, dispatcher, phenomenon)
    except Fenced:
        return _stale(run_id, attempt)
    except Exception as exc:
        if health is not None and is_write_failure(exc):
            return _after_write_failure(exc, run, attempt, ctx, trained, health, session_factory, dispatcher,
                                        phenomenon)
        # Settle first: an error of a worker that lost its lease (its connection was cut while it
        # was frozen, say) is no crash of the run, just the end of a stale attempt.
        reason = traceback.format_exception_only(exc)[-1].strip()
        writer = ctx.writer if ctx is not None else None
        outcome = _after_crash(run, attempt, reason, writer, session_factory, dispatcher)
        if outcome == Outcome.FENCED:
            return _stale(run_id, attempt, f" ({reason})")
        log.error("run %s attempt %d crashed; %s", run_id, attempt, outcome, exc_info=exc)
        return outcome
    finally:
        if ctx is not None:
            ctx.close()


def _settle(ctx: RunContext, run: Run, dispatcher: Dispatcher, phenomenon: Phenomenon) -> Outcome:
    """The trainer returned: write what is buffered and the run's final status (or hand it back)."""
    ctx.writer.flush()
    if os.environ.get(CRASH_BEFORE_FINISH):
        os._exit(17)
    if ctx.stop_reason == "shutdown" and not ctx.writer.cancel_requested:
        return _release(ctx, run, dispatcher, phenomenon, "worker stopping")
    # A trainer that returns without having been told to stop has finished (a cancel that
    # arrives during the last step loses the race: the run succeeded).
    status = RunStatus.SUCCEEDED if ctx.stop_reason is None else RunStatus.CANCELLED
    ctx.finished = status == RunStatus.SUCCEEDED  # the final summary may say "never", not only "not yet"
    if not ctx.writer.finish(status):
        # The cancel flag went down before `cancelled` could be written: the run was asked for again
        # after its cancel. It goes back to the queue and resumes from its checkpoint.
        return _release(ctx, run, dispatcher, phenomenon, "asked for again after a cancel")
    log.info("run %s %s at %s %g: %d metric rows in %d writes",
             run.id, status, _axis(phenomenon), ctx.writer.progress, ctx.writer.rows_written, ctx.writer.writes)
    return Outcome(status)


def _after_write_failure(
    exc: Exception,
    run: Run,
    attempt: int,
    ctx: RunContext | None,
    trained: bool,
    health: WriteHealth,
    session_factory: sessionmaker[Session],
    dispatcher: Dispatcher,
    phenomenon: Phenomenon | None,
) -> Outcome:
    """The database could not take a write of this attempt. Wait (no heartbeat, no claim) until a write goes
    through, then settle the run as it would have been (the trainer had finished) or hand it back to the queue with
    its attempt not counted: the database failed, not the run. If the lease ran out meanwhile and another worker
    took the run, this attempt is fenced and writes nothing."""
    health.failed(exc, f"writing run {run.id}")
    if ctx is not None:
        ctx.close()  # while the database cannot be written, the health probe is the only write tried
    if not health.wait_until_writable():
        log.warning("run %s: stopped before the database could be written again; the run resumes from its "
                    "checkpoint once its lease ends", run.id)
        return Outcome.UNWRITABLE
    try:
        if ctx is not None and phenomenon is not None:
            if trained:
                return _settle(ctx, run, dispatcher, phenomenon)
            return _release(ctx, run, dispatcher, phenomenon, "the database could not be written")
        return _hand_back(run, attempt, session_factory, dispatcher)
    except Fenced:
        return _stale(run.id, attempt, " (its lease ran out while the database could not be written)")
    except Exception as again:
        if is_write_failure(again):
            health.failed(again, f"writing run {run.id}")
        log.warning("run %s: could not settle it after the database came back (%s); its lease will expire and it "
                    "resumes from its checkpoint", run.id, again)
        return Outcome.UNWRITABLE


def _hand_back(run: Run, attempt: int, session_factory: sessionmaker[Session], dispatcher: Dispatcher) -> Outcome:
    """Back to the queue with the attempt given back, when there is no writer to do it (fenced like a write)."""
    with transaction(session_factory) as session:
        now = database_now(session)
        done = session.execute(
            update(Run).where(Run.id == run.id, Run.attempts == attempt, Run.status == RunStatus.RUNNING)
            .values(status=RunStatus.QUEUED, attempts=attempt - 1, worker=None, lease_expires_at=None, updated_at=now)
            .returning(Run.id)
        ).scalar_one_or_none()
        if done is None:
            raise Fenced(run.id)
        dispatcher.enqueue(session, run)
    log.info("run %s handed back to the queue (the database could not be written)", run.id)
    return Outcome.RELEASED


def _release(ctx: RunContext, run: Run, dispatcher: Dispatcher, phenomenon: Phenomenon, why: str) -> Outcome:
    """Hand the run back to the queue without counting the attempt, with a new job where there are jobs."""
    ctx.writer.requeue(None, release=True, also=lambda s: dispatcher.enqueue(s, run))
    log.info("run %s released at %s %g (%s)", run.id, _axis(phenomenon), ctx.writer.progress, why)
    return Outcome.RELEASED


def _axis(phenomenon: Phenomenon) -> str:
    """The progress axis' short name, for log lines: "step", "p"."""
    axis = phenomenon.axis(phenomenon.progress_axis)
    return (axis.symbol or axis.id) if axis else phenomenon.progress_axis


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


@contextmanager
def _threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _stale(run_id: str, attempt: int, why: str = "") -> Outcome:
    log.warning("run %s: attempt %d is stale (another worker took the run over); stopped, wrote nothing%s",
                run_id, attempt, why)
    return Outcome.FENCED


def _after_crash(
    run: Run,
    attempt: int,
    reason: str,
    writer: RunWriter | None,
    session_factory: sessionmaker[Session],
    dispatcher: Dispatcher,
) -> Outcome:
    """Failed for good once the attempts are used up; otherwise queued again (it resumes from its checkpoint)."""
    give_up = attempt >= run.max_attempts
    error = gave_up_error(attempt, reason) if give_up else reason
    try:
        if writer is not None:
            try:  # keep what the attempt logged: handy to see where it went wrong
                if give_up:
                    writer.finish(RunStatus.FAILED, error=error)
                else:
                    writer.requeue(error, release=False, also=lambda s: dispatcher.enqueue(s, run))
                return Outcome.FAILED if give_up else Outcome.REQUEUED
            except Fenced:
                raise
            except Exception:
                log.warning("run %s: could not write the buffered rows; settling the status only", run.id,
                            exc_info=True)
        with transaction(session_factory) as session:
            now = database_now(session)
            values: dict[str, Any] = {"status": RunStatus.FAILED, "finished_at": now} if give_up else {"status": RunStatus.QUEUED}
            settled = session.execute(
                update(Run)
                .where(Run.id == run.id, Run.attempts == attempt, Run.status == RunStatus.RUNNING)
                .values(**values, error=error, lease_expires_at=None, updated_at=now)
                .returning(Run.id)
            ).scalar_one_or_none()
            if settled is None:
                raise Fenced(run.id)
            if not give_up:
                dispatcher.enqueue(session, run)
        return Outcome.FAILED if give_up else Outcome.REQUEUED
    except Fenced:
        return Outcome.FENCED
    except Exception:
        log.exception("run %s: could not record the crash; its lease will expire and it will be retried", run.id)
        return Outcome.FAILED
