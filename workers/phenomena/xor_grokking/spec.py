"""Benign overfitting and grokking on XOR cluster data: a two-layer ReLU network fits noisy labels in one step at
chance test accuracy, then generalizes much later. No torch here (the API reads it)."""

from workers.phenomena.contract import STEP, Chart, Metric, Paper, Phenomenon, Preset, Reference, SnapshotView
from workers.phenomena.xor_grokking.claims import (
    CHANCE,
    CHANCE_BAND,
    CLAIMS,
    GENERALIZED,
    MIN_FACTOR,
    detect,
)
from workers.phenomena.xor_grokking.config import Config

__all__ = ["PHENOMENON", "Config"]

NAME = "xor_grokking"
TITLE = "Benign overfitting and grokking on XOR clusters"
ONE_LINER = (
    "A ReLU network fits every noisy label in one step at chance test accuracy, and generalizes tens of steps later."
)

SUMMARY = f"""\
**The data.** Four clusters in d dimensions: centres ±μ₁ and ±μ₂ (μ₁ ⊥ μ₂, ‖μ₁‖ = ‖μ₂‖ = ‖μ‖), each point a
centre plus Gaussian noise N(0, I_d). The label is +1 on the ±μ₁ clusters and −1 on the ±μ₂ clusters: an XOR,
on which every linear classifier is at chance. A fraction η of the *training* labels is flipped. The test labels are
clean, so the best possible test accuracy is 100 %.

**The network** is the paper's: f(x) = Σⱼ aⱼ ReLU(⟨wⱼ, x⟩) with m neurons, the output weights aⱼ = ±1/√m fixed
(half of each sign), the first layer trained by full-batch gradient descent on the logistic loss from a small
initialization. The default has d = 100,000 dimensions, only n = 200 training points, ‖μ‖ = 40 (‖μ‖² = 3.2 d/n) and
η = 15 %.

**What to look at.**
- *Accuracy* (log step axis). After the **first** step, training accuracy is 100 %, the flipped labels included,
  while test accuracy sits at chance, {CHANCE:.0%}: the network has memorized. Nothing about the clusters is
  learned yet: this is *catastrophic* overfitting. (The fit is by a hair at first: the training loss is still
  close to log 2, but every sign is right.) Keep going, and some 20 to 300 steps later (seeds 0–9 of the
  default; most by step 125) test accuracy climbs to ≥ {GENERALIZED:.0%} while the flipped labels stay
  memorized: the overfitting has become *benign*. The two marks are the memorization and generalization steps.
- *Test accuracy per cluster*: why chance, exactly? In the first steps the network is nearly linear in x, and a
  linear function is odd, f(−x) = −f(x), while XOR labels are even (the ±μ₁ clusters share a label). So a linear
  classifier gets one of ±μ₁ and one of ±μ₂ right: within about ten steps two clusters are at 100 %, two at 0 %,
  50 % overall. Generalizing means the ReLUs building an even function: the two wrong clusters flip, one after
  the other.
- *Neurons in the (μ₁, μ₂) plane*: each neuron's projections ⟨wⱼ, μ₁⟩/‖μ‖ and ⟨wⱼ, μ₂⟩/‖μ‖, coloured by the sign
  of aⱼ. Scrub through training: the positive neurons (which vote +1) gather along +μ₁ and −μ₁, the negative ones
  along ±μ₂, each neuron picking one cluster. Four arms: that is the XOR solution.
- *Loss*: training loss falls steadily; test loss (clean labels) stays near log 2 through the memorization phase
  and comes down slowly once the clusters are learned: the test margins stay small.

**Why it happens.** With d ≫ n, the n noise vectors are nearly orthogonal, each of norm ≈ √d: every training
point has a private direction, and one gradient step along Σᵢ yᵢ xᵢ moves each point's own margin by ∝ d,
whatever its label. That is memorization. On an unseen point the same step acts as a (nearly) linear function,
useless on XOR; its direction in the (μ₁, μ₂) plane is set by chance, by which clusters happen to hold more
training points and flips, so which two clusters start at 0 % changes with the seed. Later steps are different: each neuron is active on only some
points, and the cluster centres that a neuron sees push it coherently, by ∝ n‖μ‖², while the noise does not add
up. Once these coherent pushes outweigh the first step's linear part, every cluster is classified right, and
the private noise directions still hold the flipped labels. The paper proves both stages when d is much larger
than n and ‖μ‖ lies in a window; in this toy the signal ratio n‖μ‖²/d (3.2 by default) sets how soon it happens.

**How it is computed.** Gradient descent only ever adds training points to a neuron, wⱼ(t) = wⱼ(0) + Σᵢ cᵢⱼ(t) xᵢ,
and every number the run needs is an inner product. The trainer draws those inner products exactly (a rotated
basis of n + n_test + m + 2 dimensions, Bartlett's decomposition for the Wishart part) and updates the
coefficients c. The trajectory is gradient descent in d dimensions, exactly, so d = 10⁷ costs what d = 10⁴ does.

**The knobs.**
- `mu_norm` ‖μ‖: weaker signal groks later; at ‖μ‖² = d/(2n) (the `weak_signal` preset) test accuracy creeps up to
  about 0.6–0.7 and has all but stopped rising by step 1,000. Stronger signal groks sooner.
- `d`: with d close to n there is no private direction per point; the network learns the clusters before it
  can memorize the flipped labels, and the overfitting is never catastrophic (`low_dimension`).
- `label_noise` η: grokking does not need it (`no_label_noise`); with it, the flipped points stay fitted to the end.
- `lr` (in units of n/d) and `init_scale`: smaller steps stretch the whole story; a large initialization blurs
  the first step's clean 50 %.
- `n`, `width`: with few points a cluster can have too few clean examples to be learned. With n = 50, or a weaker
  signal, some seeds stop at 75 %: one cluster never flips within the budget. The default grokked on each of
  the seeds 0–9 we tried, but this is a property of the draw, not a guarantee.

**Claims checked.** At the first step where every training label is fitted, test accuracy lies within
{CHANCE:g} ± {CHANCE_BAND:g}; test accuracy then holds ≥ {GENERALIZED:.0%} from a step at least {MIN_FACTOR:g}×
later; at the end the flipped labels are all still fitted while test accuracy is ≥ {GENERALIZED:.0%}.
"""

