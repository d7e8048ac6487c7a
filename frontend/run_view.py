"""The live run panel shared by the explorer and the run page: status and progress, claim verdicts, the
phenomenon's charts and its snapshot views, kept up to date while the run trains.

While the run is live, the browser does the work: it follows the run's event stream and appends new
points to the drawn traces itself (`assets/live.js`), so a hundred viewers of one run cost the server one
read per tick (the API's shared feed), not a hundred callbacks. The server callbacks run on change only:
- `follow_run`: draws every chart whole (see `live_charts`) when the page opens a run, and points the
  browser's stream at the points after those drawn. When appending is not enough (a new series, a log axis
  outgrown, new marks, the run's end) the browser fetches the charts drawn again from `/_draw/<run>`
  (`live_draws`): the same answer, serialized once, for every viewer who asks within two seconds, since they all
  ask at the same moment (they follow the same run);
- `show_status`: the status and claims panels, from the run the browser last published (its progress text
  and bar move in the browser; the claims are redrawn only on change);
- `follow_snapshots`: the snapshot views, from the run's snapshot index (see `live_snapshots`), and a
  matrix view's slider over its stored steps.
The browser publishes the run (`live`) on a change of status at once, and otherwise at most every few
seconds, so these stay rare.
"""

from typing import Any

import dash_mantine_components as dmc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update

from frontend import live_charts, live_snapshots
from frontend.chart_legends import card_style, drawn_metrics, legend_items
from frontend.client import ApiError, api
from frontend.figures.chart import chart_figure
from frontend.figures.snapshots import snapshot_figure
from frontend.ids import RunView
from frontend.live_charts import view_spec
from frontend.live_draws import shared_draw
from frontend.run_panels import ACTIVE, claims_key, claims_panel, status_panel

GRAPH_CONFIG: Any = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                     "toImageButtonOptions": {"format": "svg", "scale": 1}}


# -- layout pieces (pages arrange them) -----------------------------------------------------------


def stores(ids: RunView, spec: dict[str, Any], run_id: str | None) -> html.Div:
    return html.Div([
        dcc.Store(id=ids.run, data={"id": run_id} if run_id else None),
        dcc.Store(id=ids.spec, data=view_spec(spec)),
        dcc.Store(id=ids.cursor, data=None),
        dcc.Store(id=ids.drawn, data=None),
        dcc.Store(id=ids.stream, data=None),
        dcc.Store(id=ids.events, data=None),
        dcc.Store(id=ids.live, data=None),
        dcc.Store(id=ids.claims_shown, data=None),
        dcc.Store(id=ids.snapshots_cursor, data=None),
    ])


def status_card(ids: RunView) -> dmc.Card:
    return dmc.Card([
        html.Div(id=ids.status, children=status_panel(None, ids)),
        dmc.Divider(my="sm"),
        html.Div(id=ids.claims),
    ], withBorder=True, radius="md", padding="md")


def chart_cards(ids: RunView, spec: dict[str, Any]) -> list[Any]:
    """A card per chart and per snapshot view: its title and legend in HTML, the plot, its caption; a matrix
    view also gets a slider over its stored steps."""
    charts = [_card(c["title"], dmc.Group(legend_items(c, spec), gap="sm", id=ids.legend(c["id"])), [
        dcc.Graph(id=ids.chart(c["id"]), figure=chart_figure(c, spec, []), config=GRAPH_CONFIG,
                  className=f"chart-{c['id']}"),
        *([dmc.Text(c["caption"], size="xs", c="dimmed", px=8, pb=4)] if c.get("caption") else []),
    ], id=ids.card(c["id"]), style=card_style(c, None)) for c in spec["charts"]]
    snaps = [_card(v["title"], None, [
        dcc.Graph(id=ids.snapshot(v["name"]), figure=snapshot_figure(v, None), config=GRAPH_CONFIG,
                  className=f"snapshot-{v['name']}"),
        *([dmc.Slider(id=ids.slider(v["name"]), min=0, max=0, value=0, step=1, label=None, size="sm",
                      disabled=True, updatemode="mouseup", px=28, mb="lg", className=f"slider-{v['name']}")]
          if v.get("kind") == "matrix" else []),
    ]) for v in spec.get("snapshots", [])]
    return charts + snaps


def _card(title: str, legend: Any, body: list[Any], **props: Any) -> dmc.Card:
    return dmc.Card([
        dmc.Group([dmc.Text(title, fw=600, size="sm"), legend], justify="space-between", gap="xs", px=8, pt=4),
        *body,
    ], withBorder=True, radius="md", padding=6, **props)


def _by(items: list[dict[str, Any]], key: str, wanted: list[Any]) -> list[dict[str, Any]]:
    return [next(item for item in items if item[key] == want) for want in wanted]


# -- live updates ----------------------------------------------------------------------------------


