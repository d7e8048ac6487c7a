from fastapi import APIRouter, Request

from backend import __version__
from backend.api.deps import SessionDep
from backend.api.errors import DatabaseUnavailable
from backend.schemas import Health, Readiness
from backend.store.health import prove_write

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> Health:
    """Liveness: the API answers and its database is reachable."""
    session.connection()
    return Health(database=session.get_bind().dialect.name, version=__version__)


@router.get("/health/ready", responses={503: {"description": "The database cannot be written, and why"}})
def ready(request: Request) -> Readiness:
    """Readiness: the database takes a write now (one committed row), and its file is the one opened at start."""
    state = request.app.state
    if state.database_file is not None and (problem := state.database_file.problem()):
        raise DatabaseUnavailable(problem)
    prove_write(state.session_factory, "api")
    return Readiness(database=state.engine.dialect.name, version=__version__)
