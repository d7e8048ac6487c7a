"""Double descent: test error of random-features regression peaks where the features can just fit the data. No torch."""

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from workers.phenomena.contract import (
    Axis,
    Chart,
    Claim,
    ClaimResult,
    Cost,
    Curves,
    Metric,
    Paper,
    Phenomenon,
    PhenomenonConfig,
    Preset,
    Reference,
    Transition,
    run_seconds,
)

TEST_POINTS = 1000  # fresh test points per draw (data.N_TEST)
# A sweep's compute: at every width p of the grid, for every draw, the features of the train and test points ((n +
# test) × d × p multiply-adds) and the SVD of the n × p feature matrix (about n × p × min(n, p); twice with a ridge,
# which also fits the minimum-norm readout). One CPU thread does MACS_PER_SECOND of them (fitted to the presets'
# timings in docs/science.md and a sweep to p = 4000 at n = 500). The budget (contract/cost.py) caps it.
MACS_PER_SECOND = 1.45e9

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
    def progress_total(self) -> int:
        return self.feature_grid[-1]

    @property
    def work(self) -> float:
        """Multiply-adds of the whole sweep (see MACS_PER_SECOND)."""
        fits = 2 if self.ridge > 0 else 1
        n = self.n_train
        return float(self.n_seeds * sum((n + TEST_POINTS) * self.d * p + fits * n * p * min(n, p)
                                        for p in self.feature_grid))

    @property
    def cost(self) -> Cost:
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND),
                    formula=f"n_seeds × the sum over the {len(self.feature_grid)} widths p of (n_train + "
                    f"{TEST_POINTS}) × d × p + n_train × p × min(n_train, p) = {self.work:.2g} multiply-adds",
                    knobs=("n_seeds", "n_points", "p_max", "n_train"))


PRESETS = {
    "default": Preset(
        Config(), "Double descent",
        "The minimum-norm fit: test error falls, spikes at p = n = 100, and falls again past it.",
        expect={"ridge_removes_peak": "not_applicable"},
    ),
    "ridge": Preset(
        Config(ridge=1e-3), "A tuned ridge",
        "A ridge of 1e-3 removes the spike and keeps test error as low as the minimum-norm fit away from it "
        "(the dashed curve): regularization, not more data, cures the peak.",
        expect={"peak_at_n": "not_applicable"},
    ),
    "small_ridge": Preset(
        Config(ridge=1e-5), "Too small a ridge",
        "A ridge of 1e-5 barely changes the fit: the spike at p = n survives, as the theory says it must for a "
        "ridge far below the optimal one.",
        expect={"peak_at_n": "not_applicable", "ridge_removes_peak": "fail"},
    ),
    "no_noise": Preset(
        Config(noise=0.0), "No label noise",
        "With clean labels the peak shrinks but stays: what p ReLU features cannot express of the linear teacher "
        "acts as noise.",
        expect={"ridge_removes_peak": "not_applicable"},
    ),
    "tiny": Preset(
        Config(n_train=40, p_min=5, p_max=200, n_points=16, n_seeds=2), "Tiny",
        "40 training points, 16 widths, 2 draws: the whole sweep in a fraction of a second, for tests.",
        expect={"ridge_removes_peak": "not_applicable"},
    ),
}

P = Axis(id="p", label="features p", scale="log", symbol="p")

METRICS = [
    Metric(name="test/mse", axis="p", role="held_out", label="test"),
    Metric(name="train/mse", axis="p", role="train", label="train"),
    Metric(name="test/mse_ridgeless", axis="p", label="test, minimum-norm (ridge 0)"),
    Metric(name="readout_norm", axis="p", label="‖a‖₂"),
]


def derived(config: Config) -> dict[str, float]:
    return {"n": float(config.n_train)}


CHARTS = [
    Chart(
        id="error",
        title="Test and train error against the number of features",
        x="p",
        metrics=["test/mse", "train/mse"],
        baselines=["test/mse_ridgeless"],
        y_label="mean squared error",
        log_y=True,
        references=[Reference(label="p = n", value="n")],
        caption="The spike sits at the dashed line p = n; with a ridge, the minimum-norm curve is drawn dashed.",
    ),
    Chart(
        id="readout_norm",
        title="Norm of the fitted readout",
        x="p",
        metrics=["readout_norm"],
        y_label="‖a‖₂",
        log_y=True,
        references=[Reference(label="p = n", value="n")],
    ),
]

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
            found.append(Transition(id="interpolation", label=f"train error hits 0 (p = {p})", x=p, axis="p",
                                    metric="train/mse", value=float(y[hits[0]])))
    peak = _interior_peak(curves)
    if peak is not None:
        found.append(Transition(id="peak", label=f"peak at p = {peak[0]}", x=peak[0], axis="p",
                                metric="test/mse", value=peak[1]))
    return found


# -- claims ---------------------------------------------------------------------------------------

STAYS_LOW = 1.25  # a ridge that removes the spike must keep test error within 1.25× the minimum-norm fit's


