"""The UI's figures are pure functions of the API's JSON: checked here without a browser or a server."""

import os
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

from frontend.figures.compare import RAW_OPACITY, compare_figure, ema, run_labels
from frontend.figures.curves import curves_figure, marks_layout
from frontend.figures.snapshots import snapshot_figure
from frontend.figures.theme import HELD_OUT, OTHERS, TRAIN, metric_color

ROOT = Path(__file__).resolve().parents[2]

ACCURACY = {"id": "accuracy", "title": "Accuracy", "metrics": ["train/acc", "val/acc"], "x_label": "step",
            "y_label": "accuracy", "log_x": False, "log_y": False, "reference": None}
TEST_ERROR = {"id": "test_error", "title": "Test error", "metrics": ["test/mse", "train/mse"],
              "x_label": "features p", "y_label": "mse", "log_x": True, "log_y": True,
              "reference": ["p = n", "n_train"]}
def validated(figure: dict) -> go.Figure:
    """The figure dict as a validated go.Figure: a misspelled plotly property fails here, not in a browser."""
    return go.Figure(figure)


SERIES = {"train/acc": {"step": [0, 1, 2, 3], "value": [0.1, 0.6, 1.0, 1.0]},
          "val/acc": {"step": [0, 1, 2, 3], "value": [0.0, 0.0, None, 0.9]}}
TRANSITIONS = [
    {"id": "memorization", "label": "memorized", "step": 2, "metric": "train/acc", "value": 1.0},
    {"id": "grokking", "label": "grokked", "step": 3, "metric": "val/acc", "value": 0.9},
]


def test_one_trace_per_metric_in_chart_order_with_split_colors():
    fig = validated(curves_figure(ACCURACY, SERIES))
    assert [t.name for t in fig.data] == ["train/acc", "val/acc"]
    assert list(fig.data[0].x) == [0, 1, 2, 3] and list(fig.data[1].y) == [0.0, 0.0, None, 0.9]
    assert fig.data[0].line.color == TRAIN and fig.data[1].line.color == HELD_OUT
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.title.text == "accuracy"
    assert fig.layout.showlegend is False  # title and legend are the card's, in HTML above the plot


def test_missing_metrics_still_get_an_empty_trace_so_live_updates_can_extend_by_index():
    fig = validated(curves_figure(ACCURACY, {"val/acc": SERIES["val/acc"]}))
    assert [t.name for t in fig.data] == ["train/acc", "val/acc"]
    assert list(fig.data[0].x) == [] and len(fig.data[1].x) == 4


def test_an_empty_chart_says_so_instead_of_showing_arbitrary_axes():
    fig = validated(curves_figure(ACCURACY, {}))
    assert any(a.text == "waiting for data" for a in fig.layout.annotations)
    assert fig.layout.yaxis.showticklabels is False


def test_log_axes_follow_the_chart_spec():
    fig = validated(curves_figure(TEST_ERROR, {"test/mse": {"step": [10, 20, 40, 80], "value": [1, 2, 50, 3]}}))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.exponentformat == "power"  # 10⁻⁷, not "100n"
    assert validated(curves_figure(ACCURACY, SERIES)).layout.yaxis.type == "linear"


def test_transitions_are_labelled_vertical_lines_in_their_metrics_color():
    fig = validated(curves_figure(ACCURACY, SERIES, TRANSITIONS))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [(s.x0, s.x1) for s in lines] == [(2, 2), (3, 3)]
    assert [s.label.text for s in lines] == ["memorized", "grokked"]
    assert lines[0].line.color == TRAIN and lines[1].line.color == HELD_OUT
    assert all(s.yref == "paper" and s.y0 == 0 and s.y1 > 1 for s in lines)  # rise into the label strip


