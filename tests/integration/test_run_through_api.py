"""A tiny grokking run, submitted over HTTP to a real server with a real worker process, on both databases."""

import json
import time

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


def sse_events(base: str, run_id: str, timeout: float = 90) -> list[tuple[str, dict]]:
    events, event = [], None
    with httpx.stream("GET", f"{base}/api/runs/{run_id}/events", timeout=timeout) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                events.append((event, json.loads(line.split(":", 1)[1])))
                if event == "done":
                    break
    return events


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_tiny_grokking_run_completes_through_the_api(kind, tmp_path):
    with database(kind, tmp_path) as url, running_server(url, tmp_path / "server.log", workers=1) as base:
        created = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"})
        assert created.status_code == 201
        run_id = created.json()["id"]
        total = created.json()["progress"]["total"]

        events = sse_events(base, run_id)
        kinds = [name for name, _ in events]
        assert kinds[-1] == "done" and "metrics" in kinds and "run" in kinds
        streamed = [s for name, data in events if name == "metrics" for s in data["metrics"]["train/acc"]["step"]]
        assert streamed == list(range(total + 1))  # every step once, in order: none sent twice, none missed

        run = wait_for(base, run_id, {"succeeded"})
        assert run["progress"]["step"] == total and run["attempts"] == 1 and run["device"] == "cpu"
        summary = run["summary"]
        assert {t["id"] for t in summary["transitions"]} >= {"memorization"}
        assert {c["id"] for c in summary["claims"]} and all(
            c["verdict"] in {"pass", "fail", "not_yet"} for c in summary["claims"])

        full = httpx.get(f"{base}/api/runs/{run_id}/metrics").json()
        assert {"train/loss", "train/acc", "val/loss", "val/acc", "weight_norm"} <= set(full["metrics"])
        steps = full["metrics"]["val/acc"]["step"]
        assert steps == list(range(steps[0], steps[0] + len(steps)))  # unique and gap-free
        assert full["last_step"] == steps[-1]

        thin = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"names": "train/loss", "max_points": 16}).json()
        assert set(thin["metrics"]) == {"train/loss"}
        kept = thin["metrics"]["train/loss"]["step"]
        assert len(kept) <= 16 + 2 + len(summary["transitions"])
        assert {t["step"] for t in summary["transitions"]} <= set(kept)  # marks stay on the curve

        csv = httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"format": "csv"}).text.splitlines()
        assert csv[0].startswith("step,") and len(csv) == len(steps) + 1

        snaps = httpx.get(f"{base}/api/runs/{run_id}/snapshots").json()["snapshots"]
        fourier = snaps["embedding_fourier"]
        assert fourier["steps"] and len(fourier["values"][0]) == fourier["shape"][0]

        again = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"})
        assert again.status_code == 200 and again.json()["status"] == "succeeded"
