"""Grokking: a small network fits modular arithmetic at once, and generalizes only much later. No torch here."""

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from workers.phenomena.contract import (
    Chart,
    Claim,
    ClaimResult,
    Curves,
    Paper,
    PhenomenonConfig,
    Transition,
)

NAME = "grokking"
TITLE = "Grokking"
VERSION = "1"
ONE_LINER = (
    "A small network memorizes a∘b mod p in a few dozen steps and generalizes hundreds of steps later."
)

SUMMARY = """\
A small network learns a table of modular arithmetic, `a ∘ b mod p`, from half of its entries and
is tested on the other half. Training accuracy reaches 100 % within a few dozen steps: the network
has **memorized** the training pairs, while validation accuracy stays at chance (1/p). Keep
training, with weight decay, and hundreds of steps later validation accuracy climbs to 100 %:
the network has **grokked** the operation.

**What to look for.**
- *Accuracy chart*: the train curve jumps to 1 early; the validation curve stays flat near 0, then
  rises steeply. The gap between the two marks is the grokking delay.
- *Loss chart* (log scale): validation loss first *rises* while the network memorizes, then falls
  as it generalizes.
- *Weight norm*: after memorization, weight decay slowly shrinks the weights. The memorizing
  solution needs large weights; the general one is cheaper, so as the norm falls, validation
  accuracy rises (Liu et al., "Omnigrok").
- *Embedding Fourier spectrum*: the token embeddings, read as a signal over the residues
  0 … p−1, start as broadband noise. As the network groks, their power concentrates on a few
  frequencies k: the network computes `a + b` with cosines and sines of `2πk·a/p` (Nanda et al.).

**The knobs.**
- `weight_decay` is the main switch: at 0 the network memorizes and stays there for a long time.
  Larger values grok sooner.
- `train_frac`: with less training data the delay grows, and below roughly 0.3 grokking may not
  happen within the step budget.
- `lr` and `beta2` (AdamW): a larger learning rate shortens everything, up to instability.
- `operation`: `+`, `-`, `*` and `/` (via the modular inverse) all grok. For `*` and `/` the key
  frequencies live in the basis of discrete logarithms, not of the residues, so the embedding
  spectrum over k stays flat even after grokking.
- `label_noise` replaces a fraction of the *training* labels by wrong answers: the network can
  memorize them too, but the general solution refuses them.
- `width`, `embed_dim`: the size of the network.
"""

PAPERS = [
    Paper(
        title="Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
        authors="Power, Burda, Edwards, Babuschkin, Misra",
        year=2022,
        arxiv="2201.02177",
        figure="Figure 1 (left): train and validation accuracy against optimization steps, modular division",
    ),
    Paper(
        title="Progress measures for grokking via mechanistic interpretability",
        authors="Nanda, Chan, Lieberum, Smith, Steinhardt",
        year=2023,
        arxiv="2301.05217",
        figure="Section 4.1: the embedding is periodic, its Fourier spectrum sparse (a few key frequencies)",
    ),
    Paper(
        title="Omnigrok: Grokking Beyond Algorithmic Data",
        authors="Liu, Michaud, Tegmark",
        year=2023,
        arxiv="2210.01117",
        figure="The LU mechanism: test loss is U-shaped in the weight norm; weight decay brings the norm down to it",
    ),
]

