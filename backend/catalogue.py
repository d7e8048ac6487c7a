"""The backend's view of the phenomena: their torch-free specs, validated configs and content hashes."""

import hashlib
import json
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from workers import phenomena


class UnknownPhenomenon(LookupError):
    pass


def names() -> tuple[str, ...]:
    return phenomena.names()


def get_spec(name: str) -> ModuleType:
    try:
        return phenomena.spec(name)
    except KeyError:
        raise UnknownPhenomenon(name) from None


def resolve_config(spec: ModuleType, config: dict[str, Any] | None, preset: str | None) -> BaseModel:
    """The preset (`default` if none) overlaid with `config`, validated: raises pydantic.ValidationError."""
    base = spec.PRESETS[preset or "default"].model_dump()
    return spec.Config.model_validate({**base, **(config or {})})


def content_hash(phenomenon: str, config: BaseModel, seed: int, trainer_version: str) -> str:
    """sha256 of the canonical JSON of everything that decides a run's curves."""
    payload = {
        "phenomenon": phenomenon,
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "trainer_version": trainer_version,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
