"""Superposition: the spec is whole, the tiny preset trains and resumes exactly, the hand-written gradient and the
sampler are what they claim, and every claim reaches every verdict it can on synthetic curves."""


import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena import contract
from workers.phenomena.contract import Curves
from workers.phenomena.superposition import spec
from workers.phenomena.superposition.claims import INVERSE_M, MANY, TAIL_TOLERANCE, detect
from workers.phenomena.superposition.config import (
    Config,
    frequencies,
    no_superposition_loss,
    snapshot_features,
    tail_slope,
)
from workers.phenomena.superposition.data import sample
from workers.phenomena.superposition.model import decay_, loss_and_grads, reconstruct
from workers.phenomena.superposition.train import train

PH = spec.PHENOMENON
TINY = PH.presets["tiny"].config
STRONG, WEAK, NEITHER = Config(), Config(weight_decay=1.0), Config(weight_decay=0.0)
CLAIMS = {claim.id: claim for claim in PH.claims}


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"m_min": 32, "m_max": 32, "snapshot_m": 32}, "m_min (32) must be below m_max (32)"),
        ({"n_features": 64}, "m_max must be at most n_features / 4 = 16"),
        ({"snapshot_m": 9}, "snapshot_m must be one of the widths [4, 6, 8, 11, 16, 23, 32]"),
        ({"m_min": 4, "m_max": 8, "n_widths": 12, "snapshot_m": 4}, "only 5 distinct integer widths"),
        ({"active_features": 8.0, "freq_exponent": 3.0}, "feature 1 active with probability"),
        ({"weight_decay": 20.0}, "less than or equal to 16"),
        ({"width": 8}, "Extra inputs are not permitted"),
    ],
)
def test_bad_knobs_are_refused_with_a_reason(knobs, words):
    with pytest.raises(ValidationError) as caught:
        Config(**knobs)
    assert words in str(caught.value)


def test_the_presets_differ_where_they_say():
    default, weak = PH.presets["default"].config, PH.presets["weak"].config
    assert default == Config() and default.regime == "strong"
    assert weak.model_dump() == {**default.model_dump(), "weight_decay": 1.0}  # only the sign of the decay
    for name, preset in PH.presets.items():
        assert Config.model_validate(preset.config.model_dump(mode="json")) == preset.config, name
        assert snapshot_features(preset.config) ** 2 <= PH.snapshots[0].max_values


def test_frequencies_and_the_one_feature_per_dimension_loss():
    config = Config(n_features=64, m_min=2, m_max=16, snapshot_m=2, active_features=2.0)
    p = frequencies(config)
    assert p.sum() == pytest.approx(2.0) and np.all(np.diff(p) < 0)
    assert p[0] / p[9] == pytest.approx(10**config.freq_exponent)
    by_hand = sum(4 * p[i] / 3 - p[i] ** 2 for i in range(5, 64)) / 64
    assert no_superposition_loss(config, 5) == pytest.approx(by_hand)
    # the tail of i^-2 beyond m is ~1/m: the prediction nears −(a − 1) = −1 when n ≫ m
    assert tail_slope(Config(n_features=2048, freq_exponent=2.0)) == pytest.approx(-1.0, abs=0.05)


# -- data and model ---------------------------------------------------------------------------------


def test_samples_are_active_at_rate_p_and_uniform_on_0_2_when_active():
    p = torch.tensor([0.5, 0.1, 0.01])
    x = sample(p, 200_000, torch.Generator().manual_seed(0))  # (B, 3)
    active = x > 0
    torch.testing.assert_close(active.float().mean(0), p, rtol=0.05, atol=0)
    values = x[active]
    assert values.max() < 2 and values.mean().item() == pytest.approx(1.0, abs=0.01)
    assert values.var().item() == pytest.approx(1 / 3, abs=0.01)  # U(0, 2)


def test_the_hand_written_gradient_is_autograds():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(5, 40, generator=g) * 0.5
    b = torch.randn(40, generator=g) * 0.3  # some outputs switched off by the ReLU, some on
    x = sample(torch.full((40,), 0.2), 64, g)
    loss, grad_w, grad_b = loss_and_grads(w.clone(), b.clone(), x)
    w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
    expected = ((reconstruct(w_, b_, x) - x) ** 2).mean()
    expected.backward()
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(grad_w, w_.grad)
    torch.testing.assert_close(grad_b, b_.grad)


def test_positive_decay_shrinks_and_negative_decay_pulls_every_column_to_norm_one():
    w = torch.tensor([[0.5, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.3]])  # (m=2, n=4): column norms 0.5, 2, 1, 0.3
    shrunk = w.clone()
    decay_(shrunk, lr=0.1, weight_decay=1.0)
    torch.testing.assert_close(shrunk, 0.9 * w)
    pulled = w.clone()
    decay_(pulled, lr=0.1, weight_decay=-1.0)
    before, after = w.norm(dim=0), pulled.norm(dim=0)
    assert after[0] > before[0] and after[1] < before[1] and after[3] > before[3]
    assert after[2].item() == pytest.approx(1.0)


