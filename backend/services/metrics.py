"""A run's curves and snapshots as the API serves them: per series, downsampled, as JSON or as CSV.

A whole curve (no cursor) is read from the curves' min/max summary (`downsampled`), which keeps what
downsampling the points in memory keeps; increments are read whole and downsampled here only when a
sleeping tab asks for more than it should draw.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.services.downsample import downsample
from backend.store.curves import Points, read_downsampled
from backend.store.models import Run, Snapshot
from workers.phenomena.contract import Phenomenon, RunSummary


def marks_by_axis(run: Run) -> dict[str, list[float]]:
    """Each axis's marked x (detected transitions): downsampling keeps the points there."""
    marks: dict[str, list[float]] = defaultdict(list)
    for t in RunSummary.model_validate(run.summary or {}).transitions:  # reads pre-v2 summaries too
        marks[t.axis].append(t.x)
    return marks


def downsampled(session: Session, run: Run, ph: Phenomenon | None, names: list[str] | None,
                max_points: int) -> tuple[list[dict], int | None]:
    """([{metric, member, x, value}], cursor): every series of the run, as `as_series` would downsample it
    after reading it whole, read from the summary instead."""
    marks = marks_by_axis(run)

    def marks_of(name: str) -> list[float]:
        metric = ph.metric(name) if ph is not None else None
        return marks.get(metric.axis if metric else "step", [])

    points, cursor = read_downsampled(session, run.id, names, max_points, marks_of)
    return as_series(points), cursor


def _values(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def as_series(points: Points, ph: Phenomenon | None = None, max_points: int | None = None,
              marks: Mapping[str, list[float]] | None = None) -> list[dict]:
    """[{metric, member, x, value}] for JSON, each series min/max-downsampled to about max_points (None: all),
    keeping the points at the marked x of its own axis; a non-finite value becomes null."""
    out = []
    for (name, member), (x, y) in points.items():
        if max_points is not None:
            metric = ph.metric(name) if ph is not None else None
            keep = (marks or {}).get(metric.axis if metric else "step", [])
            x, y = downsample(x, y, max_points, keep)
        out.append({"metric": name, "member": member, "x": x.tolist(), "value": _values(y)})
    return out


def to_csv(points: Points) -> str:
    """Long ("tidy") CSV: metric, member (empty for a plain metric), x, value (empty where not finite)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "member", "x", "value"])
    for (name, member), (xs, ys) in points.items():
        member_text = "" if member is None else repr(member)
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            writer.writerow([name, member_text, repr(x), repr(y) if np.isfinite(y) else ""])
    return buffer.getvalue()


# -- snapshots ------------------------------------------------------------------------------------


def snapshot_index(session: Session, run_id: str) -> dict[str, dict]:
    """name -> {steps, shape}: which steps are stored, without their values."""
    index: dict[str, dict] = {}
    query = select(Snapshot.name, Snapshot.step, Snapshot.shape).where(Snapshot.run_id == run_id)
    for name, step, shape in session.execute(query.order_by(Snapshot.name, Snapshot.step)):
        entry = index.setdefault(name, {"steps": [], "shape": shape})
        entry["steps"].append(step)
        entry["shape"] = shape
    return index


def snapshot_at(session: Session, run_id: str, name: str, step: int | None) -> Snapshot | None:
    """The snapshot `name` at `step` exactly (None: the latest), or None."""
    query = select(Snapshot).where(Snapshot.run_id == run_id, Snapshot.name == name)
    if step is not None:
        query = query.where(Snapshot.step == step)
    return session.execute(query.order_by(Snapshot.step.desc()).limit(1)).scalar_one_or_none()


def snapshot_history(session: Session, run_id: str, name: str, max_steps: int) -> dict | None:
    """{steps, shape, values} of `name`, at most max_steps evenly spaced steps (the first and last kept)."""
    steps = list(session.execute(select(Snapshot.step).where(Snapshot.run_id == run_id, Snapshot.name == name)
                                 .order_by(Snapshot.step)).scalars())
    if not steps:
        return None
    if len(steps) > max_steps:
        steps = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, max_steps).round().astype(int))]
    snaps = session.execute(select(Snapshot).where(Snapshot.run_id == run_id, Snapshot.name == name,
                                                   Snapshot.step.in_(steps)).order_by(Snapshot.step)).scalars()
    rows = list(snaps)
    return {"name": name, "steps": [s.step for s in rows], "shape": rows[-1].shape, "values": [s.values for s in rows]}
