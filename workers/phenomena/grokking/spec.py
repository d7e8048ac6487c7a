"""Grokking: a small network fits modular arithmetic at once, and generalizes only much later. No torch here."""

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from workers.phenomena.contract import (
    Chart,
    Claim,
    ClaimResult,
    Curves,
    Metric,
    Paper,
    Phenomenon,
    PhenomenonConfig,
    Preset,
    SnapshotView,
    Transition,
)

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
    def progress_total(self) -> int:
        return self.steps

    @property
    def snapshot_every(self) -> int:
        """Steps between embedding Fourier snapshots: every 50, at most ~200 of them per run."""
        return max(50, self.steps // 200)


PRESETS = {
    "default": Preset(
        Config(), "Grokking",
        "Memorizes a+b mod 97 within ~100 steps, generalizes ~400 steps later while weight decay shrinks the weights.",
    ),
    "no_weight_decay": Preset(
        Config(weight_decay=0.0), "No weight decay",
        "The contrast: the same network memorizes just as fast, but without weight decay its weights keep growing "
        "and it does not generalize within the budget (Omnigrok's LU mechanism).",
        expect={"late_generalization": "fail", "norm_falls": "fail"},
    ),
    "less_data": Preset(
        Config(train_frac=0.3, steps=4000), "Less data, longer delay",
        "With 30 % of the table instead of 50 %, generalization comes much later (near step 2,400): the delay grows "
        "as the training set shrinks.",
    ),
    "division": Preset(
        Config(operation="/", steps=1500), "Modular division",
        "The operation of Power et al.'s Figure 1: a / b mod 97 groks too; its key frequencies live in the basis "
        "of discrete logarithms, so the embedding spectrum stays flat.",
    ),
    "tiny": Preset(
        Config(p=31, train_frac=0.8, embed_dim=32, width=128, lr=1e-2, steps=500), "Tiny (2 seconds)",
        "A 31 × 31 table that groks in ~300 steps, about 2 s: for demos and tests.",
    ),
}

METRICS = [
    Metric(name="train/loss", role="train", label="train"),
    Metric(name="train/acc", role="train", label="train"),
    Metric(name="val/loss", role="held_out", label="validation"),
    Metric(name="val/acc", role="held_out", label="validation"),
    Metric(name="weight_norm", label="‖θ‖₂"),
]

CHARTS = [
    Chart(id="accuracy", title="Accuracy", metrics=["train/acc", "val/acc"], y_label="accuracy",
          caption="Train jumps to 1 early; validation follows hundreds of steps later."),
    Chart(id="loss", title="Loss", metrics=["train/loss", "val/loss"], y_label="cross-entropy", log_y=True),
    Chart(id="weight_norm", title="Weight norm", metrics=["weight_norm"], y_label="‖θ‖₂"),
]

SNAPSHOTS = [
    SnapshotView(name="embedding_fourier", title="Fourier power of the token embeddings (fraction per frequency)",
                 kind="vector_over_time", x_label="frequency k", max_values=257 // 2 + 1),
]

# -- detection ------------------------------------------------------------------------------------

MEMORIZED_ACC = 0.99
GROKKED_ACC = 0.95
HOLD = 10  # logged points a threshold must hold for, so a single noisy crossing does not count
TAIL = 0.1  # "still rising": the last 10 % of the steps against the 10 % before them
RISING = 0.02  # ... by at least 2 points of accuracy


def _first_sustained(curves: Curves, name: str, threshold: float) -> tuple[int, float] | None:
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
    if curves.finished:  # the last points: above from there to the end is enough
        tail = slice(max(len(above) - HOLD + 1, 0), None)
        held[tail] = np.logical_and.accumulate(above[tail][::-1])[::-1]
    hits = np.flatnonzero(held)
    return (int(x[hits[0]]), float(y[hits[0]])) if len(hits) else None


def _events(curves: Curves) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
    return _first_sustained(curves, "train/acc", MEMORIZED_ACC), _first_sustained(curves, "val/acc", GROKKED_ACC)


def _still_rising(curves: Curves) -> tuple[bool, float]:
    """(rising, gain): did validation accuracy gain ≥ RISING over the last TAIL of the steps?"""
    if "val/acc" not in curves or len(curves["val/acc"][0]) < 20:
        return False, 0.0
    _, y = curves["val/acc"]
    k = max(int(len(y) * TAIL), 1)
    gain = float(np.mean(y[-k:]) - np.mean(y[-2 * k : -k]))
    return gain >= RISING, gain


def detect(curves: Curves, config: Config) -> list[Transition]:
    memorized, grokked = _events(curves)
    found = []
    if memorized:
        found.append(Transition(id="memorization", label="memorized (train acc ≥ 99%)", x=memorized[0],
                                metric="train/acc", value=memorized[1]))
    if grokked:
        delay = f" (+{grokked[0] - memorized[0]} steps)" if memorized else ""
        found.append(Transition(id="grokking", label=f"grokked{delay}", x=grokked[0], metric="val/acc",
                                value=grokked[1]))
    return found


# -- claims ---------------------------------------------------------------------------------------

MIN_DELAY_STEPS = 100
MIN_DELAY_FACTOR = 2.0  # grokking step ≥ this × memorization step
MIN_NORM_DROP = 0.1  # the weight norm must fall by at least 10 % from its peak after memorization


def _not_grokked(curves: Curves, config: Config, value: float | None = None, why: str = "") -> ClaimResult:
    """The verdict when validation accuracy never held ≥ 95 %: not yet (live), inconclusive (still rising at
    the end of the budget: more steps would tell), or fail (it had levelled off)."""
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=value, detail="validation accuracy has not reached 95 % yet")
    rising, gain = _still_rising(curves)
    last = curves.last("val/acc")
    level = f"validation accuracy ended at {last:.2f}" if last is not None else "no validation accuracy"
    if rising:
        return ClaimResult(verdict="inconclusive", value=value,
                           detail=f"{level} and was still rising (+{gain:.2f} over the last {TAIL:.0%} of the "
                           f"steps) when the {config.steps} steps ran out: more steps would tell{why}")
    unit = None
    if value is None:
        value, unit = (last if last is not None else 0.0), "final validation accuracy"
    return ClaimResult(verdict="fail", value=value, unit=unit,
                       detail=f"{level}, levelled off, and never held ≥ {GROKKED_ACC:.0%} within "
                       f"{config.steps} steps{why}")


def _late_generalization(curves: Curves, config: Config) -> ClaimResult:
    memorized, grokked = _events(curves)
    if grokked is None:
        return _not_grokked(curves, config)
    if memorized is None:
        return ClaimResult(verdict="fail", value=0.0,
                           detail=f"generalized at step {grokked[0]} without first fitting the training set")
    delay = grokked[0] - memorized[0]
    late = delay >= MIN_DELAY_STEPS and grokked[0] >= MIN_DELAY_FACTOR * memorized[0]
    detail = f"memorized at step {memorized[0]}, generalized at step {grokked[0]}: {delay} steps later"
    if not late:
        detail += f" (needs ≥ {MIN_DELAY_STEPS} steps and ≥ {MIN_DELAY_FACTOR:g}× the memorization step)"
    return ClaimResult(verdict="pass" if late else "fail", value=float(delay), detail=detail)


def _norm_falls(curves: Curves, config: Config) -> ClaimResult:
    """Value: the norm's change from its peak after memorization to grokking (or to the end), as a fraction."""
    memorized, grokked = _events(curves)
    if "weight_norm" not in curves or not len(curves["weight_norm"][0]) or memorized is None:
        if curves.finished:
            return ClaimResult(verdict="inconclusive", detail="the network never memorized the training set, so "
                               "there is no 'after memorization' to measure the norm from")
        return ClaimResult(verdict="not_yet", detail="the network has not memorized the training set yet")
    x, norm = curves["weight_norm"]
    end = grokked[0] if grokked else int(x[-1])
    window = (x >= memorized[0]) & (x <= end)
    if not window.any():
        return ClaimResult(verdict="not_yet", detail="no weight norm logged after memorization yet")
    at_memorization, at_end = float(norm[window][0]), float(norm[window][-1])
    peak_i = int(np.argmax(norm[window]))
    peak, peak_step = float(norm[window][peak_i]), int(x[window][peak_i])
    from_peak, from_memorization = at_end / peak - 1, at_end / at_memorization - 1
    moved = (f"the weight norm was {at_memorization:.1f} at memorization (step {memorized[0]}), peaked at "
             f"{peak:.1f} (step {peak_step}) and was {at_end:.1f} at {'grokking' if grokked else 'the end'} "
             f"(step {end}): {from_peak:+.0%} from its peak, {from_memorization:+.0%} since memorization")
    if grokked is None:
        if from_peak <= -MIN_NORM_DROP:  # it fell, but generalization has not (yet) followed
            result = _not_grokked(curves, config, from_peak, f"; {moved}")
            return result if result.verdict != "fail" else ClaimResult(
                verdict="inconclusive", value=from_peak,
                detail=f"{moved}, yet validation accuracy did not rise to {GROKKED_ACC:.0%}")
        if not curves.finished:
            return ClaimResult(verdict="not_yet", value=from_peak, detail=moved)
        # It never came down: the informative number is how far it rose since memorization.
        return ClaimResult(verdict="fail", value=from_memorization, unit="fraction, change since memorization",
                           detail=f"{moved}; it did not fall, and validation accuracy never rose to "
                           f"{GROKKED_ACC:.0%}")
    fell = from_peak <= -MIN_NORM_DROP
    detail = moved + ("" if fell else f"; needs a drop of at least {MIN_NORM_DROP:.0%} from the peak")
    return ClaimResult(verdict="pass" if fell else "fail", value=from_peak, detail=detail)


CLAIMS = [
    Claim(
        id="late_generalization",
        text="Generalization comes long after memorization: validation accuracy reaches 95 % "
        "well after training accuracy reaches 99 %.",
        check=_late_generalization,
        unit="steps",
    ),
    Claim(
        id="norm_falls",
        text="The weight norm falls while validation accuracy rises: at grokking it is well below its peak "
        "after memorization.",
        check=_norm_falls,
        unit="fraction",
    ),
]

PHENOMENON = Phenomenon(
    name="grokking",
    title="Grokking",
    one_liner=ONE_LINER,
    summary=SUMMARY,
    papers=PAPERS,
    config=Config,
    presets=PRESETS,
    metrics=METRICS,
    charts=CHARTS,
    snapshots=SNAPSHOTS,
    claims=CLAIMS,
    detect=detect,
)
