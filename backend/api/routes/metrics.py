from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from backend import catalogue
from backend.api.deps import SessionDep, SettingsDep
from backend.api.errors import field_error
from backend.api.routes.runs import get_run_or_404
from backend.schemas import MAX_STEP, MetricsPublic
from backend.services import metrics as service
from backend.store.curves import one_snapshot, read_points

router = APIRouter(prefix="/runs/{run_id}", tags=["metrics"])


@router.get(
    "/metrics",
    response_model=MetricsPublic,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "JSON, or with `format=csv` the points as CSV: metric,member,x,value"},
               404: {"description": "No such run"}},
)
def get_metrics(
    run_id: str,
    session: SessionDep,
    settings: SettingsDep,
    names: Annotated[str | None, Query(description="Comma-separated metric names; none: all.")] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="A `cursor` from an earlier answer: only "
                                       "the points written since, of every series.")] = None,
    max_points: Annotated[int, Query(ge=8, description="Points per series; capped at PHASELAB_MAX_POINTS.")] = 2000,
    format: Literal["json", "csv"] = "json",
) -> MetricsPublic | PlainTextResponse:
    """A run's curves, one series per (metric, family member), min/max-downsampled past `max_points`;
    with `after`, only the newer points; `format=csv` gives every point, long format."""
    one_snapshot(session)  # a downsampled read is several queries: one snapshot, so the cursor matches
    run = get_run_or_404(session, run_id)
    wanted = [name for name in (names or "").split(",") if name] or None
    try:
        ph = catalogue.get(run.phenomenon)
    except catalogue.UnknownPhenomenon:
        ph = None
    if ph is not None and wanted:
        unknown = [name for name in wanted if ph.metric(name) is None]
        if unknown:
            known = ", ".join(m.name for m in ph.metrics)
            field_error(("query", "names"), f"Unknown metric {', '.join(unknown)}; {run.phenomenon} logs {known}",
                        names)
    cap = min(max_points, settings.max_points)
    if after is None and format == "json":  # a whole curve, from the summary: never every point of a long one
        series, cursor = service.downsampled(session, run, ph, wanted, cap)
        return MetricsPublic.model_validate({"series": series, "cursor": cursor})
    points, cursor = read_points(session, run.id, wanted, after)
    if format == "csv":
        return PlainTextResponse(
            service.to_csv(points),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="phaselab-{run.id}.csv"'},
        )
    # an increment: whole, unless a sleeping tab asks for more than it should draw
    truncated = any(len(x) > cap for x, _ in points.values())
    series = service.as_series(points, ph, cap if truncated else None, service.marks_by_axis(run))
    return MetricsPublic.model_validate({"series": series, "cursor": cursor, "truncated": truncated})
