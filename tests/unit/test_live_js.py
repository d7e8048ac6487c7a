"""The browser's side of a live run (frontend/assets/live.js), run by node against a fake EventSource and a fake
Dash: points appended once, redraws asked for when appending cannot do, and the run published sparingly."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

LIVE_JS = Path(__file__).resolve().parents[2] / "frontend" / "assets" / "live.js"

HARNESS = r"""
const fs = require("fs");
let clock = 1000;
Date.now = () => clock * 1000;
const setProps = [];
const NU = {no_update: true};
global.window = {dash_clientside: {no_update: NU, callback_context: {triggered: []}, set_props: (id, props) => setProps.push([id, props])}};
global.document = {getElementById: () => null};
class FakeSource {
  constructor(url) { this.url = url; this.readyState = 1; this.listeners = {}; FakeSource.opened.push(this); }
  addEventListener(type, listener) { this.listeners[type] = listener; }
  close() { this.readyState = 2; }
  emit(type, data) { this.listeners[type]({data: JSON.stringify(data)}); }
}
FakeSource.CLOSED = 2;
FakeSource.opened = [];
global.EventSource = FakeSource;
global.setTimeout = (fn) => { fn(); return 0; };  // the redraw's random spread: at once here
const fetched = [];  // [url, resolve]: the test answers a redraw when it chooses
global.fetch = (url) => new Promise((resolve) => fetched.push([url, (answer) => resolve({ok: true, json: () => answer})]));
const settle = () => new Promise((resolve) => setImmediate(resolve));
eval(fs.readFileSync(process.argv[2], "utf8"));
const live = window.dash_clientside.phaselab;
const ID = "v-events", CHARTS = [{chart: "loss"}, {chart: "logged"}];

function take(cursor, drawn, triggered) {
  window.dash_clientside.callback_context.triggered = triggered.map((p) => ({prop_id: p}));
  return live.take(0, drawn, cursor, ID, CHARTS);
}
const run = (status, summary, x) => ({id: "r1", status, progress: {axis: "step", label: "step", x, total: 100},
                                      summary: summary || {transitions: []}, derived: {}, attempts: 1});
const chart = (traces, room, names) => ({names: names || ["train/loss", "val/loss"], extendable: true, traces,
                                         room: room || {}, transitions: [], derived: {}});
const drawn = (charts, after, whole) => ({run: "r1", whole, after, status: "running", charts,
                                         limits: {refetch_points: 3000, redraw_s: 2}, published: whole ? run("running", null, 1) : null});
const redraws = () => fetched.map(([url]) => (url.includes("?charts=") ? decodeURIComponent(url.split("?charts=")[1]).split(",") : null));
const out = {};
(async () => {

live.follow("/api/runs/r1/events?after=10", ID);
const source = FakeSource.opened[0];
// A whole draw: loss has train/loss up to x = 1 (2 points); logged's y axis covers [0.1, 10].
let cursor = take(null, drawn({loss: chart([["train/loss", null, 0, 1, 2]]),
                               logged: chart([["train/loss", null, 0, 1, 2]], {yaxis: [0.1, 10]}, ["train/loss"])}, 10, true),
                  ["v-drawn.data"])[1];
source.emit("metrics", {series: [{metric: "train/loss", member: null, x: [1, 2, 3], value: [0.9, 0.8, 0.7]}], cursor: 13});
source.emit("run", run("running", null, 3));
let result = take(cursor, null, ["v-events.data"]);
out.appended = result[0];
cursor = result[1];
out.last = cursor.charts.loss.traces[0];
out.published_after_draw = result[2];
out.redraws_1 = redraws();

// val/loss's first points: no trace yet, so that chart is drawn again, at once; a point below logged's room too,
// but that one waits for redraw_s.
clock += 0.5;
source.emit("metrics", {series: [{metric: "val/loss", member: null, x: [4], value: [1.0]},
                                 {metric: "train/loss", member: null, x: [4], value: [0.01]}], cursor: 15});
result = take(cursor, null, ["v-events.data"]);
cursor = result[1];
out.redraws_2 = redraws();
// the server answers the loss redraw, drawn up to cursor 14: its figure is put in place, and the point of
// cursor 15 is appended to it again
fetched[0][1]({...drawn({loss: chart([["train/loss", null, 0, 3, 4], ["val/loss", null, 1, 4, 1]])}, 14, false),
               figures: {loss: {data: []}}, legends: {loss: []}, cards: {loss: {}}});
await settle();
out.figure_set = setProps.some(([id, p]) => id.chart === "loss" && id.type === "v-chart" && p.figure);
cursor = take(cursor, null, ["v-events.data"]);
out.replayed = cursor[0];
cursor = cursor[1];
clock += 2;
source.emit("metrics", {series: [{metric: "train/loss", member: null, x: [5], value: [0.009]}], cursor: 16});
take(cursor, null, ["v-events.data"]);
out.redraws_3 = redraws();

// a summary that only changed its values is not published within 10 s; a new status is, at once
source.emit("run", run("running", {transitions: [], claims: [{id: "c", value: 1}]}, 6));
out.summary_only = take(cursor, null, ["v-events.data"])[2];
source.emit("run", run("succeeded", {transitions: [], claims: []}, 100));
source.emit("done", {status: "succeeded"});
out.status_change = take(cursor, null, ["v-events.data"])[2];
out.redraws_4 = redraws();
out.final_url = fetched[fetched.length - 1][0];
out.closed = source.readyState === 2;
out.progress = setProps.filter(([id]) => id === "v-progress-text").length;
console.log(JSON.stringify(out));
})();
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed: the browser's live code is tested by the browser tests only")
    script = tmp_path_factory.mktemp("live") / "harness.js"
    script.write_text(HARNESS)
    done = subprocess.run([node, str(script), str(LIVE_JS)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_new_points_are_appended_once_each_after_what_was_drawn(out):
    loss, logged = out["appended"]
    assert loss == [{"x": [[2, 3]], "y": [[0.8, 0.7]]}, [0]]  # x = 1 was drawn already
    assert logged == [{"x": [[2, 3]], "y": [[0.8, 0.7]]}, [0]]
    assert out["last"] == ["train/loss", None, 0, 3, 4]


def test_a_draw_publishes_the_run_so_the_first_event_does_not_again(out):
    assert out["published_after_draw"] == {"no_update": True} and out["redraws_1"] == []


def test_a_series_without_a_trace_is_redrawn_at_once_a_log_axis_outgrown_only_after_a_while(out):
    assert out["redraws_2"] == [["loss"]]  # logged's point below its room waits for redraw_s
    assert out["redraws_3"][-1] == ["logged"]


def test_points_that_came_in_while_the_server_drew_are_appended_to_the_redrawn_chart(out):
    assert out["figure_set"]  # the fetched figure replaced the chart's
    loss, logged = out["replayed"]
    assert loss == [{"x": [[4]], "y": [[0.01]]}, [0]]  # the event after the redraw's cursor, on its new trace index
    assert logged == {"no_update": True}  # not redrawn: it had that point already


def test_the_run_is_published_on_a_new_status_at_once_and_not_for_values_alone(out):
    assert out["summary_only"] == {"no_update": True}
    assert out["status_change"]["run"]["status"] == "succeeded"


def test_the_end_redraws_every_chart_and_closes_the_stream(out):
    assert out["redraws_4"][-1] is None and out["closed"]
    assert out["final_url"] == "/_draw/r1?final=1"  # not a draw shared from before the run ended
    assert out["progress"] == 0  # no progress element on this fake page: nothing set
