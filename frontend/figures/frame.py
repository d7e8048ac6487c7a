"""The frame every kind of chart shares: its axes (titled from the axis the chart names), the strip above
the plot where mark labels sit, the legend of a family, and the placeholder of a chart with no data yet."""

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from frontend.figures import spec as specs
from frontend.figures.theme import MUTED, axis, base_layout
from frontend.numbers import number

# The top margin is a strip for the labels of the marks, two staggered rows, so a label never sits on a
# curve. Always there, so marks that appear during a run move nothing. The chart's title and legend are
# the card's (HTML, above the plot): see run_view.
TOP_MARGIN = 44
BOTTOM_MARGIN = 44
HEIGHT = 300


def frame(chart: Mapping[str, Any], spec: specs.Spec, height: int = HEIGHT, x_title: str | None = None,
          log_x: bool | None = None) -> dict[str, Any]:
    """Layout with the x axis of the axis the chart is drawn against (or `x_title`/`log_x` when the
    horizontal axis is something else, as on a scatter) and the chart's y axis."""
    log_x = specs.log_x(chart, spec) if log_x is None else log_x
    layout = base_layout("", height, top=TOP_MARGIN)
    layout["showlegend"] = False
    layout["xaxis"] = axis(x_title if x_title is not None else specs.title(specs.axis(spec, chart.get("x", "step"))),
                           log_x)
    if not log_x:
        layout["xaxis"]["tickformat"] = ","  # step 1,000 and 10,000 as the status and the log axes write them
    layout["yaxis"] = axis(chart.get("y_label", ""), bool(chart.get("log_y")))
    return layout


MAX_DECADES = 8  # a log value axis shows at most this many decades below its largest value
PAD = 0.07  # of the span, above and below the values on a log axis
LABELLED_DECADES = 3  # up to this span, ticks at 1-2-5 × 10^k labelled in plain numbers; beyond, powers of ten
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
Span = list[float]  # [smallest positive value, largest value] along a log axis


def positive_span(values: Iterable[Any], span: Sequence[float] | None = None) -> Span | None:
    """[smallest positive, largest] of `values` (numbers only), widened by an earlier `span`."""
    positive = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                and math.isfinite(v)]
    if span:
        positive += list(span)
    return [min(positive), max(positive)] if positive else None


def tick_values(lo: float, hi: float, most: int) -> list[float]:
    """Ticks at m × 10^k from just below lo to just above hi, with the densest of the mantissa sets (every
    digit, under a third of a decade; 1-1.5-2-3-4-5-6-8; 1-2-3-5; 1-2-5) that puts at most `most` ticks
    between lo and hi, so a short span (widths 4 … 16) is labelled to its end."""
    def ticks(mantissas: Sequence[float]) -> list[float]:
        found = [float(f"{m}e{k}") for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                 for m in mantissas]
        below = max([t for t in found if t <= lo], default=lo)
        above = min([t for t in found if t >= hi], default=hi)
        return [t for t in found if below <= t <= above]

    sets: list[Sequence[float]] = [(1, 1.5, 2, 3, 4, 5, 6, 8), (1, 2, 3, 5)]
    if hi < lo * 10**0.3:
        sets.insert(0, (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))
    for mantissas in sets:
        found = ticks(mantissas)
        if sum(lo <= t <= hi for t in found) <= most:
            return found
    return ticks((1, 2, 5))


def tick_text(value: float) -> str:
    """A tick of a log axis: 0.0002, 0.0015, 50, 2,000, and 2·10⁻⁵ where decimals would run long."""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10**exponent, 6)
    if -4 <= exponent < 7:
        return number(value) if exponent >= 0 else f"{value:.{-exponent + (0 if mantissa.is_integer() else 1)}f}"
    power = f"10{str(exponent).translate(SUPERSCRIPT)}"
    return power if mantissa == 1 else f"{number(mantissa)}·{power}"


