"""The frame every kind of chart shares: its axes (titled from the axis the chart names), the strip above
the plot where mark labels sit, the legend of a family, and the placeholder of a chart with no data yet."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import spec as specs
from frontend.figures.theme import MUTED, axis, base_layout

# The top margin is a strip for the labels of the marks, two staggered rows, so a label never sits on a
# curve. Always there, so marks that appear during a run move nothing. The chart's title and legend are
# the card's (HTML, above the plot): see run_view.
TOP_MARGIN = 44
BOTTOM_MARGIN = 44
HEIGHT = 300


def frame(chart: Mapping[str, Any], spec: specs.Spec, height: int = HEIGHT, x_title: str | None = None,
          log_x: bool | None = None) -> dict[str, Any]:
    """Layout with the x axis of the axis the chart is drawn against (or `x_title`/`log_x` when the
    horizontal axis is something else, as on a scatter) and the chart's y axis."""
    log_x = specs.log_x(chart, spec) if log_x is None else log_x
    layout = base_layout("", height, top=TOP_MARGIN)
    layout["showlegend"] = False
    layout["xaxis"] = axis(x_title if x_title is not None else specs.title(specs.axis(spec, chart.get("x", "step"))),
                           log_x)
    layout["yaxis"] = axis(chart.get("y_label", ""), bool(chart.get("log_y")))
    return layout


def log_ticks(values: Sequence[float | None]) -> dict[str, Any]:
    """Labels at 1, 2, 5 × 10^k over a few decades; plotly's own choice when the data spans many
    (its default labels every digit over two decades, and a 1-2-5 rule over thirty is a wall of text)."""
    positive = [v for v in values if v is not None and v > 0]
    if not positive or math.log10(max(positive) / min(positive)) > 3:
        return {}
    return {"dtick": "D2"}


def tick_axes(layout: dict[str, Any], data: Sequence[Mapping[str, Any]]) -> None:
    """1-2-5 ticks on the log axes of a line-like chart, from its traces' points."""
    for name in ("xaxis", "yaxis"):
        if layout[name].get("type") == "log":
            values = [v for trace in data for v in trace.get(name[0], []) if isinstance(v, int | float)]
            layout[name].update(log_ticks(values))


def family_legend(layout: dict[str, Any], part: Mapping[str, Any]) -> None:
    """A legend at the right, titled with the family's label, naming each member ("m = 16")."""
    layout["showlegend"] = True
    layout["legend"] = {"title": {"text": specs.title(part), "font": {"size": 11, "color": MUTED}},
                        "orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top",
                        "bgcolor": "rgba(0,0,0,0)", "font": {"size": 10}, "itemwidth": 30,
                        "tracegroupgap": 0}


def waiting(layout: dict[str, Any], keep_x_ticks: bool = False) -> None:
    """Nothing yet: a quiet placeholder instead of plotly's arbitrary -1…4 axes."""
    layout["yaxis"]["showticklabels"] = False
    layout["xaxis"]["showticklabels"] = keep_x_ticks
    layout["annotations"] = [{"text": "waiting for data", "showarrow": False, "x": 0.5, "y": 0.5,
                              "xref": "paper", "yref": "paper", "font": {"color": MUTED, "size": 13}}]
