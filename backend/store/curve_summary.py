"""The downsampling rule for long curves, and the multi-resolution min/max summary that serves it without
reading every point.

The rule (one definition, applied to points in memory and to the summary alike): a series' points, in write
order (x only grows along a series: workers/run_context.py skips a re-logged x), fall into buckets of `size`
consecutive points, `size` the smallest power of two that fits the points asked for (`bucket_size`). Each
bucket keeps its lowest and highest point (so spikes survive; a value that was not finite, stored as NULL, is
skipped; a tie keeps the earlier point). The first and last points, and those exactly at the marked x (detected
transitions), are kept too, so a mark never floats off its curve.

The summary (table metric_buckets) stores the buckets of every size BASE·2^level: point i is in bucket
i >> (BASE_BITS + level). A bucket is written once, in the transaction that writes its last point, so a stored
bucket implies its points are stored, and every level's buckets are stored once the level-0 ones under them
are. A level-(l+1) bucket is two level-l buckets merged, so the writer (`SeriesSummary`) folds each point into
one open bucket and merges upwards as buckets fill: about 2/BASE extra rows per point. Level ENTRY (-1) has
one row per series, written with its first point: a run's series are listed without touching its points.

c0 full level-0 buckets split into the full buckets of any level plus at most one full bucket of each finer
level (`remainder`), and fewer than BASE points follow them (the tail, in `metrics`). That is how a reader
assembles the buckets of any size from a few thousand rows (backend/store/curves.py), and how a new attempt
rebuilds the writer's open buckets (`load_series`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backend.store.db import is_postgres
from backend.store.models import Metric, MetricBucket

BASE_BITS = 4
BASE = 1 << BASE_BITS  # points in a level-0 bucket: ~2/BASE summary rows per point written
ENTRY = -1  # the level of a series' entry row

BUCKETS = cast(Table, MetricBucket.__table__)
METRICS = cast(Table, Metric.__table__)
BUCKET_COLUMNS = ("run_id", "level", "name", "member", "bucket", "last_x", "lo_x", "lo_value", "hi_x", "hi_value")
BucketRow = tuple[str, int, str, str, int, float | None, float | None, float | None, float | None, float | None]


# -- the rule ---------------------------------------------------------------------------------------


def bucket_size(n: int, max_points: int, marks: int = 0) -> int | None:
    """Points per bucket for a series of n points shown in at most max_points (None: show it whole).

    The smallest power of two whose buckets' lows and highs, the two ends and `marks` marked points fit.
    """
    if n <= max_points:
        return None
    size = 2
    while size < n and 2 * -(-n // size) + 2 + marks > max_points:
        size *= 2
    return size


def downsample_arrays(
    x: np.ndarray, values: np.ndarray, max_points: int, marks: Sequence[float] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """The rule applied to one series in memory: (x, values) sorted by x, NaN where not finite."""
    distinct = np.unique(np.asarray(marks, dtype=np.float64))
    size = bucket_size(len(x), max_points, len(distinct))
    if size is None:
        return x, values
    n = len(x)
    finite = np.isfinite(values)
    buckets = -(-n // size)
    low = np.full(buckets * size, np.inf)
    low[:n] = np.where(finite, values, np.inf)
    high = np.full(buckets * size, -np.inf)
    high[:n] = np.where(finite, values, -np.inf)
    starts = np.arange(buckets) * size
    lo = starts + low.reshape(buckets, size).argmin(axis=1)  # argmin/argmax: the first of equals
    hi = starts + high.reshape(buckets, size).argmax(axis=1)
    lo, hi = lo[lo < n], hi[hi < n]
    keep = np.concatenate([lo[finite[lo]], hi[finite[hi]], [0, n - 1], np.flatnonzero(np.isin(x, distinct))])
    idx = np.unique(keep.astype(np.int64))
    return x[idx], values[idx]


# -- buckets ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Extremes:
    """The lowest and highest point of some consecutive points of one series, and the x of the last one."""

    lo_x: float | None = None
    lo_value: float | None = None
    hi_x: float | None = None
    hi_value: float | None = None
    last_x: float | None = None

    def add(self, x: float, value: float | None) -> None:
        if value is not None:
            if self.lo_value is None or value < self.lo_value:
                self.lo_x, self.lo_value = x, value
            if self.hi_value is None or value > self.hi_value:
                self.hi_x, self.hi_value = x, value
        self.last_x = x

    def then(self, later: "Extremes") -> "Extremes":
        """These points followed by `later`'s; a tie keeps the earlier point."""
        lo = later if later.lo_value is not None and (self.lo_value is None or later.lo_value < self.lo_value) else self
        hi = later if later.hi_value is not None and (self.hi_value is None or later.hi_value > self.hi_value) else self
        return Extremes(lo.lo_x, lo.lo_value, hi.hi_x, hi.hi_value, later.last_x if later.last_x is not None
                        else self.last_x)

    def points(self) -> list[tuple[float, float]]:
        out = []
        if self.lo_x is not None and self.lo_value is not None:
            out.append((self.lo_x, self.lo_value))
        if self.hi_x is not None and self.hi_value is not None:
            out.append((self.hi_x, self.hi_value))
        return out


