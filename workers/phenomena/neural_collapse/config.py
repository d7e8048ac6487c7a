"""The knobs of the neural-collapse run and the limits that keep one run to a few minutes. No torch here (the API
reads it)."""

import math
from typing import Literal

from pydantic import Field, model_validator

from workers.phenomena.contract import Cost, PhenomenonConfig, run_seconds

CLASSES = 10  # the digits 0 … 9: K
PIXELS = 64  # 8 × 8 images
SMALLEST_CLASS = 174  # images of the rarest digit in scikit-learn's digits; every class keeps some for the test set
MAX_TRAIN_PER_CLASS = 120  # so every class keeps ≥ 54 test images
ETF_COSINE = -1 / (CLASSES - 1)  # the cosine between any two class means of a simplex ETF: −1/(K − 1)
# A run's work is about epochs × training images × weights (forward and backward) at MACS_PER_SECOND on one CPU
# thread, and its overhead about one millisecond per update plus a few per epoch (the metrics): fitted to the
# presets' timings in docs/science.md (the default, 400 × 500 × 43k ≈ 8.7e9, takes ~3 s). The budget
# (contract/cost.py) caps it.
MACS_PER_SECOND = 8.3e9
SECONDS_PER_UPDATE = 1e-3
SECONDS_PER_EPOCH = 4.3e-3
SHOWN_PER_CLASS = 60  # training images per class in the feature scatter: at most 600 points, 1,800 numbers
SCATTER_VALUES = 3 * CLASSES * SHOWN_PER_CLASS


class Config(PhenomenonConfig):
    batch_norm: bool = Field(
        True,
        description="BatchNorm after every hidden linear layer. With it (and weight decay) the features collapse; "
        "without it this MLP fits the data and stops moving.",
    )
    weight_decay: float = Field(
        1e-2, ge=0.0, le=0.1,
        description="SGD weight decay on every parameter. The terminal phase is the slow pull of the decay toward "
        "the collapsed solution: at 0 nothing pulls.",
    )
    lr: float = Field(0.1, ge=1e-3, le=1.0, description="Peak SGD learning rate.")
    momentum: float = Field(0.9, ge=0.0, le=0.99, description="SGD momentum.")
    lr_schedule: Literal["cosine", "constant"] = Field(
        "cosine", description="cosine: the learning rate falls from lr to 0 over the epochs; constant: it stays at lr."
    )
    width: int = Field(
        128, ge=16, le=512, description="Units in each hidden layer: the features live in this many dimensions.",
        json_schema_extra={"unit": "units"},
    )
    depth: int = Field(
        3, ge=1, le=6, description="Hidden layers (Linear → BatchNorm → ReLU); the last one's output is the features.",
        json_schema_extra={"unit": "layers"},
    )
    train_per_class: int = Field(
        50, ge=10, le=MAX_TRAIN_PER_CLASS,
        description="Training images per digit (balanced, as in the paper); every other image is the test set.",
        json_schema_extra={"unit": "images"},
    )
    batch_size: int = Field(
        500, ge=10, le=CLASSES * MAX_TRAIN_PER_CLASS,
        description="Images per SGD update; at most the training set (10 × train_per_class), which is full batch.",
        json_schema_extra={"unit": "images"},
    )
    epochs: int = Field(400, ge=10, le=3000, description="Passes over the training set.",
                        json_schema_extra={"unit": "epochs"})

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.batch_size > self.n_train:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be at most the training set, 10 × train_per_class = "
                f"{self.n_train} (that is full batch)"
            )
        if self.batch_norm and self.n_train % self.batch_size == 1:
            raise ValueError(
                f"batch_size {self.batch_size} leaves a last batch of one image out of {self.n_train}, and BatchNorm "
                f"needs at least two: pick another batch_size"
            )
        return self

    @property
    def n_train(self) -> int:
        return CLASSES * self.train_per_class

    @property
    def updates_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    @property
    def updates(self) -> int:
        return self.epochs * self.updates_per_epoch

    @property
    def weights(self) -> int:
        """Trainable weights of the MLP and its linear classifier (biases and BatchNorm's scale and shift too)."""
        hidden = PIXELS * self.width + (self.depth - 1) * self.width**2 + self.depth * self.width
        norm = 2 * self.depth * self.width if self.batch_norm else 0
        return hidden + norm + self.width * CLASSES + CLASSES

    @property
    def work(self) -> float:
        return float(self.epochs) * self.n_train * self.weights

    @property
    def cost(self) -> Cost:
        overhead = self.updates * SECONDS_PER_UPDATE + self.epochs * SECONDS_PER_EPOCH
        return Cost(seconds=run_seconds(self.work, MACS_PER_SECOND) + overhead,
                    formula=f"epochs × training images × weights = {self.work:.2g} multiply-adds, in {self.updates:,} "
                    "updates (a larger batch_size makes fewer)", knobs=("epochs", "train_per_class", "width", "depth"))

    @property
    def progress_total(self) -> float:
        return float(self.epochs)

    @property
    def log_every(self) -> int:
        """Epochs between logged points: about 100 per run."""
        return max(1, self.epochs // 100)

    @property
    def snapshot_every(self) -> int:
        """Epochs between feature snapshots: about 20 per run."""
        return max(1, self.epochs // 20)
