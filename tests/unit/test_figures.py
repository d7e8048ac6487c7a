"""The UI's figures and run panels are pure functions of the API's JSON (contract v2): checked here without a
browser or a server, on fixtures in the shapes GET /api/phenomena/{name} and GET /api/runs/{id} serve."""

import math

import plotly.graph_objects as go
import pytest
from plotly.colors import sample_colorscale

from frontend.chart_legends import drawn_metrics, legend_items
from frontend.figures.band import band_stats, t975
from frontend.figures.chart import chart_figure, chart_metrics, extendable
from frontend.figures.colors import (
    BASELINE,
    HELD_OUT,
    OTHERS,
    REFERENCE,
    SEQUENTIAL_END,
    TRAIN,
    member_colors,
)
from frontend.figures.compare import RAW_OPACITY, compare_figure, ema, run_labels
from frontend.figures.fit import fit_label
from frontend.figures.frame import MAX_DECADES, log_axis_fit, tick_text
from frontend.figures.heatmap import cells, edges
from frontend.figures.marks import Mark, chart_transitions, cluster_label, marks_layout
from frontend.figures.scatter import paired
from frontend.figures.snapshots import snapshot_figure
from frontend.figures.spec import title
from frontend.numbers import measured, number
from frontend.run_panels import claims_panel, progress_percent, progress_text, status_panel, verdict_look

AXES = [{"id": "step", "label": "step", "unit": "steps", "scale": "linear"},
        {"id": "p", "label": "features p", "unit": "features", "scale": "log"},
        {"id": "angle", "label": "angle", "unit": "degrees", "scale": "linear"}]
FAMILIES = [{"id": "m", "label": "hidden dimensions m", "unit": "dims", "scale": "log"},
            {"id": "seed", "label": "seed", "unit": "", "scale": "linear"}]


def metric(name, axis="step", family=None, role="other", label=""):
    return {"name": name, "axis": axis, "family": family, "role": role, "label": label}


METRICS = [
    metric("train/acc", role="train", label="train"),
    metric("val/acc", role="held_out", label="validation"),
    metric("train/odd", role="held_out", label="held out, despite its prefix"),
    metric("weight_norm", label="‖θ‖₂"),
    metric("grad_norm", label="‖g‖"),
    metric("loss", family="m", role="train", label="train loss"),
    metric("test_loss", family="m", role="held_out", label="test loss"),
    metric("least_squares", label="least squares"),
    metric("test/mse", axis="p", role="held_out", label="test"),
    metric("seed_loss", family="seed", role="train", label="train loss"),
    metric("final_loss", axis="angle", family="m", label="final loss"),
    metric("gen_loss", family="m", role="held_out", label="test loss"),
]


def chart(id, metrics, x="step", kind="lines", **extra):
    return {"id": id, "title": id.title(), "metrics": metrics, "x": x, "kind": kind, "baselines": [],
            "x_metric": None, "y_label": "", "log_x": None, "log_y": False, "references": [], "fit": None,
            "caption": "", **extra}


ACCURACY = chart("accuracy", ["train/acc", "val/acc"], y_label="accuracy")
WIDTHS = chart("widths", ["loss"], log_y=True, baselines=["least_squares"])
TEST_ERROR = chart("test_error", ["test/mse"], x="p", log_y=True, y_label="mse",
                  references=[{"label": "p = n", "value": "n", "orient": "x"}],
                  fit={"metric": "test/mse", "kind": "power_law", "label": "power-law fit"})
SEEDS = chart("seeds", ["seed_loss"], kind="band")
SCATTER = chart("scatter", ["test_loss"], kind="scatter", x_metric="loss")
HEATMAP = chart("heatmap", ["final_loss"], x="angle", kind="heatmap")
SPEC = {"name": "toy", "axes": AXES, "families": FAMILIES, "metrics": METRICS, "progress_axis": "step",
        "charts": [ACCURACY, WIDTHS, TEST_ERROR, SEEDS, SCATTER, HEATMAP],
        "claims": [{"id": "late", "text": "Generalization comes late", "unit": "steps"}]}


def series(metric, x, value, member=None):
    return {"metric": metric, "member": member, "x": list(x), "value": list(value)}


def run(**extra):
    base = {"id": "r1", "status": "running", "device": "cpu", "worker": "w1", "error": None, "derived": {"n": 40.0},
            "progress": {"axis": "step", "label": "step", "unit": "steps", "x": 480.0, "total": 1000.0},
            "summary": {"transitions": [], "claims": [], "fits": {}, "final": {}, "preset": None, "errors": []}}
    summary = {**base["summary"], **extra.pop("summary", {})}
    return {**base, **extra, "summary": summary}


def validated(figure: dict) -> go.Figure:
    """The figure dict as a validated go.Figure: a misspelled plotly property fails here, not in a browser."""
    return go.Figure(figure)