Operation = Literal["+", "-", "*", "/"]


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


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
        description="Fraction of training labels replaced by random wrong answers.",
        json_schema_extra={"unit": "fraction"},
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
    def total_steps(self) -> int:
        return self.steps

    @property
    def snapshot_every(self) -> int:
        """Steps between embedding Fourier snapshots: every 50, at most ~200 of them per run."""
        return max(50, self.steps // 200)


PRESETS = {
    "default": Config(),
    "no_weight_decay": Config(weight_decay=0.0),
    "less_data": Config(train_frac=0.3, steps=4000),  # groks near step 2,400
    "division": Config(operation="/", steps=1500),
    # groks in ~300 steps, ~2 s: for demos and tests
    "tiny": Config(p=31, train_frac=0.8, embed_dim=32, width=128, lr=1e-2, steps=500),
}

CHARTS = [
    Chart(id="accuracy", title="Accuracy", metrics=["train/acc", "val/acc"], y_label="accuracy"),
    Chart(id="loss", title="Loss", metrics=["train/loss", "val/loss"], y_label="cross-entropy", log_y=True),
    Chart(id="weight_norm", title="Weight norm", metrics=["weight_norm"], y_label="‖θ‖₂"),
]

SNAPSHOTS = [
    {
        "name": "embedding_fourier",
        "title": "Fourier power of the token embeddings (fraction per frequency)",
        "x_label": "frequency k",
    }
]

# -- detection ------------------------------------------------------------------------------------

MEMORIZED_ACC = 0.99
GROKKED_ACC = 0.95
HOLD = 10  # logged points a threshold must hold for, so a single noisy crossing does not count


def _finished(curves: Curves, config: Config) -> bool:
    return any(len(x) and x[-1] >= config.total_steps for x, _ in curves.values())


def _first_sustained(curves: Curves, name: str, threshold: float, finished: bool) -> tuple[int, float] | None:
    """(step, value) of the first point from which `name` stays ≥ threshold for HOLD points.

    Near the live end of a run a crossing counts only once HOLD points are in, unless the run finished.
    """
    if name not in curves or not len(curves[name][0]):
        return None
    x, y = curves[name]
    above = np.asarray(y) >= threshold
    held = np.zeros(len(above), dtype=bool)
    if len(above) >= HOLD:
        held[: len(above) - HOLD + 1] = np.lib.stride_tricks.sliding_window_view(above, HOLD).all(axis=1)
    if finished:  # the last points: above from there to the end is enough
        tail = slice(max(len(above) - HOLD + 1, 0), None)
        held[tail] = np.logical_and.accumulate(above[tail][::-1])[::-1]
    hits = np.flatnonzero(held)
    return (int(x[hits[0]]), float(y[hits[0]])) if len(hits) else None


def _events(curves: Curves, config: Config) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
    finished = _finished(curves, config)
    memorized = _first_sustained(curves, "train/acc", MEMORIZED_ACC, finished)
    grokked = _first_sustained(curves, "val/acc", GROKKED_ACC, finished)
    return memorized, grokked


def detect(curves: Curves, config: Config) -> list[Transition]:
    memorized, grokked = _events(curves, config)
    found = []
    if memorized:
        found.append(
            Transition(
                id="memorization",
                label="memorized (train acc ≥ 99%)",
                step=memorized[0],
                metric="train/acc",
                value=memorized[1],
            )
        )
    if grokked:
        delay = f" (+{grokked[0] - memorized[0]} steps)" if memorized else ""
        found.append(
            Transition(
                id="grokking", label=f"grokked{delay}", step=grokked[0], metric="val/acc", value=grokked[1]
            )
        )
    return found


# -- claims ---------------------------------------------------------------------------------------

MIN_DELAY_STEPS = 100
MIN_DELAY_FACTOR = 2.0  # grokking step ≥ this × memorization step
MIN_NORM_DROP = 0.1  # the weight norm must fall by at least 10 %


def _late_generalization(curves: Curves, config: Config) -> ClaimResult:
    memorized, grokked = _events(curves, config)
    if grokked is None:
        if _finished(curves, config):
            return ClaimResult(
                verdict="fail",
                detail=f"validation accuracy never held ≥ {GROKKED_ACC:.0%} within {config.total_steps} steps",
            )
        return ClaimResult(verdict="not_yet", detail="validation accuracy has not reached 95 % yet")
    if memorized is None:
        return ClaimResult(
            verdict="fail", detail=f"generalized at step {grokked[0]} without first fitting the training set"
        )
    delay = grokked[0] - memorized[0]
    late = delay >= MIN_DELAY_STEPS and grokked[0] >= MIN_DELAY_FACTOR * memorized[0]
    detail = f"memorized at step {memorized[0]}, generalized at step {grokked[0]}: {delay} steps later"
    if not late:
        detail += f" (needs ≥ {MIN_DELAY_STEPS} steps and ≥ {MIN_DELAY_FACTOR:g}× the memorization step)"
    return ClaimResult(verdict="pass" if late else "fail", value=float(delay), detail=detail)


def _norm_falls(curves: Curves, config: Config) -> ClaimResult:
    memorized, grokked = _events(curves, config)
    if "weight_norm" not in curves or not len(curves["weight_norm"][0]):
        return ClaimResult(verdict="not_yet", detail="no weight norm logged yet")
    x, norm = curves["weight_norm"]
    start = memorized[0] if memorized else int(x[0])
    end = grokked[0] if grokked else int(x[-1])
    window = norm[(x >= start) & (x <= end)]
    if not len(window):
        return ClaimResult(verdict="not_yet", detail="no weight norm logged after memorization yet")
    peak, last = float(window.max()), float(window[-1])
    change = last / peak - 1
    if grokked is None:
        if not _finished(curves, config):
            return ClaimResult(
                verdict="not_yet", value=change, detail="validation accuracy has not risen yet"
            )
        return ClaimResult(
            verdict="fail",
            value=change,
            detail=f"validation accuracy never rose to {GROKKED_ACC:.0%}; the weight norm went from its "
            f"peak {peak:.1f} after memorization to {last:.1f} at the end ({change:+.0%})",
        )
    fell = change <= -MIN_NORM_DROP
    detail = f"weight norm fell from its peak {peak:.1f} after memorization to {last:.1f} at grokking ({change:+.0%})"
    if not fell:
        detail += f"; needs a drop of at least {MIN_NORM_DROP:.0%}"
    return ClaimResult(verdict="pass" if fell else "fail", value=change, detail=detail)


CLAIMS = [
    Claim(
        id="late_generalization",
        text="Generalization comes long after memorization: validation accuracy reaches 95 % "
        "well after training accuracy reaches 99 %.",
        check=_late_generalization,
    ),
    Claim(
        id="norm_falls",
        text="The weight norm falls while validation accuracy rises: at grokking it is well below its peak "
        "after memorization.",
        check=_norm_falls,
    ),
]
