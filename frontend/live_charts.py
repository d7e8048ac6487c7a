"""Drawing a run's charts whole, and what the browser needs to keep them live on its own. Pure over the
API's JSON, with the fetch injected, so it is tested without Dash or a server.

The server draws a chart whole: when a page opens a run, and when the browser asks (see
`frontend/assets/live.js`). In between, the browser follows the run's event stream (GET
/api/runs/{id}/events, one shared read per run per tick in the API) and appends each new point to its trace
with Plotly's extendTraces: no server callback per viewer per tick. With each drawn chart goes its `state`,
what the browser needs to append, and to know when appending is not enough:

- `traces`: [metric, member, trace index, last x drawn, points drawn] for each trace with points; a series
  with no trace (a family member, a metric's first points) needs the chart drawn again;
- `room`: per log axis, the span its drawn ticks and range cover; a point outside needs a redraw (its ticks,
  and a value axis' floor, follow the points). While the run is live a log value axis reaches a decade below
  its lowest point, so a falling loss is redrawn once a decade, not every few points;
- `transitions` and `derived`: what the marks were drawn from; when the run's change, the marks are redrawn;
- `extendable`: False for band, heatmap and scatter charts and charts with a fit, which depend on all their
  points at once: drawn again when anything of theirs changed, at most once every REDRAW_S;
- past REFETCH_POINTS points in one trace the chart is drawn again, downsampled to MAX_POINTS per series.

Series are assumed to grow in x, as training steps and ordered sweeps do: a point at or before a trace's
last x is already drawn (a redraw can read further than the stream has sent), so nothing is drawn twice.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.chart import chart_figure, chart_metrics, extendable
from frontend.figures.frame import axis_fit, axis_spans
from frontend.run_panels import ACTIVE

MAX_POINTS = 1500  # per series, on a whole fetch
REFETCH_POINTS = 3000  # past this many points in one trace, the browser asks for the chart drawn again
REDRAW_S = 2.0  # a chart is drawn again at most this often while the run is live
HEADROOM_DECADES = 1.0  # while live, a log value axis reaches this far below its lowest point (loss falls)
LIMITS = {"refetch_points": REFETCH_POINTS, "redraw_s": REDRAW_S}  # told to the browser with each draw

SPEC_KEYS = ("name", "charts", "snapshots", "claims", "axes", "families", "metrics", "progress_axis")

# (names, after) -> {"series": [...], "cursor": ...}: GET /api/runs/{id}/metrics (after None: downsampled).
Fetch = Callable[[list[str], Any], Mapping[str, Any]]
Chart = Mapping[str, Any]
Run = Mapping[str, Any]


def view_spec(phenomenon: Mapping[str, Any]) -> dict[str, Any]:
    """What drawing a run's charts (and the run panel's callbacks) need of GET /api/phenomena/{name}."""
    return {key: phenomenon.get(key, []) for key in SPEC_KEYS}


def x_range(chart: Chart, spec: specs.Spec, run: Run | None) -> tuple[float, float] | None:
    """A chart on the axis the run advances along spans its whole length from the first point, so a live
    curve grows across a fixed frame (where that axis is linear and the chart is drawn against it)."""
    progress = (run or {}).get("progress") or {}
    if chart.get("kind", "lines") not in ("lines", "band") or specs.log_x(chart, spec):
        return None
    if chart.get("x", "step") != progress.get("axis") or not progress.get("total"):
        return None
    return 0.0, float(progress["total"])


def room(layout: Mapping[str, Any]) -> dict[str, list[float] | None]:
    """Per log axis, the span of values the drawn figure labels and shows: a fixed range (a value axis), or
    the outermost ticks of an array of ticks. None: plotly's own ticks and range, which follow by themselves."""
    spans: dict[str, list[float] | None] = {}
    for name in ("xaxis", "yaxis"):
        axis = layout.get(name) or {}
        if axis.get("type") != "log":
            continue
        if axis.get("range") and axis.get("autorange") is False:
            spans[name] = [10 ** axis["range"][0], 10 ** axis["range"][1]]
        elif axis.get("tickmode") == "array" and axis.get("tickvals"):
            spans[name] = [min(axis["tickvals"]), max(axis["tickvals"])]
        else:
            spans[name] = None
    return spans


def headroom(figure: dict) -> None:
    """A live log value axis drawn as if its lowest point were HEADROOM_DECADES lower: a falling loss stays
    inside the drawn range (and ticks) for a decade, instead of asking for a redraw every few points."""
    layout = figure["layout"]
    if (layout.get("yaxis") or {}).get("type") != "log":
        return
    span = axis_spans(layout, figure["data"]).get("yaxis")
    if span:
        layout["yaxis"].update(axis_fit("yaxis", [span[0] / 10**HEADROOM_DECADES, span[1]]))


def draw(chart: Chart, spec: specs.Spec, run: Run | None, series: Sequence[ser.Series]) -> tuple[dict, dict]:
    """(figure, what the browser then holds of it)."""
    figure = chart_figure(chart, spec, series, run, x_range(chart, spec, run))
    if (run or {}).get("status") in ACTIVE:
        headroom(figure)
    names = chart_metrics(chart)
    index = {str(trace.get("meta") or ""): n for n, trace in enumerate(figure["data"]) if trace.get("meta")}
    traces = [[item["metric"], item.get("member"), index[key], item["x"][-1], len(item["x"])]
              for item in series if item["metric"] in names and item["x"]
              and (key := ser.key(item["metric"], item.get("member"))) in index]
    summary = (run or {}).get("summary") or {}
    state = {
        "names": names,
        "extendable": extendable(chart),
        "traces": traces,
        "room": room(figure["layout"]),
        "transitions": summary.get("transitions", []),
        "derived": (run or {}).get("derived") or {},
    }
    return figure, state


def draw_charts(charts: Sequence[Chart], spec: specs.Spec, run: Run,
                fetch: Fetch) -> tuple[dict[str, dict], dict[str, dict], Any]:
    """({chart id: figure}, {chart id: state}, the metrics cursor the figures are drawn up to), from one
    downsampled fetch of the charts' metrics."""
    names = sorted({name for chart in charts for name in chart_metrics(chart)})
    data = fetch(names, None) if names else {"series": [], "cursor": None}  # no names would mean all metrics
    figures, states = {}, {}
    for chart in charts:
        figures[chart["id"]], states[chart["id"]] = draw(chart, spec, run, data["series"])
    return figures, states, data.get("cursor")


def events_url(run_id: str, after: Any) -> str:
    """The run's event stream, from the points after `after` (the cursor the figures are drawn up to)."""
    return f"/api/runs/{run_id}/events?after={int(after) if isinstance(after, int | float) and math.isfinite(after) else 0}"
