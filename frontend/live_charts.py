"""Keeping a run's charts live: on each tick, which charts get a `Patch` appending the new points, which are
drawn again whole, and what the browser then holds (the cursor). Pure over the API's JSON, with the fetch
injected, so it is tested without Dash or a server.

A tick asks GET /api/runs/{id}/metrics for the points written since the opaque `cursor` of the previous
answer (`after=`), of every series of every chart. Then, per chart:

- a "lines" chart without a fit: new points of traces already drawn are appended with a Patch (and the
  ticks of a log axis, and a log value axis' floor, follow the points' span); marks are re-set when the
  run's transitions change;
- a series seen for the first time (a family member, a metric's first points): the chart is drawn again;
- band, heatmap and scatter charts, and charts with a fit, depend on all their points at once: drawn again
  when anything of theirs changed, at most once every REDRAW_S (the cost is a downsampled fetch of their
  metrics and one whole figure);
- a whole-figure draw fetches that chart's metrics without `after` (downsampled on the server to
  MAX_POINTS per series), as does every chart on a new run, once a curve holds REFETCH_POINTS points in the
  browser, and once more when the run ends (the final curves complete).

The cursor stores, per chart and series key, the last x drawn and how many points: a point at or before it is
already on the chart (a redraw can read further than the tick's cursor), so nothing is drawn twice.
Series are assumed to grow in x, as training steps and ordered sweeps do.
"""

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dash import Patch, no_update

from frontend.figures import series as ser
from frontend.figures import spec as specs
from frontend.figures.chart import chart_figure, chart_metrics, extendable
from frontend.figures.fit import chart_fit
from frontend.figures.frame import axis_fit, axis_spans, positive_span
from frontend.figures.marks import marks_key, marks_layout
from frontend.run_panels import ACTIVE

MAX_POINTS = 1500  # per series, on a whole fetch
REFETCH_POINTS = 3000  # past this many points in one curve, fetch the downsampled curves again
REDRAW_S = 1.0  # a chart drawn whole is drawn again at most this often while the run is live

# (names, after) -> {"series": [...], "cursor": ...}: GET /api/runs/{id}/metrics (after None: downsampled).
Fetch = Callable[[list[str], Any], Mapping[str, Any]]
Chart = Mapping[str, Any]
Run = Mapping[str, Any]


def x_range(chart: Chart, spec: specs.Spec, run: Run | None) -> tuple[float, float] | None:
    """A chart on the axis the run advances along spans its whole length from the first point, so a live
    curve grows across a fixed frame (where that axis is linear and the chart is drawn against it)."""
    progress = (run or {}).get("progress") or {}
    if chart.get("kind", "lines") not in ("lines", "band") or specs.log_x(chart, spec):
        return None
    if chart.get("x", "step") != progress.get("axis") or not progress.get("total"):
        return None
    return 0.0, float(progress["total"])


