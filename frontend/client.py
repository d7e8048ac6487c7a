"""The UI's only door to the backend: a small synchronous client for Phaselab's public HTTP API.

Pages never import the database or backend models; whatever the UI does, a script can do with this
client (or curl). Failures come back as `ApiError`, which pages show as an alert, never a traceback.
"""

import copy
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import flask
import httpx
from cachetools import TTLCache

# Short timeouts: the API is local and its answers are small; a page should fail fast and say why.
TIMEOUT = httpx.Timeout(10.0, connect=2.0)
# Answers that do not change are kept and shared by every page this process serves (a class of viewers of
# one run asks for the same ones): a phenomenon's spec (the catalogue is fixed while the API runs; kept a
# minute, for an API restarted with a new one), a snapshot at a given step, a snapshot history up to a
# given step; and, for a second, a run's snapshot index.
KEEP_SECONDS = 60.0
KEEP_ANSWERS = 512
INDEX_SECONDS = 1.0  # a run's snapshot index is shared this long (a new snapshot shows at most this late)


@dataclass
class ApiError(Exception):
    """A failed API call: a human-readable message, the HTTP status (None: no answer) and, for a 422,
    the message for each config knob that was rejected (`{"p": "p must be prime ..."}`)."""

    message: str
    status: int | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class ApiClient:
    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=TIMEOUT, transport=transport)
        self._kept: TTLCache = TTLCache(maxsize=KEEP_ANSWERS, ttl=KEEP_SECONDS)
        self._lock = threading.Lock()

    def _keep(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """`read()`, or a copy of its answer kept from an earlier call (callers may change what they get)."""
        with self._lock:
            kept = self._kept.get(key)
        if kept is None:
            kept = read()
            with self._lock:
                self._kept[key] = kept
        return copy.deepcopy(kept)

    # -- catalogue ------------------------------------------------------------------------------

    def phenomena(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/phenomena")["data"]

    def phenomenon(self, name: str) -> dict[str, Any]:
        return self._keep(("phenomenon", name), lambda: self._request("GET", f"/api/phenomena/{name}"))

    # -- runs -----------------------------------------------------------------------------------

    def create_run(self, phenomenon: str, config: dict[str, Any], seed: int = 0) -> tuple[dict[str, Any], bool]:
        """(run, created): created is False when a run with the same content hash already existed."""
        response = self._send("POST", "/api/runs", json={"phenomenon": phenomenon, "config": config, "seed": seed})
        return response.json(), response.status_code == 201

    def runs(self, phenomenon: str | None = None, status: str | None = None, limit: int = 50,
             offset: int = 0) -> dict[str, Any]:
        params = {"phenomenon": phenomenon, "status": status, "limit": limit, "offset": offset}
        return self._request("GET", "/api/runs", params={k: v for k, v in params.items() if v not in (None, "")})

    def run(self, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/runs/{run_id}")

    def cancel(self, run_id: str) -> dict[str, Any]:
        return self._request("POST", f"/api/runs/{run_id}/cancel")

    def metrics(self, run_id: str, names: list[str] | None = None, after: Any = None,
                max_points: int = 2000) -> dict[str, Any]:
        """{"series": [{"metric", "member", "x", "value"}], "cursor"}. Without `after`, every series
        downsampled on the server to max_points (always sent: never pull a whole long curve into the
        page); with `after` (the opaque `cursor` of an earlier answer), only the points written since."""
        params: dict[str, Any] = {"max_points": max_points}
        if names:
            params["names"] = ",".join(names)
        if after is not None:
            params["after"] = after
        return self._request("GET", f"/api/runs/{run_id}/metrics", params=params)

    def snapshot_index(self, run_id: str) -> dict[str, dict[str, Any]]:
        """{name: {"steps": [...], "shape": [...]}}: which snapshots a run has stored, no values. Shared for
        INDEX_SECONDS: every viewer of a live run asks for it when the run changes."""
        bucket = int(time.monotonic() / INDEX_SECONDS)
        return self._keep(("index", run_id, bucket),
                          lambda: self._request("GET", f"/api/runs/{run_id}/snapshots")["snapshots"])

    def snapshot(self, run_id: str, name: str, step: float | None = None) -> dict[str, Any]:
        """{"name", "step", "shape", "values": flat, row-major} at `step` (None: the latest)."""
        if step is None:
            return self._request("GET", f"/api/runs/{run_id}/snapshots/{name}")
        return self._keep(("snapshot", run_id, name, step), lambda: self._request(
            "GET", f"/api/runs/{run_id}/snapshots/{name}", params={"step": _integral(step)}))

    def snapshot_history(self, run_id: str, name: str, max_steps: int = 200,
                         latest: float | None = None) -> dict[str, Any]:
        """{"name", "steps", "shape", "values": [[...] per step]}, thinned evenly to max_steps steps. With
        `latest` (the newest step the caller knows of), an answer up to that step is shared."""
        def read() -> dict[str, Any]:
            return self._request("GET", f"/api/runs/{run_id}/snapshots/{name}/history",
                                 params={"max_steps": max_steps})
        if latest is None:
            return read()
        return self._keep(("history", run_id, name, max_steps, latest), read)

    # -- plumbing -------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if flask.has_request_context() and flask.request.remote_addr:
            # Who asked: the API limits starting runs per client, and every page reaches it from this process.
            # The API trusts this header from 127.0.0.1 (uvicorn's FORWARDED_ALLOW_IPS), where the UI calls it.
            kwargs["headers"] = {**kwargs.get("headers", {}), "X-Forwarded-For": flask.request.remote_addr}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"The Phaselab API at {self.base_url} did not answer ({type(exc).__name__}).") from exc
        if response.is_success:
            return response
        raise error_from(response)


def error_from(response: httpx.Response) -> ApiError:
    """An ApiError from a failed response: FastAPI's `detail` (a string, or a list of 422 errors)."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):
        fields: dict[str, str] = {}
        lines = []
        for err in detail:
            loc = [str(part) for part in err.get("loc", [])]
            # ["body", "config", "p"] names a knob; anything else (body.seed, body.preset) is shown by path.
            name = loc[2] if loc[:2] == ["body", "config"] and len(loc) > 2 else ".".join(loc[1:] or loc)
            fields.setdefault(name, err.get("msg", "invalid"))
            lines.append(f"{name}: {err.get('msg', 'invalid')}")
        return ApiError("; ".join(lines) or "Invalid request.", response.status_code, fields)
    message = detail if isinstance(detail, str) else f"The API answered {response.status_code}."
    return ApiError(message, response.status_code)


def _integral(value: float) -> float | int:
    """A step as the URL writes it: 50, not 50.0 (JSON numbers come back as floats)."""
    return int(value) if float(value).is_integer() else value


def api() -> ApiClient:
    """The client of the Dash app serving the current request (create_dash puts it on its Flask app)."""
    return flask.current_app.extensions["phaselab_api"]