def text_of(component) -> str:
    """Every string inside a Dash component tree, in order."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find(component, predicate) -> list:
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children] if children is not None else []:
        if not isinstance(child, str | int | float):
            found += find(child, predicate)
    return found


# -- lines: axes, colours, families ------------------------------------------------------------------


ACC_SERIES = [series("train/acc", [0, 1, 2, 3], [0.1, 0.6, 1.0, 1.0]),
              series("val/acc", [0, 1, 2, 3], [0.0, 0.0, None, 0.9])]


def test_plain_metrics_are_one_line_each_coloured_by_their_role():
    fig = validated(chart_figure(ACCURACY, SPEC, ACC_SERIES))
    assert [t.name for t in fig.data] == ["train", "validation"]  # the metric's label, not its name
    assert list(fig.data[1].y) == [0.0, 0.0, None, 0.9]
    assert fig.data[0].line.color == TRAIN and fig.data[1].line.color == HELD_OUT
    assert [t.meta for t in fig.data] == ["train/acc|", "val/acc|"]  # the keys live updates extend by
    assert fig.layout.showlegend is False  # plain metrics: the legend is the card's, in HTML


def test_colour_comes_from_the_role_not_the_name_prefix():
    odd = chart("odd", ["train/odd"])
    fig = validated(chart_figure(odd, SPEC, [series("train/odd", [0, 1], [1, 2])]))
    assert fig.data[0].line.color == HELD_OUT


def test_other_metrics_get_distinct_colours_that_are_the_same_on_every_chart():
    norms = chart("norms", ["weight_norm", "grad_norm"])
    data = [series("weight_norm", [0], [1]), series("grad_norm", [0], [2])]
    first = validated(chart_figure(norms, SPEC, data))
    alone = validated(chart_figure(chart("g", ["grad_norm"]), SPEC, data[1:]))
    assert first.data[0].line.color != first.data[1].line.color
    assert {first.data[0].line.color, first.data[1].line.color} <= set(OTHERS)
    assert alone.data[0].line.color == first.data[1].line.color


def test_the_x_axis_is_the_axis_the_chart_names_with_its_unit_and_scale():
    fig = validated(chart_figure(TEST_ERROR, SPEC, [series("test/mse", [10, 20, 40], [1, 5, 2])]))
    assert fig.layout.xaxis.title.text == "features p" and fig.layout.xaxis.type == "log"  # from the axis' scale
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
    linear = validated(chart_figure({**TEST_ERROR, "log_x": False}, SPEC, []))
    assert linear.layout.xaxis.type == "linear"  # the chart's own log_x wins over the axis' scale
    angle = validated(chart_figure(chart("a", ["final_loss"], x="angle"), SPEC, []))
    assert angle.layout.xaxis.title.text == "angle (degrees)"


@pytest.mark.parametrize(("part", "text"), [
    ({"label": "step", "unit": "steps"}, "step"), ({"label": "features p", "unit": "features"}, "features p"),
    ({"label": "angle", "unit": "degrees"}, "angle (degrees)"), ({"label": "learning rate η", "unit": ""},
                                                                  "learning rate η")])
def test_axis_titles_add_the_unit_unless_the_label_says_it(part, text):
    assert title(part) == text


WIDTH_SERIES = [series("loss", [0, 10, 20], [3, 2, 1], 16.0), series("loss", [0, 10, 20], [3, 1.5, 0.5], 256.0),
                series("loss", [0, 10], [3, 1.8], 64.0)]


def test_a_family_metric_is_a_line_per_member_on_a_sequential_scale_with_a_titled_legend():
    fig = validated(chart_figure(WIDTHS, SPEC, WIDTH_SERIES))
    lines = [t for t in fig.data if t.meta.startswith("loss|")]
    assert [t.name for t in lines] == ["m = 16", "m = 64", "m = 256"]  # in member order, whatever the API order
    assert [t.meta for t in lines] == ["loss|16", "loss|64", "loss|256"]
    # Log-spaced: 64 sits halfway between 16 and 256 on a log family.
    assert [t.line.color for t in lines] == sample_colorscale("Viridis", [0.0, SEQUENTIAL_END / 2, SEQUENTIAL_END])
    # Titled with the family, wrapped: the legend is as wide as its title, and the plot narrower by as much.
    assert fig.layout.showlegend is True and fig.layout.legend.title.text == "hidden<br>dimensions m<br>(dims)"
    assert all(t.showlegend for t in lines)


def test_member_colours_are_spaced_by_value_on_the_familys_scale():
    assert member_colors([1, 2, 10], "linear")[2] == sample_colorscale("Viridis", [SEQUENTIAL_END / 9])[0]
    assert member_colors([16, 32, 256], "log")[32] == sample_colorscale("Viridis", [SEQUENTIAL_END / 4])[0]


def test_two_family_metrics_share_member_colours_and_differ_by_dash_with_one_legend_entry_per_member():
    both = chart("both", ["loss", "test_loss"])
    data = [series("loss", [0, 1], [2, 1], 16.0), series("test_loss", [0, 1], [3, 2], 16.0),
            series("loss", [0, 1], [2, 0.5], 64.0), series("test_loss", [0, 1], [3, 1], 64.0)]
    fig = validated(chart_figure(both, SPEC, data))
    by_key = {t.meta: t for t in fig.data}
    assert by_key["loss|16"].line.color == by_key["test_loss|16"].line.color != by_key["loss|64"].line.color
    assert by_key["loss|16"].line.dash == "solid" and by_key["test_loss|16"].line.dash == "dash"
    assert [t.meta for t in fig.data if t.showlegend] == ["loss|16", "loss|64"]
    assert by_key["test_loss|64"].name == "m = 64 · test loss"


def test_a_plain_metric_without_points_yet_keeps_its_empty_line_in_chart_order():
    fig = validated(chart_figure(ACCURACY, SPEC, ACC_SERIES[1:]))
    assert [t.meta for t in fig.data] == ["train/acc|", "val/acc|"] and list(fig.data[0].x) == []
    assert not validated(chart_figure(WIDTHS, SPEC, [])).data  # a family has no line before its first member


def test_an_empty_chart_says_so_instead_of_showing_arbitrary_axes():
    fig = validated(chart_figure(ACCURACY, SPEC, []))
    assert not any(t.x for t in fig.data) and any(a.text == "waiting for data" for a in fig.layout.annotations)
    assert fig.layout.yaxis.showticklabels is False


def test_step_charts_can_span_the_whole_run_while_it_grows():
    fig = validated(chart_figure(ACCURACY, SPEC, ACC_SERIES, x_range=(0, 1000)))
    assert tuple(fig.layout.xaxis.range) == (0, 1000)
    assert validated(chart_figure(TEST_ERROR, SPEC, [], x_range=(0, 1000))).layout.xaxis.range is None  # log x


def test_log_axes_label_round_values_in_plain_numbers_over_a_few_decades():
    few = validated(chart_figure(TEST_ERROR, SPEC, [series("test/mse", [5, 200], [1, 40])]))
    assert list(few.layout.xaxis.ticktext) == ["5", "10", "20", "30", "50", "100", "200"]  # not "5, 10, 2, 5, 10², 2"
    assert list(few.layout.yaxis.ticktext) == ["1", "2", "5", "10", "20", "50"]
    small = validated(chart_figure(TEST_ERROR, SPEC, [series("test/mse", [4, 16], [2e-4, 1.1e-3])]))
    assert list(small.layout.xaxis.tickvals) == [4, 5, 6, 8, 10, 15, 20]  # under a decade: denser, to its end
    assert list(small.layout.yaxis.ticktext) == ["0.0002", "0.0003", "0.0005", "0.001", "0.002"]
    assert [tick_text(v) for v in (2e-5, 1e-7, 2000.0, 3e7)] == ["2·10⁻⁵", "10⁻⁷", "2,000", "3·10⁷"]
    # A reference line counts: "all n features" at y = 512 over curves that stay below 32 gets ticks up there.
    stored = {**TEST_ERROR, "references": [{"label": "all n features", "value": "n_features", "orient": "y"}]}
    up = validated(chart_figure(stored, SPEC, [series("test/mse", [4, 32], [4, 32])], run(derived={"n_features": 512})))
    assert up.layout.yaxis.tickvals[-1] >= 512 and "500" in up.layout.yaxis.ticktext


def test_a_log_value_axis_shows_at_most_eight_decades_below_its_top():
    """A train error of 1e-28 (an exact fit in floating point) would squash the test error's peak into a sliver."""
    many = validated(chart_figure(TEST_ERROR, SPEC, [series("test/mse", [5, 200], [1e-28, 40])]))
    assert many.layout.yaxis.tickvals is None and many.layout.yaxis.autorange is False
    assert many.layout.yaxis.range[0] == pytest.approx(math.log10(40) - MAX_DECADES)
    assert many.layout.xaxis.range is None  # the axis along which the curves run is never cut
    assert log_axis_fit(None, value_axis=True) == {"autorange": True, "tickmode": "auto"}  # no null range to trip
    # Below 8 decades: padded both ways (a reference's label at the top is not cut off).
    low, high = log_axis_fit([0.5, 40], value_axis=True)["range"]
    assert low < math.log10(0.5) and high > math.log10(40)


