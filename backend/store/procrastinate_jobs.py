"""procrastinate's job rows for runs, through its SQL functions: defer, cancel, fail.

Only procrastinate's SQL functions are called here, through the caller's SQLAlchemy session, so that
creating a run and deferring its job commit (or roll back) together. No procrastinate App, no torch.
The API defers and cancels (backend/store/dispatch.py); the worker side (the task that runs the job,
the reaper that recovers lost runs) is workers/procrastinate_app.py.
"""

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

# The procrastinate task name; workers/procrastinate_app.py registers its task under this name.
TASK_NAME = "execute_run"

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue AS varchar), CAST(:task AS varchar), 0, NULL, NULL, CAST(:args AS jsonb), NULL"
    ")::procrastinate_job_to_defer_v1])) AS id"
)

# Jobs of one run that a worker may still pick up or is running. args is a small jsonb object.
_LIVE_JOBS = text(
    "SELECT id FROM procrastinate_jobs WHERE task_name = :task AND args->>'run_id' = :run_id "
    "AND status IN ('todo', 'doing') ORDER BY id"
)


def defer_execute_run(session: Session, run_id: str, queue: str) -> int:
    """Insert the `execute_run(run_id=...)` job on `queue`; its NOTIFY fires when the session commits."""
    args = json.dumps({"run_id": run_id})
    return int(session.execute(_DEFER, {"queue": queue, "task": TASK_NAME, "args": args}).scalar_one())


def live_job_ids(session: Session, run_id: str) -> list[int]:
    return list(session.execute(_LIVE_JOBS, {"task": TASK_NAME, "run_id": run_id}).scalars())


def cancel_jobs(session: Session, run_id: str) -> list[int]:
    """procrastinate's `cancel_job_by_id(id, abort=True)` on each live job: todo -> cancelled, doing -> abort."""
    cancelled = []
    for job_id in live_job_ids(session, run_id):
        done = session.execute(
            text("SELECT procrastinate_cancel_job_v1(:id, true, false)"), {"id": job_id}
        ).scalar_one_or_none()
        if done is not None:
            cancelled.append(job_id)
    return cancelled


def fail_jobs(session: Session, run_id: str) -> list[int]:
    """Close the live jobs of a run whose worker is gone (lease expired) as failed, before deferring anew."""
    failed = []
    for job_id in live_job_ids(session, run_id):
        session.execute(text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"), {"id": job_id})
        failed.append(job_id)
    return failed
