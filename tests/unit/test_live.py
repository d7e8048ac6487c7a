"""Live updates of the run panel (frontend.live_charts, frontend.live_snapshots) against a fake metrics
store that serves the v2 metrics endpoint: an opaque cursor, `after` for the points written since."""

import math

import pytest
from dash import Patch, no_update

from frontend import live_charts, live_snapshots
from frontend.client import ApiError

METRICS = [
    {"name": "train/loss", "axis": "step", "family": None, "role": "train", "label": "train"},
    {"name": "val/loss", "axis": "step", "family": None, "role": "held_out", "label": "validation"},
    {"name": "loss", "axis": "step", "family": "m", "role": "train", "label": "loss"},
    {"name": "ls", "axis": "step", "family": None, "role": "other", "label": "least squares"},
    {"name": "seed_loss", "axis": "step", "family": "seed", "role": "train", "label": "loss"},
]
LOSS = {"id": "loss", "title": "Loss", "metrics": ["train/loss", "val/loss"], "x": "step", "kind": "lines",
        "baselines": ["ls"], "log_x": None, "log_y": False, "references": [], "fit": None}
WIDTHS = {**LOSS, "id": "widths", "metrics": ["loss"], "baselines": []}
SEEDS = {**LOSS, "id": "seeds", "metrics": ["seed_loss"], "kind": "band", "baselines": []}
CHARTS = [LOSS, WIDTHS, SEEDS]
SPEC = {"name": "toy", "axes": [{"id": "step", "label": "step", "unit": "steps", "scale": "linear"}],
        "families": [{"id": "m", "label": "width m", "unit": "", "scale": "log"},
                     {"id": "seed", "label": "seed", "unit": "", "scale": "linear"}],
        "metrics": METRICS, "charts": CHARTS, "snapshots": [], "claims": [], "progress_axis": "step"}


def run(status="running", transitions=(), run_id="r1"):
    return {"id": run_id, "status": status, "derived": {},
            "progress": {"axis": "step", "label": "step", "unit": "steps", "x": 10.0, "total": 100.0},
            "summary": {"transitions": list(transitions), "claims": [], "fits": {}, "errors": []}}


class FakeMetrics:
    """Rows written in order; the cursor is the sequence number of the last row an answer saw."""

    def __init__(self):
        self.rows: list[tuple[int, str, float | None, float, float]] = []
        self.calls: list[tuple[tuple[str, ...], object]] = []
        self.before_whole = None  # called before a fetch without `after`: writes that land meanwhile

    def write(self, metric, xs, values, member=None):
        for x, value in zip(xs, values, strict=True):
            self.rows.append((len(self.rows) + 1, metric, member, float(x), value))

    def fetch(self, names, after):
        self.calls.append((tuple(names), after))
        if after is None and self.before_whole:
            self.before_whole()
        rows = [r for r in self.rows if r[1] in names and (after is None or r[0] > after)]
        grouped: dict = {}
        for _, metric, member, x, value in rows:
            item = grouped.setdefault((metric, member), {"metric": metric, "member": member, "x": [], "value": []})
            item["x"].append(x)
            item["value"].append(value)
        for item in grouped.values():
            order = sorted(range(len(item["x"])), key=item["x"].__getitem__)
            item["x"], item["value"] = [item["x"][i] for i in order], [item["value"][i] for i in order]
        cursor = self.rows[-1][0] if self.rows else None
        return {"series": list(grouped.values()), "cursor": cursor}


def operations(patch):
    assert isinstance(patch, Patch)
    return [(op["operation"], op["location"], op["params"].get("value")) for op in patch.to_plotly_json()["operations"]]


@pytest.fixture
def store():
    metrics = FakeMetrics()
    metrics.write("train/loss", [0, 1], [2.0, 1.5])
    metrics.write("val/loss", [0, 1], [2.1, 1.9])
    metrics.write("ls", [0, 1], [1.0, 1.0])
    metrics.write("loss", [0, 1], [3.0, 2.0], member=16.0)
    metrics.write("seed_loss", [0, 1], [1.0, 0.5], member=0.0)
    metrics.write("seed_loss", [0, 1], [1.2, 0.7], member=1.0)
    return metrics


