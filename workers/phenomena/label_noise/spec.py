"""Label noise: a network learns the digits first and memorizes the wrong labels later, and fits even labels that
are all random, only more slowly. No torch here (the API reads it)."""

from workers.phenomena.contract import (
    Axis,
    Chart,
    Family,
    Metric,
    Paper,
    Phenomenon,
    Preset,
    Reference,
    SnapshotView,
)
from workers.phenomena.label_noise.claims import CLAIMS, DROP, NOISE_RANGE, SMOOTH, detect
from workers.phenomena.label_noise.config import FIT, MEMORIZED, SNAPSHOT_EXAMPLES, Config

__all__ = ["PHENOMENON", "Config"]

NAME = "label_noise"
TITLE = "Label noise: early learning, then memorization"
ONE_LINER = (
    "With 40 % wrong labels, an MLP first learns the digits (test accuracy peaks), then memorizes the wrong labels "
    "(it falls); even all-random labels get fit, just more slowly."
)

SUMMARY = f"""\
Take scikit-learn's 8 × 8 handwritten digits and lie about some of them: a fraction `noise` of the
training images get a random **wrong** label (one of the nine other digits). Train an MLP on these
labels and ask two questions along the way. Does it learn to read digits, or does it learn the lies?
And can it fit labels that are *all* lies?

One run trains three networks side by side, on the same images and the same batches: one at the
chosen noise level (40 % by default), one on the true labels (0 %) and one on all-wrong labels
(100 %).

**What to look at.**
- *Clean and noisy training images* (the network at the chosen noise level). For the first few
  epochs the noisy images are predicted as their **true** digit ("noisy images: true digit
  predicted" stays high), although the network was told something else: the pattern shared by
  the 60 % of honest labels wins. This is *early learning* (Liu et al., Figure 1). Then, one by
  one, the noisy images flip to the wrong label they were given: the memorized line climbs to 1
  and the true line falls to 0. The mark shows when {MEMORIZED:.0%} of them are memorized.
- *Test accuracy* on the same chart peaks early (the mark), while the network is still reading
  digits, and then falls by twenty points or more as it memorizes: each memorized lie bends the
  function around one image, and some test images nearby get the lie too.
- *Train accuracy per noise level* (Zhang et al., Figure 1a). True labels are fit in a few epochs.
  The 40 % network sits at the dashed line 1 − noise (it gets the honest labels right and the lies
  "wrong") before memorization lifts it to 1. The 100 % network fits labels that are all wrong,
  to {FIT:.0%}, about nine times later. A network big enough to do this can memorize anything;
  so its capacity alone cannot explain why it generalizes on true labels.
- *Test accuracy per noise level*: the 100 % network ends *below* chance (near 0): every label it saw
  was "not this digit", so it learned to avoid the true digit. That is the one thing all-wrong labels
  still tell.
- *Training images, true digit against given label* (the scatter, scrub through epochs): each dot is
  a training image, x the probability the network gives its true digit, y the probability of the
  wrong label it carries (or would carry, for a clean image). Clean and noisy dots both start in
  the bottom right (true digit), then the noisy ones migrate to the top left: memorized.

**Why.** Gradient descent on a network fits the simple structure shared by many examples before the
idiosyncrasies of single ones. Early on, the gradient from the 60 % honest labels all points the same
way, while the lies point every which way and mostly cancel; only once the honest images are fit
(their gradient vanishes) do the lies dominate, and the network, having more than enough parameters,
memorizes them one at a time. Random labels have no shared structure at all, so every image must be
memorized alone: possible, and slower.

**What to try.**
- `noise`: at 80 % the true digit is still the most common label of its class (20 % against 8.9 % for
  each wrong one), so early learning still reaches 50–60 % test accuracy before memorization takes
  it to 20 % (the `heavy_noise` preset). From 90 % on, the honest labels lose that majority.
- *Early stopping*: stop at the peak mark and keep the best test accuracy; Liu et al.'s regularizer
  (ELR) does the same job by keeping the network's outputs near its own early predictions.
- `weight_decay`: strong decay (the `weight_decay` preset, 8) makes memorizing too expensive: the
  noisy images keep their true digit, test accuracy holds, and the random labels are never fit.
  Moderate decay (1–2) only slows memorization down.
- `width`, `depth`: a narrow network (width 16) gets only to about 30 % on the random labels in 60
  epochs, and barely memorizes the 40 % network's lies either.
- `references`: off trains only the chosen noise level (a third of the time; no random-labels claim).

**The knobs.** `noise` (percent of training labels made wrong), `references` (train 0 % and 100 %
beside it), `n_train` (training images; the rest of the 1,797 are the test set), `width` and `depth`
of the MLP, `lr` (Adam, constant), `weight_decay` (AdamW), `batch_size`, `epochs`. One run's compute
is capped (epochs × images × networks × parameters), so the largest runs take a few minutes.

**Claims checked.** *Early peak*: at {NOISE_RANGE[0]:g} % ≤ noise < {NOISE_RANGE[1]:g} %, the peak of the test
accuracy ({SMOOTH}-epoch running mean) is at least {DROP:g} points above its mean over the last 10 % of the
epochs (interval: the binomial error of both on the test set). *Random fit*: the 100 % network reaches
{FIT:.0%} train accuracy, later than the 0 % one (value: how many times later; interval: the
one-epoch resolution of both crossings).
"""

