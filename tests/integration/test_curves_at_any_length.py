"""Curves at any length, on SQLite and PostgreSQL: the min/max summary the writer keeps serves exactly what
downsampling the whole curve keeps (each bucket's low and high, the ends, the marks), for plain series and
family members, after a resume, a failed write and a rescore, without reading every point of a long curve.

Two checks carry most tests:
- `assert_summary_is_its_points`: the stored summary rows are exactly those the stored points imply
  (`build_rows` of each series, as read back whole): nothing counted twice, no re-logged value in it;
- `assert_reads_agree`: `read_downsampled` (the summary) equals `read_points` + the rule in memory, cursor too.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text, update

from backend.main import create_api
from backend.services import metrics as service
from backend.services.rescore import rescore
from backend.store import curves
from backend.store.curve_summary import BASE, BUCKET_COLUMNS, BUCKETS, ENTRY, build_rows, downsample_arrays
from backend.store.curves import read_downsampled, read_points
from backend.store.db import make_engine, make_sessionmaker, transaction
from backend.store.migrate import upgrade
from backend.store.models import Run
from backend.store.runstate import Fenced, claim_by_id
from backend.store.settings import Settings
from backend.store.vocabulary import RunStatus
from tests.integration.conftest import TestDB
from workers import phenomena
from workers import writer as writer_module
from workers.run_context import RunContext

pytestmark = pytest.mark.integration

CONFIG = {"p": 11, "embed_dim": 16, "width": 32, "lr": 1e-2, "steps": 100_000}
GROKKING = phenomena.load("grokking")


def quiet_settings(db: TestDB, flush_rows: int = 500) -> Settings:
    """Only the row count triggers a write: no timed flushes, heartbeats or checkpoints."""
    return Settings(database_url=db.url, flush_rows=flush_rows, flush_seconds=3600, heartbeat_seconds=3600,
                    lease_seconds=7200, checkpoint_seconds=3600)


def attempt(db: TestDB, run_id: str, settings: Settings) -> RunContext:
    """A started RunContext of a new attempt: the run is claimed first (its lease made to look expired if held)."""
    with transaction(db.sessions) as session:
        session.execute(update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING)
                        .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    number = claim_by_id(db.sessions, run_id, "test:1", settings.lease_seconds, "cpu")
    assert number is not None
    ctx = RunContext(run_id=run_id, attempt=number, phenomenon=GROKKING, config=GROKKING.config.model_validate(CONFIG),
                     device="cpu", settings=settings, session_factory=db.sessions)
    ctx.start()
    return ctx


def wavy(step: int, shift: float = 0.0) -> float:
    """A curve with a spike, a dip and a few non-finite values (stored as NULL)."""
    if step % 997 == 13:
        return float("nan") if step % 2 else float("inf")
    if step == 4321:
        return 80.0
    if step == 12_345:
        return -80.0
    return round(np.sin(step / 300.0) + shift, 2)  # rounded: ties, which go to the earlier point


def log_curves(ctx: RunContext, steps: range, shift: float = 0.0, val_until: int | None = None) -> None:
    """Plain series of different lengths and axes' spacing, and two members of grokking's grokfast family."""
    for step in steps:
        ctx.log(step, {"train/loss": wavy(step, shift), "train/acc": min(1.0, step / 2000)})
        if step % 7 == 0 and (val_until is None or step <= val_until):
            ctx.log(step, {"val/loss": wavy(step * 3, shift)})
        if step % 50 == 0:
            for member in (0.5, 2.0):
                ctx.log(step, {"grokfast/val_acc": wavy(step + int(member * 10), shift)}, member=member)
        if step < 5:
            ctx.log(step, {"weight_norm": 1.0 + step})  # shorter than a bucket


def assert_summary_is_its_points(db: TestDB, run_id: str) -> None:
    with db.sessions() as session:
        points, _ = read_points(session, run_id)
        stored = sorted(tuple(row) for row in session.execute(
            select(*(BUCKETS.c[c] for c in BUCKET_COLUMNS)).where(BUCKETS.c.run_id == run_id)))
    expected = []
    for (name, member), (x, y) in points.items():
        pairs = [(float(a), None if np.isnan(b) else float(b)) for a, b in zip(x, y, strict=True)]
        expected += build_rows(run_id, name, curves.member_key(member), pairs)
    assert stored == sorted(expected)


def assert_reads_agree(db: TestDB, run_id: str, max_points: Sequence[int] = (8, 100, 2000),
                       marks: Callable[[str], list[float]] = lambda name: []) -> None:
    with db.sessions() as session:
        whole, whole_cursor = read_points(session, run_id)
        for cap in max_points:
            shown, cursor = read_downsampled(session, run_id, None, cap, marks)
            assert cursor == whole_cursor and list(shown) == list(whole)
            for key, (x, y) in whole.items():
                want_x, want_y = downsample_arrays(x, y, cap, marks(key[0]))
                got_x, got_y = shown[key]
                assert np.array_equal(got_x, want_x), (key, cap)
                assert np.array_equal(got_y, want_y, equal_nan=True), (key, cap)
                assert len(got_x) <= cap


@pytest.fixture
def run_id(db: TestDB) -> str:
    return db.create(CONFIG)


def test_long_and_short_series_and_members_come_from_the_summary_as_the_whole_read_keeps_them(db, run_id,
                                                                                               monkeypatch):
    ctx = attempt(db, run_id, quiet_settings(db))
    try:
        log_curves(ctx, range(20_000))
        ctx.writer.flush()
    finally:
        ctx.close()
    assert_summary_is_its_points(db, run_id)
    marks = {"train/loss": [4321.0, 100.0, 100.0, 0.5], "val/loss": [7.0 * 1000]}  # 0.5: on no point
    assert_reads_agree(db, run_id, marks=lambda name: marks.get(name, []))

    read_whole = []  # the series read point by point: only the short ones
    real = curves.series_arrays
    monkeypatch.setattr(curves, "series_arrays", lambda s, r, name, member: read_whole.append(name) or real(s, r, name, member))
    monkeypatch.setattr(curves, "read_points", None)  # a downsampled read never reads the run whole
    with db.sessions() as session:
        shown, _ = read_downsampled(session, run_id, None, 100, lambda name: marks.get(name, []))
    assert read_whole == ["weight_norm"]  # 5 points: shown whole; 400 (the members) are 25 buckets already
    loss_x, loss_y = shown[("train/loss", None)]
    assert len(loss_x) <= 100 and 80.0 in loss_y and -80.0 in loss_y and 4321.0 in loss_x and 100.0 in loss_x
    assert loss_x[0] == 0 and loss_x[-1] == 19_999
    assert set(shown) == {("train/loss", None), ("train/acc", None), ("val/loss", None), ("weight_norm", None),
                          ("grokfast/val_acc", 0.5), ("grokfast/val_acc", 2.0)}


def test_a_resumed_attempt_leaves_the_summary_exact(db, run_id):
    """The killed attempt wrote past its checkpoint (val/loss less far than train/loss); the next one re-logs
    those steps with other values, which the database ignores: so must the summary."""
    settings = quiet_settings(db, flush_rows=3 * BASE + 5)  # writes that straddle what was stored
    first = attempt(db, run_id, settings)
    try:
        log_curves(first, range(3000))
        first.writer.checkpoint(2999, b"state")
        log_curves(first, range(3000, 4100), val_until=3550)
        first.writer.flush()  # and then it is killed: no finish
    finally:
        first.close()
    with db.sessions() as session:
        killed, _ = read_points(session, run_id)

    second = attempt(db, run_id, settings)
    try:
        log_curves(second, range(3000, 6000), shift=0.25)  # other values: a re-logged point must not count
        second.writer.finish(RunStatus.SUCCEEDED)
    finally:
        second.close()
    with db.sessions() as session:
        final, _ = read_points(session, run_id)
    x, y = final[("train/loss", None)]
    assert np.array_equal(x, np.arange(6000)) and y[3500] == killed[("train/loss", None)][1][3500]  # the first value
    assert y[5000] == wavy(5000, 0.25)
    val_x, _ = final[("val/loss", None)]
    assert np.array_equal(val_x, np.arange(0, 6000, 7))  # the killed attempt's and the new points, no gap
    assert_summary_is_its_points(db, run_id)
    assert_reads_agree(db, run_id, max_points=(8, 50, 300, 2000), marks=lambda name: [3550.0, 4000.0])


def test_a_stale_attempt_writes_no_summary_and_a_failed_write_reloads_it(db, run_id, monkeypatch):
    settings = quiet_settings(db, flush_rows=10**6)
    ctx = attempt(db, run_id, settings)
    try:
        log_curves(ctx, range(1000))
        real = writer_module._insert_tuples
        calls = []

        def fail_once(session, table, columns, types, rows):  # type: ignore[no-untyped-def]
            calls.append(table)
            if len(calls) == 2:  # the summary rows of the first write: after its buckets were folded
                raise RuntimeError("disk full")
            real(session, table, columns, types, rows)

        monkeypatch.setattr(writer_module, "_insert_tuples", fail_once)
        with pytest.raises(RuntimeError, match="disk full"):
            ctx.writer.flush()
        assert db.metric_count(run_id) == 0
        ctx.writer.flush()  # the same rows again, the buckets rebuilt from what is stored
        assert_summary_is_its_points(db, run_id)

        log_curves(ctx, range(1000, 1500))
        stale = attempt(db, run_id, settings)  # another worker took the run over
        stale.close()
        with pytest.raises(Fenced):
            ctx.writer.flush()
    finally:
        ctx.close()
    assert db.metric_count(run_id) == 1000 * 2 + 143 + 2 * 20 + 5
    assert_summary_is_its_points(db, run_id)


def test_the_api_serves_the_summary_in_the_same_shape_and_rescore_moves_the_marks(db, run_id):
    ctx = attempt(db, run_id, quiet_settings(db))
    try:
        log_curves(ctx, range(12_000))
        ctx.writer.finish(RunStatus.SUCCEEDED)
    finally:
        ctx.close()
    fake = {"transitions": [{"id": "fake", "label": "a mark between buckets", "axis": "step", "x": 4322.0}]}
    with transaction(db.sessions) as session:
        session.execute(update(Run).where(Run.id == run_id).values(summary=fake))
    summary_before = _bucket_rows(db, run_id)

    with TestClient(create_api(Settings(database_url=db.url))) as client:
        def check(max_points: int) -> dict:
            answer = client.get(f"/api/runs/{run_id}/metrics", params={"max_points": max_points})
            assert answer.status_code == 200
            body = answer.json()
            with db.sessions() as session:
                run = session.get_one(Run, run_id)
                points, cursor = read_points(session, run_id)
                before = service.as_series(points, GROKKING, max_points, service.marks_by_axis(run))
            assert body == {"series": before, "cursor": cursor, "truncated": False}  # what the whole read gave
            assert all(len(s["x"]) <= max_points for s in body["series"])
            return body

        body = check(200)
        loss = next(s for s in body["series"] if s["metric"] == "train/loss")
        assert 4322.0 in loss["x"], loss["x"]
        assert 80.0 in loss["value"] and -80.0 not in loss["value"]  # the mark and the spike (step 12,345 is past the end)
        assert [(s["metric"], s["member"]) for s in body["series"]][:2] == [("grokfast/val_acc", 0.5),
                                                                            ("grokfast/val_acc", 2.0)]
        check(2000)

        changed = rescore(db.sessions)
        assert [r.run_id for r in changed] == [run_id] and changed[0].changed
        with db.sessions() as session:
            marks = service.marks_by_axis(session.get_one(Run, run_id))
        assert 4322.0 not in marks.get("step", [])
        body = check(200)
        assert 4322.0 not in next(s for s in body["series"] if s["metric"] == "train/loss")["x"]
        assert _bucket_rows(db, run_id) == summary_before  # the summary does not depend on the marks

        some = client.get(f"/api/runs/{run_id}/metrics", params={"names": "val/loss", "max_points": 100}).json()
        assert [s["metric"] for s in some["series"]] == ["val/loss"] and len(some["series"][0]["x"]) <= 100
        newer = client.get(f"/api/runs/{run_id}/metrics", params={"after": body["cursor"] - 3}).json()
        assert newer["truncated"] is False and sum(len(s["x"]) for s in newer["series"]) == 3
        csv = client.get(f"/api/runs/{run_id}/metrics", params={"format": "csv", "names": "weight_norm"}).text
        assert csv.splitlines() == ["metric,member,x,value"] + [f"weight_norm,,{float(s)!r},{1.0 + s!r}"
                                                                for s in range(5)]


def _bucket_rows(db: TestDB, run_id: str) -> list[tuple]:
    with db.sessions() as session:
        return sorted(tuple(row) for row in session.execute(select(BUCKETS).where(BUCKETS.c.run_id == run_id)))


def test_the_migration_builds_the_summary_of_runs_stored_before_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    engine = create_engine(url)
    values = [wavy(step) for step in range(5000)]
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO runs (id, phenomenon, config, seed, code_version, content_hash, queue, status, "
            "cancel_requested, attempts, max_attempts, progress_x, progress_total, summary, created_at, updated_at) "
            "VALUES ('old', 'grokking', '{}', 0, '1', :hash, 'cpu', 'succeeded', false, 1, 3, 4999, 4999, '{}', "
            ":now, :now)"), {"hash": "e" * 64, "now": datetime.now(UTC)})
        conn.execute(text("INSERT INTO metrics (run_id, name, member, x, value, seq) VALUES ('old', :n, :m, :x, :v, :s)"),
                     [{"n": name, "m": member, "x": float(step), "v": value if np.isfinite(value) else None,
                       "s": 3 * step + k}
                      for step, value in enumerate(values)
                      for k, (name, member) in enumerate((("train/loss", ""), ("grokfast/val_acc", "0.5")))])
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        db = TestDB("sqlite", url, engine, make_sessionmaker(engine))
        assert_summary_is_its_points(db, "old")
        assert_reads_agree(db, "old", marks=lambda name: [1234.0])
        with db.sessions() as session:
            entries = session.execute(select(BUCKETS.c.name).where(BUCKETS.c.level == ENTRY)).scalars().all()
        assert sorted(entries) == ["grokfast/val_acc", "train/loss"]
    finally:
        engine.dispose()