# -- baselines, fits, references, transitions -------------------------------------------------------


def test_a_baseline_is_gray_dashed_and_named_in_the_cards_legend_once_drawn():
    data = [*WIDTH_SERIES, series("least_squares", [0, 10, 20], [2.5, 1.2, None])]
    fig = validated(chart_figure(WIDTHS, SPEC, data))
    line = next(t for t in fig.data if t.meta == "least_squares|")
    assert line.line.dash == "dash" and line.line.color == BASELINE and line.showlegend is False
    assert all(t.mode == "lines" for t in fig.data)  # no label on the plot, where it would sit on the data
    assert "least squares" in text_of(legend_items(WIDTHS, SPEC))  # before a run: the chart as declared
    assert "least squares" in text_of(legend_items(WIDTHS, SPEC, drawn_metrics(chart_figure(WIDTHS, SPEC, data))))
    without = chart_figure(WIDTHS, SPEC, WIDTH_SERIES)  # a run that logs no baseline (no ridge): not listed
    assert drawn_metrics(without) == {"loss"} and "least squares" not in text_of(legend_items(WIDTHS, SPEC, {"loss"}))
    assert drawn_metrics(chart_figure(WIDTHS, SPEC, [])) is None


FIT = {"metric": "test/mse", "slope": -1.0213, "prefactor": 50.0, "interval": [-1.10, -0.95], "x_min": 10.0,
       "x_max": 1000.0, "n_points": 9, "r2": 0.98, "method": "bootstrap over points"}


def test_a_fit_is_the_power_law_over_its_range_labelled_with_slope_and_interval():
    fig = validated(chart_figure(TEST_ERROR, SPEC, [series("test/mse", [10, 100, 1000], [5, 0.6, 0.04])],
                                 run(summary={"fits": {"test_error": FIT}})))
    line = next(t for t in fig.data if t.meta == "fit")
    assert (line.x[0], line.x[-1]) == (10.0, 1000.0)  # log-log: a straight line between its ends
    assert line.y[0] == pytest.approx(50.0 * 10.0**-1.0213) and line.y[-1] == pytest.approx(50.0 * 1000.0**-1.0213)
    assert fit_label(FIT) == "slope −1.02 [−1.10, −0.95]"
    # Labelled in the corner a falling curve leaves empty (at the line's end it sat on the data).
    label, = fig.layout.annotations
    assert label.text == "power-law fit: slope −1.02 [−1.10, −0.95]" and (label.xref, label.yref) == ("paper", "paper")
    assert (label.x, label.y, label.yanchor) == (0.02, 0.03, "bottom")
    rising = chart_figure(TEST_ERROR, SPEC, [series("test/mse", [10, 1000], [1, 10])],
                          run(summary={"fits": {"test_error": {**FIT, "slope": 0.5}}}))
    assert rising["layout"]["annotations"][-1]["yanchor"] == "top"
    curved = validated(chart_figure({**TEST_ERROR, "log_y": False}, SPEC, [], run(summary={"fits": {"test_error": FIT}})))
    fit = next(t for t in curved.data if t.meta == "fit")
    assert len(fit.x) > 2 and fit.x[-1] == 1000.0  # curved on a linear y: sampled along x
    assert not [t for t in validated(chart_figure(TEST_ERROR, SPEC, [], run())).data if t.meta == "fit"]


