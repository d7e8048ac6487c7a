"""Marks on a chart: detected transitions (dashed, in the colour of the metric they were found on) and
reference lines at values the run derives from its config (dotted gray: "p = n" at x = n, "2/η" at y = 2/η).

Inputs from GET /api/runs/{id}: `summary.transitions` [{"id", "label", "x", "axis", "metric", "member",
"charts"}] and `derived` {key: value}. A transition is drawn on the charts drawn against its axis (and only
on those it names, when it names any); a reference on the chart that declares it.
"""

import math
from collections.abc import Mapping
from typing import Any

from frontend.figures import spec as specs
from frontend.figures.colors import REFERENCE, metric_color
from frontend.figures.frame import BOTTOM_MARGIN, HEIGHT, TOP_MARGIN
from frontend.figures.theme import INK

# px above the plot area where the labels of vertical marks sit, alternating from the leftmost mark: its
# label, reading rightwards over the next mark, is the higher one, so the next (shorter) line ends below it.
MARK_ROWS = (30, 8)
Run = Mapping[str, Any]


def chart_transitions(chart: Mapping[str, Any], run: Run | None) -> list[Mapping[str, Any]]:
    """The run's transitions that belong on `chart`: on its axis, and naming it if they name charts.
    None on a scatter, whose horizontal axis is a metric, not the axis the transitions are found on."""
    if not run or chart.get("kind") == "scatter":
        return []
    found = (run.get("summary") or {}).get("transitions", [])
    return [t for t in found if t.get("x") is not None and t.get("axis", "step") == chart.get("x", "step")
            and (t.get("charts") is None or chart["id"] in t["charts"])]


def chart_references(chart: Mapping[str, Any], run: Run | None) -> list[tuple[str, float, str]]:
    """(label, value, orient) of the chart's references whose value the run derives."""
    derived = (run or {}).get("derived") or {}
    return [(r["label"], float(derived[r["value"]]), r.get("orient", "x")) for r in chart.get("references", [])
            if derived.get(r["value"]) is not None and math.isfinite(derived[r["value"]])]


def marks_key(chart: Mapping[str, Any], run: Run | None) -> list[Any]:
    """Everything the marks of `chart` depend on: when it changes, the marks are drawn again."""
    return [[[t.get("label"), t.get("x"), t.get("metric")] for t in chart_transitions(chart, run)],
            [list(r) for r in chart_references(chart, run)]]


def marks_layout(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    run: Run | None,
    height: int = HEIGHT,
    x_span: tuple[float, float] | None = None,
    log_x: bool | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """{"shapes", "annotations"}: set on a live figure with a Patch whenever the marks change.

    A vertical mark rises out of the plot into the top strip and carries its label there (a shape label:
    unlike an annotation on a data axis, it does not stretch the axis range to fit its text); it reads to
    the right of its line, or to the left when the line is in the right part of `x_span`. Marks at the same
    x share one line and one label. A horizontal reference carries its label above its right end."""
    log_x = specs.log_x(chart, spec) if log_x is None else log_x
    log_y = bool(chart.get("log_y"))
    plot_height = max(height - TOP_MARGIN - BOTTOM_MARGIN, 40)
    vertical = [(float(t["x"]), t["label"], metric_color(spec, t["metric"]) if t.get("metric") else INK, "dash")
                for t in chart_transitions(chart, run)]
    references = chart_references(chart, run)
    vertical += [(value, label, REFERENCE, "dot") for label, value, orient in references if orient == "x"]
    grouped: dict[float, tuple[list[str], str, str]] = {}
    for x, label, color, dash in vertical:
        if not (log_x and x <= 0):
            grouped.setdefault(x, ([], color, dash))[0].append(label)
    shapes = []
    for i, (x, (labels, color, dash)) in enumerate(sorted(grouped.items())):
        where = 0.0 if x_span is None else _fraction(x, x_span, log_x)
        shapes.append({
            "type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0,
            "y1": 1 + MARK_ROWS[i % 2] / plot_height,
            "line": {"color": color, "width": 1.5, "dash": dash}, "layer": "below",
            "label": {"text": " · ".join(labels), "textposition": "end", "textangle": 0,
                      # Beside the line's top end, or above it when centred (never crossed by the line).
                      "xanchor": "left" if where < 0.3 else "right" if where > 0.7 else "center",
                      "yanchor": "middle" if where < 0.3 or where > 0.7 else "bottom", "padding": 3,
                      "font": {"size": 11, "color": color}},
        })
    for label, y, orient in references:
        if orient == "y" and not (log_y and y <= 0):
            shapes.append({
                "type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y,
                "line": {"color": REFERENCE, "width": 1.5, "dash": "dot"}, "layer": "below",
                "label": {"text": label, "textposition": "end", "textangle": 0, "xanchor": "right",
                          "yanchor": "bottom", "padding": 3, "font": {"size": 11, "color": REFERENCE}},
            })
    return {"shapes": shapes, "annotations": []}


def _fraction(x: float, span: tuple[float, float], log: bool) -> float:
    lo, hi = span
    if log:
        if lo <= 0 or hi <= 0 or x <= 0:
            return 0.0
        lo, hi, x = math.log10(lo), math.log10(hi), math.log10(x)
    return (x - lo) / (hi - lo) if hi > lo else 0.0

