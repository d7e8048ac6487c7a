"""Model internals stored while a run trains, one view per kind:

- "vector_over_time": a 1-D array per step, from GET /api/runs/{id}/snapshots/{name}/history
  {"steps": [...], "shape": [n], "values": [[...], ...]}: a heatmap (index × step) beside the latest vector
  as bars; a few bright rows appearing over time is a structure forming.
- "matrix": one step's 2-D array, from GET .../snapshots/{name}?step=S {"step", "shape": [r, c], "values":
  flat row-major}: a diverging heatmap; the page scrubs it over the stored steps.
- "scatter": one step's (N, 2) or (N, 3) array: points, the third column a class (a colour each) or a value
  (a colour scale).

view: {"name", "title", "kind", "x_label", "y_label", "max_values"} from GET /api/phenomena/{name}.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures.colors import OTHERS, SEQUENTIAL, TRAIN
from frontend.figures.theme import MUTED, Figure, axis, base_layout

COLORSCALE = [[0.0, "#f8f9fa"], [0.08, "#d0ebff"], [0.3, "#74c0fc"], [0.6, "#1c7ed6"], [1.0, "#0b2e59"]]
# ColorBrewer RdBu, negative blue and positive red, white at 0 (plotly's "RdBu" is gray there).
DIVERGING = [[0.0, "#2166ac"], [0.2, "#4393c3"], [0.4, "#d1e5f0"], [0.5, "#ffffff"], [0.6, "#fddbc7"],
             [0.8, "#d6604d"], [1.0, "#b2182b"]]
MAX_CLASSES = 24
HEIGHT, MATRIX_HEIGHT = 300, 400  # a third column with at most this many whole values is a class label, else a value


def snapshot_figure(view: Mapping[str, Any], snap: Mapping[str, Any] | None, height: int | None = None) -> Figure:
    """height: HEIGHT, or MATRIX_HEIGHT for a matrix (square cells: the plot as tall as the card is wide)."""
    kind = view.get("kind", "vector_over_time")
    layout = base_layout("", height or (MATRIX_HEIGHT if kind == "matrix" else HEIGHT), top=16)  # title: the card's
    layout["hovermode"] = "closest"
    present = snap and (snap.get("steps") if kind == "vector_over_time" else snap.get("values"))
    if not present:
        return placeholder(layout)
    assert snap is not None
    # Its own ui revision, not the placeholder's: plotly keeps a revision's axis state (autorange), which
    # would otherwise leave the first matrix drawn upside up.
    layout["uirevision"] = kind
    if kind == "matrix":
        return _matrix(view, snap, layout)
    if kind == "scatter":
        return _scatter(view, snap, layout)
    return _vector_over_time(view, snap, layout)


def placeholder(layout: dict[str, Any]) -> Figure:
    layout["xaxis"] = {"visible": False}
    layout["yaxis"] = {"visible": False}
    layout["annotations"] = [{"text": "No snapshot yet", "showarrow": False, "x": 0.5, "y": 0.5,
                              "xref": "paper", "yref": "paper", "font": {"color": MUTED, "size": 13}}]
    return {"data": [], "layout": layout}


def _at(view: Mapping[str, Any], step: float) -> str:
    """An axis title that says which step is shown: "columns j · step 1,200"."""
    where = f"step {int(step):,}"
    return f"{view['x_label']} · {where}" if view.get("x_label") else f"at {where}"


def rows_of(flat: Sequence[float | None], shape: Sequence[int]) -> list[list[float | None]]:
    rows, cols = shape[0], shape[1] if len(shape) > 1 else 1
    return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]


def _vector_over_time(view: Mapping[str, Any], snap: Mapping[str, Any], layout: dict[str, Any]) -> Figure:
    """Heatmap (index × step) on the left, the latest vector as horizontal bars on a shared y at the right."""
    steps: Sequence[int] = snap["steps"]
    values: Sequence[Sequence[float | None]] = snap["values"]
    index = list(range(len(values[-1])))
    z = [list(row) for row in zip(*values, strict=True)]  # (index, step): one row per index
    label = view.get("x_label") or "index"
    heatmap = {
        "type": "heatmap", "x": list(steps), "y": index, "z": z, "colorscale": COLORSCALE, "zmin": 0,
        "showscale": False, "xaxis": "x", "yaxis": "y",
        "hovertemplate": f"step %{{x}}<br>{label} = %{{y}}<br>%{{z:.3f}}<extra></extra>",
    }
    bars = {
        "type": "bar", "orientation": "h", "x": list(values[-1]), "y": index, "xaxis": "x2", "yaxis": "y",
        "marker": {"color": TRAIN}, "showlegend": False, "name": f"step {steps[-1]}",
        "hovertemplate": f"%{{y}}: %{{x:.3f}}<extra>step {steps[-1]}</extra>",
    }
    layout["xaxis"] = {**axis("step"), "domain": [0, 0.72], "tickformat": ","}
    layout["xaxis2"] = {**axis(f"step {steps[-1]:,}"), "domain": [0.78, 1], "anchor": "y", "nticks": 3,
                        "tickangle": 0}
    layout["yaxis"] = {**axis(label), "range": [-0.5, len(index) - 0.5]}
    return {"data": [heatmap, bars], "layout": layout}


def _matrix(view: Mapping[str, Any], snap: Mapping[str, Any], layout: dict[str, Any]) -> Figure:
    """Square cells, the plot shrunk to the matrix (not the axes stretched past it), on a diverging scale
    symmetric about 0, white at 0."""
    z = rows_of(snap["values"], snap["shape"])
    layout["xaxis"] = {**axis(_at(view, snap.get("step", 0))), "constrain": "domain", "showgrid": False}
    layout["yaxis"] = {**axis(view.get("y_label", "")), "autorange": "reversed", "scaleanchor": "x",
                       "constrain": "domain", "showgrid": False}
    return {"data": [{"type": "heatmap", "z": z, "colorscale": DIVERGING, "zmid": 0,
                      "colorbar": {"thickness": 10, "outlinewidth": 0},
                      "hovertemplate": "row %{y}, column %{x}: %{z:.4g}<extra></extra>"}], "layout": layout}


def _scatter(view: Mapping[str, Any], snap: Mapping[str, Any], layout: dict[str, Any]) -> Figure:
    points = rows_of(snap["values"], snap["shape"])
    marker: dict[str, Any] = {"size": 6, "color": TRAIN, "opacity": 0.8}
    if points and len(points[0]) >= 3:
        third = [p[2] for p in points]
        classes = sorted({v for v in third if v is not None})
        if len(classes) <= MAX_CLASSES and all(float(v).is_integer() for v in classes):
            marker["color"] = [OTHERS[classes.index(v) % len(OTHERS)] if v is not None else MUTED for v in third]
        else:
            marker.update(color=third, colorscale=SEQUENTIAL, showscale=True,
                          colorbar={"thickness": 10, "outlinewidth": 0})
    layout["xaxis"] = axis(_at(view, snap.get("step", 0)))
    layout["yaxis"] = axis(view.get("y_label", ""))
    return {"data": [{"type": "scattergl", "mode": "markers", "x": [p[0] for p in points],
                      "y": [p[1] for p in points], "marker": marker,
                      "hovertemplate": "%{x:.3g}, %{y:.3g}<extra></extra>"}], "layout": layout}
