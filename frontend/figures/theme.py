"""One look for every chart: fonts, margins, axes (colours: `colors`)."""

from typing import Any

# A plotly figure as plotly.js takes it: {"data": [trace, ...], "layout": {...}}.
Figure = dict[str, Any]

FONT = "Inter, -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, sans-serif"
INK = "#343a40"
GRID = "#edf0f2"
MUTED = "#868e96"


def base_layout(title: str = "", height: int = 300, top: int | None = None) -> dict[str, Any]:
    """Plot style; a title (top left) only when given: the run panel's cards show title and legend in
    HTML above the plot instead, where long titles wrap instead of colliding with the legend."""
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 56, "r": 16, "t": top if top is not None else (44 if title else 12), "b": 44},
        "font": {"family": FONT, "size": 12, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1, "yref": "container", "yanchor": "top",
                   "bgcolor": "rgba(0,0,0,0)", "font": {"size": 11}},
        "xaxis": axis(),
        "yaxis": axis(),
        "uirevision": "keep",  # zoom and legend clicks survive live updates
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "xanchor": "left", "y": 1, "yref": "container",
                           "yanchor": "top", "pad": {"t": 10}, "font": {"size": 15, "color": INK}}
    return layout


def axis(title: str = "", log: bool = False) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 12, "color": MUTED}},
        **log_axis(log),
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": "#ced4da",
        "ticks": "outside",
        "tickcolor": "#ced4da",
        "showspikes": False,
        "automargin": True,  # long tick labels (0.0005) push the margin out instead of running into the title
    }


def log_axis(log: bool) -> dict[str, Any]:
    """Axis settings that depend on the scale: powers of ten on a log axis (not SI prefixes: 10f, 100n)."""
    return {"type": "log" if log else "linear", "exponentformat": "power" if log else "B"}
