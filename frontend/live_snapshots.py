"""Keeping a run's snapshot views live, and scrubbing a matrix view over its stored steps. Pure over the API's
JSON, with the fetches injected.

Each tick reads the index, GET /api/runs/{id}/snapshots → {"snapshots": {name: {"steps", "shape"}}} (small:
no values), and fetches values only for a view whose latest step is not the one shown:
- "vector_over_time": the history (GET .../snapshots/{name}/history, evenly thinned on the server);
- "matrix": the latest step, while its slider sits at the latest step (the view follows the run); a slider
  moved back stays where it is, and only its range grows;
- "scatter": the latest step.
Moving a matrix slider fetches that one step.

cursor: {"run", "steps": {name: [step, ...]}, "shown": {name: step}, "follow": {name: bool}}
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dash import no_update

from frontend.client import ApiError
from frontend.figures.snapshots import snapshot_figure
from frontend.numbers import number

HISTORY_STEPS = 200  # rows of a vector_over_time view
# (name, newest step known) -> {"steps", "shape", "values": [[...], ...]}
FetchHistory = Callable[[str, float], Mapping[str, Any]]
FetchStep = Callable[[str, float], Mapping[str, Any]]  # (name, step) -> {"step", "shape", "values"}
View = Mapping[str, Any]


def slider_marks(steps: Sequence[float]) -> list[dict[str, Any]]:
    """The slider runs over step indices; its ends are labelled with the steps they stand for."""
    if not steps:
        return []
    ends = {0: steps[0], len(steps) - 1: steps[-1]}
    return [{"value": i, "label": number(step)} for i, step in ends.items()]


def empty_cursor(run_id: str | None) -> dict[str, Any]:
    return {"run": run_id, "steps": {}, "shown": {}, "follow": {}}


def on_tick(
    views: Sequence[View],
    run_id: str,
    index: Mapping[str, Any],
    cursor: Mapping[str, Any] | None,
    fetch_history: FetchHistory,
    fetch_step: FetchStep,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """({name: figure or no_update}, {name: slider props or no_update} for matrix views, new cursor)."""
    same = cursor is not None and cursor.get("run") == run_id
    new: dict[str, Any] = empty_cursor(run_id)
    if same and cursor is not None:
        new.update({key: dict(cursor.get(key) or {}) for key in ("steps", "shown", "follow")})
    figures: dict[str, Any] = {}
    sliders: dict[str, Any] = {}
    for view in views:
        name, kind = view["name"], view.get("kind", "vector_over_time")
        steps = list((index.get(name) or {}).get("steps", []))
        figures[name], sliders[name] = no_update, no_update
        if kind == "matrix" and steps != new["steps"].get(name):
            following = new["follow"].get(name, True)
            sliders[name] = {"max": max(len(steps) - 1, 0), "marks": slider_marks(steps),
                             "value": max(len(steps) - 1, 0) if following else no_update,
                             "disabled": len(steps) < 2}
        new["steps"][name] = steps
        if not steps:
            if not same:
                figures[name] = snapshot_figure(view, None)
            continue
        latest = steps[-1]
        if new["shown"].get(name) == latest or (kind == "matrix" and not new["follow"].get(name, True)):
            continue
        try:
            data = fetch_history(name, latest) if kind == "vector_over_time" else fetch_step(name, latest)
        except ApiError:
            continue  # not there (yet): the next tick tries again
        figures[name] = snapshot_figure(view, data)
        new["shown"][name] = latest
    return figures, sliders, new


def on_slide(view: View, position: int | None, cursor: Mapping[str, Any] | None,
             fetch_step: FetchStep) -> tuple[Any, dict[str, Any] | None]:
    """(the figure of the step at slider `position`, new cursor); (no_update, cursor) when there is none."""
    if not cursor or position is None:
        return no_update, None if cursor is None else dict(cursor)
    name = view["name"]
    steps = cursor["steps"].get(name, [])
    if not 0 <= position < len(steps):
        return no_update, dict(cursor)
    new = {**cursor, "shown": {**cursor["shown"]}, "follow": {**cursor["follow"]}}
    new["follow"][name] = position == len(steps) - 1
    if steps[position] == cursor["shown"].get(name):
        return no_update, new
    try:
        data = fetch_step(name, steps[position])
    except ApiError:
        return no_update, new
    new["shown"][name] = steps[position]
    return snapshot_figure(view, data), new
