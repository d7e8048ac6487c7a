"""Edge of stability: the spec is whole and torch-free, the knobs refuse what they should, the data and the Hessian
probe are what they claim, the tiny preset trains, resumes exactly and reaches its verdicts, and every claim
reaches every verdict it can on synthetic curves."""


import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena import contract
from workers.phenomena.contract import Curves
from workers.phenomena.edge_of_stability import spec
from workers.phenomena.edge_of_stability.claims import FELL, HOVER, OPPOSED, SHARPENED, detect
from workers.phenomena.edge_of_stability.config import (
    GROUP_A,
    GROUP_B,
    ONSET,
    PATCH,
    Config,
    sharpness_steps,
)
from workers.phenomena.edge_of_stability.data import make_data
from workers.phenomena.edge_of_stability.model import (
    forward,
    hvp,
    init_params,
    per_sample_loss,
    pixel_loading,
    top_eigenvalue,
)
from workers.phenomena.edge_of_stability.train import gradient_descent, train

PH = spec.PHENOMENON
TINY = PH.presets["tiny"].config
CLAIMS = {claim.id: claim for claim in PH.claims}


# -- spec and knobs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"steps": 100, "sharpness_every": 30}, "sharpness_every (30) must be at most steps / 4 = 25"),
        ({"n_train": 200, "outliers": 11}, "outliers (11 per group) must be at most n_train / 20 = 10"),
        ({"lr": 3.0}, "less than or equal to 2"),
        ({"momentum": 0.9}, "Extra inputs are not permitted"),
    ],
)
def test_bad_knobs_are_refused_with_a_reason(knobs, words):
    with pytest.raises(ValidationError) as caught:
        Config(**knobs)
    assert words in str(caught.value)


def test_the_presets_differ_where_they_say_and_measure_often_enough():
    default = PH.presets["default"].config
    assert default == Config()
    assert PH.presets["small_lr"].config.lr < default.lr < PH.presets["larger_lr"].config.lr
    for name, preset in PH.presets.items():
        c = preset.config
        assert sum(1 for s in sharpness_steps(c) if s >= c.steps / 2) >= 4, name
    assert sharpness_steps(Config(steps=50, sharpness_every=12)) == [0, 12, 24, 36, 48, 50]


# -- data and model ---------------------------------------------------------------------------------------------


def test_the_data_is_digits_with_two_planted_opposing_groups():
    config = Config(n_train=400, outliers=7, outlier_strength=5.0)
    data = make_data(config, torch.Generator().manual_seed(0))
    assert data.x.shape == (400, 64) and data.y.shape == (400, 10)
    torch.testing.assert_close(data.y.argmax(dim=1), data.labels)
    for index, digit in ((1, GROUP_A), (2, GROUP_B)):
        members = data.group == index
        assert int(members.sum()) == 7 and bool((data.labels[members] == digit).all())
    painted = data.group > 0
    assert bool((data.x[painted][:, list(PATCH)] == 5.0).all())
    rest = [i for i in range(64) if i not in PATCH]
    assert float(data.x[:, rest].max()) <= 1.0 and float(data.x[~painted].max()) <= 1.0
    again = make_data(config, torch.Generator().manual_seed(0))
    assert torch.equal(again.x, data.x)
    plain = make_data(Config(n_train=400, outliers=0), torch.Generator().manual_seed(0))
    assert int((plain.group > 0).sum()) == 0 and float(plain.x.max()) <= 1.0


def tiny_problem(seed: int = 0) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = init_params(width=6, depth=2, init_scale=2.0, generator=g)
    x = torch.rand(30, 64, generator=g)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (30,), generator=g), 10).float()
    return params, x, y


def full_hessian(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        parts = [chunk.reshape(shape) for chunk, shape in zip(flat.split(sizes), shapes, strict=True)]
        return per_sample_loss(parts, x, y).mean()

    flat = torch.cat([p.reshape(-1) for p in params]).double()
    x, y = x.double(), y.double()
    return torch.autograd.functional.hessian(loss, flat)


def test_the_hessian_vector_product_is_the_hessian_times_the_vector():
    params, x, y = tiny_problem()
    h = full_hessian(params, x, y)
    v = [torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) for p in params]
    got = torch.cat([t.reshape(-1) for t in hvp(params, x, y, v)]).double()
    expected = h @ torch.cat([t.reshape(-1) for t in v]).double()
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-4)


