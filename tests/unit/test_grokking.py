"""Grokking: the spec (torch-free, bounded knobs, detectors, claims) and a tiny trainer run, resumed."""

from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from backend.store.settings import Settings
from workers.memory_run import MemoryRun
from workers.phenomena.contract import ClaimResult, Curves, over_budget
from workers.phenomena.grokking import spec
from workers.phenomena.grokking.data import make_split
from workers.phenomena.grokking.model import ModularMLP
from workers.phenomena.grokking.stablemax import log_stablemax, mean_loss, per_example_loss, stable
from workers.phenomena.grokking.train import grokfast_, train

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = {"train/loss", "train/acc", "val/loss", "val/acc", "weight_norm"}  # stored runs and the UI rely on these
NEW = {"train/zero_loss", "train/acc_clean", "train/noisy_memorized", "train/noisy_true", "grokfast/val_acc"}
METRICS = ORIGINAL | NEW
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
        ({"output": "sparsemax"}, "output", "'softmax'"),
        ({"dtype": "float16"}, "dtype", "'float32'"),
        ({"grokfast_lambda": -1}, "grokfast_lambda", "greater than or equal"),
        ({"grokfast_alpha": 1.0}, "grokfast_alpha", "less than or equal"),
    ],
)
def test_bad_knobs_name_the_field(knobs, field, words):
    with pytest.raises(ValidationError) as caught:
        spec.Config(**knobs)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"].lower() or words in error["type"]


def test_original_metrics_charts_claims_and_presets_are_kept():
    assert {m.name for m in spec.METRICS} >= ORIGINAL
    assert [c.id for c in spec.CHARTS][:3] == ["accuracy", "loss", "weight_norm"]
    assert spec.CHARTS[0].metrics == ["train/acc", "val/acc"] and spec.CHARTS[1].metrics == ["train/loss", "val/loss"]
    assert [c.id for c in spec.CLAIMS][:2] == ["late_generalization", "norm_falls"]
    assert {"default", "no_weight_decay", "less_data", "division", "tiny"} <= set(spec.PRESETS)
    assert spec.PRESETS["default"].config == spec.Config() and spec.PRESETS["tiny"].config.steps == 500


def test_compute_over_the_budget_is_refused_with_a_message_that_says_how_many_steps_fit():
    budget = Settings.model_fields["max_run_cpu_seconds"].default
    over = over_budget(spec.Config(p=257, width=2048, steps=1000), budget)
    assert over is not None and over.knob == "steps"
    assert "would take about" in over.message and f"at p = 257 and width = 2048, use at most {over.fits:,} steps" \
        in over.message
    over = over_budget(spec.Config(steps=20_000, grokfast_lambda=2.0), budget)
    assert over is not None and "Grokfast twin" in over.message
    for preset in spec.PRESETS.values():
        assert preset.config.work <= 3e12 and over_budget(preset.config, budget) is None


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


OPTIONAL = {"train/zero_loss", "train/acc_clean", "train/noisy_memorized", "train/noisy_true", "grokfast/val_acc"}


