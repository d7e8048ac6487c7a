"""XOR grokking: the spec is whole and torch-free, the data has the geometry it claims, the coefficient form of GD is
GD in d dimensions, the tiny preset trains and resumes exactly, and every claim reaches each verdict it can on
synthetic curves."""


import numpy as np
import pytest
import torch
from pydantic import ValidationError

from backend.store.settings import Settings
from workers.memory_run import MemoryRun
from workers.phenomena import contract
from workers.phenomena.contract import Curves
from workers.phenomena.xor_grokking import spec
from workers.phenomena.xor_grokking.claims import (
    CHANCE_BAND,
    GENERALIZED,
    HOLD,
    MIN_FACTOR,
    detect,
    generalization,
    memorization,
    wilson,
)
from workers.phenomena.xor_grokking.config import Config
from workers.phenomena.xor_grokking.data import gaussian_coordinates, make_data
from workers.phenomena.xor_grokking.model import (
    gd_step_,
    logistic_loss,
    output_weights,
    outputs,
    preactivations,
)
from workers.phenomena.xor_grokking.train import train

PH = spec.PHENOMENON
TINY = PH.presets["tiny"].config
DEFAULT = PH.presets["default"].config
CLAIMS = {claim.id: claim for claim in PH.claims}


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"d": 100, "n": 200, "lr": 1.0}, "d ≫ n"),
    ],
)
def test_cross_field_rules_say_what_to_change(knobs, words):
    with pytest.raises(ValidationError, match=words):
        Config(**knobs)


def test_the_default_is_cheap_and_the_worst_allowed_run_bounded():
    assert DEFAULT.work < 2e10
    assert Config(n=400, width=128, steps=1000, n_test=2000).work <= 2e11
    # The knobs' own bounds keep the largest run (about a minute) inside the default compute budget.
    largest = Config(n=400, width=512, steps=5000, n_test=2000)
    assert largest.cost.seconds <= Settings.model_fields["max_run_cpu_seconds"].default / 5


def test_the_log_schedule_is_dense_early_and_ends_at_the_last_step():
    steps = [s for s in range(DEFAULT.steps + 1) if DEFAULT.logged(s)]
    assert steps[:51] == list(range(51)) and steps[-1] == DEFAULT.steps
    snaps = DEFAULT.snapshot_steps()
    assert snaps[:3] == [0, 1, 2] and snaps[-1] == DEFAULT.steps and snaps == sorted(set(snaps))


# -- data and model -----------------------------------------------------------------------------


def test_bartlett_coordinates_have_the_gram_matrix_of_d_dimensional_gaussians():
    rng = np.random.default_rng(0)
    grams = np.array([(lambda v: v @ v.T)(gaussian_coordinates(3, 500, rng)) for _ in range(2000)])  # (2000, 3, 3)
    assert grams.mean(axis=0) == pytest.approx(500 * np.eye(3), abs=3.0)
    assert grams[:, 0, 0].var() == pytest.approx(2 * 500, rel=0.15)  # χ²₅₀₀
    assert grams[:, 0, 1].var() == pytest.approx(500, rel=0.15)  # a sum of 500 products of N(0, 1)
    assert gaussian_coordinates(5, 3, rng).shape == (5, 3)  # d ≤ count: drawn directly


def test_the_data_has_xor_labels_flipped_training_labels_and_the_right_geometry():
    config = Config(d=20_000, n=200, mu_norm=50.0, width=16, n_test=400, label_noise=0.2)
    data = make_data(config, seed=1)
    clean = np.where(data.cluster_train < 2, 1.0, -1.0)
    assert np.array_equal(data.y_train == clean, ~data.flipped) and 0.1 < data.flipped.mean() < 0.3
    assert np.array_equal(data.y_test, np.where(data.cluster_test < 2, 1.0, -1.0))
    assert np.diag(data.gram).mean() == pytest.approx(config.d + config.mu_norm**2, rel=0.02)  # ‖μ + ξ‖²
    signs = np.array([1, -1, 1, -1])[data.cluster_train]
    axis = (data.cluster_train >= 2).astype(int)
    along = data.train_mu[np.arange(config.n), axis] * signs  # ⟨x_i, its own μ⟩ / ‖μ‖
    assert along.mean() == pytest.approx(config.mu_norm, abs=0.5)
    assert np.linalg.norm(data.init_mu, axis=1).mean() < 0.05  # init_scale 0.01 spread over d