def test_power_iteration_finds_the_top_eigenvalue_and_warm_starts_from_it():
    params, x, y = tiny_problem()
    top = float(torch.linalg.eigvalsh(full_hessian(params, x, y)).max())
    v = [torch.randn(p.shape, generator=torch.Generator().manual_seed(2)) for p in params]
    value, v = top_eigenvalue(params, x, y, v, iters=200)
    assert value == pytest.approx(top, rel=1e-3)
    again, _ = top_eigenvalue(params, x, y, v, iters=1)  # warm: one product is enough
    assert again == pytest.approx(top, rel=1e-3)
    loading = pixel_loading(v)
    assert loading.shape == (8, 8) and 0 < float(loading.sum()) <= 1 + 1e-5


def test_the_network_maps_pixels_to_ten_outputs_and_the_loss_is_half_the_squared_error():
    params, x, y = tiny_problem()
    out = forward(params, x)
    assert out.shape == (30, 10)
    torch.testing.assert_close(per_sample_loss(params, x, y), 0.5 * ((out - y) ** 2).sum(dim=1))
    assert [tuple(p.shape) for p in params] == [(6, 64), (6,), (6, 6), (6,), (10, 6), (10,)]


# -- trainer ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> MemoryRun:
    torch.set_num_threads(1)
    run = MemoryRun(PH)
    train(TINY, run, seed=0)
    return run


def test_tiny_logs_every_step_and_the_sharpness_at_its_cadence(tiny_run):
    assert tiny_run.xs("train/loss") == list(range(TINY.steps + 1))
    for name in ("loss/clean", "loss/group_a", "loss/group_b"):
        assert tiny_run.xs(name) == list(range(TINY.steps + 1))
    assert tiny_run.xs("sharpness") == sharpness_steps(TINY)
    shapes = {"sharp_pixels": (8, 8), "sharp_classes": (10,)}
    for view, shape in shapes.items():
        steps = [step for step, name, _ in tiny_run.snapshots if name == view]
        assert steps[0] == 0 and steps[-1] == TINY.steps and all(s % TINY.sharpness_every == 0 for s in steps)
        assert all(array.shape == shape for _, name, array in tiny_run.snapshots if name == view)
    classes = [array for _, name, array in tiny_run.snapshots if name == "sharp_classes"]
    assert all(a.sum() == pytest.approx(1.0, abs=1e-5) and (a >= 0).all() for a in classes)


def test_tiny_reaches_the_verdicts_its_preset_expects(tiny_run):
    summary = contract.evaluate(PH, tiny_run.curves(finished=True), TINY)
    assert summary.preset == "tiny" and not summary.errors
    assert {c.id: c.verdict for c in summary.claims} == {c.id: c.expected for c in summary.claims}
    assert [t.id for t in summary.transitions] == ["edge_of_stability"]


def test_a_stopped_run_says_not_yet_and_resumes_to_exactly_the_same_curves(tiny_run):
    stopped = MemoryRun(PH, stop_after=150, checkpoint_every=7)
    train(TINY, stopped, seed=0)
    assert stopped.checkpoints and stopped.checkpoints[-1][0] % TINY.sharpness_every != 0
    live = {c.id: c.verdict for c in contract.evaluate(PH, stopped.curves(), TINY).claims}
    assert live["hovers_at_2_over_eta"] == "not_yet" and live["opposing_signals"] == "not_yet"
    resumed = MemoryRun(PH, resume_from=stopped)
    train(TINY, resumed, seed=0)
    assert resumed.points == tiny_run.points
    straight = {(step, name): array for step, name, array in tiny_run.snapshots}
    assert resumed.snapshots and all(np.array_equal(a, straight[(s, n)]) for s, n, a in resumed.snapshots)


def test_without_the_probe_the_same_descent_and_no_sharpness():
    short = TINY.model_copy(update={"steps": 40})
    probed, bare = MemoryRun(PH), MemoryRun(PH)
    gradient_descent(short, probed, 1)
    gradient_descent(short, bare, 1, probe=False)
    assert "sharpness" not in bare.names() and not bare.snapshots
    assert bare.points[("train/loss", None)] == probed.points[("train/loss", None)]


