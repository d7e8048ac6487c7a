"""Migration 0003 upgrades a database made by the previous schema with its runs intact, on both databases.

The old database is made by Alembic itself at revision 0002 and filled the way the v1 worker wrote it
(metrics by integer step, a summary whose transitions say "step"); after `upgrade head` the API reads the
old run back: its points on float x with a cursor, its summary in the v2 shape, its checkpoint resumable.
"""

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from backend.main import create_api
from backend.store.migrate import alembic_config, upgrade
from backend.store.settings import Settings
from tests.databases import postgres_database

pytestmark = pytest.mark.integration

OLD_SUMMARY = {
    "transitions": [{"id": "memorization", "label": "memorized (train acc ≥ 99%)", "step": 2, "metric": "train/acc",
                     "value": 1.0}],
    "claims": [{"id": "late_generalization", "text": "…", "verdict": "not_yet", "value": None, "detail": "not yet"}],
    "final": {"train/acc": 1.0, "val/acc": 0.1},
}
CONFIG = {"p": 11, "operation": "+", "train_frac": 0.5, "weight_decay": 1.0, "lr": 0.005, "beta2": 0.98,
          "embed_dim": 128, "width": 256, "label_noise": 0.0, "steps": 3}


def _fill_v1(url: str) -> None:
    """A finished v1 run: 2 metrics × 4 steps, a checkpoint and a snapshot, as the v1 worker stored them."""
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO runs (id, phenomenon, config, seed, trainer_version, content_hash, queue, status, "
            "cancel_requested, attempts, max_attempts, progress_step, progress_total, checkpoint_step, summary, "
            "created_at, updated_at, finished_at) VALUES ('oldrun01', 'grokking', :config, 0, '1', :hash, 'cpu', "
            "'succeeded', false, 1, 3, 3, 3, 2, :summary, :now, :now, :now)"),
            {"config": json.dumps(CONFIG), "hash": "f" * 64, "summary": json.dumps(OLD_SUMMARY), "now": now})
        for step in range(4):
            for name, value in (("train/acc", 0.25 * step), ("val/acc", None if step == 1 else 0.1)):
                conn.execute(text("INSERT INTO metrics (run_id, name, step, value) VALUES ('oldrun01', :n, :s, :v)"),
                             {"n": name, "s": step, "v": value})
        conn.execute(text("INSERT INTO checkpoints (run_id, step, attempt, data, created_at) "
                          "VALUES ('oldrun01', 2, 1, :data, :now)"), {"data": b"\x00", "now": now})
        conn.execute(text("INSERT INTO snapshots (run_id, name, step, shape, \"values\") "
                          "VALUES ('oldrun01', 'embedding_fourier', 3, '[2]', '[0.5, 0.5]')"))
    engine.dispose()


def _check_v2(url: str) -> None:
    with TestClient(create_api(Settings(database_url=url))) as client:
        run = client.get("/api/runs/oldrun01").json()
        assert run["status"] == "succeeded" and run["code_version"] == "1" and run["threads"] is None
        assert run["progress"]["x"] == 3 and run["progress"]["total"] == 3 and run["progress"]["axis"] == "step"
        assert run["summary"]["transitions"][0]["x"] == 2 and run["summary"]["transitions"][0]["axis"] == "step"
        assert run["summary"]["claims"][0]["verdict"] == "not_yet"
        metrics = client.get("/api/runs/oldrun01/metrics").json()
        series = {s["metric"]: s for s in metrics["series"]}
        assert series["train/acc"] == {"metric": "train/acc", "member": None, "x": [0, 1, 2, 3],
                                       "value": [0.0, 0.25, 0.5, 0.75]}
        assert series["val/acc"]["value"] == [0.1, None, 0.1, 0.1]  # a non-finite value stays a gap
        assert metrics["cursor"] == 8  # numbered in (step, name) order
        newer = client.get("/api/runs/oldrun01/metrics", params={"after": 6}).json()
        assert [(s["metric"], s["x"]) for s in newer["series"]] == [("train/acc", [3]), ("val/acc", [3])]
        snaps = client.get("/api/runs/oldrun01/snapshots").json()["snapshots"]
        assert snaps == {"embedding_fourier": {"steps": [3], "shape": [2]}}
        listed = client.get("/api/runs").json()
        assert listed["count"] == 1 and listed["data"][0]["id"] == "oldrun01"


def test_sqlite_database_of_the_previous_schema_upgrades_with_its_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    _fill_v1(url)
    upgrade(url)
    _check_v2(url)


@pytest.mark.postgres
def test_postgres_database_of_the_previous_schema_upgrades_with_its_runs():
    with postgres_database() as fresh:
        # postgres_database migrated it to head; take it back to 0002 to play the old database
        command.downgrade(alembic_config(fresh), "0002")
        _fill_v1(fresh)
        upgrade(fresh)
        _check_v2(fresh)


def test_downgrade_keeps_what_the_old_schema_can_hold(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    _fill_v1(url)
    upgrade(url)
    command.downgrade(alembic_config(url), "0002")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, step, value FROM metrics ORDER BY name, step")).all()
        progress = conn.execute(text("SELECT progress_step, trainer_version FROM runs")).one()
    engine.dispose()
    assert len(rows) == 8 and rows[0] == ("train/acc", 0, 0.0) and progress == (3, "1")
