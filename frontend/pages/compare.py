"""/compare?runs=a,b&chart=&logx=&logy=&smooth=: several runs overlaid on one chart, all state in the URL."""

from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, ctx, dcc, html, no_update, register_page

from frontend.client import ApiError, api
from frontend.figures import spec as specs
from frontend.figures.chart import chart_metrics
from frontend.figures.compare import OVERLAID, compare_figure, run_labels
from frontend.ids import Compare
from frontend.links import compare_href
from frontend.pages import Callbacks
from frontend.run_view import GRAPH_CONFIG

ids = Compare
callbacks = Callbacks()
MAX_POINTS = 1000  # per curve and run
MAX_RUNS = 8


def register(app: Dash) -> None:
    register_page(__name__, path="/compare", name="Compare", title="Compare · Phaselab", order=2, nav=True,
                  layout=layout)
    callbacks.attach(app)


def layout(runs: str = "", chart: str = "", logx: str = "", logy: str = "", smooth: str = "0", **_: str) -> Any:
    wanted = [r for r in runs.split(",") if r][:MAX_RUNS]
    try:
        chosen = [api().run(r) for r in wanted]
        phenomenon = chosen[0]["phenomenon"] if chosen else None
        recent = api().runs(phenomenon=phenomenon, limit=100)["data"]
        spec = api().phenomenon(phenomenon) if phenomenon else None
    except ApiError as exc:
        return dmc.Container(dmc.Alert(str(exc), color="red", title="Cannot compare these runs"), pt="xl")
    options = {r["id"]: r for r in [*chosen, *recent]}
    labels = run_labels(list(options.values()))
    charts = overlaid(spec) if spec else []
    chart_id = chart if chart in {c["id"] for c in charts} else (charts[0]["id"] if charts else None)
    current: dict[str, Any] = next((c for c in charts if c["id"] == chart_id), {})
    log_x_default = specs.log_x(current, spec) if current and spec else False
    return dmc.Container([
        dcc.Location(id=ids.URL, refresh=False),
        dmc.Group([dmc.Title("Compare runs", order=2),
                   dmc.Text(spec["title"] if spec else "", c="dimmed")], align="baseline", mb="md"),
        dmc.Card([
            dmc.MultiSelect(id=ids.RUNS, label="Runs", value=wanted, maxValues=MAX_RUNS, searchable=True,
                            data=[{"value": i, "label": f"{labels[i]} · {r['phenomenon']} · {r['status']}"}
                                  for i, r in options.items()],
                            placeholder="pick runs of one phenomenon", size="sm"),
            dmc.Group([
                dmc.SegmentedControl(id=ids.CHART, data=[{"value": c["id"], "label": c["title"]} for c in charts],
                                     value=chart_id, size="xs"),
                dmc.Switch(id=ids.LOG_X, label="log x", checked=_flag(logx, log_x_default), size="sm"),
                dmc.Switch(id=ids.LOG_Y, label="log y", checked=_flag(logy, current.get("log_y", False)), size="sm"),
                dmc.Stack([
                    dmc.Text("Smoothing (EMA)", size="xs", c="dimmed"),
                    dmc.Slider(id=ids.SMOOTHING, min=0, max=0.99, step=0.01, value=_float(smooth), w=220, size="sm",
                               marks=[{"value": 0, "label": "raw"}, {"value": 0.9, "label": "0.9"}],
                               updatemode="mouseup", mb="sm"),
                ], gap=2),
            ], gap="xl", mt="md", align="center"),
        ], withBorder=True, radius="md", padding="md", mb="md"),
        html.Div(id=ids.ALERT),
        dmc.Card(dcc.Graph(id=ids.GRAPH, config=GRAPH_CONFIG, figure={"layout": {"height": 460}}),
                 withBorder=True, radius="md", padding=4),
    ], size="xl", py="md")


def overlaid(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts whose runs can be drawn over each other (lines and bands, not heatmaps or scatters)."""
    return [c for c in spec["charts"] if c.get("kind", "lines") in OVERLAID]


def _flag(text: str, default: bool) -> bool:
    return text in ("1", "true") if text else default


def _float(text: str) -> float:
    try:
        return min(max(float(text), 0.0), 0.99)
    except ValueError:
        return 0.0


@callbacks(
    Output(ids.GRAPH, "figure"),
    Output(ids.URL, "search"),
    Output(ids.ALERT, "children"),
    Output(ids.CHART, "data"),
    Output(ids.CHART, "value"),
    Output(ids.LOG_X, "checked"),
    Output(ids.LOG_Y, "checked"),
    Input(ids.RUNS, "value"),
    Input(ids.CHART, "value"),
    Input(ids.LOG_X, "checked"),
    Input(ids.LOG_Y, "checked"),
    Input(ids.SMOOTHING, "value"),
)
def draw(run_ids, chart_id, log_x, log_y, smoothing):
    """Redraw on any control; picking another chart resets the log switches to that chart's own axes."""
    run_ids = run_ids or []
    if not run_ids:
        hint = dmc.Alert("Pick one or more runs above (or tick them on the Runs page).", color="gray", mb="md")
        return _empty_figure(), "", hint, no_update, no_update, no_update, no_update
    try:
        runs = [api().run(r) for r in run_ids]
        spec = api().phenomenon(runs[0]["phenomenon"])
    except ApiError as exc:
        return no_update, no_update, dmc.Alert(str(exc), color="red", mb="md"), *[no_update] * 4
    charts = overlaid(spec)
    if not charts:
        note = dmc.Alert("This phenomenon has no chart that overlays runs.", color="gray", mb="md")
        return _empty_figure(), no_update, note, [], None, no_update, no_update
    chart = next((c for c in charts if c["id"] == chart_id), charts[0])
    chart_log_x, chart_log_y = specs.log_x(chart, spec), bool(chart.get("log_y", False))
    if ctx.triggered_id == ids.CHART or chart["id"] != chart_id:
        log_x, log_y = chart_log_x, chart_log_y
    try:
        series = {r: api().metrics(r, names=chart_metrics(chart), max_points=MAX_POINTS)["series"] for r in run_ids}
    except ApiError as exc:
        return no_update, no_update, dmc.Alert(str(exc), color="red", mb="md"), *[no_update] * 4
    kinds = {r["phenomenon"] for r in runs}
    note = dmc.Alert(f"These runs are of different phenomena ({', '.join(sorted(kinds))}): only the metrics "
                     "they share are drawn.", color="yellow", mb="md") if len(kinds) > 1 else None
    options = {"chart": chart["id"], "smooth": smoothing or None,
               "logx": int(log_x) if log_x != chart_log_x else None,
               "logy": int(log_y) if log_y != chart_log_y else None}
    search = compare_href(run_ids, **options)[len("/compare"):]
    figure = compare_figure(chart, spec, runs, series, smoothing or 0.0, log_x, log_y)
    chart_options = [{"value": c["id"], "label": c["title"]} for c in charts]
    return figure, search, note, chart_options, chart["id"], log_x, log_y


def _empty_figure() -> dict[str, Any]:
    return {"layout": {"height": 460, "xaxis": {"visible": False}, "yaxis": {"visible": False},
                       "plot_bgcolor": "#fff", "paper_bgcolor": "rgba(0,0,0,0)"}}
