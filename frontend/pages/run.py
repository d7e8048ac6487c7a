"""/runs/<run_id>: one stored run, read-only: its config, curves with marks, claims, CSV, and a fork link."""

from datetime import UTC, datetime
from typing import Any

import dash_mantine_components as dmc
from dash import Dash, html, register_page

from frontend import run_view
from frontend.client import ApiError, api
from frontend.ids import RunPage
from frontend.links import compare_href, csv_href, explore_href

ids = RunPage


def register(app: Dash) -> None:
    register_page(__name__, path_template="/runs/<run_id>", name="Run", title=title, layout=layout)
    run_view.register(app, ids.VIEW)


def title(run_id: str | None = None) -> str:
    return f"Run {run_id} · Phaselab"


def layout(run_id: str | None = None, **_: str) -> Any:
    try:
        run = api().run(run_id or "")
        spec = api().phenomenon(run["phenomenon"])
    except ApiError as exc:
        return dmc.Container(dmc.Alert(str(exc), color="red", title="Run not found"), size="md", pt="xl")
    fork = explore_href(run["phenomenon"], run["config"], spec["presets"]["default"], run["seed"], run["id"])
    return dmc.Container([
        run_view.stores(ids.VIEW, spec, run["id"]),
        dmc.Group([
            html.Div([
                dmc.Text(spec["title"], c="dimmed", size="sm", fw=600),
                dmc.Title(["Run ", html.Span(run["id"], className="mono")], order=2),
            ]),
            dmc.Group([
                dmc.Anchor(dmc.Button("Open in explorer", size="sm"), href=fork, className="fork-link"),
                dmc.Anchor(dmc.Button("Compare…", variant="default", size="sm"), href=compare_href([run["id"]])),
                dmc.Anchor(dmc.Button("Download CSV", variant="default", size="sm"), href=csv_href(run["id"]),
                           className="csv-link", target="_blank"),
            ], gap="sm"),
        ], justify="space-between", align="flex-end", mb="md"),
        dmc.Grid([
            dmc.GridCol(config_card(run, spec), span={"base": 12, "md": 4, "lg": 3}),
            dmc.GridCol(dmc.Stack([
                run_view.status_card(ids.VIEW),
                dmc.SimpleGrid(run_view.chart_cards(ids.VIEW, spec), cols={"base": 1, "sm": 2}, spacing="md"),
            ], gap="md"), span={"base": 12, "md": 8, "lg": 9}),
        ], gutter="md"),
    ], size="100%", px="lg", py="md")


def config_card(run: dict[str, Any], spec: dict[str, Any]) -> Any:
    described = spec["config_schema"].get("properties", {})
    default = spec["presets"]["default"]
    rows = [dmc.TableTr([
        dmc.TableTd(dmc.Tooltip(html.Span(name, className="knob-name"), multiline=True, w=280, withArrow=True,
                                label=described.get(name, {}).get("description", name), position="right")),
        dmc.TableTd(str(value), fw=700 if default.get(name) != value else 400, ff="monospace"),
    ]) for name, value in run["config"].items()]
    rows.append(dmc.TableTr([dmc.TableTd(html.Span("seed", className="knob-name")),
                             dmc.TableTd(str(run["seed"]), ff="monospace")]))
    facts = [("queue", run["queue"]), ("device", run.get("device") or "—"),
             ("threads", str(run["threads"]) if run.get("threads") is not None else "—"),
             ("worker", run.get("worker") or "—"), ("code", code_version(run, spec)), ("attempts", str(run["attempts"])),
             ("created", _short(run["created_at"])), ("started", _short(run.get("started_at"))),
             ("finished", _short(run.get("finished_at")))]
    return dmc.Card([
        dmc.Text("Config", fw=700, size="sm"),
        dmc.Text("Bold: differs from the default preset.", size="xs", c="dimmed", mb="xs"),
        dmc.Table(dmc.TableTbody(rows), verticalSpacing=4, fz="sm", className="config-table"),
        dmc.Text("Run", fw=700, size="sm", mt="md", mb="xs"),
        dmc.Table(dmc.TableTbody([dmc.TableTr([dmc.TableTd(k), dmc.TableTd(v)]) for k, v in facts]),
                  verticalSpacing=4, fz="sm"),
    ], withBorder=True, radius="md", padding="md")


def code_version(run: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The trainer's code version the run was made with; flagged when the phenomenon's code has moved on
    (the same knobs would now give other numbers)."""
    made, now = run.get("code_version"), spec.get("code_version")
    if not made:
        return "—"
    if now and now != made:
        return dmc.Tooltip(dmc.Text([made, " ", dmc.Text("(older)", span=True, c="orange.8")], ff="monospace",
                                    size="sm"), label=f"The current code is {now}.", withArrow=True)
    return dmc.Text(made, ff="monospace", size="sm")


def _short(iso: str | None) -> str:
    """An RFC 3339 time as UTC, to the second."""
    if not iso:
        return "—"
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is not None:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return when.strftime("%Y-%m-%d %H:%M:%S")
