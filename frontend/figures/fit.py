"""A fitted power law on a chart: y = prefactor · x^slope over the x range it was fitted on, labelled with its
slope and 95 % interval in a corner of the plot. The fit is the worker's (summary.fits[chart id]); the browser
never fits.

    fit: {"metric", "slope", "prefactor", "interval": [lo, hi], "x_min", "x_max", "n_points", "r2", "method"}
"""

import math
from collections.abc import Mapping
from typing import Any

from frontend.figures.colors import FIT
from frontend.numbers import measured

SAMPLES = 48  # points along the line where it is curved (a power law on a linear axis)


def chart_fit(chart: Mapping[str, Any], run: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The run's fit for `chart`, if the chart draws one and the run has it."""
    if not chart.get("fit") or not run:
        return None
    return ((run.get("summary") or {}).get("fits") or {}).get(chart["id"])


def fit_label(fit: Mapping[str, Any]) -> str:
    """"slope −1.02 [−1.10, −0.95]"."""
    return f"slope {measured(fit['slope'], fit.get('interval'))}"


def fit_xs(x_min: float, x_max: float, log_x: bool, log_y: bool) -> list[float]:
    """The ends, where the line is straight (log-log); else points spaced evenly on the x axis."""
    if (log_x and log_y) or x_max <= x_min:
        return [x_min, x_max]
    if log_x and x_min > 0:
        step = (math.log(x_max) - math.log(x_min)) / (SAMPLES - 1)
        return [math.exp(math.log(x_min) + i * step) for i in range(SAMPLES - 1)] + [x_max]
    return [x_min + (x_max - x_min) * i / (SAMPLES - 1) for i in range(SAMPLES)]


def fit_traces(chart: Mapping[str, Any], run: Mapping[str, Any] | None, log_x: bool) -> list[dict[str, Any]]:
    """The fitted line over the range it was fitted on (its label: `fit_annotations`)."""
    fit = chart_fit(chart, run)
    if not fit or fit.get("x_min") is None or fit.get("x_max") is None:
        return []
    xs = fit_xs(float(fit["x_min"]), float(fit["x_max"]), log_x, bool(chart.get("log_y")))
    if any(x <= 0 for x in xs) and fit["slope"] < 0:
        return []
    ys = [fit["prefactor"] * x ** fit["slope"] for x in xs]
    name = chart["fit"].get("label") or "fit"
    return [{
        "type": "scatter", "mode": "lines", "meta": "fit", "name": name, "x": xs, "y": ys,
        "line": {"color": FIT, "width": 1.5}, "opacity": 0.85, "showlegend": False,
        "hovertemplate": f"{name}: {fit_label(fit)}<extra></extra>",
    }]


def fit_annotations(chart: Mapping[str, Any], run: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The fit's label, "power-law fit: slope −1.07 [−1.35, −0.79]", in the corner of the plot the data leave
    empty: bottom left under a falling curve, top left over a rising one (at the line's end it sat on the
    data, which end where the fit does)."""
    fit = chart_fit(chart, run)
    if not fit or fit.get("slope") is None:
        return []
    falling = fit["slope"] < 0
    return [{
        "text": f"{chart['fit'].get('label') or 'fit'}: {fit_label(fit)}", "showarrow": False,
        "xref": "paper", "yref": "paper", "x": 0.02, "y": 0.03 if falling else 0.97, "xanchor": "left",
        "yanchor": "bottom" if falling else "top", "font": {"size": 11, "color": FIT},
        "bgcolor": "rgba(255,255,255,0.85)", "borderpad": 2,
    }]
