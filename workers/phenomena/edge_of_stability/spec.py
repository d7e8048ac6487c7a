"""Progressive sharpening and the edge of stability: full-batch gradient descent drives the sharpness up to 2/η and
keeps it there, while the loss keeps falling, non-monotonically. No torch here (the API reads it)."""

from workers.phenomena.contract import Chart, Metric, Paper, Phenomenon, Preset, Reference, SnapshotView
from workers.phenomena.edge_of_stability.claims import (
    CLAIMS,
    FELL,
    HOVER,
    MIN_RISING,
    OPPOSED,
    SHARPENED,
    detect,
)
from workers.phenomena.edge_of_stability.config import GROUP_A, GROUP_B, ONSET, Config

__all__ = ["PHENOMENON", "Config"]

NAME = "edge_of_stability"
TITLE = "Progressive sharpening and the edge of stability"
ONE_LINER = (
    "Gradient descent at step size η drives the loss's sharpness up to 2/η and holds it there, while the loss "
    "keeps falling on a bumpy path."
)

SUMMARY = f"""\
Textbook optimization says gradient descent with step size η is stable only where the loss is not
too curved: on a quadratic whose curvature (the top eigenvalue of the Hessian, the **sharpness**)
exceeds 2/η, every step overshoots the minimum by more than it started and the iterates blow up.
So one might expect training to work only because the sharpness happens to stay below 2/η.
Cohen et al. found something stranger, on nearly every network they tried: full-batch gradient
descent itself *raises* the sharpness (**progressive sharpening**) until it reaches 2/η, and then the
sharpness stops there and hovers, just around 2/η, for the rest of training (the **edge of
stability**). There the loss no longer falls monotonically, yet it keeps falling over tens of steps.

Here: a tanh MLP (64 → 128 → 128 → 10) on scikit-learn's 8 × 8 handwritten digits, square loss
on one-hot targets, trained by plain full-batch gradient descent at step size η (their Figure 1
setting, on a smaller data set). Every `sharpness_every` steps the top Hessian eigenvalue is
measured by power iteration on Hessian-vector products (double backward), each measurement
starting from the previous one's eigenvector, so two products per measurement are enough.

**What to look at.**
- *Sharpness*, against the dashed line 2/η (= 20 at the default η = 0.1). It starts near 3 and
  climbs steadily; around step 700 it meets 2/η (the mark), and from then on it wobbles around the
  line: a few percent above, dips below, back. Change η and the level it stops at moves with 2/η.
- *Training loss* (log scale). Before the mark it falls smoothly. After it the loss spikes up on
  some steps and comes back, yet the trend is still down. A quadratic model of the loss cannot
  explain that: with the sharpness a few percent above 2/η it predicts that the oscillation along
  the sharp direction grows without bound. What happens instead is that a step that overshoots along the sharp direction
  also moves the weights to where that direction is *less* curved: GD regulates its own sharpness.
- *Losses of the outlier groups*. The default plants two small groups of opposing outliers (Rosenfeld
  & Risteski): twenty {GROUP_A}s and twenty {GROUP_B}s with one loud feature painted in, the four corner
  pixels, that no other image has. To the network the feature says "{GROUP_A}" in one group and "{GROUP_B}"
  in the other. Once at the edge of stability the two groups' losses move in opposite directions on
  almost every step, a seesaw (their step-to-step changes correlate at about −0.97), while the
  clean images' loss barely wiggles. The paint is what opposes them: in a control run (η = 0.2,
  seed 0) twenty *unpainted* {GROUP_A}s and {GROUP_B}s moved together (+0.67), while the painted ones
  moved exactly against each other (−1.00).
- *Which outputs the sharp direction moves* (the top eigenvector's weight on each output class).
  At the edge it concentrates on a few classes, which ones depending on η and the seed (default,
  seed 0: mostly 1, 4, 9 and 0; seed 1: 1, 2 and 4; η = 0.2, seed 0: **3 and 5**, digits that share
  strokes, and unpainted 3s and 5s seesaw too, −0.83 in the control run: a natural pair of opposing
  signals). It does not sit on the painted corners (they hold about 0.2 % of it), so the planted
  pair's seesaw runs along some other direction (only the top eigenvector is tracked here).
- *Which pixels it reads* (the top eigenvector's first-layer weight per pixel): the central
  strokes, where digits differ.

**The knobs.**
- `lr` (η): the line the sharpness climbs to is 2/η. Try 0.2 (the `larger_lr` preset): the
  sharpness meets 2/η = 10 within a hundred steps and stays there. Try 0.03 (`small_lr`): 2/η = 67
  is far above where the sharpness gets within the budget: it still grows, but only to about 15,
  GD stays stable, the loss falls monotonically, and the groups never seesaw. That is the paper's point: the
  edge is where sharpening meets 2/η, not a property of the data.
- `steps`: the loss falls slowly at the edge; more steps show more of the long, bumpy descent.
- `init_scale`: a larger initialization starts sharper. From about 2 the sharpness begins *above*
  2/η at the default η, and here GD does not recover: the loss blows up within ten steps and the
  run stops (the edge-of-stability claim then fails and says so). Lower η to compensate.
- `outliers`, `outlier_strength`: the size of the opposing groups and how loud their feature is
  (0 outliers: plain digits).
- `width`, `depth`, `n_train`: the network and the data. The paper finds progressive sharpening
  weaker in wider networks (not measured here).
- `sharpness_every`, `power_iters`: how often and how carefully the sharpness is measured (the
  measurement costs about 15 % of the run at the defaults: `bench/sharpness.py`).

**Claims checked.** The sharpness averages {HOVER[0]:g} … {HOVER[1]:g} × 2/η over the second half
of training; after the onset (the sharpness first ≥ {ONSET:g} × 2/η) the loss rises on at least
{MIN_RISING:.0%} of the steps yet ends at most {FELL:g} × its value at the onset; the sharpness grows at least × {SHARPENED:g} before it
meets 2/η; the two outlier groups' step-to-step loss changes correlate at {OPPOSED:g} or below.
"""

