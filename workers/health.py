"""Can this worker write to the database? A worker that cannot (a read-only file, a full disk, a file-size limit:
an OperationalError on a write) says so in one log line naming the database's error, claims no run while it
cannot, tries a write again after 1 s, 2 s, 4 s … (at most MAX_RETRY_SECONDS), and comes back by itself when one
goes through.

Without this the worker kept claiming (a claim is a write, and failed with a traceback every poll), and a run whose
writes failed mid-training was left `running` with no error until its lease ran out, its attempt counted as a
crash. Now the run it held is handed back once writes work again (it resumes from its checkpoint, the attempt not
counted), or settled as it would have been had its last write gone through.

The probe is the worker's own sign of life (its row in `workers`): the write it does anyway. `phaselab serve`
reads each local worker's state from a pipe (`HEALTH_FD`, workers/local_pool.py) and /api/health/ready reports
it: a worker that cannot write cannot write its reason into the database either.
"""

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy.exc import OperationalError

log = logging.getLogger("phaselab.worker")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
HEALTH_FD = "PHASELAB_HEALTH_FD"  # set by workers/local_pool.py: the pipe a local worker reports its state on


def is_write_failure(exc: BaseException) -> bool:
    """The database refused or could not take a write (or a read: the connection is as unusable)."""
    return isinstance(exc, OperationalError)


def database_error(exc: BaseException) -> str:
    """The database's own words: "OperationalError: database or disk is full"."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


@dataclass(frozen=True)
class HealthReport:
    """What a worker reports of itself (one JSON line on the pipe to `phaselab serve`)."""

    writable: bool
    problem: str | None = None  # the database's error, and what the worker was doing
    since: float | None = None  # epoch seconds the problem began


class WriteHealth:
    """Whether writes work now. `failed` and `recovered` change it (from any thread); `probe_if_due` tries `probe`,
    a write that raises the database's error (the worker's own row: workers/presence.py), when the backoff says so;
    `wait_until_writable` waits on those probes. The presence thread probes too, so a worker whose loop is not ours
    (procrastinate's, on PostgreSQL) also recovers."""

    def __init__(self, worker_id: str, stop: threading.Event, report: Callable[[HealthReport], None] | None = None,
                 probe: Callable[[], None] | None = None):
        self._worker_id, self._stop = worker_id, stop
        self.probe: Callable[[], None] = probe or (lambda: None)
        self._report = report or (lambda _r: None)
        self._lock = threading.Lock()
        self._probing = threading.Lock()  # one probe at a time, whichever thread finds it due
        self._problem: str | None = None
        self._since = 0.0  # monotonic
        self._since_epoch = 0.0
        self._retry = FIRST_RETRY_SECONDS
        self._next_probe = 0.0  # monotonic

    @property
    def ok(self) -> bool:
        return self._problem is None

    @property
    def problem(self) -> str | None:
        return self._problem

    def failed(self, exc: BaseException, doing: str) -> None:
        """A write failed with `exc` while `doing` something: unhealthy, and said once (again if the error changes)."""
        error = database_error(exc)
        with self._lock:
            first, changed = self._problem is None, self._problem is not None and not self._problem.startswith(error)
            if first or changed:
                self._problem = f"{error} (while {doing})"
            if first:
                self._since, self._since_epoch = time.monotonic(), time.time()
                self._retry = FIRST_RETRY_SECONDS
                self._next_probe = self._since + self._retry
            report = HealthReport(False, self._problem, self._since_epoch)
        if first:
            log.error("worker %s cannot write to the database: %s. It claims no runs until a write goes through, "
                      "and tries again in %.0f s, then less often (at most every %.0f s)", self._worker_id,
                      self._problem, FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS)
        elif changed:
            log.error("worker %s still cannot write to the database, now: %s", self._worker_id, self._problem)
        else:
            log.debug("worker %s: still cannot write (%s)", self._worker_id, error)
        if first or changed:
            self._report(report)

    def recovered(self) -> None:
        with self._lock:
            if self._problem is None:
                return
            down = time.monotonic() - self._since
            self._problem = None
        log.warning("worker %s can write to the database again (after %.0f s); claiming runs again", self._worker_id,
                    down)
        self._report(HealthReport(True))

    def probe_if_due(self) -> bool:
        """Try one write if the backoff says it is time and no other thread is trying: True if writes work."""
        if self.ok:
            return True
        if time.monotonic() < self._next_probe or not self._probing.acquire(blocking=False):
            return False
        try:
            self.probe()
        except Exception as exc:  # noqa: BLE001 - any failed probe keeps the worker waiting
            with self._lock:
                self._retry = min(MAX_RETRY_SECONDS, self._retry * 2)
                self._next_probe = time.monotonic() + self._retry
            if is_write_failure(exc):
                self.failed(exc, "trying a write again")
            else:
                log.warning("worker %s: probing the database failed", self._worker_id, exc_info=True)
            return False
        finally:
            self._probing.release()
        self.recovered()
        return True

    def wait_until_writable(self) -> bool:
        """Until a probe's write goes through (True), or until the worker is stopped (False)."""
        while not self.ok:
            if self._stop.wait(max(0.01, min(1.0, self._next_probe - time.monotonic()))):
                return False
            self.probe_if_due()
        return True


def parent_channel() -> Callable[[HealthReport], None] | None:
    """Where a local worker of `phaselab serve` reports its state (the pipe in HEALTH_FD), or None."""
    fd = os.environ.get(HEALTH_FD, "")
    if not fd.isdigit():
        return None
    descriptor = int(fd)
    try:
        os.set_blocking(descriptor, False)  # a parent that stopped reading must never stall the worker
    except OSError:
        return None

    def send(report: HealthReport) -> None:
        # The parent is gone, or its pipe is full: the log line still says it.
        with contextlib.suppress(OSError):
            os.write(descriptor, (json.dumps(asdict(report)) + "\n").encode())

    return send
