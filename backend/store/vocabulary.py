"""The words every side of Phaselab shares: run statuses, queues, devices. Spelled here once.

Each is a StrEnum, so a member is the plain string the database, the JSON and the command line carry
(`RunStatus.QUEUED == "queued"`). This module imports nothing from the project: the API, the workers
and the UI may all import it.
"""

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run is in its life (the `runs.status` column)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)  # a run here never changes again by itself
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)  # a run here is waiting for or holding a worker


class Queue(StrEnum):
    """Which workers may take a run: `cpu` workers never take a `gpu` run."""

    CPU = "cpu"
    GPU = "gpu"


class Device(StrEnum):
    """What a worker trains on; `auto` takes cuda when there is one, else cpu."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
