"""The UI's API client against a fake transport: requests as the API expects them, errors as pages show them."""

import json

import httpx
import pytest

from frontend.client import ApiClient, ApiError


def client_with(handler) -> tuple[ApiClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return ApiClient("http://api.test/", transport=httpx.MockTransport(record)), seen


def test_metrics_always_send_max_points_and_join_names_and_pass_the_cursor_back_as_after():
    answer = {"series": [{"metric": "loss", "member": 16.0, "x": [0.0], "value": [1.0]}], "cursor": 41}
    api, seen = client_with(lambda r: httpx.Response(200, json=answer))
    assert api.metrics("r1", names=["train/acc", "val/acc"], after=41, max_points=500) == answer
    params = seen[0].url.params
    assert seen[0].url.path == "/api/runs/r1/metrics"
    assert params["names"] == "train/acc,val/acc" and params["after"] == "41" and params["max_points"] == "500"
    api.metrics("r1")
    assert "max_points" in seen[1].url.params and "after" not in seen[1].url.params
    assert "names" not in seen[1].url.params  # no names: every metric
    api.metrics("r1", after=0)
    assert seen[2].url.params["after"] == "0"  # a cursor of 0 is a cursor, not "none"


def test_the_snapshot_index_is_its_names_with_steps_and_shape():
    index = {"snapshots": {"wtw": {"steps": [0, 50], "shape": [64, 64]}}}
    api, seen = client_with(lambda r: httpx.Response(200, json=index))
    assert api.snapshot_index("r1") == {"wtw": {"steps": [0, 50], "shape": [64, 64]}}
    assert seen[0].url.path == "/api/runs/r1/snapshots" and not seen[0].url.params


def test_one_snapshot_step_is_asked_for_by_its_step_or_the_latest():
    one = {"name": "wtw", "step": 50, "shape": [2, 2], "values": [1, 0, 0, 1]}
    api, seen = client_with(lambda r: httpx.Response(200, json=one))
    assert api.snapshot("r1", "wtw", 50.0) == one
    assert seen[0].url.path == "/api/runs/r1/snapshots/wtw" and seen[0].url.params["step"] == "50"
    api.snapshot("r1", "wtw")
    assert "step" not in seen[1].url.params


def test_a_snapshot_history_is_thinned_to_max_steps():
    history = {"name": "spectrum", "steps": [0, 50], "shape": [3], "values": [[1, 0, 0], [0, 1, 0]]}
    api, seen = client_with(lambda r: httpx.Response(200, json=history))
    assert api.snapshot_history("r1", "spectrum", max_steps=120) == history
    assert seen[0].url.path == "/api/runs/r1/snapshots/spectrum/history"
    assert seen[0].url.params["max_steps"] == "120"


def test_an_unknown_snapshot_step_is_an_api_error():
    api, _ = client_with(lambda r: httpx.Response(404, json={"detail": "No snapshot 'wtw' at step 7."}))
    with pytest.raises(ApiError, match="at step 7") as raised:
        api.snapshot("r1", "wtw", 7)
    assert raised.value.status == 404


def test_create_run_tells_a_new_run_from_an_existing_one():
    status = iter([201, 200])
    api, seen = client_with(lambda r: httpx.Response(next(status), json={"id": "abc"}))
    assert api.create_run("grokking", {"p": 7}, seed=3) == ({"id": "abc"}, True)
    assert api.create_run("grokking", {"p": 7}, seed=3) == ({"id": "abc"}, False)
    assert json.loads(seen[0].content) == {"phenomenon": "grokking", "config": {"p": 7}, "seed": 3}


def test_runs_leaves_out_empty_filters():
    api, seen = client_with(lambda r: httpx.Response(200, json={"data": [], "count": 0}))
    api.runs(phenomenon="grokking", status=None, limit=10)
    assert dict(seen[0].url.params) == {"phenomenon": "grokking", "limit": "10", "offset": "0"}


def test_a_422_names_the_knob():
    detail = [{"type": "value_error", "loc": ["body", "config", "p"], "msg": "Value error, p must be prime"},
              {"type": "greater_than_equal", "loc": ["body", "seed"], "msg": "Input should be >= 0"}]
    api, _ = client_with(lambda r: httpx.Response(422, json={"detail": detail}))
    with pytest.raises(ApiError) as raised:
        api.create_run("grokking", {"p": 8})
    error = raised.value
    assert error.status == 422
    assert error.fields == {"p": "Value error, p must be prime", "seed": "Input should be >= 0"}
    assert "p: Value error, p must be prime" in str(error)


def test_a_404_carries_the_apis_message():
    api, _ = client_with(lambda r: httpx.Response(404, json={"detail": "No run with id 'x'."}))
    with pytest.raises(ApiError, match="No run with id 'x'.") as raised:
        api.run("x")
    assert raised.value.status == 404 and raised.value.fields == {}


def test_an_unreachable_api_is_an_api_error_not_a_traceback():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    api, _ = client_with(refuse)
    with pytest.raises(ApiError, match="did not answer") as raised:
        api.phenomena()
    assert raised.value.status is None


def test_a_non_json_error_body_still_gives_a_message():
    api, _ = client_with(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ApiError, match="502"):
        api.phenomenon("grokking")
