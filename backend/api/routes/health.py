from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend import __version__
from backend.api.deps import SessionDep
from backend.api.errors import RETRY_SECONDS, DatabaseUnavailable
from backend.schemas import Health, Readiness
from backend.store.health import prove_write

router = APIRouter(tags=["health"])


class LocalWorker(BaseModel):
    """A worker `phaselab serve --workers N` started, as it reports itself (workers/local_pool.py): a worker that
    cannot write to the database cannot say so in the database."""

    worker: int = Field(description="1 … N")
    pid: int
    alive: bool = Field(description="False while a dead worker waits to be started again")
    writable: bool | None = Field(description="Whether its last write went through; None when not alive")
    problem: str | None = Field(None, description="The database's error, and what the worker was writing")
    since: datetime | None = Field(None, description="When it stopped being able to write")


class ReadinessWithWorkers(Readiness):
    workers: list[LocalWorker] = Field(
        default_factory=list, description="The local workers of `phaselab serve` (none for a bare API process).")


class NotReady(BaseModel):
    detail: str
    workers: list[LocalWorker] = Field(default_factory=list)


def local_workers(request: Request) -> list[LocalWorker]:
    """What `phaselab serve` put in app.state.local_workers (a callable; backend/cli.py), or nothing."""
    source: Callable[[], list[dict[str, Any]]] | None = getattr(request.app.state, "local_workers", None)
    if source is None:
        return []
    found = []
    for item in source():
        since = item.get("since")
        found.append(LocalWorker(**{**item, "since": datetime.fromtimestamp(since, UTC) if since else None}))
    return found


@router.get("/health")
def health(session: SessionDep) -> Health:
    """Liveness: the API answers and its database is reachable."""
    session.connection()
    return Health(database=session.get_bind().dialect.name, version=__version__)


@router.get("/health/ready", response_model=ReadinessWithWorkers,
            responses={503: {"model": NotReady, "description": "The database cannot be written, or a local worker "
                             "cannot write to it, and why"}})
def ready(request: Request) -> Any:
    """Readiness: the database takes a write now (one committed row), its file is the one opened at start, and every
    local worker of `phaselab serve` can write to it."""
    state = request.app.state
    if state.database_file is not None and (problem := state.database_file.problem()):
        raise DatabaseUnavailable(problem)
    prove_write(state.session_factory, "api")
    workers = local_workers(request)
    stuck = [w for w in workers if w.writable is False]
    if stuck:
        said = "; ".join(f"local worker {w.worker} (pid {w.pid}) cannot write to the database since "
                         f"{w.since:%H:%M:%S} UTC: {w.problem}" if w.since else
                         f"local worker {w.worker} (pid {w.pid}) cannot write to the database: {w.problem}"
                         for w in stuck)
        body = NotReady(detail=f"{said}. It claims no runs until a write goes through, and tries again by itself.",
                        workers=workers)
        return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_SECONDS)},
                            content=body.model_dump(mode="json"))
    return ReadinessWithWorkers(database=state.engine.dialect.name, version=__version__, workers=workers)
