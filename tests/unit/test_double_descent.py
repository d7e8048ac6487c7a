"""Double descent: the spec (torch-free, bounded knobs, feature grid, detectors, claims) and the sweep itself."""

from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena.contract import Curves
from workers.phenomena.double_descent import spec
from workers.phenomena.double_descent.model import fit_readout
from workers.phenomena.double_descent.train import train

ROOT = Path(__file__).resolve().parents[2]
METRICS = {"test/mse", "train/mse", "readout_norm"}
TINY = spec.PRESETS["tiny"].config


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "words"),
    [
        ({"p_max": 150}, "p_max", "2 × n_train = 200"),
        ({"p_min": 60}, "p_min", "n_train / 2 = 50"),
        ({"n_train": 10}, "n_train", "greater than or equal"),
        ({"ridge": -0.1}, "ridge", "greater than or equal"),
        ({"n_seeds": 0}, "n_seeds", "greater than or equal"),
        ({"p_max": 100_000}, "p_max", "less than or equal"),
        ({"width": 3}, "width", "extra"),
    ],
)
def test_bad_knobs_name_the_field(knobs, field, words):
    with pytest.raises(ValidationError) as caught:
        spec.Config(**knobs)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"] or words in error["type"]


def test_ridge_presets_expect_the_peak_claim_not_to_apply():
    assert spec.PRESETS["default"].config.ridge == 0 and spec.PRESETS["ridge"].config.ridge > 0
    assert spec.PRESETS["ridge"].expected("peak_at_n") == "not_applicable"
    assert spec.PRESETS["small_ridge"].expected("ridge_removes_peak") == "fail"


@pytest.mark.parametrize("preset", list(spec.PRESETS))
def test_feature_grid_is_increasing_and_straddles_n(preset):
    config = spec.PRESETS[preset].config
    grid = config.feature_grid
    assert all(isinstance(p, int) for p in grid)
    assert grid == sorted(set(grid))
    assert grid[0] == config.p_min and grid[-1] == config.p_max == config.progress_total
    assert config.n_train in grid and grid[0] <= config.n_train / 2 and grid[-1] >= 2 * config.n_train


def test_charts_are_drawn_against_p_with_the_threshold_marked():
    for chart in spec.CHARTS:
        assert set(chart.metrics) <= METRICS and chart.x == "p"
        assert [(r.label, r.value) for r in chart.references] == [("p = n", "n")]
    assert spec.PHENOMENON.axis("p").scale == "log" and spec.PHENOMENON.progress_axis == "p"
    assert spec.derived(spec.Config(n_train=80)) == {"n": 80.0}


# -- model ----------------------------------------------------------------------------------------


def test_min_norm_fit_interpolates_with_the_pseudo_inverse_solution():
    g = torch.Generator().manual_seed(0)
    phi, y = (
        torch.randn(20, 50, generator=g, dtype=torch.float64),
        torch.randn(20, generator=g, dtype=torch.float64),
    )
    a = fit_readout(phi, y, ridge=0.0)
    torch.testing.assert_close(phi @ a, y)
    torch.testing.assert_close(a, torch.linalg.pinv(phi) @ y)


def test_ridge_fit_matches_the_normal_equations():
    g = torch.Generator().manual_seed(1)
    phi, y = (
        torch.randn(30, 12, generator=g, dtype=torch.float64),
        torch.randn(30, generator=g, dtype=torch.float64),
    )
    ridge = 0.3
    expected = torch.linalg.solve(
        phi.T @ phi / 30 + ridge * torch.eye(12, dtype=torch.float64), phi.T @ y / 30
    )
    torch.testing.assert_close(fit_readout(phi, y, ridge), expected)


# -- trainer --------------------------------------------------------------------------------------


def test_tiny_sweep_logs_every_metric_at_every_width():
    run = MemoryRun(spec.PHENOMENON)
    train(TINY, run, seed=0)
    assert run.names() == METRICS  # no ridge: no minimum-norm baseline to log
    for name in METRICS:
        assert run.xs(name) == TINY.feature_grid
    assert run.snapshots == []


def test_default_preset_peaks_at_n_and_a_ridge_removes_the_peak():
    config = spec.PRESETS["default"].config
    run = MemoryRun(spec.PHENOMENON)
    train(config, run, seed=0)
    curves = run.curves(finished=True)
    marks = {t.id: t.x for t in spec.detect(curves, config)}
    assert marks == {"interpolation": config.n_train, "peak": config.n_train}
    results = {claim.id: claim.check(curves, config) for claim in spec.CLAIMS}
    assert results["peak_at_n"].verdict == "pass" and results["peak_at_n"].value == 1.0
    assert results["ridge_removes_peak"].verdict == "not_applicable"

    ridge = spec.PRESETS["ridge"].config
    run = MemoryRun(spec.PHENOMENON)
    train(ridge, run, seed=0)
    curves = run.curves(finished=True)
    result = spec.CLAIMS[1].check(curves, ridge)
    assert result.verdict == "pass" and result.value < 1.0, result
    assert spec.CLAIMS[0].check(curves, ridge).verdict == "not_applicable"
    assert "peak" not in {t.id for t in spec.detect(curves, ridge)}
    # the minimum-norm baseline on the same draws is the default preset's curve
    assert np.allclose(curves["test/mse_ridgeless"][1], run.curves()["test/mse_ridgeless"][1])


