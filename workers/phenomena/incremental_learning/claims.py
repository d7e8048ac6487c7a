"""What an incremental-learning run is checked for: when each target direction is learned, and the papers'
claims. No torch here."""

import math

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Transition
from workers.phenomena.incremental_learning.config import (
    HALF,
    SMALL_INIT,
    Config,
    init_projection,
    is_small,
    theory_slope,
)

HOLD = 3  # logged points a crossing must hold for (or to the end of a finished run) to count
START, DONE = 0.1, 0.9  # a direction's learning starts when uᵀXXᵀu passes 10 % of σ, and is done at 90 %
FITTED = 0.05  # the measurements count as fitted when √(loss_end / loss_start) is at most this
RECOVERED = 0.05  # M* counts as recovered when ‖XXᵀ − M*‖_F / ‖M*‖_F is at most this
R2_MIN = 0.95  # "linear in ln(1/α)": the fit explains at least this share of the variance of t₁
THEORY_BAND = (0.67, 1.5)  # the fitted slope over the linear-phase theory's 1/ln(1 + ησ₁)
MIN_ALPHAS = 3
# Student-t 97.5 % quantiles for the slope's 95 % interval, by degrees of freedom n − 2 (n ≤ 8 scales)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447}


# -- detection -------------------------------------------------------------------------------------


def crossing(x: np.ndarray, y: np.ndarray, level: float, finished: bool) -> float | None:
    """The first x from which y stays ≥ level for HOLD points (a finished run: to its end, if shorter)."""
    above = y >= level
    for i in range(len(above)):
        window = above[i : i + HOLD]
        if window.all() and (len(window) == HOLD or finished):
            return float(x[i])
    return None


def detect(curves: Curves, config: Config) -> list[Transition]:
    """For the smallest α: the step each σᵢ is learned, uᵢᵀXXᵀuᵢ reaching half of σᵢ (and staying there)."""
    found = []
    for i, (x, y) in curves.family("learned").items():
        at = crossing(x, y, HALF, curves.finished)
        if at is not None and 1 <= i <= config.rank:
            found.append(Transition(
                id=f"learned_{i:g}", label=f"σ{i:g} = {config.sigmas[int(i) - 1]:.3g} learned", x=at,
                metric="learned", value=float(y[np.searchsorted(x, at)]), member=i,
                charts=["loss", "learned", "eigenvalues"],
            ))
    return found


# -- claims ----------------------------------------------------------------------------------------


def _fit_of_smallest(curves: Curves) -> float | None:
    """√(loss at the end / loss at the start) for the smallest α: how well it fits its measurements (0: exactly)."""
    family = curves.family("loss")
    if not family:
        return None
    _, y = family[min(family)]
    return math.sqrt(y[-1] / y[0]) if len(y) >= 2 and y[0] > 0 else None


def _staircase(curves: Curves, config: Config) -> ClaimResult:
    r = config.rank
    if r == 1:
        return ClaimResult(verdict="not_applicable", detail="rank 1: one singular value, one drop, no order to "
                           "check. Raise rank.")
    family = curves.family("learned")
    if len(family) < r:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="nothing logged yet.")
        return ClaimResult(verdict="inconclusive", detail=f"the run logged {len(family)} of {r} target directions.")
    times = {level: [crossing(*family[float(i)], level, curves.finished) for i in range(1, r + 1)]
             for level in (START, HALF, DONE)}
    learned = [t for t in times[HALF] if t is not None]
    where = ", ".join(f"σ{i} at step {t:g}" for i, t in enumerate(times[HALF], 1) if t is not None)
    if len(learned) < r:
        missing = ", ".join(f"σ{i}" for i, t in enumerate(times[HALF], 1) if t is None)
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail=f"learned so far: {where or 'none'}; waiting for {missing}.")
        fit = _fit_of_smallest(curves)
        if fit is not None and fit <= FITTED:
            return ClaimResult(
                verdict="fail", value=float(len(learned)),
                detail=f"the smallest α fit its measurements (residual {fit:.1%} of where it started) without ever "
                f"learning {missing} (uᵢᵀXXᵀuᵢ < σᵢ/2): learned {where or 'nothing'}. With too few measurements, "
                "the last steps of the staircase are fit to what the measurements miss, not to M*.",
            )
        return ClaimResult(verdict="inconclusive", detail=f"the run ended before {missing} was learned (learned "
                           f"{where or 'nothing'}); its loss had not fit the measurements either: raise steps.")
    drops, pairs = 1, []
    for i in range(r - 1):
        done, start = times[DONE][i], times[START][i + 1]
        separated = done is not None and start is not None and done < start and learned[i] < learned[i + 1]
        drops += separated
        done_text = f"{done:g}" if done is not None else "never"
        pairs.append(f"σ{i + 1} done (90 %) at {done_text}, σ{i + 2} starts (10 %) at {start:g}")
    ok = drops == r
    detail = (f"σᵢ learned (uᵢᵀXXᵀuᵢ ≥ σᵢ/2) at: {where}. {'; '.join(pairs)}. {drops} separate drop"
              f"{'s' if drops != 1 else ''} of {r}: each σᵢ must be done before the next one starts.")
    if not ok and times[START][0] == 0:
        detail += " The init is already at the target's scale: nothing to wait for, so no plateaus."
    return ClaimResult(verdict="pass" if ok else "fail", value=float(drops), detail=detail)


