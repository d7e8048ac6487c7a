"""A "scatter" chart: metrics[0] (vertical) against x_metric (horizontal), a point wherever both have a value
at the same x of the chart's axis (e.g. test loss against train loss, one point per step). A family gets a
colour per member, named in the legend; a plain metric the colour of its role.

A family metric is paired with the same member of x_metric, or with x_metric itself where that is plain.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.colors import member_colors, metric_color
from frontend.figures.frame import HEIGHT, family_legend, frame, tick_axes, waiting
from frontend.figures.marks import marks_layout
from frontend.figures.theme import Figure

MARKER_SIZE = 7


def paired(y_item: ser.Series, x_item: ser.Series) -> tuple[list[float], list[float], list[float]]:
    """(axis x, horizontal value, vertical value) at every x where both series have a finite value."""
    horizontal = dict(ser.points(x_item))
    rows = [(x, horizontal[x], y) for x, y in ser.points(y_item) if x in horizontal]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def scatter_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    series: Sequence[ser.Series],
    run: Mapping[str, Any] | None = None,
    height: int = HEIGHT,
) -> Figure:
    y_name, x_name = chart["metrics"][0], chart["x_metric"]
    part = specs.family(spec, y_name)
    axis_title = specs.title(specs.axis(spec, chart.get("x", "step")))
    horizontal = {item.get("member"): item for item in ser.of_metric(series, x_name)}
    items = [item for item in ser.of_metric(series, y_name) if item["x"]]
    colors = member_colors([i["member"] for i in items if i.get("member") is not None], part["scale"]) \
        if part else {}
    data = []
    for item in items:
        member = item.get("member")
        partner = horizontal.get(member, horizontal.get(None))
        if partner is None:
            continue
        axis_x, xs, ys = paired(item, partner)
        if not xs:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "meta": ser.key(y_name, member),
            "name": specs.member_label(part, member) if member is not None else specs.label(spec, y_name),
            "x": xs, "y": ys, "customdata": axis_x,
            "marker": {"color": colors.get(member, metric_color(spec, y_name)) if member is not None
                       else metric_color(spec, y_name), "size": MARKER_SIZE, "opacity": 0.85},
            "showlegend": member is not None,
            "hovertemplate": f"{axis_title} %{{customdata:.4g}}<br>%{{x:.4g}}, %{{y:.4g}}<extra>%{{fullData.name}}"
                             "</extra>",
        })
    # The horizontal axis is a metric: its label, and log only when the chart asks (the axis' own scale is
    # that of the axis pairing the points, not of this metric).
    layout = frame(chart, spec, height, x_title=specs.label(spec, x_name), log_x=bool(chart.get("log_x")))
    layout["yaxis"]["title"]["text"] = chart.get("y_label") or specs.label(spec, y_name)
    layout["hovermode"] = "closest"
    layout.update(marks_layout(chart, spec, run, height, None, bool(chart.get("log_x"))))
    tick_axes(layout, data)
    if part and data:
        family_legend(layout, part)
    if not data:
        waiting(layout)
    return {"data": data, "layout": layout}
