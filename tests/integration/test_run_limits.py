"""Per-client limits on starting runs, and the compute budget of one run, through the API on a real SQLite file.

A 429 says which limit, how many and when to retry (Retry-After); a POST answered with an existing run is never
refused nor counted (thirty students behind one NAT opening one link all get the run); a runaway client is
refused while another client still starts runs; a run over PHASELAB_MAX_RUN_CPU_SECONDS is a 422 on the knob
to shorten that names the others and says what would fit.
"""

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.main import create_api
from backend.store.db import transaction
from backend.store.models import Run
from backend.store.settings import Settings
from frontend.app import create_dash
from frontend.client import ApiClient, ApiError
from tests.databases import database, sqlite_database
from tests.servers import running_server

pytestmark = pytest.mark.integration

ISSUE_EXAMPLE = {"steps": 100_000, "width": 2048, "embed_dim": 512}  # ~9 h on one thread, accepted before


def tiny(i: int) -> dict:
    """A distinct, cheap grokking run per i."""
    return {"phenomenon": "grokking", "config": {"p": 11, "steps": 10 + i}, "seed": 0}


@pytest.fixture
def api(tmp_path) -> Iterator[Callable[..., FastAPI]]:
    """make(**settings) -> the API on a fresh SQLite file."""
    with sqlite_database(tmp_path) as url:
        yield lambda **settings: create_api(Settings(database_url=url, **settings))


def client(app: FastAPI, host: str) -> TestClient:
    return TestClient(app, client=(host, 50000))


def set_status(app: FastAPI, run_id: str, status: str) -> None:
    with transaction(app.state.session_factory) as session:
        session.execute(update(Run).where(Run.id == run_id).values(status=status))


