"""Turning domain errors into HTTP answers: a 422 that names the field, a 404, never a 500."""

import json
import logging
import math
from typing import Any, NoReturn

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("phaselab.api")

RETRY_SECONDS = 5


class DatabaseUnavailable(Exception):
    """The database must not be written (its file was deleted, say): a 503 with this message."""


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or Infinity: a 422 about `"lr": NaN` must still render (as the string "nan")."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


ECHO_CHARS = 200  # a 422 quotes at most this much of the bad input back


def _short(value: Any) -> Any:
    """The bad input as a 422 quotes it: whole when small, else its first ECHO_CHARS characters and its size."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= ECHO_CHARS:
        return value
    return f"{text[:ECHO_CHARS]}… ({len(text)} characters)"


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _json_safe(jsonable_encoder(exc.errors()))
    for error in errors:
        if "input" in error:
            error["input"] = _short(error["input"])
    return JSONResponse(status_code=422, content={"detail": errors})


def config_error(exc: ValidationError, prefix: tuple[str, ...] = ("body", "config")) -> NoReturn:
    """Re-raise a phenomenon Config's ValidationError as FastAPI's 422, located under body.config."""
    errors: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {"type": err["type"], "loc": [*prefix, *err["loc"]], "msg": err["msg"]}
        if "input" in err:
            item["input"] = err["input"]
        if "ctx" in err:
            item["ctx"] = {key: value if isinstance(value, int | float | str) else str(value)
                           for key, value in err["ctx"].items()}
        errors.append(item)
    raise RequestValidationError(errors)


def field_error(loc: tuple[str, ...], msg: str, value: Any) -> NoReturn:
    raise RequestValidationError([{"type": "value_error", "loc": list(loc), "msg": msg, "input": value}])


def not_found(what: str) -> NoReturn:
    raise HTTPException(404, what)


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot answer or be written is a JSON 503 that says why, never a bare 500."""
    if isinstance(exc, IntegrityError):
        log.warning("%s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(status_code=409, content={"detail": f"Conflicting write: {exc.orig}"})
    if isinstance(exc, DatabaseUnavailable):
        reason = str(exc)
    else:
        reason = f"{type(getattr(exc, 'orig', None) or exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        log.error("%s %s: the database failed: %s", request.method, request.url.path, reason)
    return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_SECONDS)},
                        content={"detail": f"The database is unavailable: {reason}"})
