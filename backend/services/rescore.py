"""`phaselab rescore`: recompute stored runs' summaries from their stored curves, without retraining.

After a detector, fit or claim changes, stored runs keep their curves; their transitions and verdicts are
recomputed with the same `contract.evaluate` the worker runs. Only finished runs are touched (a running
run's worker writes its own summary); a run whose config no longer validates is skipped and reported.
"""

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend import catalogue
from backend.store.curves import read_points
from backend.store.db import transaction
from backend.store.models import Run
from backend.store.vocabulary import FINAL_STATUSES, RunStatus
from workers.phenomena.contract import Curves, RunSummary, evaluate


@dataclass(frozen=True)
class Rescored:
    run_id: str
    phenomenon: str
    changed: bool  # the verdicts or transitions differ from the stored ones
    skipped: str | None = None  # why it was left alone


def rescore(sessions: sessionmaker[Session], phenomenon: str | None = None) -> list[Rescored]:
    with sessions() as session:
        query = select(Run.id, Run.phenomenon).where(Run.status.in_(FINAL_STATUSES)).order_by(Run.created_at)
        if phenomenon is not None:
            query = query.where(Run.phenomenon == phenomenon)
        todo = session.execute(query).all()
    return [_rescore_one(sessions, run_id, name) for run_id, name in todo]


def _rescore_one(sessions: sessionmaker[Session], run_id: str, name: str) -> Rescored:
    try:
        ph = catalogue.get(name)
    except catalogue.UnknownPhenomenon:
        return Rescored(run_id, name, False, f"phenomenon {name!r} is no longer in the catalogue")
    with transaction(sessions) as session:
        run = session.get_one(Run, run_id)
        try:
            config = ph.config.model_validate(run.config)
        except ValidationError as exc:
            return Rescored(run_id, name, False, f"its config no longer validates: {exc.errors()[0]['msg']}")
        points, _ = read_points(session, run_id)
        summary = evaluate(ph, Curves(points, finished=run.status == RunStatus.SUCCEEDED), config)
        changed = _verdicts(summary) != _verdicts(RunSummary.model_validate(run.summary or {}))
        session.execute(update(Run).where(Run.id == run_id).values(summary=summary.model_dump(mode="json")))
    return Rescored(run_id, name, changed)


def _verdicts(summary: RunSummary) -> tuple:
    claims = tuple((c.id, c.verdict, c.value) for c in summary.claims)
    marks = tuple((t.id, t.x) for t in summary.transitions)
    return claims, marks