def test_references_are_dotted_lines_at_derived_values_in_both_orientations():
    both = {**ACCURACY, "references": [{"label": "p = n", "value": "n", "orient": "x"},
                                       {"label": "2/η", "value": "two_over_lr", "orient": "y"},
                                       {"label": "missing", "value": "absent", "orient": "x"}]}
    marks = marks_layout(both, SPEC, run(derived={"n": 40.0, "two_over_lr": 20.0}))["shapes"]
    vertical, horizontal = marks
    assert len(marks) == 2  # a value the run does not derive draws nothing
    assert (vertical["x0"], vertical["xref"], vertical["yref"], vertical["label"]["text"]) == (40.0, "x", "paper", "p = n")
    assert (horizontal["y0"], horizontal["y1"], horizontal["yref"], horizontal["xref"]) == (20.0, 20.0, "y", "paper")
    assert (horizontal["x0"], horizontal["x1"], horizontal["label"]["text"]) == (0, 1, "2/η")
    assert vertical["line"]["dash"] == horizontal["line"]["dash"] == "dot"
    assert horizontal["line"]["color"] == REFERENCE
    validated({"data": [], "layout": {"shapes": marks}})


TRANSITIONS = [
    {"id": "memorized", "label": "memorized", "x": 2.0, "axis": "step", "metric": "train/acc", "value": 1.0,
     "member": None, "charts": None},
    {"id": "grokked", "label": "grokked", "x": 3.0, "axis": "step", "metric": "val/acc", "value": 0.9,
     "member": None, "charts": ["accuracy"]},
    {"id": "peak", "label": "peak", "x": 40.0, "axis": "p", "metric": "test/mse", "value": 7.0, "member": None,
     "charts": None},
]


def test_transitions_are_drawn_only_on_charts_of_their_axis_and_on_the_charts_they_name():
    with_marks = run(summary={"transitions": TRANSITIONS})
    assert [t["id"] for t in chart_transitions(ACCURACY, with_marks)] == ["memorized", "grokked"]
    assert [t["id"] for t in chart_transitions(WIDTHS, with_marks)] == ["memorized"]  # grokked names accuracy only
    assert [t["id"] for t in chart_transitions(TEST_ERROR, with_marks)] == ["peak"]
    assert chart_transitions(SCATTER, with_marks) == []  # its horizontal axis is a metric, not the step


def test_transitions_are_labelled_vertical_lines_in_their_metrics_colour():
    fig = validated(chart_figure(ACCURACY, SPEC, ACC_SERIES, run(summary={"transitions": TRANSITIONS})))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [(s.x0, s.label.text) for s in lines] == [(2.0, "memorized"), (3.0, "grokked")]
    assert lines[0].line.color == TRAIN and lines[1].line.color == HELD_OUT and lines[0].line.dash == "dash"
    assert all(s.yref == "paper" and s.y0 == 0 and s.y1 > 1 for s in lines)  # rise into the label strip


def test_marks_labels_are_staggered_and_read_towards_the_room_they_have():
    moved = [{**TRANSITIONS[0], "x": 1.0}, {**TRANSITIONS[1], "x": 9.0}]
    marks = marks_layout(ACCURACY, SPEC, run(summary={"transitions": moved}), x_span=(0, 10))["shapes"]
    assert marks[0]["y1"] != marks[1]["y1"]
    assert marks[0]["label"]["xanchor"] == "left" and marks[1]["label"]["xanchor"] == "right"


def test_marks_at_the_same_x_share_one_line_and_one_label():
    at_n = [{**TRANSITIONS[2], "x": 40.0}]
    marks = marks_layout(TEST_ERROR, SPEC, run(summary={"transitions": at_n}))["shapes"]
    assert len(marks) == 1 and marks[0]["label"]["text"] == "peak · p = n"


def beats(member, x, text="beats one feature per dimension"):
    return {"id": f"beats_m{member:g}", "label": f"m = {member:g} {text}", "x": x, "axis": "step", "metric": "loss",
            "value": 0.1, "member": member, "charts": None}


def test_crowded_marks_keep_their_lines_and_share_one_label_naming_the_members():
    found = [beats(16.0, 93.0), beats(64.0, 93.0), beats(256.0, 78.0)]
    marks = marks_layout(WIDTHS, SPEC, run(summary={"transitions": found}, members={"m": [16.0, 64.0, 256.0]}),
                         x_span=(0, 6000))["shapes"]
    assert [m["x0"] for m in marks] == [78.0, 93.0]  # one line per x
    assert [m.get("label", {}).get("text") for m in marks] == ["m = 16, 64, 256: beats one feature per dimension",
                                                                None]
    colors = member_colors([16.0, 64.0, 256.0], "log")
    assert marks[0]["line"]["color"] == colors[256.0] and marks[1]["line"]["color"] == colors[16.0]  # the curve's
    apart = marks_layout(WIDTHS, SPEC, run(summary={"transitions": found}), x_span=(0, 100))["shapes"]
    assert all(m["label"]["text"] for m in apart)  # room enough: each its own label


