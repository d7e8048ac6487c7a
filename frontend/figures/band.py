"""A "band" chart: a family whose members are seeds, drawn per x as the mean with its 95 % confidence
interval (Student's t over the members present at that x) as a filled band around the mean line.

Where only one member has a value the mean is drawn without a band: one seed says nothing of the spread.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.colors import metric_color, rgba
from frontend.figures.fit import fit_annotations, fit_traces
from frontend.figures.frame import HEIGHT, frame, tick_axes, waiting
from frontend.figures.marks import marks_layout
from frontend.figures.theme import Figure

BAND_ALPHA = 0.18
# Student's t, two-sided 95 % (the 0.975 quantile), for 1…30 degrees of freedom.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)
Z975 = 1.959964


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t: the table to 30, then the Cornish-Fisher expansion (error < 1e-4)."""
    if df < 1:
        raise ValueError("a t-interval needs at least 2 members")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def band_stats(items: Sequence[ser.Series]) -> dict[str, list[Any]]:
    """Per x (sorted): mean over the members with a finite value there, the 95 % t-interval [lo, hi]
    (None with fewer than two members) and n. Members are paired by equal x."""
    at: dict[float, list[float]] = {}
    for item in items:
        for x, value in ser.points(item):
            at.setdefault(x, []).append(value)
    out: dict[str, list[Any]] = {"x": [], "mean": [], "lo": [], "hi": [], "n": []}
    for x in sorted(at):
        values = at[x]
        n = len(values)
        mean = sum(values) / n
        lo: float | None = None
        hi: float | None = None
        if n >= 2:
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
            half = t975(n - 1) * sd / math.sqrt(n)
            lo, hi = mean - half, mean + half
        for column, cell in zip(out, (x, mean, lo, hi, n), strict=True):
            out[column].append(cell)
    return out


def band_traces(name: str, label: str, stats: Mapping[str, list[Any]], color: str, log_y: bool,
                key: str = "") -> list[dict[str, Any]]:
    """Lower edge (invisible), upper edge filled down to it, then the mean line on top."""
    # The band covers the x where it exists (≥ 2 members; on a log axis, a positive lower edge).
    spans = [(x, lo, hi) for x, lo, hi in zip(stats["x"], stats["lo"], stats["hi"], strict=True)
             if lo is not None and not (log_y and lo <= 0)]
    edge = {"type": "scatter", "mode": "lines", "line": {"width": 0, "color": color}, "hoverinfo": "skip",
            "showlegend": False, "x": [x for x, _, _ in spans]}
    custom = [[lo, hi, n] for lo, hi, n in zip(stats["lo"], stats["hi"], stats["n"], strict=True)]
    return [
        {**edge, "meta": f"band-lo|{key or name}", "name": f"{label} lower", "y": [lo for _, lo, _ in spans]},
        {**edge, "meta": f"band-hi|{key or name}", "name": f"{label} upper", "y": [hi for _, _, hi in spans],
         "fill": "tonexty", "fillcolor": rgba(color, BAND_ALPHA)},
        {"type": "scatter", "mode": "lines", "meta": f"mean|{key or name}", "name": label,
         "x": stats["x"], "y": stats["mean"], "customdata": custom, "line": {"color": color, "width": 2},
         "showlegend": False,
         "hovertemplate": "mean %{y:.4g} [%{customdata[0]:.4g}, %{customdata[1]:.4g}], n = %{customdata[2]}"},
    ]


def band_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    series: Sequence[ser.Series],
    run: Mapping[str, Any] | None = None,
    x_range: tuple[float, float] | None = None,
    height: int = HEIGHT,
) -> Figure:
    log_x, log_y = specs.log_x(chart, spec), bool(chart.get("log_y"))
    data: list[dict[str, Any]] = []
    for name in chart["metrics"]:
        items = [item for item in ser.of_metric(series, name) if item["x"]]
        if items:
            data += band_traces(name, specs.label(spec, name), band_stats(items), metric_color(spec, name), log_y)
    data += fit_traces(chart, run, log_x)
    layout = frame(chart, spec, height)
    if x_range is not None and not log_x:
        layout["xaxis"]["range"] = list(x_range)
    layout.update(marks_layout(chart, spec, run, height, x_range or ser.x_span(series), log_x))
    layout["annotations"] += fit_annotations(chart, run)
    tick_axes(layout, data)
    if not data:
        waiting(layout, keep_x_ticks=x_range is not None)
    return {"data": data, "layout": layout}