def register(app: Dash, ids: RunView) -> None:
    """The panel's callbacks, on `app`, for the ids of one page."""

    @app.callback(
        Output(ids.chart(), "figure"),
        Output(ids.drawn, "data"),
        Output(ids.live, "data"),
        Output(ids.stream, "data"),
        Output(ids.legend(), "children"),
        Output(ids.card(), "style"),
        Input(ids.run, "data"),
        State(ids.spec, "data"),
    )
    def follow_run(run_ref, spec):
        """Every chart drawn whole when the page opens a run; the browser then follows its stream (and asks
        /_draw/<run> for a chart drawn again: frontend/live_draws.py)."""
        charts = _by(spec["charts"], "id", [o["id"]["chart"] for o in ctx.outputs_list[0]])
        legends = _by(spec["charts"], "id", [o["id"]["chart"] for o in ctx.outputs_list[4]])
        cards = _by(spec["charts"], "id", [o["id"]["chart"] for o in ctx.outputs_list[5]])
        run_id = (run_ref or {}).get("id")
        if not run_id:
            return [chart_figure(c, spec, []) for c in charts], None, None, None, \
                [legend_items(c, spec) for c in legends], [card_style(c, None) for c in cards]
        try:
            run, figures, states, after = shared_draw(run_id, charts, spec)
        except ApiError as exc:
            # A run that is not there stops the stream; anything else (the API restarting) is asked again.
            return [no_update] * len(charts), no_update, {"error": str(exc), "status": exc.status}, \
                None if exc.status == 404 else no_update, [no_update] * len(legends), [no_update] * len(cards)
        drawn = {"run": run_id, "whole": True, "after": after, "status": run["status"], "charts": states,
                 "limits": live_charts.LIMITS, "published": run}
        # The browser follows the stream from the points drawn (none once the run has ended).
        stream = live_charts.events_url(run_id, after) if run["status"] in ACTIVE else None
        # A legend follows its chart when the chart is drawn (a point appended never adds a curve), and an
        # optional chart's card shows once its figure draws points.
        legend = [legend_items(c, spec, drawn_metrics(figures[c["id"]])) for c in legends]
        style = [card_style(c, drawn_metrics(figures[c["id"]])) for c in cards]
        return [figures[c["id"]] for c in charts], drawn, {"run": run}, stream, legend, style

    # In the browser: open (or close) the event stream; take each event in (append points, move the
    # progress, publish the run on change, ask for a redraw where appending cannot do).
    app.clientside_callback(
        ClientsideFunction("phaselab", "follow"),
        Output(ids.events, "data"),
        Input(ids.stream, "data"),
        State(ids.events, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("phaselab", "take"),
        Output({"type": ids.chart()["type"], "chart": ALL}, "extendData"),
        Output(ids.cursor, "data"),
        Output(ids.live, "data", allow_duplicate=True),
        Input(ids.events, "data"),
        Input(ids.drawn, "data"),
        State(ids.cursor, "data"),
        State(ids.events, "id"),
        State({"type": ids.chart()["type"], "chart": ALL}, "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.status, "children"),
        Output(ids.claims, "children"),
        Output(ids.claims_shown, "data"),
        Input(ids.live, "data"),
        State(ids.claims_shown, "data"),
        State(ids.spec, "data"),
    )
    def show_status(live, shown, spec):
        if live and live.get("error"):
            title = "No such run" if live.get("status") == 404 else "Cannot reach the run"
            return dmc.Alert(live["error"], color="red", title=title), no_update, no_update
        run = (live or {}).get("run")
        key = [(run or {}).get("id"), *claims_key(run)]
        claims = claims_panel(spec["claims"], run) if key != shown else no_update
        return status_panel(run, ids), claims, key

    @app.callback(
        Output(ids.snapshot(), "figure"),
        Output(ids.slider(), "max"),
        Output(ids.slider(), "value"),
        Output(ids.slider(), "marks"),
        Output(ids.slider(), "disabled"),
        Output(ids.snapshots_cursor, "data"),
        Input(ids.live, "data"),
        Input(ids.slider(), "value"),
        State(ids.snapshots_cursor, "data"),
        State(ids.spec, "data"),
    )
    def follow_snapshots(live, _positions, cursor, spec):
        views = _by(spec.get("snapshots", []), "name", [o["id"]["name"] for o in ctx.outputs_list[0]])
        sliders = [o["id"]["name"] for o in ctx.outputs_list[1]]
        unchanged = [[no_update] * len(views), *[[no_update] * len(sliders)] * 4]
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("name") in sliders:  # a slider moved: that one step
            run_id = str((cursor or {}).get("run"))
            view = next(v for v in views if v["name"] == trigger["name"])
            position = ctx.inputs_list[1][sliders.index(trigger["name"])].get("value")
            figure, new = live_snapshots.on_slide(
                view, position, cursor, lambda name, step: api().snapshot(run_id, name, step))
            figures = [figure if v["name"] == view["name"] else no_update for v in views]
            return figures, *unchanged[1:], new or no_update
        run = (live or {}).get("run")
        if live and live.get("error"):
            return *unchanged, no_update
        if not run:
            return ([snapshot_figure(v, None) for v in views], [0] * len(sliders), [0] * len(sliders),
                    [[] for _ in sliders], [True] * len(sliders), None)
        client = api()
        try:
            index = client.snapshot_index(run["id"]) if views else {}
        except ApiError:
            return *unchanged, no_update
        shown, props, new = live_snapshots.on_tick(
            views, run["id"], index, cursor, lambda name, latest: client.snapshot_history(
                run["id"], name, live_snapshots.HISTORY_STEPS, latest), lambda name, step: client.snapshot(run["id"], name, step))
        slider_props = [props.get(name, no_update) for name in sliders]
        columns = [[p if p is no_update else p[prop] for p in slider_props]
                   for prop in ("max", "value", "marks", "disabled")]
        return [shown[v["name"]] for v in views], *columns, new