PAPERS = [
    Paper(
        title="Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability",
        authors="Cohen, Kaur, Li, Kolter, Talwalkar",
        year=2021,
        arxiv="2103.00065",
        figure="Figure 1: full-batch GD on a tanh network with square loss; the sharpness rises to 2/η and hovers "
        "there while the training loss keeps falling non-monotonically",
    ),
    Paper(
        title="Outliers with Opposing Signals Have an Outsized Effect on Neural Network Optimization",
        authors="Rosenfeld, Risteski",
        year=2023,
        arxiv="2311.04163",
        figure="The per-group training losses of paired outlier groups with opposing signals, oscillating out of "
        "phase while the overall loss barely moves (here on planted outliers rather than found ones)",
    ),
]

PRESETS = {
    "default": Preset(
        Config(),
        title="The edge of stability",
        demonstrates="η = 0.1 on 1,000 digits: the sharpness climbs from about 3 to 2/η = 20 by step ~700 and "
        "hovers there; the loss keeps falling on a bumpy path, and the two outlier groups take turns.",
    ),
    "larger_lr": Preset(
        Config(lr=0.2, steps=1000),
        title="Larger step size: a lower ceiling",
        demonstrates="η = 0.2: the sharpness meets 2/η = 10 within about 80 steps and hovers at 10, half the "
        "default's level: the ceiling is set by η, not by the data.",
    ),
    "small_lr": Preset(
        Config(lr=0.03, steps=1200),
        title="Small step size: stable GD",
        demonstrates="η = 0.03: 2/η = 67 is out of reach. The sharpness still grows (progressive sharpening, × 5) "
        "but only to about 15, a fifth of 2/η, and slowing; the loss falls monotonically, the groups never seesaw. "
        "The edge-of-stability claim fails, as the paper predicts for small η.",
        expect={"hovers_at_2_over_eta": "fail", "loss_falls_non_monotonically": "not_applicable",
                "opposing_signals": "not_applicable"},
    ),
    "tiny": Preset(
        Config(lr=0.3, steps=300, n_train=200, width=32, outliers=5, sharpness_every=10),
        title="Tiny (tests)",
        demonstrates="A 32-unit network on 200 digits at η = 0.3, in about a second: the sharpness meets "
        "2/η ≈ 6.7 and hovers.",
    ),
}

METRICS = [
    Metric(name="train/loss", role="train", label="training loss"),
    Metric(name="sharpness", label="sharpness (top Hessian eigenvalue)"),
    Metric(name="loss/clean", role="train", label="clean images"),
    Metric(name="loss/group_a", label=f"group a: {GROUP_A}s with the corner feature"),
    Metric(name="loss/group_b", label=f"group b: {GROUP_B}s with the corner feature"),
]

CHARTS = [
    Chart(
        id="sharpness", title="Sharpness against 2/η", metrics=["sharpness"], y_label="top Hessian eigenvalue",
        references=[Reference(label="2/η", value="two_over_eta", orient="y")],
        caption="It climbs to the dashed line 2/η, then hovers there: the edge of stability.",
    ),
    Chart(
        id="loss", title="Training loss", metrics=["train/loss"], y_label="square loss", log_y=True,
        caption="Smooth before the mark; after it, spikes up on some steps, yet the trend keeps going down.",
    ),
    Chart(
        id="groups", title="Loss of each group", metrics=["loss/clean", "loss/group_a", "loss/group_b"],
        y_label="square loss", log_y=True, optional=True,  # logged only when there are outlier groups
        caption="At the edge the two outlier groups seesaw: one's loss rises as the other's falls.",
    ),
]

SNAPSHOTS = [
    SnapshotView(
        name="sharp_classes", title="Which outputs the sharp direction moves: the top eigenvector's last-layer "
        "weight per class", kind="vector_over_time", x_label="output class (digit)", max_values=10,
    ),
    SnapshotView(
        name="sharp_pixels", title="Which pixels the sharp direction reads: the top eigenvector's first-layer "
        "weight per input pixel", kind="matrix", x_label="pixel column", y_label="pixel row", max_values=64,
    ),
]


def derived(config: Config) -> dict[str, float]:
    return {"two_over_eta": config.two_over_eta}


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
    snapshots=SNAPSHOTS,
    derived=derived,
    tags=("optimization", "curvature"),
)
