"""A run's metric points: one row per (metric, family member, x), numbered in write order (`seq`).

`seq` is the live cursor (a reader asks for the points after the last seq it has, whatever their series
or axis) and the resume point (a checkpoint records the seq it covers). The member of a plain metric is
'' and a family member is its float as text (`repr`), so the key is exact and never NULL.
"""

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
