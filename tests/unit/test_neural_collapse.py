"""Neural collapse: the spec is whole and torch-free, the split and the four measurements are what they claim on
features built by hand, the hand-written SGD is torch's, the tiny preset trains, resumes exactly and reaches its
verdicts, and every claim reaches every verdict it can on synthetic curves."""


import numpy as np
import pytest
import torch
from pydantic import ValidationError

from workers.memory_run import MemoryRun
from workers.phenomena import contract
from workers.phenomena.contract import Curves
from workers.phenomena.neural_collapse import spec
from workers.phenomena.neural_collapse.claims import (
    EQUINORM_MAX,
    HOLD,
    NC1_FACTOR,
    NC3_MAX,
    SPREAD_MAX,
    detect,
    terminal_start,
)
from workers.phenomena.neural_collapse.collapse import measure, nc1, projection
from workers.phenomena.neural_collapse.config import CLASSES, ETF_COSINE, SCATTER_VALUES, Config
from workers.phenomena.neural_collapse.data import make_split
from workers.phenomena.neural_collapse.model import CollapseMLP
from workers.phenomena.neural_collapse.train import SGD, lr_at, train

PH = spec.PHENOMENON
TINY = PH.presets["tiny"].config
CLAIMS = {claim.id: claim for claim in PH.claims}
SHORT = Config(width=32, depth=2, train_per_class=10, batch_size=50, epochs=40)  # 2 updates per epoch


# -- spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"batch_size": 600}, "batch_size (600) must be at most the training set, 10 × train_per_class = 500"),
        ({"train_per_class": 40, "batch_size": 399}, "leaves a last batch of one image"),
        ({"weight_decay": 0.5}, "less than or equal to 0.1"),
        ({"train_per_class": 150}, "less than or equal to 120"),
        ({"dropout": 0.1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_knobs_are_refused_with_a_reason(knobs, words):
    with pytest.raises(ValidationError) as caught:
        Config(**knobs)
    assert words in str(caught.value)


def test_a_batch_of_one_is_fine_without_batchnorm():
    assert Config(train_per_class=40, batch_size=399, batch_norm=False).updates_per_epoch == 2


def test_the_presets_differ_where_they_say():
    default = PH.presets["default"].config
    assert default == Config() and default.batch_norm and default.weight_decay > 0
    assert PH.presets["no_batchnorm"].config.model_dump() == {**default.model_dump(), "batch_norm": False,
                                                              "weight_decay": 5e-4}
    assert PH.presets["no_weight_decay"].config.model_dump() == {**default.model_dump(), "weight_decay": 0.0}
    for name in ("no_batchnorm", "no_weight_decay"):
        assert set(PH.presets[name].expect.values()) == {"fail"}, name
    assert default.work <= 1e10  # the default's compute: well inside the cap


def test_the_learning_rate_schedules():
    cosine, constant = Config(), Config(lr_schedule="constant")
    assert lr_at(1, cosine) == pytest.approx(cosine.lr)
    assert lr_at(cosine.epochs // 2 + 1, cosine) == pytest.approx(cosine.lr / 2)
    assert 0 < lr_at(cosine.epochs, cosine) < 1e-4
    assert lr_at(cosine.epochs, constant) == constant.lr


# -- data, measurements, model ----------------------------------------------------------------------


def test_the_split_is_balanced_disjoint_standardized_and_seeded():
    split = make_split(30, seed=0)
    assert split.x_train.shape == (300, 64) and len(split.x_test) == 1797 - 300
    assert np.array_equal(np.bincount(split.y_train), np.full(CLASSES, 30))
    assert np.all(np.abs(split.x_train.mean(axis=0)) < 1e-4)
    assert np.all((np.abs(split.x_train.std(axis=0) - 1) < 1e-3) | (split.x_train.std(axis=0) < 1e-6))
    train_rows = {row.tobytes() for row in split.x_train}
    assert not any(row.tobytes() in train_rows for row in split.x_test[:200])  # the digits have no exact repeats
    again, other = make_split(30, seed=0), make_split(30, seed=1)
    assert np.array_equal(again.x_train, split.x_train) and not np.array_equal(other.x_train, split.x_train)
    assert len(split.shown) == 300 and np.array_equal(split.y_train[split.shown], split.y_train)
    assert len(make_split(100, seed=0).shown) * 3 == SCATTER_VALUES  # at most 60 per digit are drawn


def etf(classes: int, dim: int, seed: int = 0) -> np.ndarray:
    """(K, dim) a simplex ETF: the centred standard basis, rotated at random into `dim` dimensions."""
    frame = np.eye(classes) - 1 / classes  # (K, K): rows sum-free, equal norms, cosines −1/(K − 1)
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, classes)))  # (dim, K) orthonormal
    return frame @ rotation.T  # (K, dim)


