"""What a superposition run is checked for: the events worth marking, and the papers' claims. No torch here."""

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, PowerLawFit, Transition, power_law
from workers.phenomena.superposition.config import (
    MANY,
    REPRESENTED_NORM,
    Config,
    asymptotic_tail_slope,
    no_superposition_loss,
    tail_slope,
)

INVERSE_M = (-1.3, -0.7)  # strong superposition: loss ∝ 1/m, slope −1 give or take 0.3
# Weak superposition: the measured slope within this of the frequency tail's (tail_slope). Measured on the `weak`
# preset, seeds 0-2: −0.47, −0.44, −0.45 against the tail's −0.37 (0.08–0.11 steeper: each width keeps ~2m
# features, not m). The same data under strong superposition gives −1.06, 0.7 away.
TAIL_TOLERANCE = 0.2
HOLD = 5  # logged points a condition must hold for (or to the end of a finished run) to count as an event
MIN_WIDTHS = 3  # contract.power_law fits nothing with fewer points


# -- detection -------------------------------------------------------------------------------------


def _first_sustained(holds: np.ndarray, finished: bool) -> int | None:
    """Index of the first point from which `holds` stays True for HOLD points (a finished run: to its end)."""
    for i in range(len(holds)):
        window = holds[i : i + HOLD]
        if window.all() and (len(window) == HOLD or finished):
            return i
    return None


def detect(curves: Curves, config: Config) -> list[Transition]:
    """Per width: when it first holds more features than dimensions, and when its loss first stays below the
    best any one-feature-per-dimension model of that width can reach (from then on it must be superposing)."""
    found = []
    for m, (x, y) in curves.family("represented").items():
        hit = _first_sustained(y > m, curves.finished)
        if hit is not None:
            found.append(Transition(
                id=f"superposed_m{m:g}", label=f"m = {m:g} stores more than {m:g} features", x=float(x[hit]),
                metric="represented", value=float(y[hit]), member=m, charts=["represented"],
            ))
    for m, (x, y) in curves.family("loss").items():
        floor = no_superposition_loss(config, int(m))
        hit = _first_sustained(y < floor, curves.finished)
        if hit is not None:
            found.append(Transition(
                id=f"beats_one_per_dim_m{m:g}", label=f"m = {m:g} beats one feature per dimension",
                x=float(x[hit]), metric="loss", value=float(y[hit]), member=m, charts=["loss"],
            ))
    return found


# -- claims ----------------------------------------------------------------------------------------

REGIMES = {"strong": "strong superposition (weight_decay < 0)", "weak": "weak superposition (weight_decay > 0)",
           "neither": "between the regimes (weight_decay = 0)"}


def _not_this_regime(config: Config, wanted: str) -> ClaimResult | None:
    if config.regime == wanted:
        return None
    return ClaimResult(
        verdict="not_applicable",
        detail=f"weight_decay = {config.weight_decay:g} puts this run in {REGIMES[config.regime]}; the claim is "
        f"about {REGIMES[wanted]}.",
    )


def _loss_fit(curves: Curves, config: Config) -> PowerLawFit | ClaimResult:
    """The power law of held-out loss against m (the one the loss-vs-m chart draws), or the verdict instead."""
    if len(config.widths) < MIN_WIDTHS:
        return ClaimResult(verdict="inconclusive", detail=f"only {len(config.widths)} widths {config.widths}: a "
                           f"power law needs at least {MIN_WIDTHS}; raise n_widths or widen m_min … m_max.")
    fit = power_law(curves, "final_loss")
    if fit is not None:
        return fit
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail="each width's held-out loss is measured when training ends.")
    return ClaimResult(verdict="inconclusive", detail=f"the run finished with fewer than {MIN_WIDTHS} widths "
                       "holding a positive held-out loss: nothing to fit.")


def _slope_text(fit: PowerLawFit) -> str:
    lo, hi = fit.interval
    return (f"held-out loss ∝ m^{fit.slope:.2f} (95 % interval {lo:.2f} to {hi:.2f}) over m = {fit.x_min:g} … "
            f"{fit.x_max:g}")


def _inverse_m(curves: Curves, config: Config) -> ClaimResult:
    if (other := _not_this_regime(config, "strong")) is not None:
        return other
    fit = _loss_fit(curves, config)
    if isinstance(fit, ClaimResult):
        return fit
    lo, hi = INVERSE_M
    ok = lo <= fit.slope <= hi
    detail = f"{_slope_text(fit)}; 1/m is a slope of −1, and the claim allows {lo:g} to {hi:g}."
    if not ok:
        detail += " Narrow the widths (m_max ≪ n_features) or train longer." if fit.slope < lo else (
            " Too shallow: are the features being dropped rather than superposed?")
    return ClaimResult(verdict="pass" if ok else "fail", value=fit.slope, interval=fit.interval, detail=detail)


def _follows_tail(curves: Curves, config: Config) -> ClaimResult:
    if (other := _not_this_regime(config, "weak")) is not None:
        return other
    fit = _loss_fit(curves, config)
    if isinstance(fit, ClaimResult):
        return fit
    predicted = tail_slope(config)
    ok = abs(fit.slope - predicted) <= TAIL_TOLERANCE
    detail = (f"{_slope_text(fit)}. Dropping every feature rarer than the m-th predicts {predicted:.2f} for these "
              f"n = {config.n_features} features (−(a − 1) = {asymptotic_tail_slope(config):.2f} as n → ∞); the "
              f"claim allows ±{TAIL_TOLERANCE:g}.")
    return ClaimResult(verdict="pass" if ok else "fail", value=fit.slope, interval=fit.interval, detail=detail)


def _many_features(curves: Curves, config: Config) -> ClaimResult:
    if (other := _not_this_regime(config, "strong")) is not None:
        return other
    if "final_represented" not in curves or len(curves["final_represented"][0]) < len(config.widths):
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="the features each width stores are counted when "
                               "training ends.")
        return ClaimResult(verdict="inconclusive", detail="the run finished without counting every width's features.")
    m, count = curves["final_represented"]
    per_dim = count / m
    worst = int(np.argmin(per_dim))
    ok = per_dim[worst] >= MANY
    counts = ", ".join(f"{c:.0f} at m = {w:g}" for w, c in zip(m, count, strict=True))
    detail = (f"features with ‖W_i‖ > {REPRESENTED_NORM:g}: {counts}. Fewest per dimension: {per_dim[worst]:.1f} "
              f"at m = {m[worst]:g}; the claim needs at least {MANY} at every width.")
    return ClaimResult(verdict="pass" if ok else "fail", value=float(per_dim[worst]), detail=detail)


CLAIMS = [
    Claim(
        id="inverse_m",
        text="Under strong superposition the loss falls as 1/m: its log-log slope against the hidden width m is "
        f"between {INVERSE_M[0]:g} and {INVERSE_M[1]:g}.",
        check=_inverse_m,
        unit="",
    ),
    Claim(
        id="follows_tail",
        text="Under weak superposition the loss follows the feature-frequency tail instead: its slope against m is "
        f"within ±{TAIL_TOLERANCE:g} of the slope of the frequency mass beyond the m-th feature (→ −(a − 1)).",
        check=_follows_tail,
        unit="",
    ),
    Claim(
        id="many_features",
        text=f"Under strong superposition every width stores many more features than it has dimensions: at least "
        f"{MANY} per dimension, a feature counting as stored when ‖W_i‖ > {REPRESENTED_NORM:g}.",
        check=_many_features,
        unit="features per dimension",
    ),
]
