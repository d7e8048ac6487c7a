"""The metrics of a run as the API sends them: a list of series, one per (metric, member), each sorted by x.

    {"metric": "loss", "member": 16.0 | None, "x": [...], "value": [... | None]}

A series is named by its key, "loss|16" ("loss|" for a plain metric): the figures give each trace its key
as `meta` (not `uid`: plotly builds CSS selectors from uids, and a key is no CSS name), and live updates
find the trace to extend by it.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Series = Mapping[str, Any]


def member_text(member: float | None) -> str:
    if member is None:
        return ""
    return str(int(member)) if float(member).is_integer() else repr(float(member))


def key(metric: str, member: float | None) -> str:
    return f"{metric}|{member_text(member)}"


def of_metric(series: Iterable[Series], metric: str) -> list[Series]:
    """The series of one metric: its members in increasing order (a plain metric: its one series)."""
    found = [s for s in series if s["metric"] == metric]
    return sorted(found, key=lambda s: (s.get("member") is not None, s.get("member") or 0.0))


def members(series: Iterable[Series], metrics: Sequence[str]) -> list[float]:
    """Every member any of `metrics` has, in increasing order."""
    return sorted({s["member"] for s in series if s["metric"] in metrics and s.get("member") is not None})


def points(item: Series) -> list[tuple[float, float]]:
    """(x, value) pairs with a finite value; None (a gap) and NaN left out."""
    return [(x, v) for x, v in zip(item["x"], item["value"], strict=True) if v is not None and v == v]


def last_point(item: Series) -> tuple[float, float] | None:
    found = points(item)
    return found[-1] if found else None


def has_points(series: Iterable[Series]) -> bool:
    return any(s["x"] for s in series)


def x_span(series: Iterable[Series]) -> tuple[float, float] | None:
    xs = [x for s in series for x in s["x"]]
    return (min(xs), max(xs)) if xs else None
