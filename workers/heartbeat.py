"""The heartbeat thread: it renews an attempt's lease while the trainer is inside one long step.

The trainer calls should_stop() every step and log() most steps; both renew the lease when
settings.heartbeat_seconds have passed. A step longer than the lease (a big Hessian, a slow GPU
kernel) would otherwise let another worker reclaim a healthy run, and with several workers the run
would bounce between them until it ran out of attempts. So a daemon thread also renews the lease
when the trainer has been silent for heartbeat_seconds, but only up to MAX_SILENT_SECONDS of silence:
a trainer that hangs for longer (a deadlock) loses its lease and the run is reclaimed. A frozen
process (SIGSTOP, a suspended VM) freezes the thread too, so fencing still catches it.
"""

import threading
import time

from workers.writer import RunWriter

MAX_SILENT_SECONDS = 600.0  # longest trainer step the heartbeat thread covers for


class Heartbeat:
    """Renews `writer`'s lease every `interval` seconds of quiet, while the trainer still calls in."""

    def __init__(self, writer: RunWriter, interval: float, name: str) -> None:
        self._writer, self._interval, self._name = writer, interval, name
        self._last_call = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self) -> None:
        """The trainer called in: it is alive, however long its steps."""
        self._last_call = time.monotonic()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval / 2):
            now = time.monotonic()
            quiet = now - self._writer.last_renew >= self._interval
            alive = now - self._last_call < MAX_SILENT_SECONDS
            if not (quiet and alive) or self._writer.fenced:
                continue
            if not self._writer.renew_lease():
                return  # fenced: another worker owns the run now