def first_tick(store, now=0.0):
    return live_charts.refresh(CHARTS, SPEC, run(), None, store.fetch, now)


def test_the_first_tick_draws_every_chart_whole_and_remembers_what_it_drew(store):
    figures, cursor = first_tick(store)
    assert all(isinstance(f, dict) and f["data"] for f in figures)
    assert store.calls == [(("loss", "ls", "seed_loss", "train/loss", "val/loss"), None)]
    assert cursor["after"] == len(store.rows) and cursor["status"] == "running"
    assert cursor["charts"]["loss"]["last"]["train/loss|"] == [1.0, 2]
    assert figures[0]["layout"]["xaxis"]["range"] == [0.0, 100.0]  # a live step chart spans the whole run


def test_new_points_of_drawn_traces_are_appended_with_a_patch(store):
    _, cursor = first_tick(store)
    store.write("train/loss", [2, 3], [1.2, 1.0])
    store.write("ls", [2], [0.9])
    figures, after = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.1)
    assert store.calls[-1][1] == cursor["after"]  # only what was written since
    ops = operations(figures[0])
    train = cursor["charts"]["loss"]["index"]["train/loss|"]
    baseline = cursor["charts"]["loss"]["index"]["ls|"]
    assert ("Extend", ["data", train, "x"], [2.0, 3.0]) in ops and ("Extend", ["data", train, "y"], [1.2, 1.0]) in ops
    assert ("Extend", ["data", baseline, "x"], [2.0]) in ops
    assert not any(location[0] == "layout" for _, location, _ in ops)  # linear axes: nothing else to follow
    assert figures[1] is no_update and figures[2] is no_update  # nothing new for them
    assert after["after"] == len(store.rows) and after["charts"]["loss"]["last"]["train/loss|"] == [3.0, 4]


def test_a_new_family_member_redraws_its_chart_whole_from_a_fresh_fetch(store):
    _, cursor = first_tick(store)
    store.write("loss", [0, 1, 2], [3.0, 1.0, 0.5], member=64.0)
    figures, after = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.1)
    assert isinstance(figures[1], dict)
    assert [t["name"] for t in figures[1]["data"]] == ["m = 16", "m = 64"]
    assert store.calls[-1] == (("loss",), None)  # just that chart's metrics, downsampled
    assert after["charts"]["widths"]["last"]["loss|64"] == [2.0, 3]


def test_points_a_redraw_already_read_are_not_appended_again(store):
    _, cursor = first_tick(store)
    store.write("loss", [0], [3.0], member=64.0)
    # While the chart is fetched again, the worker writes more: the redraw has points the tick's cursor has not.
    store.before_whole = lambda: store.write("loss", [2], [1.5], member=16.0)
    _, cursor = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.1)
    store.before_whole = None
    assert cursor["charts"]["widths"]["last"]["loss|16"] == [2.0, 3]
    store.write("loss", [3], [1.2], member=16.0)
    figures, _ = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.2)
    index = cursor["charts"]["widths"]["index"]["loss|16"]
    assert ("Extend", ["data", index, "x"], [3.0]) in operations(figures[1])  # not [2.0, 3.0]


def test_a_band_chart_is_drawn_again_on_change_at_most_once_per_interval(store):
    _, cursor = first_tick(store, now=100.0)
    store.write("seed_loss", [2], [0.4], member=0.0)
    figures, cursor = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 100.0 + live_charts.REDRAW_S / 2)
    assert figures[2] is no_update and cursor["charts"]["seeds"]["stale"]  # too soon: remembered, not lost
    figures, cursor = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 100.0 + live_charts.REDRAW_S)
    assert isinstance(figures[2], dict) and not cursor["charts"]["seeds"]["stale"]
    assert figures[2]["data"][-1]["x"] == [0.0, 1.0, 2.0]  # the mean line, from all points
    figures, _ = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 200.0)
    assert figures[2] is no_update  # nothing new since


