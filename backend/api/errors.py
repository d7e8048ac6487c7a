"""Turning domain errors into HTTP answers: a 422 that names the field, a 404, never a 500."""

from typing import Any, NoReturn

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError


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