PAPERS = [
    Paper(
        title="Understanding deep learning requires rethinking generalization",
        authors="Zhang, Bengio, Hardt, Recht, Vinyals",
        year=2017,
        arxiv="1611.03530",
        figure="Figure 1a: training loss on true labels, random labels and more, over training steps: random "
        "labels are fit too, only more slowly (here: train accuracy and loss per noise level)",
    ),
    Paper(
        title="Early-Learning Regularization Prevents Memorization of Noisy Labels",
        authors="Liu, Niles-Weed, Razavian, Fernandez-Granda",
        year=2020,
        arxiv="2007.00151",
        figure="Figure 1: on the clean labels the fraction predicted correctly, on the wrong labels the fractions "
        "predicted as the true label and as the wrong one (memorized), over training; test accuracy peaks early",
    ),
]

PRESETS = {
    "default": Preset(
        Config(),
        title="40 % wrong labels",
        demonstrates="Test accuracy peaks near 93 % within 4–6 epochs, while the noisy images are still read as "
        "their true digit, then falls to 64–71 % as they are memorized (from epoch ~33); random labels are fit "
        "8–11× later than true ones (epoch 41–47 against 4–5).",
    ),
    "clean": Preset(
        Config(noise=0.0),
        title="No noise",
        demonstrates="The same network on true labels: test accuracy climbs to about 97 % and stays there, no peak "
        "and no fall (the early-peak claim does not apply); the 100 % network beside it still fits its random labels.",
        expect={"early_peak": "not_applicable"},
    ),
    "heavy_noise": Preset(
        Config(noise=80.0),
        title="80 % wrong labels",
        demonstrates="Four labels in five are lies, yet the true digit is still each class's most common label: "
        "early learning reaches 50–59 % test accuracy before memorization takes it down to about 20 %.",
    ),
    "weight_decay": Preset(
        Config(weight_decay=8.0),
        title="Strong weight decay",
        demonstrates="AdamW decay 8 makes memorizing too expensive: the noisy images keep their true digit, test "
        "accuracy holds within a point of its peak (early_peak fails, as it should), and the random labels stall near "
        "a third train accuracy (random_fit fails).",
        expect={"early_peak": "fail", "random_fit": "fail"},
    ),
    "tiny": Preset(
        Config(n_train=400, width=64, lr=3e-3, epochs=20),
        title="Tiny (tests)",
        demonstrates="400 images, 64-unit networks, 20 epochs in about a second: the peak and the start of the fall; "
        "too short for the random labels to be fit.",
        expect={"random_fit": "inconclusive"},
    ),
}

EPOCH = Axis(id="epoch", label="epoch", symbol="epoch")

METRICS = [
    Metric(name="train/clean_acc", axis="epoch", role="train", label="clean images: true digit predicted"),
    Metric(name="train/noisy_true", axis="epoch", label="noisy images: true digit predicted"),
    Metric(name="train/noisy_memorized", axis="epoch", label="noisy images: wrong label predicted (memorized)"),
    Metric(name="test/acc", axis="epoch", role="held_out", label="test accuracy"),
    Metric(name="train/loss", axis="epoch", role="train", label="train (labels as given)"),
    Metric(name="test/loss", axis="epoch", role="held_out", label="test"),
    Metric(name="fit/acc", axis="epoch", family="noise", role="train", label="train accuracy (labels as given)"),
    Metric(name="fit/loss", axis="epoch", family="noise", role="train", label="train loss (labels as given)"),
    Metric(name="fit/test_acc", axis="epoch", family="noise", role="held_out", label="test accuracy"),
]

CHARTS = [
    Chart(
        id="story", title="Clean and noisy training images, and the test set (the chosen noise level)", x="epoch",
        metrics=["train/clean_acc", "train/noisy_true", "train/noisy_memorized", "test/acc"],
        y_label="fraction of images",
        caption="Early on the noisy images get their true digit and test accuracy peaks; then they flip to their "
        "wrong labels and test accuracy falls.",
    ),
    Chart(
        id="fit", title="Train accuracy per noise level (labels as given)", x="epoch", metrics=["fit/acc"],
        y_label="train accuracy",
        references=[Reference(label="1 − noise: honest labels only", value="clean_fraction", orient="y"),
                    Reference(label=f"fit ({FIT:.0%})", value="fit", orient="y")],
        caption="True labels are fit in a few epochs, random ones many epochs later: the marks.",
    ),
    Chart(
        id="fit_loss", title="Train loss per noise level (labels as given)", x="epoch", metrics=["fit/loss"],
        y_label="cross-entropy", log_y=True,
        caption="Zhang et al.'s Figure 1a: the loss on random labels falls too, later and slower.",
    ),
    Chart(
        id="test_members", title="Test accuracy per noise level", x="epoch", metrics=["fit/test_acc"],
        y_label="test accuracy", references=[Reference(label="chance", value="chance", orient="y")],
        caption="The 100 % network ends below chance: all its labels said which digit an image is not.",
    ),
    Chart(
        id="loss", title="Loss (the chosen noise level)", x="epoch", metrics=["train/loss", "test/loss"],
        y_label="cross-entropy", log_y=True,
        caption="Test loss climbs as the wrong labels are memorized: confident wrong answers cost a lot.",
    ),
]

SNAPSHOTS = [
    SnapshotView(
        name="examples", title=f"Training images: true digit against given label (up to {SNAPSHOT_EXAMPLES} clean "
        f"and {SNAPSHOT_EXAMPLES} noisy; colour 1 = noisy)", kind="scatter",
        x_label="probability of the true digit", y_label="probability of the wrong label",
        max_values=2 * SNAPSHOT_EXAMPLES * 3,
    ),
]


def derived(config: Config) -> dict[str, float]:
    return {"clean_fraction": 1 - config.noise / 100, "fit": FIT, "chance": 0.1}


def members(config: Config) -> dict[str, list[float]]:
    return {"noise": config.members}


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
    families=(Family(id="noise", label="label noise", unit="%"),),
    snapshots=SNAPSHOTS,
    derived=derived,
    members=members,
    progress_axis="epoch",
    tags=("generalization", "memorization"),
)