def remainder(c0: int, level: int) -> list[tuple[int, int]]:
    """(level, bucket) of the full buckets finer than `level` that follow its full ones, coarsest (earliest)
    first, when c0 level-0 buckets are full."""
    return [(i, (c0 >> i) - 1) for i in range(level - 1, -1, -1) if (c0 >> i) & 1]


def bucket_row(run_id: str, name: str, member: str, level: int, bucket: int, e: Extremes) -> BucketRow:
    return (run_id, level, name, member, bucket, e.last_x, e.lo_x, e.lo_value, e.hi_x, e.hi_value)


def entry_row(run_id: str, name: str, member: str, x: float, value: float | None) -> BucketRow:
    return (run_id, ENTRY, name, member, 0, None, x, value, None, None)


class SeriesSummary:
    """The writer's open buckets of one series: `add` folds points in and returns the buckets they filled."""

    __slots__ = ("count", "open", "waiting", "frontier")

    def __init__(self, count: int = 0, open_: Extremes | None = None, waiting: dict[int, Extremes] | None = None,
                 frontier: float | None = None) -> None:
        self.count = count  # points folded in
        self.open = open_ or Extremes()  # the open level-0 bucket: its count % BASE points
        self.waiting = waiting or {}  # level -> its last full bucket while that bucket's pair is not full
        self.frontier = frontier  # loaded from the database: points up to this x may already be stored

    def add(self, points: Iterable[tuple[float, float | None]]) -> list[tuple[int, int, Extremes]]:
        """Fold `points` (in write order) in; (level, bucket, extremes) of each bucket they filled."""
        sealed: list[tuple[int, int, Extremes]] = []
        count, e = self.count, self.open
        # The inner loop of every metric write: Extremes.add, inlined on locals.
        lo_x, lo_v, hi_x, hi_v, last_x = e.lo_x, e.lo_value, e.hi_x, e.hi_value, e.last_x
        for x, value in points:
            if value is not None:
                if lo_v is None or value < lo_v:
                    lo_x, lo_v = x, value
                if hi_v is None or value > hi_v:
                    hi_x, hi_v = x, value
            last_x = x
            count += 1
            if not count & (BASE - 1):
                self._seal(0, (count >> BASE_BITS) - 1, Extremes(lo_x, lo_v, hi_x, hi_v, last_x), sealed)
                lo_x = lo_v = hi_x = hi_v = last_x = None
        self.count, self.open = count, Extremes(lo_x, lo_v, hi_x, hi_v, last_x)
        return sealed

    def _seal(self, level: int, bucket: int, extremes: Extremes, sealed: list[tuple[int, int, Extremes]]) -> None:
        while True:
            sealed.append((level, bucket, extremes))
            if not bucket & 1:  # a left half: it waits for its pair
                self.waiting[level] = extremes
                return
            extremes = self.waiting.pop(level).then(extremes)
            level, bucket = level + 1, bucket >> 1


def build_rows(run_id: str, name: str, member: str, points: Sequence[tuple[float, float | None]]) -> list[BucketRow]:
    """Every summary row of one whole series (its entry and its full buckets): for a migration or a repair."""
    if not points:
        return []
    sealed = SeriesSummary().add(points)
    first_x, first_value = points[0]
    return [entry_row(run_id, name, member, first_x, first_value),
            *(bucket_row(run_id, name, member, level, bucket, e) for level, bucket, e in sealed)]


# -- reading the summary back -------------------------------------------------------------------------


def _series(run_id: str, name: str, member: str) -> list:
    return [BUCKETS.c.run_id == run_id, BUCKETS.c.name == name, BUCKETS.c.member == member]


