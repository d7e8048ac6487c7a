"""A tiny grokking run, submitted over HTTP to a real server with a real worker process, on both databases."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.databases import database
from tests.servers import running_server

pytestmark = pytest.mark.integration


def wait_for(base: str, run_id: str, statuses: set[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{base}/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def sse_events(base: str, run_id: str, timeout: float = 90, last_event_id: str | None = None,
               until: str = "done") -> list[tuple[str, dict]]:
    """The stream's (event, data) until the first `until` event (`done`: the end)."""
    events, event = [], None
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with httpx.stream("GET", f"{base}/api/runs/{run_id}/events", timeout=timeout, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                events.append((event, json.loads(line.split(":", 1)[1])))
                if event in (until, "done"):
                    break
    return events


def steps_of(events: list[tuple[str, dict]], metric: str = "train/acc") -> list[float]:
    return [x for name, data in events if name == "metrics" for series in data["series"]
            if series["metric"] == metric for x in series["x"]]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_tiny_grokking_run_completes_through_the_api(kind, tmp_path):
    with database(kind, tmp_path) as url, running_server(url, tmp_path / "server.log", workers=1) as base:
        created = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"})
        assert created.status_code == 201
        run_id = created.json()["id"]
        total = int(created.json()["progress"]["total"])

        events = sse_events(base, run_id)
        kinds = [name for name, _ in events]
        assert kinds[-1] == "done" and "metrics" in kinds and "run" in kinds
        assert steps_of(events) == list(range(total + 1))  # every step once, in order: none sent twice, none missed

        run = wait_for(base, run_id, {"succeeded"})
        assert run["progress"]["x"] == total and run["progress"]["axis"] == "step"
        assert run["attempts"] == 1 and run["device"] == "cpu" and run["threads"] == 1 and run["code_version"]
        summary = run["summary"]
        assert {t["id"] for t in summary["transitions"]} >= {"memorization"}
        # the tiny preset groks: both claims decided, each with its measured value and the preset it matched
        assert summary["preset"] == "tiny" and summary["errors"] == []
        decided = [(c["id"], c["verdict"], c["expected"]) for c in summary["claims"] if c["expected"] == "pass"]
        assert decided == [("late_generalization", "pass", "pass"), ("norm_falls", "pass", "pass")]
        assert all(c["value"] is not None for c in summary["claims"] if c["verdict"] == "pass")
        # the claims about knobs tiny leaves off (softmax collapse, label noise, Grokfast) do not apply, as expected
        assert all(c["verdict"] == c["expected"] == "not_applicable" for c in summary["claims"]
                   if c["expected"] != "pass")

        full = httpx.get(f"{base}/api/runs/{run_id}/metrics").json()
        by_metric = {s["metric"]: s for s in full["series"]}
        assert {"train/loss", "train/acc", "val/loss", "val/acc", "weight_norm"} == set(by_metric)
        assert all(s["member"] is None for s in full["series"])
        steps = by_metric["val/acc"]["x"]
        assert steps == list(range(total + 1))  # unique and gap-free
        assert full["cursor"] == 5 * (total + 1)  # one seq per point, none skipped on an uninterrupted run
        nothing_new = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"after": full["cursor"]}).json()
        assert nothing_new == {"series": [], "cursor": None, "truncated": False}

        thin = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"names": "train/loss", "max_points": 16}).json()
        assert [s["metric"] for s in thin["series"]] == ["train/loss"]
        kept = thin["series"][0]["x"]
        assert len(kept) <= 16 + 2 + len(summary["transitions"])
        assert {t["x"] for t in summary["transitions"]} <= set(kept)  # marks stay on the curve

        csv = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"format": "csv"}).text.splitlines()
        assert csv[0] == "metric,member,x,value" and len(csv) == 5 * len(steps) + 1

        snaps = httpx.get(f"{base}/api/runs/{run_id}/snapshots").json()["snapshots"]
        fourier = snaps["embedding_fourier"]
        assert fourier["steps"][-1] == total and "values" not in fourier  # the index carries no values
        one = httpx.get(f"{base}/api/runs/{run_id}/snapshots/embedding_fourier",
                        params={"step": fourier["steps"][0]}).json()
        assert one["step"] == fourier["steps"][0] and len(one["values"]) == fourier["shape"][0]
        history = httpx.get(f"{base}/api/runs/{run_id}/snapshots/embedding_fourier/history").json()
        assert history["steps"] == fourier["steps"] and len(history["values"]) == len(fourier["steps"])
        missing = httpx.get(f"{base}/api/runs/{run_id}/snapshots/embedding_fourier", params={"step": 7})
        assert missing.status_code == 404 and "step 7" in missing.json()["detail"]
        assert httpx.get(f"{base}/api/runs/{run_id}/snapshots/nope").status_code == 404
        unknown = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"names": "train/acc,nope"})
        assert unknown.status_code == 422 and "nope" in unknown.json()["detail"][0]["msg"]

        again = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"})
        assert again.status_code == 200 and again.json()["status"] == "succeeded"


def test_followers_of_a_live_run_share_its_feed_and_a_reconnect_resumes_after_its_last_event(tmp_path):
    with database("sqlite", tmp_path) as url, running_server(url, tmp_path / "server.log", workers=1) as base:
        created = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny",
                                                       "config": {"steps": 3000}})
        run_id, total = created.json()["id"], 3000
        with ThreadPoolExecutor(8) as pool:
            whole = [pool.submit(sse_events, base, run_id) for _ in range(6)]
            # one follower drops after its first points and comes back the way a browser does: Last-Event-ID
            first = sse_events(base, run_id, until="metrics")
            cursor = str(first[-1][1]["cursor"])
            rest = sse_events(base, run_id, last_event_id=cursor)
            results = [future.result() for future in whole]
        assert steps_of(first) + steps_of(rest) == list(range(total + 1))  # nothing lost, nothing twice
        for events in results:
            assert steps_of(events) == list(range(total + 1)) and events[-1] == ("done", {"status": "succeeded"})


def test_charts_drawn_again_come_once_for_all_viewers_from_the_ui(tmp_path):
    """GET /_draw/<run> (the browser's redraws): figures, legends, cards and states of the charts asked for;
    at the run's end (final=1) the run as it ended; concurrent askers share one draw."""
    with database("sqlite", tmp_path) as url, running_server(url, tmp_path / "server.log", workers=1) as base:
        run_id = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"}).json()["id"]
        wait_for(base, run_id, {"succeeded"})
        charts = [c["id"] for c in httpx.get(f"{base}/api/phenomena/grokking").json()["charts"]]
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"{base}/_draw/{run_id}", params={"final": "1"}).json(),
                                    range(20)))
        whole = answers[0]
        assert all(answer == whole for answer in answers)  # one draw, shared
        assert whole["whole"] and whole["status"] == "succeeded" and whole["published"]["status"] == "succeeded"
        assert set(whole["figures"]) == set(whole["charts"]) == set(charts)
        assert whole["charts"]["accuracy"]["traces"][0][3] == 500  # drawn to the run's last step
        assert whole["cards"]["label_noise"] == {"display": "none"}  # an optional chart with no points stays hidden
        one = httpx.get(f"{base}/_draw/{run_id}", params={"charts": "loss"}).json()
        assert set(one["figures"]) == {"loss"} and not one["whole"] and one["published"] is None
        missing = httpx.get(f"{base}/_draw/nope")
        assert missing.status_code == 404 and "nope" in missing.json()["error"]
