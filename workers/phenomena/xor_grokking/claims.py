"""What an XOR-grokking run is checked for: when it memorized and when it generalized, and the paper's three claims.
No torch here."""

import math

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Transition
from workers.phenomena.xor_grokking.config import Config

CHANCE = 0.5
CHANCE_BAND = 0.1  # "near chance": test accuracy within 0.5 ± 0.1 when the training set is first fitted
GENERALIZED = 0.95  # "near-perfect" test accuracy (on clean labels)
HOLD = 5  # logged points the test accuracy must stay ≥ GENERALIZED for (or to the end of a finished run)
MIN_FACTOR = 10.0  # grokking: generalization at a step ≥ this × the memorization step
TAIL = 0.1  # "still rising": the mean test accuracy of the last 10 % of points against the 10 % before ...
RISING = 0.02  # ... higher by at least this much

CLEAN, FLIPPED, TEST = "train/acc_clean", "train/acc_flipped", "test/acc"


# -- events ------------------------------------------------------------------------------------------


def _series(curves: Curves, name: str) -> dict[float, float]:
    if name not in curves:
        return {}
    x, y = curves[name]
    return dict(zip(x.tolist(), y.tolist(), strict=True))


def memorization(curves: Curves) -> float | None:
    """The first logged step at which every training point is classified as labelled: the clean ones and, where
    there are any, the flipped ones."""
    clean, flipped = _series(curves, CLEAN), _series(curves, FLIPPED)
    for step in sorted(clean):
        if clean[step] >= 1.0 and (not flipped or flipped.get(step, 0.0) >= 1.0):
            return step
    return None


def generalization(curves: Curves) -> tuple[float, float] | None:
    """(step, test accuracy) of the first point from which test accuracy stays ≥ GENERALIZED for HOLD points (a
    finished run: or to its end)."""
    if TEST not in curves:
        return None
    x, y = curves[TEST]
    above = y >= GENERALIZED
    for i in range(len(above)):
        window = above[i : i + HOLD]
        if window.all() and (len(window) == HOLD or curves.finished):
            return float(x[i]), float(y[i])
    return None


def _test_at(curves: Curves, step: float) -> float | None:
    return _series(curves, TEST).get(step)


def detect(curves: Curves, config: Config) -> list[Transition]:
    found = []
    memorized = memorization(curves)
    if memorized is not None:
        found.append(Transition(id="memorization", label="fits every training label (flipped ones too)",
                                x=memorized, metric=FLIPPED if FLIPPED in curves else CLEAN, value=1.0))
    generalized = generalization(curves)
    if generalized is not None:
        found.append(Transition(id="generalization", label=f"test accuracy ≥ {GENERALIZED:.0%}", x=generalized[0],
                                metric=TEST, value=generalized[1]))
    return found


# -- claims ------------------------------------------------------------------------------------------


def wilson(p: float, n: int) -> tuple[float, float]:
    """95 % Wilson interval of an accuracy p measured on n points."""
    z = 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _catastrophic(curves: Curves, config: Config) -> ClaimResult:
    memorized = memorization(curves)
    if memorized is None:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="the network has not fitted every training label yet")
        flipped = curves.last(FLIPPED)
        if flipped is None:
            clean = curves.last(CLEAN)
            if clean is None:
                return ClaimResult(verdict="inconclusive", detail="the run logged no training accuracy")
            return ClaimResult(verdict="fail", value=clean, unit="final train accuracy",
                               detail=f"the run ended at train accuracy {clean:.3f}: it never fitted its training set")
        return ClaimResult(verdict="fail", value=flipped, unit="final train accuracy on flipped labels",
                           detail=f"the network never fitted the flipped labels: it ended classifying {flipped:.0%} "
                           "of them as labelled (it learned the clusters instead of memorizing)")
    test = _test_at(curves, memorized)
    if test is None:
        return ClaimResult(verdict="inconclusive", detail=f"no test accuracy was logged at step {memorized:g}")
    low, high = CHANCE - CHANCE_BAND, CHANCE + CHANCE_BAND
    near = low <= test <= high
    detail = (f"every training label was fitted at step {memorized:g}, with test accuracy {test:.3f} then (chance "
              f"is {CHANCE:g}; the claim allows {low:g} … {high:g})")
    if not near:
        detail += (": the network had already learned the clusters, so this overfitting was never catastrophic "
                   "(is d large enough next to n, and ‖μ‖² small enough next to d?)" if test > high
                   else ": worse than chance")
    return ClaimResult(verdict="pass" if near else "fail", value=test, interval=wilson(test, config.n_test),
                       detail=detail)


