"""Grokking: the spec (torch-free, bounded knobs, detectors, claims) and a tiny trainer run, resumed."""

from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena.contract import Curves
from workers.phenomena.grokking import spec
from workers.phenomena.grokking.data import make_split
from workers.phenomena.grokking.model import ModularMLP
from workers.phenomena.grokking.train import train

ROOT = Path(__file__).resolve().parents[2]
METRICS = {"train/loss", "train/acc", "val/loss", "val/acc", "weight_norm"}
TINY = spec.PRESETS["tiny"].config.model_copy(update={"steps": 40})


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "words"),
    [
        ({"p": 4}, "p", "prime"),
        ({"p": 91}, "p", "prime"),
        ({"p": 263}, "p", "less than or equal"),
        ({"train_frac": 1.5}, "train_frac", "less than or equal"),
        ({"weight_decay": -1}, "weight_decay", "greater than or equal"),
        ({"width": 4096}, "width", "less than or equal"),
        ({"steps": 1_000_000}, "steps", "less than or equal"),
        ({"operation": "^"}, "operation", "'+'"),
        ({"seed": 3}, "seed", "extra"),
    ],
)
def test_bad_knobs_name_the_field(knobs, field, words):
    with pytest.raises(ValidationError) as caught:
        spec.Config(**knobs)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"].lower() or words in error["type"]


def test_the_contrast_preset_expects_no_late_generalization():
    no_wd = spec.PRESETS["no_weight_decay"]
    assert no_wd.config.weight_decay == 0
    assert no_wd.expected("late_generalization") == "fail" and no_wd.expected("norm_falls") == "fail"
    assert spec.PRESETS["default"].expected("late_generalization") == "pass"


def test_charts_and_snapshots_name_logged_metrics():
    for chart in spec.CHARTS:
        assert set(chart.metrics) <= METRICS
    assert [view.name for view in spec.SNAPSHOTS] == ["embedding_fourier"]


# -- data and model -------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["+", "-", "*", "/"])
def test_split_covers_the_table_with_right_answers(operation):
    p = 13
    split = make_split(p, operation, 0.5, 0.0, torch.Generator().manual_seed(0))
    x = torch.cat([split.x_train, split.x_val])
    y = torch.cat([split.y_train, split.y_val])
    a, b = x[:, 0], x[:, 1]
    expected = {"+": (a + b) % p, "-": (a - b) % p, "*": (a * b) % p, "/": None}[operation]
    if operation == "/":
        assert len(x) == p * (p - 1) and bool((b != 0).all())
        assert torch.equal((y * b) % p, a)  # y = a · b⁻¹  ⇔  y · b = a
    else:
        assert len(x) == p * p
        assert torch.equal(y, expected)
    assert len({tuple(row) for row in x.tolist()}) == len(x)  # no pair twice


def test_label_noise_replaces_that_fraction_of_train_labels_by_wrong_ones():
    p = 31
    clean = make_split(p, "+", 0.5, 0.0, torch.Generator().manual_seed(1))
    noisy = make_split(p, "+", 0.5, 0.2, torch.Generator().manual_seed(1))
    assert torch.equal(clean.x_train, noisy.x_train) and torch.equal(clean.y_val, noisy.y_val)
    wrong = (clean.y_train != noisy.y_train).sum().item()
    assert wrong == round(0.2 * len(clean.y_train))


