"""The HTTP API against a real SQLite file, in-process: status codes first, then the fields."""

import pytest
from fastapi.testclient import TestClient

from backend.main import create_api
from backend.store.settings import Settings
from tests.databases import sqlite_database

TINY = {"p": 11, "train_frac": 0.5, "steps": 50}


@pytest.fixture
def client(tmp_path):
    with sqlite_database(tmp_path) as url:
        app = create_api(Settings(database_url=url, max_page_size=5))
        with TestClient(app) as test_client:
            yield test_client


def test_health_names_the_database(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "sqlite"


def test_catalogue_lists_grokking_and_double_descent_with_schemas(client):
    response = client.get("/api/phenomena")
    assert response.status_code == 200
    names = {p["name"] for p in response.json()["data"]}
    assert {"grokking", "double_descent"} <= names
    grokking = client.get("/api/phenomena/grokking").json()
    props = grokking["config_schema"]["properties"]
    assert {"p", "train_frac", "weight_decay", "lr", "width", "steps"} <= set(props)
    assert "maximum" in props["p"] and "description" in props["p"]
    assert "default" in grokking["presets"]
    assert grokking["charts"] and grokking["claims"] and grokking["papers"][0]["url"].startswith("https://arxiv.org")


def test_unknown_phenomenon_is_404_to_read_and_422_naming_the_choices_to_run(client):
    assert client.get("/api/phenomena/alchemy").status_code == 404
    response = client.post("/api/runs", json={"phenomenon": "alchemy"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "phenomenon"] and "grokking" in error["msg"] and error["input"] == "alchemy"


def test_unknown_api_path_is_404_not_the_ui(client):
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/json")


def test_create_fills_defaults_and_second_identical_post_returns_the_same_run(client):
    first = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY, "seed": 3})
    assert first.status_code == 201
    run = first.json()
    assert run["status"] == "queued" and run["seed"] == 3 and run["attempts"] == 0
    assert run["config"]["p"] == 11 and "weight_decay" in run["config"]  # every field, defaults filled in
    assert run["progress"] == {"axis": "step", "label": "step", "symbol": "step", "unit": "", "x": 0, "total": 50,
                               "resumed_from": None}
    assert run["code_version"] and run["summary"]["claims"] == [] and run["threads"] is None
    assert run["created_at"].endswith("Z")  # RFC 3339: the time zone is always there (SQLite stores none)
    again = client.post("/api/runs", json={"phenomenon": "grokking", "config": {**TINY, "lr": run["config"]["lr"]},
                                           "seed": 3})
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    other_seed = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY, "seed": 4})
    assert other_seed.status_code == 201 and other_seed.json()["id"] != run["id"]


@pytest.mark.parametrize(
    ("config", "field", "bound"),
    [
        ({"train_frac": 1.5}, "train_frac", "less than or equal"),
        ({"weight_decay": -1}, "weight_decay", "greater than or equal"),
        ({"steps": 10**9}, "steps", "less than or equal"),
        ({"width": "wide"}, "width", "integer"),
    ],
)
def test_bad_config_is_422_naming_the_field_and_bound(client, config, field, bound):
    response = client.post("/api/runs", json={"phenomenon": "grokking", "config": config})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "config", field]
    assert bound in error["msg"]


