"""Incremental learning: the spec is whole, the target and measurements are what they claim, the gradient step is
autograd's, the tiny preset learns σ₁ then σ₂ and resumes exactly, and every claim reaches every verdict it can on
synthetic curves."""

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena import contract
from workers.phenomena.contract import Curves
from workers.phenomena.incremental_learning import spec
from workers.phenomena.incremental_learning.claims import RECOVERED, THEORY_BAND, detect, slope_fit
from workers.phenomena.incremental_learning.config import Config, is_small, plateau_theory, theory_slope
from workers.phenomena.incremental_learning.data import DTYPE, make_problem
from workers.phenomena.incremental_learning.model import (
    in_target_basis,
    init_factors,
    learned_fraction,
    recovery_error,
    residuals,
    step_,
    top_of_measurements,
)
from workers.phenomena.incremental_learning.train import train

PH = spec.PHENOMENON
TINY = PH.presets["tiny"].config
DEFAULT = Config()
CLAIMS = {claim.id: claim for claim in PH.claims}


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"rank": 4, "d": 4, "width": 4}, "rank (4) must be below d (4)"),
        ({"width": 2}, "width k (2) must be at least rank r (3)"),
        ({"width": 30}, "width k (30) must be at most d (20)"),
        ({"alpha_min": 1e-2, "alpha_max": 1e-4}, "alpha_min (0.01) must not exceed alpha_max (0.0001)"),
        ({"alpha_min": 1e-2, "alpha_max": 1e-2}, "one initialization scale means"),
        ({"alpha_min": 1e-3, "alpha_max": 1e-2, "n_alphas": 8}, "closer than a quarter decade"),
        ({"alpha_min": 1.0, "alpha_max": 1.0, "n_alphas": 1, "lr": 0.5}, "gradient descent can blow up"),
        ({"lr": 2.0}, "less than or equal to 0.5"),
        ({"depth": 2}, "Extra inputs are not permitted"),
    ],
)
def test_bad_knobs_are_refused_with_a_reason(knobs, words):
    with pytest.raises(ValidationError) as caught:
        Config(**knobs)
    assert words in str(caught.value)


def test_the_presets_differ_where_they_say_and_stay_cheap():
    default = PH.presets["default"].config
    assert default == DEFAULT and default.alphas == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    assert DEFAULT.sigmas == [1.0, 0.5, 0.25] and not DEFAULT.determined and all(is_small(DEFAULT, a) for a in
                                                                                  DEFAULT.alphas)
    large = PH.presets["large_init"].config
    assert {k: v for k, v in large.model_dump().items() if v != default.model_dump()[k]} == {
        "alpha_min": 1.0, "alpha_max": 1.0, "n_alphas": 1}
    assert PH.presets["many_measurements"].config.determined
    for name, preset in PH.presets.items():
        assert preset.config.work <= 1.2e9, name


def test_the_linear_phase_theory():
    # each unit of ln(1/α) costs 1/ln(1 + ησ₁) steps; ≈ 1/(ησ₁) when ησ₁ is small
    assert theory_slope(DEFAULT) == pytest.approx(1 / math.log(1.2))
    a, b = plateau_theory(DEFAULT, 1e-6), plateau_theory(DEFAULT, 1e-2)
    assert (a - b) / math.log(1e4) == pytest.approx(theory_slope(DEFAULT))
    assert plateau_theory(DEFAULT, 1e-6, rate=2.0) < a  # a faster rate, a shorter plateau


# -- data and model ---------------------------------------------------------------------------------


