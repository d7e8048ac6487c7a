"""What an edge-of-stability run is checked for: the onset worth marking, and the papers' claims. No torch here."""

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Transition
from workers.phenomena.edge_of_stability.config import GROUP_A, GROUP_B, ONSET, Config

HOVER = (0.8, 1.25)  # the mean of sharpness / (2/η) over the second half of the run must lie in here
MIN_POINTS = 4  # sharpness measurements the second half must hold to judge the hover
FELL = 0.85  # "well below": the loss at the end at most this × the loss at the onset
END_WINDOW = 0.05  # "the loss at the end": the mean over the last 5 % of the steps (at least 5 of them)
MIN_AFTER = 20  # steps after the onset needed to judge what the loss does there
MIN_RISING = 0.01  # "non-monotonic": the loss rises on at least 1 % of the steps after the onset
SHARPENED = 1.5  # progressive sharpening: the sharpness grows at least this much before it meets 2/η
OPPOSED = -0.5  # opposing signals: the two groups' step-to-step loss changes correlate at most this much
BOOTSTRAP = 1000


# -- shared readings -------------------------------------------------------------------------------------------


def _ratio(curves: Curves, config: Config) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, sharpness × η/2) of the measurements so far, or None when there are none."""
    if "sharpness" not in curves or not len(curves["sharpness"][0]):
        return None
    x, s = curves["sharpness"]
    return x, s / config.two_over_eta


def onset(curves: Curves, config: Config) -> tuple[float, float] | None:
    """(step, sharpness) of the first measurement at or above ONSET × 2/η: the edge of stability begins."""
    measured = _ratio(curves, config)
    if measured is None:
        return None
    x, r = measured
    hits = np.flatnonzero(r >= ONSET)
    return (float(x[hits[0]]), float(r[hits[0]] * config.two_over_eta)) if len(hits) else None


def _diverged(curves: Curves, config: Config) -> float | None:
    """The last logged step of a finished run that ended short of its steps (the loss blew up), else None."""
    if not curves.finished or "train/loss" not in curves or not len(curves["train/loss"][0]):
        return None
    last = float(curves["train/loss"][0][-1])
    return last if last < config.steps else None


def _missing(curves: Curves, what: str) -> ClaimResult:
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail=f"no {what} logged yet.")
    return ClaimResult(verdict="inconclusive", detail=f"the run finished without logging {what}.")


def detect(curves: Curves, config: Config) -> list[Transition]:
    """The onset of the edge of stability: the sharpness first reaches ONSET × 2/η."""
    found = onset(curves, config)
    if found is None:
        return []
    step, value = found
    return [Transition(id="edge_of_stability", label=f"edge of stability (sharpness ≥ {ONSET:g} · 2/η)", x=step,
                       metric="sharpness", value=value)]


# -- claims -----------------------------------------------------------------------------------------------------


def _hovers(curves: Curves, config: Config) -> ClaimResult:
    measured = _ratio(curves, config)
    if measured is None:
        return _missing(curves, "sharpness")
    x, r = measured
    if (stop := _diverged(curves, config)) is not None:
        return ClaimResult(verdict="fail", value=float(r[-1]), unit="× 2/η, last measured",
                           detail=f"the loss diverged at step {stop:g} of {config.steps}, the last measured "
                           f"sharpness {r[-1]:.2f} × 2/η: η = {config.lr:g} is too large for GD to self-stabilize.")
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail=f"the claim is about the second half of the run; the sharpness "
                           f"is {r[-1]:.2f} × 2/η at step {x[-1]:g} of {config.steps}.")
    late = r[x >= config.steps / 2]
    if len(late) < MIN_POINTS:
        return ClaimResult(verdict="inconclusive", detail=f"only {len(late)} sharpness measurements in the second "
                           f"half (needs {MIN_POINTS}): lower sharpness_every.")
    mean = float(late.mean())
    lo, hi = (float(v) for v in np.percentile(late, [2.5, 97.5]))
    low, high = HOVER
    ok = low <= mean <= high
    detail = (f"over the second half ({len(late)} measurements, steps {config.steps // 2} … {config.steps}) the "
              f"sharpness averaged {mean:.2f} × 2/η = {mean * config.two_over_eta:.1f} (2/η = "
              f"{config.two_over_eta:.1f}); 95 % of the measurements lay within {lo:.2f} … {hi:.2f} × 2/η. The claim "
              f"allows a mean of {low:g} … {high:g}.")
    if mean < low:
        detail += (" The sharpness stayed below 2/η: GD was stable throughout, as the paper predicts when η is "
                   "small enough that progressive sharpening has not reached 2/η within the budget.")
    elif mean > high:
        detail += " The sharpness sat well above 2/η: GD did not pull it back to the stability limit."
    return ClaimResult(verdict="pass" if ok else "fail", value=mean, interval=(lo, hi), detail=detail)


def _loss_falls(curves: Curves, config: Config) -> ClaimResult:
    if "train/loss" not in curves or not len(curves["train/loss"][0]):
        return _missing(curves, "training loss")
    x, loss = curves["train/loss"]
    rises = np.diff(loss) > 0
    found = onset(curves, config)
    if found is None:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="the sharpness has not reached the edge of stability yet.")
        return ClaimResult(verdict="not_applicable",
                           detail=f"the sharpness never reached {ONSET:g} × 2/η, so there was no edge of stability: "
                           f"GD stayed stable, and its loss rose on {int(rises.sum())} of {len(rises)} steps.")
    start = int(np.searchsorted(x, found[0]))
    after = loss[start:]
    risen = int((np.diff(after) > 0).sum())
    if (stop := _diverged(curves, config)) is not None:
        return ClaimResult(verdict="fail", value=float(loss[-1] / loss[start]), unit="× loss at the onset",
                           detail=f"the loss diverged at step {stop:g}: from {loss[start]:.3g} at the onset (step "
                           f"{found[0]:g}) it reached {loss[-1]:.3g}.")
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail=f"at the edge of stability since step {found[0]:g}; the loss "
                           f"rose on {risen} of {len(after) - 1} steps since. The claim is judged at the end.")
    if len(after) - 1 < MIN_AFTER:
        return ClaimResult(verdict="inconclusive", detail=f"the edge of stability began at step {found[0]:g}, "
                           f"{len(after) - 1} steps before the end: too few to tell (needs {MIN_AFTER}).")
    window = max(5, round(END_WINDOW * config.steps))
    end = float(after[-window:].mean())
    ratio = end / float(after[0])
    fell, bumpy = ratio <= FELL, risen >= MIN_RISING * (len(after) - 1)
    detail = (f"the loss was {after[0]:.3g} at the onset (step {found[0]:g}) and {end:.3g} over the last {window} "
              f"steps ({ratio:.2f} × its onset value; the claim needs ≤ {FELL:g}); it rose on {risen} of "
              f"{len(after) - 1} steps since the onset ({risen / (len(after) - 1):.0%}).")
    if not bumpy:
        detail += f" It rose on fewer than {MIN_RISING:.0%} of them: that is stable GD, not the edge of stability."
    elif not fell:
        detail += " It did not fall far enough: train longer."
    return ClaimResult(verdict="pass" if fell and bumpy else "fail", value=ratio, detail=detail)


def _sharpening(curves: Curves, config: Config) -> ClaimResult:
    measured = _ratio(curves, config)
    if measured is None or len(measured[0]) < 3:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="fewer than three sharpness measurements so far.")
        return ClaimResult(verdict="inconclusive", detail="the run finished with fewer than three sharpness "
                           "measurements: lower sharpness_every.")
    x, r = measured
    s = r * config.two_over_eta
    found = onset(curves, config)
    if found is not None and found[0] == x[0]:
        return ClaimResult(verdict="not_applicable", detail=f"the sharpness started at {s[0]:.1f}, already at or above "
                           f"{ONSET:g} × 2/η = {ONSET * config.two_over_eta:.1f}: there was nothing to sharpen towards "
                           "(a large η or init_scale; GD first catapults down).")
    end = int(np.searchsorted(x, found[0])) if found is not None else len(s) - 1
    top = end if found is not None else int(np.argmax(s))
    low = int(np.argmin(s[: top + 1]))
    grew = float(s[top] / s[low])
    where = f"at the onset (step {x[top]:g})" if found is not None else f"at its highest (step {x[top]:g})"
    detail = (f"the sharpness grew from {s[low]:.2f} (step {x[low]:g}) to {s[top]:.2f} {where}: × {grew:.2f}; the "
              f"claim needs × {SHARPENED:g}. 2/η = {config.two_over_eta:.1f}.")
    if grew >= SHARPENED:
        return ClaimResult(verdict="pass", value=grew, detail=detail)
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=grew, detail=detail)
    return ClaimResult(verdict="fail", value=grew, detail=detail)


def _opposing(curves: Curves, config: Config) -> ClaimResult:
    if config.outliers == 0:
        return ClaimResult(verdict="not_applicable", detail="outliers = 0: there are no opposing groups to compare.")
    if "loss/group_a" not in curves or "loss/group_b" not in curves or not len(curves["loss/group_a"][0]):
        return _missing(curves, "the groups' losses")
    found = onset(curves, config)
    if found is None:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail="the sharpness has not reached the edge of stability yet.")
        return ClaimResult(verdict="not_applicable", detail=f"the sharpness never reached {ONSET:g} × 2/η: without "
                           "an edge of stability there is no oscillation for the groups to share out.")
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail=f"at the edge of stability since step {found[0]:g}; the claim is "
                           "judged on the whole stretch after it, at the end.")
    x, a = curves["loss/group_a"]
    _, b = curves["loss/group_b"]
    start = int(np.searchsorted(x, found[0]))
    da, db = np.diff(a[start:]), np.diff(b[start:])
    if len(da) < MIN_AFTER or da.std() == 0 or db.std() == 0:
        return ClaimResult(verdict="inconclusive", detail=f"{len(da)} steps after the onset (step {found[0]:g}), or "
                           f"a group's loss never moved: too little to correlate (needs {MIN_AFTER} steps).")
    corr = float(np.corrcoef(da, db)[0, 1])
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(da), size=(BOOTSTRAP, len(da)))
    boots = [np.corrcoef(da[p], db[p])[0, 1] for p in picks]
    lo, hi = (float(v) for v in np.nanpercentile(boots, [2.5, 97.5]))
    ok = corr <= OPPOSED
    detail = (f"after the onset (step {found[0]:g}) the step-to-step changes of group a's loss ({config.outliers} "
              f"{GROUP_A}s) and group b's ({config.outliers} {GROUP_B}s) correlate at {corr:.2f} (95 % bootstrap "
              f"interval {lo:.2f} … {hi:.2f}, over {len(da)} steps); the claim needs ≤ {OPPOSED:g}: when one group's "
              "loss rises, the other's falls.")
    return ClaimResult(verdict="pass" if ok else "fail", value=corr, interval=(lo, hi), detail=detail)


CLAIMS = [
    Claim(
        id="hovers_at_2_over_eta",
        text=f"The sharpness rises to 2/η and hovers there: over the second half of training, sharpness / (2/η) "
        f"averages between {HOVER[0]:g} and {HOVER[1]:g}.",
        check=_hovers,
        unit="× 2/η",
    ),
    Claim(
        id="loss_falls_non_monotonically",
        text=f"At the edge of stability the loss keeps falling, though not monotonically: it rises on at least "
        f"{MIN_RISING:.0%} of the steps, and at the end it is at most {FELL:g} × its value at the onset.",
        check=_loss_falls,
        unit="× loss at the onset",
    ),
    Claim(
        id="progressive_sharpening",
        text=f"Progressive sharpening: before it meets 2/η, the sharpness grows by at least × {SHARPENED:g}.",
        check=_sharpening,
        unit="× its lowest value",
    ),
    Claim(
        id="opposing_signals",
        text=f"Opposing signals: at the edge of stability the two outlier groups, which share one loud feature with "
        f"different labels, take turns; their step-to-step loss changes correlate at {OPPOSED:g} or below.",
        check=_opposing,
        unit="correlation",
    ),
]
