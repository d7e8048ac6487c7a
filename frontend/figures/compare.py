"""Several runs on one chart: colour = run, line style = role (held-out dashed), a family's members = shades
of the run's colour (darker to lighter along the family's scale). A band chart draws each run's mean with a
faint 95 % band. Heatmap and scatter charts do not overlay; the page offers only the charts that do.

Smoothing is an exponential moving average (TensorBoard's, with its start-up bias removed); the raw
curve stays behind it, faint, so smoothing never hides a spike.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.band import band_stats, band_traces
from frontend.figures.colors import RUN_COLORS, member_positions, shade
from frontend.figures.frame import tick_axes
from frontend.figures.theme import Figure, axis, base_layout

RAW_OPACITY = 0.22
OVERLAID = ("lines", "band")  # chart kinds the compare page can draw


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


def role_dash(spec: specs.Spec, name: str) -> str:
    """On the compare page colour means the run, so a held-out metric is told by its dash."""
    return "dash" if specs.metric(spec, name)["role"] == "held_out" else "solid"


def compare_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    runs: Sequence[Mapping[str, Any]],
    series_by_run: Mapping[str, Sequence[ser.Series]],
    smoothing: float = 0.0,
    log_x: bool | None = None,
    log_y: bool | None = None,
    height: int = 440,
) -> Figure:
    """One chart, every run overlaid. log_x/log_y None: as the chart spec (and its axis) say."""
    log_x = specs.log_x(chart, spec) if log_x is None else log_x
    log_y = bool(chart.get("log_y", False) if log_y is None else log_y)
    labels = run_labels(runs)
    several_metrics = len(chart["metrics"]) > 1
    data: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        series = series_by_run.get(run["id"], [])
        for metric in chart["metrics"]:
            name = f"{labels[run['id']]} · {specs.label(spec, metric)}" if several_metrics else labels[run["id"]]
            items = [item for item in ser.of_metric(series, metric) if item["x"]]
            if chart.get("kind") == "band":
                if items:
                    data += band_traces(metric, name, band_stats(items), color, log_y, key=f"{run['id']}|{metric}")
                    data[-1]["showlegend"] = True  # the mean line names the run
                continue
            part = specs.family(spec, metric)
            where = member_positions([it["member"] for it in items if it.get("member") is not None],
                                     part["scale"] if part else "linear")
            for item in items:
                member = item.get("member")
                line = {"color": shade(color, where[member]) if member is not None else color,
                        "dash": role_dash(spec, metric), "width": 2}
                trace_name = f"{name} · {specs.member_label(part, member)}" if member is not None else name
                data += _line(list(item["x"]), list(item["value"]), trace_name, line, smoothing, log_y)
    layout = base_layout(chart["title"], height)
    layout["xaxis"] = axis(specs.title(specs.axis(spec, chart.get("x", "step"))), log_x)
    layout["yaxis"] = axis(chart.get("y_label", ""), log_y)
    if not log_x:
        layout["xaxis"]["tickformat"] = ","
    tick_axes(layout, data)  # log axes as on the run's own charts: round ticks, a value axis capped    # Run labels are long: a column right of the plot.
    layout["legend"] = {**layout["legend"], "orientation": "v", "x": 1.01, "xanchor": "left", "y": 1,
                        "yref": "paper", "yanchor": "top"}
    layout["margin"] = {**layout["margin"], "r": 8}
    return {"data": data, "layout": layout}


def _line(x: list[float], y: list[float | None], name: str, line: dict[str, Any], smoothing: float,
          log_y: bool) -> list[dict[str, Any]]:
    """The curve, smoothed if asked, with the raw one faint behind it (and out of the legend)."""
    traces = []
    if smoothing > 0:
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": f"{name} (raw)",
                       "line": {**line, "width": 1}, "opacity": RAW_OPACITY, "legendgroup": name,
                       "showlegend": False, "hoverinfo": "skip"})
        y = _smooth(y, smoothing, log_y)
    traces.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": line,
                   "legendgroup": name, "hovertemplate": "%{y:.4g}"})
    return traces
