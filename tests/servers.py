"""A real `phaselab serve` process on a free port, for integration and browser tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def phaselab_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Environment for a phaselab process: this database, quick leases, one thread each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASELAB_")}
    env.update(
        PHASELAB_DATABASE_URL=database_url,
        PHASELAB_LEASE_SECONDS="3",
        PHASELAB_HEARTBEAT_SECONDS="0.5",
        PHASELAB_CHECKPOINT_SECONDS="0.5",
        PHASELAB_POLL_SECONDS="0.2",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@contextmanager
def running_server(database_url: str, log: Path, workers: int = 0, **env: str) -> Iterator[str]:
    """Start `python -m backend serve` and yield its base URL once /api/health answers."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", str(workers),
             "--threads", "1"],
            cwd=ROOT, env=phaselab_env(database_url, **env), stdout=out, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc, log)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until /api/health answers 200; an exited server or a timeout raises with the end of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {timeout}s:\n{log.read_text()[-3000:]}")
