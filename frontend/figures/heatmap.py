"""A "heatmap" chart: metrics[0] over (the chart's axis, the family's members), one cell per (x, member),
coloured by value (e.g. final loss over learning rate × width), with a colour bar titled with the metric.

Cells are drawn between explicit edges, midway between neighbouring values in the axis' own scale
(geometric midpoints on a log axis), so a log-spaced sweep gets evenly sized cells and marks at an x land
where that x is. `log_y` on a heatmap colours by log10 of the value (the vertical axis is the family).
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.colors import SEQUENTIAL
from frontend.figures.frame import HEIGHT, frame, waiting
from frontend.figures.marks import marks_layout
from frontend.figures.theme import Figure, log_axis
from frontend.numbers import number

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def cells(items: Sequence[ser.Series]) -> tuple[list[float], list[float], list[list[float | None]]]:
    """(xs, members, z) with z[j][i] the value of member j at xs[i]; None where it has none."""
    xs = sorted({x for item in items for x, _ in ser.points(item)})
    members = sorted({item["member"] for item in items if item.get("member") is not None})
    column = {x: i for i, x in enumerate(xs)}
    row = {m: j for j, m in enumerate(members)}
    z: list[list[float | None]] = [[None] * len(xs) for _ in members]
    for item in items:
        if item.get("member") is None:
            continue
        for x, value in ser.points(item):
            z[row[item["member"]]][column[x]] = value
    return xs, members, z


def edges(values: Sequence[float], log: bool) -> list[float]:
    """Cell boundaries around sorted `values`: midpoints (geometric on a log axis), half a step beyond the ends."""
    if log and values and values[0] > 0:
        return [math.exp(e) for e in edges([math.log(v) for v in values], log=False)]
    if len(values) == 1:
        return [values[0] - 0.5, values[0] + 0.5]
    mids = [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    return [values[0] - (mids[0] - values[0]), *mids, values[-1] + (values[-1] - mids[-1])]


def heatmap_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    series: Sequence[ser.Series],
    run: Mapping[str, Any] | None = None,
    height: int = HEIGHT,
) -> Figure:
    name = chart["metrics"][0]
    part = specs.family(spec, name) or {"id": "member", "label": "member", "unit": "", "scale": "linear"}
    log_x, log_y, log_z = specs.log_x(chart, spec), part["scale"] == "log", bool(chart.get("log_y"))
    xs, members, z = cells([item for item in ser.of_metric(series, name) if item["x"]])
    layout = frame(chart, spec, height)
    layout["yaxis"] = {**layout["yaxis"], **log_axis(log_y), "title": {**layout["yaxis"]["title"],
                                                                        "text": specs.title(part)}}
    layout["hovermode"] = "closest"
    layout.update(marks_layout(chart, spec, run, height, (xs[0], xs[-1]) if xs else None, log_x))
    if not members or not xs:
        waiting(layout)
        return {"data": [], "layout": layout}
    # Ticks at the cells' own values (plotly's on a log axis would label the edges' decades instead).
    layout["yaxis"].update(cell_ticks(members))
    if log_x:
        layout["xaxis"].update(cell_ticks(xs))
    shown = [[_log10(v) if log_z else v for v in row] for row in z]
    label = specs.label(spec, name)
    colorbar: dict[str, Any] = {"title": {"text": label, "side": "right", "font": {"size": 11}}, "thickness": 12,
                                "outlinewidth": 0, "len": 1, "y": 0.5}
    finite = [v for row in shown for v in row if v is not None]
    if log_z and finite:
        colorbar.update(log_colour_ticks(min(finite), max(finite)))
    axis_title = specs.title(specs.axis(spec, chart.get("x", "step")))
    custom = [[[number(x), number(m), number(v)] for x, v in zip(xs, row, strict=True)]
              for m, row in zip(members, z, strict=True)]
    data = [{
        "type": "heatmap", "meta": f"heatmap|{name}", "name": label, "x": edges(xs, log_x),
        "y": edges(members, log_y), "z": shown, "colorscale": SEQUENTIAL, "colorbar": colorbar,
        "customdata": custom, "hoverongaps": False,
        "hovertemplate": f"{axis_title} %{{customdata[0]}}<br>{part['id']} = %{{customdata[1]}}<br>{label} "
                         "%{customdata[2]}<extra></extra>",
    }]
    return {"data": data, "layout": layout}


def log_colour_ticks(lo: float, hi: float) -> dict[str, Any]:
    """Colour bar ticks for log10 values: powers of ten ("10⁻³"), with 2 and 5 between them when the
    values span less than three decades (else a bar of one or two labels)."""
    powers = range(math.floor(lo), math.ceil(hi) + 1)
    if hi - lo >= 3:
        return {"tickvals": list(powers), "ticktext": [f"10{str(k).translate(SUPERSCRIPT)}" for k in powers]}
    ticks = [p + math.log10(k) for p in powers for k in (1, 2, 5)]
    picked = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [round(lo)]
    return {"tickvals": picked, "ticktext": [number(10**t) for t in picked]}


def cell_ticks(values: Sequence[float], most: int = 12) -> dict[str, Any]:
    """Tick labels at (every k-th of) the cell centres."""
    every = max(1, math.ceil(len(values) / most))
    picked = list(values[::every])
    return {"tickmode": "array", "tickvals": picked, "ticktext": [number(v) for v in picked]}


def _log10(value: float | None) -> float | None:
    return math.log10(value) if value is not None and value > 0 else None