def test_the_target_has_the_configured_spectrum_and_the_measurements_sample_it():
    problem = make_problem(12, [1.0, 0.5, 0.25], 4000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(problem.basis.T @ problem.basis, torch.eye(12, dtype=DTYPE))
    eig = torch.linalg.eigvalsh(problem.target).flip(0)
    torch.testing.assert_close(eig[:3], problem.sigmas)
    assert eig[3:].abs().max() < 1e-12
    a = problem.sensing.reshape(-1, 12, 12)
    torch.testing.assert_close(a, a.transpose(1, 2))  # symmetric
    torch.testing.assert_close(problem.y, (a * problem.target).sum((1, 2)))
    # E[⟨A, Δ⟩ A] = Δ: on average the sensing loss is ‖XXᵀ − M*‖²_F, and its linear phase grows at σ₁
    average = (problem.y @ problem.sensing).reshape(12, 12) / 4000
    assert torch.linalg.matrix_norm(average - problem.target) < 0.25 * torch.linalg.matrix_norm(problem.target)
    assert top_of_measurements(problem) == pytest.approx(1.0, abs=0.15)


def test_the_gradient_step_is_autograds_of_the_quarter_mean_squared_residual():
    g = torch.Generator().manual_seed(1)
    problem = make_problem(6, [1.0, 0.5], 40, g)
    x = init_factors(6, 4, [0.3, 1.0], g)  # (2, 6, 4)
    x_ = x.clone().requires_grad_()
    (residuals(x_, problem).pow(2).sum(1) / (4 * 40)).sum().backward()
    stepped = x.clone()
    step_(stepped, residuals(x, problem), problem, lr=0.1)
    assert x_.grad is not None
    torch.testing.assert_close(stepped, x - 0.1 * x_.grad)


def test_the_members_share_one_draw_and_the_measures_of_a_perfect_factor():
    g = torch.Generator().manual_seed(2)
    problem = make_problem(8, [1.0, 0.4], 50, g)
    x = init_factors(8, 3, [1e-3, 1e-1], g)
    torch.testing.assert_close(x[1], 100 * x[0])
    assert (x[1].norm(dim=0).mean() - 0.1).abs() < 0.05  # columns of norm ≈ α
    perfect = (problem.u * problem.sigmas.sqrt())[None]  # (1, 8, 2): XXᵀ = M*
    torch.testing.assert_close(learned_fraction(perfect, problem), torch.ones(1, 2, dtype=DTYPE))
    assert recovery_error(perfect, problem).item() < 1e-12
    assert residuals(perfect, problem).abs().max() < 1e-12
    basis = in_target_basis(perfect[0], problem)
    torch.testing.assert_close(basis, torch.diag(torch.tensor([1.0, 0.4] + [0.0] * 6, dtype=DTYPE)))


# -- trainer ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> MemoryRun:
    torch.set_num_threads(1)
    run = MemoryRun(PH)
    train(TINY, run, seed=0)
    return run


def test_tiny_logs_what_the_charts_draw_and_learns_largest_first(tiny_run):
    steps = list(range(0, TINY.steps + 1))
    for alpha in TINY.alphas:
        assert tiny_run.xs("loss", alpha) == steps and tiny_run.xs("error", alpha) == steps
        loss = tiny_run.points[("loss", alpha)]
        assert loss[TINY.steps] < 1e-3 * loss[0]
    for i in range(1, TINY.shown + 1):
        assert tiny_run.xs("eig", i) == steps
    assert {m for n, m in tiny_run.points if n == "learned"} == {1.0, 2.0}
    assert tiny_run.xs("t_learn") == sorted(math.log(1 / a) for a in TINY.alphas)
    t = [tiny_run.points[("t_learn", None)][x] for x in tiny_run.xs("t_learn")]
    assert t == sorted(t) and t[0] > 0  # smaller α (larger ln 1/α), later
    found = {tr.id: tr.x for tr in detect(tiny_run.curves(finished=True), TINY)}
    assert set(found) == {"learned_1", "learned_2"} and found["learned_1"] < found["learned_2"]
    assert found["learned_1"] == t[-1]  # the smallest α's σ₁, seen by the detector and by the trainer
    shapes = {name: array.shape for _, name, array in tiny_run.snapshots}
    assert shapes == {"xxt": (8, 8), "spectrum": (8,)}


def test_tiny_reaches_the_verdicts_its_preset_expects(tiny_run):
    summary = contract.evaluate(PH, tiny_run.curves(finished=True), TINY)
    assert summary.preset == "tiny" and not summary.errors
    assert {c.id: c.verdict for c in summary.claims} == {c.id: c.expected for c in summary.claims}


def test_a_stopped_run_is_not_yet_and_resumes_to_the_same_curves(tiny_run):
    stopped = MemoryRun(PH, stop_after=40, checkpoint_every=7)
    train(TINY, stopped, seed=0)
    assert "t_learn" not in stopped.names() and stopped.checkpoints
    live = {c.id: c.verdict for c in contract.evaluate(PH, stopped.curves(), TINY).claims}
    assert live == {"staircase": "not_yet", "log_alpha": "not_yet", "recovers": "not_applicable"}
    resumed = MemoryRun(PH, resume_from=stopped)
    train(TINY, resumed, seed=0)
    assert resumed.points == tiny_run.points
    straight = {(step, name): array for step, name, array in tiny_run.snapshots}
    assert all(np.array_equal(array, straight[(step, name)]) for step, name, array in resumed.snapshots)


def test_same_seed_same_curves_other_seed_other_curves():
    short = TINY.model_copy(update={"steps": 30})
    a, b, c = MemoryRun(PH), MemoryRun(PH), MemoryRun(PH)
    train(short, a, seed=3)
    train(short, b, seed=3)
    train(short, c, seed=4)
    assert a.points == b.points and a.points != c.points


# -- detect and claims on synthetic curves --------------------------------------------------------------


def synthetic(config: Config, centres: list[float] | None = None, width: float = 3.0, start: float = 0.0,
              end_loss: float = 1e-8, end_error: float = 1e-4, slope: float | None = None, curvature: float = 0.0,
              finished: bool = True, steps: int = 400) -> Curves:
    """A run of `config` logged at steps 0 … `steps`: target direction i is learned along a logistic centred at
    centres[i] of width `width` (from `start` at step 0, for a large init); the smallest α's loss falls from 1 to
    end_loss, its error to end_error; t_learn is t = 20 + slope·ln(1/α) + curvature·ln(1/α)² (None: not logged)."""
    x = np.arange(0, steps + 1, dtype=float)
    centres = centres if centres is not None else [50.0 * 2**i for i in range(config.rank)]
    series: dict[tuple[str, float | None], tuple[np.ndarray, np.ndarray]] = {}
    for i, c in enumerate(centres, 1):
        series[("learned", float(i))] = (x, start + (1 - start) / (1 + np.exp(np.clip((c - x) / width, -50, 50))))
    for alpha in config.alphas:
        series[("loss", alpha)] = (x, np.geomspace(1, end_loss, len(x)))
        series[("error", alpha)] = (x, np.geomspace(1, end_error, len(x)))
    if slope is not None:
        ln = np.array(sorted(math.log(1 / a) for a in config.alphas))
        series[("t_learn", None)] = (ln, 20 + slope * ln + curvature * ln**2)
    return Curves(series, finished=finished)


def check(claim: str, curves: Curves, config: Config = DEFAULT) -> contract.ClaimResult:
    return CLAIMS[claim].check(curves, config)


def test_detect_marks_each_direction_half_learned():
    found = {t.id: t for t in detect(synthetic(DEFAULT), DEFAULT)}
    assert [found[f"learned_{i}"].x for i in (1, 2, 3)] == [50, 100, 200]
    assert found["learned_2"].member == 2 and "σ2 = 0.5" in found["learned_2"].label


def test_staircase_passes_with_separated_drops_and_fails_when_they_overlap():
    passed = check("staircase", synthetic(DEFAULT))
    assert passed.verdict == "pass" and passed.value == 3 and "σ1 at step 50" in passed.detail
    blurred = check("staircase", synthetic(DEFAULT, width=30.0))  # each starts before the last is done
    assert blurred.verdict == "fail" and blurred.value == 1
    swapped = check("staircase", synthetic(DEFAULT, centres=[100.0, 50.0, 200.0]))  # σ₂ first
    assert swapped.verdict == "fail" and swapped.value == 2


def test_staircase_fails_from_a_large_init_where_everything_starts_learned():
    result = check("staircase", synthetic(DEFAULT, start=0.95))
    assert result.verdict == "fail" and result.value == 1 and "no plateaus" in result.detail


def test_staircase_waits_live_and_judges_a_missing_step_by_whether_the_measurements_are_fit():
    live = synthetic(DEFAULT, finished=False, steps=120)  # σ₃ not yet
    assert check("staircase", live).verdict == "not_yet"
    never = synthetic(DEFAULT, centres=[50.0, 100.0, 10_000.0])
    result = check("staircase", never)
    assert result.verdict == "fail" and result.value == 2 and "σ3" in result.detail
    short = synthetic(DEFAULT, centres=[50.0, 100.0, 10_000.0], end_loss=0.5)
    assert check("staircase", short).verdict == "inconclusive"
    rank_one = Config(rank=1)
    assert check("staircase", synthetic(rank_one), rank_one).verdict == "not_applicable"


def test_log_alpha_passes_on_the_theory_slope_with_its_interval():
    result = check("log_alpha", synthetic(DEFAULT, slope=theory_slope(DEFAULT)))
    assert result.verdict == "pass" and result.value == pytest.approx(theory_slope(DEFAULT))
    assert result.interval is not None and result.interval[0] <= result.value <= result.interval[1]


@pytest.mark.parametrize("case", ["flat", "too_steep", "curved"])
def test_log_alpha_fails_when_flat_off_the_theory_or_not_linear(case):
    slope = {"flat": 0.0, "too_steep": 2 * THEORY_BAND[1] * theory_slope(DEFAULT), "curved": 0.5}[case]
    result = check("log_alpha", synthetic(DEFAULT, slope=slope, curvature=1.5 if case == "curved" else 0.0))
    assert result.verdict == "fail" and result.value is not None


def test_log_alpha_waits_for_the_end_and_needs_small_inits_and_three_of_them():
    assert check("log_alpha", synthetic(DEFAULT, slope=None, finished=False)).verdict == "not_yet"
    assert check("log_alpha", synthetic(DEFAULT, slope=None, finished=True)).verdict == "inconclusive"
    large = PH.presets["large_init"].config
    assert check("log_alpha", synthetic(large, slope=5.0), large).verdict == "not_applicable"
    two = Config(alpha_min=1e-6, alpha_max=1e-3, n_alphas=2)
    assert check("log_alpha", synthetic(two, slope=5.0), two).verdict == "inconclusive"


def test_slope_fit_is_exact_on_a_line_and_its_interval_widens_with_noise():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    slope, intercept, interval, r2 = slope_fit(x, 3 + 2 * x)
    assert slope == pytest.approx(2) and intercept == pytest.approx(3) and r2 == pytest.approx(1)
    _, _, noisy, _ = slope_fit(x, 3 + 2 * x + np.array([0.3, -0.3, -0.3, 0.3]))
    assert noisy[0] < 2 < noisy[1] and noisy[1] - noisy[0] > interval[1] - interval[0]


def test_recovers_passes_near_the_target_and_fails_when_it_fits_something_else():
    passed = check("recovers", synthetic(DEFAULT, end_error=1e-3))
    assert passed.verdict == "pass" and passed.value == pytest.approx(1e-3)
    failed = check("recovers", synthetic(DEFAULT, end_error=0.5))
    assert failed.verdict == "fail" and failed.value == pytest.approx(0.5) and "not M*" in failed.detail
    unfit = check("recovers", synthetic(DEFAULT, end_error=0.5, end_loss=0.5))
    assert unfit.verdict == "inconclusive" and unfit.value == pytest.approx(0.5)
    assert check("recovers", synthetic(DEFAULT, finished=False)).verdict == "not_yet"
    assert RECOVERED < 0.5


@pytest.mark.parametrize("knobs", [{"measurements": 1000}, {"width": 3}, {"measurements": 40}])
def test_recovers_is_not_applicable_where_the_init_cannot_be_what_decides(knobs):
    config = Config(**knobs)
    assert check("recovers", synthetic(config), config).verdict == "not_applicable"


def test_the_presets_expect_the_verdicts_that_synthetic_runs_of_their_kind_get():
    for name, preset in PH.presets.items():
        config = preset.config
        big = not all(is_small(config, a) for a in config.alphas)
        curves = synthetic(config, start=0.95 if big else 0.0, end_error=0.5 if big else 1e-4,
                           slope=theory_slope(config))
        got = {claim.id: claim.check(curves, config).verdict for claim in PH.claims}
        assert got == {claim.id: preset.expected(claim.id) for claim in PH.claims}, name
