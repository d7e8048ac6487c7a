"""/: the catalogue, a card per phenomenon with its papers; "Run default" starts (or finds) its default run."""

from typing import Any

import dash_mantine_components as dmc
from dash import ALL, Dash, Input, Output, ctx, dcc, html, no_update, register_page

from frontend.client import ApiError, api
from frontend.links import explore_query
from frontend.pages import Callbacks

URL = "gallery-url"
ALERT = "gallery-alert"
callbacks = Callbacks()


def run_default_id(name: str | Any = ALL) -> dict[str, Any]:
    return {"type": "gallery-run-default", "name": name}


def register(app: Dash) -> None:
    register_page(__name__, path="/", name="Gallery", title="Phaselab", order=0, nav=True, layout=layout)
    callbacks.attach(app)


def layout(**_: str) -> Any:
    try:
        phenomena = api().phenomena()
    except ApiError as exc:
        return dmc.Container(dmc.Alert(str(exc), color="red", title="The API is not answering"), pt="xl")
    return dmc.Container([
        dcc.Location(id=URL, refresh="callback-nav"),
        dmc.Stack([
            dmc.Title("Watch a neural network learn, live", order=1),
            dmc.Text("Pick a phenomenon from the research literature, turn its knobs and press Run: a real "
                     "PyTorch model trains while you watch. The phase transition is detected and marked on "
                     "the chart, the paper's claim is checked against your run, and the link reproduces it.",
                     c="dimmed", maw=760),
        ], gap="xs", mb="xl", mt="md"),
        html.Div(id=ALERT),
        dmc.SimpleGrid([card(p) for p in phenomena], cols={"base": 1, "sm": 2, "lg": 3}, spacing="lg"),
    ], size="xl", py="md")


def card(phenomenon: dict[str, Any]) -> dmc.Card:
    name = phenomenon["name"]
    papers = [html.Li(dmc.Anchor(f"{p['title']} ({p['authors'].split(',')[0]} et al., {p['year']})",
                                 href=p["url"], target="_blank", size="xs")) for p in phenomenon["papers"]]
    presets = [dmc.Anchor(dmc.Badge(p.replace("_", " "), variant="light", color="gray", size="sm",
                                    style={"cursor": "pointer"}),
                          href=f"/explore/{name}" + explore_query({}, preset=p)) for p in phenomenon["presets"]]
    return dmc.Card([
        dmc.Title(phenomenon["title"], order=3),
        dmc.Text(phenomenon["one_liner"], size="sm", mt=4, mb="sm"),
        dmc.Group(presets, gap=6, mb="sm"),
        html.Ul(papers, className="papers"),
        dmc.Group([
            dmc.Button("Run default", id=run_default_id(name), size="sm"),
            dmc.Anchor(dmc.Button("Explore knobs", variant="default", size="sm"), href=f"/explore/{name}"),
        ], mt="auto", pt="md"),
    ], withBorder=True, radius="md", padding="lg", className=f"phenomenon-card phenomenon-{name}",
        style={"display": "flex", "flexDirection": "column"})


@callbacks(
    Output(URL, "href"),
    Output(ALERT, "children"),
    Input(run_default_id(), "n_clicks"),
    prevent_initial_call=True,
)
def run_default(clicks):
    if not ctx.triggered_id or not any(clicks):
        return no_update, no_update
    name = ctx.triggered_id["name"]
    try:
        run, _ = api().create_run(name, {})  # no knobs: the default preset (the same run for everyone)
    except ApiError as exc:
        return no_update, dmc.Alert(str(exc), color="red", title="Could not start the run", mb="md")
    return f"/explore/{name}?run={run['id']}", None
