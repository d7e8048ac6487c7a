"""The API's edges, in-process against a real SQLite file: methods it does not declare, bodies too big or
mistyped, what it echoes back, the headers every answer carries, and the schema that says all of it."""

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from backend.main import create_api
from backend.store.presence import announce, retire
from backend.store.settings import Settings
from tests.databases import sqlite_database

TINY = {"p": 11, "train_frac": 0.5, "steps": 50}


@pytest.fixture
def make_client(tmp_path):
    opened = []

    def make(**settings) -> TestClient:
        database = sqlite_database(tmp_path)
        url = database.__enter__()
        client = TestClient(create_api(Settings(database_url=url, **settings)))
        client.__enter__()
        client.database_url = url  # type: ignore[attr-defined]
        opened.append((client, database))
        return client

    yield make
    for client, database in opened:
        client.__exit__(None, None, None)
        database.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/api/runs", "GET, POST"),
    ("DELETE", "/api/runs/abc", "GET"),
    ("GET", "/api/runs/abc/cancel", "POST"),
    ("POST", "/api/health", "GET"),
    ("PATCH", "/api/phenomena/grokking", "GET"),
])
def test_an_undeclared_method_is_405_with_allow(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert method in response.json()["detail"] and allow in response.json()["detail"]


def test_options_lists_the_allowed_methods_and_unknown_paths_stay_404(client):
    response = client.options("/api/runs/abc/cancel")
    assert response.status_code == 204 and response.headers["allow"] == "POST"
    assert client.options("/api/nowhere").status_code == 404
    assert client.delete("/api/nowhere").status_code == 404


@pytest.mark.parametrize(("body", "loc"), [
    ({"phenomenon": "grokking", "seed": True}, ["body", "seed"]),
    ({"phenomenon": "grokking", "seed": "3"}, ["body", "seed"]),
    ({"phenomenon": "grokking", "config": {"steps": "10"}}, ["body", "config", "steps"]),
    ({"phenomenon": "grokking", "config": {"steps": True}}, ["body", "config", "steps"]),
    ({"phenomenon": "grokking", "config": {"lr": "0.01"}}, ["body", "config", "lr"]),
    ({"phenomenon": "grokking", "preset": "weak"}, ["body", "preset"]),
])
def test_types_are_strict_and_the_422_names_the_field(client, body, loc):
    response = client.post("/api/runs", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [loc]


def test_a_preset_of_another_phenomenon_names_this_ones(client):
    response = client.post("/api/runs", json={"phenomenon": "grokking", "preset": "weak"})
    (error,) = response.json()["detail"]
    assert "grokking has no preset 'weak'" in error["msg"] and "no_weight_decay" in error["msg"]


def test_integers_still_fill_float_knobs(client):
    response = client.post("/api/runs", json={"phenomenon": "grokking", "config": {**TINY, "weight_decay": 1}})
    assert response.status_code == 201, response.text
    assert response.json()["config"]["weight_decay"] == 1.0


def test_a_body_over_the_limit_is_413_before_it_is_parsed(make_client):
    client = make_client(max_body_bytes=4096)
    big = json.dumps({"phenomenon": "grokking", "config": {"x" * 10_000: 1}})
    response = client.post("/api/runs", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "4096" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit counts the bytes as they come
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000].encode()

    response = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).status_code == 201


def test_a_422_quotes_only_a_short_prefix_of_a_long_bad_input(client):
    response = client.post("/api/runs", json={"phenomenon": "grokking", "config": {"operation": "+" * 50_000}})
    assert response.status_code == 422
    assert len(response.content) < 2000
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "config", "operation"] and "(50000 characters)" in error["input"]


