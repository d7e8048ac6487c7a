"""One shared source per live run: however many people follow a run, the API reads it once per tick.

A `Feed` polls one run (its row, and the points written since its cursor) every `interval` seconds, turns
what changed into server-sent events serialized once, and hands the same events to every follower's
queue. It starts with its first follower and stops when the run ends or nobody follows it any more.

A follower never depends on the feed for correctness, only for speed. It starts from its own cursor (the
`after` it asked for, or its `Last-Event-ID` on a reconnect) with one read of its own, then takes the feed's
events; an event that does not continue exactly where the follower is (it joined mid-tick, or fell behind
and its queue overflowed) is replaced by a read of its own from where it is. So every follower gets every
point once, in order, whenever it joined.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from anyio import to_thread
from sse_starlette.sse import ServerSentEvent

from backend.store.vocabulary import FINAL_STATUSES

log = logging.getLogger(__name__)

QUEUE_EVENTS = 64  # a follower this many events behind (a stalled connection) catches up by its own read


@dataclass(frozen=True)
class Snapshot:
    """What one read of a run gives: the run as the API shows it, and its points in (after, cursor]."""

    run: dict
    series: list[dict]
    cursor: int | None  # the largest seq read; None: no point after `after`


# (run_id, after, with_points) -> Snapshot, called in a worker thread, one short read-only transaction. Points
# are numbered from 1 (seq), so after=0 is "all of them"; without points, `cursor` is the run's last seq.
Reader = Callable[[str, int, bool], Snapshot]


@dataclass(frozen=True)
class Tick:
    """What a feed sends in one tick. `points` covers seq in (since, until]; None when nothing new."""

    since: int
    until: int
    points: ServerSentEvent | None
    run: ServerSentEvent | None
    done: ServerSentEvent | None


def metrics_event(series: list[dict], cursor: int) -> ServerSentEvent:
    return ServerSentEvent(
        event="metrics", data=json.dumps({"series": series, "cursor": cursor}), id=str(cursor)
    )


def run_event(run: dict) -> ServerSentEvent:
    return ServerSentEvent(event="run", data=json.dumps(run))


def done_event(run: dict) -> ServerSentEvent:
    return ServerSentEvent(event="done", data=json.dumps({"status": run["status"]}))


def fingerprint(run: dict) -> str:
    """What makes a `run` event worth sending: anything a follower shows but the points."""
    keys = ("status", "progress", "summary", "error", "waiting", "attempts", "device", "worker")
    return json.dumps([run.get(key) for key in keys], sort_keys=True)


@dataclass(eq=False)
class Feed:
    run_id: str
    read: Reader
    interval: float
    followers: set[asyncio.Queue] = field(default_factory=set)
    cursor: int = 0  # the points sent so far: seq <= cursor
    last_run: dict | None = None
    task: asyncio.Task | None = None

    async def start(self) -> None:
        """Begin after the points already written: a follower reads what came before on its own."""
        first = await to_thread.run_sync(self.read, self.run_id, 0, False)
        self.cursor, self.last_run = first.cursor or 0, first.run

    async def run(self, on_stop: Callable[["Feed"], None]) -> None:
        seen = fingerprint(self.last_run) if self.last_run else None
        try:
            while self.followers:
                await asyncio.sleep(self.interval)
                got = await to_thread.run_sync(self.read, self.run_id, self.cursor, True)
                points = metrics_event(got.series, got.cursor) if got.cursor is not None else None
                now = fingerprint(got.run)
                changed = run_event(got.run) if now != seen else None
                final = got.run["status"] in FINAL_STATUSES
                tick = Tick(
                    self.cursor,
                    got.cursor or self.cursor,
                    points,
                    changed,
                    done_event(got.run) if final else None,
                )
                seen, self.last_run = now, got.run
                if got.cursor is not None:
                    self.cursor = got.cursor
                for queue in list(self.followers):
                    offer(queue, tick)
                if final:
                    return
        except Exception:  # a database hiccup: followers fall back to their own reads, and a new feed starts
            log.exception("live feed of run %s stopped", self.run_id)
            for queue in list(self.followers):
                offer(queue, None)
        finally:
            on_stop(self)


def offer(queue: asyncio.Queue, tick: Tick | None) -> None:
    """Queue `tick` (None: the feed stopped) for one follower; one that is too far behind is told to catch up
    on its own instead (its queue emptied, then a single None)."""
    try:
        queue.put_nowait(tick)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


class Feeds:
    """The live runs' feeds in this API process, by run id."""

    def __init__(self, read: Reader, interval: float) -> None:
        self.read, self.interval = read, interval
        self.feeds: dict[str, Feed] = {}
        self.starting: dict[str, asyncio.Future] = {}

    async def join(self, run_id: str, queue: asyncio.Queue) -> Feed:
        feed = self.feeds.get(run_id)
        if feed is None:
            feed = Feed(run_id, self.read, self.interval)
            self.feeds[run_id] = feed
            feed.followers.add(queue)
            try:
                await feed.start()
            except BaseException:
                self.feeds.pop(run_id, None)
                for other in feed.followers - {queue}:  # joined while it started: they read on their own
                    offer(other, None)
                raise
            feed.task = asyncio.create_task(feed.run(self._stopped))
        else:
            feed.followers.add(queue)
        return feed

    def _stopped(self, feed: Feed) -> None:
        if self.feeds.get(feed.run_id) is feed:
            del self.feeds[feed.run_id]

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task


async def follow(feeds: Feeds, run_id: str, after: int) -> AsyncIterator[ServerSentEvent]:
    """A follower's events: its own first read from `after`, then the shared feed, exactly once each point."""
    since = after

    async def own_read() -> AsyncIterator[ServerSentEvent]:
        """Points since `since`, then the run as it is now (and `done` if it ended)."""
        nonlocal since
        got = await to_thread.run_sync(feeds.read, run_id, since, True)
        if got.cursor is not None:
            since = got.cursor
            yield metrics_event(got.series, got.cursor)
        yield run_event(got.run)
        if got.run["status"] in FINAL_STATUSES:
            yield done_event(got.run)

    async for event in own_read():
        yield event
        if event.event == "done":
            return
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_EVENTS)
    feed = await feeds.join(run_id, queue)
    try:
        while True:
            tick = await queue.get()
            if tick is None or (tick.since != since and tick.until > since):
                # The feed stopped, or this follower is not where the tick starts (it joined mid-tick, or fell
                # behind): read from where it is instead.
                async for event in own_read():
                    yield event
                    if event.event == "done":
                        return
                if tick is None:  # follow a new feed
                    feed.followers.discard(queue)
                    queue = asyncio.Queue(maxsize=QUEUE_EVENTS)
                    feed = await feeds.join(run_id, queue)
                continue
            if tick.points is not None and tick.since == since:
                since = tick.until
                yield tick.points
            if tick.run is not None:
                yield tick.run
            if tick.done is not None:
                yield tick.done
                return
    finally:
        feed.followers.discard(queue)
