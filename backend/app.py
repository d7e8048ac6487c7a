"""What `phaselab serve` serves: the API (backend/main.py) with the Dash UI (frontend/) mounted at "/".

The one place the two meet. The API imports nothing of the UI and the UI reaches the API only over
HTTP (the import-linter contracts in pyproject.toml), so their assembly is composition, next to the
CLI that starts it, rather than part of either.
"""

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from backend.main import create_api
from backend.store.settings import Settings, get_settings
from frontend.app import create_dash


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API under /api and the UI at /, in one ASGI app (uvicorn's factory in `phaselab serve`)."""
    settings = settings or get_settings()
    app = create_api(settings)
    dash_app = create_dash(api_url=settings.api_url or f"http://{settings.host}:{settings.port}")
    # Dash's Flask server runs in a thread pool: its callbacks may call our own API over HTTP.
    # Mounted after the API's routes, so /api/... (unknown paths included) never reaches it.
    app.mount("/", WSGIMiddleware(dash_app.server))  # type: ignore[arg-type]
    return app