def test_a_diverging_run_stops_short_and_fails_the_hover():
    config = TINY.model_copy(update={"lr": 2.0, "init_scale": 4.0})
    run = MemoryRun(PH)
    train(config, run, seed=0)
    last = max(run.xs("train/loss"))
    assert last < config.steps
    result = CLAIMS["hovers_at_2_over_eta"].check(run.curves(finished=True), config)
    assert result.verdict == "fail" and "diverged" in result.detail


# -- detect and claims on synthetic curves ------------------------------------------------------------------------

CONFIG = Config(steps=1000, sharpness_every=20, lr=0.1)  # 2/η = 20


def synthetic(config: Config = CONFIG, onset_at: float | None = 300, hover: float = 1.0, start: float = 0.15,
              fall: float = 0.5, bumpy: bool = True, opposed: bool = True, until: int | None = None,
              finished: bool = True) -> Curves:
    """Sharpness rising linearly from `start` × 2/η to `hover` × 2/η at `onset_at` (None: only to 0.6 × 2/η at the
    end), then hovering ±5 %; the loss falling to 0.2 by the onset, then to `fall` × that at the end, with a spike
    every 5th step if `bumpy`; the two groups' losses see-sawing (or moving together) around the clean loss.
    `until`: a live run logged only up to that step."""
    last = config.steps if until is None else until
    xs = np.array([s for s in sharpness_steps(config) if s <= last], dtype=float)
    if onset_at is None:
        ratio = start + (0.6 - start) * xs / config.steps
    else:
        ratio = np.where(xs < onset_at, start + (hover - start) * xs / onset_at,
                         hover * (1 + 0.05 * np.sin(xs / 37)))
    x = np.arange(last + 1, dtype=float)
    t_on = onset_at if onset_at is not None else config.steps
    before = 0.6 * np.exp(-x * np.log(3) / t_on)  # 0.6 at 0, 0.2 at the onset
    after = 0.2 * fall ** ((x - t_on) / max(1.0, config.steps - t_on))
    loss = np.where(x <= t_on, before, after)
    at_edge = x > t_on
    if bumpy:
        loss = loss * np.where(at_edge & (x % 5 == 0), 1.3, 1.0)
    swing = np.where(at_edge, 0.2 * (-1.0) ** x, 0.0)
    a, b = loss * (1 + swing), loss * (1 - swing if opposed else 1 + swing)
    return Curves.of({"sharpness": (xs, ratio * config.two_over_eta), "train/loss": (x, loss),
                      "loss/clean": (x, loss), "loss/group_a": (x, a), "loss/group_b": (x, b)}, finished=finished)


def check(claim: str, curves: Curves, config: Config = CONFIG) -> contract.ClaimResult:
    return CLAIMS[claim].check(curves, config)


def test_detect_marks_the_first_measurement_at_the_onset_fraction_of_2_over_eta():
    found = detect(synthetic(onset_at=300), CONFIG)
    assert len(found) == 1 and found[0].id == "edge_of_stability"
    expected = next(s for s in sharpness_steps(CONFIG) if 0.15 + 0.85 * s / 300 >= ONSET)
    assert found[0].x == expected and found[0].value == pytest.approx(20 * (0.15 + 0.85 * expected / 300))
    assert detect(synthetic(onset_at=None), CONFIG) == []
    assert detect(Curves(), CONFIG) == []


def test_hovers_passes_at_2_over_eta_with_the_spread_as_its_interval():
    result = check("hovers_at_2_over_eta", synthetic(hover=1.0))
    assert result.verdict == "pass" and result.value == pytest.approx(1.0, abs=0.03)
    assert result.interval is not None and result.interval[0] < 1.0 < result.interval[1]
    assert "20.0" in result.detail


@pytest.mark.parametrize("hover", [HOVER[0] - 0.2, HOVER[1] + 0.2])
def test_hovers_fails_below_or_above_the_band(hover):
    result = check("hovers_at_2_over_eta", synthetic(hover=hover))
    assert result.verdict == "fail" and result.value == pytest.approx(hover, abs=0.05)


def test_hovers_fails_when_the_sharpness_never_gets_there_and_says_gd_was_stable():
    result = check("hovers_at_2_over_eta", synthetic(onset_at=None))
    assert result.verdict == "fail" and result.value is not None and result.value < HOVER[0]
    assert "stable" in result.detail


