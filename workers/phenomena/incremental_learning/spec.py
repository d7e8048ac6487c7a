"""Incremental learning: from a small init, gradient descent on low-rank matrix sensing learns the target's singular
values one at a time, largest first, each after a plateau of about ln(1/α)/(ησ) steps. No torch here."""

from workers.phenomena.contract import (
    STEP,
    Axis,
    Chart,
    Family,
    Metric,
    Paper,
    Phenomenon,
    Preset,
    SnapshotView,
)
from workers.phenomena.incremental_learning.claims import CLAIMS, R2_MIN, RECOVERED, THEORY_BAND, detect
from workers.phenomena.incremental_learning.config import Config, theory_slope

__all__ = ["PHENOMENON", "Config"]

NAME = "incremental_learning"
TITLE = "Incremental learning: one singular value at a time"
ONE_LINER = (
    "From a small init, gradient descent on low-rank matrix sensing learns σ₁, then σ₂, then σ₃, each after a "
    "plateau that lengthens as ln(1/α)."
)

_DEFAULT = Config()

SUMMARY = f"""\
A symmetric d × d target M* = σ₁u₁u₁ᵀ + … + σ_r u_r u_rᵀ of low rank r is seen only through m random
linear measurements yᵢ = ⟨Aᵢ, M*⟩ (Aᵢ symmetric Gaussian). The model is XXᵀ, with X a d × k matrix
started at a small scale α (each column has norm ≈ α), and plain gradient descent minimizes the
sensing loss (1/m) Σ (⟨Aᵢ, XXᵀ⟩ − yᵢ)². By default d = {_DEFAULT.d}, r = {_DEFAULT.rank} with σ = 1, 0.5,
0.25, k = {_DEFAULT.width} (X could be full rank), and m = {_DEFAULT.measurements}, fewer than the
d(d + 1)/2 = {_DEFAULT.d * (_DEFAULT.d + 1) // 2} numbers a symmetric matrix has. One run trains {_DEFAULT.n_alphas}
initialization scales α side by side, from {_DEFAULT.alpha_min:g} to {_DEFAULT.alpha_max:g}, on the same target
and measurements. Sensing rather than the plain factorization ‖XXᵀ − M*‖²: it is Jin et al.'s setting,
at d = 20 it costs under a second, and with m < d(d + 1)/2 many matrices fit the measurements, so the
run also shows which one the small init picks.

**What to look at.**
- *Training loss, one line per α* (log scale). It falls in **steps**: a long plateau, a sharp drop,
  a shorter plateau, another drop, … one drop per singular value. Smaller α, longer plateaus.
- *Target directions learned* (the smallest α): uᵢᵀXXᵀuᵢ / σᵢ, how much of each target direction
  the model holds. They rise from 0 to 1 **one at a time, largest σ first**, and each is done
  before the next starts. The marks are the steps each σᵢ is half learned.
- *Eigenvalues of XXᵀ* (log scale, dashed: the σᵢ). While small, each grows as a straight line on
  this scale: exponentially, at a rate set by its σᵢ. So the largest gets there first, and the
  others wait. The extra eigenvalues (beyond r) never grow: XXᵀ stays low rank although X need not.
- *Steps to learn σ₁ against ln(1/α)*: a straight line. Dashed: the linear-phase prediction.
- *Distance to M**, per α: from a small init the model does not just fit the measurements, it
  finds M* itself.
- Snapshots: XXᵀ written in the target's own basis (u₁ … u_r first): the diagonal entries light up
  one after another; and the spectrum of XXᵀ (log₁₀) over training.

**Why it happens.** Near X = 0 the gradient step is X ← X + η M* X (the loss is quadratic in
XXᵀ, and XXᵀ is tiny), so the part of X along uᵢ grows by a factor 1 + ησᵢ per step: uᵢᵀXXᵀuᵢ
grows as (1 + ησᵢ)^(2t) from about α². It needs ln(σᵢ/α²)/(2 ln(1 + ησᵢ)) ≈ ln(1/α)/(ησᵢ) steps to
become visible, then saturates at σᵢ within a few 1/(ησᵢ). Larger σ escapes first; once it is
learned, the next one is still tiny, and the loss sits on a plateau until it escapes too. A
smaller α adds the same number of e-foldings to every plateau: ln(1/α)/(ησ₁) steps per unit of
ln(1/α), here {theory_slope(_DEFAULT):.2f} for σ₁. Because the learned part of X stays of rank (number of
σ learned so far), the path passes through the best rank-1, rank-2, … approximations, and it ends
at the lowest-rank matrix that fits: M*, even with fewer measurements than a full-rank fit needs.
The same picture (plateau, drop, plateau) is the loss of self-supervised learning, where the
eigenvalues are those of the embeddings' cross-correlation (Simon et al.).

**The knobs.**
- `alpha_min`, `alpha_max`, `n_alphas`: the family of init scales. Try the `large_init` preset: at
  α = 1 there is nothing to escape from, every direction is learned at once, no plateaus, and the
  fit it reaches from {_DEFAULT.measurements} measurements is not M*.
- `ratio` (σᵢ₊₁/σᵢ): closer to 1, the plateaus crowd together and the steps blur.
- `measurements`: they are M* seen through noise. With fewer, the early growth rate is the top
  eigenvalue s₁ of (1/m) Σ yᵢAᵢ rather than σ₁ (the dashed line on the ln(1/α) chart uses it), and
  the directions start to interfere: around m = 150 the steps sometimes overlap, and below the
  target's degrees of freedom, dr − r(r − 1)/2 = 57, nothing can pin M* down (the loss still reaches
  zero, but some σ is never learned). At d(d + 1)/2 = 210 or more, any fit is M*, the init no longer
  decides where it ends: try `many_measurements`, the plain factorization ‖XXᵀ − M*‖² in all but name.
- `width` (k): from r (X can only be rank r) to d; the staircase is the same, from a small init.
- `lr` (η): all the plateaus scale as 1/η. `rank`, `d`: the size of the problem.

**Claims checked.** `staircase`: each σᵢ goes from 10 % to 90 % learned before the next starts
(r separate drops, largest first). `log_alpha`: the steps to learn σ₁ are linear in ln(1/α) (r² ≥
{R2_MIN:g}), with a slope {THEORY_BAND[0]:g}–{THEORY_BAND[1]:g}× the linear phase's 1/ln(1 + ηs₁),
s₁ the top eigenvalue of (1/m) Σ yᵢAᵢ (σ₁ as m grows).
`recovers`: the smallest α ends within {RECOVERED:g} of M* (relative Frobenius error), with k > r and
fewer than d(d + 1)/2 measurements. The loss the gradient follows is f = loss/4, whose gradient is
(1/m) Σ rᵢ Aᵢ X ≈ (XXᵀ − M*) X; that is where the factor 1 + ησ comes from.
"""

