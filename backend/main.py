"""Assembles the API: routes under /api, its database and its dispatcher. backend/app.py adds the UI."""

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError

from backend import __version__
from backend.api.errors import DatabaseUnavailable, database_error_handler, validation_error_handler
from backend.api.limits import BodySizeLimit, SecurityHeaders
from backend.api.methods import fallback_router
from backend.api.ratelimit import RunLimitExceeded, RunStartLimits
from backend.api.ratelimit import answer as run_limit_answer
from backend.api.routes import events, health, metrics, phenomena, runs, snapshots
from backend.store.db import make_engine, make_sessionmaker
from backend.store.dispatch import dispatcher_for
from backend.store.health import DatabaseFile
from backend.store.settings import Settings, get_settings

DOCS_ASSETS = "/api/docs-assets"


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api")
    for module in (health, phenomena, runs, metrics, snapshots, events):
        api.include_router(module.router)
    # Last, and before the UI's catch-all: 405 + Allow, OPTIONS, or a JSON 404 for every other /api request.
    api.include_router(fallback_router())
    return api


def operation_id(route: APIRoute) -> str:
    """The route function's name (`create_run`, `get_metrics`): short, stable ids for clients and links."""
    return route.name


def create_api(settings: Settings | None = None) -> FastAPI:
    """The API alone (the tests use it so); `phaselab serve` serves backend.app.create_app."""
    settings = settings or get_settings()
    # FastAPIOffline: the docs pages load Swagger UI and ReDoc from assets served here (DOCS_ASSETS), not
    # from a CDN, so /api/docs works in a classroom or a lab without internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="Phaselab",
        version=__version__,
        summary="A browser lab for neural-network training dynamics.",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        generate_unique_id_function=operation_id,
    )
    url = settings.resolved_database_url
    app.state.settings = settings
    app.state.engine = make_engine(url)
    app.state.session_factory = make_sessionmaker(app.state.engine)
    # GET requests read through their own engine: on SQLite deferred and query-only (see make_engine).
    reader = make_engine(url, reader=True) if url.startswith("sqlite") else app.state.engine
    app.state.read_session_factory = make_sessionmaker(reader)
    app.state.dispatcher = dispatcher_for(url)
    app.state.database_file = DatabaseFile.of(url)  # the SQLite inode opened now: deleted later, writes stop
    # Per-client limits on starting runs (a rate, and a cap on runs waiting), kept in this process's memory.
    app.state.run_limits = RunStartLimits(settings.runs_per_minute, settings.max_queued_runs_per_client)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(DBAPIError, database_error_handler)
    app.add_exception_handler(DatabaseUnavailable, database_error_handler)
    app.add_exception_handler(RunLimitExceeded, run_limit_answer)
    app.include_router(api_router())
    if settings.cors_origins:  # closed by default: only these origins may read the API from a browser
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"])
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
