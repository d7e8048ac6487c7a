"""What a label-noise run is checked for: the events worth marking, and the papers' claims. No torch here."""

import math

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Transition
from workers.phenomena.label_noise.config import FIT, MEMORIZED, REFERENCES, Config

DROP = 5.0  # points of test accuracy the peak must stand above the end of training
NOISE_RANGE = (20.0, 90.0)  # the early-peak claim is about 20 % ≤ noise < 90 % (see _early_peak_applies)
SMOOTH = 3  # test accuracy is read as a running mean over this many epochs (one epoch's value jitters ~1 point)
TAIL = 0.1  # "final" test accuracy: the mean over the last 10 % of the logged epochs (at least SMOOTH of them)
MIN_POINTS = 6  # logged epochs a peak-and-fall needs, epoch 0 included
MARK_DROP = 2.0  # points below the peak the curve must fall for the peak to be marked on the charts
HOLD = 3  # logged epochs a threshold must hold for (or to the end of a finished run) to count as crossed
CLIMBING = 3.0  # points the 100 % network still gained over the last 20 % of the epochs: "still climbing"


# -- reading the curves -----------------------------------------------------------------------------


def smoothed(y: np.ndarray) -> np.ndarray:
    """Centred running mean over SMOOTH points (fewer at the ends)."""
    half = SMOOTH // 2
    return np.array([y[max(0, i - half) : i + half + 1].mean() for i in range(len(y))])


def tail_length(n: int) -> int:
    return min(n, max(SMOOTH, math.ceil(TAIL * n)))


def first_sustained(x: np.ndarray, y: np.ndarray, threshold: float, finished: bool) -> float | None:
    """x of the first point from which y stays ≥ threshold for HOLD points (a finished run: or to its end)."""
    above = y >= threshold
    for i in range(len(above)):
        window = above[i : i + HOLD]
        if window.all() and (len(window) == HOLD or finished):
            return float(x[i])
    return None


def peak_and_final(curves: Curves) -> tuple[float, float, float] | None:
    """(epoch of the peak, peak, final) of the chosen network's smoothed test accuracy; None if nothing logged."""
    if "test/acc" not in curves or not len(curves["test/acc"][0]):
        return None
    x, y = curves["test/acc"]
    smooth = smoothed(y)
    top = int(np.argmax(smooth))
    return float(x[top]), float(smooth[top]), float(y[-tail_length(len(y)) :].mean())


def memorized_at(curves: Curves) -> float | None:
    if "train/noisy_memorized" not in curves:
        return None
    x, y = curves["train/noisy_memorized"]
    return first_sustained(x, y, MEMORIZED, curves.finished)


# -- detection --------------------------------------------------------------------------------------


def detect(curves: Curves, config: Config) -> list[Transition]:
    """The chosen network's test-accuracy peak (once the curve has fallen MARK_DROP points below it), the epoch
    its noisy images are memorized, and the epoch each network fits its labels."""
    found = []
    pf = peak_and_final(curves)
    if pf is not None:
        at, peak, _ = pf
        x, y = curves["test/acc"]
        later = smoothed(y)[x > at]
        if len(later) and (peak - later.min()) * 100 >= MARK_DROP:
            found.append(Transition(id="test_peak", label=f"test accuracy peaks ({peak:.1%})", x=at, axis="epoch",
                                    metric="test/acc", value=peak, charts=["story"]))
    hit = memorized_at(curves)
    if hit is not None:
        found.append(Transition(id="memorized", label=f"{MEMORIZED:.0%} of noisy images memorized", x=hit, axis="epoch",
                                metric="train/noisy_memorized", charts=["story"]))
    for member, (x, y) in curves.family("fit/acc").items():
        at_fit = first_sustained(x, y, FIT, curves.finished)
        if at_fit is not None:
            found.append(Transition(id=f"fit_{member:g}", label=f"{member:g} % noise: labels fit", x=at_fit, axis="epoch",
                                    metric="fit/acc", member=member, charts=["fit"]))
    return found


# -- claims -----------------------------------------------------------------------------------------


def _early_peak_applies(config: Config) -> str | None:
    """Why the early-peak claim does not apply to this noise level, or None when it does."""
    lo, hi = NOISE_RANGE
    if config.noise == 0:
        return "there are no wrong labels to memorize (noise 0 %)"
    if config.noise < lo:
        return (f"at {config.noise:g} % noise the fall is expected to be a few points at most, within the test "
                f"set's jitter; the claim is about {lo:g} % … {hi:g} %")
    if config.noise >= hi:
        return (f"at {config.noise:g} % noise the true digit is no longer the most common label of its class "
                f"(each wrong digit gets {config.noise / 9:.1f} %, the true one {100 - config.noise:g} %), so there "
                "is no early learning to lose")
    return None


