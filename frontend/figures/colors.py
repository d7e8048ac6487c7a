"""Colours, everywhere the same: a metric's colour comes from its declared role (train blue, held-out orange,
anything else a colour of its own), a family's members from one sequential scale, a run on the compare
page from its slot, with its members as lighter and darker shades of it."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from plotly.colors import sample_colorscale

TRAIN = "#1c7ed6"  # Mantine blue.7
HELD_OUT = "#e8590c"  # Mantine orange.8
OTHERS = ["#7048e8", "#0ca678", "#d6336c", "#f59f00", "#1098ad", "#5c940d"]  # violet, teal, pink, ...
BASELINE = "#868e96"  # gray.6: reference curves ("least squares"), dashed
REFERENCE = "#495057"  # gray.7: reference lines at derived values (p = n), dotted
FIT = "#212529"  # dark.9: a fitted power law

# Runs on the compare page: one colour per run (its metrics then differ by dash, its members by shade).
RUN_COLORS = ["#1c7ed6", "#e8590c", "#0ca678", "#7048e8", "#d6336c", "#f59f00", "#1098ad", "#495057"]

# Members of a family: Viridis, stopped before its pale yellow end (unreadable on white).
SEQUENTIAL = "Viridis"
SEQUENTIAL_END = 0.85
ROLE_COLORS = {"train": TRAIN, "held_out": HELD_OUT}


def metric_color(spec: Mapping[str, Any], name: str) -> str:
    """By the metric's role; an "other" metric gets the next colour of OTHERS in the order the phenomenon
    declares its metrics, so it is the same on every chart and two of them never share one."""
    metrics = spec.get("metrics", [])
    declared = next((m for m in metrics if m["name"] == name), None)
    role = declared.get("role", "other") if declared else "other"
    if role in ROLE_COLORS:
        return ROLE_COLORS[role]
    others = [m["name"] for m in metrics if m.get("role", "other") not in ROLE_COLORS]
    slot = others.index(name) if name in others else sum(map(ord, name))
    return OTHERS[slot % len(OTHERS)]


def member_positions(members: Sequence[float], scale: str = "linear") -> dict[float, float]:
    """Each member's place in [0, 1] along its family: by value, log-spaced on a log family (widths 16,
    64, 256 are evenly spread), by rank where a log spacing is impossible (a member ≤ 0)."""
    unique = sorted(set(members))
    if len(unique) < 2:
        return {m: 0.5 for m in unique}
    if scale == "log" and unique[0] > 0:
        where = [math.log(m) for m in unique]
    elif scale == "log":
        where = [float(i) for i in range(len(unique))]
    else:
        where = [float(m) for m in unique]
    lo, hi = where[0], where[-1]
    return {m: (w - lo) / (hi - lo) for m, w in zip(unique, where, strict=True)}


def member_colors(members: Sequence[float], scale: str = "linear") -> dict[float, str]:
    """A sequential colour per member, dark (smallest) to light (largest)."""
    positions = member_positions(members, scale)
    samples = sample_colorscale(SEQUENTIAL, [SEQUENTIAL_END * t for t in positions.values()])
    return dict(zip(positions, samples, strict=True))


def _rgb(color: str) -> tuple[float, float, float]:
    if color.startswith("#"):
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    r, g, b = (float(part) for part in color[color.index("(") + 1:color.index(")")].split(",")[:3])
    return r, g, b


def rgba(color: str, alpha: float) -> str:
    r, g, b = _rgb(color)
    return f"rgba({r:.0f}, {g:.0f}, {b:.0f}, {alpha})"


def shade(color: str, t: float) -> str:
    """`color` darker (t = 0) to lighter (t = 1): a run's members on the compare page stay in its hue."""
    r, g, b = _rgb(color)
    dark, light = 0.3 * (1 - t), 0.6 * t
    mix = [c * (1 - dark) for c in (r, g, b)]
    mix = [c + (255 - c) * light for c in mix]
    return "#" + "".join(f"{round(c):02x}" for c in mix)
