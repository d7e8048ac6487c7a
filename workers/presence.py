"""A worker's sign of life in the `workers` table, every few seconds on a thread of its own (training or idle),
removed when it stops cleanly. The API reads it to tell a run queued where no worker serves that it waits."""

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from backend.store.presence import announce, retire

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, factory: sessionmaker[Session], worker_id: str, queues: list[str], device: str,
                 threads: int, every_seconds: float):
        self._args = (factory, worker_id, queues, device, threads)
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="presence", daemon=True)

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
        except Exception:  # the database is gone: the row ages out
            log.warning("could not remove worker %s from the workers table", worker_id, exc_info=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self._beat()

    def _beat(self) -> None:
        try:
            announce(*self._args)
        except Exception:  # busy or gone for a moment: the next beat tries again
            log.warning("could not record this worker's sign of life", exc_info=True)
