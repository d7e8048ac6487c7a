"""Superposition: a toy autoencoder stores more sparse features than it has dimensions, and under strong
superposition its loss falls as 1/m whatever the data. No torch here (the API reads it)."""

from workers.phenomena.contract import (
    STEP,
    Axis,
    Chart,
    Family,
    FitLine,
    Metric,
    Paper,
    Phenomenon,
    Preset,
    Reference,
    SnapshotView,
)
from workers.phenomena.superposition.claims import CLAIMS, INVERSE_M, TAIL_TOLERANCE, detect
from workers.phenomena.superposition.config import MANY, REPRESENTED_NORM, SNAPSHOT_FEATURES, Config

__all__ = ["PHENOMENON", "Config"]

NAME = "superposition"
TITLE = "Superposition and the 1/m scaling law"
ONE_LINER = (
    "A width-m autoencoder stores hundreds of sparse features in m dimensions, and its loss falls as 1/m."
)

SUMMARY = f"""\
A language model has a few thousand dimensions and must represent far more concepts than that.
This toy model shows how it can, and what it costs. `n` sparse features (most of them zero in any
one sample, feature *i* active with probability pᵢ ∝ i^−a) are squeezed into `m` dimensions and
read back out: x̂ = ReLU(WᵀW x + b). Each feature *i* gets a direction, the column Wᵢ. With
m < n the directions cannot all be orthogonal, so when feature *i* is active the others see a
little of it (the overlaps Wᵢ·Wⱼ). Because features are rarely active together, the ReLU and a
negative bias can filter most of that interference out: the model stores more features than it
has dimensions. That is **superposition**.

One run trains a family of widths m at once (every width sees the same batches), then scores
each on one held-out set.

**What to look at.**
- *Loss against m* (log-log, with its power-law fit). By default the slope is close to **−1**:
  loss ∝ 1/m. The dashed line is the best any model can do with *one feature per dimension*
  (the m most frequent features stored exactly, every other one predicted by its mean). The
  measured loss falls below it, further the wider the model: that gap is what superposition buys.
- *Features stored against m*. A feature counts as stored when ‖Wᵢ‖ > {REPRESENTED_NORM:g}
  (the model reproduces it with gain ‖Wᵢ‖² > {REPRESENTED_NORM**2:g}). Under strong superposition every
  width stores nearly all n features, far above the dashed line y = m (one feature per dimension).
- *WᵀW*, for the width `snapshot_m`, over the {SNAPSHOT_FEATURES} most frequent features. The
  diagonal is ‖Wᵢ‖² (how strongly each feature is stored), the rest is interference. Scrub through
  training: under strong superposition the whole diagonal fills in (≈ 1) and so does the rest, with
  overlaps of about 0.3 at m = 8 (≈ 1/√m), less among the most frequent features. The learned
  biases are negative (about −2 at m = 8), so small overlaps never get past the ReLU. Under the
  `weak` preset only the first ~2m diagonal entries light up, and the rest stays near zero.
- *Loss over training*, one line per width. The marks show when each width's loss drops below the
  one-feature-per-dimension optimum: from then on it must be superposing.

**Why 1/m.** Put many more than m unit vectors in m dimensions, spread out as well as they can
be, and their squared overlaps average about 1/m. Under strong superposition every feature is
stored, so the loss is this interference summed over features: ∝ 1/m for a broad class of
feature frequencies, once m is small next to the number of features that matter (Liu, Liu &
Gore). That is a candidate reason why language models' loss falls as a power law of width.
This toy is small, and it shows: the curve bends, shallower than −1 at the narrowest widths
(which barely beat one feature per dimension) and steeper near m = n/16; the fit is the average.

**The knobs.**
- `weight_decay` switches the regime, as in the paper. **Negative** (the default, −1) pulls every
  column toward norm 1, so no feature can be dropped: strong superposition. **Positive** is ordinary
  decay: rare features are not worth their weight and fade, and the model keeps only about 2m of
  the most frequent ones. Then the loss is mostly the features left out, and its slope follows
  the frequency tail, ≈ −(a − 1), instead of −1. Try the `weak` preset.
- `freq_exponent` (a): steeper frequencies leave fewer features that matter, and these small
  widths stop being small next to them. Measured on one seed at a = 1.5: strong −1.33, weak −0.59
  (the tail predicts −0.56); at a = 2: strong −1.60, and weak −0.64 against the tail's −0.97,
  because positive decay then drops features even at the widest width. The paper's robust 1/m
  needs far more features than 512.
- `m_min`, `m_max`, `n_features`: the 1/m law needs m ≪ n. Shrink n_features toward 4·m_max and
  the widest widths fall faster than 1/m: there is room to keep the frequent features apart.
- `batch_size`: with Adam, a rare feature survives positive decay when it turns up in enough
  batches; smaller batches make the weak regime cleaner.
- `init_scale`: from small weights (the default) every feature has to be grown. From unit-norm
  weights, positive decay can kill some of the most frequent features before they are learned.

**Claims checked.** Strong regime: slope within {INVERSE_M[0]:g} … {INVERSE_M[1]:g}, and at least
{MANY} stored features per dimension at every width. Weak regime: slope within ±{TAIL_TOLERANCE:g}
of the frequency tail's.
"""

