"""A run's curves and snapshots as the API serves them: downsampled, as JSON series, or as CSV."""

import csv
import io
from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.services.downsample import downsample
from backend.store.models import Run, Snapshot


def marked_steps(run: Run) -> list[int]:
    return [int(t["step"]) for t in (run.summary or {}).get("transitions", []) if "step" in t]


def as_series(steps: np.ndarray, values: np.ndarray) -> dict[str, list]:
    """{"step", "value"} lists for JSON; a non-finite value becomes null."""
    return {"step": steps.tolist(), "value": [float(x) if np.isfinite(x) else None for x in values]}


def downsampled(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], max_points: int, keep_steps: list[int]
) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {}
    for name, (steps, values) in curves.items():
        s, v = downsample(steps, values, max_points, keep_steps)
        out[name] = as_series(s, v)
    return out


def last_step(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> int | None:
    ends = [int(steps[-1]) for steps, _ in curves.values() if len(steps)]
    return max(ends) if ends else None


def to_csv(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """Wide CSV: one row per step, one column per metric, empty where a metric has no value."""
    names = sorted(curves)
    table: dict[int, dict[str, float]] = defaultdict(dict)
    for name in names:
        for step, value in zip(*curves[name], strict=True):
            table[int(step)][name] = float(value)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", *names])
    for step in sorted(table):
        row = table[step]
        writer.writerow([step, *(_cell(row.get(name)) for name in names)])
    return buffer.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None or not np.isfinite(value) else repr(value)


def read_snapshots(session: Session, run_id: str, name: str | None, max_steps: int) -> dict[str, dict]:
    """name -> {steps, shape, values}; at most max_steps snapshots per name, evenly spaced, last kept."""
    query = select(Snapshot).where(Snapshot.run_id == run_id)
    if name:
        query = query.where(Snapshot.name == name)
    grouped: dict[str, list[Snapshot]] = defaultdict(list)
    for snap in session.execute(query.order_by(Snapshot.name, Snapshot.step)).scalars():
        grouped[snap.name].append(snap)
    out: dict[str, dict] = {}
    for key, snaps in grouped.items():
        if len(snaps) > max_steps:
            picks = np.unique(np.linspace(0, len(snaps) - 1, max_steps).round().astype(int))
            snaps = [snaps[i] for i in picks]
        out[key] = {
            "steps": [s.step for s in snaps],
            "shape": snaps[-1].shape,
            "values": [s.values for s in snaps],
        }
    return out
