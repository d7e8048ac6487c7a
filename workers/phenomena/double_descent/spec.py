"""Double descent: test error of random-features regression peaks where the features can just fit the data. No torch."""

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from workers.phenomena.contract import (
    Chart,
    Claim,
    ClaimResult,
    Curves,
    Paper,
    PhenomenonConfig,
    Transition,
)

NAME = "double_descent"
TITLE = "Double descent"
VERSION = "1"
ONE_LINER = (
    "Test error peaks when the number of features equals the number of training points, then falls again."
)

SUMMARY = """\
Classical statistics says: add parameters and test error first falls (less bias), then rises
(overfitting). Modern networks keep improving far past the point where they fit their training
data perfectly. **Double descent** joins the two pictures in one curve.

Here the model is the simplest one that shows it: `p` random ReLU features of the input, `relu(Wx)`,
with `W` drawn once and frozen, and a linear readout fitted by least squares to `n_train` noisy
examples of a linear teacher. Each point of the sweep is one width `p`; the x axis of every chart
is `p`, on a log scale.

**What to look for.**
- *Test error*: falls, then **rises to a sharp peak at p = n_train**, the interpolation threshold
  (the dashed line), then falls again, below its first minimum, as p grows.
- *Train error*: reaches zero at p = n_train: from there on the model interpolates the noisy
  labels exactly.
- *Readout norm*: at p ≈ n_train the only readout that fits every label needs huge weights, and
  huge weights amplify the label noise. Past the threshold there are many exact fits; least squares
  picks the one of **minimum norm**, and that norm falls as p grows: the extra features act as
  implicit regularization.

**The knobs.**
- `noise` is the label noise: the peak is noise being fitted. With `noise = 0` it shrinks but stays,
  because the part of the linear teacher that p ReLU features cannot express acts as noise too.
- `ridge` adds an explicit penalty λ‖a‖². At 0 the fit is the minimum-norm least-squares solution;
  around 1e-3 the peak is gone and test error falls monotonically.
- `n_train` moves the threshold; `d` is the input dimension; `n_seeds` averages over draws of the
  data and features (at p = n the error of one draw can be enormous).
"""

PAPERS = [
    Paper(
        title="Reconciling modern machine learning practice and the bias-variance trade-off",
        authors="Belkin, Hsu, Ma, Mandal",
        year=2019,
        arxiv="1812.11118",
        figure="Figure 2: random Fourier features, test risk and norm against the number of features",
    ),
    Paper(
        title="The generalization error of random features regression: Precise asymptotics and double descent curve",
        authors="Mei, Montanari",
        year=2019,
        arxiv="1908.05355",
        figure="Figure 1: test error against p/n for several ridge penalties λ",
    ),
    Paper(
        title="Deep Double Descent: Where Bigger Models and More Data Hurt",
        authors="Nakkiran, Kaplun, Bansal, Yang, Barak, Sutskever",
        year=2019,
        arxiv="1912.02292",
        figure="Figure 1: model-wise double descent of test error",
    ),
]


