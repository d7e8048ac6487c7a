"""A "lines" chart: each metric a line against the chart's axis, a family metric one line per member.

Pure functions of plain data (the API's JSON) to a plotly figure dict, tested without a browser. Dicts, not
`go.Figure`: building a validated go.Figure costs ~90 ms a chart here, several per refresh of a live page;
the unit tests validate every figure by building the go.Figure there instead.

- A plain metric: one line in the colour of its role. A family metric: a line per member on a sequential
  colour scale (log-spaced on a log family), named in a legend titled with the family ("m = 16"); several
  family metrics on one chart share the member colours and differ by dash.
- Baselines ("least squares"): gray dashed, named in the card's legend (see chart_legends.legend_items).
- Fit, transitions and references: see `fit` and `marks`.

Every series trace carries its series key as `meta` ("loss|16"): live updates extend a trace found by its key
(see frontend.live_charts).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.colors import BASELINE, member_colors, metric_color
from frontend.figures.fit import fit_annotations, fit_traces
from frontend.figures.frame import HEIGHT, family_legend, frame, tick_axes, waiting
from frontend.figures.marks import marks_layout
from frontend.figures.theme import Figure

DASHES = ("solid", "dash", "dot", "dashdot")  # family metrics after the first, on one chart


def lines_figure(
    chart: Mapping[str, Any],
    spec: specs.Spec,
    series: Sequence[ser.Series],
    run: Mapping[str, Any] | None = None,
    x_range: tuple[float, float] | None = None,
    height: int = HEIGHT,
) -> Figure:
    log_x = specs.log_x(chart, spec)
    families = [name for name in chart["metrics"] if specs.family(spec, name)]
    colors = _member_colors(spec, series, [*chart["metrics"], *chart.get("baselines", [])])
    data: list[dict[str, Any]] = []
    for name in chart["metrics"]:
        dash = DASHES[families.index(name) % len(DASHES)] if name in families else "solid"
        data += metric_traces(spec, name, series, colors, dash, in_legend=bool(families) and name == families[0],
                              several=len(families) > 1)
    for name in chart.get("baselines", []):
        data += baseline_traces(spec, name, series, colors)
    data += fit_traces(chart, run, log_x)
    layout = frame(chart, spec, height)
    if x_range is not None and not log_x:
        layout["xaxis"]["range"] = list(x_range)
    layout.update(marks_layout(chart, spec, run, height, x_range or ser.x_span(series), log_x))
    layout["annotations"] += fit_annotations(chart, run)
    tick_axes(layout, data)
    if families and colors:
        part = specs.family(spec, families[0])
        assert part is not None
        family_legend(layout, part)
    if not ser.has_points(series):
        waiting(layout, keep_x_ticks=x_range is not None)
    return {"data": data, "layout": layout}


def _member_colors(spec: specs.Spec, series: Sequence[ser.Series], names: Sequence[str]) -> dict[float, str]:
    """One colour per member over every family metric of the chart, so a member looks the same in each."""
    family_names = [n for n in names if specs.family(spec, n)]
    if not family_names:
        return {}
    part = specs.family(spec, family_names[0])
    assert part is not None
    return member_colors(ser.members(series, family_names), part["scale"])


def metric_traces(spec: specs.Spec, name: str, series: Sequence[ser.Series], colors: Mapping[float, str],
                  dash: str = "solid", in_legend: bool = False, several: bool = False) -> list[dict[str, Any]]:
    """A line per series of metric `name` that has points; a plain metric always has its line, empty until
    its first points (so the chart's traces keep the chart's metric order from the start)."""
    part = specs.family(spec, name)
    traces = []
    items = [item for item in ser.of_metric(series, name) if item["x"]]
    if part is None and not items:
        items = [{"metric": name, "member": None, "x": [], "value": []}]
    for item in items:
        member = item.get("member")
        if member is None or part is None:
            trace_name, color = specs.label(spec, name), metric_color(spec, name)
        else:
            trace_name = specs.member_label(part, member)
            trace_name = f"{trace_name} · {specs.label(spec, name)}" if several and not in_legend else trace_name
            color = colors.get(member, metric_color(spec, name))
        traces.append({
            "type": "scatter", "mode": "lines", "meta": ser.key(name, member), "name": trace_name,
            "x": list(item["x"]), "y": list(item["value"]),
            "line": {"color": color, "width": 2 if member is None else 1.6, "dash": dash},
            "hovertemplate": "%{y:.4g}", "legendgroup": ser.member_text(member),
            "showlegend": in_legend and member is not None,
        })
    return traces


def baseline_traces(spec: specs.Spec, name: str, series: Sequence[ser.Series],
                    colors: Mapping[float, str]) -> list[dict[str, Any]]:
    """Dashed reference curves, gray (a family's: its member's colour); named in the card's legend, not on the
    plot, where a label at the curve's end sat on the data as often as not."""
    label = specs.label(spec, name)
    traces = []
    for item in ser.of_metric(series, name):
        if not item["x"]:
            continue
        member = item.get("member")
        color = colors.get(member, BASELINE) if member is not None else BASELINE
        traces.append({
            "type": "scatter", "mode": "lines", "meta": ser.key(name, member), "name": label,
            "x": list(item["x"]), "y": list(item["value"]), "line": {"color": color, "width": 1.5, "dash": "dash"},
            "hovertemplate": "%{y:.4g}", "showlegend": False, "legendgroup": ser.member_text(member),
        })
    return traces
