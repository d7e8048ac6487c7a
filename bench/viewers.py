"""A classroom on one laptop: N viewers of one live grokking run, following it the way the run page does.

    .venv/bin/python bench/viewers.py [--viewers 10,30,100] [--databases sqlite,postgres] [--seconds 20]

Starts a real `phaselab serve` with one worker (on a fresh SQLite file, then on a scratch PostgreSQL database),
submits a grokking run long enough to outlast the bench, and opens its run page once in a real browser
(Debian's chromium via Playwright) to record the requests the page makes: the document, Dash's layout and
dependencies, the callbacks that draw it, and the ones it repeats while the run is live. Then, per level, N
simulated viewers (asyncio + httpx, 127.0.0.1 only, each stopping after `--seconds`) each

- load the page: replay the recorded page-load requests, in order;
- follow the run's event stream (`/api/runs/{id}/events`), as the page's EventSource does;
- replay the callbacks the page repeats while the run is live (status, claims, snapshot views, a chart
  redrawn), each as often as the recorded page made it.

It prints, per database and N: the page requests' latency (p50/p95/p99), errors, requests/s; how long a
point takes from committed in the database to received by a viewer (a probe polls the database every 10 ms
for the run's newest point); and the trainer's steps/s beside its steps/s with no viewer, measured in the
same run before and after the levels. Targets on a 2-core machine: 100 viewers, p95 <= 200 ms, a point
within 1 s, no error, the trainer at >= 80 % of its speed alone.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from backend.store.migrate import upgrade  # noqa: E402

POSTGRES_SERVER_URL = os.environ.get("PHASELAB_TEST_POSTGRES_URL",
                                     "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def ramp(n: int) -> float:
    """Viewers arrive spread over this long: a class opening a link, five a second."""
    return max(2.0, n / 5)

ALONE_S = 10.0  # the trainer's speed alone is measured this long, before and after the levels


@dataclass
class Recorded:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    what: str  # "page" or "live"
    every: float = 0.0  # a live callback: the page repeated it this often while recorded

    @property
    def redraw(self) -> bool:
        return "/_draw/" in self.url  # charts drawn again (frontend/live_draws.py)

    @property
    def label(self) -> str:
        """The path, or for a Dash callback the first thing it updates."""
        if "_dash-update-component" not in self.url:
            return self.url.split("/", 3)[-1].split("?")[0]
        output = json.loads(self.body or b"{}").get("output", "")
        return "callback " + output.strip(".").split("...")[0][:40]


@dataclass
class Level:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (when, cursor) of each metrics event
    requests: int = 0


# -- the server and its database --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scratch_database(kind: str, folder: Path):
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        upgrade(url)
        yield url
        return
    admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"phaselab_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def server(url: str, log: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASELAB_")}
    env.update(PHASELAB_DATABASE_URL=url, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", "1",
                                 "--threads", "1"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


class Probe:
    """Polls the database every 10 ms: when did each point become readable, and how far has training got."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url, self.run_id = url, run_id
        self.seen: list[tuple[int, float]] = []  # (newest seq, first time seen), rising
        self.progress: list[tuple[float, float]] = []  # (time, progress x)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _connect(self):
        if self.url.startswith("sqlite"):
            path = self.url.removeprefix("sqlite:///")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            return conn, "?"
        import psycopg

        conn = psycopg.connect(make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False),
                               autocommit=True)
        return conn, "%s"

    def _poll(self) -> None:
        conn, mark = self._connect()
        last = -1
        while not self._stop.is_set():
            seq = conn.execute(f"SELECT max(seq) FROM metrics WHERE run_id = {mark}", (self.run_id,)).fetchone()[0]
            x = conn.execute(f"SELECT progress_x FROM runs WHERE id = {mark}", (self.run_id,)).fetchone()[0]
            now = time.monotonic()
            if seq is not None and seq > last:
                self.seen.append((seq, now))
                last = seq
            self.progress.append((now, x))
            time.sleep(0.01)
        conn.close()

    def start(self) -> "Probe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def visible_at(self, cursor: int) -> float | None:
        return next((at for seq, at in self.seen if seq >= cursor), None)

    def steps_per_second(self, start: float, end: float) -> float:
        inside = [(t, x) for t, x in self.progress if start <= t <= end]
        if len(inside) < 2 or inside[-1][0] == inside[0][0]:
            return float("nan")
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


