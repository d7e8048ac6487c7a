"""Charts drawn whole for many viewers at once: `shared_draw`, and `GET /_draw/<run_id>?charts=a,b`.

Every viewer of a live run asks for a chart drawn again at the same moment (its loss fell a decade, a
transition was marked, the run ended: they all follow the same stream). A Dash callback per viewer would
draw, serialize and bridge the same figures a hundred times; instead the browser (assets/live.js) fetches
this plain route, whose answer is drawn and serialized once and shared by every viewer who asks within
SHARE_DRAW_S (the browsers spread their asking over 1.5 s, so the answers go out over that span). Such an answer is still exact for each of them: the browser appends every point after its
cursor, those it got while the server drew included.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import flask
from cachetools import TTLCache
from plotly.io.json import to_json_plotly

from frontend import live_charts
from frontend.chart_legends import card_style, drawn_metrics, legend_items
from frontend.client import ApiError, api
from frontend.run_panels import ACTIVE

T = TypeVar("T")
SHARE_DRAW_S = 2.0  # longer than the browsers' spread of one redraw (assets/live.js SPREAD_S)
_draws: TTLCache = TTLCache(maxsize=64, ttl=SHARE_DRAW_S)
_answers: TTLCache = TTLCache(maxsize=64, ttl=SHARE_DRAW_S)
_gates: TTLCache = TTLCache(maxsize=256, ttl=60.0)  # one lock per key being made (keys name their cache)
_lock = threading.Lock()


def _shared(cache: TTLCache, key: Hashable, make: Callable[[], T], keep: Callable[[T], bool]) -> T:
    """`make()`, made once for everyone who asks for `key` at the same time (the others wait for it, rather
    than all drawing the same figures at once) and kept SHARE_DRAW_S when `keep` says it may be."""
    with _lock:
        kept = cache.get(key)
        if kept is not None:
            return kept
        gate = _gates.setdefault(key, threading.Lock())
    with gate:
        with _lock:
            kept = cache.get(key)
        if kept is None:
            kept = make()
            if keep(kept):
                with _lock:
                    cache[key] = kept
    return kept


def shared_draw(run_id: str, charts: list[dict[str, Any]], spec: dict[str, Any],
                final: bool = False) -> tuple[dict, dict, dict, Any]:
    """(run, figures, states, cursor) of `charts` drawn whole, shared by every viewer who asks within
    SHARE_DRAW_S: a class opening one link draws the run once a second, not once per student. `final`: the
    browser saw the run end, so a draw made while it was still live is not good enough."""
    client = api()

    def make() -> tuple[dict, dict, dict, Any]:
        run = client.run(run_id)
        return (run, *live_charts.draw_charts(
            charts, spec, run, lambda names, since: client.metrics(run_id, names, since, live_charts.MAX_POINTS)))

    key = ("draw", client.base_url, run_id, tuple(c["id"] for c in charts), final)
    return _shared(_draws, key, make, lambda kept: not final or kept[0]["status"] not in ACTIVE)


def redraw_answer(run_id: str, chart_ids: list[str] | None, final: bool = False) -> bytes:
    """JSON: per chart its figure, legend and card style, and the state the browser keeps (as the page's first
    draw gives); with no chart ids, every chart, and the run itself to publish to the status panel."""
    client = api()

    def make() -> tuple[bytes, bool]:
        run = client.run(run_id)
        spec = live_charts.view_spec(client.phenomenon(run["phenomenon"]))
        charts = [c for c in spec["charts"] if not chart_ids or c["id"] in chart_ids]
        run, figures, states, after = shared_draw(run_id, charts, spec, final)
        drawn = {c["id"]: drawn_metrics(figures[c["id"]]) for c in charts}
        answer = to_json_plotly({
            "run": run_id, "whole": not chart_ids, "after": after, "status": run["status"], "charts": states,
            "limits": live_charts.LIMITS, "published": None if chart_ids else run,
            "figures": figures,
            "legends": {c["id"]: legend_items(c, spec, drawn[c["id"]]) for c in charts},
            "cards": {c["id"]: card_style(c, drawn[c["id"]]) for c in charts},
        }).encode()
        return answer, run["status"] in ACTIVE

    key = ("answer", client.base_url, run_id, tuple(chart_ids) if chart_ids else None, final)
    return _shared(_answers, key, make, lambda kept: not final or not kept[1])[0]


def register(server: flask.Flask) -> None:
    @server.get("/_draw/<run_id>")
    def draw(run_id: str) -> flask.Response:
        charts = [c for c in (flask.request.args.get("charts") or "").split(",") if c] or None
        try:
            body = redraw_answer(run_id, charts, final=flask.request.args.get("final") == "1")
        except ApiError as exc:
            return flask.Response(to_json_plotly({"error": str(exc)}), status=exc.status or 502,
                                  mimetype="application/json")
        return flask.Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})