def test_a_shared_label_names_the_member_in_the_text_by_the_familys_parameter():
    found = [beats(16.0, 40.0, "stores more than 16 features"), beats(64.0, 42.0, "stores more than 64 features"),
             beats(128.0, 45.0, "stores more than 128 features"), beats(256.0, 50.0, "stores more than 256 features")]
    marks = marks_layout(WIDTHS, SPEC, run(summary={"transitions": found}), x_span=(0, 1000))["shapes"]
    assert marks[0]["label"]["text"] == "m = 16 … 256: stores more than m features"
    assert cluster_label([Mark(1.0, "memorized", "c", "dash"), Mark(2.0, "grokked", "c", "dash")], SPEC) == \
        "memorized · grokked"


# -- band, scatter, heatmap ---------------------------------------------------------------------------


SEED_SERIES = [series("seed_loss", [0, 1, 2], [1.0, 2.0, 1.0], 0.0),
               series("seed_loss", [0, 1, 2], [2.0, 4.0, 3.0], 1.0),
               series("seed_loss", [0, 1], [3.0, 6.0], 2.0),  # seed 2 has not reached x = 2 yet
               series("seed_loss", [3], [None], 0.0)]  # a gap is no member


def test_band_is_the_mean_and_a_95_percent_t_interval_over_the_members_present_at_each_x():
    stats = band_stats(SEED_SERIES)
    assert stats["x"] == [0, 1, 2] and stats["n"] == [3, 3, 2]
    assert stats["mean"] == pytest.approx([2.0, 4.0, 2.0])
    # x = 0: values 1, 2, 3: sd 1, t(0.975, 2) = 4.303, half-width 4.303 / √3.
    assert stats["lo"][0] == pytest.approx(2.0 - 4.303 / math.sqrt(3))
    assert stats["hi"][1] == pytest.approx(4.0 + 4.303 * 2 / math.sqrt(3))  # 2, 4, 6: sd 2
    assert stats["hi"][2] == pytest.approx(2.0 + 12.706 * math.sqrt(2) / math.sqrt(2))  # 1, 3: df 1


def test_one_member_gives_a_mean_without_a_band():
    stats = band_stats([series("seed_loss", [0, 1], [1.0, 2.0], 0.0)])
    assert stats["lo"] == [None, None] and stats["mean"] == [1.0, 2.0]


def test_t_quantile_is_the_table_then_its_expansion():
    assert t975(2) == 4.303 and t975(30) == 2.042
    assert t975(60) == pytest.approx(2.0003, abs=2e-4) and t975(10_000) == pytest.approx(1.96, abs=1e-3)


def test_a_band_chart_fills_between_the_interval_edges_under_the_mean_line():
    fig = validated(chart_figure(SEEDS, SPEC, SEED_SERIES))
    lower, upper, mean = fig.data
    assert upper.fill == "tonexty" and lower.line.width == 0 and upper.line.width == 0
    assert list(mean.x) == [0, 1, 2] and list(mean.y) == pytest.approx([2.0, 4.0, 2.0])
    assert list(lower.x) == [0, 1, 2] and mean.line.color == TRAIN
    assert fig.layout.xaxis.title.text == "step"


def test_scatter_pairs_points_at_equal_x_only():
    y = series("test_loss", [0, 1, 2, 3], [5.0, 4.0, None, 2.0], 16.0)
    x = series("loss", [1, 2, 3, 4], [3.0, 2.5, 1.0, 0.5], 16.0)
    assert paired(y, x) == ([1, 3], [3.0, 1.0], [4.0, 2.0])


def test_a_scatter_family_gets_a_colour_per_member_against_the_x_metric():
    data = [series("test_loss", [0, 1], [5.0, 4.0], 16.0), series("loss", [0, 1], [3.0, 2.0], 16.0),
            series("test_loss", [0, 1], [4.0, 3.0], 256.0), series("loss", [0, 1], [2.0, 1.0], 256.0)]
    fig = validated(chart_figure(SCATTER, SPEC, data))
    assert [t.name for t in fig.data] == ["m = 16", "m = 256"]
    assert list(fig.data[1].x) == [2.0, 1.0] and list(fig.data[1].y) == [4.0, 3.0]
    assert list(fig.data[0].customdata) == [0, 1]  # the step each point was paired at, for the hover
    assert fig.data[0].marker.color != fig.data[1].marker.color and fig.data[0].mode == "markers"
    assert fig.layout.xaxis.title.text == "train loss"  # the x metric's label
    assert fig.layout.legend.title.text.replace("<br>", " ") == "hidden dimensions m (dims)"


HEAT_SERIES = [series("final_loss", [0, 45, 90], [1.0, 2.0, 3.0], 16.0),
               series("final_loss", [0, 90], [0.5, 0.25], 64.0)]


def test_heatmap_has_one_cell_per_x_and_member():
    xs, members, z = cells(HEAT_SERIES)
    assert xs == [0, 45, 90] and members == [16.0, 64.0]
    assert z == [[1.0, 2.0, 3.0], [0.5, None, 0.25]]


