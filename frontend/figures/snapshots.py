"""Model internals over time (GET /api/runs/{id}/snapshots): a vector per snapshot step becomes a heatmap
(index × step) beside the latest vector as bars; a matrix per step shows its latest value.

For grokking the vector is the embedding's Fourier power per frequency k: broadband noise early, a
few bright rows (the key frequencies) once the network has grokked.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from frontend.figures.theme import MUTED, TRAIN, Figure, axis, base_layout

COLORSCALE = [[0.0, "#f8f9fa"], [0.08, "#d0ebff"], [0.3, "#74c0fc"], [0.6, "#1c7ed6"], [1.0, "#0b2e59"]]


def snapshot_figure(view: Mapping[str, Any], snap: Mapping[str, Any] | None, height: int = 300) -> Figure:
    """view: {"name", "title", "x_label"}; snap: {"steps", "shape", "values"} (values flat, row-major)."""
    layout = base_layout("", height, top=16)  # the card above the plot shows view["title"]
    layout["hovermode"] = "closest"
    if not snap or not snap.get("steps"):
        layout["xaxis"] = {"visible": False}
        layout["yaxis"] = {"visible": False}
        layout["annotations"] = [{"text": "No snapshot yet", "showarrow": False, "x": 0.5, "y": 0.5,
                                  "xref": "paper", "yref": "paper", "font": {"color": MUTED, "size": 13}}]
        return {"data": [], "layout": layout}
    if len(snap["shape"]) == 2:
        return _matrix(view, snap, layout)
    return _vector_over_time(view, snap, layout)


def _vector_over_time(view: Mapping[str, Any], snap: Mapping[str, Any], layout: dict[str, Any]) -> Figure:
    """Heatmap (index × step) on the left, the latest vector as horizontal bars on a shared y at the right."""
    steps: Sequence[int] = snap["steps"]
    values: Sequence[Sequence[float | None]] = snap["values"]
    index = list(range(len(values[-1])))
    z = [list(row) for row in zip(*values, strict=True)]  # (index, step): one row per frequency
    label = view.get("x_label", "index")
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
    layout["xaxis"] = {**axis("step"), "domain": [0, 0.72]}
    layout["xaxis2"] = {**axis(f"step {steps[-1]}"), "domain": [0.78, 1], "anchor": "y", "nticks": 3,
                        "tickangle": 0}
    layout["yaxis"] = {**axis(label), "range": [-0.5, len(index) - 0.5]}
    return {"data": [heatmap, bars], "layout": layout}


def _matrix(view: Mapping[str, Any], snap: Mapping[str, Any], layout: dict[str, Any]) -> Figure:
    rows, cols = snap["shape"]
    flat = snap["values"][-1]
    z = [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]
    layout["xaxis"] = axis(f"at step {snap['steps'][-1]}")
    layout["yaxis"] = {**axis(), "autorange": "reversed", "scaleanchor": "x"}
    return {"data": [{"type": "heatmap", "z": z, "colorscale": "RdBu", "zmid": 0}], "layout": layout}
