"""`phaselab serve`: one port for API and UI, local workers, a printed URL, and Ctrl-C stops everything."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.databases import database
from tests.servers import ROOT, free_port, phaselab_env, wait_healthy

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, whichever of its threads started them (a restarted worker: the supervisor)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_serve_prints_the_url_serves_api_and_ui_and_ctrl_c_stops_every_process(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = phaselab_env(f"sqlite:///{tmp_path / 'serve.db'}")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert f"running at {base}" in log.read_text()
        assert httpx.get(f"{base}/api/phenomena").json()["count"] >= 2
        page = httpx.get(f"{base}/runs/some-run-id")  # a deep link is the UI, not a 404
        assert page.status_code == 200 and "react-entry-point" in page.text
        workers = _children(proc.pid)
        assert len(workers) == 2, log.read_text()

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_serve_starts_a_killed_worker_again_and_the_queue_is_served(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = phaselab_env(f"sqlite:///{tmp_path / 'serve.db'}")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", "1", "--threads", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log)
        (first,) = _children(proc.pid)
        os.kill(first, signal.SIGKILL)  # the only worker: without a restart, nothing is ever claimed again
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and [p for p in _children(proc.pid) if p != first and _alive(p)] == []:
            time.sleep(0.2)
        (second,) = [p for p in _children(proc.pid) if _alive(p)]
        assert second != first
        text = log.read_text()
        assert f"local worker 1 (pid {first}) died (signal SIGKILL)" in text and "started again" in text, text

        run = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "preset": "tiny"}).json()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run["status"] in ("queued", "running"):
            time.sleep(0.5)
            run = httpx.get(f"{base}/api/runs/{run['id']}").json()
        assert run["status"] == "succeeded" and run["worker"].endswith(f":{second}"), run
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def _serve(tmp_path, url: str, port: int, name: str) -> subprocess.Popen[bytes]:
    with open(tmp_path / f"{name}.log", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", "1", "--threads", "1"],
            cwd=ROOT, env=phaselab_env(url), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_serve_killed_mid_run_and_started_again_finishes_the_run_gap_free(tmp_path, kind):
    steps = 4_000
    config = {"p": 11, "embed_dim": 16, "width": 32, "lr": 1e-2, "steps": steps}
    with database(kind, tmp_path) as url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        first = _serve(tmp_path, url, port, "first")
        try:
            wait_healthy(base, first, tmp_path / "first.log")
            run = httpx.post(f"{base}/api/runs", json={"phenomenon": "grokking", "config": config}).json()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and run["progress"]["x"] < 500:
                time.sleep(0.2)
                run = httpx.get(f"{base}/api/runs/{run['id']}").json()
            assert run["status"] == "running" and run["progress"]["x"] >= 500, run
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the server and its worker at once: a crash, nothing released
            first.wait(timeout=10)
        second = _serve(tmp_path, url, port, "second")
        try:
            wait_healthy(base, second, tmp_path / "second.log")
            restarted = time.monotonic()
            while time.monotonic() - restarted < 120 and run["status"] != "succeeded":
                time.sleep(0.3)
                run = httpx.get(f"{base}/api/runs/{run['id']}").json()
            assert run["status"] == "succeeded" and run["attempts"] == 2, run
            csv = httpx.get(f"{base}/api/runs/{run['id']}/metrics", params={"format": "csv"}).text.splitlines()
            steps_of = [float(line.split(",")[2]) for line in csv[1:] if line.startswith("train/loss,")]
            assert steps_of == [float(s) for s in range(steps + 1)]  # every step once: no gap, no duplicate
            log = (tmp_path / "second.log").read_text()
            assert "resumes after step" in log, log  # from the checkpoint, not from scratch
        finally:
            os.killpg(second.pid, signal.SIGINT)
            second.wait(timeout=30)