def test_heatmap_cells_sit_between_midpoints_geometric_on_a_log_family():
    assert edges([0, 45, 90], log=False) == [-22.5, 22.5, 67.5, 112.5]
    assert edges([16.0, 64.0], log=True) == pytest.approx([8.0, 32.0, 128.0])
    assert edges([5.0], log=False) == [4.5, 5.5]


def test_a_heatmap_chart_is_coloured_by_value_with_a_titled_colour_bar():
    fig = validated(chart_figure(HEATMAP, SPEC, HEAT_SERIES))
    heat = fig.data[0]
    assert heat.type == "heatmap" and [list(r) for r in heat.z] == [[1.0, 2.0, 3.0], [0.5, None, 0.25]]
    assert len(heat.x) == 4 and len(heat.y) == 3  # edges around 3 columns and 2 rows
    assert heat.colorbar.title.text == "final loss"
    assert fig.layout.yaxis.title.text == "hidden dimensions m (dims)" and fig.layout.yaxis.type == "log"
    assert list(fig.layout.yaxis.tickvals) == [16.0, 64.0] and list(fig.layout.yaxis.ticktext) == ["16", "64"]
    logged = validated(chart_figure({**HEATMAP, "log_y": True}, SPEC, HEAT_SERIES)).data[0]
    assert logged.z[0][0] == 0.0 and logged.z[1][1] is None  # log10 of the value; a missing cell stays empty
    assert list(logged.colorbar.ticktext) == ["0.5", "1", "2"]  # 0.25 … 3: 1-2-5 ticks within the values
    wide = [series("final_loss", [0, 45], [1e-4, 10.0], 16.0)]
    ticks = validated(chart_figure({**HEATMAP, "log_y": True}, SPEC, wide)).data[0].colorbar.ticktext
    assert list(ticks) == ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹"]


def test_which_charts_can_be_extended_in_place():
    assert extendable(ACCURACY) and extendable(WIDTHS)
    assert not any(extendable(c) for c in (TEST_ERROR, SEEDS, SCATTER, HEATMAP))
    assert chart_metrics(SCATTER) == ["test_loss", "loss"] and chart_metrics(WIDTHS) == ["loss", "least_squares"]


# -- status and claims -----------------------------------------------------------------------------------


def test_progress_is_told_on_the_runs_progress_axis():
    assert progress_text(run()) == "step 480 / 1,000"
    sweep = run(progress={"axis": "p", "label": "features p", "unit": "features", "x": 600.0, "total": 1000.0})
    assert progress_text(sweep) == "features p 600 / 1,000" and progress_percent(sweep) == 60.0
    assert "features p 600 / 1,000" in text_of(status_panel(sweep))
    half = run(progress={"axis": "lr", "label": "lr", "unit": "", "x": 0.0125, "total": 0.1})
    assert progress_text(half) == "lr 0.0125 / 0.1"


def test_a_run_waiting_for_a_worker_says_so():
    waiting = run(status="queued", waiting="No worker serves the 'gpu' queue: …")
    alerts = [c for c in status_panel(waiting) if getattr(c, "className", None) == "run-waiting"]
    assert [a.title for a in alerts] == ["Waiting for a worker"] and "'gpu' queue" in text_of(alerts)
    assert not [c for c in status_panel(run()) if getattr(c, "className", None) == "run-waiting"]


def test_a_resumed_run_says_so_instead_of_seeming_to_regress():
    resumed = run(attempts=2, progress={"axis": "step", "label": "step", "unit": "", "x": 304.0, "total": 1000.0,
                                        "resumed_from": 300.0})
    assert progress_text(resumed) == "step 304 / 1,000 · resumed from its checkpoint at step 300 (attempt 2)"
    done = {**resumed, "status": "succeeded"}
    assert progress_text(done) == "step 304 / 1,000"  # once finished, the resume is history


@pytest.mark.parametrize(("verdict", "symbol", "word"), [
    ("pass", "✓", "holds"), ("fail", "✗", "does not hold"), ("not_yet", "…", "not yet"),
    ("inconclusive", "?", "inconclusive"), ("not_applicable", "–", "does not apply here")])
def test_each_verdict_has_its_own_symbol_colour_and_words(verdict, symbol, word):
    result = {"id": "late", "verdict": verdict, "value": None, "interval": None, "detail": "", "expected": None}
    look, note, predicted = verdict_look(result)
    assert (look.symbol, look.word, note, predicted) == (symbol, word, "", False)
    panel = claims_panel(SPEC["claims"], run(summary={"claims": [result]}))
    assert find(panel, lambda c: f"claim-{verdict}" in (getattr(c, "className", "") or ""))
    assert word in text_of(panel)


def test_verdict_colours_are_all_different():
    looks = [verdict_look({"verdict": v})[0] for v in ("pass", "fail", "not_yet", "inconclusive", "not_applicable")]
    assert len({look.color for look in looks}) == len({look.symbol for look in looks}) == 5


def test_a_contrast_preset_that_fails_as_the_paper_predicts_is_confirmed_not_a_red_cross():
    result = {"id": "late", "verdict": "fail", "value": 0.0, "detail": "never generalized", "expected": "fail"}
    look, note, predicted = verdict_look(result)
    assert look.symbol == "✓" and look.color == "teal" and predicted and note == ""
    assert look.word == "does not hold, as the paper predicts"
    panel = claims_panel(SPEC["claims"], run(summary={"claims": [result]}))
    assert find(panel, lambda c: "claim-as-predicted" in (getattr(c, "className", "") or ""))
    assert "✗" not in text_of(panel)
    not_here = verdict_look({"verdict": "not_applicable", "expected": "not_applicable"})
    assert not_here.predicted and not_here.look.word == "does not apply here, as the paper predicts"


