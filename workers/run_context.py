"""The RunContext a trainer talks to: log, snapshot, should_stop, checkpoint, checkpoint_due, restore.

It hands what the trainer logs to the attempt's fenced writer (workers/writer.py) and keeps the
attempt alive with a heartbeat thread (workers/heartbeat.py); once the attempt is fenced, the next
call raises `Fenced` and the trainer stops.

The curves are also kept in memory (on resume: reloaded up to the checkpoint) for the spec's
detect() and CLAIMS, evaluated at most every SUMMARY_SECONDS and at the end; runs.summary is written
in the same fenced transaction as the rows it was computed from.
"""

import io
import logging
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.store.curves import read_curves
from backend.store.models import Checkpoint, Run
from backend.store.settings import Settings
from workers.heartbeat import Heartbeat
from workers.writer import RunWriter

log = logging.getLogger("phaselab.worker")

StopReason = Literal["cancel", "shutdown"]


class RunContext:
    """One attempt of one run, as the trainer sees it (workers/phenomena/contract.py's RunContext).

    `writer` is execute_run's side of the attempt: flush, finish, requeue, and the counts it logs.
    """

    def __init__(
        self,
        *,
        run_id: str,
        attempt: int,
        spec: ModuleType,
        config: BaseModel,
        device: str,
        settings: Settings,
        session_factory: sessionmaker[Session],
        stop_requested: Callable[[], StopReason | None] | None = None,
    ) -> None:
        self.device = device
        self.run_id, self.attempt = run_id, attempt
        self._spec, self._config, self._settings = spec, config, settings
        self._sessions = session_factory
        self._stop_requested = stop_requested or (lambda: None)
        self.stop_reason: StopReason | None = None
        self._curves: dict[str, tuple[list[int], list[float]]] = {}  # in memory for detect / CLAIMS
        self._last_checkpoint = time.monotonic()
        self.writer = RunWriter(run_id=run_id, attempt=attempt, settings=settings,
                                session_factory=session_factory, summarize=self.summary)
        self._heartbeat = Heartbeat(self.writer, settings.heartbeat_seconds, name=f"heartbeat-{run_id}")

    # -- lifecycle (execute_run) -----------------------------------------------------------------

    def start(self) -> None:
        """Load the curves up to the checkpoint (a resumed run), then start the heartbeat thread."""
        with self._sessions() as session:
            checkpoint_step = session.execute(
                select(Run.checkpoint_step).where(Run.id == self.run_id)
            ).scalar_one_or_none()
            if checkpoint_step is not None:
                stored = read_curves(session, self.run_id, up_to_step=checkpoint_step)
                self._curves = {name: (xs.tolist(), ys.tolist()) for name, (xs, ys) in stored.items()}
                self.writer.checkpoint_step = self.writer.progress = checkpoint_step
        self._heartbeat.start()

    def close(self) -> None:
        self._heartbeat.stop()

    # -- the trainer's side ----------------------------------------------------------------------

    def log(self, step: int, values: Mapping[str, float]) -> None:
        self._touch()
        for name, raw in values.items():
            value = float(raw)
            self.writer.add_metric(step, name, value)
            xs, ys = self._curves.setdefault(name, ([], []))
            if not xs or step > xs[-1]:  # curves stay sorted; a re-logged step keeps its first value
                xs.append(step)
                ys.append(value)
        self.writer.advance(step)
        self.writer.flush_if_due()

    def snapshot(self, step: int, name: str, array: Any) -> None:
        self._touch()
        self.writer.add_snapshot(step, name, np.asarray(array, dtype=float))

    def should_stop(self) -> bool:
        self._touch()
        self.writer.flush_if_due()
        reason: StopReason | None = "cancel" if self.writer.cancel_requested else self._stop_requested()
        if reason is not None:
            self.stop_reason = self.stop_reason or reason
            return True
        return False

    def checkpoint(self, step: int, state: dict[str, Any]) -> None:
        import torch

        self._touch()
        buffer = io.BytesIO()
        torch.save(state, buffer)  # serialized outside the transaction: locks stay short
        self.writer.checkpoint(step, buffer.getvalue())
        self._last_checkpoint = time.monotonic()

    def checkpoint_due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self._settings.checkpoint_seconds

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        import torch

        with self._sessions() as session:
            row = session.execute(
                select(Checkpoint.step, Checkpoint.data).where(Checkpoint.run_id == self.run_id)
            ).first()
        if row is None:
            return None
        # weights_only: tensors and plain containers only (model and optimizer state dicts), so the
        # database's bytes cannot run code; tests/fake_run.py holds trainers to the same rule.
        state = torch.load(io.BytesIO(row.data), map_location=self.device, weights_only=True)
        log.info("run %s attempt %d resumes after step %d", self.run_id, self.attempt, row.step)
        return row.step, state

    # -- the summary (the writer stores it) ------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """{"transitions", "claims", "final"} from the curves in memory (detect and CLAIMS of the spec)."""
        curves = {name: (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
                  for name, (xs, ys) in self._curves.items()}
        transitions = [t.model_dump() for t in self._spec.detect(curves, self._config)]
        claims = []
        for claim in self._spec.CLAIMS:
            result = claim.check(curves, self._config)
            claims.append({"id": claim.id, "text": claim.text, "verdict": result.verdict,
                           "value": result.value, "detail": result.detail})
        final = {name: ys[-1] for name, (_, ys) in self._curves.items() if ys}
        return {"transitions": transitions, "claims": claims, "final": final}

    def _touch(self) -> None:
        self.writer.raise_if_fenced()
        self._heartbeat.touch()
