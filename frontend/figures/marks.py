"""Marks on a chart: detected transitions (dashed, in the colour of the metric they were found on) and
reference lines at values the run derives from its config (dotted gray: "p = n" at x = n, "2/η" at y = 2/η).

Inputs from GET /api/runs/{id}: `summary.transitions` [{"id", "label", "x", "axis", "metric", "member",
"charts"}] and `derived` {key: value}. A transition is drawn on the charts drawn against its axis (and only
on those it names, when it names any); a reference on the chart that declares it.
"""

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from frontend.figures import spec as specs
from frontend.figures.colors import REFERENCE, member_colors, metric_color
from frontend.figures.frame import BOTTOM_MARGIN, HEIGHT, TOP_MARGIN
from frontend.figures.theme import INK
from frontend.numbers import number

# px above the plot area where the labels of vertical marks sit, alternating from the leftmost mark: its
# label, reading rightwards over the next mark, is the higher one, so the next (shorter) line ends below it.
MARK_ROWS = (30, 8)
CROWDED = 0.08  # lines closer than this fraction of the x span share one label
LONGEST_LABEL = 60  # characters of labels joined with " · " before they are cut to "first (+n more)"
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
    x share one line and one label; marks crowded closer than CROWDED of the span (one per width of a
    family, say) keep their lines and share one label ("m = 4 … 32: stores more than m features"). A mark
    found on one member of a family is drawn in that member's colour. A horizontal reference carries its
    label above its right end."""
    log_x = specs.log_x(chart, spec) if log_x is None else log_x
    log_y = bool(chart.get("log_y"))
    plot_height = max(height - TOP_MARGIN - BOTTOM_MARGIN, 40)
    vertical = [Mark(float(t["x"]), t["label"], transition_color(spec, run, t), "dash", t.get("member"),
                     t.get("metric")) for t in chart_transitions(chart, run)]
    references = chart_references(chart, run)
    vertical += [Mark(value, label, REFERENCE, "dot") for label, value, orient in references if orient == "x"]
    grouped: dict[float, list[Mark]] = {}
    for mark in vertical:
        if not (log_x and mark.x <= 0):
            grouped.setdefault(mark.x, []).append(mark)
    lines = sorted(grouped.items())
    shapes = []
    labelled = 0
    for cluster in _clusters(lines, x_span, log_x):
        text = cluster_label([mark for _, marks in cluster for mark in marks], spec)
        for i, (x, marks) in enumerate(cluster):
            line: dict[str, Any] = {
                "type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                "line": {"color": marks[0].color, "width": 1.5, "dash": marks[0].dash}, "layer": "below",
            }
            if i == 0:  # the cluster's label, on its first line, staggered with the previous label
                where = 0.0 if x_span is None else _fraction(x, x_span, log_x)
                color = marks[0].color if len({m.color for _, ms in cluster for m in ms}) == 1 else INK
                line["y1"] = 1 + MARK_ROWS[labelled % 2] / plot_height
                line["label"] = {
                    "text": text, "textposition": "end", "textangle": 0,
                    # Beside the line's top end, or above it when centred (never crossed by the line).
                    "xanchor": "left" if where < 0.3 else "right" if where > 0.7 else "center",
                    "yanchor": "middle" if where < 0.3 or where > 0.7 else "bottom", "padding": 3,
                    "font": {"size": 11, "color": color},
                }
                labelled += 1
            shapes.append(line)
    for label, y, orient in references:
        if orient == "y" and not (log_y and y <= 0):
            shapes.append({
                "type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y,
                "line": {"color": REFERENCE, "width": 1.5, "dash": "dot"}, "layer": "below",
                "label": {"text": label, "textposition": "end", "textangle": 0, "xanchor": "right",
                          "yanchor": "bottom", "padding": 3, "font": {"size": 11, "color": REFERENCE}},
            })
    return {"shapes": shapes, "annotations": []}


class Mark(NamedTuple):
    x: float
    label: str
    color: str
    dash: str
    member: float | None = None
    metric: str | None = None


def transition_color(spec: specs.Spec, run: Run | None, transition: Mapping[str, Any]) -> str:
    """The colour of the curve a transition was found on: its member's, on a family metric; else its metric's."""
    metric = transition.get("metric")
    if not metric:
        return INK
    part = specs.family(spec, metric)
    member = transition.get("member")
    if part is None or member is None:
        return metric_color(spec, metric)
    members = ((run or {}).get("members") or {}).get(part["id"]) or [member]
    return member_colors([*members, member], part["scale"]).get(float(member), metric_color(spec, metric))


def _clusters(lines: list[tuple[float, list[Mark]]], x_span: tuple[float, float] | None,
              log_x: bool) -> list[list[tuple[float, list[Mark]]]]:
    """Neighbouring lines closer than CROWDED of the span, together (without a span: each alone)."""
    clusters: list[list[tuple[float, list[Mark]]]] = []
    for x, marks in lines:
        if clusters and x_span is not None and \
                _fraction(x, x_span, log_x) - _fraction(clusters[-1][-1][0], x_span, log_x) < CROWDED:
            clusters[-1].append((x, marks))
        else:
            clusters.append([(x, marks)])
    return clusters


def cluster_label(marks: list[Mark], spec: specs.Spec) -> str:
    """One label for marks drawn together. Marks of one family metric whose labels differ only by their
    member ("m = 4 beats …", "m = 8 stores more than 8 features") read as one: "m = 4 … 32: beats …"; else
    the labels one after the other, or the first and how many more when that runs long."""
    labels = list(dict.fromkeys(mark.label for mark in marks))
    if len(labels) == 1:
        return labels[0]
    parts = {_family_id(spec, m.metric) for m in marks}
    members = sorted({m.member for m in marks if m.member is not None})
    part = parts.pop() if len(parts) == 1 else None
    if part is not None and len(members) == len(marks):
        common = {_without_member(m.label, part, m.member) for m in marks}
        if len(common) == 1:
            which = ", ".join(number(m) for m in members) if len(members) <= 3 else \
                f"{number(members[0])} … {number(members[-1])}"
            return f"{part} = {which}: {common.pop()}"
    joined = " · ".join(labels)
    return joined if len(joined) <= LONGEST_LABEL else f"{labels[0]} (+{len(labels) - 1} more)"


def _family_id(spec: specs.Spec, metric: str | None) -> str | None:
    part = specs.family(spec, metric) if metric else None
    return part["id"] if part else None


def _without_member(label: str, part: str, member: float | None) -> str:
    """"m = 8 stores more than 8 features" → "stores more than m features"."""
    value = re.escape(number(member))
    text = re.sub(rf"^\s*{re.escape(part)}\s*=\s*{value}\b[\s:,]*", "", label)
    return re.sub(rf"(?<![\w.]){value}(?![\w.])", part, text).strip()


def _fraction(x: float, span: tuple[float, float], log: bool) -> float:
    lo, hi = span
    if log:
        if lo <= 0 or hi <= 0 or x <= 0:
            return 0.0
        lo, hi, x = math.log10(lo), math.log10(hi), math.log10(x)
    return (x - lo) / (hi - lo) if hi > lo else 0.0

