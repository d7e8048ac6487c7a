"""The knobs of the grokking toy, and the split arithmetic the trainer, the detectors and the claims share.
No torch here (the API reads it)."""

from typing import Literal

from pydantic import Field, field_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

Operation = Literal["+", "-", "*", "/"]
Output = Literal["softmax", "stablemax"]
Dtype = Literal["float32", "float64"]

# One run's work, in multiply-adds of the output layer (the dominant cost: p² pairs × width × p logits per step),
# times 2 for float64 and 2 more for Grokfast's twin. On one CPU thread it runs at about MACS_PER_SECOND, plus
# SECONDS_PER_STEP of everything else (the embedding, the optimizer, the evaluation): fitted to the presets'
# timings in docs/science.md (the default, 2.3 × 10¹¹, is ~40 s). The budget (contract/cost.py) caps it.
MACS_PER_SECOND = 5.7e9
SECONDS_PER_STEP = 3.7e-3


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def table_size(p: int, operation: str) -> int:
    """Pairs (a, b) in the table: p², or p(p − 1) for division (b ≠ 0)."""
    return p * (p - 1) if operation == "/" else p * p


def train_size(p: int, operation: str, train_frac: float) -> int:
    """Training pairs: at least 1, and at least one pair left for validation (as data.make_split draws them)."""
    n = table_size(p, operation)
    return min(max(round(train_frac * n), 1), n - 1)


def noisy_size(p: int, operation: str, train_frac: float, label_noise: float) -> int:
    """Training pairs whose label is replaced by a wrong answer."""
    return round(label_noise * train_size(p, operation, train_frac))


class Config(PhenomenonConfig):
    p: int = Field(
        97,
        ge=3,
        le=257,
        description="Prime modulus: the table has p × p entries and p classes.",
        json_schema_extra={"unit": "residues"},
    )
    operation: Operation = Field("+", description="The operation a ∘ b mod p; '/' is a · b⁻¹ (b ≠ 0).")
    train_frac: float = Field(
        0.5,
        ge=0.05,
        le=0.95,
        description="Fraction of the table used for training; the rest is validation.",
        json_schema_extra={"unit": "fraction"},
    )
    weight_decay: float = Field(1.0, ge=0.0, le=10.0, description="AdamW decoupled weight decay.")
    lr: float = Field(5e-3, ge=1e-5, le=0.1, description="AdamW learning rate (full batch).")
    beta2: float = Field(0.98, ge=0.9, le=0.9999, description="AdamW second-moment decay β₂.")
    embed_dim: int = Field(
        128, ge=4, le=512, description="Size of each token embedding.", json_schema_extra={"unit": "dims"}
    )
    width: int = Field(
        256, ge=8, le=2048, description="Hidden units of the MLP.", json_schema_extra={"unit": "units"}
    )
    label_noise: float = Field(
        0.0,
        ge=0.0,
        le=0.5,
        description="Fraction of training labels replaced by random wrong answers (Doshi et al.).",
        json_schema_extra={"unit": "fraction"},
    )
    output: Output = Field(
        "softmax",
        description="How logits become probabilities in the loss: 'softmax' (cross-entropy), or 'stablemax' "
        "(Prieto et al.: s(x) = x + 1 for x ≥ 0, 1/(1 − x) below, normalized), which grows only linearly, so "
        "float rounding cannot zero the gradient of a well-fitted example.",
    )
    dtype: Dtype = Field(
        "float32",
        description="Floating-point precision of the model and the loss. float64 delays softmax collapse "
        "(costs about twice the time).",
    )
    grokfast_lambda: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Grokfast amplification λ: each gradient g becomes g + λ·ema(g). 0 is off. When on, the same "
        "initialization is also trained without the filter, side by side, to measure the speed-up (twice "
        "the time).",
    )
    grokfast_alpha: float = Field(
        0.98,
        ge=0.0,
        le=0.999,
        description="Grokfast EMA decay α: ema ← α·ema + (1 − α)·g. Closer to 1 keeps slower components only.",
    )
    steps: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Full-batch optimizer steps.",
        json_schema_extra={"unit": "steps"},
    )

    @field_validator("p")
    @classmethod
    def _p_is_prime(cls, p: int) -> int:
        if not is_prime(p):
            raise ValueError(f"p must be prime (modular division needs a field); {p} is not: try 97 or 113")
        return p

    @property
    def work(self) -> float:
        """Multiply-adds of the output layer over the run (see MACS_PER_SECOND)."""
        return float(self.steps) * self.p**3 * self.width * (2 if self.dtype == "float64" else 1) * (
            2 if self.grokfast else 1)

    @property
    def cost(self) -> Cost:
        twice = f"{' × 2 (float64)' if self.dtype == 'float64' else ''}{' × 2 (Grokfast twin)' if self.grokfast else ''}"
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND, self.steps, SECONDS_PER_STEP),
                    formula=f"steps × p³ × width{twice} = {self.work:.2g} multiply-adds", knobs=("steps", "p", "width"))

    @property
    def grokfast(self) -> bool:
        return self.grokfast_lambda > 0

    @property
    def progress_total(self) -> int:
        return self.steps

    @property
    def snapshot_every(self) -> int:
        """Steps between embedding Fourier snapshots: every 50, at most ~200 of them per run."""
        return max(50, self.steps // 200)

    @property
    def n_train(self) -> int:
        return train_size(self.p, self.operation, self.train_frac)

    @property
    def n_noisy(self) -> int:
        return noisy_size(self.p, self.operation, self.train_frac, self.label_noise)

    @property
    def noisy_share(self) -> float:
        """The fraction of the training set whose labels are corrupted (ξ, as rounded to whole examples)."""
        return self.n_noisy / self.n_train