PAPERS = [
    Paper(
        title="Understanding Incremental Learning of Gradient Descent: A Fine-grained Analysis of Matrix Sensing",
        authors="Jin, Li, Lyu, Du, Lee",
        year=2023,
        arxiv="2301.11500",
        figure="The incremental-learning picture of their matrix-sensing experiments: from a small init, the "
        "singular values of XXᵀ are learned one at a time, largest first, and the loss falls in stages "
        "(the eigenvalues chart and the loss per α)",
    ),
    Paper(
        title="On the Stepwise Nature of Self-Supervised Learning",
        authors="Simon, Knutins, Ziyin, Geisz, Fetterman, Albrecht",
        year=2023,
        arxiv="2303.15438",
        figure="Figure 1: the loss falls in steps, one eigenvalue learned at a time, from a small init (the loss "
        "chart and the target directions learned)",
    ),
]

PRESETS = {
    "default": Preset(
        Config(),
        title="Small init: a staircase",
        demonstrates="From α = 10⁻⁶ the loss falls in three steps, σ₁ = 1 (≈ step 75), then σ₂ = 0.5 (≈ 130), "
        "then σ₃ = 0.25 (≈ 240); each smaller α plateaus longer, ≈ 5.5 steps per unit of ln(1/α); and the "
        "over-parameterized X (k = d = 20) ends at M* (relative error ≈ 10⁻⁴) from 200 < 210 measurements.",
    ),
    "large_init": Preset(
        Config(alpha_min=1.0, alpha_max=1.0, n_alphas=1),
        title="Large init: no plateaus",
        demonstrates="The same problem from α = 1: X starts at the target's scale, every direction moves at once, "
        "no staircase; it fits the 200 measurements with a matrix that is not M* (relative error 0.1–0.2, "
        "where α = 10⁻⁶ gets 10⁻⁴).",
        expect={"staircase": "fail", "log_alpha": "not_applicable", "recovers": "fail"},
    ),
    "many_measurements": Preset(
        Config(measurements=1000),
        title="Many measurements: the factorization limit",
        demonstrates="1,000 measurements, more than the 210 a symmetric 20 × 20 matrix has: the loss is nearly "
        "‖XXᵀ − M*‖², the same staircase appears, and the slope against ln(1/α) is close to 1/ln(1 + ησ₁) = 5.5. "
        "Any fit is M* here, so recovery says nothing about the init.",
        expect={"recovers": "not_applicable"},
    ),
    "tiny": Preset(
        Config(d=8, rank=2, width=8, ratio=0.4, measurements=150, alpha_min=1e-4, alpha_max=1e-2, n_alphas=3,
               steps=200),
        title="Tiny (tests)",
        demonstrates="d = 8, rank 2, three init scales, 200 steps in a fraction of a second: two steps, σ₁ then "
        "σ₂. Its 150 ≥ 36 measurements determine M* by themselves, so recovery is not what it tests.",
        expect={"recovers": "not_applicable"},
    ),
}