def log_axis_fit(span: Sequence[float] | None, value_axis: bool = False, most: int = 7) -> dict[str, Any]:
    """Range and ticks of a log axis whose positive values span `span` (none yet: plotly's own), with at
    most `most` ticks. A value axis (not the one the curves run along) gets its own range, padded (plotly
    pads a log axis of lines by nothing, and a reference's label at the top was cut off) and reaching at
    most MAX_DECADES below its largest value: a train error of 1e-30 (an exact fit, in floating point)
    would otherwise squash the curves that matter into a sliver; below that floor a curve leaves the plot at
    its bottom edge. Keys it leaves out stay plotly's defaults (a null `range` breaks Plotly.react)."""
    fit: dict[str, Any] = {"autorange": True, "tickmode": "auto"}
    if not span:
        return fit
    lo, hi = span
    capped = value_axis and hi > lo * 10**MAX_DECADES
    if capped:
        lo = hi / 10**MAX_DECADES
    if value_axis:
        pad = PAD * max(math.log10(hi / lo), 0.5)
        fit.update(autorange=False, range=[math.log10(lo) - (0 if capped else pad), math.log10(hi) + pad])
    if hi <= lo * 10**LABELLED_DECADES:
        ticks = tick_values(lo, hi, most) if hi > lo else tick_values(lo / 2, hi * 2, most)
        fit.update(tickmode="array", tickvals=ticks, ticktext=[tick_text(t) for t in ticks])
    return fit


def axis_spans(layout: Mapping[str, Any], data: Sequence[Mapping[str, Any]]) -> dict[str, Span | None]:
    """{"xaxis"/"yaxis": the positive span of the traces' points and the lines drawn at values on it (a
    reference "all n features" at y = 512)} for each log axis of `layout`."""
    spans = {}
    for name in ("xaxis", "yaxis"):
        if layout[name].get("type") != "log":
            continue
        values = [v for trace in data for v in trace.get(name[0], []) or []]
        values += [shape.get(f"{name[0]}{end}") for shape in layout.get("shapes", [])
                   if shape.get(f"{name[0]}ref") == name[0] for end in (0, 1)]
        spans[name] = positive_span(values)
    return spans


def axis_fit(name: str, span: Sequence[float] | None) -> dict[str, Any]:
    """log_axis_fit for the chart's "xaxis" (wide: up to 8 ticks) or its value axis "yaxis" (6, capped)."""
    return log_axis_fit(span, value_axis=name == "yaxis", most=8 if name == "xaxis" else 6)


def tick_axes(layout: dict[str, Any], data: Sequence[Mapping[str, Any]]) -> dict[str, Span | None]:
    """Fit the log axes of a line-like chart to its traces' points and its marks (ticks; the value axis
    capped at MAX_DECADES); the spans it fitted them to. Call it once the marks are in the layout."""
    spans = axis_spans(layout, data)
    for name, span in spans.items():
        layout[name].update(axis_fit(name, span))
    return spans


def wrapped(text: str, width: int = 12) -> str:
    """`text` broken into lines of about `width` characters at spaces (<br>), for a narrow legend title."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "<br>".join(lines)


def family_legend(layout: dict[str, Any], part: Mapping[str, Any]) -> None:
    """A legend at the right, titled with the family's label (wrapped: the legend is as wide as its title),
    naming each member ("m = 16")."""
    layout["showlegend"] = True
    layout["legend"] = {"title": {"text": wrapped(specs.title(part)), "font": {"size": 11, "color": MUTED}},
                        "orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top",
                        "bgcolor": "rgba(0,0,0,0)", "font": {"size": 10}, "itemwidth": 30,
                        "tracegroupgap": 0}


def waiting(layout: dict[str, Any], keep_x_ticks: bool = False) -> None:
    """Nothing yet: a quiet placeholder instead of plotly's arbitrary -1…4 axes."""
    layout["yaxis"]["showticklabels"] = False
    layout["xaxis"]["showticklabels"] = keep_x_ticks
    layout["annotations"] = [{"text": "waiting for data", "showarrow": False, "x": 0.5, "y": 0.5,
                              "xref": "paper", "yref": "paper", "font": {"color": MUTED, "size": 13}}]