def full_level0(session: Session, run_id: str, name: str, member: str) -> tuple[int, float | None]:
    """(c0, x of the last point of the last full level-0 bucket): c0 * BASE points are summarized."""
    row = session.execute(
        select(BUCKETS.c.bucket, BUCKETS.c.last_x).where(BUCKETS.c.level == 0, *_series(run_id, name, member))
        .order_by(BUCKETS.c.bucket.desc()).limit(1)
    ).first()
    return (0, None) if row is None else (row.bucket + 1, row.last_x)


def buckets_at(session: Session, run_id: str, name: str, member: str, level: int) -> list[Extremes]:
    """Every full bucket of `level`, in order."""
    rows = session.execute(
        select(BUCKETS.c.lo_x, BUCKETS.c.lo_value, BUCKETS.c.hi_x, BUCKETS.c.hi_value, BUCKETS.c.last_x)
        .where(BUCKETS.c.level == level, *_series(run_id, name, member)).order_by(BUCKETS.c.bucket)
    ).all()
    return [Extremes(*row) for row in rows]


def buckets_by_key(session: Session, run_id: str, name: str, member: str,
                   keys: Sequence[tuple[int, int]]) -> list[Extremes]:
    """The buckets (level, bucket) of `keys`, in that order."""
    if not keys:
        return []
    # level IN (...) AND bucket IN (...): index lookups on both databases (a row-value IN scans on SQLite);
    # the few pairs that were not asked for are dropped here.
    rows = session.execute(
        select(BUCKETS.c.level, BUCKETS.c.bucket, BUCKETS.c.lo_x, BUCKETS.c.lo_value, BUCKETS.c.hi_x,
               BUCKETS.c.hi_value, BUCKETS.c.last_x)
        .where(*_series(run_id, name, member), BUCKETS.c.level.in_(sorted({level for level, _ in keys})),
               BUCKETS.c.bucket.in_(sorted({bucket for _, bucket in keys})))
    ).all()
    found = {(row.level, row.bucket): Extremes(*row[2:]) for row in rows}
    return [found[key] for key in keys]


def points_after(session: Session, run_id: str, name: str, member: str, after_x: float | None,
                 limit: int | None = None) -> list[tuple[float, float | None, int]]:
    """(x, value, seq) of the series' stored points past after_x (None: all), by x."""
    query = select(METRICS.c.x, METRICS.c.value, METRICS.c.seq).where(
        METRICS.c.run_id == run_id, METRICS.c.name == name, METRICS.c.member == member)
    if after_x is not None:
        query = query.where(METRICS.c.x > after_x)
    rows = session.execute(query.order_by(METRICS.c.x).limit(limit)).all()
    return [(row.x, row.value, row.seq) for row in rows]


def series_arrays(session: Session, run_id: str, name: str, member: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(x, values, largest seq) of every stored point of one series, by x, NaN where NULL.

    Straight from the driver's cursor into numpy, in the session's transaction: SQLAlchemy's rows cost ~3x the
    query for the thousands of points of a medium curve, which is read whole.
    """
    mark = "%s" if is_postgres(session) else "?"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT x, value, seq FROM metrics WHERE run_id = {mark} AND name = {mark} "
                       f"AND member = {mark} ORDER BY x", (run_id, name, member))
        data = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 3)
    finally:
        cursor.close()
    return data[:, 0].copy(), data[:, 1].copy(), int(data[:, 2].max()) if len(data) else None


def load_series(session: Session, run_id: str, name: str, member: str) -> tuple[SeriesSummary, list[BucketRow]]:
    """The writer's open buckets of a stored series, rebuilt from the summary and the tail (a new attempt).

    Also the rows of buckets its stored points fill but the summary lacks (none when every point went through
    a writer; a self-repair otherwise), for the caller to write.
    """
    c0, last_x = full_level0(session, run_id, name, member)
    waiting_keys = remainder(c0, c0.bit_length() + 1)
    waiting = dict(zip((level for level, _ in waiting_keys),
                       buckets_by_key(session, run_id, name, member, waiting_keys), strict=True))
    state = SeriesSummary(count=c0 * BASE, waiting=waiting)
    tail = points_after(session, run_id, name, member, last_x)
    sealed = state.add((x, value) for x, value, _ in tail)
    state.frontier = tail[-1][0] if tail else last_x
    return state, [bucket_row(run_id, name, member, level, bucket, e) for level, bucket, e in sealed]