def draw(chart: Chart, spec: specs.Spec, run: Run | None, series: Sequence[ser.Series],
         now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """(figure, what the browser then holds of it)."""
    figure = chart_figure(chart, spec, series, run, x_range(chart, spec, run))
    names = chart_metrics(chart)
    mine = [item for item in series if item["metric"] in names and item["x"]]
    keys = [str(trace.get("meta") or "") for trace in figure["data"]]
    state = {
        "last": {ser.key(i["metric"], i.get("member")): [i["x"][-1], len(i["x"])] for i in mine},
        "index": {key: n for n, key in enumerate(keys) if key},
        "axes": axis_spans(figure["layout"], figure["data"]),
        "marks": marks_key(chart, run),
        "fit": chart_fit(chart, run),
        "span": list(ser.x_span(mine) or ()),
        "stale": False,
        "drawn": now,
    }
    return figure, state


def fresh_points(chart: Chart, increments: Sequence[ser.Series],
                 state: Mapping[str, Any]) -> tuple[dict[str, ser.Series], bool]:
    """({series key: its points after the last x drawn}, whether a series is not drawn at all yet)."""
    names = chart_metrics(chart)
    new: dict[str, ser.Series] = {}
    unseen = False
    for item in increments:
        if item["metric"] not in names or not item["x"]:
            continue
        key = ser.key(item["metric"], item.get("member"))
        if key not in state["last"]:
            new[key], unseen = item, True
            continue
        last_x = state["last"][key][0]
        keep = [i for i, x in enumerate(item["x"]) if x > last_x]
        if keep:
            new[key] = {**item, "x": [item["x"][i] for i in keep], "value": [item["value"][i] for i in keep]}
    return new, unseen


def extend(chart: Chart, spec: specs.Spec, run: Run, state: dict[str, Any], new: Mapping[str, ser.Series]) -> Any:
    """A Patch appending `new` to the drawn traces (updating `state`), or no_update when nothing changed."""
    patch = Patch()
    changed = False
    for key, item in new.items():
        index = state["index"][key]
        patch["data"][index]["x"].extend(list(item["x"]))
        patch["data"][index]["y"].extend(list(item["value"]))
        state["last"][key] = [item["x"][-1], state["last"][key][1] + len(item["x"])]
        span = state["span"] or [item["x"][0], item["x"][-1]]
        state["span"] = [min(span[0], min(item["x"])), max(span[1], max(item["x"]))]
        changed = True
    for name, span in state["axes"].items():  # a log axis' ticks (and a value axis' floor) follow the points
        grown = positive_span((v for item in new.values() for v in item["x" if name == "xaxis" else "value"]), span)
        if grown != span:
            before, after = axis_fit(name, span), axis_fit(name, grown)
            for prop in before.keys() - after.keys():
                del patch["layout"][name][prop]
            for prop, value in after.items():
                if value != before.get(prop):
                    patch["layout"][name][prop] = value
            state["axes"][name] = grown
    marks = marks_key(chart, run)
    if marks != state["marks"]:
        span = x_range(chart, spec, run) or (tuple(state["span"]) if state["span"] else None)
        patch["layout"]["shapes"] = marks_layout(chart, spec, run, x_span=span)["shapes"]
        state["marks"] = marks
        changed = True
    return patch if changed else no_update


def _crowded(states: Mapping[str, Any]) -> bool:
    return any(n > REFETCH_POINTS for state in states.values() for _, n in state["last"].values())


def refresh(
    charts: Sequence[Chart],
    spec: specs.Spec,
    run: Run,
    cursor: Mapping[str, Any] | None,
    fetch: Fetch,
    now: float,
    restart: bool = False,
) -> tuple[list[Any], dict[str, Any]]:
    """(a figure, Patch or no_update per chart, in `charts`' order; the new cursor).

    cursor: {"run", "after", "status", "charts": {chart id: state}} as the previous tick returned it."""
    names = sorted({name for chart in charts for name in chart_metrics(chart)})
    if not names:  # no charts: nothing to ask for (no names would mean every metric)
        return [], {"run": run["id"], "after": None, "status": run["status"], "charts": {}}
    same = not restart and cursor is not None and cursor.get("run") == run["id"]
    states: dict[str, Any] = copy.deepcopy(dict(cursor["charts"])) if same and cursor else {}
    if not same or run["status"] not in ACTIVE or _crowded(states):
        data = fetch(names, None)
        figures = []
        for chart in charts:
            figure, states[chart["id"]] = draw(chart, spec, run, data["series"], now)
            figures.append(figure)
        return figures, {"run": run["id"], "after": data.get("cursor"), "status": run["status"], "charts": states}

    assert cursor is not None
    increments = fetch(names, cursor.get("after"))
    after = increments["cursor"] if increments.get("cursor") is not None else cursor.get("after")
    outputs: list[Any] = [no_update] * len(charts)
    again = []
    for i, chart in enumerate(charts):
        state = states.get(chart["id"])
        if state is None:
            again.append(i)
            continue
        new, unseen = fresh_points(chart, increments["series"], state)
        if extendable(chart):
            if unseen or any(key not in state["index"] for key in new):
                again.append(i)
            else:
                outputs[i] = extend(chart, spec, run, state, new)
            continue
        if new or marks_key(chart, run) != state["marks"] or chart_fit(chart, run) != state["fit"]:
            state["stale"] = True
        if state["stale"] and now - state["drawn"] >= REDRAW_S:
            again.append(i)
    if again:
        data = fetch(sorted({name for i in again for name in chart_metrics(charts[i])}), None)
        for i in again:
            outputs[i], states[charts[i]["id"]] = draw(charts[i], spec, run, data["series"], now)
    return outputs, {"run": run["id"], "after": after, "status": run["status"], "charts": states}