def test_a_log_axis_follows_the_points_appended_to_it(store):
    logged = {**LOSS, "id": "logged", "log_y": True, "baselines": []}
    _, cursor = live_charts.refresh([logged], SPEC, run(), None, store.fetch, 0.0)
    assert cursor["charts"]["logged"]["axes"] == {"yaxis": [1.5, 2.1]}
    store.write("train/loss", [2], [0.8])  # a wider span: other ticks
    figures, cursor = live_charts.refresh([logged], SPEC, run(), cursor, store.fetch, 0.1)
    ticks = {tuple(location): value for op, location, value in operations(figures[0]) if location[0] == "layout"}
    assert ticks[("layout", "yaxis", "ticktext")][0] == "0.8" and cursor["charts"]["logged"]["axes"]["yaxis"] == [0.8, 2.1]
    # An exact fit (1e-30 in floating point): the axis is capped 8 decades below its top, the 1-2-5 ticks
    # give way to powers of ten.
    store.write("train/loss", [3], [1e-30])
    figures, _ = live_charts.refresh([logged], SPEC, run(), cursor, store.fetch, 0.2)
    ops = operations(figures[0])
    assert ("Assign", ["layout", "yaxis", "range"], [math.log10(2.1) - 8, math.log10(2.1) + 8 * 0.07]) in ops
    assert ("Delete", ["layout", "yaxis", "tickvals"], None) in ops and \
        ("Assign", ["layout", "yaxis", "tickmode"], "auto") in ops


def test_new_transitions_reset_the_marks_of_extendable_charts(store):
    _, cursor = first_tick(store)
    mark = {"id": "drop", "label": "loss drops", "x": 1.0, "axis": "step", "metric": "train/loss", "value": 1.5,
            "member": None, "charts": None}
    figures, cursor = live_charts.refresh(CHARTS, SPEC, run(transitions=[mark]), cursor, store.fetch, 0.1)
    (op, location, shapes), = operations(figures[0])
    assert (op, location) == ("Assign", ["layout", "shapes"]) and shapes[0]["label"]["text"] == "loss drops"
    figures, _ = live_charts.refresh(CHARTS, SPEC, run(transitions=[mark]), cursor, store.fetch, 0.2)
    assert figures[0] is no_update  # marks unchanged: not sent again


def test_a_finished_run_a_new_run_and_crowded_curves_fetch_everything_again(store):
    _, cursor = first_tick(store)
    figures, _ = live_charts.refresh(CHARTS, SPEC, run(status="succeeded"), cursor, store.fetch, 0.1)
    assert store.calls[-1][1] is None and all(isinstance(f, dict) for f in figures)
    live_charts.refresh(CHARTS, SPEC, run(run_id="r2"), cursor, store.fetch, 0.1)
    assert store.calls[-1][1] is None
    crowded = {**cursor, "charts": {**cursor["charts"], "loss": {**cursor["charts"]["loss"], "last": {
        "train/loss|": [1.0, live_charts.REFETCH_POINTS + 1]}}}}
    live_charts.refresh(CHARTS, SPEC, run(), crowded, store.fetch, 0.1)
    assert store.calls[-1][1] is None


def test_the_cursor_from_the_browser_is_not_changed_in_place(store):
    _, cursor = first_tick(store)
    before = repr(cursor)
    store.write("train/loss", [2], [1.0])
    live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.1)
    assert repr(cursor) == before


# -- snapshots -------------------------------------------------------------------------------------------


SPECTRUM = {"name": "spectrum", "title": "Spectrum", "kind": "vector_over_time", "x_label": "k"}
GRAM = {"name": "gram", "title": "Gram", "kind": "matrix", "x_label": "", "y_label": ""}
VIEWS = [SPECTRUM, GRAM]


class FakeSnapshots:
    def __init__(self):
        self.steps: list[float] = []
        self.calls: list[tuple] = []
        self.missing = False

    def index(self):
        return {"spectrum": {"steps": list(self.steps), "shape": [2]},
                "gram": {"steps": list(self.steps), "shape": [1, 2]}}

    def history(self, name):
        self.calls.append(("history", name))
        return {"name": name, "steps": list(self.steps), "shape": [2], "values": [[0.5, 0.5] for _ in self.steps]}

    def step(self, name, step):
        self.calls.append(("step", name, step))
        if self.missing:
            raise ApiError("No snapshot", 404)
        return {"name": name, "step": step, "shape": [1, 2], "values": [step, -step]}

    def tick(self, cursor, run_id="r1"):
        return live_snapshots.on_tick(VIEWS, run_id, self.index(), cursor, self.history, self.step)


