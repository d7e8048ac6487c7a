"""Live updates of the run panel (frontend.live_charts, frontend.live_snapshots) against a fake metrics
store that serves the v2 metrics endpoint: an opaque cursor, `after` for the points written since."""

import math

import pytest
from dash import no_update

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


def draw_all(store, charts=CHARTS, the_run=None):
    return live_charts.draw_charts(charts, SPEC, the_run or run(), store.fetch)


def test_a_draw_fetches_every_chart_once_downsampled_and_tells_the_browser_what_it_drew(store):
    figures, states, after = draw_all(store)
    assert set(figures) == {"loss", "widths", "seeds"} and all(f["data"] for f in figures.values())
    assert store.calls == [(("loss", "ls", "seed_loss", "train/loss", "val/loss"), None)]
    assert after == len(store.rows)
    assert figures["loss"]["layout"]["xaxis"]["range"] == [0.0, 100.0]  # a live step chart spans the whole run
    loss = states["loss"]
    assert loss["names"] == ["train/loss", "val/loss", "ls"] and loss["extendable"]
    metas = [t["meta"] for t in figures["loss"]["data"]]
    # each trace with points: [metric, member, its index in the figure, its last x, how many points]
    assert sorted(loss["traces"]) == sorted([["train/loss", None, metas.index("train/loss|"), 1.0, 2],
                                             ["val/loss", None, metas.index("val/loss|"), 1.0, 2],
                                             ["ls", None, metas.index("ls|"), 1.0, 2]])
    assert loss["room"] == {}  # linear axes: plotly's own range follows the points


def test_a_family_members_trace_is_named_by_its_member_value(store):
    store.write("loss", [0, 1], [3.0, 1.0], member=64.0)
    figures, states, _ = draw_all(store)
    metas = [t["meta"] for t in figures["widths"]["data"]]
    assert ["loss", 64.0, metas.index("loss|64"), 1.0, 2] in states["widths"]["traces"]


def test_a_metric_without_points_has_no_trace_to_append_to(store):
    # val/loss's line is drawn empty: its first points need the chart drawn again (legend, card), not appended
    store.rows = [r for r in store.rows if r[1] != "val/loss"]
    figures, states, _ = draw_all(store)
    assert figures["loss"]["data"][1]["x"] == []
    assert "val/loss" not in [t[0] for t in states["loss"]["traces"]]


def test_band_and_fit_charts_are_drawn_whole_never_appended_to(store):
    _, states, _ = draw_all(store)
    assert not states["seeds"]["extendable"] and states["widths"]["extendable"]
    _, fitted, _ = draw_all(store, [{**LOSS, "id": "fitted", "fit": "power_law"}])
    assert not fitted["fitted"]["extendable"]


def test_a_log_value_axis_says_which_values_its_drawn_range_and_ticks_cover(store):
    logged = {**LOSS, "id": "logged", "log_y": True, "baselines": []}
    figures, states, _ = draw_all(store, [logged])
    low, high = states["logged"]["room"]["yaxis"]
    assert low < 1.5 and high > 2.1  # padded around the points drawn: a point below low asks for a redraw
    layout = figures["logged"]["layout"]["yaxis"]
    assert [math.log10(low), math.log10(high)] == pytest.approx(layout["range"])
    # An exact fit (1e-30 in floating point): the axis is capped 8 decades below its top, and room with it.
    store.write("train/loss", [3], [1e-30])
    _, states, _ = draw_all(store, [logged])
    assert states["logged"]["room"]["yaxis"][0] == pytest.approx(2.1e-8, rel=1e-6)


def test_a_draw_records_the_marks_it_was_drawn_with(store):
    mark = {"id": "drop", "label": "loss drops", "x": 1.0, "axis": "step", "metric": "train/loss", "value": 1.5,
            "member": None, "charts": None}
    figures, states, _ = draw_all(store, the_run=run(transitions=[mark]))
    assert states["loss"]["transitions"] == [mark] and states["loss"]["derived"] == {}
    assert figures["loss"]["layout"]["shapes"][0]["label"]["text"] == "loss drops"


def test_the_stream_starts_after_the_points_drawn():
    assert live_charts.events_url("r1", 42) == "/api/runs/r1/events?after=42"
    assert live_charts.events_url("r1", None) == "/api/runs/r1/events?after=0"


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

    def history(self, name, latest):
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


def test_a_live_log_value_axis_leaves_a_decade_of_room_below_its_lowest_point(store):
    logged = {**LOSS, "id": "logged", "log_y": True, "baselines": []}
    _, live, _ = draw_all(store, [logged])
    _, done, _ = draw_all(store, [logged], the_run=run(status="succeeded"))
    assert live["logged"]["room"]["yaxis"][0] < 0.15 < done["logged"]["room"]["yaxis"][0]  # lowest point 1.5
    assert live["logged"]["room"]["yaxis"][1] == pytest.approx(done["logged"]["room"]["yaxis"][1], rel=0.3)
