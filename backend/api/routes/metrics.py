from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.api.routes.runs import get_run_or_404
from backend.schemas import MAX_STEP, MetricsPublic, SnapshotsPublic
from backend.services import metrics as service
from backend.store.curves import read_curves

router = APIRouter(prefix="/runs/{run_id}", tags=["metrics"])


@router.get(
    "/metrics",
    response_model=MetricsPublic,
    responses={200: {"content": {"text/csv": {}}}, 404: {"description": "No such run"}},
)
def get_metrics(
    run_id: str,
    session: SessionDep,
    settings: SettingsDep,
    names: Annotated[str | None, Query(description="Comma-separated metric names; none: all.")] = None,
    after_step: Annotated[int | None, Query(ge=-1, le=MAX_STEP, description="Only points after this step.")] = None,
    max_points: Annotated[int, Query(ge=8, description="Points per metric; capped at PHASELAB_MAX_POINTS.")] = 2000,
    format: Literal["json", "csv"] = "json",
) -> MetricsPublic | PlainTextResponse:
    """A run's curves, min/max-downsampled past `max_points`; `format=csv` gives every point."""
    run = get_run_or_404(session, run_id)
    wanted = [name for name in (names or "").split(",") if name] or None
    curves = read_curves(session, run.id, wanted, after_step)
    if format == "csv":
        return PlainTextResponse(
            service.to_csv(curves),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="phaselab-{run.id}.csv"'},
        )
    cap = min(max_points, settings.max_points)
    return MetricsPublic.model_validate(
        {"metrics": service.downsampled(curves, cap, service.marked_steps(run)), "last_step": service.last_step(curves)}
    )


@router.get("/snapshots", responses={404: {"description": "No such run"}})
def get_snapshots(
    run_id: str,
    session: SessionDep,
    name: str | None = None,
    max_steps: Annotated[int, Query(ge=1, le=500)] = 200,
) -> SnapshotsPublic:
    """Model-internals matrices over time (e.g. the embedding's Fourier power), evenly thinned."""
    run = get_run_or_404(session, run_id)
    return SnapshotsPublic.model_validate({"snapshots": service.read_snapshots(session, run.id, name, max_steps)})
