"""The Dash UI: `create_dash(api_url)` builds the app; backend/main.py mounts its Flask server at "/".

Importing this module starts nothing. The pages talk to the backend only through `frontend.client`.
"""

import dash_mantine_components as dmc
from dash import ALL, Dash, Input, Output, State, html, page_container, page_registry

from frontend import live_draws
from frontend.client import ApiClient
from frontend.figures.theme import FONT
from frontend.pages import compare, explore, gallery, not_found_404, run, runs

PAGES = (gallery, runs, compare, explore, run, not_found_404)
THEME = {"primaryColor": "indigo", "fontFamily": FONT, "defaultRadius": "md"}


def create_dash(api_url: str) -> Dash:
    # pages_folder="": pages are registered explicitly below, on this app, instead of by a folder scan.
    # suppress_callback_exceptions: a page's components exist only while it is shown. use_async=False: the
    # callbacks are plain functions calling the API; no event loop per request.
    app = Dash(__name__, use_pages=True, pages_folder="", title="Phaselab", update_title="",
               suppress_callback_exceptions=True, use_async=False)
    app.server.extensions["phaselab_api"] = ApiClient(api_url)
    for page in PAGES:
        page.register(app)
    live_draws.register(app.server)  # GET /_draw/<run>: charts drawn again, shared by a run's viewers
    app.layout = dmc.MantineProvider(dmc.AppShell([
        dmc.AppShellHeader(navbar(), px="lg"),
        dmc.AppShellMain(page_container, className="main"),
    ], header={"height": 56}, padding=0), theme=THEME)
    # Underline the nav link of the page shown.
    app.clientside_callback(
        "(path, ids) => ids.map(id => ((id.href === '/' ? path === '/' : path.startsWith(id.href)) ? 'nav on' : 'nav'))",
        Output({"type": "nav", "href": ALL}, "className"),
        Input("_pages_location", "pathname"),
        State({"type": "nav", "href": ALL}, "id"),
    )
    return app


def navbar() -> dmc.Group:
    links = [dmc.Anchor(page["name"], href=page["path"], id={"type": "nav", "href": page["path"]}, className="nav")
             for page in page_registry.values() if page.get("nav")]
    return dmc.Group([
        dmc.Anchor([html.Span("◆", className="logo-mark"), "Phaselab"], href="/", className="logo", underline="never"),
        dmc.Text("training dynamics, live", size="sm", c="dimmed", visibleFrom="sm"),
        dmc.Group(links, gap="lg", ml="auto"),
    ], h="100%", gap="sm")
