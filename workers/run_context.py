"""The RunContext a trainer talks to: log, snapshot, should_stop, checkpoint, checkpoint_due, restore.

It hands what the trainer logs to the attempt's fenced writer (workers/writer.py) and keeps the
attempt alive with a heartbeat thread (workers/heartbeat.py); once the attempt is fenced, the next
call raises `Fenced` and the trainer stops.

The curves are also kept in memory, per series (metric, family member) — on resume reloaded up to the
checkpoint's seq, whatever their axis — for `contract.evaluate`, run at most every SUMMARY_SECONDS and at
the end; runs.summary is written in the same fenced transaction as the rows it was computed from.
Checkpoints carry the global RNG states (workers/rng.py), so a resumed run draws what an uninterrupted
one would.
"""

import io
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.store.curves import last_seq, member_key, read_points
from backend.store.models import Checkpoint
from backend.store.settings import Settings
from workers import rng
from workers.heartbeat import Heartbeat
from workers.phenomena.contract import Curves, Phenomenon, PhenomenonConfig, evaluate
from workers.writer import RunWriter

log = logging.getLogger("phaselab.worker")

StopReason = Literal["cancel", "shutdown"]


class SnapshotRejected(ValueError):
    """A trainer sent a snapshot its phenomenon does not declare, or one larger than its view's cap."""


class RunContext:
    """One attempt of one run, as the trainer sees it (workers/phenomena/contract/run.py's RunContext).

    `writer` is execute_run's side of the attempt: flush, finish, requeue, and the counts it logs.
    """

    def __init__(
        self,
        *,
        run_id: str,
        attempt: int,
        phenomenon: Phenomenon,
        config: PhenomenonConfig,
        device: str,
        settings: Settings,
        session_factory: sessionmaker[Session],
        stop_requested: Callable[[], StopReason | None] | None = None,
    ) -> None:
        self.device = device
        self.run_id, self.attempt = run_id, attempt
        self._phenomenon, self._config, self._settings = phenomenon, config, settings
        self._sessions = session_factory
        self._stop_requested = stop_requested or (lambda: None)
        self.stop_reason: StopReason | None = None
        # (metric, member) -> (xs, ys), in memory for contract.evaluate
        self._curves: dict[tuple[str, float | None], tuple[list[float], list[float]]] = {}
        self._progress_metrics = {m.name for m in phenomenon.metrics if m.axis == phenomenon.progress_axis}
        self._caps = {view.name: view.max_values for view in phenomenon.snapshots}
        self.finished = False  # execute_run sets it when the trainer returned without being stopped
        self._last_checkpoint = time.monotonic()
        self.writer = RunWriter(run_id=run_id, attempt=attempt, settings=settings,
                                session_factory=session_factory, summarize=self.summary)
        self._heartbeat = Heartbeat(self.writer, settings.heartbeat_seconds, name=f"heartbeat-{run_id}")

    # -- lifecycle (execute_run) -----------------------------------------------------------------

    def start(self) -> None:
        """Load the curves up to the checkpoint (a resumed run), then start the heartbeat thread.

        New points are numbered after the largest stored seq, also those a killed attempt wrote after its
        last checkpoint: the trainer re-logs those (ignored as duplicates), and the cursor never goes back.
        """
        with self._sessions() as session:
            checkpoint = session.execute(
                select(Checkpoint.step, Checkpoint.seq).where(Checkpoint.run_id == self.run_id)
            ).first()
            if checkpoint is not None:
                # A checkpoint from before seq existed (None) covers every stored point up to its step.
                stored, _ = read_points(session, self.run_id, up_to_seq=checkpoint.seq)
                if checkpoint.seq is None:
                    stored = {key: (x[x <= checkpoint.step], y[x <= checkpoint.step])
                              for key, (x, y) in stored.items()}
                self._curves = {key: (xs.tolist(), ys.tolist()) for key, (xs, ys) in stored.items()}
                self.writer.checkpoint_step = checkpoint.step
                ends = [xs[-1] for (name, _), (xs, _) in self._curves.items() if xs and name in self._progress_metrics]
                self.writer.progress = max(ends, default=0.0)
            # Where this attempt picks up (its checkpoint's x on the progress axis), or None from the start:
            # progress going back to it is a resume, and the run says so.
            self.writer.report(resumed_from=None if checkpoint is None else float(checkpoint.step))
            self.writer.seq = last_seq(session, self.run_id)
        self._heartbeat.start()

    def close(self) -> None:
        self._heartbeat.stop()

    # -- the trainer's side ----------------------------------------------------------------------

    def log(self, x: float, values: Mapping[str, float], member: float | None = None) -> None:
        self._touch()
        x = float(x)
        key_member = None if member is None else float(member)
        for name, raw in values.items():
            xs, ys = self._curves.setdefault((name, key_member), ([], []))
            if xs and x <= xs[-1]:
                continue  # x only grows along a series: a re-logged point (after a resume) is already stored
            value = float(raw)
            xs.append(x)
            ys.append(value)
            self.writer.add_metric(x, name, member_key(key_member), value)
            if name in self._progress_metrics:
                self.writer.advance(x)
        self.writer.flush_if_due()

    def snapshot(self, step: int, name: str, array: Any) -> None:
        self._touch()
        matrix = np.asarray(array, dtype=float)
        if name not in self._caps:
            raise SnapshotRejected(f"snapshot {name!r} is not a view of {self._phenomenon.name} ({sorted(self._caps)})")
        if matrix.size > self._caps[name]:
            raise SnapshotRejected(f"snapshot {name!r} has {matrix.size} values; its view allows {self._caps[name]}")
        self.writer.add_snapshot(step, name, matrix)

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
        torch.save(rng.with_rng(state), buffer)  # serialized outside the transaction: locks stay short
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
        # database's bytes cannot run code; workers/memory_run.py holds trainers to the same rule.
        state = torch.load(io.BytesIO(row.data), map_location="cpu", weights_only=True)
        state = rng.without_rng(state)  # RNG states are CPU tensors; the trainer moves its own to its device
        log.info("run %s attempt %d resumes after step %d", self.run_id, self.attempt, row.step)
        return row.step, state

    # -- the summary (the writer stores it) ------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """contract.evaluate on the curves in memory, as the JSON the API publishes."""
        curves = Curves({key: (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
                         for key, (xs, ys) in self._curves.items()}, finished=self.finished)
        return evaluate(self._phenomenon, curves, self._config).model_dump(mode="json")

    def _touch(self) -> None:
        self.writer.raise_if_fenced()
        self._heartbeat.touch()
