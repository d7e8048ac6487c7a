import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from backend.api.routes.runs import get_run_or_404, to_public, waiting_note
from backend.schemas import MAX_STEP
from backend.services import metrics as service
from backend.store.curves import read_points
from backend.store.vocabulary import FINAL_STATUSES

router = APIRouter(prefix="/runs/{run_id}", tags=["events"])

POLL_SECONDS = 0.25

EVENT_SCHEMA = {  # one server-sent event; `data` is JSON text: a RunPublic, a MetricsPublic, or {"status": ...}
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["run", "metrics", "done"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "description": "On `metrics`: the cursor, sent back as Last-Event-ID on reconnect"},
    },
}


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
                     "description": "Server-sent events: `run`, `metrics` (with the cursor as event id), `done`"},
               404: {"description": "No such run"}},
)
async def stream_events(
    run_id: str,
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=MAX_STEP, description="A metrics `cursor`: send only the points "
                                       "written since.")] = None,
) -> EventSourceResponse:
    """Server-sent events: `run` (status, progress, summary) on change, `metrics` (new points), then `done`."""
    factory = request.app.state.read_session_factory  # never waits for the worker's writes (SQLite)
    settings = request.app.state.settings

    def poll(since: int | None) -> tuple[dict, dict]:
        # A short transaction per poll: never hold the database (SQLite's write lock) while waiting.
        with factory() as session:
            row = get_run_or_404(session, run_id)
            run = to_public(row, waiting_note(session, row, settings)).model_dump(mode="json")
            points, cursor = read_points(session, run_id, None, since)
        return run, {"series": service.as_series(points), "cursor": cursor}

    def check_exists() -> None:
        with factory() as session:
            get_run_or_404(session, run_id)

    await to_thread.run_sync(check_exists)  # a 404 before the stream starts, not an error inside it

    async def events() -> AsyncIterator[ServerSentEvent]:
        since, last_seen = after, None
        while True:
            run, new = await to_thread.run_sync(poll, since)
            if new["cursor"] is not None:
                since = new["cursor"]
                yield ServerSentEvent(event="metrics", data=json.dumps(new), id=str(since))
            fingerprint = (run["status"], run["progress"]["x"], json.dumps(run["summary"], sort_keys=True))
            if fingerprint != last_seen:
                last_seen = fingerprint
                yield ServerSentEvent(event="run", data=json.dumps(run))
            if run["status"] in FINAL_STATUSES:
                yield ServerSentEvent(event="done", data=json.dumps({"status": run["status"]}))
                return
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(events(), ping=15)