# -- trainer ------------------------------------------------------------------------------------------


def charted_metrics() -> set[str]:
    return {name for chart in PH.charts
            for name in (*chart.metrics, *chart.baselines, *([chart.fit.metric] if chart.fit else []))}


@pytest.fixture(scope="module")
def tiny_run() -> MemoryRun:
    torch.set_num_threads(1)
    run = MemoryRun(PH)
    train(TINY, run, seed=0)
    return run


def test_tiny_logs_every_charted_metric_finite(tiny_run):
    assert charted_metrics() <= tiny_run.names()
    for (name, member), points in tiny_run.points.items():
        assert points and all(np.isfinite(v) for v in points.values()), (name, member)
    steps = [x for x in range(1, TINY.steps + 1) if x % TINY.log_every == 0]
    for m in TINY.widths:
        assert tiny_run.xs("loss", m) == steps and tiny_run.xs("represented", m) == steps
        first, last = tiny_run.points[("loss", m)][steps[0]], tiny_run.points[("loss", m)][steps[-1]]
        assert last < 0.7 * first  # it learns
    for name in ("final_loss", "final_represented", "no_superposition_loss", "one_per_dim"):
        assert tiny_run.xs(name) == TINY.widths
    k = snapshot_features(TINY)
    assert [step for step, _, _ in tiny_run.snapshots] == list(range(0, TINY.steps + 1, TINY.snapshot_every))
    assert all(name == "wtw" and array.shape == (k, k) for _, name, array in tiny_run.snapshots)


def test_tiny_reaches_the_verdicts_its_preset_expects(tiny_run):
    summary = contract.evaluate(PH, tiny_run.curves(finished=True), TINY)
    assert summary.preset == "tiny" and not summary.errors
    assert {c.id: c.verdict for c in summary.claims} == {c.id: c.expected for c in summary.claims}
    inverse = next(c for c in summary.claims if c.id == "inverse_m")
    assert inverse.value == pytest.approx(summary.fits["loss_vs_m"].slope)  # the chart's slope is the claim's
    assert inverse.interval == summary.fits["loss_vs_m"].interval


def test_a_stopped_run_resumes_to_exactly_the_same_curves(tiny_run):
    stopped = MemoryRun(PH, stop_after=300, checkpoint_every=13)
    train(TINY, stopped, seed=0)
    assert "final_loss" not in stopped.names() and stopped.checkpoints
    last = stopped.checkpoints[-1][0]
    assert last % TINY.log_every != 0  # mid-interval: the running loss sum must travel in the checkpoint
    live = {c.id: c.verdict for c in contract.evaluate(PH, stopped.curves(), TINY).claims}
    assert live == {"inverse_m": "not_yet", "follows_tail": "not_applicable", "many_features": "not_yet"}
    resumed = MemoryRun(PH, resume_from=stopped)
    train(TINY, resumed, seed=0)
    assert resumed.points == tiny_run.points
    straight = {step: array for step, _, array in tiny_run.snapshots}
    assert resumed.snapshots and all(np.array_equal(array, straight[step]) for step, _, array in resumed.snapshots)


def test_same_seed_same_curves_other_seed_other_curves():
    short = TINY.model_copy(update={"steps": 30})
    a, b, c = MemoryRun(PH), MemoryRun(PH), MemoryRun(PH)
    train(short, a, seed=3)
    train(short, b, seed=3)
    train(short, c, seed=4)
    assert a.points == b.points
    assert a.points[("final_loss", None)] != c.points[("final_loss", None)]


# -- detect and claims on synthetic curves --------------------------------------------------------------


def synthetic(config: Config, slope: float | None = -1.0, per_dim: float | None = 16.0, finished: bool = True,
              steps: int = 100) -> Curves:
    """A run of `config` logged at steps 1 … `steps`: each width's loss falls from 3× to ½× its one-feature-per-
    dimension optimum, crossing it at step 40, and it stores min(n, per_dim·m) features from step 20 on. At
    the end: held-out loss ∝ m^slope with 2 % noise, and the stored counts (None: not logged)."""
    x = np.arange(1, steps + 1, dtype=float)
    series: dict[tuple[str, float | None], tuple[np.ndarray, np.ndarray]] = {}
    for width in config.widths:
        floor = no_superposition_loss(config, width)
        series[("loss", float(width))] = (x, floor * np.where(x < 40, 3.0, 0.5))
        stored = min(config.n_features, (per_dim or 1) * width)
        series[("represented", float(width))] = (x, np.where(x < 20, 0.0, stored))
    m = np.asarray(config.widths, dtype=float)
    if slope is not None:
        noise = 1 + 0.02 * np.random.default_rng(0).standard_normal(len(m))
        series[("final_loss", None)] = (m, 1e-3 * (m / m[0]) ** slope * noise)
    if per_dim is not None:
        series[("final_represented", None)] = (m, np.minimum(config.n_features, per_dim * m))
    return Curves(series, finished=finished)