def test_the_rate_limit_is_a_429_with_retry_after_and_says_which_limit(api):
    a = client(api(runs_per_minute=5, max_queued_runs_per_client=0), "10.0.0.1")
    assert [a.post("/api/runs", json=tiny(i)).status_code for i in range(5)] == [201] * 5
    refused = a.post("/api/runs", json=tiny(5))
    assert refused.status_code == 429
    body = refused.json()
    assert body["limit"] == "runs_per_minute" and "at most 5 a minute" in body["detail"]
    assert "PHASELAB_RUNS_PER_MINUTE" in body["detail"] and "10.0.0.1" in body["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and body["retry_after"] == int(refused.headers["retry-after"])
    assert refused.headers["content-type"] == "application/json"


def test_a_run_that_exists_is_never_refused_nor_counted(api):
    """Thirty students behind one school NAT open one link: one run, and all of them get it."""
    app = api(runs_per_minute=3, max_queued_runs_per_client=0)
    school = client(app, "192.0.2.7")
    link = tiny(100)
    answers = [school.post("/api/runs", json=link) for _ in range(30)]
    assert sorted(r.status_code for r in answers) == [200] * 29 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    # The 29 answers with the existing run did not count: two more new runs fit the limit of 3.
    assert [school.post("/api/runs", json=tiny(i)).status_code for i in range(2)] == [201, 201]
    assert school.post("/api/runs", json=tiny(2)).status_code == 429
    # Refused for new runs, the address still gets every run that exists.
    assert all(school.post("/api/runs", json=link).status_code == 200 for _ in range(10))


def test_a_cap_on_runs_waiting_in_the_queue_says_how_many_are_queued(api):
    app = api(runs_per_minute=0, max_queued_runs_per_client=3)
    a = client(app, "10.0.0.2")
    ids = [a.post("/api/runs", json=tiny(i)).json()["id"] for i in range(3)]
    refused = a.post("/api/runs", json=tiny(3))
    assert refused.status_code == 429
    body = refused.json()
    assert body["limit"] == "max_queued_runs_per_client" and body["queued"] == 3
    assert "already has 3 runs waiting" in body["detail"] and "PHASELAB_MAX_QUEUED_RUNS_PER_CLIENT" in body["detail"]
    assert int(refused.headers["retry-after"]) == body["retry_after"] > 0
    set_status(app, ids[0], "running")  # a worker took one: a place in the queue is free again
    assert a.post("/api/runs", json=tiny(3)).status_code == 201
    assert a.post("/api/runs", json=tiny(4)).status_code == 429
    assert a.post(f"/api/runs/{ids[1]}/cancel").status_code == 200  # cancelling frees one too
    assert a.post("/api/runs", json=tiny(4)).status_code == 201


def test_asking_again_for_a_cancelled_run_queues_it_and_so_counts(api):
    app = api(runs_per_minute=2, max_queued_runs_per_client=0)
    a = client(app, "10.0.0.3")
    run_id = a.post("/api/runs", json=tiny(0)).json()["id"]
    a.post(f"/api/runs/{run_id}/cancel")
    again = a.post("/api/runs", json=tiny(0))
    assert again.status_code == 201 and again.json()["id"] == run_id and again.json()["status"] == "queued"
    a.post(f"/api/runs/{run_id}/cancel")
    assert a.post("/api/runs", json=tiny(0)).status_code == 429  # re-queueing starts compute: it is limited


def test_a_runaway_client_is_refused_while_another_still_starts_runs(api):
    """1000 distinct POSTs from one address at the default limits: the first 60 start runs, the rest are refused at
    once, and a second address starts its run (201) in the middle of it all."""
    app = api()  # the defaults: 60 a minute, 100 queued
    runaway, other = client(app, "203.0.113.66"), client(app, "198.51.100.5")
    codes: list[int] = []
    other_answers = []
    started = time.perf_counter()
    for i in range(1000):
        codes.append(runaway.post("/api/runs", json=tiny(i)).status_code)
        if i in (100, 500, 999):
            other_answers.append(other.post("/api/runs", json=tiny(5000 + i)))
    seconds = time.perf_counter() - started
    assert codes.count(201) == 60 and codes.count(429) == 940, {c: codes.count(c) for c in set(codes)}
    assert [r.status_code for r in other_answers] == [201, 201, 201]
    print(f"\n1000 distinct POSTs from one client: {codes.count(201)} runs started, {codes.count(429)} refused "
          f"(429) in {seconds:.1f} s; another client's 3 POSTs meanwhile: 201")


def test_limits_set_to_zero_are_off(api):
    a = client(api(runs_per_minute=0, max_queued_runs_per_client=0), "10.0.0.4")
    assert all(a.post("/api/runs", json=tiny(i)).status_code == 201 for i in range(70))


def test_a_run_over_the_compute_budget_is_a_422_naming_the_knobs_and_what_fits(api):
    a = client(api(), "10.0.0.5")
    response = a.post("/api/runs", json={"phenomenon": "grokking", "config": ISSUE_EXAMPLE})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "config", "steps"] and error["input"] == 100_000
    assert "would take about 9" in error["msg"] and "h of one CPU thread" in error["msg"]
    assert "PHASELAB_MAX_RUN_CPU_SECONDS" in error["msg"]
    assert "at p = 97 and width = 2048, use at most 1," in error["msg"] and "or lower p or width" in error["msg"]
    # Every phenomenon is held to the same budget: a double-descent sweep that would take ~20 min.
    sweep = {"n_train": 500, "p_min": 10, "p_max": 4000, "n_points": 200, "n_seeds": 20, "ridge": 1.0, "d": 100}
    (error,) = a.post("/api/runs", json={"phenomenon": "double_descent", "config": sweep}).json()["detail"]
    assert error["loc"] == ["body", "config", "n_seeds"] and "use at most 10 n_seeds" in error["msg"]
    assert a.post("/api/runs", json={"phenomenon": "grokking", "preset": "less_data"}).status_code == 201


def test_the_budget_is_a_setting_and_zero_turns_it_off(api):
    body = {"phenomenon": "grokking", "config": ISSUE_EXAMPLE}
    assert client(api(max_run_cpu_seconds=0), "10.0.0.6").post("/api/runs", json=body).status_code == 201
    small = client(api(max_run_cpu_seconds=30), "10.0.0.7")
    (error,) = small.post("/api/runs", json={"phenomenon": "grokking"}).json()["detail"]  # the default: ~45 s
    assert "over the limit of 30 s" in error["msg"]


def test_pages_start_runs_as_the_browser_that_asked_not_as_the_ui_server(tmp_path):
    """Every page reaches the API from the UI's own process (127.0.0.1): the UI forwards the browser's address,
    which uvicorn trusts from there, so one student's runs do not use up the class's limit."""
    with database("sqlite", tmp_path) as url, \
            running_server(url, tmp_path / "server.log", PHASELAB_RUNS_PER_MINUTE="2") as base:
        flask_app = create_dash(base).server
        api = ApiClient(base)
        statuses = {}
        for first, browser in ((100, "10.0.0.1"), (200, "10.0.0.2")):
            with flask_app.test_request_context(environ_base={"REMOTE_ADDR": browser}):
                answers = []
                for steps in (first, first + 1, first + 2):
                    try:
                        answers.append(api.create_run("grokking", {"p": 7, "steps": steps})[1])
                    except ApiError as exc:
                        answers.append(exc.status)
                statuses[browser] = answers
        assert statuses == {"10.0.0.1": [True, True, 429], "10.0.0.2": [True, True, 429]}
