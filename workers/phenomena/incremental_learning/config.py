"""The knobs of the matrix-sensing problem, and the arithmetic that the trainer, the reference curves and the
claims share (the target's spectrum, the linear-phase theory of the plateaus). No torch here (the API reads it)."""

import math

import numpy as np
from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

HALF = 0.5  # σᵢ counts as learned once uᵢᵀXXᵀuᵢ reaches this fraction of σᵢ
SMALL_INIT = 0.01  # an init is "small" when its expected projection α²k/d is at most this fraction of σ_r
EXTRA_EIGS = 2  # eigenvalues of XXᵀ shown beyond the r the target has: directions that should stay near zero
# The run's compute: steps × members × measurements × d² multiply-adds (the two products with the measurement
# matrices dominate each step) at MACS_PER_SECOND, plus SECONDS_PER_STEP. Measured with one thread: 1.6·10⁹ (d = 40,
# m = 2,000, 5 scales, 100 steps) in 1.5 s; the default, 2.4·10⁸, in under a second. The budget (contract/cost.py)
# caps it.
MACS_PER_SECOND = 1.0e9
SECONDS_PER_STEP = 0.4e-3
# Measured (d = 8 … 40, m = 10 … 600, α up to 1, 400 steps): runs above 4.5 can blow up, none below did.
MAX_STIFFNESS = 4.5