def _swept(curves: Curves, config: Config, name: str = "test/mse") -> tuple[np.ndarray, np.ndarray] | None:
    """The curve once the sweep has reached p = 2n, else None."""
    curve = _curve(curves, name)
    if curve is None or curve[0][-1] < min(2 * config.n_train, config.progress_total):
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


def _not_yet(config: Config) -> ClaimResult:
    return ClaimResult(verdict="not_yet", detail=f"the sweep has not reached p = 2n = {2 * config.n_train} yet")


def _peak_at_n(curves: Curves, config: Config) -> ClaimResult:
    if config.ridge > 0:
        return ClaimResult(verdict="not_applicable",
                           detail=f"the claim is about the minimum-norm fit (ridge = 0); this run uses ridge = "
                           f"{config.ridge:g}, which damps the peak by design (see the ridge claim)")
    curve = _swept(curves, config)
    if curve is None:
        return _not_yet(config)
    x, y = curve
    i = int(np.argmax(y))
    where = float(x[i] / config.n_train)
    ratio = _spike_ratio(x, y, config)
    if not 0 < i < len(x) - 1:
        return ClaimResult(verdict="fail", value=where, unit="× n",
                           detail=f"no interior peak: the largest test error is at p = {int(x[i])}, an end of "
                           "the sweep")
    ok = PEAK_WINDOW[0] <= where <= PEAK_WINDOW[1] and ratio >= SPIKE
    detail = (f"test error peaks at p = {int(x[i])} = {where:.2f} n (MSE {y[i]:.3g}), {ratio:.3g}× the larger of "
              f"its values at p = n/2 and p = 2n")
    if not PEAK_WINDOW[0] <= where <= PEAK_WINDOW[1]:
        detail += f"; p ≈ n means {PEAK_WINDOW[0]} n to {PEAK_WINDOW[1]} n"
    elif ratio < SPIKE:
        detail += f"; a spike means at least {SPIKE:g}×: is the label noise too small?"
    return ClaimResult(verdict="pass" if ok else "fail", value=where, detail=detail)


def _ridge_removes_peak(curves: Curves, config: Config) -> ClaimResult:
    """With ridge > 0 the run also fits the minimum-norm readout on the same draws (test/mse_ridgeless): the
    claim holds when that baseline spikes, the ridge curve does not, and the ridge costs nothing elsewhere."""
    if config.ridge == 0:
        return ClaimResult(verdict="not_applicable",
                           detail="this run has no ridge (ridge = 0, the minimum-norm fit); set ridge ≥ 1e-3 to "
                           "test whether a ridge removes the peak")
    curve, baseline = _swept(curves, config), _swept(curves, config, "test/mse_ridgeless")
    if curve is None or baseline is None:
        return _not_yet(config)
    (x, y), (x0, y0) = curve, baseline
    ratio, control = _spike_ratio(x, y, config), _spike_ratio(x0, y0, config)
    n = config.n_train
    away = (x <= n / 2) | (x >= 2 * n)
    cost = float(np.max(y[away] / np.interp(x[away], x0, y0)))
    measured = (f"ridge = {config.ridge:g}: test error near p = n is {ratio:.3g}× its neighbours (the "
                f"minimum-norm fit on the same draws: {control:.3g}×), and away from p = n it is at most "
                f"{cost:.2f}× the minimum-norm fit's")
    if control < SPIKE:
        return ClaimResult(verdict="inconclusive", value=ratio,
                           detail=f"{measured}; the minimum-norm fit itself has no spike here (< {SPIKE:g}×), so "
                           "there is no peak to remove: add label noise")
    if ratio > FLAT:
        return ClaimResult(verdict="fail", value=ratio,
                           detail=f"{measured}; the peak survives (> {FLAT:g}×): this ridge is not large enough")
    if cost > STAYS_LOW:
        return ClaimResult(verdict="fail", value=ratio,
                           detail=f"{measured}; the peak is gone but test error is worse than the minimum-norm "
                           f"fit by more than {STAYS_LOW:g}× away from it: this ridge over-regularizes")
    return ClaimResult(verdict="pass", value=ratio, detail=f"{measured}; the peak is gone at no cost elsewhere")


CLAIMS = [
    Claim(
        id="peak_at_n",
        text="Test error of the minimum-norm fit peaks at the interpolation threshold, where the number of "
        "features p equals the number of training points n.",
        check=_peak_at_n,
        unit="× n",
    ),
    Claim(
        id="ridge_removes_peak",
        text="The peak comes from fitting the noise with the minimum-norm interpolator: a large enough ridge "
        "removes the spike while keeping test error as low as the minimum-norm fit's away from it.",
        check=_ridge_removes_peak,
        unit="× neighbours",
    ),
]

PHENOMENON = Phenomenon(
    name="double_descent",
    title="Double descent",
    one_liner=ONE_LINER,
    summary=SUMMARY,
    papers=PAPERS,
    config=Config,
    presets=PRESETS,
    axes=(P,),
    metrics=METRICS,
    charts=CHARTS,
    claims=CLAIMS,
    detect=detect,
    derived=derived,
    progress_axis="p",
)
