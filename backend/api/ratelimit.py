"""Per-client limits on starting runs: a rate (PHASELAB_RUNS_PER_MINUTE) and a cap on runs waiting in the queue
(PHASELAB_MAX_QUEUED_RUNS_PER_CLIENT), each answered with a 429 that says which limit, how many, and when to retry.

Only a POST that would start compute is checked and counted: a new run, or a failed or cancelled one queued
again. A POST answered with an existing run (the dedupe 200) is free, so thirty students behind one school NAT
who open one link all get the run one of them started, however busy that address has been.

A client is `request.client.host`: the peer's address, or the one a trusted reverse proxy forwarded (uvicorn
takes X-Forwarded-For only from FORWARDED_ALLOW_IPS, by default 127.0.0.1 and ::1). The rate is a moving window
kept by `limits` in this process's memory; which client started which run is kept here too (the runs table has no
column for it), so both start afresh with the process and each API process counts its own clients.
"""

import math
import threading
import time

from fastapi import Request
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.store.models import Run
from backend.store.vocabulary import RunStatus

QUEUED_RETRY_SECONDS = 30  # a client at its queue cap: when to look again (a run starts or ends by then, often)
SWEEP_CLIENTS = 1000  # past this many clients remembered, forget those with nothing queued
CHUNK = 500  # run ids per IN (...) query: well under SQLite's limit on bound parameters


class RunLimitRefusal(BaseModel):
    """The body of a 429: what was refused, by which limit, and when to try again."""

    detail: str
    limit: str = Field(description="The setting that refused it: runs_per_minute or max_queued_runs_per_client.")
    retry_after: int = Field(description="Seconds to wait, as the Retry-After header says.")
    queued: int | None = Field(None, description="Runs this client has waiting (for max_queued_runs_per_client).")


class RunLimitExceeded(Exception):
    """Raised before a run is created; `answer` (wired in backend/main.py) makes it a 429 with Retry-After."""

    def __init__(self, refusal: RunLimitRefusal):
        super().__init__(refusal.detail)
        self.refusal = refusal


async def answer(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RunLimitExceeded)
    return JSONResponse(status_code=429, headers={"Retry-After": str(exc.refusal.retry_after)},
                        content=exc.refusal.model_dump(exclude_none=True))


RESPONSE = {"model": RunLimitRefusal, "description": "This client may not start another run now: too many a minute, "
            "or too many waiting in the queue", "headers": {"Retry-After": {
                "description": "Seconds to wait before asking again", "schema": {"type": "integer"}}}}


class RunStartLimits:
    """The limits of one API process, shared by every request (routes run in a thread pool: a lock guards the map)."""

    def __init__(self, per_minute: int, max_queued: int):
        self.per_minute, self.max_queued = per_minute, max_queued
        self._rate = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if self._rate else None
        self._started: dict[str, set[str]] = {}  # client -> ids of runs it started that may still be queued
        self._lock = threading.Lock()

    def check(self, session: Session, client: str) -> None:
        """Raise RunLimitExceeded if `client` may not start a run now; count nothing (see `started`)."""
        if self._rate is not None and self._limiter is not None and not self._limiter.test(self._rate, client):
            reset = self._limiter.get_window_stats(self._rate, client).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise RunLimitExceeded(RunLimitRefusal(
                detail=f"Too many new runs from {client}: at most {self.per_minute} a minute "
                f"(PHASELAB_RUNS_PER_MINUTE). Try again in {wait} s; asking for a run that already exists is "
                "never limited.", limit="runs_per_minute", retry_after=wait))
        if self.max_queued > 0:
            queued = self._queued(session, client)
            if queued >= self.max_queued:
                raise RunLimitExceeded(RunLimitRefusal(
                    detail=f"{client} already has {queued} runs waiting in the queue, the most one client may have "
                    f"(PHASELAB_MAX_QUEUED_RUNS_PER_CLIENT). Try again once some have started, in about "
                    f"{QUEUED_RETRY_SECONDS} s, or cancel some.", limit="max_queued_runs_per_client",
                    retry_after=QUEUED_RETRY_SECONDS, queued=queued))

    def started(self, client: str, run_id: str) -> None:
        """`client` started (or re-queued) run `run_id`: it counts against the rate and, while queued, the cap."""
        if self._rate is not None and self._limiter is not None:
            self._limiter.hit(self._rate, client)
        if self.max_queued > 0:
            with self._lock:
                self._started.setdefault(client, set()).add(run_id)

    def _queued(self, session: Session, client: str) -> int:
        """How many of the runs `client` started are still queued; forgets the others (and, now and then, clients
        with none left)."""
        with self._lock:
            ids = set(self._started.get(client, ()))
        if not ids:
            return 0
        still = _still_queued(session, ids)
        with self._lock:
            mine = self._started.get(client, set())
            mine -= ids - still
            if not mine:
                self._started.pop(client, None)
            if len(self._started) > SWEEP_CLIENTS:
                self._sweep(session)
        return len(still)

    def _sweep(self, session: Session) -> None:
        """Forget every client none of whose runs is still queued (called with the lock held)."""
        still = _still_queued(session, {run_id for runs in self._started.values() for run_id in runs})
        self._started = {client: runs & still for client, runs in self._started.items() if runs & still}


def _still_queued(session: Session, ids: set[str]) -> set[str]:
    ordered, still = sorted(ids), set()
    for start in range(0, len(ordered), CHUNK):
        still |= set(session.execute(select(Run.id).where(
            Run.id.in_(ordered[start:start + CHUNK]), Run.status == RunStatus.QUEUED)).scalars())
    return still


def client_of(request: Request) -> str:
    """The client a limit counts: the peer's address (a trusted proxy's X-Forwarded-For, as uvicorn resolves it)."""
    return request.client.host if request.client else "unknown"
