from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import SessionDep
from backend.api.errors import not_found
from backend.api.routes.runs import get_run_or_404
from backend.schemas import MAX_STEP, SnapshotHistory, SnapshotPublic, SnapshotsPublic
from backend.services import metrics as service

router = APIRouter(prefix="/runs/{run_id}/snapshots", tags=["snapshots"])


@router.get("", responses={404: {"description": "No such run"}})
def list_snapshots(run_id: str, session: SessionDep) -> SnapshotsPublic:
    """Which model-internals snapshots the run has stored: each view's steps and shape, without values."""
    run = get_run_or_404(session, run_id)
    return SnapshotsPublic.model_validate({"snapshots": service.snapshot_index(session, run.id)})


@router.get("/{name}", responses={404: {"description": "No such run, view or step"}})
def get_snapshot(
    run_id: str,
    name: str,
    session: SessionDep,
    step: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="A stored step; none: the latest.")] = None,
) -> SnapshotPublic:
    """One snapshot: the view `name` at `step` (flat, row-major values; `shape` gives the dimensions)."""
    run = get_run_or_404(session, run_id)
    snap = service.snapshot_at(session, run.id, name, step)
    if snap is None:
        index = service.snapshot_index(session, run.id)
        if name not in index:
            not_found(f"Run {run.id} has no snapshot view {name!r}; it has: {', '.join(index) or 'none yet'}.")
        steps = index[name]["steps"]
        not_found(f"No snapshot {name!r} at step {step}; stored steps run from {steps[0]} to {steps[-1]} "
                  f"({len(steps)} of them): see GET /api/runs/{run.id}/snapshots.")
    return SnapshotPublic(name=name, step=snap.step, shape=snap.shape, values=snap.values)


@router.get("/{name}/history", responses={404: {"description": "No such run or view"}})
def get_snapshot_history(
    run_id: str,
    name: str,
    session: SessionDep,
    max_steps: Annotated[int, Query(ge=1, le=500, description="At most this many steps, evenly thinned.")] = 200,
) -> SnapshotHistory:
    """Every stored step of the view `name` (thinned to max_steps; first and last kept), for views over time."""
    run = get_run_or_404(session, run_id)
    history = service.snapshot_history(session, run.id, name, max_steps)
    if history is None:
        not_found(f"Run {run.id} has no snapshot view {name!r} yet.")
    return SnapshotHistory.model_validate(history)