def test_claims_about_knobs_the_run_leaves_off_fold_into_one_line():
    aside = {"id": "late", "verdict": "not_applicable", "expected": "not_applicable", "detail": "Grokfast is off"}
    panel = claims_panel(SPEC["claims"], run(summary={"claims": [aside]}))
    (folded,) = [c for c in find(panel, lambda c: getattr(c, "className", None) == "claims-aside")]
    assert "1 more claim about knobs this run leaves off" in text_of(folded) and "Grokfast is off" in text_of(folded)
    unexpected = {**aside, "expected": "pass"}  # not applicable where it should hold: shown in full, not folded
    assert not find(claims_panel(SPEC["claims"], run(summary={"claims": [unexpected]})),
                        lambda c: getattr(c, "className", None) == "claims-aside")


def test_a_verdict_other_than_expected_says_what_was_expected():
    look, note, predicted = verdict_look({"verdict": "pass", "value": 1.0, "expected": "fail"})
    assert look.symbol == "✓" and note == "expected: does not hold" and not predicted
    look, note, _ = verdict_look({"verdict": "fail", "value": 1.0, "expected": "pass"})
    assert look.symbol == "✗" and note == "expected: holds"
    assert verdict_look({"verdict": "not_yet", "expected": "fail"}).note == ""  # no verdict yet: nothing to compare
    assert verdict_look({"verdict": "pass", "value": 1.0, "expected": "pass"}).look.word == "holds"


def test_a_claim_shows_its_value_with_unit_and_interval_its_error_and_summary_errors():
    result = {"id": "late", "text": "Generalization comes late", "verdict": "pass", "value": 1250.0,
              "interval": [1100.0, 1400.0], "detail": "10× after memorization", "unit": "steps",
              "expected": None, "error": None}
    broken = {"id": "slope", "text": "Loss falls as a power law", "verdict": "inconclusive", "value": None,
              "interval": None, "detail": "the check could not run", "unit": "", "expected": None,
              "error": "claim slope raised ValueError: empty"}
    claims = [*SPEC["claims"], {"id": "slope", "text": "Loss falls as a power law", "unit": ""}]
    panel = claims_panel(claims, run(summary={"claims": [result, broken], "errors": ["detect raised KeyError: 'x'"]}))
    text = text_of(panel)
    assert "1,250 [1,100, 1,400] steps" in text and "10× after memorization" in text
    assert "claim slope raised ValueError: empty" in text
    assert find(panel, lambda c: "summary-error" in (getattr(c, "className", "") or ""))
    assert "detect raised KeyError" in text


def test_claims_before_any_verdict_read_not_yet():
    panel = claims_panel(SPEC["claims"], None)
    assert "not yet" in text_of(panel) and "Generalization comes late" in text_of(panel)
    assert claims_panel([], run()) is None


def test_numbers_read_as_people_write_them():
    assert [number(v) for v in (600.0, 1000.0, -1.5, 0.0312, 3e-07, 1234.56, None)] == \
        ["600", "1,000", "−1.5", "0.0312", "3e−7", "1,235", "—"]
    assert measured(-1.0213, [-1.10, -0.95]) == "−1.02 [−1.10, −0.95]"
    assert measured(1.1, None, "× n") == "1.1 × n" and measured(None, None, "steps") == ""


# -- compare ---------------------------------------------------------------------------------------------


RUNS = [{"id": "aaaaaaaa1", "config": {"weight_decay": 1.0, "p": 97}, "seed": 0},
        {"id": "bbbbbbbb2", "config": {"weight_decay": 0.0, "p": 97}, "seed": 0}]
SERIES_BY_RUN = {"aaaaaaaa1": ACC_SERIES, "bbbbbbbb2": [series("train/acc", [0, 1], [0.2, 0.4])]}


def test_ema_is_debiased_and_keeps_gaps():
    assert ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards 0 at the start
    smoothed = ema([0.0, 10.0, None, 10.0], 0.5)
    assert smoothed[2] is None and smoothed[0] == 0.0 and 0 < smoothed[1] < 10 and smoothed[1] < smoothed[3] < 10
    assert ema([3.0, None], 0.0) == [3.0, None]


def test_run_labels_name_only_the_knobs_that_differ():
    assert run_labels(RUNS) == {"aaaaaaaa1": "aaaaaaaa · weight_decay=1", "bbbbbbbb2": "bbbbbbbb · weight_decay=0"}
    assert run_labels(RUNS[:1]) == {"aaaaaaaa1": "aaaaaaaa"}


def test_compare_overlays_runs_with_one_colour_each_and_dashed_held_out_curves():
    fig = validated(compare_figure(ACCURACY, SPEC, RUNS, SERIES_BY_RUN))
    assert len(fig.data) == 3  # run b has no val/acc: no empty trace in the legend
    by_name = {t.name: t for t in fig.data}
    a_train, a_val = by_name["aaaaaaaa · weight_decay=1 · train"], by_name["aaaaaaaa · weight_decay=1 · validation"]
    b_train = by_name["bbbbbbbb · weight_decay=0 · train"]
    assert a_train.line.color == a_val.line.color != b_train.line.color
    assert a_train.line.dash == "solid" and a_val.line.dash == "dash"  # by role


