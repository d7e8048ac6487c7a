"""The knobs of the XOR-cluster toy and the arithmetic the trainer, the claims and the summary share. No torch here
(the API reads it)."""

import numpy as np
from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

# One run's cost in multiply-adds: each GD step multiplies the (m, n) coefficients by the (n, n) Gram matrix, and
# each logged point scores n_test test points the same way. One CPU thread does MACS_PER_SECOND of them (fitted to
# the presets' timings in docs/science.md: the default, 1.3e10, takes under 2 s). The budget (contract/cost.py)
# caps it.
MACS_PER_SECOND = 7.8e9
DENSE_STEPS = 50  # every step is logged up to here (memorization happens at step 1 or 2)
SNAPSHOTS = 40  # neuron scatters per run, spaced evenly in log(step)


class Config(PhenomenonConfig):
    d: int = Field(
        100_000, ge=16, le=10_000_000,
        description="Input dimension d. The paper's regime is d ≫ n: each training point then has a private "
        "noise direction the network can memorize it along. Any d costs the same (see the summary).",
        json_schema_extra={"unit": "dims"},
    )
    n: int = Field(
        200, ge=8, le=400, description="Training points, drawn evenly at random from the four clusters.",
        json_schema_extra={"unit": "points"},
    )
    mu_norm: float = Field(
        40.0, ge=0.0, le=10_000.0,
        description="Signal strength ‖μ‖ = ‖μ₁‖ = ‖μ₂‖, the distance of each cluster centre from the origin; the "
        "noise is N(0, I_d), of norm ≈ √d. The default puts ‖μ‖² at 3.2 d / n.",
    )
    label_noise: float = Field(
        0.15, ge=0.0, le=0.4,
        description="η: each training label is flipped with this probability (test labels are clean).",
        json_schema_extra={"unit": "fraction"},
    )
    width: int = Field(
        128, ge=4, le=512,
        description="Hidden ReLU neurons m; half have output weight +1/√m, half −1/√m (fixed, as in the paper).",
        json_schema_extra={"unit": "neurons"},
    )
    lr: float = Field(
        0.1, ge=0.001, le=4.0,
        description="Gradient-descent step in units of n/d: α = lr · n / d. In these units the first step moves "
        "every training margin by about the same amount whatever d and n are.",
        json_schema_extra={"unit": "n/d"},
    )
    init_scale: float = Field(
        0.01, ge=0.0, le=1.0,
        description="Initial neuron norm ‖w_j(0)‖ (entries N(0, init_scale² / d)). The paper's analysis needs it "
        "small next to one step's change (about lr / (2√m) along a training point).",
    )
    n_test: int = Field(
        1000, ge=100, le=2000, description="Clean test points (fresh draws from the four clusters).",
        json_schema_extra={"unit": "points"},
    )
    steps: int = Field(
        1000, ge=10, le=5000, description="Full-batch gradient-descent steps.", json_schema_extra={"unit": "steps"}
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.lr * self.n / self.d > 1.0:
            raise ValueError(
                f"the step α = lr · n / d = {self.lr * self.n / self.d:.3g} is above 1: with d = {self.d} next to "
                f"n = {self.n} this is not the paper's d ≫ n regime any more; lower lr or raise d"
            )
        return self

    @property
    def work(self) -> float:
        """Multiply-adds of one run: training steps plus test evaluations (data generation is minor)."""
        logs = sum(1 for step in range(self.steps + 1) if self.logged(step))
        return float(self.width * self.n * (self.steps * self.n + logs * self.n_test))

    @property
    def cost(self) -> Cost:
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND),
                    formula=f"steps × width × n² for training, plus n_test × width × n at each logged step = "
                    f"{self.work:.2g} multiply-adds", knobs=("steps", "n", "width", "n_test"))

    @property
    def alpha(self) -> float:
        """The GD step size α itself."""
        return self.lr * self.n / self.d

    @property
    def signal_ratio(self) -> float:
        """n ‖μ‖² / d: the signal all n points push together, against the noise one point is memorized along."""
        return self.n * self.mu_norm**2 / self.d

    @property
    def progress_total(self) -> float:
        return float(self.steps)

    @property
    def log_every(self) -> int:
        """Past DENSE_STEPS, steps between logged points: about 250 points per run."""
        return max(1, self.steps // 250)

    def logged(self, step: int) -> bool:
        """Whether `step` is logged: every step up to DENSE_STEPS (memorization is at step 1), then every log_every."""
        return step <= DENSE_STEPS or step % self.log_every == 0 or step == self.steps

    def snapshot_steps(self) -> list[int]:
        """Steps the neuron scatter is stored at: about 40, spaced evenly in log(step) (the early steps matter)."""
        grid = np.unique(np.round(np.geomspace(1, self.steps, SNAPSHOTS)).astype(int))
        return [0, *(int(s) for s in grid)]

