from fastapi import APIRouter

from backend import __version__
from backend.api.deps import SessionDep
from backend.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> Health:
    """Liveness: the API answers and its database is reachable."""
    session.connection()
    return Health(database=session.get_bind().dialect.name, version=__version__)