# -- what the page asks for ---------------------------------------------------------------------------------


def record_page(base: str, run_id: str, seconds: float = 12.0) -> list[Recorded]:
    """Open /runs/<id> in a real browser and keep the requests it makes to the server (not its cached assets):
    those of the first page load, then the callbacks it repeats while the run is live."""
    from playwright.sync_api import sync_playwright

    recorded: list[Recorded] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        loaded = {"at": None}

        def keep(request) -> None:
            path = request.url.removeprefix(base).split("?")[0]
            if path.startswith(("/_dash-component-suites", "/assets", "/_favicon")) or "/events" in path:
                return  # cached by the browser after a first visit / the stream, which viewers open themselves
            what = "page" if loaded["at"] is None or request.url.endswith(f"/runs/{run_id}") else "live"
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
            recorded.append(Recorded(request.method, request.url, request.post_data_buffer, headers, what))

        page.on("request", keep)
        page.goto(f"{base}/runs/{run_id}")
        page.locator(".run-status").wait_for()
        page.wait_for_timeout(1500)  # the page's first callbacks (draw, status, snapshots) are answered
        loaded["at"] = time.monotonic()
        page.wait_for_timeout(seconds * 1000)
        browser.close()
    live = [r for r in recorded if r.what == "live" and ("_dash-update-component" in r.url or "/_draw/" in r.url)]
    # Each callback the page repeated (its newest request), replayed as often as the page made it.
    by_output: dict[str, list[Recorded]] = {}
    for r in live:
        by_output.setdefault(r.label, []).append(r)
    repeated = [Recorded(**{**made[-1].__dict__, "every": seconds / len(made)}) for made in by_output.values()]
    return [r for r in recorded if r.what == "page"] + repeated


def light_page(base: str, run_id: str, result: dict, delay: float) -> None:
    """After `delay`, open a finished run in the explorer in a real browser, twice (the first fills its cache, as
    a returning student's has): how long until its accuracy chart shows the run's last point, and how many
    requests reached the server (its cacheable scripts and styles not counted)."""
    from playwright.sync_api import sync_playwright

    time.sleep(delay)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            context = browser.new_context()
            url = f"{base}/explore/grokking?preset=tiny&run={run_id}"
            for attempt in ("warm", "measured"):
                page = context.new_page()
                hits: list = []

                def count(request, hits: list = hits) -> None:
                    if not any(part in request.url for part in ("/_dash-component-suites/", "/assets/", "_favicon")):
                        hits.append(request)

                page.on("request", count)
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_function("""() => { const gd = document.querySelector('.chart-accuracy .js-plotly-plot');
                    return gd && gd.data && gd.data.length && gd.data[0].x && gd.data[0].x.length > 0; }""",
                                       timeout=30_000)
                if attempt == "measured":
                    waited = sum(max(0.0, r.timing["responseEnd"]) for r in hits) / 1000  # request sent -> answered
                    result.update(seconds=time.perf_counter() - started, requests=len(hits), server=waited)
                page.close()
            browser.close()
    except Exception as exc:  # noqa: BLE001 - reported in the table, not fatal to the bench
        result["error"] = f"{type(exc).__name__}: {str(exc)[:120]}"


# -- viewers ---------------------------------------------------------------------------------------------------


async def timed(client: httpx.AsyncClient, r: Recorded, level: Level) -> None:
    started = time.perf_counter()
    try:
        response = await client.request(r.method, r.url, content=r.body, headers=r.headers)
        if response.status_code >= 400:
            level.errors.append(f"{response.status_code} {r.url}")
    except httpx.HTTPError as exc:
        level.errors.append(f"{type(exc).__name__} {r.url}")
    level.latencies.append(time.perf_counter() - started)
    level.by_kind.setdefault(r.label, []).append(level.latencies[-1])
    level.requests += 1


