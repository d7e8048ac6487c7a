"""The live run panel shared by the explorer and the run page: status and progress, claim verdicts, the
phenomenon's charts and its snapshot views, kept up to date while the run trains.

Live updates: a 300 ms `dcc.Interval` (on only while the run is queued or running, paused while a tick is
being answered) asks the API for the
run and for the points after the last step the browser has (`after_step`), and extends the traces with
`Patch()`: a tick sends only the new points, never the figure. Transition marks are re-set when the
run's transitions change. Once a chart holds more than REFETCH_POINTS points per curve it is fetched
again whole, downsampled on the server to MAX_POINTS, so a long run never piles up in the browser.
"""

from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, Patch, State, ctx, dcc, html, no_update

from frontend.client import ApiError, api
from frontend.figures.curves import curves_figure, marks_layout
from frontend.figures.snapshots import snapshot_figure
from frontend.figures.theme import metric_color
from frontend.ids import RunView
from frontend.links import run_href

TICK_MS = 300  # a tick starts this long after the previous answer arrived
PAUSED_MS = 24 * 3600 * 1000
MAX_POINTS = 1500  # per curve, on a full fetch
REFETCH_POINTS = 3000  # past this many points per curve, fetch the downsampled curve again
SNAPSHOT_EVERY = 4  # ticks between snapshot refreshes (they are whole matrices, not increments)
ACTIVE = ("queued", "running")

STATUS_COLORS = {"queued": "gray", "running": "blue", "succeeded": "teal", "failed": "red", "cancelled": "orange"}
VERDICTS = {
    "pass": ("✓", "teal", "holds"),
    "fail": ("✗", "red", "does not hold"),
    "not_yet": ("…", "gray", "not yet"),
}
GRAPH_CONFIG: Any = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"format": "svg", "scale": 1}}


def view_spec(phenomenon: dict[str, Any]) -> dict[str, Any]:
    """What the panel's callbacks need of GET /api/phenomena/{name}."""
    return {key: phenomenon[key] for key in ("name", "charts", "snapshots", "claims")}


# -- layout pieces (pages arrange them) -----------------------------------------------------------


def stores(ids: RunView, spec: dict[str, Any], run_id: str | None) -> html.Div:
    return html.Div([
        dcc.Store(id=ids.run, data={"id": run_id} if run_id else None),
        dcc.Store(id=ids.spec, data=view_spec(spec)),
        dcc.Store(id=ids.cursor, data=None),
        dcc.Interval(id=ids.tick, interval=TICK_MS, disabled=True),
    ])


def status_card(ids: RunView) -> dmc.Card:
    return dmc.Card([
        html.Div(id=ids.status, children=status_panel(None)),
        dmc.Divider(my="sm"),
        html.Div(id=ids.claims),
    ], withBorder=True, radius="md", padding="md")


def chart_cards(ids: RunView, spec: dict[str, Any]) -> list[Any]:
    """A card per chart and per snapshot view: its title and legend in HTML, the plot below."""
    charts = [_graph_card(c["title"], [legend_item(m) for m in c["metrics"]], ids.chart(c["id"]),
                          curves_figure(c, {}), f"chart-{c['id']}") for c in spec["charts"]]
    snaps = [_graph_card(v["title"], [], ids.snapshot(v["name"]), snapshot_figure(v, None), f"snapshot-{v['name']}")
             for v in spec.get("snapshots", [])]
    return charts + snaps


def legend_item(metric: str) -> Any:
    swatch = html.Span(className="swatch", style={"background": metric_color(metric)})
    return dmc.Text([swatch, metric], size="xs", c="dimmed", className="legend-item")


def _graph_card(title: str, legend: list[Any], graph_id: dict[str, Any], figure: Any, class_name: str) -> dmc.Card:
    return dmc.Card([
        dmc.Group([dmc.Text(title, fw=600, size="sm"), dmc.Group(legend, gap="sm")], justify="space-between",
                  gap="xs", px=8, pt=4),
        dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, className=class_name),
    ], withBorder=True, radius="md", padding=6)


def status_panel(run: dict[str, Any] | None) -> Any:
    if run is None:
        return dmc.Group([dmc.Badge("no run yet", color="gray", variant="light"),
                          dmc.Text("Set the knobs and press Run; the curves appear here as the model trains.",
                                   size="sm", c="dimmed")])
    status = run["status"]
    step, total = run["progress"]["step"], run["progress"]["total"]
    where = " · ".join(part for part in (run.get("device"), run.get("worker")) if part)
    rows = [
        dmc.Group([
            dmc.Badge(status, color=STATUS_COLORS.get(status, "gray"), variant="filled" if status == "running"
                      else "light", className="run-status", size="lg"),
            dmc.Text(f"step {step:,} / {total:,}", size="sm", fw=500, className="run-progress-text"),
            dmc.Text(where, size="xs", c="dimmed"),
            dmc.Anchor(f"run {run['id']}", href=run_href(run["id"]), size="sm", className="run-link", ml="auto"),
        ], gap="sm"),
        dmc.Progress(value=100 * step / total if total else 0, color=STATUS_COLORS.get(status, "gray"),
                     striped=status == "running", size="sm", mt=8),
    ]
    if run.get("error"):
        rows.append(dmc.Alert(run["error"], color="red", title="The run failed", mt="sm"))
    return rows