def _early_peak(curves: Curves, config: Config) -> ClaimResult:
    pf = peak_and_final(curves)
    why = _early_peak_applies(config)
    if pf is None:
        return ClaimResult(verdict="not_applicable" if why else "not_yet",
                           detail=why or "no test accuracy logged yet.")
    at, peak, final = pf
    x, _ = curves["test/acc"]
    drop = round((peak - final) * 100, 9) + 0.0  # no 1e-14 (nor −0) for a curve that never fell
    n_tail = tail_length(len(x))
    measured = (f"test accuracy peaks at {peak:.1%} at epoch {at:g} ({SMOOTH}-epoch running mean) and ends at "
                f"{final:.1%} (mean of the last {n_tail} epochs): a drop of {drop:.1f} points")
    memorized = memorized_at(curves)
    if memorized is not None:
        measured += f"; {MEMORIZED:.0%} of the noisy images predicted their wrong label from epoch {memorized:g}"
    if why:
        return ClaimResult(verdict="not_applicable", value=drop, detail=f"{measured}. Not what the claim is about: "
                           f"{why}.")
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=drop, detail=f"so far {measured}; decided when training ends.")
    if len(x) < MIN_POINTS:
        return ClaimResult(verdict="inconclusive", value=drop, detail=f"only {len(x)} epochs logged: a peak and a "
                           f"fall need at least {MIN_POINTS}. Raise epochs.")
    se = math.hypot(math.sqrt(peak * (1 - peak) / config.n_test), math.sqrt(final * (1 - final) / config.n_test))
    interval = (drop - 196 * se, drop + 196 * se)  # 95 %: binomial error of both accuracies on the test set, in points
    ok = drop >= DROP
    detail = f"{measured}; the claim needs at least {DROP:g}."
    if not ok:
        detail += (" The network did not (yet) memorize its wrong labels: train longer, or lower weight_decay."
                   if memorized is None else " Memorized, but the test accuracy held: a milder noise level?")
    return ClaimResult(verdict="pass" if ok else "fail", value=drop, interval=interval, detail=detail)


def _random_fit(curves: Curves, config: Config) -> ClaimResult:
    clean, random = REFERENCES
    family = curves.family("fit/acc")
    if clean not in config.members or random not in config.members:
        return ClaimResult(verdict="not_applicable", detail="needs the 0 % and 100 % networks side by side: turn "
                           "references on.")
    if clean not in family or random not in family:
        return ClaimResult(verdict="not_yet", detail="no train accuracy logged yet.")
    (xc, yc), (xr, yr) = family[clean], family[random]
    clean_at = first_sustained(xc, yc, FIT, curves.finished)
    random_at = first_sustained(xr, yr, FIT, curves.finished)
    if clean_at is not None and random_at is not None:
        slowdown = random_at / clean_at
        # each crossing is known to one logged epoch: it happened after the previous one
        before_c, before_r = xc[xc < clean_at], xr[xr < random_at]
        interval = None
        if len(before_c) and before_c[-1] > 0 and len(before_r):
            interval = (float(before_r[-1] / clean_at), float(random_at / before_c[-1]))
        ok = slowdown > 1
        detail = (f"the 0 % network fits its true labels (train accuracy ≥ {FIT:.0%}) at epoch {clean_at:g}, the "
                  f"100 % network its random ones at epoch {random_at:g}: {slowdown:.1f}× slower.")
        if not ok:
            detail += " Random labels were fit no slower than true ones."
        return ClaimResult(verdict="pass" if ok else "fail", value=slowdown, interval=interval, detail=detail)
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail=f"train accuracy so far: {yc[-1]:.1%} on true labels, "
                           f"{yr[-1]:.1%} on random ones; the claim needs both ≥ {FIT:.0%}.")
    if clean_at is None:
        return ClaimResult(verdict="inconclusive", detail=f"even the true labels were not fit (train accuracy "
                           f"{yc[-1]:.1%} < {FIT:.0%}): a wider network, a higher lr or more epochs.")
    window = max(2, math.ceil(0.2 * len(yr)))
    gained = (yr[-1] - yr[-window]) * 100
    final = float(yr[-1]) * 100
    if gained >= CLIMBING:
        return ClaimResult(verdict="inconclusive", value=final, unit="% train accuracy",
                           detail=f"the 100 % network reached {final:.1f} % train accuracy, still climbing ({gained:.1f} "
                           f"points over the last {window} epochs), against {FIT:.0%} needed: train longer.")
    return ClaimResult(verdict="fail", value=final, unit="% train accuracy",
                       detail=f"the 100 % network stalled at {final:.1f} % train accuracy ({gained:+.1f} points over "
                       f"the last {window} epochs) while the true labels were fit at epoch {clean_at:g}: this network "
                       "cannot (or may not, under its weight decay) memorize random labels.")


CLAIMS = [
    Claim(
        id="early_peak",
        text=f"With noisy labels the network first learns the digits and only then memorizes the wrong labels: test "
        f"accuracy peaks early and falls at least {DROP:g} points by the end of training ({NOISE_RANGE[0]:g} % ≤ "
        f"noise < {NOISE_RANGE[1]:g} %).",
        check=_early_peak,
        unit="points",
    ),
    Claim(
        id="random_fit",
        text=f"Random labels are still fit: the 100 % network reaches {FIT:.0%} train accuracy, and later than the "
        "0 % network fits the true labels (value: how many times later).",
        check=_random_fit,
        unit="× slower",
    ),
]
