"""The command line: bad input is a one-line message and a non-zero exit, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def phaselab(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHASELAB_")}
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["migrate"], {"PHASELAB_DATABASE_URL": "garbage"}, "PHASELAB_DATABASE_URL is not a database URL"),
        (["migrate"], {"PHASELAB_PORT": "abc"}, "bad setting: PHASELAB_PORT"),
        (["migrate"], {"PHASELAB_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
         "cannot reach the database"),
        (["worker", "--queue", "tpu"], {}, "unknown queue 'tpu'"),
        (["worker", "--device", "tpu"], {}, "unknown device 'tpu'"),
        (["serve", "--port", "99999"], {}, "--port"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(args, env, message):
    out = phaselab(*args, **env)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_migrate_creates_the_sqlite_database(tmp_path):
    out = phaselab("migrate", PHASELAB_DATA_DIR=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "phaselab.db").exists() and "database ready" in out.stdout