def _still_rising(curves: Curves) -> tuple[bool, float]:
    if TEST not in curves or len(curves[TEST][0]) < 20:
        return False, 0.0
    _, y = curves[TEST]
    k = max(int(len(y) * TAIL), 1)
    gain = float(np.mean(y[-k:]) - np.mean(y[-2 * k : -k]))
    return gain >= RISING, gain


def _grokking(curves: Curves, config: Config) -> ClaimResult:
    memorized, generalized = memorization(curves), generalization(curves)
    if generalized is None:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail=f"test accuracy has not held ≥ {GENERALIZED:.0%} yet")
        last = curves.last(TEST)
        if last is None:
            return ClaimResult(verdict="inconclusive", detail="the run logged no test accuracy")
        rising, gain = _still_rising(curves)
        if rising:
            return ClaimResult(verdict="inconclusive", value=last, unit="final test accuracy",
                               detail=f"test accuracy ended at {last:.3f}, still rising (+{gain:.3f} over the last "
                               f"{TAIL:.0%} of the run) when the {config.steps} steps ran out: more steps would tell")
        return ClaimResult(verdict="fail", value=last, unit="final test accuracy",
                           detail=f"test accuracy ended at {last:.3f} and had levelled off, never holding ≥ "
                           f"{GENERALIZED:.0%} within {config.steps} steps")
    if memorized is None:
        return ClaimResult(verdict="fail", value=0.0, unit="× memorization step",
                           detail=f"test accuracy reached {GENERALIZED:.0%} at step {generalized[0]:g}, but the "
                           "network never fitted every training label: generalization without memorization")
    factor = generalized[0] / max(memorized, 1.0)
    late = factor >= MIN_FACTOR
    detail = (f"memorized at step {memorized:g}, test accuracy ≥ {GENERALIZED:.0%} from step {generalized[0]:g}: "
              f"{factor:.3g}× later (the claim needs ≥ {MIN_FACTOR:g}×); test accuracy at the end "
              f"{curves.last(TEST):.3f}")
    if not late and generalized[0] <= memorized:
        detail += ". It generalized before it memorized: not grokking"
    return ClaimResult(verdict="pass" if late else "fail", value=factor, detail=detail)


def _benign(curves: Curves, config: Config) -> ClaimResult:
    if config.label_noise == 0:
        return ClaimResult(verdict="not_applicable", detail="label_noise = 0: no flipped labels to overfit")
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail="benign overfitting is judged at the end of the run")
    flipped, test = curves.last(FLIPPED), curves.last(TEST)
    if flipped is None:
        return ClaimResult(verdict="not_applicable", detail="no training label happened to be flipped in this draw")
    if test is None or generalization(curves) is None:
        return ClaimResult(verdict="inconclusive", detail="the network never generalized (test accuracy "
                           f"{'—' if test is None else f'{test:.3f}'} at the end), so there is no good test "
                           "accuracy to call the overfitting benign against")
    ok = flipped >= 1.0 and test >= GENERALIZED
    detail = (f"at the end the network still classifies {flipped:.0%} of the flipped training labels as (wrongly) "
              f"labelled, with test accuracy {test:.3f} on clean labels")
    if flipped < 1.0:
        detail += ": it un-memorized some flipped labels, so its fit is no longer an interpolation"
    elif test < GENERALIZED:
        detail += f": test accuracy fell below {GENERALIZED:.0%} again"
    return ClaimResult(verdict="pass" if ok else "fail", value=flipped, detail=detail)


CLAIMS = [
    Claim(
        id="catastrophic_overfitting",
        text=f"Early on the network fits every training label, the flipped ones included, while its test accuracy is "
        f"near chance ({CHANCE - CHANCE_BAND:g} … {CHANCE + CHANCE_BAND:g}): catastrophic overfitting.",
        check=_catastrophic,
        unit="test accuracy at memorization",
    ),
    Claim(
        id="grokking",
        text=f"Much later the same network reaches test accuracy ≥ {GENERALIZED:.0%} on clean labels, at a step at "
        f"least {MIN_FACTOR:g}× the memorization step: grokking.",
        check=_grokking,
        unit="× memorization step",
    ),
    Claim(
        id="benign_overfitting",
        text=f"At the end it still fits every flipped label while its clean test accuracy is ≥ {GENERALIZED:.0%}: "
        "the overfitting has become benign.",
        check=_benign,
        unit="train accuracy on flipped labels",
    ),
]
