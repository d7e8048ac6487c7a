"""Neural collapse: trained past zero error, each class's last-layer features shrink to their class mean, and the
means spread into a simplex equiangular tight frame the classifier lines up with. No torch here (the API reads it)."""

from workers.phenomena.contract import (
    Axis,
    Chart,
    Metric,
    Paper,
    Phenomenon,
    Preset,
    Reference,
    SnapshotView,
)
from workers.phenomena.neural_collapse.claims import (
    CLAIMS,
    EQUINORM_MAX,
    NC1_FACTOR,
    NC3_MAX,
    SPREAD_MAX,
    detect,
)
from workers.phenomena.neural_collapse.config import (
    CLASSES,
    ETF_COSINE,
    SCATTER_VALUES,
    SHOWN_PER_CLASS,
    Config,
)

__all__ = ["PHENOMENON", "Config"]

NAME = "neural_collapse"
TITLE = "Neural collapse"
ONE_LINER = (
    "Trained past zero error, each digit's features shrink to a point, and the ten points form a perfectly "
    "symmetric simplex."
)

SUMMARY = f"""\
Train a classifier until it makes no mistakes on its training set, then **keep training**: the
training error stays at zero, the loss keeps creeping down, and nothing seems to happen. Papyan,
Han & Donoho looked inside during this *terminal phase of training* (TPT) and found the same
geometry in every network they trained. Here an MLP learns the {CLASSES} handwritten digits of
scikit-learn (8 × 8 pixels, {Config().train_per_class} images per digit by default), and we measure
its **last-layer features** h(x), the vector the linear classifier reads, on the whole training
set as training goes on. The mark on the charts is the start of the terminal phase: the epoch from
which the training accuracy stays at 100 %.

**What to look at.**
- *NC1, within-class variability* (log scale): Tr(Σ_W Σ_B⁺)/K, the spread of each digit's
  features around its class mean, measured in units of how far apart the class means are (Σ_W
  within classes, Σ_B between them). In the terminal phase it keeps falling, by orders of
  magnitude in all: every image of a digit ends up at (almost) the same point. This is the paper's
  Figure 6.
- *The feature scatter* (scrub through training): the training images' features projected on
  their top two principal components, coloured by digit. Ten fuzzy clouds tighten into ten dots.
  The ten class means live in 9 dimensions, so a flat picture cannot show them all equally far
  apart; look at the clouds shrinking, not at the layout.
- *Cosines between class means*: centre the ten class means on their average. In a **simplex
  equiangular tight frame** (ETF) every pair meets at the same angle, cosine −1/(K − 1) =
  {ETF_COSINE:.3f}: as far apart as ten directions can be from one another. The *mean* cosine is
  −1/(K − 1) almost automatically (centred means sum to zero), so it proves nothing; the **spread**
  (standard deviation) of the 90 cosines is what shows the frame forming: it must shrink toward 0
  (Figure 3). The matrix view shows all of them: the off-diagonal turns one uniform colour.
- *Equal norms*: the class means' distances from their average become equal (coefficient of
  variation → 0, Figure 2).
- *Classifier against means* (NC3, Figure 5): the classifier's weight rows turn to point along
  the centred class means: self-duality.
- *Nearest-class-centre mismatch* (NC4, Figure 7): once the features have collapsed, "which class
  mean is nearest" and the network's answer agree on every image.

**Why it happens.** Cross-entropy keeps rewarding larger margins after every image is right, and
weight decay keeps charging for size. The cheapest way to separate ten classes by a given margin
is to put every image of a class at one point and the points at the vertices of a simplex, with
the classifier matching them: in the "unconstrained features" picture of later work, where the
last-layer features are free to move, that configuration is where the loss with decay is lowest.
The terminal phase is the slow slide toward it. The paper ties collapse to better generalization
and robustness; here the test accuracy barely moves (about 97 % throughout the terminal phase).

**What to try.** (Numbers measured on seed 0.)
- The `no_batchnorm` preset: the same MLP without BatchNorm and with the usual weak decay (5e-4)
  fits the digits just as fast, then stops moving: NC1 stays near 0.4, the cosines stay spread
  (std ≈ 0.38), the classifier stays unaligned. Zero training error alone is not collapse.
- The `no_weight_decay` preset: BatchNorm alone is not enough. At zero weight decay nothing pulls
  the network once the loss is small, and NC1 plateaus near 0.07.
- `weight_decay`: it sets the pace. At 5e-3 NC1 falls about 15× in 400 epochs; at 1e-2 (the
  default) about 140×. At 5e-2 training keeps slipping out of zero error until the cosine schedule
  has brought the learning rate down (the terminal phase starts near epoch 200), then it collapses
  hardest of all (cosine spread 0.007).
- `lr_schedule`: `constant` at lr 0.1 never settles (BatchNorm plus decay keeps the effective step
  large): training error keeps flickering, there is no terminal phase, and the claims say
  inconclusive. At lr 0.02 it settles and collapses more slowly (NC1 ≈ 10×). The cosine schedule
  lets the run settle at the end, as the paper's step schedule does.
- `train_per_class`: more images per digit take longer to collapse (100 per digit: NC1 ≈ 34×).
  `width` and `depth` set the network's capacity; `epochs`: the collapse has no end in sight,
  longer runs go further.

**Claims checked** (on a finished run, from the start of the terminal phase to the end): NC1 falls
at least {NC1_FACTOR:g}×; the spread of the cosines ends at most {SPREAD_MAX:g} and shrinks; the
class-mean norms end within {EQUINORM_MAX:g} (std / mean) and even out; the classifier ends within
{NC3_MAX:g} of the class means. A run that never reaches zero training error, or reaches it too
late to watch, is inconclusive.
"""