async def follow(client: httpx.AsyncClient, base: str, run_id: str, after: int, level: Level) -> None:
    try:
        async with client.stream("GET", f"{base}/api/runs/{run_id}/events", params={"after": after},
                                 timeout=httpx.Timeout(10, read=60)) as response:
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.strip()
                    continue
                if fields.get("event") == "metrics" and fields.get("id"):
                    level.arrivals.append((time.monotonic(), int(fields["id"])))
                fields = {}
    except httpx.HTTPError as exc:
        level.errors.append(f"stream {type(exc).__name__}")


async def repeat(client: httpx.AsyncClient, r: Recorded, level: Level, until: float) -> None:
    """The page's callback `r`, as often as the page made it. A chart is drawn again when the run's data asks
    for it (its loss falls a decade, a transition is marked): at the same moment for every viewer of the run,
    spread over 1.5 s as the page does; the status and snapshot callbacks follow each viewer's own cadence
    (a changed summary, at most every 10 s), from a random phase."""
    if r.redraw:  # each browser asks at a random point of 1.5 s (frontend/assets/live.js SPREAD_S)
        await asyncio.sleep((r.every - time.monotonic() % r.every) + random.uniform(0, 1.5))
    else:
        await asyncio.sleep(random.uniform(0, r.every))
    while time.monotonic() < until:
        await timed(client, r, level)
        await asyncio.sleep(r.every)


