"""Grokking: a small network fits modular arithmetic at once, and generalizes only much later. No torch here."""

from workers.phenomena.contract import (
    STEP,
    Chart,
    Family,
    Metric,
    Paper,
    Phenomenon,
    Preset,
    Reference,
    SnapshotView,
)
from workers.phenomena.grokking.claims import (
    CLAIMS,
    COLLAPSED,
    GROKKED_ACC,
    MEMORIZED_ACC,
    MIN_DELAY_FACTOR,
    MIN_DELAY_STEPS,
    MIN_NORM_DROP,
    MIN_SPEEDUP,
    REFUSED,
    detect,
)
from workers.phenomena.grokking.config import Config, Operation, is_prime

# spec.py is what the catalogue loads; the config and the claims live beside it (config.py, claims.py).
__all__ = ["CHARTS", "CLAIMS", "METRICS", "PHENOMENON", "PRESETS", "SNAPSHOTS", "Config", "Operation", "detect",
           "is_prime"]

ONE_LINER = (
    "A small network memorizes a∘b mod p in a few dozen steps and generalizes hundreds of steps later."
)

SUMMARY = f"""\
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

**Later papers, later knobs.**

*Softmax collapse* (Prieto et al. 2025): `output`, `dtype`. Without weight decay nothing stops the
logits from growing once the training set is fitted. In float32, once the correct logit leads the
others by about 17 + ln p, `1 + Σ e^(zⱼ − z_c)` rounds to exactly 1: that example's loss is exactly
0 and its correct logit gets no gradient. The *Softmax collapse* chart shows the fraction of
training examples at exactly zero loss: in the `softmax_collapse` preset it jumps past
{COLLAPSED:.0%} while validation accuracy stays near chance. `output = stablemax` replaces eᶻ by
s(z) = z + 1 (z ≥ 0), 1/(1 − z) (z < 0): it grows only linearly, the loss falls only as 1/margin,
no example's gradient is rounded away, and the same network, with no weight decay at all, groks
(`stablemax` preset). Its weight norm *grows* all the way: this is grokking without the norm
falling. `dtype = float64` moves the rounding threshold from about 17 to about 37 (+ ln p): the
collapse comes later.

*Label corruption* (Doshi et al. 2023): `label_noise` = ξ. With weight decay the network fits the
clean examples and *refuses* the corrupted ones: its train accuracy settles near 1 − ξ, and the
corrupted examples end up predicted with their **true** answer. The *Clean and corrupted labels*
chart shows the accuracy on clean training examples, and (as shares of the whole training set, at
most ξ, the dashed line) the corrupted examples predicted with their wrong label (memorized) and
with their true answer (refused). Memorization is then judged on the clean examples. On this small toy
and budget the refusal does **not** reproduce: in the `label_noise` preset the network groks while
keeping every corrupted label memorized (the paper's "coexistence" phase); the claim says so.

*Grokfast* (Lee et al. 2024): `grokfast_lambda` (λ), `grokfast_alpha` (α). Each step the gradient
g is replaced by g + λ·ema(g), with ema ← α·ema + (1 − α)·g: the slow component of the gradient,
the one that drifts toward the general solution, is amplified. To measure the speed-up the run
trains **two networks from the same initialization on the same data**, with and without the filter
(the *Grokfast* chart, one line per λ), and the claim divides their grokking steps: a factor
measured in the run itself, whatever the other knobs (a fixed reference step would only be right
for one configuration). The main charts show the filtered network. On this full-batch AdamW toy
the filter does **not** speed grokking up: the `grokfast` preset groks about 2× *later* with it
(and in a side experiment with minibatches of 128, also later: step 390 against 278). A likely
reason: AdamW divides every update by the gradient's own running size, so amplifying a gradient
that has little fast noise to remove mostly adds lag. The paper's large speed-ups were measured on
other models and optimizer settings (a transformer on Power et al.'s tasks, among others).

**Claims checked.** Grokking: validation accuracy holds ≥ {GROKKED_ACC:.0%} at least {MIN_DELAY_STEPS}
steps and {MIN_DELAY_FACTOR:g}× after train accuracy holds ≥ {MEMORIZED_ACC:.0%}; the weight norm falls
≥ {MIN_NORM_DROP:.0%} from its post-memorization peak. Softmax collapse (softmax, no weight decay):
≥ {COLLAPSED:.0%} of training examples at exactly zero loss. Label noise: over {REFUSED:.0%} of the
corrupted examples predicted with their true answer. Grokfast: grokking ≥ {MIN_SPEEDUP:g}× sooner.
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
    Paper(
        title="Grokking at the Edge of Numerical Stability",
        authors="Prieto, Barsbey, Mediano, Birdal",
        year=2025,
        arxiv="2501.04697",
        figure="Softmax collapse without regularization (the share of samples whose float32 loss is exactly zero "
        "rises and grokking stops) and StableMax cross-entropy grokking with no weight decay (the "
        "softmax_collapse and stablemax presets)",
    ),
    Paper(
        title="To grok or not to grok: Disentangling generalization and memorization on corrupted algorithmic "
        "datasets",
        authors="Doshi, Das, He, Gromov",
        year=2023,
        arxiv="2310.13061",
        figure="Train accuracy split into clean and corrupted examples, and the phases it reveals: with enough "
        "weight decay the corrupted examples are predicted with their true labels (train accuracy ≈ 1 − ξ); with "
        "less, memorization and generalization coexist (the label_noise preset: coexistence is what this toy "
        "shows)",
    ),
    Paper(
        title="Grokfast: Accelerated Grokking by Amplifying Slow Gradients",
        authors="Lee, Kang, Kim, Lee",
        year=2024,
        arxiv="2405.20233",
        figure="Validation accuracy with and without the Grokfast-EMA filter on modular arithmetic: the filter "
        "reaches generalization many times sooner (the grokfast preset, both from one initialization)",
    ),
]

# The later papers' presets share one small, fast table (p = 31, the tiny network).
SMALL = {"p": 31, "embed_dim": 32, "width": 128, "lr": 1e-2}

PRESETS = {
    "default": Preset(
        Config(), "Grokking",
        "Memorizes a+b mod 97 within ~100 steps, generalizes ~400 steps later while weight decay shrinks the weights.",
        expect={"softmax_collapse": "not_applicable", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
    "no_weight_decay": Preset(
        Config(weight_decay=0.0), "No weight decay",
        "The contrast: the same network memorizes just as fast, but without weight decay its weights keep growing "
        "and it does not generalize within the budget (Omnigrok's LU mechanism). Softmax collapse has begun by the "
        "end (about a tenth of the examples at exactly zero loss, still rising): too soon to decide that claim.",
        expect={"late_generalization": "fail", "norm_falls": "fail", "softmax_collapse": "inconclusive",
                "noise_refused": "not_applicable", "grokfast_speedup": "not_applicable"},
    ),
    "less_data": Preset(
        Config(train_frac=0.3, steps=4000), "Less data, longer delay",
        "With 30 % of the table instead of 50 %, generalization comes much later (near step 2,400): the delay grows "
        "as the training set shrinks.",
        expect={"softmax_collapse": "not_applicable", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
    "division": Preset(
        Config(operation="/", steps=1500), "Modular division",
        "The operation of Power et al.'s Figure 1: a / b mod 97 groks too; its key frequencies live in the basis "
        "of discrete logarithms, so the embedding spectrum stays flat.",
        expect={"softmax_collapse": "not_applicable", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
    "softmax_collapse": Preset(
        Config(**SMALL, train_frac=0.9, weight_decay=0.0, steps=2000), "Softmax collapse (no weight decay)",
        "Prieto et al.'s failure: a+b mod 31 from 90 % of the table, softmax, float32, no weight decay. The logits "
        "grow until most training examples' loss rounds to exactly 0 (their gradient vanishes), and validation "
        "accuracy stays near chance: no grokking.",
        expect={"late_generalization": "fail", "norm_falls": "fail", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
    "stablemax": Preset(
        Config(**SMALL, train_frac=0.9, weight_decay=0.0, output="stablemax", steps=2000),
        "StableMax groks without weight decay",
        "The same run with StableMax cross-entropy instead of softmax: no loss is rounded to zero, and the network "
        "groks with no weight decay at all, while its weight norm keeps growing (so the norm claim fails: this "
        "is grokking without the LU mechanism).",
        expect={"norm_falls": "fail", "softmax_collapse": "not_applicable", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
    "float64": Preset(
        Config(**SMALL, train_frac=0.9, weight_decay=0.0, dtype="float64", steps=2000),
        "Softmax in float64: collapse delayed",
        "The softmax_collapse run in float64: a loss rounds to zero only past a margin of about 37 + ln p instead "
        "of 17 + ln p, so within the same 2,000 steps no example collapses (float32: over 80 %). It still does not "
        "grok within the budget: on this toy, delaying the collapse is not enough; StableMax is what restores it.",
        expect={"late_generalization": "fail", "norm_falls": "fail", "softmax_collapse": "fail",
                "noise_refused": "not_applicable", "grokfast_speedup": "not_applicable"},
    ),
    "label_noise": Preset(
        Config(**SMALL, train_frac=0.8, label_noise=0.05, steps=1500), "Corrupted labels: memorized and generalized",
        "Doshi et al.'s setting on this toy: 5 % of the training labels of a+b mod 31 are wrong. Memorization is "
        "judged on the clean examples; the network groks (validation near 95 % by step ~1,000) yet keeps every "
        "corrupted label memorized: their 'coexistence' phase. The paper's refusal of the corrupted labels (their "
        "true answers predicted) needs more regularization or far longer training than this budget: the claim fails "
        "here, as measured, and the weight norm grows instead of falling.",
        expect={"norm_falls": "fail", "softmax_collapse": "not_applicable", "noise_refused": "fail",
                "grokfast_speedup": "not_applicable"},
    ),
    "grokfast": Preset(
        Config(**SMALL, train_frac=0.8, grokfast_lambda=5.0, steps=1000), "Grokfast (does not speed up here)",
        "Lee et al.'s EMA filter (α = 0.98, λ = 5) on the tiny table, against the same initialization without it, "
        "side by side. In this full-batch AdamW toy the filter does NOT accelerate grokking: it groks about twice "
        "later. Adam divides each update by the gradient's running scale, so amplifying a gradient that is "
        "already slow (no minibatch noise) mostly adds lag; the claim reports the measured factor and fails.",
        expect={"softmax_collapse": "not_applicable", "noise_refused": "not_applicable", "grokfast_speedup": "fail"},
    ),
    "tiny": Preset(
        Config(p=31, train_frac=0.8, embed_dim=32, width=128, lr=1e-2, steps=500), "Tiny (2 seconds)",
        "A 31 × 31 table that groks in ~300 steps, about 2 s: for demos and tests.",
        expect={"softmax_collapse": "not_applicable", "noise_refused": "not_applicable",
                "grokfast_speedup": "not_applicable"},
    ),
}

METRICS = [
    Metric(name="train/loss", role="train", label="train"),
    Metric(name="train/acc", role="train", label="train"),
    Metric(name="val/loss", role="held_out", label="validation"),
    Metric(name="val/acc", role="held_out", label="validation"),
    Metric(name="weight_norm", label="‖θ‖₂"),
    Metric(name="train/zero_loss", role="train", label="train examples at exactly zero loss"),
    Metric(name="train/acc_clean", role="train", label="clean examples: accuracy"),
    Metric(name="train/noisy_memorized", label="corrupted, predicted with their wrong label (share of train set)"),
    Metric(name="train/noisy_true",
           label="corrupted, predicted with their true answer (share of train set)"),
    Metric(name="grokfast/val_acc", family="grokfast", role="held_out", label="validation accuracy"),
]

CHARTS = [
    Chart(id="accuracy", title="Accuracy", metrics=["train/acc", "val/acc"], y_label="accuracy",
          caption="Train jumps to 1 early; validation follows hundreds of steps later."),
    Chart(id="loss", title="Loss", metrics=["train/loss", "val/loss"], y_label="cross-entropy", log_y=True),
    Chart(id="weight_norm", title="Weight norm", metrics=["weight_norm"], y_label="‖θ‖₂"),
    # The last three are optional: their metrics are logged only on runs whose knobs they are about.
    Chart(id="softmax_collapse", title="Softmax collapse", metrics=["train/zero_loss"], y_label="fraction",
          optional=True, caption="The share of training examples whose loss rounds to exactly 0 (no gradient): 0 with weight "
          "decay or StableMax; rising past one half is softmax collapse."),
    Chart(id="label_noise", title="Clean and corrupted labels",
          metrics=["train/acc_clean", "train/noisy_memorized", "train/noisy_true"], y_label="fraction", optional=True,
          references=[Reference(label="corrupted share ξ", value="noisy_share", orient="y")],
          caption="Clean accuracy, and the corrupted examples (at most ξ of the train set, dashed) as memorized or "
          "refused."),
    Chart(id="grokfast", title="Grokfast: validation accuracy with and without the filter",
          metrics=["grokfast/val_acc"], y_label="accuracy", optional=True,
          caption="One line per λ, both networks from the same initialization (λ = 0: no filter)."),
]

SNAPSHOTS = [
    SnapshotView(name="embedding_fourier", title="Fourier power of the token embeddings (fraction per frequency)",
                 kind="vector_over_time", x_label="frequency k", max_values=257 // 2 + 1),
]


def derived(config: Config) -> dict[str, float]:
    return {"noisy_share": config.noisy_share}


def members(config: Config) -> dict[str, list[float]]:
    return {"grokfast": [0.0, config.grokfast_lambda] if config.grokfast else []}  # off: nothing logged


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
    axes=(STEP,),
    families=(Family(id="grokfast", label="Grokfast λ"),),
    derived=derived,
    members=members,
)
