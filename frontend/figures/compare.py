"""Several runs on one chart: color = run, line style = split (train solid, held-out dashed).

Smoothing is an exponential moving average (TensorBoard's, with its start-up bias removed); the raw
curve stays behind it, faint, so smoothing never hides a spike.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures.curves import Series
from frontend.figures.theme import RUN_COLORS, Figure, axis, base_layout, metric_dash

RAW_OPACITY = 0.22


def ema(values: Sequence[float | None], weight: float) -> list[float | None]:
    """Debiased EMA: s_t = w·s_{t-1} + (1-w)·x_t, divided by 1-w^n; None (a gap) stays None.
    On a log axis callers smooth log(y) instead, so a curve spanning decades is not flattened."""
    if weight <= 0:
        return list(values)
    out: list[float | None] = []
    acc, n = 0.0, 0
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(None)
            continue
        n += 1
        acc = weight * acc + (1 - weight) * value
        out.append(acc / (1 - weight**n))
    return out


def _smooth(values: Sequence[float | None], weight: float, log: bool) -> list[float | None]:
    if not log:
        return ema(values, weight)
    logs = [math.log(v) if v is not None and v > 0 else None for v in values]
    return [None if v is None else math.exp(v) for v in ema(logs, weight)]


def run_labels(runs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Legend text per run: its short id and the knobs (and seed) in which the runs differ."""
    keys = sorted({key for run in runs for key in run.get("config", {})})
    differing = [k for k in keys if len({repr(run.get("config", {}).get(k)) for run in runs}) > 1]
    seeds_differ = len({run.get("seed") for run in runs}) > 1
    labels = {}
    for run in runs:
        parts = [f"{k}={_fmt(run.get('config', {}).get(k))}" for k in differing]
        if seeds_differ:
            parts.append(f"seed={run.get('seed')}")
        labels[run["id"]] = " · ".join([run["id"][:8], ", ".join(parts)]) if parts else run["id"][:8]
    return labels


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def compare_figure(
    chart: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    series_by_run: Mapping[str, Series],
    smoothing: float = 0.0,
    log_x: bool | None = None,
    log_y: bool | None = None,
    height: int = 440,
) -> Figure:
    """One chart, every run overlaid. log_x/log_y None: as the chart spec says."""
    log_x = bool(chart.get("log_x", False) if log_x is None else log_x)
    log_y = bool(chart.get("log_y", False) if log_y is None else log_y)
    labels = run_labels(runs)
    several_metrics = len(chart["metrics"]) > 1
    data: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        series = series_by_run.get(run["id"], {})
        for metric in chart["metrics"]:
            points = series.get(metric)
            if not points or not points.get("step"):
                continue
            x, y = list(points["step"]), list(points["value"])
            name = f"{labels[run['id']]} · {metric}" if several_metrics else labels[run["id"]]
            line = {"color": color, "dash": metric_dash(metric), "width": 2}
            if smoothing > 0:
                data.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": f"{name} (raw)",
                             "line": {**line, "width": 1}, "opacity": RAW_OPACITY, "legendgroup": name,
                             "showlegend": False, "hoverinfo": "skip"})
                y = _smooth(y, smoothing, log_y)
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": line,
                         "legendgroup": name, "hovertemplate": "%{y:.4g}"})
    layout = base_layout(chart["title"], height)
    layout["xaxis"] = axis(chart.get("x_label", "step"), log_x)
    layout["yaxis"] = axis(chart.get("y_label", ""), log_y)
    # Run labels are long: a column right of the plot.
    layout["legend"] = {**layout["legend"], "orientation": "v", "x": 1.01, "xanchor": "left", "y": 1,
                        "yref": "paper", "yanchor": "top"}
    layout["margin"] = {**layout["margin"], "r": 8}
    return {"data": data, "layout": layout}
