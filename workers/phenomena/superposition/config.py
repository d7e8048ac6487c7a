"""The knobs of the superposition toy model, and the arithmetic of its data that the trainer, the reference
curves and the claims all share. No torch here (the API reads it)."""

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

REPRESENTED_NORM = 0.5  # feature i counts as represented when its column ‖W_i‖ > this (the output gain is ‖W_i‖²)
MANY = 4  # "many more features than dimensions": at least this many per dimension (m_max ≤ n / MANY)
SNAPSHOT_FEATURES = 128  # WᵀW is shown for the 128 most frequent features: 128² = 16,384 values, the view's cap
HELD_OUT = 16_384  # samples every width is scored on at the end (train.EVAL_SAMPLES)
# One run's compute: every sample (steps × batch_size, and the held-out set) is encoded and decoded by every width
# m, 2 n m multiply-adds, and each width writes its (batch, n) reconstruction; on one CPU thread these go at
# MACS_PER_SECOND, and each width's step costs SECONDS_PER_UPDATE more (Adam, the sampling): fitted to the presets'
# timings in docs/science.md and to runs up to n = 2048, m = 256. The budget (contract/cost.py) caps it.
MACS_PER_SECOND = 6.0e9
SECONDS_PER_UPDATE = 0.45e-3


class Config(PhenomenonConfig):
    n_features: int = Field(
        512, ge=16, le=2048,
        description="Number of sparse input features n (the model reconstructs all of them).",
        json_schema_extra={"unit": "features"},
    )
    freq_exponent: float = Field(
        1.2, ge=0.5, le=3.0,
        description="a in p_i ∝ i^−a: how fast feature frequency falls with rank. Weak superposition's loss "
        "follows this tail (slope ≈ −(a − 1) when n is large).",
    )
    active_features: float = Field(
        1.0, ge=0.1, le=8.0,
        description="Expected number of features active in one sample (the sum of the p_i).",
        json_schema_extra={"unit": "features"},
    )
    m_min: int = Field(
        4, ge=2, le=512, description="Narrowest hidden width m in the family.", json_schema_extra={"unit": "dims"}
    )
    m_max: int = Field(
        32, ge=3, le=1024,
        description="Widest hidden width m (at most n_features / 4; the 1/m law is cleanest below n_features / 16).",
        json_schema_extra={"unit": "dims"},
    )
    n_widths: int = Field(
        7, ge=2, le=12,
        description="Widths trained together, spaced evenly in log m (a power-law fit needs at least 3).",
        json_schema_extra={"unit": "widths"},
    )
    weight_decay: float = Field(
        -1.0, ge=-4.0, le=16.0,
        description="The superposition switch. Positive: ordinary decoupled weight decay, which lets rare features "
        "die (weak superposition). Negative: pulls every feature's column toward norm 1, so all features stay "
        "represented (strong superposition).",
    )
    lr: float = Field(1e-2, ge=1e-4, le=0.1, description="Peak Adam learning rate (5 % warm-up, then cosine to 5 %).")
    batch_size: int = Field(
        64, ge=16, le=4096, description="Fresh samples per step.", json_schema_extra={"unit": "samples"}
    )
    steps: int = Field(6000, ge=20, le=100_000, description="Adam steps.", json_schema_extra={"unit": "steps"})
    init_scale: float = Field(
        0.1, ge=0.01, le=2.0,
        description="Initial feature-column norm ‖W_i‖ (entries drawn N(0, init_scale² / m)).",
    )
    snapshot_m: int = Field(
        8, ge=2, le=1024, description="The width whose WᵀW is shown over training; must be one of the widths.",
        json_schema_extra={"unit": "dims"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.m_min >= self.m_max:
            raise ValueError(f"m_min ({self.m_min}) must be below m_max ({self.m_max})")
        if MANY * self.m_max > self.n_features:
            raise ValueError(
                f"m_max must be at most n_features / {MANY} = {self.n_features // MANY}: superposition needs many "
                f"more features than dimensions"
            )
        if len(self.widths) < self.n_widths:
            raise ValueError(
                f"only {len(self.widths)} distinct integer widths fit between m_min = {self.m_min} and m_max = "
                f"{self.m_max} at {self.n_widths} log-spaced points: widen the range or lower n_widths"
            )
        top = self.active_features / _zeta(self.n_features, self.freq_exponent)
        if top > 1:
            limit = _zeta(self.n_features, self.freq_exponent)
            raise ValueError(
                f"active_features = {self.active_features:g} would make feature 1 active with probability "
                f"{top:.2f} > 1; with a = {self.freq_exponent:g} and n = {self.n_features} it is at most {limit:.2f}"
            )
        if self.snapshot_m not in self.widths:
            raise ValueError(f"snapshot_m must be one of the widths {self.widths}; {self.snapshot_m} is not")
        return self

    @property
    def widths(self) -> list[int]:
        """Hidden widths m of the family: n_widths points evenly spaced in log m, rounded (so maybe fewer)."""
        k = self.n_widths
        ratio = self.m_max / self.m_min
        return sorted({round(self.m_min * ratio ** (i / (k - 1))) for i in range(k)})

    @property
    def work(self) -> float:
        """Multiply-adds of the run: each sample through every width, forward (see MACS_PER_SECOND)."""
        return float(self.steps * self.batch_size + HELD_OUT) * self.n_features * 2 * sum(self.widths)

    @property
    def cost(self) -> Cost:
        widths = len(self.widths)
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND, self.steps * widths, SECONDS_PER_UPDATE),
                    formula=f"steps × batch_size × n_features × 2 × the {widths} widths' sum = {self.work:.2g} "
                    "multiply-adds", knobs=("steps", "batch_size", "n_features", "m_max", "n_widths"))

    @property
    def progress_total(self) -> float:
        return float(self.steps)

    @property
    def log_every(self) -> int:
        """Steps between logged points: about 200 points per width, each the mean loss over its interval."""
        return max(1, self.steps // 200)

    @property
    def snapshot_every(self) -> int:
        """Steps between WᵀW snapshots: about 40 per run."""
        return max(1, self.steps // 40)

    @property
    def regime(self) -> Literal["strong", "weak", "neither"]:
        """The regime the weight decay selects, as the paper switches it: strong (< 0), weak (> 0), neither (0)."""
        return "strong" if self.weight_decay < 0 else "weak" if self.weight_decay > 0 else "neither"


def _zeta(n: int, a: float) -> float:
    return float(np.sum(np.arange(1, n + 1, dtype=float) ** -a))


def frequencies(config: Config) -> np.ndarray:
    """p_i, the probability that feature i (rank i = 1 … n) is active in a sample: (n,), summing to active_features."""
    ranks = np.arange(1, config.n_features + 1, dtype=float)
    return config.active_features * ranks**-config.freq_exponent / _zeta(config.n_features, config.freq_exponent)


def no_superposition_loss(config: Config, m: int) -> float:
    """The lowest loss a width-m model reaches with one feature per dimension (no superposition).

    An active feature is x_i ~ U(0, 2), so E[x_i] = p_i and E[x_i²] = 4p_i/3. Storing the m most frequent features
    on orthogonal directions reconstructs them exactly; every other feature is best predicted by its mean (the
    bias), costing its variance. The loss is a mean over the n outputs.
    """
    p = frequencies(config)
    return float(np.sum(4 * p[m:] / 3 - p[m:] ** 2) / config.n_features)


def tail_slope(config: Config) -> float:
    """Log-log slope of no_superposition_loss over the config's widths: weak superposition's prediction.

    For n → ∞ it tends to −(a − 1) (the tail of a power law sums to a power law); with finite n the tail is cut
    off and the slope is steeper.
    """
    m = np.asarray(config.widths, dtype=float)
    loss = np.array([no_superposition_loss(config, int(w)) for w in config.widths])
    return float(np.polyfit(np.log(m), np.log(loss), 1)[0])


def asymptotic_tail_slope(config: Config) -> float:
    return -(config.freq_exponent - 1)


def snapshot_features(config: Config) -> int:
    return min(config.n_features, SNAPSHOT_FEATURES)

