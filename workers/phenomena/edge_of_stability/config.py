"""The knobs of the edge-of-stability run, and the arithmetic the trainer, the reference lines and the claims
share. No torch here (the API reads it)."""

from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

DIGITS = 1797  # images in scikit-learn's digits set (8 × 8 pixels, 10 classes)
PIXELS = 64
CLASSES = 10
GROUP_A, GROUP_B = 1, 7  # the classes of the two opposing outlier groups (a 1 and a 7 share a vertical stroke)
PATCH = (0, 7, 56, 63)  # the four corner pixels: blank in nearly every digit; the outliers' loud shared feature
ONSET = 0.9  # the edge of stability begins when the sharpness first reaches this × 2/η
# The run's work: steps × n_train × (multiply-adds of one forward pass), the sharpness probe included. A forward +
# backward costs about three of these; on one CPU thread they go at MACS_PER_SECOND, plus SECONDS_PER_STEP
# (fitted to the presets' timings in docs/science.md). The budget (contract/cost.py) caps it.
MACS_PER_SECOND = 6.2e9
SECONDS_PER_STEP = 0.85e-3


class Config(PhenomenonConfig):
    lr: float = Field(
        0.1, ge=0.005, le=2.0,
        description="Step size η of full-batch gradient descent. Gradient descent on a quadratic is stable only "
        "while the sharpness is below 2/η: that is the line the sharpness rises to.",
    )
    steps: int = Field(
        2500, ge=20, le=20_000, description="Full-batch gradient-descent steps.", json_schema_extra={"unit": "steps"}
    )
    n_train: int = Field(
        1000, ge=100, le=DIGITS,
        description=f"Training images drawn from scikit-learn's {DIGITS} handwritten digits (8 × 8 pixels). The "
        "whole set is one batch.",
        json_schema_extra={"unit": "images"},
    )
    width: int = Field(
        128, ge=8, le=512, description="Units of each hidden layer (tanh).", json_schema_extra={"unit": "units"}
    )
    depth: int = Field(2, ge=1, le=4, description="Hidden layers.", json_schema_extra={"unit": "layers"})
    init_scale: float = Field(
        1.0, ge=0.25, le=4.0,
        description="Multiplies PyTorch's default initialization of every weight. Larger starts sharper (at "
        "4 the network may begin above 2/η and catapult down).",
    )
    outliers: int = Field(
        20, ge=0, le=100,
        description=f"Images per opposing outlier group. Group a: that many {GROUP_A}s, group b: that many "
        f"{GROUP_B}s, each with the same loud feature painted in (the four corner pixels). The feature says "
        f"'{GROUP_A}' in one group and '{GROUP_B}' in the other: opposing signals. 0: plain digits.",
        json_schema_extra={"unit": "images per group"},
    )
    outlier_strength: float = Field(
        4.0, ge=1.0, le=16.0,
        description="Value painted into the outliers' corner pixels, in units of the brightest ordinary pixel (1).",
    )
    sharpness_every: int = Field(
        20, ge=1, le=500,
        description="Steps between sharpness measurements (the top Hessian eigenvalue, by power iteration).",
        json_schema_extra={"unit": "steps"},
    )
    power_iters: int = Field(
        2, ge=1, le=30,
        description="Hessian-vector products per measurement. Each one starts from the previous top eigenvector, "
        "which moves little between measurements, so a few are enough.",
        json_schema_extra={"unit": "products"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.sharpness_every > self.steps // 4:
            raise ValueError(
                f"sharpness_every ({self.sharpness_every}) must be at most steps / 4 = {self.steps // 4}: the claims "
                "need several measurements in the second half of the run"
            )
        if self.outliers > self.n_train // 20:
            raise ValueError(
                f"outliers ({self.outliers} per group) must be at most n_train / 20 = {self.n_train // 20}: they are "
                "meant to be a small minority of the training set"
            )
        return self

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass of one image."""
        return PIXELS * self.width + (self.depth - 1) * self.width**2 + self.width * CLASSES

    @property
    def work(self) -> float:
        """The run's compute, counted as forward multiply-adds: the training steps plus the Hessian-vector
        products (each about as much as two training steps)."""
        hvps = self.steps / self.sharpness_every * self.power_iters
        return float(self.n_train * self.macs * (self.steps + 2 * hvps))

    @property
    def cost(self) -> Cost:
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND, self.steps, SECONDS_PER_STEP),
                    formula=f"steps × n_train × network size = {self.work:.2g} multiply-adds",
                    knobs=("steps", "n_train", "width", "depth"))

    @property
    def two_over_eta(self) -> float:
        return 2.0 / self.lr

    @property
    def progress_total(self) -> float:
        return float(self.steps)

    @property
    def snapshot_every(self) -> int:
        """Steps between snapshots of the sharp direction: a multiple of sharpness_every, about 40 per run."""
        k = self.sharpness_every
        return max(k, round(self.steps / 40 / k) * k)


def sharpness_steps(config: Config) -> list[int]:
    """The steps the sharpness is measured at: every sharpness_every steps from 0, and the last step."""
    found = list(range(0, config.steps + 1, config.sharpness_every))
    return found if found[-1] == config.steps else [*found, config.steps]
