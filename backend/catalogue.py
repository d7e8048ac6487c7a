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


def preset_names() -> list[str]:
    """Every preset name any phenomenon has, sorted (each phenomenon accepts only its own)."""
    return sorted({preset for name in names() for preset in get(name).presets})


def code_version(name: str) -> str:
    return phenomena.code_version(name)


def resolve_config(ph: Phenomenon, config: dict[str, Any] | None, preset: str | None) -> PhenomenonConfig:
    """The preset (`default` if none) overlaid with `config`, validated: raises pydantic.ValidationError.

    Validated as JSON, strictly: a knob's value must have its type (`"steps": "10"` and `true` for an integer
    are refused, not coerced); the preset's own values round-trip through the same JSON.
    """
    if (preset or "default") not in ph.presets:
        raise UnknownPreset(preset)
    base = ph.presets[preset or "default"].config.model_dump(mode="json")
    merged = json.dumps({**base, **(config or {})}, allow_nan=True)
    return ph.config.model_validate_json(merged, strict=True)


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