async def viewer(i: int, n: int, base: str, run_id: str, after: int, page: list[Recorded], level: Level,
                 until: float) -> None:
    await asyncio.sleep(ramp(n) * i / n)
    # A connection idle past the server's keep-alive (uvicorn: 5 s) is not reused: the server may close it just as
    # a request goes out, which a browser retries and httpx does not.
    limits = httpx.Limits(max_connections=2, keepalive_expiry=4.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client, httpx.AsyncClient(timeout=30) as stream:
        for r in (r for r in page if r.what == "page"):
            await timed(client, r, level)
        follower = asyncio.create_task(follow(stream, base, run_id, after, level))
        repeats = [asyncio.create_task(repeat(client, r, level, until)) for r in page if r.what == "live"]
        await asyncio.gather(*repeats)
        follower.cancel()
        with suppress(asyncio.CancelledError):
            await follower


async def level_of(n: int, base: str, run_id: str, after: int, page: list[Recorded], seconds: float) -> Level:
    level = Level()
    until = time.monotonic() + ramp(n) + seconds
    await asyncio.gather(*(viewer(i, n, base, run_id, after, page, level, until) for i in range(n)))
    return level


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else float("nan")


def bench_database(kind: str, counts: list[int], seconds: float, steps: int, folder: Path) -> list[dict]:
    rows = []
    with scratch_database(kind, folder) as url, server(url, folder / f"server-{kind}.log") as base:
        finished = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"}).json()["id"]
        while httpx.get(f"{base}/api/runs/{finished}").json()["status"] != "succeeded":
            time.sleep(0.2)
        created = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "default",
                                                       "config": {"steps": steps}}, timeout=30)
        created.raise_for_status()
        run_id = created.json()["id"]
        while httpx.get(f"{base}/api/runs/{run_id}").json()["progress"]["x"] < 20:
            time.sleep(0.2)
        probe = Probe(url, run_id).start()
        page = record_page(base, run_id)
        quiet: dict = {}
        light_page(base, finished, quiet, 0.0)  # the same page load with nobody else on the server
        start = time.monotonic()
        time.sleep(ALONE_S)
        alone = [probe.steps_per_second(start, time.monotonic())]
        for n in counts:
            after = int(httpx.get(f"{base}/api/runs/{run_id}/metrics", params={"names": "train/acc"}).json()["cursor"])
            began = time.monotonic()
            light: dict = {}
            visitor = threading.Thread(target=light_page, args=(base, finished, light, ramp(n) + seconds / 3))
            if n == max(counts):  # a visitor opens another, finished run while the most viewers follow this one
                visitor.start()
            level = asyncio.run(level_of(n, base, run_id, after, page, seconds))
            if visitor.is_alive() or visitor.ident:
                visitor.join(timeout=60)
            steady = probe.steps_per_second(began + ramp(n), time.monotonic())
            delays = [at - seen for at, cursor in level.arrivals if (seen := probe.visible_at(cursor)) is not None]
            rows.append({"database": kind, "viewers": n, "requests": level.requests,
                         "per_s": level.requests / (time.monotonic() - began),
                         "p50": percentile(level.latencies, 50), "p95": percentile(level.latencies, 95),
                         "p99": percentile(level.latencies, 99), "errors": len(level.errors),
                         "error_kinds": sorted(set(level.errors))[:3],
                         "point_p50": percentile(delays, 50), "point_p95": percentile(delays, 95),
                         "steps_per_s": steady, "light": light, "quiet": quiet})
            for kind_, values in sorted(level.by_kind.items()):
                print(f"    {n} viewers: {kind_:50s} n={len(values):5d} p50 {1000 * percentile(values, 50):6.0f} ms"
                      f"  p95 {1000 * percentile(values, 95):6.0f} ms")
        start = time.monotonic()
        time.sleep(ALONE_S)
        alone.append(probe.steps_per_second(start, time.monotonic()))
        probe.stop()
        status = httpx.get(f"{base}/api/runs/{run_id}").json()["status"]
        if status != "running":
            print(f"  note: the run was {status} by the end: lengthen it with --steps")
        for r in page:
            print(f"    recorded: {r.what:4s} {r.label:50s}" + (f" every {r.every:.1f} s" if r.every else ""))
        for row in rows:
            row["alone"] = statistics.mean(alone)
            row["ratio"] = row["steps_per_s"] / row["alone"]
        print(f"  {kind}: page requests recorded from a real browser: "
              f"{sum(r.what == 'page' for r in page)} on load, {sum(r.what == 'live' for r in page)} repeated")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="10,30,100")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=20.0, help="each level lasts this long after its ramp")
    parser.add_argument("--steps", type=int, default=4000, help="the grokking run's steps: it must outlast the bench")
    args = parser.parse_args()
    counts = [int(n) for n in args.viewers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.databases.split(","):
            try:
                rows += bench_database(kind, counts, args.seconds, args.steps, Path(folder))
            except Exception as exc:  # noqa: BLE001 - a database that is not there is reported, not fatal
                print(f"  {kind}: skipped ({type(exc).__name__}: {str(exc)[:200]})")
    print("\n| database | viewers | page requests | req/s | p50 ms | p95 ms | p99 ms | errors | point → viewer p50 / p95 s"
          " | trainer steps/s (alone) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for r in rows:
        print(f"| {r['database']} | {r['viewers']} | {r['requests']} | {r['per_s']:.0f} | {1000 * r['p50']:.0f} | "
              f"{1000 * r['p95']:.0f} | {1000 * r['p99']:.0f} | {r['errors']} | {r['point_p50']:.2f} / "
              f"{r['point_p95']:.2f} | {r['steps_per_s']:.1f} ({r['alone']:.1f}) | {r['ratio']:.2f} |")
        if r["error_kinds"]:
            print(f"|   errors, e.g. {', '.join(r['error_kinds'])} |")
    def told(load: dict) -> str:
        return load.get("error") or (f"{load['seconds']:.2f} s to its drawn chart, {load['requests']} requests "
                                     f"answered in {load['server']:.2f} s in all")

    for r in rows:
        if r["light"]:
            print(f"\n{r['database']}: a finished run opened in the explorer (browser cache warm): "
                  f"{told(r['quiet'])} on a quiet server; {told(r['light'])} while {r['viewers']} viewers follow "
                  "another run")


if __name__ == "__main__":
    main()
