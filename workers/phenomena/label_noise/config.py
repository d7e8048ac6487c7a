"""The knobs of the label-noise experiment and the arithmetic the trainer, the reference lines and the claims share.
No torch here (the API reads it)."""

import math

from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

DIGITS = 1797  # scikit-learn's digits: 8 × 8 images of 0 … 9; what is not trained on is the test set
PIXELS = 64
CLASSES = 10
MIN_TEST = 297  # n_train ≤ 1500 leaves at least this many test images
REFERENCES = (0.0, 100.0)  # the noise levels trained beside the chosen one when `references` is on
FIT = 0.99  # a network "fits its labels" once its train accuracy on the labels it was given stays ≥ this
MEMORIZED = 0.9  # the noisy examples count as memorized once this fraction predicts its wrong label
SNAPSHOT_EXAMPLES = 100  # the scatter snapshot shows up to this many clean and this many noisy training examples
# One run's compute: epochs × n_train × networks × parameters per network, at MACS_PER_SECOND on one CPU thread, plus
# SECONDS_PER_UPDATE for each network's minibatch step (fitted to the presets' timings in docs/science.md: the
# default, 1.8e10, takes ~7 s). The budget (contract/cost.py) caps it.
MACS_PER_SECOND = 4.4e9
SECONDS_PER_UPDATE = 0.85e-3


class Config(PhenomenonConfig):
    noise: float = Field(
        40.0, ge=0.0, le=100.0,
        description="Label noise: the percentage of training labels replaced by a random WRONG label (uniform over "
        "the nine other digits). At 100 % every label is wrong: the labels say nothing a network could learn "
        "from the image except which digit it is not.",
        json_schema_extra={"unit": "%"},
    )
    references: bool = Field(
        True,
        description="Also train a 0 % network (true labels) and a 100 % network (all labels random) side by side, "
        "on the same images and batches, to compare how fast each fits its labels.",
    )
    n_train: int = Field(
        1200, ge=200, le=1500,
        description="Training images drawn from the 1,797 digits; the rest are the test set (at least 297).",
        json_schema_extra={"unit": "images"},
    )
    width: int = Field(
        256, ge=8, le=1024, description="Hidden units per layer of the MLP.", json_schema_extra={"unit": "units"}
    )
    depth: int = Field(2, ge=1, le=4, description="Hidden layers of the MLP.", json_schema_extra={"unit": "layers"})
    lr: float = Field(1e-3, ge=1e-5, le=1e-2, description="Adam learning rate (constant).")
    weight_decay: float = Field(
        0.0, ge=0.0, le=20.0,
        description="Decoupled weight decay (AdamW): each step shrinks the weights by lr × weight_decay. Strong decay "
        "(≈ 8) keeps the network from memorizing the wrong labels.",
    )
    batch_size: int = Field(
        64, ge=8, le=1500, description="Images per Adam step.", json_schema_extra={"unit": "images"}
    )
    epochs: int = Field(
        60, ge=2, le=400, description="Passes over the training set; every network is scored after each one.",
        json_schema_extra={"unit": "epochs"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size ({self.batch_size}) must be at most n_train ({self.n_train})")
        return self

    @property
    def members(self) -> list[float]:
        """The noise levels (percent) trained side by side: the chosen one, and 0 % and 100 % with `references`."""
        return sorted({float(self.noise), *(REFERENCES if self.references else ())})

    @property
    def n_test(self) -> int:
        return DIGITS - self.n_train

    @property
    def parameters(self) -> int:
        """Weights and biases of one MLP: 64 pixels → depth × width → 10 digits."""
        sizes = [PIXELS, *[self.width] * self.depth, CLASSES]
        return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def work(self) -> float:
        return float(self.epochs) * self.n_train * len(self.members) * self.parameters

    @property
    def cost(self) -> Cost:
        updates = self.epochs * self.steps_per_epoch * len(self.members)
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND, updates, SECONDS_PER_UPDATE),
                    formula=f"epochs × n_train × {len(self.members)} network(s) × {self.parameters:,} parameters = "
                    f"{self.work:.2g} multiply-adds (references on trains three)",
                    knobs=("epochs", "n_train", "width", "depth"))

    @property
    def progress_total(self) -> float:
        return float(self.epochs)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    @property
    def snapshot_every(self) -> int:
        """Epochs between scatter snapshots: every epoch up to 40 epochs, about 40 snapshots beyond."""
        return max(1, self.epochs // 40)


def noisy_count(n_train: int, noise: float) -> int:
    """How many of n_train labels are wrong at `noise` percent (the first ones of the seed's noise order)."""
    return round(n_train * noise / 100)