def test_hovers_is_not_yet_live_inconclusive_with_too_few_points_and_fails_on_divergence():
    assert check("hovers_at_2_over_eta", synthetic(until=600, finished=False)).verdict == "not_yet"
    sparse = Config(steps=100, sharpness_every=25)
    assert check("hovers_at_2_over_eta", synthetic(sparse, onset_at=30), sparse).verdict == "inconclusive"
    diverged = check("hovers_at_2_over_eta", synthetic(until=600, finished=True))
    assert diverged.verdict == "fail" and "diverged at step 600" in diverged.detail


def test_loss_falls_passes_when_bumpy_and_well_down():
    result = check("loss_falls_non_monotonically", synthetic(fall=0.5))
    assert result.verdict == "pass" and result.value is not None and result.value < FELL
    assert "rose on" in result.detail


def test_loss_falls_fails_when_monotone_or_not_far_enough():
    smooth = check("loss_falls_non_monotonically", synthetic(bumpy=False))
    assert smooth.verdict == "fail" and "stable GD" in smooth.detail
    flat = check("loss_falls_non_monotonically", synthetic(fall=0.97))
    assert flat.verdict == "fail" and flat.value is not None and flat.value > FELL


def test_loss_falls_without_an_edge_is_not_applicable_live_not_yet_and_late_onset_inconclusive():
    assert check("loss_falls_non_monotonically", synthetic(onset_at=None)).verdict == "not_applicable"
    assert check("loss_falls_non_monotonically", synthetic(onset_at=None, finished=False)).verdict == "not_yet"
    assert check("loss_falls_non_monotonically", synthetic(until=600, finished=False)).verdict == "not_yet"
    stable = synthetic(onset_at=None)
    xs, sharp = stable["sharpness"]
    at_the_end = Curves.of({**{name: stable[name] for name in stable},
                            "sharpness": (xs, np.where(xs == CONFIG.steps, 20.0, sharp))}, finished=True)
    late = check("loss_falls_non_monotonically", at_the_end)  # the edge is reached at the very last step
    assert late.verdict == "inconclusive" and "too few" in late.detail


def test_progressive_sharpening_passes_fails_and_is_not_applicable_from_the_edge():
    grew = check("progressive_sharpening", synthetic(start=0.15))
    assert grew.verdict == "pass" and grew.value is not None and grew.value >= SHARPENED
    stable = check("progressive_sharpening", synthetic(onset_at=None, start=0.15))
    assert stable.verdict == "pass"  # 0.15 → 0.6 of 2/η: it sharpens even where it never meets the edge
    flat = check("progressive_sharpening", synthetic(onset_at=None, start=0.5))
    assert flat.verdict == "fail" and flat.value == pytest.approx(1.2, abs=0.01)
    assert check("progressive_sharpening", synthetic(onset_at=None, start=0.5, until=200,
                                                     finished=False)).verdict == "not_yet"
    edge = check("progressive_sharpening", synthetic(start=1.1))
    assert edge.verdict == "not_applicable" and "nothing to sharpen" in edge.detail


def test_opposing_signals_passes_on_a_seesaw_and_fails_when_the_groups_move_together():
    result = check("opposing_signals", synthetic(opposed=True))
    assert result.verdict == "pass" and result.value is not None and result.value <= OPPOSED
    assert result.interval is not None and result.interval[0] <= result.value <= result.interval[1]
    together = check("opposing_signals", synthetic(opposed=False))
    assert together.verdict == "fail" and together.value is not None and together.value > 0


def test_opposing_signals_needs_outliers_and_an_edge():
    plain = Config(steps=1000, sharpness_every=20, outliers=0)
    assert check("opposing_signals", synthetic(plain), plain).verdict == "not_applicable"
    assert check("opposing_signals", synthetic(onset_at=None)).verdict == "not_applicable"
    assert check("opposing_signals", synthetic(until=600, finished=False)).verdict == "not_yet"


@pytest.mark.parametrize("claim", list(CLAIMS))
def test_every_claim_is_not_yet_on_empty_curves_and_decided_ones_carry_values(claim):
    assert check(claim, Curves()).verdict in ("not_yet", "not_applicable")
    result = check(claim, synthetic())
    assert result.verdict == "pass" and result.value is not None and result.detail