PAPERS = [
    Paper(
        title="Prevalence of Neural Collapse during the Terminal Phase of Deep Learning Training",
        authors="Papyan, Han, Donoho",
        year=2020,
        arxiv="2008.08186",
        figure="Figure 6: within-class variability Tr(Σ_W Σ_B⁺)/C falls through the terminal phase (log scale); "
        "Figures 2–5 and 7: equal norms, equal angles (the std of the cosines), classifier aligned with the "
        "class means, and nearest-class-centre agreement",
    ),
]

_DEFAULT = Config()
PRESETS = {
    "default": Preset(
        _DEFAULT,
        title="Collapse (BatchNorm + weight decay)",
        demonstrates="A BatchNorm MLP with weight decay 1e-2 reaches zero training error within 25 to 100 epochs "
        "and keeps training to 400: NC1 falls another 100 to 350×, the spread of the class means' cosines around "
        "−1/9 shrinks to about 0.03, their norms even out, and the classifier lines up with them.",
    ),
    "no_batchnorm": Preset(
        _DEFAULT.model_copy(update={"batch_norm": False, "weight_decay": 5e-4}),
        title="No collapse: plain MLP, weak decay",
        demonstrates="The contrast: without BatchNorm and with the usual weak decay the MLP fits the digits just as "
        "fast, then freezes. NC1 stays flat, the cosines stay spread and the classifier stays unaligned: zero "
        "training error alone does not make features collapse.",
        expect={"nc1_falls": "fail", "equiangular": "fail", "equinorm": "fail", "self_dual": "fail"},
    ),
    "no_weight_decay": Preset(
        _DEFAULT.model_copy(update={"weight_decay": 0.0}),
        title="No collapse: BatchNorm, no weight decay",
        demonstrates="BatchNorm alone: at zero weight decay nothing pulls the network once every image is right, "
        "and NC1 plateaus after reaching zero error.",
        expect={"nc1_falls": "fail", "equiangular": "fail", "equinorm": "fail", "self_dual": "fail"},
    ),
    "tiny": Preset(
        Config(train_per_class=20, batch_size=200, epochs=300),
        title="Tiny (tests)",
        demonstrates="20 images per digit and 300 full-batch epochs, about two seconds: NC1 still falls a hundredfold, "
        "and the means still reach the frame.",
    ),
}

