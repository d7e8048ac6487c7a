"""The backend's view of the phenomena: their checked contracts, validated configs and content hashes."""

import hashlib
import json
from typing import Any

from workers import phenomena
from workers.phenomena.contract import Phenomenon, PhenomenonConfig


class UnknownPhenomenon(LookupError):
    pass


class UnknownPreset(LookupError):
    pass


def names() -> tuple[str, ...]:
    return phenomena.names()


def get(name: str) -> Phenomenon:
    try:
        return phenomena.load(name)
    except KeyError:
        raise UnknownPhenomenon(name) from None


def code_version(name: str) -> str:
    return phenomena.code_version(name)


def resolve_config(ph: Phenomenon, config: dict[str, Any] | None, preset: str | None) -> PhenomenonConfig:
    """The preset (`default` if none) overlaid with `config`, validated: raises pydantic.ValidationError."""
    if (preset or "default") not in ph.presets:
        raise UnknownPreset(preset)
    base = ph.presets[preset or "default"].config.model_dump()
    return ph.config.model_validate({**base, **(config or {})})


def content_hash(phenomenon: str, config: PhenomenonConfig, seed: int, code: str) -> str:
    """sha256 of the canonical JSON of everything that decides a run's curves: phenomenon, config, seed, code."""
    payload = {
        "phenomenon": phenomenon,
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "code_version": code,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