def test_fourier_snapshot_finds_a_planted_frequency():
    p, k = 31, 5
    model = ModularMLP(p, embed_dim=8, width=16)
    residues = torch.arange(p, dtype=torch.float32)
    with torch.no_grad():
        model.embed.weight.copy_(torch.cos(2 * torch.pi * k * residues / p)[:, None] * torch.randn(8))
    power = model.embedding_fourier()
    assert power.shape == (p // 2 + 1,)
    assert power.sum().item() == pytest.approx(1.0)
    assert int(power.argmax()) == k and power[k].item() > 0.99


# -- trainer --------------------------------------------------------------------------------------


def test_tiny_run_logs_every_metric_at_every_step():
    run = MemoryRun(spec.PHENOMENON)
    train(TINY, run, seed=0)
    assert run.names() == METRICS
    for name in METRICS:
        assert run.xs(name) == list(range(TINY.steps + 1))
    assert [(step, name) for step, name, _ in run.snapshots] == [(0, "embedding_fourier"), (40, "embedding_fourier")]
    for _, _, power in run.snapshots:
        assert power.shape == (TINY.p // 2 + 1,) and power.sum() == pytest.approx(1.0)
    accuracy = run.points[("train/acc", None)]
    assert accuracy[40] > accuracy[0]  # it learns


def test_same_seed_same_curves_other_seed_other_curves():
    a, b, c = MemoryRun(), MemoryRun(), MemoryRun()
    short = TINY.model_copy(update={"steps": 10})
    train(short, a, seed=3)
    train(short, b, seed=3)
    train(short, c, seed=4)
    assert a.points == b.points
    assert a.points[("train/loss", None)] != c.points[("train/loss", None)]


# -- detect and claims on synthetic curves --------------------------------------------------------


def synthetic(memorize_at: int | None, grok_at: int | None, last: int = 1000, blip: int | None = None,
              steps: int = 1000, val_rise: float = 0.0) -> Curves:
    """Curves of a run logged at every step up to `last` of `steps`: train acc jumps at memorize_at, val acc
    at grok_at; `val_rise`: val acc climbs linearly by this much over the run instead of staying flat."""
    x = np.arange(last + 1, dtype=float)
    train_acc = np.where(x >= (memorize_at if memorize_at is not None else np.inf), 1.0, 0.5)
    val_acc = np.where(x >= (grok_at if grok_at is not None else np.inf), 0.99, 0.02 + val_rise * x / steps)
    if blip is not None:
        val_acc[blip] = 0.97  # one noisy point above the threshold
    norm = np.where(
        x <= (memorize_at or 0), 100.0, 100.0 - 40.0 * np.clip((x - (memorize_at or 0)) / 600, 0, 1)
    )
    return Curves.of({
        "train/acc": (x, train_acc),
        "val/acc": (x, val_acc),
        "weight_norm": (x, norm),
        "train/loss": (x, 1 - train_acc),
        "val/loss": (x, 1 - val_acc),
    }, finished=last >= steps)


CONFIG = spec.Config(steps=1000)


def verdicts(curves, config=CONFIG):
    return {claim.id: claim.check(curves, config) for claim in spec.CLAIMS}


def with_norm(curves: Curves, norm: np.ndarray) -> Curves:
    plain = {name: curves[name] for name in curves}
    plain["weight_norm"] = (plain["weight_norm"][0], norm)
    return Curves.of(plain, finished=curves.finished)


def test_detect_marks_memorization_and_grokking_with_the_delay():
    found = spec.detect(synthetic(50, 600, blip=200), CONFIG)
    assert [(t.id, t.x, t.axis, t.metric) for t in found] == [
        ("memorization", 50, "step", "train/acc"),
        ("grokking", 600, "step", "val/acc"),
    ]
    assert found[1].label == "grokked (+550 steps)"
    assert found[1].value == pytest.approx(0.99)


def test_detect_waits_for_a_crossing_to_hold_unless_the_run_ended():
    live = synthetic(50, 600, last=604)  # 5 points above 0.95 so far, run not finished
    assert [t.id for t in spec.detect(live, CONFIG)] == ["memorization"]
    ended = synthetic(50, 600, last=604, steps=604)
    assert [t.id for t in spec.detect(ended, CONFIG)] == ["memorization", "grokking"]
    assert spec.detect(Curves(), CONFIG) == []


def test_claims_pass_on_a_grokking_run():
    result = verdicts(synthetic(50, 600))
    assert result["late_generalization"].verdict == "pass"
    assert result["late_generalization"].value == 550
    assert result["norm_falls"].verdict == "pass"
    assert result["norm_falls"].value == pytest.approx(-0.40 * 550 / 600)  # peak 100 at step 50 → 63.3 at 600


def test_claims_not_yet_while_the_run_is_still_memorized():
    result = verdicts(synthetic(50, None, last=400))
    assert result["late_generalization"].verdict == "not_yet"
    assert result["norm_falls"].verdict == "not_yet"


def test_claims_fail_when_the_run_ends_levelled_off_without_grokking():
    result = verdicts(synthetic(50, None))
    assert result["late_generalization"].verdict == "fail"
    assert "levelled off" in result["late_generalization"].detail
    assert result["late_generalization"].value == pytest.approx(0.02)  # the final validation accuracy
    assert result["late_generalization"].unit == "final validation accuracy"
    # the synthetic norm fell by a third, yet generalization did not follow: the run cannot decide the claim
    assert result["norm_falls"].verdict == "inconclusive"


def test_still_rising_at_the_end_of_the_budget_is_inconclusive_not_fail():
    # label noise 0.1, say: validation accuracy climbed from 0.02 to 0.7 and was still climbing
    result = verdicts(synthetic(50, None, val_rise=0.68))
    assert result["late_generalization"].verdict == "inconclusive"
    assert "still rising" in result["late_generalization"].detail


def test_a_norm_that_keeps_rising_is_reported_as_it_is():
    # weight decay 0: the norm climbs 42 % after memorization and validation accuracy stays flat
    curves = synthetic(50, None)
    x = curves["weight_norm"][0]
    result = verdicts(with_norm(curves, 100 + 42 * np.clip((x - 50) / 950, 0, 1)))["norm_falls"]
    assert result.verdict == "fail"
    assert "+42% since memorization" in result.detail
    assert result.value == pytest.approx(0.42) and result.unit == "fraction, change since memorization"


def test_late_generalization_fails_when_train_and_val_rise_together():
    result = verdicts(synthetic(50, 60))
    assert result["late_generalization"].verdict == "fail"
    assert result["late_generalization"].value == 10


def test_norm_claim_fails_when_the_norm_stays_put():
    curves = synthetic(50, 600)
    result = verdicts(with_norm(curves, np.full_like(curves["weight_norm"][0], 100.0)))
    assert result["norm_falls"].verdict == "fail"
    assert result["norm_falls"].value == pytest.approx(0.0)
