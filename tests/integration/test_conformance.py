"""The API conforms to its own OpenAPI document: schemathesis, every check (`--checks all`), in the coverage,
fuzzing and stateful phases (the stateful phase follows the links from a created run to its metrics, events,
snapshots and cancel), against a real `phaselab serve` on SQLite, loopback only, bounded in cases and time.

No worker runs: the runs it creates stay queued, so a fuzzed config never trains.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import sqlite_database
from tests.servers import running_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_finds_no_failure_in_any_phase(tmp_path):
    with sqlite_database(tmp_path) as url, running_server(url, tmp_path / "serve.log") as base:
        out = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run", f"{base}/api/openapi.json",
             "--checks", "all", "--phases", "coverage,fuzzing,stateful", "--max-examples", "20", "--seed", "1",
             "--workers", "2", "--request-timeout", "20"],
            cwd=tmp_path, capture_output=True, text=True, timeout=800,
        )
    report = out.stdout[-8000:] + out.stderr[-2000:]
    assert out.returncode == 0, report
    assert "Stateful" in out.stdout and " failed" not in out.stdout, report