class Config(PhenomenonConfig):
    d: int = Field(
        20, ge=4, le=40, description="Size of the square target M* (d × d).", json_schema_extra={"unit": "dims"}
    )
    rank: int = Field(
        3, ge=1, le=6, description="Rank r of the target: how many singular values there are to learn.",
    )
    width: int = Field(
        20, ge=1, le=40,
        description="Columns k of the factor X (d × k) the model learns, XXᵀ ≈ M*. k > r over-parameterizes: "
        "nothing but the small initialization keeps XXᵀ low rank.",
        json_schema_extra={"unit": "columns"},
    )
    ratio: float = Field(
        0.5, ge=0.2, le=0.8,
        description="σᵢ₊₁ / σᵢ: the target's singular values are 1, ratio, ratio², … (σ₁ = 1 sets the scale). "
        "Closer to 1, the plateaus crowd together.",
    )
    measurements: int = Field(
        200, ge=10, le=2000,
        description="Number m of random Gaussian measurements yᵢ = ⟨Aᵢ, M*⟩ the loss sees. Below d(d+1)/2 they "
        "do not determine M*: which of the matrices that fit them gradient descent finds is up to the init.",
        json_schema_extra={"unit": "measurements"},
    )
    alpha_min: float = Field(
        1e-6, ge=1e-8, le=1.0,
        description="Smallest initialization scale α (each column of X starts with norm ≈ α). The staircase, the "
        "eigenvalues and the snapshots are shown for this one.",
    )
    alpha_max: float = Field(
        1e-2, ge=1e-8, le=1.0, description="Largest initialization scale α of the family trained side by side."
    )
    n_alphas: int = Field(
        5, ge=1, le=8,
        description="Initialization scales trained side by side on the same target and measurements, evenly "
        "spaced in log α (the ln(1/α) law is fitted across them: at least 3).",
        json_schema_extra={"unit": "scales"},
    )
    lr: float = Field(
        0.2, ge=0.01, le=0.5,
        description="Gradient-descent step size η on f(X) = (1/4m) Σ (⟨Aᵢ, XXᵀ⟩ − yᵢ)²: each step multiplies the "
        "part of X along uᵢ by about 1 + ησᵢ while it is small.",
    )
    steps: int = Field(600, ge=20, le=5000, description="Full-batch gradient steps.", json_schema_extra={"unit": "steps"})

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.rank >= self.d:
            raise ValueError(f"rank ({self.rank}) must be below d ({self.d}): the target is low rank")
        if self.width < self.rank:
            raise ValueError(f"width k ({self.width}) must be at least rank r ({self.rank}): XXᵀ has rank ≤ k")
        if self.width > self.d:
            raise ValueError(f"width k ({self.width}) must be at most d ({self.d}): more columns add nothing")
        if self.alpha_min > self.alpha_max:
            raise ValueError(f"alpha_min ({self.alpha_min:g}) must not exceed alpha_max ({self.alpha_max:g})")
        if (self.n_alphas == 1) != (self.alpha_min == self.alpha_max):
            raise ValueError("one initialization scale means alpha_min = alpha_max with n_alphas = 1; a family "
                             "needs alpha_min < alpha_max and n_alphas ≥ 2")
        if self.n_alphas > 1 and math.log10(self.alpha_max / self.alpha_min) < 0.25 * (self.n_alphas - 1):
            raise ValueError(f"{self.n_alphas} scales between {self.alpha_min:g} and {self.alpha_max:g} are closer "
                             "than a quarter decade apart: widen the range or lower n_alphas")
        if self.stiffness > MAX_STIFFNESS:
            raise ValueError(f"lr = {self.lr:g} is too large for alpha_max = {self.alpha_max:g} with {self.measurements} "
                             f"measurements (lr × (σ₁ + λ₀·(1 + d(d + 1)/2m)) = {self.stiffness:.2g} > {MAX_STIFFNESS:g}, "
                             "λ₀ ≈ α²(1 + √(k/d))² the largest initial eigenvalue of XXᵀ): gradient descent can "
                             "blow up. Lower lr or alpha_max, or raise measurements")
        return self

    @property
    def stiffness(self) -> float:
        """lr × a rough bound on the curvature at the init: σ₁ + the largest initial eigenvalue of XXᵀ, amplified
        by d(d + 1)/2m where few measurements make the sensed loss stiffer than ‖XXᵀ − M*‖²."""
        largest = self.alpha_max**2 * (1 + math.sqrt(self.width / self.d)) ** 2
        return self.lr * (1 + largest * (1 + self.d * (self.d + 1) / (2 * self.measurements)))

    @property
    def work(self) -> float:
        return float(self.steps) * self.n_alphas * self.measurements * self.d**2

    @property
    def cost(self) -> Cost:
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND, self.steps, SECONDS_PER_STEP),
                    formula=f"steps × n_alphas × measurements × d² = {self.work:.2g} multiply-adds",
                    knobs=("steps", "measurements", "d", "n_alphas"))

    @property
    def progress_total(self) -> float:
        return float(self.steps)

    @property
    def alphas(self) -> list[float]:
        """The family's initialization scales, alpha_min … alpha_max evenly in log α (rounded to 4 digits)."""
        if self.n_alphas == 1:
            return [self.alpha_min]
        grid = np.geomspace(self.alpha_min, self.alpha_max, self.n_alphas)
        return [float(f"{a:.4g}") for a in grid]

    @property
    def sigmas(self) -> list[float]:
        """The target's nonzero singular values σ₁ > … > σ_r: 1, ratio, ratio², …"""
        return [self.ratio**i for i in range(self.rank)]

    @property
    def shown(self) -> int:
        """How many eigenvalues of XXᵀ are logged: the r of the target and up to EXTRA_EIGS that should stay ~0."""
        return min(self.width, self.rank + EXTRA_EIGS)

    @property
    def log_every(self) -> int:
        """Steps between logged points: every step up to 1,000 steps, then about 1,000 points."""
        return max(1, self.steps // 1000)

    @property
    def snapshot_every(self) -> int:
        return max(1, self.steps // 50)

    @property
    def determined(self) -> bool:
        """The measurements alone pin down every symmetric d × d matrix: m ≥ d(d + 1)/2."""
        return self.measurements >= self.d * (self.d + 1) // 2

    @property
    def degrees_of_freedom(self) -> int:
        """Of a rank-r symmetric d × d matrix: dr − r(r − 1)/2."""
        return self.d * self.rank - self.rank * (self.rank - 1) // 2


def init_projection(config: Config, alpha: float) -> float:
    """The expected ‖uᵀX₀‖² along any unit vector u: X₀ has entries N(0, α²/d), so k·α²/d."""
    return alpha**2 * config.width / config.d


def is_small(config: Config, alpha: float) -> bool:
    return init_projection(config, alpha) <= SMALL_INIT * config.sigmas[-1]


def plateau_theory(config: Config, alpha: float, rate: float | None = None) -> float:
    """Steps until u₁ᵀXXᵀu₁ reaches σ₁/2 in the linear phase, growing at `rate` (default σ₁).

    While X is small, f's gradient is ≈ −M*X, so a step multiplies the part of X along u₁ by 1 + ησ₁ and u₁ᵀXXᵀu₁
    by (1 + ησ₁)². From its start k·α²/d it reaches σ₁/2 after ln(σ₁ / (2kα²/d)) / (2 ln(1 + ησ₁)) steps:
    ≈ ln(1/α)/(ησ₁) plus a constant. The measurements, not M*, drive a real run: the trainer passes the top
    eigenvalue s₁ of (1/m) Σ yᵢAᵢ as `rate` (σ₁ plus sensing noise). X₀'s projection is random: a guide, not a fit.
    """
    sigma = config.sigmas[0]
    growth = sigma if rate is None else rate
    return math.log(sigma / (2 * init_projection(config, alpha))) / (2 * math.log(1 + config.lr * growth))


def theory_slope(config: Config) -> float:
    """d t₁ / d ln(1/α) in the linear phase: 1 / ln(1 + ησ₁) steps per unit of ln(1/α) (≈ 1/(ησ₁))."""
    return 1 / math.log(1 + config.lr * config.sigmas[0])
