"""A run's chart, whatever its kind: `chart_figure` picks the drawing for the chart spec's `kind`.

    chart: {"id", "title", "metrics", "x", "kind", "baselines", "x_metric", "y_label", "log_x", "log_y",
            "references", "fit", "caption"}   (one of GET /api/phenomena/{name}'s "charts")
    series: [{"metric", "member", "x", "value"}]   (GET /api/runs/{id}/metrics)
    run: GET /api/runs/{id}: its summary (transitions, fits) and derived values (references)
"""

from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.band import band_figure
from frontend.figures.frame import HEIGHT
from frontend.figures.heatmap import heatmap_figure
from frontend.figures.lines import lines_figure
from frontend.figures.scatter import scatter_figure
from frontend.figures.theme import Figure


def chart_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    series: Sequence[ser.Series],
    run: Mapping[str, Any] | None = None,
    x_range: tuple[float, float] | None = None,
    height: int = HEIGHT,
) -> Figure:
    """x_range: a fixed frame for the horizontal axis (a live run's whole length), where it is linear."""
    kind = chart.get("kind", "lines")
    names = chart_metrics(chart)
    series = [item for item in series if item["metric"] in names]
    if kind == "band":
        return band_figure(chart, spec, series, run, x_range, height)
    if kind == "scatter":
        return scatter_figure(chart, spec, series, run, height)
    if kind == "heatmap":
        return heatmap_figure(chart, spec, series, run, height)
    return lines_figure(chart, spec, series, run, x_range, height)


def chart_metrics(chart: Mapping[str, Any]) -> list[str]:
    """The metrics a chart draws (what to ask the API for)."""
    names = [*chart["metrics"], *chart.get("baselines", []), *([chart["x_metric"]] if chart.get("x_metric") else [])]
    return list(dict.fromkeys(names))


def extendable(chart: Mapping[str, Any]) -> bool:
    """Whether new points can be appended to the drawn traces. A band, heatmap or scatter is a function of
    all points at once (a mean, a cell, a pair), and a fit line changes with every point: those are drawn
    again whole."""
    return chart.get("kind", "lines") == "lines" and not chart.get("fit")