def test_a_ridge_that_over_regularizes_fails_the_claim():
    """ridge = 0.1 removes the spike but leaves test error ~3× the minimum-norm fit's away from it."""
    config = spec.Config(ridge=0.1)
    run = MemoryRun(spec.PHENOMENON)
    train(config, run, seed=0)
    result = spec.CLAIMS[1].check(run.curves(finished=True), config)
    assert result.verdict == "fail" and result.value < spec.FLAT
    assert "over-regularizes" in result.detail


# -- detect and claims on synthetic curves --------------------------------------------------------

CONFIG = spec.Config()  # n = 100, grid 10 … 1000


def synthetic(spike: float, last_p: int = 1000, peak_p: int = 100):
    """A U curve then a descent, times a bump of height `spike` at peak_p; train error 0 from p = 100 on."""
    grid = np.array([p for p in CONFIG.feature_grid if p <= last_p], dtype=float)
    base = 0.3 + 0.5 * np.exp(-grid / 30) + 0.2 * np.exp(-grid / 400)
    bump = 1 + (spike - 1) * np.exp(-(np.log(grid / peak_p) ** 2) / 0.01)
    train_mse = np.where(grid < 100, 0.5 * (1 - grid / 100), 1e-28)
    return Curves.of({
        "test/mse": (grid, base * bump),
        "train/mse": (grid, train_mse),
        "readout_norm": (grid, 10 * bump),
        "test/mse_ridgeless": (grid, base * (1 + 49 * np.exp(-(np.log(grid / 100) ** 2) / 0.01))),
    }, finished=last_p >= 1000)


def check(curves, config=CONFIG):
    return {claim.id: claim.check(curves, config) for claim in spec.CLAIMS}


def test_detect_marks_interpolation_and_an_interior_peak():
    found = {t.id: t for t in spec.detect(synthetic(spike=50), CONFIG)}
    assert found["interpolation"].x == 100 and found["interpolation"].metric == "train/mse"
    assert found["peak"].x == 100 and found["peak"].label == "peak at p = 100" and found["peak"].axis == "p"
    # so far the largest error is the newest point: not a peak yet
    assert "peak" not in {t.id for t in spec.detect(synthetic(spike=50, last_p=100), CONFIG)}
    assert spec.detect(Curves(), CONFIG) == []


def test_claims_not_yet_until_the_sweep_passes_2n():
    assert check(synthetic(spike=50, last_p=150))["peak_at_n"].verdict == "not_yet"
    ridged = CONFIG.model_copy(update={"ridge": 1e-3})
    assert check(synthetic(spike=1, last_p=150), ridged)["ridge_removes_peak"].verdict == "not_yet"


def test_claims_pass_with_a_spike_at_n_and_ridge_zero():
    result = check(synthetic(spike=50))
    assert result["peak_at_n"].verdict == "pass" and result["peak_at_n"].value == 1.0
    assert result["ridge_removes_peak"].verdict == "not_applicable"
    assert "no ridge" in result["ridge_removes_peak"].detail


def test_peak_claim_fails_off_n_or_without_a_peak():
    assert check(synthetic(spike=50, peak_p=300))["peak_at_n"].verdict == "fail"
    no_peak = check(synthetic(spike=1))["peak_at_n"]
    assert no_peak.verdict == "fail" and "no interior peak" in no_peak.detail


def test_ridge_claim_with_a_ridge_passes_without_spike_and_fails_with_one():
    ridged = CONFIG.model_copy(update={"ridge": 1e-3})
    assert check(synthetic(spike=1), ridged)["ridge_removes_peak"].verdict == "pass"
    survived = check(synthetic(spike=4), ridged)["ridge_removes_peak"]
    assert survived.verdict == "fail" and "not large enough" in survived.detail
    # a ridge whose own minimum-norm control has no spike has nothing to remove: the run cannot decide
    flat = Curves.of({**{n: synthetic(spike=1)[n] for n in synthetic(spike=1)},
                      "test/mse_ridgeless": synthetic(spike=1)["test/mse"]}, finished=True)
    assert check(flat, ridged)["ridge_removes_peak"].verdict == "inconclusive"
