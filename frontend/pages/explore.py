"""/explore/<name>?<knobs>&seed=&preset=&run=: turn a phenomenon's knobs, press Run, watch it train.

The URL is the page's state: knobs (those that differ from the preset), preset, seed and the run shown.
Opening it restores all of them; every change is written back (dcc.Location, refresh=False).
"""

from typing import Any

import dash_mantine_components as dmc
from dash import MATCH, Dash, Input, Output, State, ctx, dcc, html, no_update, register_page

from frontend import knobs, run_view
from frontend.client import ApiError, api
from frontend.ids import Explore
from frontend.links import explore_query
from frontend.pages import Callbacks
from frontend.run_panels import VERDICTS

ids = Explore
callbacks = Callbacks()


def register(app: Dash) -> None:
    register_page(__name__, path_template="/explore/<name>", name="Explore", title=title, layout=layout)
    callbacks.attach(app)
    run_view.register(app, ids.VIEW)


def title(name: str | None = None) -> str:
    return f"{(name or '').replace('_', ' ').capitalize()} · Phaselab"


def layout(name: str | None = None, **query: str) -> Any:
    try:
        spec = api().phenomenon(name or "")
    except ApiError as exc:
        return dmc.Container(dmc.Alert(str(exc), color="red", title=f"No phenomenon {name!r}"), size="md", pt="xl")
    preset = query.get("preset") or "default"
    if preset not in spec["presets"]:
        preset = "default"
    values, problems = knobs.from_query(spec["config_schema"], spec["presets"][preset], query)
    try:
        seed = int(query.get("seed") or 0)
    except ValueError:
        seed, problems = 0, [*problems, f"seed={query['seed']!r} in the URL is not a whole number; using 0"]
    run_id = query.get("run") or None
    if run_id and not set(query) & set(values):
        values, seed = _knobs_of(run_id, spec["name"], values, seed)  # a bare ?run= link shows that run's knobs
    notice = dmc.Alert("; ".join(problems), color="yellow", title="Some of the URL was not understood") \
        if problems else None

    return dmc.Container([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.FORM_STATE, data={"name": spec["name"], "schema": spec["config_schema"],
                                           "presets": spec["presets"], "preset_info": spec.get("preset_info", {}),
                                           "claims": spec.get("claims", [])}),
        run_view.stores(ids.VIEW, spec, run_id),
        header(spec),
        dmc.Grid([
            dmc.GridCol(knobs_card(spec, values, preset, seed, notice), span={"base": 12, "md": 4, "lg": 3}),
            dmc.GridCol(dmc.Stack([
                run_view.status_card(ids.VIEW),
                dmc.SimpleGrid(run_view.chart_cards(ids.VIEW, spec), cols={"base": 1, "sm": 2}, spacing="md"),
                about_card(spec),
            ], gap="md"), span={"base": 12, "md": 8, "lg": 9}),
        ], gutter="md"),
    ], size="100%", px="lg", py="md")


