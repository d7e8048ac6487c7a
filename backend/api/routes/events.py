from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from backend.api.feeds import Feeds, Snapshot, follow
from backend.api.routes.runs import get_run_or_404, to_public, waiting_note
from backend.schemas import MAX_STEP
from backend.services import metrics as service
from backend.store.curves import last_seq, read_points

router = APIRouter(prefix="/runs/{run_id}", tags=["events"])

POLL_SECONDS = 0.25  # a live run's feed reads it this often, however many follow it

EVENT_SCHEMA = {  # one server-sent event; `data` is JSON text: a RunPublic, a MetricsPublic, or {"status": ...}
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["run", "metrics", "done"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {
            "type": "string",
            "description": "On `metrics`: the cursor, sent back as Last-Event-ID on reconnect",
        },
    },
}


def live_feeds(request: Request) -> Feeds:
    """This API process's feeds (one per followed live run), made on first use."""
    state = request.app.state
    if getattr(state, "feeds", None) is None:
        factory, settings = state.read_session_factory, state.settings  # reads never wait for writes (SQLite)

        def read(run_id: str, after: int, with_points: bool) -> Snapshot:
            with factory() as session:  # a short transaction per read: never hold the database
                row = get_run_or_404(session, run_id)
                run = to_public(row, waiting_note(session, row, settings)).model_dump(mode="json")
                if not with_points:
                    return Snapshot(run, [], last_seq(session, run_id))
                points, cursor = read_points(session, run_id, None, after)
            return Snapshot(run, service.as_series(points), cursor)

        state.feeds = Feeds(read, POLL_SECONDS)
    return state.feeds


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
            "description": "Server-sent events: `run`, `metrics` (with the cursor as event id), `done`",
        },
        404: {"description": "No such run"},
    },
)
async def stream_events(
    run_id: str,
    request: Request,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_STEP, description="A metrics `cursor`: send only the points written since."),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            description="Set by a reconnecting EventSource: the last "
            "`metrics` id it received; the stream resumes after it."
        ),
    ] = None,
) -> EventSourceResponse:
    """Server-sent events: `run` (status, progress, summary) on change, `metrics` (new points), then `done`.

    Every follower of a live run shares one read of it per tick (see backend/api/feeds.py)."""
    feeds = live_feeds(request)
    resumed = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    since = max(after or 0, min(resumed, MAX_STEP))

    def check_exists() -> None:
        with request.app.state.read_session_factory() as session:
            get_run_or_404(session, run_id)

    await to_thread.run_sync(check_exists)  # a 404 before the stream starts, not an error inside it
    return EventSourceResponse(follow(feeds, run_id, since), ping=15)