def check(claim: str, curves: Curves, config: Config) -> contract.ClaimResult:
    return CLAIMS[claim].check(curves, config)


def test_detect_marks_superposing_and_beating_one_feature_per_dimension():
    found = {t.id: t for t in detect(synthetic(STRONG), STRONG)}
    assert set(found) == {f"{kind}_m{m}" for m in STRONG.widths for kind in ("superposed", "beats_one_per_dim")}
    assert found["superposed_m8"].x == 20 and found["superposed_m8"].member == 8
    assert found["beats_one_per_dim_m8"].x == 40 and found["beats_one_per_dim_m8"].charts == ["loss"]
    assert not any(t.id.startswith("superposed") for t in detect(synthetic(STRONG, per_dim=1.0), STRONG))


def test_detect_waits_for_an_event_to_hold_unless_the_run_ended():
    live = synthetic(STRONG, finished=False, steps=42)  # 3 points below the optimum so far
    assert not any(t.id.startswith("beats") for t in detect(live, STRONG))
    ended = synthetic(STRONG, finished=True, steps=42)
    assert any(t.id.startswith("beats") for t in detect(ended, STRONG))


def test_inverse_m_passes_at_slope_minus_one_with_its_interval():
    result = check("inverse_m", synthetic(STRONG, slope=-1.0), STRONG)
    assert result.verdict == "pass" and result.value == pytest.approx(-1.0, abs=0.05)
    assert result.interval is not None and result.value is not None
    assert result.interval[0] <= result.value <= result.interval[1]


@pytest.mark.parametrize("slope", [INVERSE_M[1] + 0.3, INVERSE_M[0] - 0.3])
def test_inverse_m_fails_outside_its_band_and_says_the_slope(slope):
    result = check("inverse_m", synthetic(STRONG, slope=slope), STRONG)
    assert result.verdict == "fail" and result.value == pytest.approx(slope, abs=0.05)
    assert result.interval is not None and f"m^{result.value:.2f}" in result.detail


def test_follows_tail_passes_on_the_tail_and_fails_at_one_over_m():
    predicted = tail_slope(WEAK)
    passed = check("follows_tail", synthetic(WEAK, slope=predicted), WEAK)
    assert passed.verdict == "pass" and passed.value == pytest.approx(predicted, abs=0.05)
    assert passed.interval is not None
    failed = check("follows_tail", synthetic(WEAK, slope=predicted - 2 * TAIL_TOLERANCE), WEAK)
    assert failed.verdict == "fail" and failed.value == pytest.approx(predicted - 2 * TAIL_TOLERANCE, abs=0.05)
    assert check("follows_tail", synthetic(WEAK, slope=-1.0), WEAK).verdict == "fail"


def test_many_features_passes_at_every_feature_and_fails_at_one_per_dimension():
    passed = check("many_features", synthetic(STRONG, per_dim=100.0), STRONG)
    assert passed.verdict == "pass" and passed.value == STRONG.n_features / STRONG.m_max
    failed = check("many_features", synthetic(STRONG, per_dim=MANY - 1), STRONG)
    assert failed.verdict == "fail" and failed.value == MANY - 1 and "at m = 4" in failed.detail


@pytest.mark.parametrize("claim", ["inverse_m", "follows_tail", "many_features"])
def test_a_live_run_without_the_final_sweep_is_not_yet_and_a_finished_one_inconclusive(claim):
    config = WEAK if claim == "follows_tail" else STRONG
    assert check(claim, synthetic(config, slope=None, per_dim=None, finished=False), config).verdict == "not_yet"
    assert check(claim, synthetic(config, slope=None, per_dim=None, finished=True), config).verdict == "inconclusive"


def test_too_few_widths_to_fit_is_inconclusive_even_live():
    two = Config(m_min=4, m_max=8, n_widths=2, snapshot_m=4)
    for finished in (False, True):
        result = check("inverse_m", synthetic(two, finished=finished), two)
        assert result.verdict == "inconclusive" and "at least 3" in result.detail


@pytest.mark.parametrize(("config", "claims"), [
    (WEAK, ["inverse_m", "many_features"]),
    (STRONG, ["follows_tail"]),
    (NEITHER, ["inverse_m", "follows_tail", "many_features"]),
])
def test_a_claim_about_the_other_regime_is_not_applicable_and_says_why(config, claims):
    for claim in claims:
        result = check(claim, synthetic(config), config)
        assert result.verdict == "not_applicable" and f"weight_decay = {config.weight_decay:g}" in result.detail


def test_the_presets_expect_the_verdicts_that_synthetic_runs_of_their_regime_get():
    for name, preset in PH.presets.items():
        config = preset.config
        slope = tail_slope(config) if config.regime == "weak" else -1.0
        got = {claim.id: claim.check(synthetic(config, slope=slope), config).verdict for claim in PH.claims}
        assert got == {claim.id: preset.expected(claim.id) for claim in PH.claims}, name
