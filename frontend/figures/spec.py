"""What the figures need of a phenomenon (GET /api/phenomena/{name}): its axes, families and metrics by id,
and the words a chart shows for them. A name the phenomenon does not declare still draws, plainly."""

from collections.abc import Mapping
from typing import Any

from frontend.numbers import number

Spec = Mapping[str, Any]


def axis(spec: Spec, axis_id: str) -> dict[str, Any]:
    """{"id", "label", "unit", "scale"}."""
    found = next((a for a in spec.get("axes", []) if a["id"] == axis_id), None)
    return {"id": axis_id, "label": axis_id, "unit": "", "scale": "linear", **(found or {})}


def metric(spec: Spec, name: str) -> dict[str, Any]:
    """{"name", "axis", "family", "role", "label"}."""
    found = next((m for m in spec.get("metrics", []) if m["name"] == name), None)
    return {"name": name, "axis": "step", "family": None, "role": "other", "label": "", **(found or {})}


def family(spec: Spec, name: str) -> dict[str, Any] | None:
    """The family metric `name` is logged per member of ({"id", "label", "unit", "scale"}), or None."""
    family_id = metric(spec, name).get("family")
    if not family_id:
        return None
    found = next((f for f in spec.get("families", []) if f["id"] == family_id), None)
    return {"id": family_id, "label": family_id, "unit": "", "scale": "linear", **(found or {})}


def label(spec: Spec, name: str) -> str:
    """A metric's legend text: its declared label, else its name."""
    return metric(spec, name).get("label") or name


def title(part: Mapping[str, Any]) -> str:
    """An axis' (or family's) title: its label, with its unit in parentheses unless the label already says
    it ("features p" with unit "features", "step" with unit "steps")."""
    text, unit = part.get("label") or part.get("id", ""), part.get("unit") or ""
    words = {w.lower().rstrip("s") for w in text.replace("(", " ").replace(")", " ").split()}
    return f"{text} ({unit})" if unit and unit.lower().rstrip("s") not in words else text


def log_x(chart: Mapping[str, Any], spec: Spec) -> bool:
    """The chart's own choice, else its axis' scale."""
    chosen = chart.get("log_x")
    return bool(chosen) if chosen is not None else axis(spec, chart.get("x", "step"))["scale"] == "log"


def member_label(part: Mapping[str, Any] | None, member: float | None) -> str:
    """"m = 16": the family's id and the member's value."""
    if member is None:
        return ""
    return f"{part['id']} = {number(member)}" if part else number(member)