PAPERS = [
    Paper(
        title="Benign Overfitting and Grokking in ReLU Networks for XOR Cluster Data",
        authors="Xu, Wang, Frei, Vardi, Hu",
        year=2023,
        arxiv="2310.02541",
        figure="The simulation figure of train and test accuracy over gradient-descent steps: 100 % train accuracy "
        "(noisy labels included) after the first step with test accuracy near 50 %, then near-optimal test "
        "accuracy later (catastrophic, then benign, overfitting)",
    ),
]


PRESETS = {
    "default": Preset(
        Config(),
        title="Catastrophic, then benign overfitting",
        demonstrates="d = 100,000, n = 200, 15 % flipped labels: every label fitted after one step at 50 % test "
        "accuracy, test accuracy ≥ 95 % a few tens of steps later, the flipped labels still fitted at the end.",
    ),
    "weak_signal": Preset(
        Config(mu_norm=15.8),
        title="Weak signal: no grokking",
        demonstrates="‖μ‖² = d/(2n) instead of 3.2 d/n: the same one-step memorization at chance, but the clusters "
        "push too weakly: test accuracy creeps up to about 0.6-0.7 and has all but stopped rising by step 1,000.",
        expect={"grokking": "fail", "benign_overfitting": "inconclusive"},
    ),
    "no_label_noise": Preset(
        Config(label_noise=0.0),
        title="No label noise",
        demonstrates="η = 0: the network still fits the training set at step 1 at chance test accuracy and groks "
        "later. Grokking here is not about the noisy labels; benign overfitting of them has nothing to test.",
        expect={"benign_overfitting": "not_applicable"},
    ),
    "low_dimension": Preset(
        Config(d=400),
        title="Low dimension: no catastrophic overfitting",
        demonstrates="d = 400 for n = 200 points: no private direction per point, so the network learns the "
        "clusters first (test accuracy ≥ 95 % by step 2) and fits the flipped labels only 100-200 steps later: "
        "never catastrophic, no grokking delay, and in the end benign all the same.",
        expect={"catastrophic_overfitting": "fail", "grokking": "fail"},
    ),
    "tiny": Preset(
        Config(steps=200),
        title="Tiny (tests)",
        demonstrates="The default cut at 200 steps (about a second): memorization at step 1 at chance, and on seeds "
        "0-2 generalization by step 124.",
    ),
}

METRICS = [
    Metric(name="train/acc_clean", role="train", label="train (clean labels)"),
    Metric(name="train/acc_flipped", label="train (flipped labels)"),
    Metric(name="test/acc", role="held_out", label="test (clean labels)"),
    Metric(name="test/acc_plus_mu1", label="+μ₁ cluster (label +1)"),
    Metric(name="test/acc_minus_mu1", label="−μ₁ cluster (label +1)"),
    Metric(name="test/acc_plus_mu2", label="+μ₂ cluster (label −1)"),
    Metric(name="test/acc_minus_mu2", label="−μ₂ cluster (label −1)"),
    Metric(name="train/loss", role="train", label="train"),
    Metric(name="test/loss", role="held_out", label="test"),
]

CHARTS = [
    Chart(
        id="accuracy", title="Accuracy", metrics=["train/acc_clean", "train/acc_flipped", "test/acc"],
        y_label="accuracy", log_x=True, references=[Reference(label="chance", value="chance", orient="y")],
        caption="Train accuracy (flipped labels too) is 1 after one step; test accuracy sits at chance, then climbs.",
    ),
    Chart(
        id="clusters", title="Test accuracy per cluster",
        metrics=["test/acc_plus_mu1", "test/acc_minus_mu1", "test/acc_plus_mu2", "test/acc_minus_mu2"],
        y_label="accuracy", log_x=True,
        caption="At first a linear rule: one of ±μ₁ and one of ±μ₂ right, the other two wrong. Then they flip.",
    ),
    Chart(
        id="loss", title="Logistic loss", metrics=["train/loss", "test/loss"], y_label="loss", log_x=True,
        log_y=True, caption="Test loss is measured on clean labels.",
    ),
]

SNAPSHOTS = [
    SnapshotView(
        name="neurons", title="Neurons projected on the cluster directions (colour: sign of the output weight)",
        kind="scatter", x_label="⟨wⱼ, μ₁⟩ / ‖μ‖", y_label="⟨wⱼ, μ₂⟩ / ‖μ‖", max_values=3 * 512,
    ),
]


def derived(config: Config) -> dict[str, float]:
    return {"chance": CHANCE, "signal_ratio": config.signal_ratio, "alpha": config.alpha}


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
    axes=(STEP,),
    snapshots=SNAPSHOTS,
    derived=derived,
    progress_axis="step",
    tags=("grokking", "benign overfitting", "theory"),
)
