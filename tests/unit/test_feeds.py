"""The live feed: one read per run per tick whatever the number of followers, and every follower gets every
point exactly once, in order, whenever it joins, falls behind or reconnects."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.api import feeds as feeds_module
from backend.api.feeds import Feeds, Snapshot, follow


def run_async(main):
    """asyncio.run(main()) in a thread of its own: a session-wide Playwright (the browser tests) keeps an event
    loop running in the main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result(timeout=60)


class FakeRun:
    """A run whose points are appended by the test (seq 1, 2, ...), read the way the API reads the database."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.status = "running"
        self.reads = 0
        self.lock = threading.Lock()

    def write(self, n: int) -> None:
        with self.lock:
            self.values += [float(len(self.values) + i) for i in range(n)]

    def read(self, run_id: str, after: int, with_points: bool) -> Snapshot:
        with self.lock:
            self.reads += 1
            run = {"id": run_id, "status": self.status, "progress": {"x": len(self.values)}, "summary": {}}
            if not with_points:
                return Snapshot(run, [], len(self.values))
            new = self.values[after:]
            if not new:
                return Snapshot(run, [], None)
            series = [{"metric": "loss", "member": None, "x": list(range(after + 1, len(self.values) + 1)),
                       "value": new}]
            return Snapshot(run, series, len(self.values))


async def collect(stream, seen: list[float], stop_after: int | None = None) -> list[str]:
    kinds = []
    async for event in stream:
        kinds.append(event.event)
        if event.event == "metrics":
            seen += json.loads(event.data)["series"][0]["x"]
            if stop_after is not None and len(seen) >= stop_after:
                break
    return kinds


async def drive(run: FakeRun, ticks: int, per_tick: int = 3, finish: bool = True) -> None:
    for _ in range(ticks):
        await asyncio.sleep(0.01)
        run.write(per_tick)
    if finish:
        await asyncio.sleep(0.02)
        run.status = "succeeded"


def test_many_followers_share_one_read_per_tick_and_each_gets_every_point_once():
    async def main():
        run = FakeRun()
        run.write(5)
        feeds = Feeds(run.read, interval=0.005)
        seen = [[] for _ in range(40)]
        tasks = [asyncio.create_task(collect(follow(feeds, "r", 0), seen[i])) for i in range(40)]
        while "r" not in feeds.feeds or len(feeds.feeds["r"].followers) < 40:  # all joined (own read done)
            await asyncio.sleep(0.005)
        loop = asyncio.get_running_loop()
        joined_reads, started = run.reads, loop.time()
        await drive(run, ticks=30)
        kinds = await asyncio.gather(*tasks)
        return run, seen, kinds, joined_reads, loop.time() - started

    run, seen, kinds, joined_reads, elapsed = run_async(main)
    total = len(run.values)
    assert all(points == list(range(1, total + 1)) for points in seen)  # each: every point once, in order
    assert all(k[-1] == "done" and k.count("done") == 1 for k in kinds)
    # once joined (one read of its own each), the 40 share the feed's one read per tick
    ticks = elapsed / 0.005
    assert joined_reads >= 40 and run.reads - joined_reads <= ticks + 2, (run.reads, joined_reads, ticks)


def test_a_follower_joining_mid_run_or_resuming_after_a_cursor_starts_exactly_there():
    async def main():
        run = FakeRun()
        run.write(7)
        feeds = Feeds(run.read, interval=0.005)
        early, late, resumed = [], [], []
        first = asyncio.create_task(collect(follow(feeds, "r", 0), early))
        await drive(run, ticks=10, finish=False)
        second = asyncio.create_task(collect(follow(feeds, "r", 0), late))
        third = asyncio.create_task(collect(follow(feeds, "r", 20), resumed))  # Last-Event-ID 20
        await drive(run, ticks=10)
        await asyncio.gather(first, second, third)
        return run, early, late, resumed

    run, early, late, resumed = run_async(main)
    total = len(run.values)
    assert early == late == list(range(1, total + 1))
    assert resumed == list(range(21, total + 1))


def test_a_follower_that_falls_behind_catches_up_by_its_own_read(monkeypatch):
    monkeypatch.setattr(feeds_module, "QUEUE_EVENTS", 2)

    async def main():
        run = FakeRun()
        feeds = Feeds(run.read, interval=0.002)
        seen: list[float] = []
        stream = follow(feeds, "r", 0)
        first = await anext(stream)  # its own read: the run as it is
        joined = asyncio.create_task(anext(stream))  # joins the feed, takes one tick
        run.write(1)
        got = await joined
        seen += json.loads(got.data)["series"][0]["x"]
        await drive(run, ticks=25, per_tick=1, finish=False)  # meanwhile it reads nothing: its queue overflows
        run.status = "succeeded"
        await asyncio.sleep(0.02)
        rest = await collect(stream, seen)
        return run, first, seen, rest

    run, first, seen, rest = run_async(main)
    assert first.event == "run"
    assert seen == list(range(1, len(run.values) + 1)) and rest[-1] == "done"


def test_a_finished_run_is_answered_by_one_read_without_a_feed():
    async def main():
        run = FakeRun()
        run.write(4)
        run.status = "failed"
        feeds = Feeds(run.read, interval=0.005)
        seen: list[float] = []
        kinds = await collect(follow(feeds, "r", 0), seen)
        return run, kinds, seen, feeds

    run, kinds, seen, feeds = run_async(main)
    assert kinds == ["metrics", "run", "done"] and seen == [1, 2, 3, 4]
    assert run.reads == 1 and feeds.feeds == {}


def test_a_feed_stops_when_its_last_follower_leaves():
    async def main():
        run = FakeRun()
        feeds = Feeds(run.read, interval=0.005)
        seen: list[float] = []
        task = asyncio.create_task(collect(follow(feeds, "r", 0), seen, stop_after=6))
        await drive(run, ticks=5, finish=False)
        await task
        await asyncio.sleep(0.05)
        reads = run.reads
        await asyncio.sleep(0.05)
        return feeds, reads, run.reads

    feeds, before, after = run_async(main)
    assert feeds.feeds == {} and before == after  # nobody follows: nothing reads the run any more


@pytest.mark.parametrize("fail_at", [1, 3])
def test_a_database_error_in_the_feed_does_not_lose_points(fail_at):
    async def main():
        run = FakeRun()
        calls = {"n": 0}
        real = run.read

        def flaky(run_id, after, with_points):
            calls["n"] += 1
            if calls["n"] == fail_at + 2:  # one of the feed's ticks (after the follower's and the feed's first)
                raise RuntimeError("database is locked")
            return real(run_id, after, with_points)

        feeds = Feeds(flaky, interval=0.005)
        seen: list[float] = []
        task = asyncio.create_task(collect(follow(feeds, "r", 0), seen))
        await drive(run, ticks=15)
        await task
        return run, seen

    run, seen = run_async(main)
    assert seen == list(range(1, len(run.values) + 1))


def test_a_follower_that_joins_as_the_run_ends_still_gets_the_last_points():
    async def main():
        run = FakeRun()
        feeds = Feeds(run.read, interval=0.002)
        seen: list[float] = []
        stream = follow(feeds, "r", 0)
        await anext(stream)  # its own read found nothing yet; it joins the feed only when read on
        run.write(12)
        run.status = "succeeded"
        kinds = await collect(stream, seen)
        return run, seen, kinds

    run, seen, kinds = run_async(main)
    assert seen == list(range(1, 13)) and kinds[-1] == "done"
