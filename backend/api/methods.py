"""What /api answers where no route does: 405 with `Allow` for a known path asked with a method it does not
declare, the allowed methods for OPTIONS, and 404 for an unknown path (never the UI's page)."""

import re

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from starlette.routing import compile_path

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def declared_methods(app: FastAPI) -> list[tuple[re.Pattern[str], list[str]]]:
    """(path regex, methods) for every path of the app's OpenAPI document: what it declares is what it allows."""
    table = getattr(app.state, "declared_methods", None)
    if table is None:
        table = [(compile_path(path)[0], sorted(method.upper() for method in operations))
                 for path, operations in app.openapi()["paths"].items()]
        app.state.declared_methods = table
    return table


def allowed_methods(request: Request) -> list[str]:
    """The methods declared for this request's path (none: the path is unknown)."""
    for pattern, methods in declared_methods(request.app):
        if pattern.match(request.url.path):
            return methods
    return []


def fallback_router() -> APIRouter:
    """Include last: every method on every /api path the real routes did not take."""
    router = APIRouter()

    @router.api_route("/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    def unmatched(path: str, request: Request) -> Response:
        allowed = allowed_methods(request)
        if not allowed:
            raise HTTPException(404, f"No API route /api/{path}; see /api/docs.")
        allow = ", ".join(allowed)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        raise HTTPException(405, f"{request.method} is not allowed on /api/{path}; it allows {allow}.",
                            headers={"Allow": allow})

    return router