def test_every_answer_carries_security_headers_and_cors_is_closed_by_default(client):
    response = client.get("/api/phenomena", headers={"origin": "https://elsewhere.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "access-control-allow-origin" not in response.headers


def test_cors_opens_only_to_the_configured_origins(make_client):
    client = make_client(cors_origins=["https://course.example"])
    ok = client.get("/api/phenomena", headers={"origin": "https://course.example"})
    assert ok.headers["access-control-allow-origin"] == "https://course.example"
    other = client.get("/api/phenomena", headers={"origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


def test_the_schema_enumerates_names_declares_content_types_and_links_a_new_run(client):
    schema = client.get("/api/openapi.json").json()
    run_create = schema["components"]["schemas"]["RunCreate"]["properties"]
    names = schema["components"]["schemas"]["PhenomenonName"]["enum"]
    presets = schema["components"]["schemas"]["PresetName"]["enum"]
    assert {"grokking", "double_descent", "superposition"} <= set(names)
    assert {"default", "tiny", "no_weight_decay", "weak"} <= set(presets)
    assert "PhenomenonName" in json.dumps(run_create["phenomenon"])
    metrics = schema["paths"]["/api/runs/{run_id}/metrics"]["get"]
    assert {"application/json", "text/csv"} <= set(metrics["responses"]["200"]["content"])
    events = schema["paths"]["/api/runs/{run_id}/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    create = schema["paths"]["/api/runs"]["post"]
    assert create["operationId"] == "create_run"
    links = create["responses"]["201"]["links"]
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {link["operationId"] for link in links.values()} <= operations
    assert all(link["parameters"] == {"run_id": "$response.body#/id"} for link in links.values())


def test_reads_never_wait_for_a_writer_holding_the_sqlite_write_lock(client):
    run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
    writer = sqlite3.connect(client.database_url.split("///", 1)[1], isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the worker mid-flush: the write lock held, uncommitted
        writer.execute("UPDATE runs SET error = 'not yet committed' WHERE id = ?", (run["id"],))
        # Each of these would wait out the 30 s busy timeout behind the lock if reads began IMMEDIATE.
        seen = client.get(f"/api/runs/{run['id']}")
        assert seen.status_code == 200 and seen.json()["error"] is None  # the snapshot before the write
        assert client.get(f"/api/runs/{run['id']}/metrics").status_code == 200
        assert client.get("/api/runs").json()["count"] == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def sqlite_path(client) -> Path:
    return Path(client.database_url.split("///", 1)[1])


def test_readiness_proves_a_write_each_time_it_is_asked(client):
    for count in (1, 2):
        response = client.get("/api/health/ready")
        assert response.status_code == 200 and response.json()["status"] == "ready"
        with sqlite3.connect(sqlite_path(client)) as db:
            assert db.execute("SELECT count FROM probes WHERE name = 'api'").fetchone() == (count,)


def test_a_database_file_deleted_while_serving_refuses_writes_loudly(client):
    run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
    sqlite_path(client).unlink()  # the open connections would go on writing into the unlinked inode
    response = client.post("/api/runs", json={"phenomenon": "grokking", "config": {**TINY, "steps": 60}})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert "was deleted while Phaselab was serving" in response.json()["detail"]
    assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 503
    ready = client.get("/api/health/ready")
    assert ready.status_code == 503 and "deleted" in ready.json()["detail"]


def test_a_database_that_cannot_grow_is_a_json_503_not_a_500(client):
    engine = client.app.state.engine
    pages = engine.connect().exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(engine, "connect")
    def _full(dbapi_conn, _record):  # the disk is full: the file may not grow by a page
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    statuses = set()
    for seed in range(300):
        response = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY, "seed": seed})
        statuses.add(response.status_code)
        if response.status_code == 503:
            assert response.headers["content-type"] == "application/json"
            assert "The database is unavailable" in response.json()["detail"]
            assert "full" in response.json()["detail"]
            break
    assert 503 in statuses and statuses <= {201, 503}, statuses
    assert client.get("/api/health/ready").status_code in (200, 503)  # answers, whichever it is


def test_a_run_queued_where_no_worker_serves_says_what_it_waits_for(client):
    run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
    assert "No worker serves the 'cpu' queue" in run["waiting"] and "phaselab worker --queue cpu" in run["waiting"]
    gpu = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY, "seed": 1, "queue": "gpu"}).json()
    factory = client.app.state.session_factory
    announce(factory, "host:1", ["cpu"], "cpu", 1)  # a cpu worker shows a sign of life
    assert client.get(f"/api/runs/{run['id']}").json()["waiting"] is None
    assert "'gpu' queue" in client.get(f"/api/runs/{gpu['id']}").json()["waiting"]
    listed = {r["id"]: r["waiting"] for r in client.get("/api/runs").json()["data"]}
    assert listed[run["id"]] is None and "'gpu' queue" in listed[gpu["id"]]
    retire(factory, "host:1")  # stopped cleanly: forgotten at once
    assert client.get(f"/api/runs/{run['id']}").json()["waiting"] is not None
