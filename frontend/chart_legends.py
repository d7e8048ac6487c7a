"""A chart card's legend (HTML, above the plot) and whether the card shows: pure functions of the chart, the
phenomenon's spec and what the chart's figure draws."""

from typing import Any

import dash_mantine_components as dmc
from dash import html

from frontend.figures import spec as specs
from frontend.figures.colors import BASELINE, metric_color
from frontend.figures.lines import DASHES
from frontend.figures.theme import MUTED


def legend_items(chart: dict[str, Any], spec: dict[str, Any], drawn: set[str] | None = None) -> list[Any]:
    """Plain metrics and baselines (a family's members are named in the plot's own legend). `drawn`: the
    metrics the chart's figure draws, once it has points; a baseline it does not draw (the minimum-norm curve
    of a run without a ridge) is not listed."""
    kind = chart.get("kind", "lines")
    families = [name for name in chart["metrics"] if specs.family(spec, name)]
    items = []
    if kind == "band":
        for name in chart["metrics"]:
            part = specs.family(spec, name)
            over = f" — mean ± 95 % CI over {specs.title(part)}" if part else ""
            items.append(legend_item(specs.label(spec, name) + over, metric_color(spec, name)))
    elif kind == "lines":
        for name in chart["metrics"]:
            if name not in families:
                items.append(legend_item(specs.label(spec, name), metric_color(spec, name)))
            elif len(families) > 1:
                items.append(legend_item(specs.label(spec, name), MUTED, DASHES[families.index(name) % len(DASHES)]))
    items += [legend_item(specs.label(spec, name), BASELINE, "dash") for name in chart.get("baselines", [])
              if drawn is None or name in drawn]
    return items


def drawn_metrics(figure: Any) -> set[str] | None:
    """The metrics a whole figure draws points of (None: none yet, or not a whole figure)."""
    if not isinstance(figure, dict):
        return None
    drawn = {str(trace.get("meta") or "").split("|")[0] for trace in figure.get("data", []) if trace.get("x")}
    return drawn or None


def legend_item(text: str, color: str, dash: str = "solid") -> Any:
    style = {"background": color} if dash == "solid" else \
        {"background": f"repeating-linear-gradient(90deg, {color} 0 4px, transparent 4px 7px)"}
    return dmc.Text([html.Span(className="swatch", style=style), text], size="xs", c="dimmed",
                    className="legend-item")


def card_style(chart: dict[str, Any], drawn: set[str] | None) -> dict[str, str]:
    """An optional chart's card is shown only once its figure draws points (its knob is on in this run)."""
    return {"display": "none"} if chart.get("optional") and not drawn else {}