def _knobs_of(run_id: str, phenomenon: str, values: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    try:
        run = api().run(run_id)
    except ApiError:
        return values, seed  # the run panel says what is wrong with the run
    return ({**values, **run["config"]}, run["seed"]) if run["phenomenon"] == phenomenon else (values, seed)


def header(spec: dict[str, Any]) -> Any:
    papers = [dmc.Tooltip(dmc.Anchor(f"{p['authors'].split(',')[0]} et al. {p['year']}", href=p["url"],
                                     target="_blank", size="sm"), label=p["title"], withArrow=True)
              for p in spec["papers"]]
    return dmc.Group([
        html.Div([
            dmc.Title(spec["title"], order=2),
            dmc.Text(spec["one_liner"], c="dimmed", size="sm"),
        ]),
        dmc.Group([dmc.Text("Papers:", size="sm", c="dimmed"), *papers], gap="xs", ml="auto"),
    ], justify="space-between", align="flex-end", mb="md")


def knobs_card(spec: dict[str, Any], values: dict[str, Any], preset: str, seed: int, notice: Any) -> Any:
    props = knobs.properties(spec["config_schema"])
    inputs = [knobs.knob_input(name, prop, values.get(name), ids.knob) for name, prop in props.items()]
    return dmc.Card([
        dmc.Select(id=ids.PRESET, label="Preset", data=list(spec["presets"]), value=preset, allowDeselect=False,
                   size="xs", description="A starting point; the knobs below override it."),
        html.Div(preset_note(spec.get("preset_info", {}).get(preset), spec.get("claims", [])), id=ids.PRESET_INFO,
                 className="preset-info"),
        dmc.Divider(label="Knobs", labelPosition="left", my="sm"),
        dmc.Stack(inputs, gap="sm"),
        dmc.Divider(my="sm"),
        dmc.NumberInput(id=ids.SEED, label=html.Span("seed", className="knob-name"), value=seed, min=0,
                        max=2**31 - 1, step=1, allowDecimal=False, size="xs", debounce=True,
                        description="Same knobs and seed give the same curves (and the same run)."),
        html.Div(notice, id=ids.ALERT, className="explore-alert"),
        dmc.Group([
            dmc.Button("Run", id=ids.RUN, size="sm", flex=1),
            dmc.Button("Cancel", id=ids.CANCEL, size="sm", variant="default", disabled=True),
        ], mt="md", grow=True),
    ], withBorder=True, radius="md", padding="md", className="explore-knobs")


def preset_note(info: dict[str, Any] | None, claims: list[dict[str, Any]]) -> Any:
    """What a preset is for: its title, what it demonstrates, and the claims the paper predicts do not hold
    (or do not apply) on it, so a ✗ there reads as the point, not a failure."""
    if not info:
        return None
    # A claim that merely does not apply (its knob is off) is said once, in the claims panel, not here.
    words = {claim_id: VERDICTS[verdict].word for claim_id, verdict in info.get("expect", {}).items()
             if verdict not in ("pass", "not_applicable") and verdict in VERDICTS}
    predicted = [dmc.Text([f"Expected here: {claim['text']} — ", dmc.Text(words[claim["id"]], span=True, fw=600)],
                          size="xs", c="dimmed") for claim in claims if claim["id"] in words]
    return dmc.Stack([
        dmc.Text(info.get("title", ""), size="sm", fw=600),
        dmc.Text(info.get("demonstrates", ""), size="xs", c="dimmed"),
        *predicted,
    ], gap=2, mt=6)


def about_card(spec: dict[str, Any]) -> Any:
    papers = [html.Li([dmc.Anchor(p["title"], href=p["url"], target="_blank", size="sm"),
                       dmc.Text(f" — {p['authors']} ({p['year']}), arXiv:{p['arxiv']}. Reproduces: {p['figure']}",
                                size="sm", span=True, c="dimmed")]) for p in spec["papers"]]
    return dmc.Card([
        dmc.Title("What you are looking at", order=4, mb="xs"),
        dcc.Markdown(spec["summary"], className="summary"),
        dmc.Title("Papers", order=5, mt="sm", mb=4),
        html.Ul(papers, className="papers"),
    ], withBorder=True, radius="md", padding="lg")


# -- callbacks ---------------------------------------------------------------------------------------


@callbacks(
    Output(ids.knob(), "value"),
    Input(ids.PRESET, "value"),
    State(ids.knob(), "id"),
    State(ids.FORM_STATE, "data"),
    prevent_initial_call=True,
)
def apply_preset(preset, knob_ids, form):
    values = form["presets"].get(preset, {})
    props = knobs.properties(form["schema"])
    return [_display(props[k["name"]], values.get(k["name"])) for k in knob_ids]


def _display(prop: dict[str, Any], value: Any) -> Any:
    """A config value as its input holds it (Selects and on/off switches hold text)."""
    if knobs.kind(prop) == "boolean":
        return "true" if value else "false"
    return str(value) if knobs.kind(prop) == "enum" and value is not None else value


@callbacks(
    Output(ids.PRESET_INFO, "children"),
    Input(ids.PRESET, "value"),
    State(ids.FORM_STATE, "data"),
    prevent_initial_call=True,
)
def describe_preset(preset, form):
    return preset_note(form["preset_info"].get(preset), form["claims"])


@callbacks(
    Output(ids.URL, "search"),
    Input(ids.knob(), "value"),
    Input(ids.SEED, "value"),
    Input(ids.PRESET, "value"),
    Input(ids.VIEW.run, "data"),
    State(ids.knob(), "id"),
    State(ids.FORM_STATE, "data"),
    prevent_initial_call=True,
)
def write_url(values, seed, preset, run_ref, knob_ids, form):
    config, _ = knobs.form_values(form["schema"], [k["name"] for k in knob_ids], values)
    seed = seed if isinstance(seed, int) else 0
    return explore_query(config, form["presets"].get(preset), preset, seed, (run_ref or {}).get("id"))


@callbacks(
    Output(ids.VIEW.run, "data"),
    Output(ids.knob(), "error"),
    Output(ids.SEED, "error"),
    Output(ids.ALERT, "children"),
    Input(ids.RUN, "n_clicks"),
    State(ids.knob(), "value"),
    State(ids.knob(), "id"),
    State(ids.SEED, "value"),
    State(ids.FORM_STATE, "data"),
    prevent_initial_call=True,
    running=[(Output(ids.RUN, "loading"), True, False)],
)
def start_run(_, values, knob_ids, seed, form):
    names = [k["name"] for k in knob_ids]
    config, errors = knobs.form_values(form["schema"], names, values)
    if errors:
        return no_update, [errors.get(n) for n in names], None, _alert("Fix the highlighted knobs.", "red")
    try:
        run, created = api().create_run(form["name"], config, seed=int(seed or 0))
    except ApiError as exc:
        field_errors = [exc.fields.get(n) for n in names]
        named = [n for n in exc.fields if n in names]
        title = f"Not accepted: {', '.join(named)}" if named else "Not accepted"
        return no_update, field_errors, exc.fields.get("seed"), _alert(str(exc), "red", title)
    note = None if created else _alert(
        f"This exact configuration already ran (run {run['id']}, {run['status']}): showing it "
        "instead of training it again.", "blue", "Same knobs, same run")
    return {"id": run["id"]}, [None] * len(names), None, note


@callbacks(
    Output(ids.ALERT, "children", allow_duplicate=True),
    Input(ids.CANCEL, "n_clicks"),
    State(ids.VIEW.run, "data"),
    prevent_initial_call=True,
)
def cancel_run(_, run_ref):
    if not run_ref:
        return no_update
    try:
        api().cancel(run_ref["id"])
    except ApiError as exc:
        return _alert(str(exc), "red", "Could not cancel")
    return None


# In the browser: the cursor changes on every live tick, and this needs no server.
callbacks.clientside(
    "(cursor) => !cursor || !['queued', 'running'].includes(cursor.status)",
    Output(ids.CANCEL, "disabled"),
    Input(ids.VIEW.cursor, "data"),
)


@callbacks(
    Output(ids.knob(MATCH), "error", allow_duplicate=True),
    Input(ids.knob(MATCH), "value"),
    prevent_initial_call=True,
)
def clear_error(_):
    return None if ctx.triggered_id else no_update


def _alert(message: str, color: str, title: str | None = None) -> Any:
    return dmc.Alert(message, color=color, title=title, mt="sm", withCloseButton=True, className=f"alert-{color}")