def slope_fit(x: np.ndarray, t: np.ndarray) -> tuple[float, float, tuple[float, float], float]:
    """t ≈ a + b x by least squares: (b, a, 95 % interval of b from the t distribution, r²)."""
    b, a = np.polyfit(x, t, 1)
    residual = t - (a + b * x)
    spread = float(np.sum((t - t.mean()) ** 2))
    r2 = 1 - float(np.sum(residual**2)) / spread if spread > 0 else 0.0
    df = len(x) - 2
    se = math.sqrt(float(np.sum(residual**2)) / df / float(np.sum((x - x.mean()) ** 2))) if df > 0 else math.inf
    half = T975.get(df, 1.96) * se
    return float(b), float(a), (float(b - half), float(b + half)), r2


def _log_alpha(curves: Curves, config: Config) -> ClaimResult:
    big = [a for a in config.alphas if not is_small(config, a)]
    if big:
        return ClaimResult(
            verdict="not_applicable",
            detail=f"α = {max(big):g} starts X with uᵀXXᵀu ≈ kα²/d = {init_projection(config, max(big)):.2g} along "
            f"every direction, not small next to σ_r = {config.sigmas[-1]:.3g} (the law needs at most "
            f"{SMALL_INIT:g} of it): there is no exponential escape from near zero to time.",
        )
    if config.n_alphas < MIN_ALPHAS:
        return ClaimResult(verdict="inconclusive", detail=f"{config.n_alphas} initialization scale(s): a line "
                           f"through ln(1/α) needs at least {MIN_ALPHAS}; raise n_alphas.")
    if "t_learn" not in curves or len(curves["t_learn"][0]) < config.n_alphas:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="the time each α takes to learn σ₁ is logged when training "
                               "ends.")
        got = len(curves["t_learn"][0]) if "t_learn" in curves else 0
        return ClaimResult(verdict="inconclusive", detail=f"only {got} of {config.n_alphas} scales learned σ₁ "
                           "within the run: raise steps (the smallest α is the slowest).")
    x, t = curves["t_learn"]
    slope, _, interval, r2 = slope_fit(x, t)
    population = theory_slope(config)
    predicted, source = population, "σ₁"
    if "t_theory" in curves and len(curves["t_theory"][0]) >= 2:  # the rate this run's measurements set
        predicted, source = float(np.polyfit(*curves["t_theory"], 1)[0]), "s₁"
    ratio = slope / predicted
    lo, hi = THEORY_BAND
    ok = interval[0] > 0 and r2 >= R2_MIN and lo <= ratio <= hi
    times = ", ".join(f"{tt:g} at ln(1/α) = {xx:.1f}" for xx, tt in zip(x, t, strict=True))
    detail = (f"steps to learn σ₁: {times}. Fit: {slope:.2f} steps per unit of ln(1/α) (95 % interval "
              f"{interval[0]:.2f} to {interval[1]:.2f}), r² = {r2:.3f}. The linear phase predicts 1/ln(1 + η{source}) "
              f"= {predicted:.2f} ({ratio:.2f}× of it)")
    if source == "s₁":
        detail += (f", s₁ = {1 / config.lr * math.expm1(1 / predicted):.3g} the top eigenvalue of (1/m) Σ yᵢAᵢ "
                   f"(σ₁ = {config.sigmas[0]:g} with noise from the {config.measurements} measurements; σ₁ alone "
                   f"predicts {population:.2f})")
    detail += f". The claim needs a slope above 0, r² ≥ {R2_MIN:g} and {lo:g}–{hi:g}× the prediction."
    return ClaimResult(verdict="pass" if ok else "fail", value=slope, interval=interval, detail=detail)