LN_INV_ALPHA = Axis(id="ln_inv_alpha", label="ln(1/α)", symbol="ln(1/α)")

METRICS = [
    Metric(name="loss", family="alpha", role="train", label="sensing loss (1/m) Σ (⟨Aᵢ, XXᵀ⟩ − yᵢ)²"),
    Metric(name="error", family="alpha", role="held_out", label="‖XXᵀ − M*‖_F / ‖M*‖_F"),
    Metric(name="learned", family="i", label="uᵢᵀXXᵀuᵢ / σᵢ (smallest α)"),
    Metric(name="eig", family="i", label="i-th eigenvalue of XXᵀ (smallest α)"),
    Metric(name="target", family="i", label="σᵢ (target)"),
    Metric(name="t_learn", axis="ln_inv_alpha", label="steps to learn σ₁ (uᵀXXᵀu ≥ σ₁/2)"),
    Metric(name="t_theory", axis="ln_inv_alpha", label="linear phase: ln(σ₁d/(2kα²)) / (2 ln(1 + ηs₁))"),
]

CHARTS = [
    Chart(
        id="loss", title="Training loss, one line per init scale α", metrics=["loss"], y_label="sensing loss",
        log_y=True, caption="Plateau, drop, plateau, drop: one drop per singular value. Smaller α, longer plateaus.",
    ),
    Chart(
        id="learned", title="Target directions learned (smallest α)", metrics=["learned"],
        y_label="uᵢᵀXXᵀuᵢ / σᵢ",
        caption="One line per σᵢ: they rise one at a time, largest first. Marks: each half learned.",
    ),
    Chart(
        id="eigenvalues", title="Eigenvalues of XXᵀ (smallest α)", metrics=["eig"], baselines=["target"],
        y_label="eigenvalue", log_y=True,
        caption="Straight lines while small: exponential growth at a rate set by σᵢ. Dashed: the σᵢ.",
    ),
    Chart(
        id="plateau", title="Steps to learn σ₁ against ln(1/α)", x="ln_inv_alpha", metrics=["t_learn"],
        baselines=["t_theory"], y_label="steps",
        caption="A straight line: each e-fold smaller α adds the same number of steps. Dashed: the linear phase.",
    ),
    Chart(
        id="error", title="Distance to the target, one line per α", metrics=["error"],
        y_label="‖XXᵀ − M*‖_F / ‖M*‖_F", log_y=True,
        caption="The measurements only sample M*; small inits find it anyway, large ones fit something else.",
    ),
]

SNAPSHOTS = [
    SnapshotView(
        name="xxt", title="XXᵀ in the target's basis (smallest α)", kind="matrix",
        x_label="direction j (u₁ … u_r first)", y_label="direction i (u₁ … u_r first)", max_values=40 * 40,
    ),
    SnapshotView(
        name="spectrum", title="log₁₀ eigenvalues of XXᵀ (smallest α)", kind="vector_over_time",
        x_label="eigenvalue index (largest first)", y_label="log₁₀ eigenvalue", max_values=40,
    ),
]


def members(config: Config) -> dict[str, list[float]]:
    return {"alpha": config.alphas, "i": [float(i) for i in range(1, config.shown + 1)]}


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
    axes=(STEP, LN_INV_ALPHA),
    families=(
        Family(id="alpha", label="init scale α", scale="log"),
        Family(id="i", label="singular value i"),
    ),
    snapshots=SNAPSHOTS,
    members=members,
    progress_axis="step",
    tags=("implicit bias", "optimization", "training dynamics"),
)
