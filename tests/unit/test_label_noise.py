"""Label noise: the spec is whole and torch-free, the knobs refuse what they should, the data's wrong labels are
wrong and nested, the stacked networks train as separate ones, and every claim reaches every verdict it can on
synthetic curves."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from backend.store.settings import Settings
from workers.memory_run import MemoryRun
from workers.phenomena.contract import Curves, over_budget
from workers.phenomena.label_noise import spec
from workers.phenomena.label_noise.claims import DROP, detect, smoothed
from workers.phenomena.label_noise.config import DIGITS, FIT, Config, noisy_count
from workers.phenomena.label_noise.data import _digits, make_split
from workers.phenomena.label_noise.model import StackedMLP, member_losses
from workers.phenomena.label_noise.train import train

ROOT = Path(__file__).resolve().parents[2]
PH = spec.PHENOMENON
CLAIMS = {claim.id: claim for claim in PH.claims}
DEFAULT = Config()


# -- spec -----------------------------------------------------------------------------------------


def test_the_spec_imports_neither_torch_nor_sklearn():
    probe = ("import sys, workers.phenomena.label_noise.spec as s; s.PHENOMENON; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn'))[:3])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_numeric_knob_has_bounds_and_every_knob_a_description():
    for name, prop in Config.model_json_schema()["properties"].items():
        assert prop.get("description"), name
        if prop.get("type") != "boolean":
            assert "minimum" in prop and "maximum" in prop, name


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"batch_size": 500, "n_train": 400}, "batch_size (500) must be at most n_train (400)"),
        ({"noise": 101}, "less than or equal to 100"),
        ({"n_train": 1600}, "less than or equal to 1500"),
        ({"seeds": 3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_knobs_are_refused_with_a_reason(knobs, words):
    with pytest.raises(ValidationError) as caught:
        Config(**knobs)
    assert words in str(caught.value)


def test_the_compute_budget_leaves_room_above_every_preset():
    budget = Settings.model_fields["max_run_cpu_seconds"].default
    for name, preset in PH.presets.items():
        assert preset.config.cost.seconds <= budget / 10, name  # presets are far below the budget
    assert over_budget(Config(width=512, epochs=100), budget) is None  # a generous run is allowed
    assert over_budget(Config(width=1024, depth=4, epochs=400, batch_size=16), budget) is not None


def test_members_are_the_chosen_noise_and_the_references():
    assert DEFAULT.members == [0.0, 40.0, 100.0]
    assert Config(noise=0).members == [0.0, 100.0]
    assert Config(references=False).members == [40.0]
    assert PH.member_values(DEFAULT) == {"noise": [0.0, 40.0, 100.0]}
    assert PH.derived_values(Config(noise=25))["clean_fraction"] == pytest.approx(0.75)


def test_the_presets_differ_where_they_say():
    default = PH.presets["default"].config
    assert default == DEFAULT
    for name, knobs in {"clean": {"noise": 0.0}, "heavy_noise": {"noise": 80.0}, "weight_decay": {"weight_decay": 8.0}
                        }.items():
        assert PH.presets[name].config.model_dump() == {**default.model_dump(), **knobs}, name
    assert PH.presets["weight_decay"].expect == {"early_peak": "fail", "random_fit": "fail"}


# -- data and model -------------------------------------------------------------------------------


def test_the_split_uses_every_digit_once_and_standardizes_on_the_training_set():
    split = make_split(1200, seed=0)
    assert split.x_train.shape == (1200, 64) and split.x_test.shape == (DIGITS - 1200, 64)
    assert np.abs(split.x_train.mean(0)).max() < 1e-4
    _, digits = _digits()
    assert np.array_equal(np.bincount(np.concatenate([split.y_train, split.y_test])), np.bincount(digits))
    assert not np.array_equal(split.y_train, make_split(1200, seed=1).y_train)  # the seed draws the split


def test_wrong_labels_are_wrong_counted_and_nested():
    split = make_split(1000, seed=3)
    assert (split.wrong != split.y_train).all()
    assert np.array_equal(split.labels(0), split.y_train)
    assert (split.labels(100) != split.y_train).all()
    assert split.noisy(40).sum() == noisy_count(1000, 40) == 400
    assert (split.noisy(40) <= split.noisy(80)).all()  # 40 % noisy images are noisy at 80 % too, same wrong label
    both = split.noisy(40)
    assert np.array_equal(split.labels(40)[both], split.labels(80)[both])
    counts = np.bincount((split.wrong - split.y_train) % 10, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 60  # the wrong digit is spread over the nine others


def test_stacked_networks_are_independent_mlps():
    generator = torch.Generator().manual_seed(0)
    model = StackedMLP(3, [64, 16, 16, 10], generator)
    x = torch.randn(5, 64)
    out = model(x)  # (3, 5, 10)
    k = 1
    h = x
    for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        h = h @ w[k] + b[k]
        if i < len(model.weights) - 1:
            h = torch.relu(h)
    torch.testing.assert_close(out[k], h)
    labels = torch.randint(0, 10, (3, 5))
    member_losses(out, labels)[k].backward()  # one network's loss moves only that network's weights
    grad = model.weights[0].grad
    assert grad is not None and grad[k].abs().sum() > 0 and grad[0].abs().sum() == 0 and grad[2].abs().sum() == 0


def test_the_tiny_run_logs_a_consistent_story():
    config = PH.presets["tiny"].config
    run = MemoryRun(PH)
    train(config, run, seed=0)
    curves = run.curves(finished=True)
    x, memorized = curves["train/noisy_memorized"]
    _, true = curves["train/noisy_true"]
    assert list(x) == list(range(config.epochs + 1))
    assert ((memorized + true) <= 1 + 1e-12).all()  # an image is predicted as one digit
    assert curves.family("fit/acc").keys() == {0.0, 40.0, 100.0}
    _, fit0 = curves.family("fit/acc")[0.0]
    _, fit100 = curves.family("fit/acc")[100.0]
    assert fit0[-1] > 0.95 and fit100[-1] < fit0[-1]  # true labels are fit first
    step, _, points = run.snapshots[-1]
    assert step == config.epochs and points.shape == (200, 3) and set(np.unique(points[:, 2])) == {0.0, 1.0}


# -- claims on synthetic curves ------------------------------------------------------------------------


def story(test_acc, memorized=None, finished=True) -> Curves:
    epochs = np.arange(len(test_acc), dtype=float)
    series = {("test/acc", None): (epochs, np.asarray(test_acc, dtype=float))}
    if memorized is not None:
        series[("train/noisy_memorized", None)] = (epochs, np.asarray(memorized, dtype=float))
    return Curves(series, finished=finished)


PEAKED = [0.1, 0.8, 0.92, 0.93, 0.92, 0.88, 0.84, 0.8, 0.76, 0.74, 0.73, 0.72]  # peak 0.923 at epoch 3, end 0.73
MEMORIZING = [0.0, 0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.92, 0.95, 0.97]
FLAT = [0.1, 0.8, 0.9, 0.93, 0.94, 0.94, 0.935, 0.94, 0.94, 0.935, 0.94, 0.94]


def test_early_peak_passes_when_test_accuracy_falls_after_its_peak():
    result = CLAIMS["early_peak"].check(story(PEAKED, MEMORIZING), DEFAULT)
    assert result.verdict == "pass"
    assert result.value == pytest.approx((np.mean(PEAKED[2:5]) - np.mean(PEAKED[-3:])) * 100)
    lo, hi = result.interval
    assert lo < result.value < hi
    assert "epoch 3" in result.detail and "from epoch 9" in result.detail


def test_early_peak_fails_when_test_accuracy_holds():
    result = CLAIMS["early_peak"].check(story(FLAT), DEFAULT)
    assert result.verdict == "fail" and result.value < DROP
    assert "did not (yet) memorize" in result.detail


def test_early_peak_waits_for_the_end_and_needs_enough_epochs():
    live = CLAIMS["early_peak"].check(story(PEAKED, finished=False), DEFAULT)
    assert live.verdict == "not_yet" and live.value is not None
    assert CLAIMS["early_peak"].check(Curves(), DEFAULT).verdict == "not_yet"
    short = CLAIMS["early_peak"].check(story(PEAKED[:5]), DEFAULT)
    assert short.verdict == "inconclusive"


@pytest.mark.parametrize(("noise", "words"), [(0, "no wrong labels"), (10, "within the test set's jitter"),
                                              (95, "no longer the most common label")])
def test_early_peak_does_not_apply_outside_its_noise_range(noise, words):
    config = Config(noise=noise)
    result = CLAIMS["early_peak"].check(story(PEAKED), config)
    assert result.verdict == "not_applicable" and words in result.detail
    assert result.value is not None  # what was measured is still reported
    assert CLAIMS["early_peak"].check(Curves(), config).verdict == "not_applicable"


def fits(clean, random, finished=True) -> Curves:
    series = {}
    for member, y in ((0.0, clean), (100.0, random)):
        series[("fit/acc", member)] = (np.arange(len(y), dtype=float), np.asarray(y, dtype=float))
    return Curves(series, finished=finished)


RISE = np.minimum(1.0, np.linspace(0.1, 1.6, 21))  # fit (≥ 0.99) from epoch 12
FAST = np.minimum(1.0, np.linspace(0.1, 5.0, 21))  # fit from epoch 4


def test_random_fit_passes_with_the_slowdown():
    result = CLAIMS["random_fit"].check(fits(FAST, RISE), DEFAULT)
    assert result.verdict == "pass"
    assert result.value == pytest.approx(12 / 4)
    assert result.interval == pytest.approx((11 / 4, 12 / 3))
    assert "epoch 4" in result.detail and "epoch 12" in result.detail


def test_random_fit_fails_when_random_labels_are_fit_no_slower():
    result = CLAIMS["random_fit"].check(fits(RISE, FAST), DEFAULT)
    assert result.verdict == "fail" and result.value == pytest.approx(4 / 12)


def test_random_fit_fails_when_random_labels_stall():
    stalled = np.minimum(0.35, np.linspace(0.1, 1.0, 21))
    result = CLAIMS["random_fit"].check(fits(FAST, stalled), DEFAULT)
    assert result.verdict == "fail" and result.value == pytest.approx(35.0) and result.unit == "% train accuracy"
    assert "stalled" in result.detail


def test_random_fit_is_inconclusive_while_still_climbing_or_without_a_true_fit():
    climbing = np.linspace(0.1, 0.8, 21)
    result = CLAIMS["random_fit"].check(fits(FAST, climbing), DEFAULT)
    assert result.verdict == "inconclusive" and "train longer" in result.detail
    never = CLAIMS["random_fit"].check(fits(np.full(21, 0.9), climbing), DEFAULT)
    assert never.verdict == "inconclusive" and "even the true labels" in never.detail


def test_random_fit_not_yet_live_and_not_applicable_without_references():
    assert CLAIMS["random_fit"].check(fits(FAST, RISE[:8], finished=False), DEFAULT).verdict == "not_yet"
    assert CLAIMS["random_fit"].check(fits(FAST, RISE, finished=False), DEFAULT).verdict == "pass"  # both crossed
    assert CLAIMS["random_fit"].check(Curves(), DEFAULT).verdict == "not_yet"
    alone = Config(references=False)
    assert CLAIMS["random_fit"].check(fits(FAST, RISE), alone).verdict == "not_applicable"


def test_detect_marks_the_peak_the_memorization_and_each_fit():
    curves = Curves({**story(PEAKED, MEMORIZING).series(), **fits(FAST, RISE).series()}, finished=True)
    found = {t.id: t for t in detect(curves, DEFAULT)}
    assert {t.axis for t in found.values()} == {"epoch"}
    assert found["test_peak"].x == 3 and found["test_peak"].value == pytest.approx(np.mean(PEAKED[2:5]))
    assert found["memorized"].x == 9
    assert found["fit_0"].x == 4 and found["fit_100"].x == 12 and found["fit_100"].member == 100
    assert "test_peak" not in {t.id for t in detect(story(FLAT), DEFAULT)}  # no fall, no peak to mark


def test_smoothing_is_a_centred_running_mean():
    assert smoothed(np.array([0.0, 3.0, 0.0, 3.0])) == pytest.approx([1.5, 1.0, 2.0, 1.5])
    assert FIT == 0.99