def _recovers(curves: Curves, config: Config) -> ClaimResult:
    if config.determined:
        return ClaimResult(verdict="not_applicable", detail=f"m = {config.measurements} ≥ d(d + 1)/2 = "
                           f"{config.d * (config.d + 1) // 2} measurements determine M* on their own: any fit "
                           "recovers it, whatever the init. Lower measurements to see the init decide.")
    if config.width == config.rank:
        return ClaimResult(verdict="not_applicable", detail=f"k = r = {config.rank}: the factor itself caps XXᵀ at "
                           "rank r, so no implicit bias is needed. Raise width to over-parameterize.")
    if config.measurements < config.degrees_of_freedom:
        return ClaimResult(verdict="not_applicable", detail=f"m = {config.measurements} measurements are fewer "
                           f"than a rank-{config.rank} d = {config.d} matrix has degrees of freedom "
                           f"({config.degrees_of_freedom}): no method can recover M* from them.")
    family = curves.family("error")
    if not curves.finished or not family:
        return ClaimResult(verdict="not_yet", detail="the distance to M* is judged when training ends.")
    alpha = min(family)
    error = float(family[alpha][1][-1])
    fit = _fit_of_smallest(curves)
    fit_text = f"{fit:.2%}" if fit is not None else "unknown"
    detail = (f"α = {alpha:g}: ‖XXᵀ − M*‖_F / ‖M*‖_F = {error:.2g} at the end (the claim needs ≤ {RECOVERED:g}), "
              f"from m = {config.measurements} < d(d + 1)/2 = {config.d * (config.d + 1) // 2} measurements with "
              f"k = {config.width} > r = {config.rank} columns; the measurements are fit to {fit_text} of the "
              "starting residual.")
    if error <= RECOVERED:
        return ClaimResult(verdict="pass", value=error, detail=detail)
    if fit is not None and fit <= FITTED:
        return ClaimResult(verdict="fail", value=error, detail=detail + " It fits the measurements with a "
                           "matrix that is not M*: the init, not the data, chose it.")
    return ClaimResult(verdict="inconclusive", value=error, detail=detail + " Neither M* nor the measurements "
                       "are fit yet: raise steps.")


CLAIMS = [
    Claim(
        id="staircase",
        text="From a small init the loss falls as a staircase, one drop per target singular value, largest first: "
        "each σᵢ is learned (uᵢᵀXXᵀuᵢ from 10 % to 90 % of σᵢ) before the next one starts.",
        check=_staircase,
        unit="drops",
    ),
    Claim(
        id="log_alpha",
        text="Plateaus lengthen as the init shrinks: the steps to learn σ₁ grow linearly in ln(1/α), at about "
        f"1/ln(1 + ηs₁) ≈ 1/(ησ₁) steps per unit (r² ≥ {R2_MIN:g}, {THEORY_BAND[0]:g}–{THEORY_BAND[1]:g}× the "
        "linear-phase prediction; s₁ is the top eigenvalue of (1/m) Σ yᵢAᵢ, σ₁ as the measurements grow).",
        check=_log_alpha,
        unit="steps per ln(1/α)",
    ),
    Claim(
        id="recovers",
        text=f"From a small init, an over-parameterized X (k > r) fit to fewer than d(d + 1)/2 measurements "
        f"recovers the low-rank M* (relative error ≤ {RECOVERED:g}): the incremental path is an implicit bias "
        "toward low rank.",
        check=_recovers,
        unit="relative error",
    ),
]
