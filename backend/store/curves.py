"""A run's metric points: one row per (metric, family member, x), numbered in write order (`seq`).

`seq` is the live cursor (a reader asks for the points after the last seq it has, whatever their series
or axis) and the resume point (a checkpoint records the seq it covers). The member of a plain metric is
'' and a family member is its float as text (`repr`), so the key is exact and never NULL.

`read_points` reads points whole (the live increments, CSV, a resumed attempt, rescore); `read_downsampled`
reads each series as the downsampling rule keeps it, from the min/max summary (backend/store/curve_summary.py)
plus a few exact points, in milliseconds whatever the curve's length.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.store.curve_summary import (
    BASE,
    BASE_BITS,
    BUCKETS,
    ENTRY,
    METRICS,
    Extremes,
    bucket_size,
    buckets_at,
    buckets_by_key,
    downsample_arrays,
    full_level0,
    points_after,
    remainder,
    series_arrays,
)
from backend.store.db import is_postgres
from backend.store.models import Metric

PLAIN = ""
SeriesKey = tuple[str, float | None]  # (metric name, family member or None)
Points = dict[SeriesKey, tuple[np.ndarray, np.ndarray]]


def member_key(member: float | None) -> str:
    return PLAIN if member is None else repr(float(member))


def member_value(key: str) -> float | None:
    return None if key == PLAIN else float(key)


def read_points(
    session: Session,
    run_id: str,
    names: Iterable[str] | None = None,
    after: int | None = None,
    up_to_seq: int | None = None,
) -> tuple[Points, int | None]:
    """({(name, member): (x, values)} sorted by x, the largest seq read): points with after < seq <= up_to_seq.

    NULL values (not finite when logged) come back as NaN.
    """
    query = select(Metric.name, Metric.member, Metric.x, Metric.value, Metric.seq).where(Metric.run_id == run_id)
    wanted = list(names or [])
    if wanted:
        query = query.where(Metric.name.in_(wanted))
    if after is not None:
        query = query.where(Metric.seq > after)
    if up_to_seq is not None:
        query = query.where(Metric.seq <= up_to_seq)
    columns: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    cursor: int | None = None
    for name, member, at, value, seq in session.execute(query):
        xs, ys = columns[(name, member)]
        xs.append(at)
        ys.append(np.nan if value is None else value)
        cursor = seq if cursor is None or seq > cursor else cursor
    points: Points = {}
    for (name, member), (xs, ys) in sorted(columns.items()):
        x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        order = np.argsort(x, kind="stable")
        points[(name, member_value(member))] = (x[order], y[order])
    return points, cursor


def last_seq(session: Session, run_id: str) -> int:
    """The largest seq stored for the run (0 when none): a new attempt numbers its points after it."""
    return int(session.execute(select(func.coalesce(func.max(Metric.seq), 0)).where(Metric.run_id == run_id))
               .scalar_one())


def one_snapshot(session: Session) -> None:
    """Make the session's reads one snapshot: call before its first query.

    A downsampled read is several queries; under PostgreSQL's default READ COMMITTED each would see the writes
    committed since the one before, and the cursor could disagree with the points. SQLite's read transaction
    is already one snapshot (WAL).
    """
    if is_postgres(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def read_downsampled(
    session: Session,
    run_id: str,
    names: Iterable[str] | None,
    max_points: int,
    marks_of: Callable[[str], Sequence[float]] = lambda name: (),
) -> tuple[Points, int | None]:
    """Like read_points, each series cut to at most max_points by the downsampling rule (curve_summary.py),
    keeping the points at marks_of(metric name); read from the summary, never every point of a long series.

    The cursor is the seq of the newest point of the series read (seq grows with x along a series).
    """
    query = select(BUCKETS.c.name, BUCKETS.c.member, BUCKETS.c.lo_x, BUCKETS.c.lo_value).where(
        BUCKETS.c.run_id == run_id, BUCKETS.c.level == ENTRY)
    wanted = list(names or [])
    if wanted:
        query = query.where(BUCKETS.c.name.in_(wanted))
    entries = sorted(session.execute(query).all())  # Python's order, as read_points: not the database's collation
    if not entries and _has_points(session, run_id, wanted):  # points stored without a summary: read them whole
        points, last = read_points(session, run_id, wanted)
        return {key: downsample_arrays(x, y, max_points, marks_of(key[0])) for key, (x, y) in points.items()}, last
    out: Points = {}
    cursor: int | None = None
    for name, member, first_x, first_value in entries:
        x, y, seq = _downsampled_series(session, run_id, name, member, max_points, marks_of(name), (first_x, first_value))
        out[(name, member_value(member))] = (x, y)
        cursor = seq if cursor is None or (seq is not None and seq > cursor) else cursor
    return out, cursor


def _has_points(session: Session, run_id: str, names: list[str]) -> bool:
    query = select(Metric.seq).where(Metric.run_id == run_id)
    if names:
        query = query.where(Metric.name.in_(names))
    return session.execute(query.limit(1)).first() is not None


def _arrays(points: Iterable[tuple[float, float | None]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted(points)
    x = np.fromiter((p[0] for p in pairs), dtype=np.float64, count=len(pairs))
    y = np.fromiter((np.nan if p[1] is None else p[1] for p in pairs), dtype=np.float64, count=len(pairs))
    return x, y


def _downsampled_series(
    session: Session, run_id: str, name: str, member: str, max_points: int, marks: Sequence[float],
    first: tuple[float, float | None],
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(x, values, seq of the last point) of one series as the rule keeps it."""
    c0, last_full_x = full_level0(session, run_id, name, member)
    tail = points_after(session, run_id, name, member, last_full_x, limit=BASE)
    distinct = sorted(set(marks))
    size = bucket_size(c0 * BASE + len(tail), max_points, len(distinct))
    if size is None or size < BASE or len(tail) == BASE:  # short, or a summary short of its points: whole
        x, y, newest = series_arrays(session, run_id, name, member)
        x, y = downsample_arrays(x, y, max_points, distinct)
        return x, y, newest
    level = size.bit_length() - 1 - BASE_BITS
    full = buckets_at(session, run_id, name, member, level)
    last = Extremes()  # the last, partial bucket: finer full buckets, then the tail
    for finer in buckets_by_key(session, run_id, name, member, remainder(c0, level)):
        last = last.then(finer)
    for px, value, _ in tail:
        last.add(px, value)
    exact = _points_at(session, run_id, name, member, [*distinct, *([] if tail else [last_full_x])])
    end = tail[-1] if tail else next(p for p in exact if p[0] == last_full_x)
    kept: dict[float, float | None] = {first[0]: first[1], end[0]: end[1]}
    for e in (*full, last):
        kept.update(e.points())
    kept.update((px, value) for px, value, _ in exact)
    x, y = _arrays(kept.items())
    return x, y, end[2]


def _points_at(session: Session, run_id: str, name: str, member: str,
               xs: Sequence[float | None]) -> list[tuple[float, float | None, int]]:
    """(x, value, seq) of the series' stored points exactly at `xs`."""
    if not xs:
        return []
    rows = session.execute(select(METRICS.c.x, METRICS.c.value, METRICS.c.seq).where(
        METRICS.c.run_id == run_id, METRICS.c.name == name, METRICS.c.member == member, METRICS.c.x.in_(xs))).all()
    return [(row.x, row.value, row.seq) for row in rows]
