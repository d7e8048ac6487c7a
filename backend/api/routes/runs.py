from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.orm import Session

from backend import catalogue
from backend.api import ratelimit
from backend.api.deps import DispatcherDep, SessionDep, SettingsDep
from backend.api.errors import config_error, field_error, not_found
from backend.schemas import MAX_STEP, Progress, RunCreate, RunPublic, RunsPublic
from backend.services import runs as service
from backend.store import presence
from backend.store.models import Run, as_utc
from backend.store.settings import Settings
from backend.store.vocabulary import Queue, RunStatus
from workers.phenomena.contract import STEP, RunSummary

router = APIRouter(prefix="/runs", tags=["runs"])

# OpenAPI links: where a created run's id leads (clients and schemathesis' stateful phase follow them).
_BY_ID = {"run_id": "$response.body#/id"}
RUN_LINKS = {
    name: {"operationId": operation, "parameters": _BY_ID}
    for name, operation in (("GetRun", "get_run"), ("GetMetrics", "get_metrics"), ("StreamEvents", "stream_events"),
                            ("ListSnapshots", "list_snapshots"), ("CancelRun", "cancel_run"))
}


def _progress_and_derived(run: Run) -> tuple[Progress, dict[str, float], dict[str, list[float]]]:
    """Progress on the phenomenon's progress axis, and the values and members its config derives.

    A run whose phenomenon or config no longer loads (the code moved on) still shows, on a plain step axis.
    """
    axis, derived, members = STEP, {}, {}
    try:
        ph = catalogue.get(run.phenomenon)
        axis = ph.axis(ph.progress_axis) or STEP
        config = ph.config.model_validate(run.config)
        derived, members = ph.derived_values(config), ph.member_values(config)
    except (catalogue.UnknownPhenomenon, ValidationError):
        pass
    progress = Progress(axis=axis.id, label=axis.label, symbol=axis.symbol or axis.id, unit=axis.unit,
                        x=run.progress_x, total=run.progress_total, resumed_from=run.resumed_from)
    return progress, derived, members


def waiting_note(session: Session, run: Run, settings: Settings) -> str | None:
    """For a queued run that no live worker would take: what it waits for, and how to start one."""
    if run.status != RunStatus.QUEUED or presence.serving(session, run.queue, settings.lease_seconds):
        return None
    return (f"No worker serves the '{run.queue}' queue: none has been seen in the last {settings.lease_seconds:g} s. "
            f"Start one with `phaselab worker --queue {run.queue}`; the run starts as soon as one does.")


def to_public(run: Run, waiting: str | None = None) -> RunPublic:
    progress, derived, members = _progress_and_derived(run)
    return RunPublic(
        waiting=waiting,
        id=run.id,
        phenomenon=run.phenomenon,
        config=run.config,
        seed=run.seed,
        queue=Queue(run.queue),
        status=RunStatus(run.status),
        progress=progress,
        attempts=run.attempts,
        error=run.error,
        device=run.device,
        worker=run.worker,
        threads=run.threads,
        code_version=run.code_version,
        derived=derived,
        members=members,
        summary=RunSummary.model_validate(run.summary or {}),
        created_at=as_utc(run.created_at),
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at),
        updated_at=as_utc(run.updated_at),
    )


def get_run_or_404(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        not_found(f"No run with id {run_id!r}.")
    return run


def require_token(settings: Settings, authorization: str | None) -> None:
    if settings.submit_token and authorization != f"Bearer {settings.submit_token}":
        raise HTTPException(401, "Submitting needs `Authorization: Bearer <token>` (PHASELAB_SUBMIT_TOKEN).")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"description": "A new run, queued", "links": RUN_LINKS},
               200: {"model": RunPublic, "description": "The existing run of the same config and seed (re-queued "
                     "if it had failed or was cancelled)", "links": RUN_LINKS},
               400: {"description": "The body is not JSON"},
               401: {"description": "PHASELAB_SUBMIT_TOKEN is set and the request lacks it"},
               404: {"description": "No such phenomenon"},
               429: ratelimit.RESPONSE},
)
def create_run(
    body: RunCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    authorization: Annotated[str | None, Header()] = None,
) -> RunPublic:
    """Start a run, or return the existing run with the same phenomenon, config and seed.

    A run whose estimated compute is over PHASELAB_MAX_RUN_CPU_SECONDS is a 422 on the knob to shorten, naming the
    others and what would fit. Only a POST that starts compute (a new run, or a failed or cancelled one queued
    again) meets the client's limits (a 429 with Retry-After); the existing run is always returned."""
    require_token(settings, authorization)
    phenomenon, preset = body.phenomenon.value, body.preset.value if body.preset else None
    limits: ratelimit.RunStartLimits = request.app.state.run_limits
    client = ratelimit.client_of(request)
    try:
        run, created = service.create_run(
            session,
            dispatcher,
            phenomenon=phenomenon,
            config=body.config,
            preset=preset,
            seed=body.seed,
            queue=body.queue or settings.default_queue,
            max_attempts=settings.max_attempts,
            budget_seconds=settings.max_run_cpu_seconds,
            admit=lambda s: limits.check(s, client),
        )
    except catalogue.UnknownPhenomenon:
        not_found(f"No phenomenon named {phenomenon!r}; see GET /api/phenomena.")
    except service.UnknownPreset:
        presets = ", ".join(catalogue.get(phenomenon).presets)
        field_error(("body", "preset"), f"{phenomenon} has no preset {preset!r}; choose one of: {presets}", preset)
    except ValidationError as exc:
        config_error(exc)
    except service.TooExpensive as exc:
        field_error(("body", "config", exc.over.knob), exc.over.message, exc.over.value)
    if created:
        limits.started(client, run.id)
    else:
        response.status_code = status.HTTP_200_OK
    return to_public(run, waiting_note(session, run, settings))


@router.get("")
def list_runs(
    session: SessionDep,
    settings: SettingsDep,
    phenomenon: str | None = None,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped at PHASELAB_MAX_PAGE_SIZE.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_STEP)] = 0,
) -> RunsPublic:
    """Runs, newest first, filtered by phenomenon and status; `count` is the total before paging."""
    rows, count = service.list_runs(
        session, phenomenon=phenomenon, status=status, limit=min(limit, settings.max_page_size), offset=offset
    )
    notes: dict[str, str | None] = {}  # one look at the workers per queue, not per run
    for run in rows:
        if run.status == RunStatus.QUEUED and run.queue not in notes:
            notes[run.queue] = waiting_note(session, run, settings)
    return RunsPublic(data=[to_public(run, notes.get(run.queue) if run.status == RunStatus.QUEUED else None)
                            for run in rows], count=count)


@router.get("/{run_id}", responses={404: {"description": "No such run"}})
def get_run(run_id: str, session: SessionDep, settings: SettingsDep) -> RunPublic:
    """One run: config, status, progress, transitions and claim verdicts (and, queued, what it waits for)."""
    run = get_run_or_404(session, run_id)
    return to_public(run, waiting_note(session, run, settings))


@router.post("/{run_id}/cancel", responses={401: {"description": "PHASELAB_SUBMIT_TOKEN is set and the request "
                                                  "lacks it"}, 404: {"description": "No such run"}})
def cancel_run(
    run_id: str,
    session: SessionDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    authorization: Annotated[str | None, Header()] = None,
) -> RunPublic:
    """Cancel a run: at once if queued, within a training step if running."""
    require_token(settings, authorization)
    return to_public(service.cancel_run(session, dispatcher, get_run_or_404(session, run_id)))
