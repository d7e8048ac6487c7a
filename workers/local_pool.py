"""The local workers `phaselab serve --workers N` starts: child processes, supervised.

A worker that dies (SIGKILL, out of memory, a crash outside any run) is started again, after a pause that doubles
with each quick death (1 s, 2 s, 4 s … at most MAX_BACKOFF) and resets once a worker has lived STABLE_SECONDS:
one dead worker must not leave the queue unserved, and a worker that cannot start must not spin. Each death and
restart is logged with its exit status. The run it held is not lost: its lease expires and another attempt
resumes it from its checkpoint.
"""

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("phaselab.workers")

MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0
POLL_SECONDS = 0.5


@dataclass
class Slot:
    index: int
    proc: subprocess.Popen[bytes]
    started: float
    deaths: int = 0  # quick deaths in a row: the backoff's exponent
    restart_at: float | None = None  # when a dead worker is due again


def exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class LocalWorkers:
    """`count` copies of `command`, each restarted when it dies, until `stop()`."""

    def __init__(self, command: Sequence[str], count: int, preexec_fn: Callable[[], None] | None = None):
        self._command, self._preexec = list(command), preexec_fn
        self._slots = [Slot(i, self._spawn(), time.monotonic()) for i in range(count)]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="phaselab-supervisor", daemon=True)
        self._thread.start()

    @property
    def pids(self) -> list[int]:
        return [slot.proc.pid for slot in self._slots]

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self._command, preexec_fn=self._preexec)

    def _supervise(self) -> None:
        # Workers started here die with this thread (PR_SET_PDEATHSIG follows the thread that forked): it must
        # not end before stop(), so a failed restart is logged and tried again at the next poll.
        while not self._stopping.wait(POLL_SECONDS):
            try:
                self._check(time.monotonic())
            except Exception:
                log.exception("supervising the local workers failed; trying again")

    def _check(self, now: float) -> None:
        for slot in self._slots:
            code = slot.proc.poll()
            if code is None or self._stopping.is_set():
                continue
            if slot.restart_at is None:  # just died
                lived = now - slot.started
                slot.deaths = 1 if lived >= STABLE_SECONDS else slot.deaths + 1
                delay = min(MAX_BACKOFF, 2.0 ** (slot.deaths - 1))
                slot.restart_at = now + delay
                log.warning("local worker %d (pid %d) died (%s) after %.0f s; starting it again in %.0f s",
                            slot.index + 1, slot.proc.pid, exit_status(code), lived, delay)
            elif now >= slot.restart_at:
                slot.proc, slot.started, slot.restart_at = self._spawn(), now, None
                log.warning("local worker %d started again (pid %d)", slot.index + 1, slot.proc.pid)

    def stop(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM every worker (each finishes or releases its run), then SIGKILL what is left after the grace."""
        self._stopping.set()
        self._thread.join(timeout=5)
        procs = [slot.proc for slot in self._slots]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