def test_unknown_knob_preset_or_seed_is_422(client):
    unknown = client.post("/api/runs", json={"phenomenon": "grokking", "config": {"colour": 1}})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "config", "colour"]
    preset = client.post("/api/runs", json={"phenomenon": "grokking", "preset": "nope"})
    assert preset.status_code == 422 and preset.json()["detail"][0]["loc"] == ["body", "preset"]
    seed = client.post("/api/runs", json={"phenomenon": "grokking", "seed": -1})
    assert seed.status_code == 422 and seed.json()["detail"][0]["loc"] == ["body", "seed"]
    garbage = client.post("/api/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 422


def test_unknown_run_is_404_everywhere(client):
    for path in ("/api/runs/nope", "/api/runs/nope/metrics", "/api/runs/nope/snapshots", "/api/runs/nope/events"):
        assert client.get(path).status_code == 404, path
    assert client.post("/api/runs/nope/cancel").status_code == 404


def test_list_filters_and_caps_the_page(client):
    for seed in range(7):
        client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY, "seed": seed})
    client.post("/api/runs", json={"phenomenon": "double_descent"})
    page = client.get("/api/runs", params={"limit": 1000})
    assert page.status_code == 200
    assert page.json()["count"] == 8 and len(page.json()["data"]) == 5  # capped at max_page_size
    grokking = client.get("/api/runs", params={"phenomenon": "grokking", "offset": 5}).json()
    assert grokking["count"] == 7 and len(grokking["data"]) == 2
    assert client.get("/api/runs", params={"status": "queued"}).json()["count"] == 8
    assert client.get("/api/runs", params={"status": "exploded"}).status_code == 422
    assert client.get("/api/runs", params={"limit": 0}).status_code == 422


def test_cancel_a_queued_run_is_immediate_and_asking_again_requeues_it(client):
    run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
    cancelled = client.post(f"/api/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY})
    assert again.status_code == 201 and again.json()["id"] == run["id"] and again.json()["status"] == "queued"


def test_metrics_of_a_new_run_are_empty_and_csv_has_a_header(client):
    run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
    metrics = client.get(f"/api/runs/{run['id']}/metrics")
    assert metrics.status_code == 200 and metrics.json() == {"series": [], "cursor": None, "truncated": False}
    csv = client.get(f"/api/runs/{run['id']}/metrics", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.strip() == "metric,member,x,value"
    assert client.get(f"/api/runs/{run['id']}/metrics", params={"max_points": 2}).status_code == 422


def test_submit_token_guards_writes_but_not_reads(tmp_path):
    with sqlite_database(tmp_path) as url:
        app = create_api(Settings(database_url=url, submit_token="s3cret"))
        with TestClient(app) as c:
            assert c.post("/api/runs", json={"phenomenon": "grokking"}).status_code == 401
            ok = c.post("/api/runs", json={"phenomenon": "grokking"}, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 201
            assert c.get("/api/runs").status_code == 200


def test_openapi_docs_are_served(client):
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert "/api/runs" in spec["paths"] and "/api/runs/{run_id}/metrics" in spec["paths"]
    schemas = spec["components"]["schemas"]  # the vocabulary's enums, spelled out for clients
    assert schemas["RunStatus"]["enum"] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert schemas["Queue"]["enum"] == ["cpu", "gpu"]
    assert schemas["RunPublic"]["properties"]["status"] == {"$ref": "#/components/schemas/RunStatus"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b'{"phenomenon": "grokking", "config": {"lr": NaN}}', ["body", "config", "lr"]),
        (b'{"phenomenon": "double_descent", "config": {"noise": Infinity}}', ["body", "config", "noise"]),
    ],
)
def test_non_finite_knobs_are_422_not_500(client, body, loc):
    response = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize("query", ["/api/runs?offset=10000000000000000000000", "/metrics?after=1e30",
                                   "/metrics?after=10000000000000000000000", "/metrics?after=-1",
                                   "/events?after=10000000000000000000000"])
def test_out_of_range_integers_in_queries_are_422(client, query):
    if not query.startswith("/api"):
        run = client.post("/api/runs", json={"phenomenon": "grokking", "config": TINY}).json()
        query = f"/api/runs/{run['id']}{query}"
    assert client.get(query).status_code == 422


@pytest.mark.parametrize(("page", "assets"), [("/api/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
                                              ("/api/redoc", ["redoc.standalone.js"])])
def test_the_docs_pages_need_no_internet(client, page, assets):
    html = client.get(page)
    assert html.status_code == 200 and "cdn" not in html.text.lower()
    for asset in assets:
        assert f"/api/docs-assets/{asset}" in html.text
        served = client.get(f"/api/docs-assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000, asset
    assert client.get("/api/docs-assets/nope.js").status_code == 404