def claims_panel(claims: list[dict[str, Any]], run: dict[str, Any] | None) -> Any:
    """Each claim of the paper with its verdict on this run (not yet, before it has data)."""
    measured = {c["id"]: c for c in ((run or {}).get("summary") or {}).get("claims", [])}
    items = []
    for claim in claims:
        result = measured.get(claim["id"], {"verdict": "not_yet", "detail": ""})
        symbol, color, word = VERDICTS.get(result["verdict"], VERDICTS["not_yet"])
        items.append(dmc.Group([
            dmc.ThemeIcon(symbol, color=color, variant="light", radius="xl", size="md"),
            html.Div([
                dmc.Text(claim["text"], size="sm"),
                dmc.Text([dmc.Text(word, span=True, fw=600, c=color), f" — {result['detail']}"
                          if result.get("detail") else ""], size="xs", c="dimmed"),
            ], style={"flex": 1}),
        ], align="flex-start", wrap="nowrap", gap="sm", className=f"claim claim-{result['verdict']}"))
    if not items:
        return None
    return dmc.Stack([dmc.Text("The paper's claims, checked on this run", size="xs", fw=700, c="dimmed", tt="uppercase"),
                      *items], gap=6)


# -- live updates ----------------------------------------------------------------------------------


def register(app: Dash, ids: RunView) -> None:
    """The one callback that keeps the panel in step with its run."""

    @app.callback(
        Output(ids.chart(), "figure"),
        Output(ids.snapshot(), "figure"),
        Output(ids.cursor, "data"),
        Output(ids.status, "children"),
        Output(ids.claims, "children"),
        Output(ids.tick, "disabled"),
        Input(ids.run, "data"),
        Input(ids.tick, "n_intervals"),
        State(ids.cursor, "data"),
        State(ids.spec, "data"),
        # No tick while a tick is being answered: on a busy machine answers would otherwise overlap,
        # each one slowing the next. The interval restarts when the answer is in.
        running=[(Output(ids.tick, "interval"), PAUSED_MS, TICK_MS)],
    )
    def follow_run(run_ref, n_intervals, cursor, spec):
        chart_ids = [o["id"]["chart"] for o in ctx.outputs_list[0]]
        snap_names = [o["id"]["name"] for o in ctx.outputs_list[1]]
        charts = [next(c for c in spec["charts"] if c["id"] == chart_id) for chart_id in chart_ids]
        views = [next(v for v in spec["snapshots"] if v["name"] == name) for name in snap_names]
        run_id = (run_ref or {}).get("id")
        if not run_id:
            return ([curves_figure(c, {}) for c in charts], [snapshot_figure(v, None) for v in views], None,
                    status_panel(None), claims_panel(spec["claims"], None), True)
        try:
            run = api().run(run_id)
            # Whole curves (downsampled) on a new run, on its first points, past REFETCH_POINTS and once
            # at the end (so the final curves are complete); otherwise the points after the last step shown.
            full = (ctx.triggered_id == ids.run or not cursor or cursor["run"] != run_id or not cursor["points"]
                    or cursor["points"] > REFETCH_POINTS or run["status"] not in ACTIVE)
            names = sorted({metric for chart in charts for metric in chart["metrics"]})
            data = api().metrics(run_id, names=names, after_step=None if full else cursor["last_step"],
                                 max_points=MAX_POINTS)
            snaps = api().snapshots(run_id)["snapshots"] if views and (full or n_intervals % SNAPSHOT_EVERY == 0) \
                else None
        except ApiError as exc:
            title = "No such run" if exc.status == 404 else "Cannot reach the run"
            alert = dmc.Alert(str(exc), color="red", title=title)
            return [no_update] * len(charts), [no_update] * len(views), cursor, alert, no_update, True

        summary = run.get("summary") or {}
        transitions = summary.get("transitions", [])
        total = run["progress"]["total"] or None
        new = max((len(s["step"]) for s in data["metrics"].values()), default=0)
        if full:
            figures = [curves_figure(c, data["metrics"], transitions, run["config"], _x_range(c, total))
                       for c in charts]
        else:
            figures = [_extend(c, data["metrics"], transitions, cursor["marks"], run["config"], _x_range(c, total))
                       for c in charts]
        snapshots = [no_update if snaps is None else snapshot_figure(v, snaps.get(v["name"])) for v in views]
        last_step = data["last_step"] if data["last_step"] is not None else (cursor or {}).get("last_step")
        claims = summary.get("claims", [])
        new_cursor = {"run": run_id, "last_step": last_step, "points": new + (0 if full else cursor["points"]),
                      "marks": transitions, "claims": claims, "status": run["status"]}
        claims_view = claims_panel(spec["claims"], run) if full or claims != cursor.get("claims") else no_update
        return figures, snapshots, new_cursor, status_panel(run), claims_view, run["status"] not in ACTIVE


def _x_range(chart: dict[str, Any], total: int | None) -> tuple[int, int] | None:
    """Step charts span the whole run from the first point, so a live curve grows across a fixed frame."""
    return (0, total) if total and chart.get("x_label", "step") == "step" and not chart.get("log_x") else None


def _extend(chart: dict[str, Any], series: dict[str, Any], transitions: list[dict[str, Any]],
            shown_marks: list[dict[str, Any]], config: dict[str, Any], x_range: tuple[int, int] | None) -> Any:
    """A Patch appending the new points to trace i (chart metric i), and new marks if they changed."""
    patch = Patch()
    changed = False
    for i, name in enumerate(chart["metrics"]):
        points = series.get(name)
        if points and points["step"]:
            patch["data"][i]["x"].extend(points["step"])
            patch["data"][i]["y"].extend(points["value"])
            changed = True
    if transitions != shown_marks:
        marks = marks_layout(chart, transitions, config, x_span=x_range)
        patch["layout"]["shapes"] = marks["shapes"]
        patch["layout"]["annotations"] = marks["annotations"]
        changed = True
    return patch if changed else no_update
