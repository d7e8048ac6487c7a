"""A run's chart: its metrics against x, with detected transitions and reference values as labelled marks.

Pure functions of plain data (the API's JSON) to a plotly figure dict, tested without a browser. Dicts,
not `go.Figure`: building a validated go.Figure costs ~90 ms a chart here, several per refresh of a live
page; the unit tests validate every figure by building the go.Figure there instead.
Inputs:
- `chart`: a chart spec from GET /api/phenomena/{name}: {"id", "title", "metrics", "x_label", "y_label",
  "log_x", "log_y", "reference": [label, config field] | None}
- `series`: {metric: {"step": [...], "value": [...]}} from GET /api/runs/{id}/metrics
- `transitions`: the run's summary["transitions"]: [{"id", "label", "step", "metric", "value"}]
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures.theme import INK, MUTED, Figure, axis, base_layout, metric_color

Series = Mapping[str, Mapping[str, Sequence[Any]]]

# The top margin is a strip for the labels of the marks, two staggered rows, so a label never sits on a
# curve. Always there, so marks that appear during a run move nothing. The chart's title and legend are
# the card's (HTML, above the plot): see run_view.
TOP_MARGIN = 44
BOTTOM_MARGIN = 44
# px above the plot area where the labels sit, alternating from the leftmost mark: its label, reading
# rightwards over the next mark, is the higher one, so the next (shorter) line ends below it.
MARK_ROWS = (30, 8)


def curves_figure(
    chart: Mapping[str, Any],
    series: Series,
    transitions: Sequence[Mapping[str, Any]] = (),
    config: Mapping[str, Any] | None = None,
    x_range: tuple[float, float] | None = None,
    height: int = 300,
) -> Figure:
    """One trace per chart metric, in the chart's order (also when still empty: live updates extend
    trace i by index), vertical marks at transitions and at the chart's reference value."""
    log_x, log_y = bool(chart.get("log_x")), bool(chart.get("log_y"))
    data = [{
        "type": "scatter", "mode": "lines", "name": name,
        "x": list(series.get(name, {}).get("step", [])), "y": list(series.get(name, {}).get("value", [])),
        "line": {"color": metric_color(name), "width": 2}, "hovertemplate": "%{y:.4g}",
    } for name in chart["metrics"]]
    layout = base_layout("", height, top=TOP_MARGIN)
    layout["showlegend"] = False
    layout["xaxis"] = axis(chart.get("x_label", "step"), log_x)
    layout["yaxis"] = axis(chart.get("y_label", ""), log_y)
    if log_x:
        layout["xaxis"].update(log_ticks([x for trace in data for x in trace["x"]]))
    if log_y:
        layout["yaxis"].update(log_ticks([y for trace in data for y in trace["y"]]))
    if x_range is not None and not log_x:
        layout["xaxis"]["range"] = list(x_range)
    layout.update(marks_layout(chart, transitions, config, height, x_range or data_span(series, chart["metrics"])))
    if not any(trace["x"] for trace in data):
        # Nothing yet: a quiet placeholder instead of plotly's arbitrary -1…4 axes.
        layout["yaxis"]["showticklabels"] = False
        layout["xaxis"]["showticklabels"] = x_range is not None
        layout["annotations"] = [{"text": "waiting for data", "showarrow": False, "x": 0.5, "y": 0.5,
                                  "xref": "paper", "yref": "paper", "font": {"color": MUTED, "size": 13}}]
    return {"data": data, "layout": layout}


def marks_layout(
    chart: Mapping[str, Any],
    transitions: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
    height: int = 300,
    x_span: tuple[float, float] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """{"shapes", "annotations"} for a chart: a dashed line per transition in the color of the metric it
    was detected on, a dotted gray line at the reference value (e.g. p = n); marks at the same x share
    one line and one label. Set on a live figure with a Patch whenever the run's transitions change.

    Each line rises out of the plot into the top strip and carries its label there (a shape label:
    unlike an annotation on a data axis, it does not stretch the axis range to fit its text). A label
    reads to the right of its line, or to the left when the line is in the right half of `x_span`."""
    plot_height = max(height - TOP_MARGIN - BOTTOM_MARGIN, 40)
    grouped: dict[float, tuple[list[str], str, str]] = {}
    marks = [(t["step"], t["label"], metric_color(t["metric"]) if t.get("metric") else INK, "dash")
             for t in transitions if t.get("step") is not None]
    reference = chart.get("reference")
    if reference and config and config.get(reference[1]) is not None:
        marks.append((config[reference[1]], reference[0], "#495057", "dot"))
    for x, label, color, dash in marks:
        if chart.get("log_x") and x <= 0:
            continue
        grouped.setdefault(x, ([], color, dash))[0].append(label)
    shapes = []
    for i, (x, (labels, color, dash)) in enumerate(sorted(grouped.items())):
        where = 0.0 if x_span is None else _fraction(x, x_span, bool(chart.get("log_x")))
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
    return {"shapes": shapes, "annotations": []}


def _fraction(x: float, span: tuple[float, float], log: bool) -> float:
    lo, hi = span
    if log:
        if lo <= 0 or hi <= 0 or x <= 0:
            return 0.0
        lo, hi, x = math.log10(lo), math.log10(hi), math.log10(x)
    return (x - lo) / (hi - lo) if hi > lo else 0.0


def data_span(series: Series, metrics: Sequence[str]) -> tuple[float, float] | None:
    xs = [x for name in metrics for x in series.get(name, {}).get("step", [])]
    return (min(xs), max(xs)) if xs else None


def log_ticks(values: Sequence[float | None]) -> dict[str, Any]:
    """Labels at 1, 2, 5 × 10^k over a few decades; plotly's own choice when the data spans many
    (its default labels every digit over two decades, and a 1-2-5 rule over thirty is a wall of text)."""
    positive = [v for v in values if v is not None and v > 0]
    if not positive or math.log10(max(positive) / min(positive)) > 3:
        return {}
    return {"dtick": "D2"}
