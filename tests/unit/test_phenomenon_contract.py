"""The conformance suite: every registered phenomenon, with no edit here when one is added.

Each one loads and passes `contract.check`; its presets validate; its detectors and claims say `not_yet` (or
`not_applicable`) on empty curves; its `tiny` preset trains through a real in-memory context and logs every
metric its charts draw, finite, and every snapshot view within its size cap; the claims then carry a value
with every pass or fail; and a run stopped mid-way and resumed from its checkpoint gives exactly the curves
of an uninterrupted one.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.store.settings import Settings
from workers import phenomena
from workers.memory_run import MemoryRun
from workers.phenomena.contract import Curves, Phenomenon, evaluate, over_budget

NAMES = phenomena.names()


@pytest.fixture(params=NAMES)
def ph(request) -> Phenomenon:
    return phenomena.load(request.param)


@pytest.fixture
def tiny_run(ph) -> MemoryRun:
    run = MemoryRun(ph)
    phenomena.trainer(ph.name).train(ph.presets["tiny"].config, run, 0)
    return run


def test_the_catalogue_is_not_empty():
    assert {"grokking", "double_descent"} <= set(NAMES)


def test_presets_validate_round_trip_and_name_real_claims(ph):
    assert "default" in ph.presets and "tiny" in ph.presets, "every phenomenon has a default and a tiny preset"
    claims = {c.id for c in ph.claims}
    for name, preset in ph.presets.items():
        assert ph.config.model_validate(preset.config.model_dump(mode="json")) == preset.config, name
        assert preset.title and preset.demonstrates, name
        assert set(preset.expect) <= claims, name
        assert ph.preset_of(preset.config) is not None


def test_every_numeric_knob_is_bounded_and_every_knob_described(ph):
    """A user cannot ask for an unbounded run, and every knob says what it does (the explorer shows it)."""
    for name, prop in ph.config.model_json_schema()["properties"].items():
        assert prop.get("description"), f"{ph.name}.{name} has no description"
        if prop.get("type") in ("integer", "number"):
            assert "maximum" in prop and ("minimum" in prop or "exclusiveMinimum" in prop), f"{ph.name}.{name}"


def test_every_preset_fits_the_default_compute_budget(ph):
    """Every phenomenon declares what a run costs (contract/cost.py), so the API's one budget holds it; no preset is
    refused at the default budget."""
    budget = Settings.model_fields["max_run_cpu_seconds"].default
    for name, preset in ph.presets.items():
        cost = preset.config.cost
        assert 0 < cost.seconds <= budget, f"{name}: {cost.seconds:.0f} s is over the default budget of {budget:.0f} s"
        assert set(cost.knobs) <= set(ph.config.model_fields) and cost.formula, name


def test_a_config_over_the_budget_is_told_how_far_its_first_knob_may_go(ph):
    """Over a budget of half the default preset's cost: the largest value of the first knob that fits, fits, and
    one more does not."""
    config = ph.presets["default"].config
    budget = config.cost.seconds / 2
    over = over_budget(config, budget, "PHASELAB_MAX_RUN_CPU_SECONDS")
    assert over is not None and over.knob == config.cost.knobs[0] and over.value == getattr(config, over.knob)
    assert "PHASELAB_MAX_RUN_CPU_SECONDS" in over.message and all(k in over.message for k in config.cost.knobs)
    if over.fits is not None:
        assert config.model_copy(update={over.knob: over.fits}).cost.seconds <= budget
        assert config.model_copy(update={over.knob: over.fits + 1}).cost.seconds > budget
        assert f"use at most {over.fits:,} {over.knob}" in over.message
    assert over_budget(config, 0) is None  # 0: no budget


def test_empty_curves_are_not_yet_for_every_preset(ph):
    for name, preset in ph.presets.items():
        summary = evaluate(ph, Curves(), preset.config)
        assert summary.errors == [], (name, summary.errors)
        assert summary.transitions == [], name
        for claim in summary.claims:
            assert claim.verdict in ("not_yet", "not_applicable"), (name, claim)
            assert claim.error is None, (name, claim)


def test_tiny_trains_and_logs_every_charted_metric_finite(ph, tiny_run):
    logged = tiny_run.names()
    drawn = {m for chart in ph.charts if not chart.optional for m in
             [*chart.metrics, *([chart.x_metric] if chart.x_metric else []), *([chart.fit.metric] if chart.fit else [])]}
    assert drawn <= logged, f"charted but never logged: {sorted(drawn - logged)}"
    assert logged <= {m.name for m in ph.metrics}, f"logged but not declared: {sorted(logged - {m.name for m in ph.metrics})}"
    for (name, member), points in tiny_run.points.items():
        metric = ph.metric(name)
        assert metric is not None
        assert (member is None) == (metric.family is None), f"{name}: member {member} vs family {metric.family}"
        assert np.isfinite(list(points.values())).all(), name
    total = ph.presets["tiny"].config.progress_total
    assert tiny_run.progress == pytest.approx(total), "the run advances to progress_total on its progress axis"


def test_tiny_snapshots_are_declared_and_capped(ph, tiny_run):
    views = {v.name: v for v in ph.snapshots}
    seen = {name for _, name, _ in tiny_run.snapshots}
    assert seen == set(views), f"views never snapshotted: {sorted(set(views) - seen)}"
    for step, name, array in tiny_run.snapshots:
        assert array.size <= views[name].max_values and np.isfinite(array).all(), (name, step)
        assert array.ndim == {"vector_over_time": 1, "matrix": 2, "scatter": 2}[views[name].kind], name


def test_finished_tiny_run_gives_verdicts_with_values(ph, tiny_run):
    config = ph.presets["tiny"].config
    summary = evaluate(ph, tiny_run.curves(finished=True), config)
    assert summary.errors == []
    assert summary.preset == "tiny"
    for claim in summary.claims:
        assert claim.error is None, claim
        assert claim.verdict != "not_yet", f"{claim.id}: a finished run must decide or say why not"
        if claim.verdict in ("pass", "fail"):
            assert claim.value is not None and np.isfinite(claim.value), claim
        assert claim.detail, claim
    for transition in summary.transitions:
        assert ph.axis(transition.axis) is not None, transition
    for chart in ph.charts:
        if chart.fit is not None and chart.id in summary.fits:
            fit = summary.fits[chart.id]
            assert fit.interval[0] <= fit.slope <= fit.interval[1], fit


def test_resume_from_a_checkpoint_gives_the_same_curves(ph):
    config = ph.presets["tiny"].config
    trainer = phenomena.trainer(ph.name)
    straight = MemoryRun(ph)
    trainer.train(config, straight, 3)

    first = MemoryRun(ph, stop_after=config.progress_total / 2, checkpoint_every=2)
    trainer.train(config, first, 3)
    assert first.checkpoints, "the trainer checkpointed when checkpoint_due() said so"
    assert first.progress < config.progress_total
    second = MemoryRun(ph, resume_from=first)
    trainer.train(config, second, 3)
    assert second.points.keys() == straight.points.keys()
    for key, points in straight.points.items():
        assert second.points[key] == points, f"{key} differs after resume"


def test_code_version_follows_the_source(tmp_path: Path):
    folder = tmp_path / "grokking"
    shutil.copytree(phenomena.HERE / "grokking", folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = phenomena.source_digest(folder)
    assert before == phenomena.code_version("grokking")
    train = folder / "train.py"
    train.write_text(train.read_text() + "\n# a comment changes no number\n")
    assert phenomena.source_digest(folder) == before
    train.write_text(train.read_text().replace("BETA1 = 0.9", "BETA1 = 0.8"))
    assert phenomena.source_digest(folder) != before