PAPERS = [
    Paper(
        title="Toy Models of Superposition",
        authors="Elhage, Hume, Olsson, Schiefer, Henighan, Kravec, Hatfield-Dodds, Lasenby, Drain, Chen, "
        "Grosse, McCandlish, Kaplan, Amodei, Wattenberg, Olah",
        year=2022,
        arxiv="2209.10652",
        figure="Section 'Demonstrating Superposition': WᵀW and the feature norms ‖Wᵢ‖ of the ReLU output model "
        "x̂ = ReLU(WᵀWx + b) as features become sparse (the WᵀW snapshot view)",
    ),
    Paper(
        title="Superposition Yields Robust Neural Scaling",
        authors="Liu, Liu, Gore",
        year=2025,
        arxiv="2505.10465",
        figure="Figure 1: toy-model loss against model dimension m, weak superposition (slope set by the feature "
        "frequencies) versus strong superposition (loss ∝ 1/m); the signed weight decay that switches them",
    ),
]

PRESETS = {
    "default": Preset(
        Config(),
        title="Strong superposition",
        demonstrates="Weight decay −1 keeps every feature stored: all 512 features fit in 4 … 32 dimensions, and "
        "the held-out loss falls as 1/m.",
        expect={"follows_tail": "not_applicable"},
    ),
    "weak": Preset(
        Config(weight_decay=1.0),
        title="Weak superposition",
        demonstrates="The same data with weight decay +1: each width keeps only about 2m of the most frequent "
        "features, and the loss follows the frequency tail (slope ≈ −0.45; the tail's is −0.37) instead of 1/m.",
        expect={"inverse_m": "not_applicable", "many_features": "not_applicable"},
    ),
    "tiny": Preset(
        Config(n_features=128, m_min=4, m_max=16, n_widths=3, snapshot_m=8, batch_size=32, steps=600),
        title="Tiny (tests)",
        demonstrates="Three widths on 128 features in about two seconds: the strong regime, roughly.",
        expect={"follows_tail": "not_applicable"},
    ),
}

M = Axis(id="m", label="hidden dimensions m", scale="log", symbol="m")

METRICS = [
    Metric(name="loss", family="m", role="train", label="training loss (fresh batches)"),
    Metric(name="represented", family="m", label=f"features stored (‖Wᵢ‖ > {REPRESENTED_NORM:g})"),
    Metric(name="final_loss", axis="m", role="held_out", label="held-out loss"),
    Metric(name="no_superposition_loss", axis="m", label="one feature per dimension (best possible)"),
    Metric(name="final_represented", axis="m", label=f"features stored (‖Wᵢ‖ > {REPRESENTED_NORM:g})"),
    Metric(name="one_per_dim", axis="m", label="one feature per dimension (y = m)"),
]

CHARTS = [
    Chart(
        id="loss_vs_m", title="Held-out loss against width", x="m", metrics=["final_loss"],
        baselines=["no_superposition_loss"], y_label="mean squared error", log_y=True,
        fit=FitLine(metric="final_loss"),
        caption="Slope −1 is loss ∝ 1/m. Below the dashed line, only superposition can get there.",
    ),
    Chart(
        id="loss", title="Training loss per width", metrics=["loss"], y_label="mean squared error", log_y=True,
        caption="One line per width m, each point the mean over the batches since the last one.",
    ),
    Chart(
        id="represented_vs_m", title="Features stored against width", x="m", metrics=["final_represented"],
        baselines=["one_per_dim"], y_label="features", log_y=True,
        references=[Reference(label="all n features", value="n_features", orient="y")],
        caption="Above the dashed line y = m, a width stores more features than it has dimensions.",
    ),
    Chart(
        id="represented", title="Features stored during training", metrics=["represented"], y_label="features",
        caption="The marks: when each width first holds more features than dimensions.",
    ),
]

SNAPSHOTS = [
    SnapshotView(
        name="wtw", title=f"WᵀW of the width snapshot_m, {SNAPSHOT_FEATURES} most frequent features", kind="matrix",
        x_label="feature j (by frequency)", y_label="feature i (by frequency)", max_values=SNAPSHOT_FEATURES**2,
    ),
]


def derived(config: Config) -> dict[str, float]:
    return {"n_features": float(config.n_features)}


def members(config: Config) -> dict[str, list[float]]:
    return {"m": [float(m) for m in config.widths]}


PHENOMENON = Phenomenon(
    name=NAME,
    title=TITLE,
    one_liner=ONE_LINER,
    summary=SUMMARY,
    papers=PAPERS,
    config=Config,
    presets=PRESETS,
    metrics=METRICS,
    charts=CHARTS,
    claims=CLAIMS,
    detect=detect,
    axes=(STEP, M),
    families=(Family(id="m", label="hidden dimensions m", scale="log"),),
    snapshots=SNAPSHOTS,
    derived=derived,
    members=members,
    progress_axis="step",
    tags=("interpretability", "scaling laws"),
)
