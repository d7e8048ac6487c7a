"""One look for every chart: colors per metric (train blue, validation/test orange, everywhere), fonts, margins."""

from typing import Any

# A plotly figure as plotly.js takes it: {"data": [trace, ...], "layout": {...}}.
Figure = dict[str, Any]

FONT = "Inter, -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, sans-serif"
INK = "#343a40"
GRID = "#edf0f2"
MUTED = "#868e96"

TRAIN = "#1c7ed6"  # Mantine blue.7
HELD_OUT = "#e8590c"  # Mantine orange.8: val/..., test/...
OTHERS = ["#7048e8", "#0ca678", "#d6336c", "#f59f00", "#1098ad", "#5c940d"]  # violet, teal, pink, ...

# Runs on the compare page: one color per run (its metrics then differ by dash).
RUN_COLORS = ["#1c7ed6", "#e8590c", "#0ca678", "#7048e8", "#d6336c", "#f59f00", "#1098ad", "#495057"]


def metric_color(name: str, others: list[str] | None = None) -> str:
    """Train curves blue, held-out (val/test) curves orange; anything else a stable color of its own."""
    split = name.split("/", 1)[0]
    if split == "train":
        return TRAIN
    if split in ("val", "test", "eval"):
        return HELD_OUT
    palette = others or OTHERS
    return palette[sum(map(ord, name)) % len(palette)]


def metric_dash(name: str) -> str:
    """On the compare page color means the run, so the split is told by the line style."""
    return "dash" if name.split("/", 1)[0] in ("val", "test", "eval") else "solid"


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
    }


def log_axis(log: bool) -> dict[str, Any]:
    """Axis settings that depend on the scale: powers of ten on a log axis (not SI prefixes: 10f, 100n)."""
    return {"type": "log" if log else "linear", "exponentformat": "power" if log else "B"}
