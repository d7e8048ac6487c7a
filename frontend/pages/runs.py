"""/runs?phenomenon=&status=&page=: every run, newest first; tick some to compare them."""

from datetime import datetime
from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, ctx, dcc, html, register_page

from backend.store.vocabulary import RunStatus
from frontend.client import ApiError, api
from frontend.ids import Runs
from frontend.links import compare_href, explore_query, run_href, runs_query
from frontend.numbers import number
from frontend.pages import Callbacks
from frontend.run_panels import STATUS_COLORS, progress_text, verdict_look

ids = Runs
callbacks = Callbacks()
PAGE_SIZE = 25
STATUSES = [status.value for status in RunStatus]


def register(app: Dash) -> None:
    register_page(__name__, path="/runs", name="Runs", title="Runs · Phaselab", order=1, nav=True, layout=layout)
    callbacks.attach(app)


def layout(phenomenon: str = "", status: str = "", page: str = "1", **_: str) -> Any:
    try:
        names = [p["name"] for p in api().phenomena()]
    except ApiError as exc:
        return dmc.Container(dmc.Alert(str(exc), color="red", title="The API is not answering"), pt="xl")
    return dmc.Container([
        dcc.Location(id=ids.URL, refresh=False),
        dmc.Group([
            dmc.Title("Runs", order=2),
            dmc.Text(id=ids.COUNT, c="dimmed", size="sm"),
            dmc.Group([
                dmc.Select(id=ids.PHENOMENON, data=names, value=phenomenon or None, placeholder="all phenomena",
                           clearable=True, size="sm", w=200),
                dmc.Select(id=ids.STATUS, data=STATUSES, value=status if status in STATUSES else None,
                           placeholder="any status", clearable=True, size="sm", w=160),
                dcc.Link(dmc.Button("Compare selected", id=ids.COMPARE, size="sm", disabled=True),
                         id=f"{ids.COMPARE}-link", href="/compare"),
            ], ml="auto", gap="sm"),
        ], mb="md", align="center"),
        dmc.Card(html.Div(id=ids.TABLE), withBorder=True, radius="md", padding=0),
        dmc.Group(dmc.Pagination(id=ids.PAGINATION, total=1, value=_int(page, 1), size="sm"), justify="center",
                  mt="md"),
    ], size="xl", py="md")


def _int(text: str, default: int) -> int:
    try:
        return max(1, int(text))
    except ValueError:
        return default


@callbacks(
    Output(ids.TABLE, "children"),
    Output(ids.COUNT, "children"),
    Output(ids.PAGINATION, "total"),
    Output(ids.URL, "search"),
    Output(ids.PAGINATION, "value"),
    Input(ids.PHENOMENON, "value"),
    Input(ids.STATUS, "value"),
    Input(ids.PAGINATION, "value"),
)
def list_runs(phenomenon, status, page):
    page = 1 if ctx.triggered_id in (ids.PHENOMENON, ids.STATUS) else page or 1
    try:
        found = api().runs(phenomenon=phenomenon, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        defaults = {name: api().phenomenon(name)["presets"]["default"]
                    for name in {run["phenomenon"] for run in found["data"]}}
    except ApiError as exc:
        return dmc.Alert(str(exc), color="red", m="md"), "", 1, runs_query(phenomenon, status, page), page
    count = found["count"]
    empty = "No runs match these filters." if phenomenon or status else "No runs yet. Start one from the gallery."
    table = runs_table(found["data"], defaults) if found["data"] else dmc.Text(empty, c="dimmed", p="lg", ta="center")
    total_pages = max(1, -(-count // PAGE_SIZE))
    query = runs_query(phenomenon, status, page)
    return table, f"{count:,} run{'s' if count != 1 else ''}", total_pages, query, page


def runs_table(runs: list[dict[str, Any]], defaults: dict[str, dict[str, Any]]) -> dmc.Table:
    head = dmc.TableThead(dmc.TableTr([dmc.TableTh(h) for h in
                                       ("", "run", "phenomenon", "status", "progress", "knobs (vs default)",
                                        "transitions", "claims", "created")]))
    rows = [dmc.TableTr([
        dmc.TableTd(dmc.Checkbox(id=ids.pick(run["id"]), size="xs")),
        dmc.TableTd(dmc.Anchor(run["id"], href=run_href(run["id"]), ff="monospace", size="sm")),
        dmc.TableTd(run["phenomenon"]),
        dmc.TableTd(dmc.Badge(run["status"], color=STATUS_COLORS.get(run["status"], "gray"), variant="light",
                              style={"overflow": "visible"}, miw=92)),
        dmc.TableTd(progress_text(run)),
        dmc.TableTd(dmc.Text(knob_summary(run, defaults.get(run["phenomenon"], {})), size="xs", ff="monospace")),
        dmc.TableTd(dmc.Text(", ".join(f"{t['id']} @ {number(t.get('x'))}" for t in
                                       (run.get("summary") or {}).get("transitions", [])) or "—", size="xs")),
        dmc.TableTd(dmc.Group([verdict_mark(c) for c in (run.get("summary") or {}).get("claims", [])], gap=4)),
        dmc.TableTd(dmc.Text(_when(run["created_at"]), size="xs", c="dimmed", style={"whiteSpace": "nowrap"})),
    ], className="runs-row") for run in runs]
    return dmc.Table([head, dmc.TableTbody(rows)], highlightOnHover=True, verticalSpacing="xs",
                     horizontalSpacing="md", className="runs-table")


def verdict_mark(claim: dict[str, Any]) -> Any:
    look, note, _ = verdict_look(claim)
    label = f"{look.word}{f' ({note})' if note else ''}: {claim.get('text', claim['id'])}"
    return dmc.Tooltip(dmc.Text(look.symbol, size="sm", fw=700, c=look.color), label=label, multiline=True, w=320,
                       withArrow=True)


def knob_summary(run: dict[str, Any], default: dict[str, Any]) -> str:
    """The knobs that differ from the phenomenon's default preset, as they would appear in a URL."""
    text = explore_query(run["config"], default, None, run.get("seed"))[1:]
    return text.replace("&", "  ") or "default"


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


@callbacks(
    Output(f"{ids.COMPARE}-link", "href"),
    Output(ids.COMPARE, "disabled"),
    Input(ids.pick(), "checked"),
    Input(ids.pick(), "id"),
)
def pick_runs(checked, pick_ids):
    chosen = [i["run"] for i, on in zip(pick_ids, checked, strict=True) if on]
    return (compare_href(chosen) if chosen else "/compare"), len(chosen) < 1