def test_snapshot_values_are_fetched_only_when_a_new_step_appears():
    snaps = FakeSnapshots()
    figures, sliders, cursor = snaps.tick(None)
    assert snaps.calls == [] and figures["spectrum"]["data"] == []  # nothing stored yet: placeholders
    snaps.steps = [0, 50]
    figures, sliders, cursor = snaps.tick(cursor)
    assert snaps.calls == [("history", "spectrum"), ("step", "gram", 50)]
    assert sliders["gram"] == {"max": 1, "value": 1, "marks": [{"value": 0, "label": "0"},
                                                              {"value": 1, "label": "50"}], "disabled": False}
    figures, sliders, cursor = snaps.tick(cursor)
    assert len(snaps.calls) == 2 and figures == {"spectrum": no_update, "gram": no_update}
    assert sliders["gram"] is no_update


def test_a_matrix_slider_moved_back_stays_while_its_range_grows():
    snaps = FakeSnapshots()
    snaps.steps = [0, 50, 100]
    _, _, cursor = snaps.tick(None)
    figure, cursor = live_snapshots.on_slide(GRAM, 0, cursor, snaps.step)
    assert snaps.calls[-1] == ("step", "gram", 0) and figure["data"][0]["z"] == [[0, 0]]
    snaps.steps = [0, 50, 100, 150]
    figures, sliders, cursor = snaps.tick(cursor)
    assert figures["gram"] is no_update and sliders["gram"]["max"] == 3 and sliders["gram"]["value"] is no_update
    assert snaps.calls[-1] == ("history", "spectrum")  # the vector view still follows the run
    live_snapshots.on_slide(GRAM, 3, cursor, snaps.step)
    assert snaps.calls[-1] == ("step", "gram", 150)


def test_the_slider_at_its_end_follows_the_run_again():
    snaps = FakeSnapshots()
    snaps.steps = [0, 50]
    _, _, cursor = snaps.tick(None)
    _, cursor = live_snapshots.on_slide(GRAM, 0, cursor, snaps.step)
    _, cursor = live_snapshots.on_slide(GRAM, 1, cursor, snaps.step)
    snaps.steps = [0, 50, 100]
    figures, sliders, _ = snaps.tick(cursor)
    assert sliders["gram"]["value"] == 2 and snaps.calls[-1] == ("step", "gram", 100)


def test_a_snapshot_that_cannot_be_read_is_tried_again_next_tick():
    snaps = FakeSnapshots()
    snaps.steps = [0]
    snaps.missing = True
    figures, _, cursor = snaps.tick(None)
    assert figures["gram"] is no_update and "gram" not in cursor["shown"]
    snaps.missing = False
    figures, _, cursor = snaps.tick(cursor)
    assert figures["gram"]["data"] and cursor["shown"]["gram"] == 0


def test_another_run_starts_the_snapshot_views_afresh():
    snaps = FakeSnapshots()
    snaps.steps = [0]
    _, _, cursor = snaps.tick(None)
    calls = len(snaps.calls)
    _, _, new = snaps.tick(cursor, run_id="r2")
    assert len(snaps.calls) == calls + 2 and new["run"] == "r2"


def test_the_first_points_of_a_metric_drawn_empty_redraw_its_chart(store):
    store.rows = [r for r in store.rows if r[1] != "val/loss"]
    figures, cursor = first_tick(store)
    assert figures[0]["data"][1]["x"] == []  # val/loss: its line is there, empty
    store.write("val/loss", [0, 1, 2], [2.0, 1.9, 1.8])
    figures, cursor = live_charts.refresh(CHARTS, SPEC, run(), cursor, store.fetch, 0.1)
    assert isinstance(figures[0], dict) and figures[0]["data"][1]["x"] == [0.0, 1.0, 2.0]
    assert cursor["charts"]["loss"]["last"]["val/loss|"] == [2.0, 3]
