"""Any unknown path: say so and point home (Dash pages picks this module by its name)."""

from typing import Any

import dash_mantine_components as dmc
from dash import Dash, register_page


def register(app: Dash) -> None:
    register_page(__name__, path="/404", name="Not found", title="Not found · Phaselab", layout=layout)


def layout(**_: str) -> Any:
    return dmc.Container(dmc.Stack([
        dmc.Title("Nothing here", order=2),
        dmc.Text("This address matches no page. Start from the gallery, or open a run from the list."),
        dmc.Group([dmc.Anchor("Gallery", href="/"), dmc.Anchor("Runs", href="/runs")]),
    ], gap="sm"), size="sm", pt="xl")