def test_marks_labels_are_staggered_and_read_towards_the_room_they_have():
    marks = marks_layout(ACCURACY, [{**TRANSITIONS[0], "step": 1}, {**TRANSITIONS[1], "step": 9}],
                         x_span=(0, 10))["shapes"]
    assert marks[0]["y1"] != marks[1]["y1"]
    assert marks[0]["label"]["xanchor"] == "left"  # near the left edge: reads rightwards
    assert marks[1]["label"]["xanchor"] == "right"  # near the right edge: reads leftwards, inside the plot
    middle = marks_layout(ACCURACY, TRANSITIONS[:1], x_span=(0, 4))["shapes"]  # step 2 of 0…4
    assert middle[0]["label"]["xanchor"] == "center"


def test_log_axes_label_1_2_5_over_a_few_decades_only():
    few = validated(curves_figure(TEST_ERROR, {"test/mse": {"step": [5, 200], "value": [1, 40]}}))
    assert few.layout.xaxis.dtick == "D2" and few.layout.yaxis.dtick == "D2"
    many = validated(curves_figure(TEST_ERROR, {"test/mse": {"step": [5, 200], "value": [1e-28, 40]}}))
    assert many.layout.yaxis.dtick is None


def test_reference_line_is_drawn_at_the_config_value_on_a_log_axis():
    marks = marks_layout(TEST_ERROR, [], {"n_train": 40})["shapes"]
    assert len(marks) == 1
    assert marks[0]["x0"] == 40 and marks[0]["line"]["dash"] == "dot" and marks[0]["label"]["text"] == "p = n"
    assert marks_layout(TEST_ERROR, [], {})["shapes"] == []  # no config value: no line


def test_marks_at_the_same_x_share_one_line_and_one_label():
    peak = [{"id": "peak", "label": "peak at p = 40", "step": 40, "metric": "test/mse", "value": 70.0}]
    marks = marks_layout(TEST_ERROR, peak, {"n_train": 40})["shapes"]
    assert len(marks) == 1 and marks[0]["label"]["text"] == "peak at p = 40 · p = n"


def test_step_charts_can_span_the_whole_run_while_it_grows():
    fig = validated(curves_figure(ACCURACY, SERIES, x_range=(0, 1000)))
    assert tuple(fig.layout.xaxis.range) == (0, 1000)
    assert validated(curves_figure(TEST_ERROR, {}, x_range=(0, 1000))).layout.xaxis.range is None  # log x: no


def test_ema_is_debiased_and_keeps_gaps():
    assert ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards 0 at the start
    smoothed = ema([0.0, 10.0, None, 10.0], 0.5)
    assert smoothed[2] is None and smoothed[0] == 0.0 and 0 < smoothed[1] < 10 and smoothed[1] < smoothed[3] < 10
    assert ema([3.0, None], 0.0) == [3.0, None]


RUNS = [{"id": "aaaaaaaa1", "config": {"weight_decay": 1.0, "p": 97}, "seed": 0},
        {"id": "bbbbbbbb2", "config": {"weight_decay": 0.0, "p": 97}, "seed": 0}]
SERIES_BY_RUN = {"aaaaaaaa1": SERIES, "bbbbbbbb2": {"train/acc": {"step": [0, 1], "value": [0.2, 0.4]}}}


def test_run_labels_name_only_the_knobs_that_differ():
    assert run_labels(RUNS) == {"aaaaaaaa1": "aaaaaaaa · weight_decay=1", "bbbbbbbb2": "bbbbbbbb · weight_decay=0"}
    assert run_labels(RUNS[:1]) == {"aaaaaaaa1": "aaaaaaaa"}


def test_compare_overlays_runs_with_one_color_each_and_dashed_held_out_curves():
    fig = validated(compare_figure(ACCURACY, RUNS, SERIES_BY_RUN))
    assert len(fig.data) == 3  # run b has no val/acc: no empty trace in the legend
    by_name = {t.name: t for t in fig.data}
    a_train, a_val = by_name["aaaaaaaa · weight_decay=1 · train/acc"], by_name["aaaaaaaa · weight_decay=1 · val/acc"]
    b_train = by_name["bbbbbbbb · weight_decay=0 · train/acc"]
    assert a_train.line.color == a_val.line.color != b_train.line.color
    assert a_train.line.dash == "solid" and a_val.line.dash == "dash"