def test_a_collapsed_simplex_measures_zero():
    means = etf(CLASSES, 32) + 3.0  # shifted: the measurements centre on the global mean
    labels = torch.arange(CLASSES).repeat_interleave(7)
    features = torch.from_numpy(means[labels.numpy()])
    result = measure(features, labels, torch.from_numpy(means - means.mean(0)) * 5, labels, CLASSES)
    assert result.nc1 < 1e-20
    assert result.cos_mean == pytest.approx(ETF_COSINE) and result.cos_spread < 1e-12
    assert result.norm_cv < 1e-12 and result.nc3 < 1e-20 and result.nc4 == 0
    assert result.cosines.shape == (CLASSES, CLASSES) and np.allclose(np.diag(result.cosines), 1)


def test_nc1_is_the_trace_with_the_pseudo_inverse():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 25)
    features = rng.normal(size=(4, 6))[labels] * 2 + rng.normal(size=(100, 6))  # (N, d)
    means = np.stack([features[labels == c].mean(0) for c in range(4)])
    centred_within = features - means[labels]
    sigma_w = centred_within.T @ centred_within / 100
    between = means - features.mean(0)
    sigma_b = between.T @ between / 4
    expected = np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / 4
    assert nc1(torch.from_numpy(features), torch.from_numpy(labels), 4) == pytest.approx(expected, rel=1e-9)
    noisier = features + rng.normal(size=(100, 6))
    assert nc1(torch.from_numpy(noisier), torch.from_numpy(labels), 4) > expected


def test_unaligned_classifier_and_uneven_means_measure_above_zero():
    means = etf(CLASSES, 16) * np.linspace(0.5, 1.5, CLASSES)[:, None]  # unequal norms, unequal angles
    labels = torch.arange(CLASSES).repeat_interleave(3)
    features = torch.from_numpy(means[labels.numpy()])
    wrong = (labels + 1) % CLASSES  # the classifier's answers disagree with nearest-mean everywhere
    result = measure(features, labels, torch.randn(CLASSES, 16, generator=torch.Generator().manual_seed(0)),
                     wrong, CLASSES)
    assert result.norm_cv > 0.2 and result.cos_spread > 0.01 and result.nc3 > 0.5 and result.nc4 == 1.0


def test_the_projection_is_centred_scaled_and_labelled():
    means = etf(CLASSES, 20) * 4
    labels = torch.arange(CLASSES).repeat_interleave(5)
    features = torch.from_numpy(means[labels.numpy()]) + 0.01 * torch.randn(50, 20, dtype=torch.float64)
    shown = torch.arange(0, 50, 2)
    points = projection(features, labels, shown, CLASSES)
    assert points.shape == (25, 3) and np.array_equal(points[:, 2], labels[shown].numpy())
    assert np.all(np.hypot(points[:, 0], points[:, 1]) <= 1.05)  # a projection of points at distance ~1


def test_the_hand_written_sgd_is_torchs():
    torch.manual_seed(0)
    ours, theirs = CollapseMLP(16, 2, batch_norm=True), CollapseMLP(16, 2, batch_norm=True)
    theirs.load_state_dict(ours.state_dict())
    sgd = SGD(ours.parameters(), momentum=0.9, weight_decay=1e-2)
    reference = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    x, y = torch.randn(32, 64, generator=torch.Generator().manual_seed(1)), torch.arange(32) % CLASSES
    for lr in (0.1, 0.05, 0.02):
        for group in reference.param_groups:
            group["lr"] = lr
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(ours(x)[1], y).backward()
        sgd.step(lr)
        reference.zero_grad()
        torch.nn.functional.cross_entropy(theirs(x)[1], y).backward()
        reference.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