def test_tiny_run_logs_every_metric_at_every_step_and_no_optional_one():
    run = MemoryRun(spec.PHENOMENON)
    train(TINY, run, seed=0)
    # Weight decay on, no label noise, no Grokfast: the optional charts' metrics would say nothing.
    assert run.names() == METRICS - OPTIONAL
    assert set(run.points) == {(name, None) for name in METRICS - OPTIONAL}
    for name in METRICS - OPTIONAL:
        assert run.xs(name) == list(range(TINY.steps + 1))
    assert {c.id for c in spec.CHARTS if c.optional} == {"softmax_collapse", "label_noise", "grokfast"}
    assert [(step, name) for step, name, _ in run.snapshots] == [(0, "embedding_fourier"), (40, "embedding_fourier")]
    for _, _, power in run.snapshots:
        assert power.shape == (TINY.p // 2 + 1,) and power.sum() == pytest.approx(1.0)
    accuracy = run.points[("train/acc", None)]
    assert accuracy[40] > accuracy[0]  # it learns


def test_optional_metrics_are_logged_when_their_knob_is_on():
    config = TINY.model_copy(update={"steps": 20, "weight_decay": 0.0, "label_noise": 0.1, "grokfast_lambda": 2.0})
    run = MemoryRun(spec.PHENOMENON)
    train(config, run, seed=0)
    assert run.names() == METRICS
    assert {member for name, member in run.points if name == "grokfast/val_acc"} == {0.0, 2.0}
    assert run.points[("grokfast/val_acc", 2.0)] == run.points[("val/acc", None)]  # the filtered run is the run
    assert max(run.points[("train/noisy_memorized", None)].values()) <= config.noisy_share + 1e-9


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


# -- the later papers: StableMax, label noise, Grokfast ---------------------------------------------


def test_stablemax_is_x_plus_one_above_zero_and_one_over_one_minus_x_below():
    z = torch.tensor([[-3.0, -1.0, 0.0, 2.0]])
    assert torch.allclose(stable(z), torch.tensor([[0.25, 0.5, 1.0, 3.0]]))
    probs = log_stablemax(z).exp()
    assert probs.sum().item() == pytest.approx(1.0) and probs[0, 3].item() == pytest.approx(3.0 / 4.75)
    z = torch.tensor([[1.0, -2.0]], requires_grad=True)  # x = 1: the off-branch 1/(1 − x) must not poison the grad
    per_example_loss(z, torch.tensor([0]), "stablemax").sum().backward()
    assert torch.isfinite(z.grad).all()


def test_softmax_loss_rounds_to_zero_in_float32_where_stablemax_does_not():
    logits = torch.zeros(1, 31)
    logits[0, 0] = 25.0  # a margin of 25 > 17 + ln 31: 30·e^−25 vanishes next to 1 in float32, not in float64
    label = torch.tensor([0])
    assert per_example_loss(logits, label, "softmax").item() == 0.0
    assert per_example_loss(logits.double(), label, "softmax").item() > 0.0  # float64 still sees it
    assert per_example_loss(logits, label, "stablemax").item() > 0.0  # s(0)/s(25) = 1/26 is no rounding error
    assert mean_loss(logits, label, "softmax").item() == torch.nn.functional.cross_entropy(logits, label).item()


def test_split_marks_the_corrupted_examples_and_keeps_their_true_answers():
    split = make_split(31, "+", 0.5, 0.2, torch.Generator().manual_seed(1))
    config = spec.Config(p=31, train_frac=0.5, label_noise=0.2)
    assert int(split.noisy.sum()) == config.n_noisy and len(split.y_train) == config.n_train
    assert torch.equal(split.y_train_true, (split.x_train[:, 0] + split.x_train[:, 1]) % 31)
    assert bool((split.y_train[split.noisy] != split.y_train_true[split.noisy]).all())
    assert torch.equal(split.y_train[~split.noisy], split.y_train_true[~split.noisy])
    assert spec.PRESETS["label_noise"].config.noisy_share == pytest.approx(0.05, abs=0.002)


def test_grokfast_filter_adds_lambda_times_the_running_average():
    model = torch.nn.Linear(1, 1, bias=False)
    model.weight.grad = torch.tensor([[1.0]])
    ema = grokfast_(model, None, alpha=0.5, lam=2.0)  # ema starts at g = 1: g ← 1 + 2·1
    assert model.weight.grad.item() == pytest.approx(3.0)
    model.weight.grad = torch.tensor([[3.0]])
    grokfast_(model, ema, alpha=0.5, lam=2.0)  # ema = 0.5·1 + 0.5·3 = 2: g ← 3 + 2·2
    assert ema[0].item() == pytest.approx(2.0) and model.weight.grad.item() == pytest.approx(7.0)


def test_grokfast_run_trains_a_twin_from_the_same_init_and_resumes_exactly():
    config = TINY.model_copy(update={"steps": 12, "grokfast_lambda": 3.0})
    straight = MemoryRun(spec.PHENOMENON)
    train(config, straight, seed=2)
    plain, filtered = straight.points[("grokfast/val_acc", 0.0)], straight.points[("grokfast/val_acc", 3.0)]
    assert plain[0] == filtered[0]  # step 0: the same initialization
    assert filtered == straight.points[("val/acc", None)]  # the main curves are the filtered network's
    first = MemoryRun(spec.PHENOMENON, stop_after=6, checkpoint_every=2)
    train(config, first, seed=2)
    second = MemoryRun(spec.PHENOMENON, resume_from=first)
    train(config, second, seed=2)
    assert second.points == straight.points


def test_float64_and_stablemax_runs_log_finite_metrics():
    for update in ({"dtype": "float64"}, {"output": "stablemax"}):
        run = MemoryRun(spec.PHENOMENON)
        train(TINY.model_copy(update={"steps": 5, **update}), run, seed=0)
        assert all(np.isfinite(list(points.values())).all() for points in run.points.values()), update


# The claims of the later papers on synthetic curves.

NO_WD = spec.Config(p=31, embed_dim=32, width=128, lr=1e-2, train_frac=0.9, weight_decay=0.0, steps=1000)


def with_metric(curves: Curves, name: str, y: np.ndarray) -> Curves:
    plain = {n: curves[n] for n in curves}
    plain[name] = (plain["train/acc"][0], y)
    return Curves.of(plain, finished=curves.finished)


def claim(claim_id: str, curves: Curves, config) -> ClaimResult:
    return next(c for c in spec.CLAIMS if c.id == claim_id).check(curves, config)


def test_softmax_collapse_passes_fails_waits_and_does_not_apply():
    x = np.arange(1001, dtype=float)
    collapsing = with_metric(synthetic(50, None), "train/zero_loss", np.clip((x - 500) / 200, 0, 0.8))
    result = claim("softmax_collapse", collapsing, NO_WD)
    assert result.verdict == "pass" and result.value == pytest.approx(0.8) and "from step 600" in result.detail
    flat = with_metric(synthetic(50, None), "train/zero_loss", np.full_like(x, 0.01))
    assert claim("softmax_collapse", flat, NO_WD).verdict == "fail"
    rising = with_metric(synthetic(50, None), "train/zero_loss", np.clip((x - 800) / 1000, 0, 1))
    assert claim("softmax_collapse", rising, NO_WD).verdict == "inconclusive"
    live = with_metric(synthetic(50, None, last=400), "train/zero_loss", np.zeros(401))
    assert claim("softmax_collapse", live, NO_WD).verdict == "not_yet"
    assert claim("softmax_collapse", collapsing, CONFIG).verdict == "not_applicable"  # weight decay 1
    stablemax = NO_WD.model_copy(update={"output": "stablemax"})
    assert claim("softmax_collapse", collapsing, stablemax).verdict == "not_applicable"
    transitions = spec.detect(collapsing, NO_WD)
    assert [(t.id, t.x, t.charts) for t in transitions if t.id == "softmax_collapse"] == [
        ("softmax_collapse", 600, ["softmax_collapse"])]


NOISY = spec.Config(p=31, embed_dim=32, width=128, lr=1e-2, train_frac=0.8, label_noise=0.2, steps=1000)


def noisy_curves(memorized: np.ndarray, true: np.ndarray, clean_acc: float = 1.0, last: int = 1000) -> Curves:
    """A corrupted run: memorized/true are fractions of the corrupted examples (the trainer logs shares)."""
    base = synthetic(50, 600, last=last)
    share = NOISY.noisy_share
    plain = {n: base[n] for n in base}
    x = plain["train/acc"][0]
    plain["train/acc"] = (x, np.where(x >= 50, (1 - share) * clean_acc + share * memorized[: len(x)], 0.5))
    plain["train/acc_clean"] = (x, np.where(x >= 50, clean_acc, 0.5))
    plain["train/noisy_memorized"] = (x, share * memorized[: len(x)])
    plain["train/noisy_true"] = (x, share * true[: len(x)])
    return Curves.of(plain, finished=base.finished)


def test_noise_refused_passes_when_the_corrupted_examples_get_their_true_answers():
    x = np.arange(1001, dtype=float)
    memorized = np.clip(1 - (x - 300) / 300, 0, 1) * (x >= 50)  # memorized, then unlearned from step 300
    true = np.clip((x - 300) / 300, 0, 0.97)
    curves = noisy_curves(memorized, true)
    result = claim("noise_refused", curves, NOISY)
    assert result.verdict == "pass" and result.value == pytest.approx(0.97)
    assert "peaked at 100%" in result.detail
    # memorization is judged on the clean examples: train/acc never reaches 99 % here, clean accuracy does at 50
    assert curves.last("train/acc") < 0.9
    assert [t.x for t in spec.detect(curves, NOISY) if t.id == "memorization"] == [50]
    assert claim("late_generalization", curves, NOISY).verdict == "pass"


def test_noise_refused_fails_when_the_corrupted_labels_stay_memorized_and_waits_while_live():
    x = np.arange(1001, dtype=float)
    curves = noisy_curves((x >= 50).astype(float), np.zeros_like(x))
    result = claim("noise_refused", curves, NOISY)
    assert result.verdict == "fail" and result.value == 0.0 and "memorized the corrupted labels" in result.detail
    live = noisy_curves((x >= 50).astype(float), np.zeros_like(x), last=400)
    assert claim("noise_refused", live, NOISY).verdict == "not_yet"
    rising = noisy_curves(np.zeros_like(x), np.clip(x / 2500, 0, 1))  # 0 → 0.4, still climbing
    assert claim("noise_refused", rising, NOISY).verdict == "inconclusive"
    assert claim("noise_refused", curves, CONFIG).verdict == "not_applicable"


GROKFAST = spec.Config(p=31, embed_dim=32, width=128, lr=1e-2, train_frac=0.8, weight_decay=0.3, steps=1000,
                       grokfast_lambda=5.0)


def twins(plain_grok: int | None, filtered_grok: int | None, last: int = 1000) -> Curves:
    base = synthetic(50, filtered_grok, last=last)
    series = {(name, None): base[name] for name in base}
    x = base["val/acc"][0]
    for member, at in ((0.0, plain_grok), (5.0, filtered_grok)):
        series[("grokfast/val_acc", member)] = (x, np.where(x >= (at if at is not None else np.inf), 0.99, 0.02))
    return Curves(series, finished=base.finished)


def test_grokfast_speedup_is_measured_against_the_twin():
    result = claim("grokfast_speedup", twins(800, 100), GROKFAST)
    assert result.verdict == "pass" and result.value == pytest.approx(8.0)
    slow = claim("grokfast_speedup", twins(150, 100), GROKFAST)
    assert slow.verdict == "fail" and slow.value == pytest.approx(1.5)
    bound = claim("grokfast_speedup", twins(None, 100), GROKFAST)
    assert bound.verdict == "pass" and bound.value == pytest.approx(10.0) and bound.unit == "× sooner (at least)"
    assert claim("grokfast_speedup", twins(None, 700), GROKFAST).verdict == "inconclusive"  # ≥ 1.4×: can't tell
    assert claim("grokfast_speedup", twins(None, None), GROKFAST).verdict == "fail"
    assert claim("grokfast_speedup", twins(None, 100, last=300), GROKFAST).verdict == "not_yet"
    assert claim("grokfast_speedup", twins(800, 100), CONFIG).verdict == "not_applicable"
    assert claim("grokfast_speedup", Curves(), GROKFAST).verdict == "not_yet"
