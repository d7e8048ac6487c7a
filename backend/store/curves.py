"""Reading a run's curves back from the metrics table: the API serves them, a resumed worker reloads them."""

from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.store.models import Metric


def read_curves(
    session: Session,
    run_id: str,
    names: list[str] | None = None,
    after_step: int | None = None,
    up_to_step: int | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (steps, values) sorted by step, for after_step < step <= up_to_step; NULL comes back as NaN."""
    query = select(Metric.name, Metric.step, Metric.value).where(Metric.run_id == run_id)
    if names:
        query = query.where(Metric.name.in_(names))
    if after_step is not None:
        query = query.where(Metric.step > after_step)
    if up_to_step is not None:
        query = query.where(Metric.step <= up_to_step)
    columns: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for name, step, value in session.execute(query.order_by(Metric.name, Metric.step)):
        steps, values = columns[name]
        steps.append(step)
        values.append(np.nan if value is None else value)
    return {
        name: (np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64))
        for name, (steps, values) in columns.items()
    }