def test_the_same_seed_draws_the_same_data():
    small = Config(n=40, width=8, n_test=100)
    a, b = make_data(small, 3), make_data(small, 3)
    assert np.array_equal(a.gram, b.gram) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.gram, make_data(small, 4).gram)


def test_a_coefficient_step_is_a_gradient_step_on_the_weights():
    torch.manual_seed(0)
    m, n, d = 6, 5, 40
    x, w0 = torch.randn(n, d, dtype=torch.float64), 0.1 * torch.randn(m, d, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    a, coef = output_weights(m), torch.zeros(m, n, dtype=torch.float64)
    w = w0.clone().requires_grad_(True)
    for _ in range(3):
        logistic_loss(outputs(a, w @ x.T), y).backward()
        with torch.no_grad():
            w -= 0.5 * w.grad
        w.grad = None
        z = preactivations(w0 @ x.T, coef, x @ x.T)
        gd_step_(coef, a, z, outputs(a, z), y, 0.5)
    assert torch.allclose(w0 + coef @ x, w.detach(), atol=1e-12)
    assert a.sum() == 0 and a[0] == pytest.approx(1 / m**0.5)


# -- trainer ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> MemoryRun:
    torch.set_num_threads(1)
    run = MemoryRun(PH)
    train(TINY, run, seed=0)
    return run


def test_tiny_memorizes_at_the_first_step_at_chance(tiny_run):
    curves = tiny_run.curves(finished=True)
    assert memorization(curves) == 1.0
    assert curves["train/acc_flipped"][1][1] == 1.0 and abs(curves["test/acc"][1][1] - 0.5) <= CHANCE_BAND
    names = {name for name, _ in tiny_run.points}
    assert {"test/acc_plus_mu1", "test/acc_minus_mu2", "train/loss", "test/loss"} <= names
    assert [step for step, _, _ in tiny_run.snapshots] == TINY.snapshot_steps()
    assert all(array.shape == (TINY.width, 3) for _, _, array in tiny_run.snapshots)


def test_tiny_reaches_the_verdicts_its_preset_expects(tiny_run):
    summary = contract.evaluate(PH, tiny_run.curves(finished=True), TINY)
    assert summary.preset == "tiny" and not summary.errors
    assert {c.id: c.verdict for c in summary.claims} == {c.id: c.expected for c in summary.claims}


def test_a_stopped_run_resumes_to_exactly_the_same_curves():
    small = Config(n=64, width=16, n_test=200, steps=300)  # past DENSE_STEPS, so both log schedules are crossed
    straight_run = MemoryRun(PH)
    train(small, straight_run, seed=5)
    stopped = MemoryRun(PH, stop_after=small.steps / 2, checkpoint_every=7)
    train(small, stopped, seed=5)
    assert stopped.checkpoints and stopped.progress < small.steps
    live = {c.id: c.verdict for c in contract.evaluate(PH, stopped.curves(), small).claims}
    assert live["benign_overfitting"] == "not_yet"
    resumed = MemoryRun(PH, resume_from=stopped)
    train(small, resumed, seed=5)
    assert resumed.points == straight_run.points
    straight = {step: array for step, _, array in straight_run.snapshots}
    assert resumed.snapshots and all(np.array_equal(array, straight[step]) for step, _, array in resumed.snapshots)


# -- detect and claims on synthetic curves ------------------------------------------------------------


def synthetic(mem_step: float | None = 1, test_at_mem: float = 0.5, gen_step: float | None = 40,
              final_test: float = 1.0, final_flipped: float = 1.0, steps: int = 200, finished: bool = True,
              flipped: bool = True, rising: bool = False) -> Curves:
    """A run logged at steps 0 … `steps`: training accuracy 1 from mem_step on (None: never), test accuracy at
    `test_at_mem` until gen_step, then `final_test` (None: levelled off at 0.75, or rising linearly to 0.9)."""
    x = np.arange(steps + 1, dtype=float)
    fitted = np.zeros_like(x, dtype=bool) if mem_step is None else x >= mem_step
    clean = np.where(fitted, 1.0, 0.6)
    flip = np.where(fitted, 1.0, 0.3)
    flip[-1] = final_flipped if mem_step is not None else flip[-1]
    if gen_step is None:
        test = np.linspace(test_at_mem, 0.9, len(x)) if rising else np.where(x < 20, test_at_mem, 0.75)
    else:
        test = np.where(x < gen_step, test_at_mem, final_test)
    series = {"train/acc_clean": (x, clean), "test/acc": (x, test)}
    if flipped:
        series["train/acc_flipped"] = (x, flip)
    return Curves.of(series, finished=finished)


def verdict(claim: str, curves: Curves, config: Config = DEFAULT) -> contract.ClaimResult:
    return CLAIMS[claim].check(curves, config)


def test_detect_marks_memorization_and_generalization():
    found = {t.id: t for t in detect(synthetic(mem_step=1, gen_step=40), DEFAULT)}
    assert found["memorization"].x == 1 and found["generalization"].x == 40
    live = synthetic(gen_step=198, finished=False)  # 3 points above 95 % so far: not yet held
    assert generalization(live) is None and generalization(synthetic(gen_step=198)) == (198.0, 1.0)
    assert memorization(synthetic(mem_step=None)) is None
    assert memorization(synthetic(mem_step=3, flipped=False)) == 3


def test_catastrophic_overfitting_passes_at_chance_with_its_interval():
    result = verdict("catastrophic_overfitting", synthetic(test_at_mem=0.52))
    assert result.verdict == "pass" and result.value == pytest.approx(0.52)
    assert result.interval == wilson(0.52, DEFAULT.n_test) and result.interval[0] < 0.52 < result.interval[1]


def test_catastrophic_overfitting_fails_when_the_clusters_were_learned_first_or_never_memorized():
    learned = verdict("catastrophic_overfitting", synthetic(mem_step=30, test_at_mem=0.5 + 2 * CHANCE_BAND))
    assert learned.verdict == "fail" and learned.value == pytest.approx(0.7) and "already learned" in learned.detail
    never = verdict("catastrophic_overfitting", synthetic(mem_step=None))
    assert never.verdict == "fail" and never.value == pytest.approx(0.3) and "flipped" in never.detail


def test_grokking_passes_late_and_fails_early_or_never():
    late = verdict("grokking", synthetic(mem_step=1, gen_step=40))
    assert late.verdict == "pass" and late.value == 40
    early = verdict("grokking", synthetic(mem_step=2, gen_step=2 * MIN_FACTOR - 2))
    assert early.verdict == "fail" and early.value == pytest.approx(MIN_FACTOR - 1)
    never = verdict("grokking", synthetic(gen_step=None))
    assert never.verdict == "fail" and never.value == 0.75 and "levelled off" in never.detail
    unmemorized = verdict("grokking", synthetic(mem_step=None, gen_step=10))
    assert unmemorized.verdict == "fail" and "without memorization" in unmemorized.detail


def test_grokking_still_rising_at_the_end_is_inconclusive():
    result = verdict("grokking", synthetic(gen_step=None, rising=True))
    assert result.verdict == "inconclusive" and "more steps" in result.detail


def test_benign_overfitting_passes_when_the_flipped_labels_stay_fitted():
    result = verdict("benign_overfitting", synthetic())
    assert result.verdict == "pass" and result.value == 1.0
    dropped = verdict("benign_overfitting", synthetic(final_flipped=0.9))
    assert dropped.verdict == "fail" and dropped.value == pytest.approx(0.9) and "un-memorized" in dropped.detail
    worse = verdict("benign_overfitting", synthetic(gen_step=50, final_test=GENERALIZED - 0.1, steps=50 + HOLD))
    assert worse.verdict in ("inconclusive", "fail")


def test_benign_overfitting_without_flips_or_generalization():
    clean = DEFAULT.model_copy(update={"label_noise": 0.0})
    assert verdict("benign_overfitting", synthetic(flipped=False), clean).verdict == "not_applicable"
    assert verdict("benign_overfitting", synthetic(flipped=False)).verdict == "not_applicable"  # none drawn
    assert verdict("benign_overfitting", synthetic(gen_step=None)).verdict == "inconclusive"


@pytest.mark.parametrize("claim", list(CLAIMS))
def test_a_live_run_is_not_yet(claim):
    assert verdict(claim, synthetic(mem_step=None, gen_step=None, finished=False)).verdict == "not_yet"
    assert verdict(claim, Curves()).verdict == "not_yet"
