"""The local workers `phaselab serve --workers N` starts: child processes, supervised.

A worker that dies (SIGKILL, out of memory, a crash outside any run) is started again, after a pause that doubles
with each quick death (1 s, 2 s, 4 s … at most MAX_BACKOFF) and resets once a worker has lived STABLE_SECONDS:
one dead worker must not leave the queue unserved, and a worker that cannot start must not spin. Each death and
restart is logged with its exit status. The run it held is not lost: its lease expires and another attempt
resumes it from its checkpoint.

Each worker reports whether it can write to the database on a pipe of its own (workers/health.py, HEALTH_FD):
one that cannot write cannot say so in the database. `health()` is what /api/health/ready shows of them.
"""

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.health import HEALTH_FD

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
    state: dict[str, Any] = field(default_factory=dict)  # the worker's last HealthReport (workers/health.py)


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
        self._slots: list[Slot] = []
        for i in range(count):
            slot = Slot(i, None, time.monotonic())  # type: ignore[arg-type]  # _spawn sets proc
            self._spawn(slot)
            self._slots.append(slot)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="phaselab-supervisor", daemon=True)
        self._thread.start()

    @property
    def pids(self) -> list[int]:
        return [slot.proc.pid for slot in self._slots]

    def health(self) -> list[dict[str, Any]]:
        """Each local worker as /api/health/ready shows it: pid, alive, and whether it can write (and if not, why
        and since when)."""
        out = []
        for slot in self._slots:
            alive = slot.proc.poll() is None
            writable = slot.state.get("writable", True) if alive else None
            since = slot.state.get("since") if alive and not writable else None
            out.append({"worker": slot.index + 1, "pid": slot.proc.pid, "alive": alive, "writable": writable,
                        "problem": slot.state.get("problem") if alive else None,
                        "since": since})
        return out

    def _spawn(self, slot: Slot) -> None:
        """Start the worker of `slot` with the write end of a fresh pipe; a thread reads its reports."""
        read, write = os.pipe()
        try:
            proc = subprocess.Popen(self._command, preexec_fn=self._preexec, pass_fds=(write,),
                                    env={**os.environ, HEALTH_FD: str(write)})
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        slot.proc, slot.started, slot.restart_at, slot.state = proc, time.monotonic(), None, {}
        threading.Thread(target=self._listen, args=(slot, proc, read), name=f"phaselab-worker-{slot.index + 1}-health",
                         daemon=True).start()

    @staticmethod
    def _listen(slot: Slot, proc: subprocess.Popen[bytes], read: int) -> None:
        """Keep `slot.state` up to date from the worker's reports, until it exits (its end of the pipe closes)."""
        with os.fdopen(read, "rb") as pipe:
            for line in pipe:
                try:
                    report = json.loads(line)
                except ValueError:
                    continue
                if slot.proc is proc and isinstance(report, dict):
                    slot.state = report

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
                self._spawn(slot)
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