def test_smoothing_keeps_the_raw_curve_faint_behind_and_out_of_the_legend():
    fig = validated(compare_figure(ACCURACY, RUNS[:1], SERIES_BY_RUN, smoothing=0.6))
    raw = [t for t in fig.data if t.opacity == RAW_OPACITY]
    smooth = [t for t in fig.data if t.opacity is None]
    assert len(raw) == len(smooth) == 2
    assert all(t.showlegend is False and t.hoverinfo == "skip" for t in raw)
    assert list(raw[0].y) == SERIES["train/acc"]["value"] and list(smooth[0].y) != list(raw[0].y)
    assert fig.data.index(raw[0]) < fig.data.index(smooth[0])  # drawn first, so behind


def test_compare_log_toggles_override_the_chart_spec():
    assert validated(compare_figure(ACCURACY, RUNS, SERIES_BY_RUN)).layout.yaxis.type == "linear"
    fig = validated(compare_figure(ACCURACY, RUNS, SERIES_BY_RUN, log_x=True, log_y=True))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_smoothing_on_a_log_axis_averages_in_log_space():
    chart = {**ACCURACY, "metrics": ["train/acc"]}
    series = {"a": {"train/acc": {"step": [0, 1], "value": [1.0, 100.0]}}}
    run = {"id": "a", "config": {}, "seed": 0}
    fig = validated(compare_figure(chart, [run], series, smoothing=0.5, log_y=True))
    smoothed = [t for t in fig.data if t.opacity is None][0]
    assert smoothed.y[1] == pytest.approx(10 ** (4 / 3))  # weights 1/3, 2/3 on log10 y: 0 and 2 (arithmetic: 67)


FOURIER = {"name": "embedding_fourier", "title": "Fourier power", "x_label": "frequency k"}


def test_fourier_heatmap_is_frequency_by_step_with_the_latest_spectrum_as_bars():
    snap = {"steps": [0, 50, 100], "shape": [4],
            "values": [[0.25, 0.25, 0.25, 0.25], [0.1, 0.6, 0.2, 0.1], [0.0, 0.9, 0.1, 0.0]]}
    fig = validated(snapshot_figure(FOURIER, snap))
    heatmap, bars = fig.data
    assert heatmap.type == "heatmap" and list(heatmap.x) == [0, 50, 100] and list(heatmap.y) == [0, 1, 2, 3]
    assert [list(row) for row in heatmap.z][1] == [0.25, 0.6, 0.9]  # row k = frequency k over time
    assert bars.type == "bar" and bars.orientation == "h" and list(bars.x) == [0.0, 0.9, 0.1, 0.0]
    assert fig.layout.yaxis.title.text == "frequency k"


def test_a_matrix_snapshot_shows_its_latest_value():
    snap = {"steps": [5, 9], "shape": [2, 2], "values": [[1, 0, 0, 1], [1, 2, 3, 4]]}
    fig = validated(snapshot_figure({"name": "wtw", "title": "WᵀW"}, snap))
    assert [list(r) for r in fig.data[0].z] == [[1, 2], [3, 4]] and "step 9" in fig.layout.xaxis.title.text


def test_no_snapshot_yet_is_a_placeholder_not_an_error():
    fig = validated(snapshot_figure(FOURIER, None))
    assert not fig.data and fig.layout.annotations[0].text == "No snapshot yet"


@pytest.mark.parametrize(("name", "color"), [("train/loss", TRAIN), ("val/loss", HELD_OUT), ("test/mse", HELD_OUT)])
def test_metric_colors_are_the_same_everywhere(name, color):
    assert metric_color(name) == color


def test_other_metrics_get_a_color_of_their_own_the_same_in_every_process():
    names = ["weight_norm", "readout_norm"]
    colors = [metric_color(name) for name in names]
    assert all(color in OTHERS for color in colors)  # never mistaken for a train or held-out curve
    # Picked from the name itself, not hash(): a chart keeps its colors across server restarts.
    probe = f"from frontend.figures.theme import metric_color; print(*map(metric_color, {names!r}))"
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
                             capture_output=True, text=True, timeout=60, check=True)
        assert out.stdout.split() == colors
