"""`phaselab rescore`: stored runs get the verdicts of today's detectors and claims from their stored curves."""

import subprocess
import sys

import pytest
from sqlalchemy import insert, update

from backend.services.runs import create_run
from backend.store.curves import member_key
from backend.store.db import make_engine, make_sessionmaker, transaction
from backend.store.dispatch import dispatcher_for
from backend.store.models import Metric, Run
from tests.databases import sqlite_database
from tests.servers import ROOT, phaselab_env
from workers import phenomena
from workers.memory_run import MemoryRun

pytestmark = pytest.mark.integration


def test_rescore_recomputes_a_finished_runs_summary_without_retraining(tmp_path):
    ph = phenomena.load("double_descent")
    config = ph.presets["tiny"].config
    trained = MemoryRun(ph)
    phenomena.trainer("double_descent").train(config, trained, 0)
    with sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            run, _ = create_run(session, dispatcher_for(url), phenomenon="double_descent", preset="tiny")
            rows, seq = [], 0
            for (name, member), points in trained.points.items():
                for x, value in points.items():
                    seq += 1
                    rows.append({"run_id": run.id, "name": name, "member": member_key(member), "x": x,
                                 "value": value, "seq": seq})
            session.execute(insert(Metric), rows)
            stale = {"transitions": [], "claims": [{"id": "peak_at_n", "verdict": "not_yet"}]}
            session.execute(update(Run).where(Run.id == run.id).values(status="succeeded", summary=stale))
            queued, _ = create_run(session, dispatcher_for(url), phenomenon="double_descent", preset="tiny", seed=1)
        out = subprocess.run([sys.executable, "-m", "backend", "rescore", "--phenomenon", "double_descent"], cwd=ROOT,
                             env=phaselab_env(url), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "rescored 1 run(s): 1 with new verdicts or transitions, 0 skipped" in out.stdout
        with sessions() as session:
            summary = session.get_one(Run, run.id).summary
            untouched = session.get_one(Run, queued.id).summary  # queued: its worker will write its own
        engine.dispose()
    assert [(c["id"], c["verdict"]) for c in summary["claims"]] == [
        ("peak_at_n", "pass"), ("ridge_removes_peak", "not_applicable")]
    assert summary["preset"] == "tiny" and {t["id"] for t in summary["transitions"]} == {"interpolation", "peak"}
    assert untouched == {}