class Config(PhenomenonConfig):
    n_train: int = Field(
        100,
        ge=20,
        le=500,
        description="Training examples n: the peak sits at p = n.",
        json_schema_extra={"unit": "points"},
    )
    d: int = Field(
        20,
        ge=1,
        le=100,
        description="Input dimension of the data and the linear teacher.",
        json_schema_extra={"unit": "dims"},
    )
    noise: float = Field(
        0.5,
        ge=0.0,
        le=5.0,
        description="Standard deviation of the label noise (the clean signal has variance 1).",
    )
    ridge: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Ridge penalty λ on the readout; 0 is the minimum-norm least-squares fit.",
    )
    p_min: int = Field(
        10,
        ge=1,
        le=250,
        description="Fewest random features in the sweep (at most n_train / 2).",
        json_schema_extra={"unit": "features"},
    )
    p_max: int = Field(
        1000,
        ge=40,
        le=4000,
        description="Most random features in the sweep (at least 2 × n_train).",
        json_schema_extra={"unit": "features"},
    )
    n_points: int = Field(
        40,
        ge=8,
        le=200,
        description="Widths in the sweep, spaced evenly in log p (p = n is always added).",
        json_schema_extra={"unit": "widths"},
    )
    n_seeds: int = Field(
        5,
        ge=1,
        le=20,
        description="Independent draws of data and features averaged at each width.",
        json_schema_extra={"unit": "draws"},
    )

    @field_validator("p_min")
    @classmethod
    def _p_min_below_threshold(cls, p_min: int, info: ValidationInfo) -> int:
        n = info.data.get("n_train")
        if n is not None and p_min > n // 2:
            raise ValueError(
                f"p_min must be at most n_train / 2 = {n // 2}, so the sweep starts well before p = n"
            )
        return p_min

    @field_validator("p_max")
    @classmethod
    def _p_max_past_threshold(cls, p_max: int, info: ValidationInfo) -> int:
        n = info.data.get("n_train")
        if n is not None and p_max < 2 * n:
            raise ValueError(
                f"p_max must be at least 2 × n_train = {2 * n}, so the sweep goes well past p = n"
            )
        return p_max

    @property
    def feature_grid(self) -> list[int]:
        """Feature counts p of the sweep: log-spaced from p_min to p_max, plus n_train; strictly increasing."""
        ratio = self.p_max / self.p_min
        grid = {round(self.p_min * ratio ** (i / (self.n_points - 1))) for i in range(self.n_points)}
        return sorted(grid | {self.n_train})

    @property
    def total_steps(self) -> int:
        return self.feature_grid[-1]


PRESETS = {
    "default": Config(),
    "ridge": Config(ridge=1e-3),
    "small_ridge": Config(ridge=1e-5),
    "no_noise": Config(noise=0.0),
    "tiny": Config(n_train=40, p_min=5, p_max=200, n_points=16, n_seeds=2),
}

CHARTS = [
    Chart(
        id="error",
        title="Test and train error against the number of features",
        metrics=["test/mse", "train/mse"],
        x_label="features p",
        y_label="mean squared error",
        log_x=True,
        log_y=True,
        reference=("p = n", "n_train"),
    ),
    Chart(
        id="readout_norm",
        title="Norm of the fitted readout",
        metrics=["readout_norm"],
        x_label="features p",
        y_label="‖a‖₂",
        log_x=True,
        log_y=True,
        reference=("p = n", "n_train"),
    ),
]

SNAPSHOTS: list[dict[str, str]] = []

# -- detection ------------------------------------------------------------------------------------

INTERPOLATES = 1e-6  # train error below this fraction of its largest value counts as zero
SPIKE = 5.0  # peak / neighbours at least this: a spike
FLAT = 1.5  # peak / neighbours at most this: no peak
PEAK_WINDOW = (0.7, 1.5)  # "p ≈ n" means p / n in this range