def test_compare_draws_a_family_as_shades_of_the_runs_colour():
    fig = validated(compare_figure(WIDTHS, SPEC, RUNS, {"aaaaaaaa1": WIDTH_SERIES, "bbbbbbbb2": WIDTH_SERIES[:1]}))
    a = [t for t in fig.data if t.name.startswith("aaaaaaaa")]
    assert [t.name.rsplit(" · ", 1)[1] for t in a] == ["m = 16", "m = 64", "m = 256"]
    assert len({t.line.color for t in a}) == 3
    brightness = [sum(int(t.line.color[i:i + 2], 16) for i in (1, 3, 5)) for t in a]
    assert brightness == sorted(brightness)  # darker to lighter along the family
    assert fig.layout.xaxis.title.text == "step"


def test_compare_draws_a_band_chart_as_each_runs_mean_and_band():
    fig = validated(compare_figure(SEEDS, SPEC, RUNS[:1], {"aaaaaaaa1": SEED_SERIES}))
    mean = next(t for t in fig.data if t.showlegend)
    assert list(mean.y) == pytest.approx([2.0, 4.0, 2.0]) and any(t.fill == "tonexty" for t in fig.data)


def test_smoothing_keeps_the_raw_curve_faint_behind_and_out_of_the_legend():
    fig = validated(compare_figure(ACCURACY, SPEC, RUNS[:1], SERIES_BY_RUN, smoothing=0.6))
    raw = [t for t in fig.data if t.opacity == RAW_OPACITY]
    smooth = [t for t in fig.data if t.opacity is None]
    assert len(raw) == len(smooth) == 2
    assert all(t.showlegend is False and t.hoverinfo == "skip" for t in raw)
    assert list(raw[0].y) == ACC_SERIES[0]["value"] and list(smooth[0].y) != list(raw[0].y)
    assert fig.data.index(raw[0]) < fig.data.index(smooth[0])  # drawn first, so behind


def test_compare_log_toggles_override_the_chart_and_its_axis():
    assert validated(compare_figure(ACCURACY, SPEC, RUNS, SERIES_BY_RUN)).layout.yaxis.type == "linear"
    fig = validated(compare_figure(ACCURACY, SPEC, RUNS, SERIES_BY_RUN, log_x=True, log_y=True))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert validated(compare_figure(TEST_ERROR, SPEC, RUNS, {})).layout.xaxis.type == "log"  # the p axis is log


def test_smoothing_on_a_log_axis_averages_in_log_space():
    one = {**ACCURACY, "metrics": ["train/acc"]}
    data = {"a": [series("train/acc", [0, 1], [1.0, 100.0])]}
    fig = validated(compare_figure(one, SPEC, [{"id": "a", "config": {}, "seed": 0}], data, smoothing=0.5, log_y=True))
    smoothed = [t for t in fig.data if t.opacity is None][0]
    assert smoothed.y[1] == pytest.approx(10 ** (4 / 3))  # weights 1/3, 2/3 on log10 y: 0 and 2 (arithmetic: 67)


# -- snapshots -------------------------------------------------------------------------------------------


FOURIER = {"name": "spectrum", "title": "Power", "kind": "vector_over_time", "x_label": "frequency k", "y_label": ""}


def test_a_vector_over_time_is_index_by_step_with_the_latest_vector_as_bars():
    history = {"name": "spectrum", "steps": [0, 50, 100], "shape": [4],
               "values": [[0.25, 0.25, 0.25, 0.25], [0.1, 0.6, 0.2, 0.1], [0.0, 0.9, 0.1, 0.0]]}
    heatmap, bars = validated(snapshot_figure(FOURIER, history)).data
    assert heatmap.type == "heatmap" and list(heatmap.x) == [0, 50, 100] and list(heatmap.y) == [0, 1, 2, 3]
    assert [list(row) for row in heatmap.z][1] == [0.25, 0.6, 0.9]  # row k = index k over time
    assert bars.type == "bar" and bars.orientation == "h" and list(bars.x) == [0.0, 0.9, 0.1, 0.0]


def test_a_matrix_snapshot_shows_the_step_it_was_given():
    view = {"name": "wtw", "title": "WᵀW", "kind": "matrix", "x_label": "", "y_label": ""}
    fig = validated(snapshot_figure(view, {"name": "wtw", "step": 9, "shape": [2, 2], "values": [1, 2, 3, 4]}))
    assert [list(r) for r in fig.data[0].z] == [[1, 2], [3, 4]] and "step 9" in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 on top, as a matrix is written
    assert fig.layout.uirevision != snapshot_figure(view, None)["layout"]["uirevision"]  # not kept from the placeholder
    # Square cells in a plot shrunk to the matrix (not axes stretched past it), white at 0.
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.xaxis.constrain == fig.layout.yaxis.constrain == "domain"
    assert fig.data[0].zmid == 0 and fig.data[0].colorscale[3] == (0.5, "#ffffff")
    assert fig.layout.height > snapshot_figure({**view, "kind": "scatter"}, None)["layout"]["height"]


def test_a_scatter_snapshot_colours_points_by_their_class():
    view = {"name": "features", "title": "Features", "kind": "scatter", "x_label": "x", "y_label": "y"}
    snap = {"name": "features", "step": 5, "shape": [3, 3], "values": [0, 0, 1, 1, 1, 0, 2, 2, 1]}
    points = validated(snapshot_figure(view, snap)).data[0]
    assert list(points.x) == [0, 1, 2] and list(points.y) == [0, 1, 2]
    assert points.marker.color[0] == points.marker.color[2] != points.marker.color[1]


def test_no_snapshot_yet_is_a_placeholder_not_an_error():
    fig = validated(snapshot_figure(FOURIER, None))
    assert not fig.data and fig.layout.annotations[0].text == "No snapshot yet"