# -- trainer ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> MemoryRun:
    torch.set_num_threads(1)
    run = MemoryRun(PH)
    train(TINY, run, seed=0)
    return run


def test_tiny_logs_every_metric_at_its_epochs_and_snapshots_the_features(tiny_run):
    epochs = [0, *range(TINY.log_every, TINY.epochs + 1, TINY.log_every)]
    for metric in PH.metrics:
        assert tiny_run.xs(metric.name) == epochs, metric.name
    acc = tiny_run.points[("train/acc", None)]
    assert acc[0] < 0.3 and acc[TINY.epochs] == 1.0
    nc1_points = tiny_run.points[("nc1", None)]
    assert nc1_points[TINY.epochs] < nc1_points[0] / 100
    features = [(step, array) for step, name, array in tiny_run.snapshots if name == "features"]
    assert [step for step, _ in features] == list(range(0, TINY.epochs + 1, TINY.snapshot_every))
    assert all(array.shape == (TINY.n_train, 3) for _, array in features)
    cosines = [array for _, name, array in tiny_run.snapshots if name == "mean_cosines"]
    assert len(cosines) == len(features) and np.allclose(np.diag(cosines[-1]), 1)


def test_tiny_reaches_the_verdicts_its_preset_expects(tiny_run):
    summary = contract.evaluate(PH, tiny_run.curves(finished=True), TINY)
    assert summary.preset == "tiny" and not summary.errors
    assert {c.id: c.verdict for c in summary.claims} == {c.id: c.expected for c in summary.claims}
    assert [t.id for t in summary.transitions] == ["terminal_phase"]


def test_a_stopped_run_says_not_yet_and_resumes_to_exactly_the_same_curves():
    torch.set_num_threads(1)
    straight = MemoryRun(PH)
    train(SHORT, straight, seed=1)
    stopped = MemoryRun(PH, stop_after=25, checkpoint_every=7)
    train(SHORT, stopped, seed=1)
    assert stopped.checkpoints and stopped.progress is not None and stopped.progress < SHORT.epochs
    live = contract.evaluate(PH, stopped.curves(), SHORT)
    assert {c.verdict for c in live.claims} == {"not_yet"}
    resumed = MemoryRun(PH, resume_from=stopped)
    train(SHORT, resumed, seed=1)
    assert resumed.points == straight.points
    before = {(step, name): array for step, name, array in straight.snapshots}
    assert resumed.snapshots and all(np.array_equal(array, before[(step, name)])
                                     for step, name, array in resumed.snapshots)


# -- detect and claims on synthetic curves -------------------------------------------------------------


def synthetic(zero_error_at: float | None = 40, nc1_end: float = 1e-3, spread_end: float = 0.03,
              cv_end: float = 0.01, nc3_end: float = 0.03, epochs: int = 400, finished: bool = True,
              last: int | None = None) -> Curves:
    """Curves of a run whose training accuracy reaches 1 at `zero_error_at` (None: never) and whose measurements
    move geometrically from their values there to the given end values."""
    x = np.arange(0, (last if last is not None else epochs) + 1, 4, dtype=float)
    t0 = zero_error_at if zero_error_at is not None else epochs
    acc = np.where(x >= t0, 1.0, np.minimum(0.99, 0.1 + x / max(t0, 1)))
    if zero_error_at is None:
        acc = np.minimum(acc, 0.99)
    frac = np.clip((x - t0) / max(epochs - t0, 1), 0, 1)

    def path(start: float, end: float) -> np.ndarray:
        return start * (end / start) ** frac

    return Curves.of({
        "train/acc": (x, acc), "nc1": (x, path(0.1, nc1_end)), "cos_spread": (x, path(0.12, spread_end)),
        "cos_mean": (x, np.full_like(x, ETF_COSINE)), "norm_cv": (x, path(0.08, cv_end)),
        "nc3": (x, path(0.2, nc3_end)),
    }, finished=finished)