EPOCH = Axis(id="epoch", label="epoch", symbol="epoch")

METRICS = [
    Metric(name="train/acc", axis="epoch", role="train", label="train"),
    Metric(name="test/acc", axis="epoch", role="held_out", label="test"),
    Metric(name="train/loss", axis="epoch", role="train", label="train"),
    Metric(name="test/loss", axis="epoch", role="held_out", label="test"),
    Metric(name="nc1", axis="epoch", label="Tr(Σ_W Σ_B⁺)/K"),
    Metric(name="cos_spread", axis="epoch", label="std of the cosines between class means"),
    Metric(name="cos_mean", axis="epoch", label="mean cosine between class means"),
    Metric(name="norm_cv", axis="epoch", label="std / mean of the class-mean norms"),
    Metric(name="nc3", axis="epoch", label="‖W/‖W‖ − M/‖M‖‖²"),
    Metric(name="nc4", axis="epoch", label="nearest class mean ≠ network (fraction)"),
]

CHARTS = [
    Chart(id="accuracy", title="Accuracy", x="epoch", metrics=["train/acc", "test/acc"], y_label="accuracy",
          caption="The mark: training accuracy reaches 100 % and stays there, the terminal phase begins."),
    Chart(id="loss", title="Loss", x="epoch", metrics=["train/loss", "test/loss"], y_label="cross-entropy",
          log_y=True),
    Chart(id="nc1", title="NC1: within-class variability", x="epoch", metrics=["nc1"], y_label="Tr(Σ_W Σ_B⁺)/K",
          log_y=True, caption="Keeps falling after zero training error: each digit's features close in on its mean."),
    Chart(id="cos_spread", title="NC2: spread of the angles between class means", x="epoch", metrics=["cos_spread"],
          y_label="std of the cosines", log_y=True,
          caption="0 is a simplex ETF: every pair of class means at the same angle."),
    Chart(id="cos_mean", title="Mean cosine between class means", x="epoch", metrics=["cos_mean"],
          y_label="mean cosine", references=[Reference(label="−1/(K − 1)", value="etf_cosine", orient="y")],
          caption="Near −1/(K − 1) from the start, since the centred means sum to zero: the spread is what counts."),
    Chart(id="norm_cv", title="NC2: equal norms", x="epoch", metrics=["norm_cv"], y_label="std / mean",
          log_y=True, caption="The class means' distances from their average even out."),
    Chart(id="nc3", title="NC3: classifier against class means", x="epoch", metrics=["nc3"],
          y_label="‖W/‖W‖ − M/‖M‖‖²", log_y=True,
          caption="0: each classifier row points along its centred class mean (self-duality)."),
    Chart(id="nc4", title="NC4: nearest class mean against the network", x="epoch", metrics=["nc4"],
          y_label="fraction of training images",
          caption="How often 'nearest class mean' and the network's answer disagree."),
]

SNAPSHOTS = [
    SnapshotView(
        name="features", title=f"Last-layer features on their top two principal components ({SHOWN_PER_CLASS} "
        "training images per digit)", kind="scatter", x_label="PC 1 (class means at RMS 1)", y_label="PC 2",
        max_values=SCATTER_VALUES,
    ),
    SnapshotView(
        name="mean_cosines", title="Cosines between the centred class means", kind="matrix", x_label="digit",
        y_label="digit", max_values=CLASSES**2,
    ),
]


def derived(config: Config) -> dict[str, float]:
    return {"etf_cosine": ETF_COSINE}


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
    axes=(EPOCH,),
    snapshots=SNAPSHOTS,
    derived=derived,
    progress_axis="epoch",
    tags=("representations", "training dynamics"),
)
