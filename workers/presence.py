"""A worker's sign of life in the `workers` table, every few seconds on a thread of its own (training or idle),
removed when it stops cleanly. The API reads it to tell a run queued where no worker serves that it waits.

It is also the worker's most regular write, so it is where an idle worker finds out that it cannot write
(workers/health.py): a failed beat makes the worker unhealthy, and while it is, a beat is a health probe on its
backoff; the row ages out meanwhile, so the API says no worker serves the queue, which is true.
"""

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from backend.store.presence import announce, retire
from workers.health import WriteHealth, database_error, is_write_failure

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, factory: sessionmaker[Session], worker_id: str, queues: list[str], device: str,
                 threads: int, every_seconds: float, health: WriteHealth | None = None):
        self._args = (factory, worker_id, queues, device, threads)
        self._every = every_seconds
        self._health = health
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="presence", daemon=True)

    def announce(self) -> None:
        """Write this worker's row now (raises the database's error): also the health probe."""
        announce(*self._args)

    def __enter__(self) -> "Presence":
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        factory, worker_id = self._args[0], self._args[1]
        try:
            retire(factory, worker_id)
        except Exception as exc:  # the database is gone or read-only: the row ages out
            log.warning("could not remove worker %s from the workers table (%s); its row ages out", worker_id,
                        database_error(exc))

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self._beat()

    def _beat(self) -> None:
        if self._health is not None and not self._health.ok:
            self._health.probe_if_due()  # the probe is this very write, on the health's backoff
            return
        try:
            self.announce()
        except Exception as exc:
            if self._health is not None and is_write_failure(exc):
                self._health.failed(exc, "recording its sign of life")
            else:  # busy or gone for a moment: the next beat tries again
                log.warning("could not record this worker's sign of life", exc_info=True)