def verdicts(curves: Curves, config: Config | None = None) -> dict[str, str]:
    return {cid: claim.check(curves, config or Config()).verdict for cid, claim in CLAIMS.items()}


def test_a_collapsing_run_passes_with_its_measured_values():
    curves = synthetic()
    assert verdicts(curves) == dict.fromkeys(CLAIMS, "pass")
    result = CLAIMS["nc1_falls"].check(curves, Config())
    assert result.value == pytest.approx(100) and "epoch 40" in result.detail
    assert CLAIMS["equiangular"].check(curves, Config()).value == pytest.approx(0.03)
    assert [t.x for t in detect(curves, Config())] == [40]


@pytest.mark.parametrize(
    ("knobs", "claim", "value"),
    [
        ({"nc1_end": 0.1 / (NC1_FACTOR * 0.9)}, "nc1_falls", NC1_FACTOR * 0.9),
        ({"nc1_end": 0.3}, "nc1_falls", 1 / 3),  # NC1 rose
        ({"spread_end": SPREAD_MAX * 1.2}, "equiangular", SPREAD_MAX * 1.2),
        ({"cv_end": EQUINORM_MAX * 1.5}, "equinorm", EQUINORM_MAX * 1.5),
        ({"nc3_end": NC3_MAX * 1.5}, "self_dual", NC3_MAX * 1.5),
    ],
)
def test_each_claim_fails_with_its_value(knobs, claim, value):
    result = CLAIMS[claim].check(synthetic(**knobs), Config())
    assert result.verdict == "fail" and result.value == pytest.approx(value)
    others = {cid: v for cid, v in verdicts(synthetic(**knobs)).items() if cid != claim}
    assert set(others.values()) == {"pass"}


def test_a_spread_below_the_cap_that_did_not_shrink_fails():
    curves = synthetic()
    x = curves["cos_spread"][0]
    flat = Curves.of({**{name: curves[name] for name in curves}, "cos_spread": (x, np.full(len(x), 0.05))},
                     finished=True)  # below the cap all along, but the frame did not tighten
    result = CLAIMS["equiangular"].check(flat, Config())
    assert SPREAD_MAX > 0.05 and result.verdict == "fail" and result.value == pytest.approx(0.05)


def test_a_live_run_is_not_yet_and_a_run_without_a_terminal_phase_is_inconclusive():
    assert set(verdicts(synthetic(finished=False, last=200)).values()) == {"not_yet"}
    never = synthetic(zero_error_at=None)
    assert set(verdicts(never).values()) == {"inconclusive"} and detect(never, Config()) == []
    assert "never stayed at zero training error" in CLAIMS["nc1_falls"].check(never, Config()).detail
    late = synthetic(zero_error_at=360)
    assert set(verdicts(late).values()) == {"inconclusive"} and "Train longer" in CLAIMS["equinorm"].check(
        late, Config()).detail
    assert set(verdicts(Curves(finished=True)).values()) == {"inconclusive"}


def test_the_terminal_phase_is_the_last_stretch_at_zero_error():
    x = np.arange(0, 40, dtype=float)
    acc = np.where(x >= 10, 1.0, 0.5)
    acc[20] = 0.99  # it slipped once: the terminal phase starts after the slip
    assert terminal_start(Curves.of({"train/acc": (x, acc)}, finished=True)) == 21
    acc[-1] = 0.99
    assert terminal_start(Curves.of({"train/acc": (x, acc)}, finished=True)) is None
    live = np.where(x >= len(x) - HOLD + 1, 1.0, 0.5)  # at 100 % for fewer than HOLD points: not yet on a live run
    assert terminal_start(Curves.of({"train/acc": (x, live)})) is None
    assert terminal_start(Curves.of({"train/acc": (x, live)}, finished=True)) == len(x) - HOLD + 1