def _curve(curves: Curves, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if name not in curves or not len(curves[name][0]):
        return None
    x, y = curves[name]
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _interior_peak(curves: Curves) -> tuple[int, float] | None:
    """(p, test mse) at the largest test error, when it is not the first or last point so far."""
    curve = _curve(curves, "test/mse")
    if curve is None:
        return None
    x, y = curve
    i = int(np.argmax(y))
    return (int(x[i]), float(y[i])) if 0 < i < len(x) - 1 else None


def detect(curves: Curves, config: Config) -> list[Transition]:
    found = []
    train = _curve(curves, "train/mse")
    if train is not None:
        x, y = train
        hits = np.flatnonzero(y <= INTERPOLATES * y.max())
        if len(hits):
            p = int(x[hits[0]])
            found.append(
                Transition(
                    id="interpolation",
                    label=f"train error hits 0 (p = {p})",
                    step=p,
                    metric="train/mse",
                    value=float(y[hits[0]]),
                )
            )
    peak = _interior_peak(curves)
    if peak is not None:
        found.append(
            Transition(
                id="peak", label=f"peak at p = {peak[0]}", step=peak[0], metric="test/mse", value=peak[1]
            )
        )
    return found


# -- claims ---------------------------------------------------------------------------------------


def _swept_curve(curves: Curves, config: Config) -> tuple[np.ndarray, np.ndarray] | None:
    """The test-error curve once the sweep has reached p = 2n, else None."""
    curve = _curve(curves, "test/mse")
    if curve is None or curve[0][-1] < min(2 * config.n_train, config.total_steps):
        return None
    return curve


def _spike_ratio(x: np.ndarray, y: np.ndarray, config: Config) -> float:
    """Largest test error for p in [0.7n, 1.5n] over the larger of the errors at p = n/2 and p = 2n.

    The neighbours are read by interpolating log error against log p. Far above 1: a spike at the
    threshold; at or below 1: no bump.
    """
    n = config.n_train
    y = np.maximum(y, np.finfo(float).tiny)  # log-safe
    near = y[(x >= PEAK_WINDOW[0] * n) & (x <= PEAK_WINDOW[1] * n)]
    neighbours = np.exp(np.interp(np.log([n / 2, 2 * n]), np.log(x), np.log(y)))
    return float(near.max() / neighbours.max())


def _peak_at_n(curves: Curves, config: Config) -> ClaimResult:
    if _swept_curve(curves, config) is None:
        return ClaimResult(
            verdict="not_yet", detail=f"the sweep has not reached p = 2n = {2 * config.n_train} yet"
        )
    peak = _interior_peak(curves)
    if peak is None:
        return ClaimResult(
            verdict="fail", detail="no interior peak: the largest test error is at an end of the sweep"
        )
    where = peak[0] / config.n_train
    ok = PEAK_WINDOW[0] <= where <= PEAK_WINDOW[1]
    detail = f"test error peaks at p = {peak[0]} = {where:.2f} n (MSE {peak[1]:.3g})"
    if not ok:
        detail += f"; p ≈ n means {PEAK_WINDOW[0]} n to {PEAK_WINDOW[1]} n"
    return ClaimResult(verdict="pass" if ok else "fail", value=where, detail=detail)


def _ridge_removes_peak(curves: Curves, config: Config) -> ClaimResult:
    """Two halves of one claim: with ridge = 0 (the control) the spike must be there; with ridge > 0, gone."""
    curve = _swept_curve(curves, config)
    if curve is None:
        return ClaimResult(
            verdict="not_yet", detail=f"the sweep has not reached p = 2n = {2 * config.n_train} yet"
        )
    ratio = _spike_ratio(*curve, config)
    measured = f"test error near p = n is {ratio:.3g}× the larger of its values at p = n/2 and p = 2n"
    if config.ridge == 0:
        spiked = ratio >= SPIKE
        return ClaimResult(
            verdict="pass" if spiked else "fail",
            value=ratio,
            detail=f"ridge = 0, the minimum-norm control: {measured}; "
            + (
                "the spike is there, as the claim predicts. Set ridge ≥ 1e-3 to test the other half."
                if spiked
                else f"expected a spike (≥ {SPIKE:g}×): is the label noise too small?"
            ),
        )
    removed = ratio <= FLAT
    return ClaimResult(
        verdict="pass" if removed else "fail",
        value=ratio,
        detail=f"ridge = {config.ridge:g}: {measured}; "
        + (
            "no peak left."
            if removed
            else f"the peak survives (> {FLAT:g}×): this ridge is not large enough."
        ),
    )


CLAIMS = [
    Claim(
        id="peak_at_n",
        text="Test error peaks at the interpolation threshold, where the number of features p equals "
        "the number of training points n.",
        check=_peak_at_n,
    ),
    Claim(
        id="ridge_removes_peak",
        text="The peak comes from fitting the noise with the minimum-norm interpolator: with ridge = 0 "
        "test error spikes at p ≈ n, and a large enough ridge removes the spike.",
        check=_ridge_removes_peak,
    ),
]
