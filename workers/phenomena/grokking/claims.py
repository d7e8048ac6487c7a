"""Grokking's detectors and claims: memorization and grokking steps, the weight norm, softmax collapse, label
noise refused, and Grokfast's speed-up. No torch here (the API reads it)."""

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Series, Transition
from workers.phenomena.grokking.config import Config

MEMORIZED_ACC = 0.99
GROKKED_ACC = 0.95
HOLD = 10  # logged points a threshold must hold for, so a single noisy crossing does not count
TAIL = 0.1  # "still rising": the last 10 % of the steps against the 10 % before them
RISING = 0.02  # ... by at least 2 points of accuracy

MIN_DELAY_STEPS = 100
MIN_DELAY_FACTOR = 2.0  # grokking step ≥ this × memorization step
MIN_NORM_DROP = 0.1  # the weight norm must fall by at least 10 % from its peak after memorization

COLLAPSED = 0.5  # softmax collapse: at least half the training examples at exactly zero loss ...
COLLAPSE_HOLD = HOLD  # ... for this many logged points
REFUSED = 0.5  # label noise refused: over half the corrupted examples predicted with their true answer
MIN_SPEEDUP = 2.0  # Grokfast: grokking at least this many times sooner than without the filter

MEMORIZED, VAL_ACC = "train/acc", "val/acc"
CLEAN_ACC = "train/acc_clean"
NOISY_MEMORIZED, NOISY_TRUE = "train/noisy_memorized", "train/noisy_true"
ZERO_LOSS = "train/zero_loss"
GROKFAST_VAL = "grokfast/val_acc"


def _first_sustained_xy(xy: Series, threshold: float, finished: bool, hold: int = HOLD) -> tuple[int, float] | None:
    """(step, value) of the first point from which y stays ≥ threshold for `hold` points.

    Near the live end of a run a crossing counts only once `hold` points are in, unless the run finished.
    """
    x, y = xy
    if not len(x):
        return None
    above = np.asarray(y) >= threshold
    held = np.zeros(len(above), dtype=bool)
    if len(above) >= hold:
        held[: len(above) - hold + 1] = np.lib.stride_tricks.sliding_window_view(above, hold).all(axis=1)
    if finished:  # the last points: above from there to the end is enough
        tail = slice(max(len(above) - hold + 1, 0), None)
        held[tail] = np.logical_and.accumulate(above[tail][::-1])[::-1]
    hits = np.flatnonzero(held)
    return (int(x[hits[0]]), float(y[hits[0]])) if len(hits) else None


def _first_sustained(curves: Curves, name: str, threshold: float) -> tuple[int, float] | None:
    if name not in curves:
        return None
    return _first_sustained_xy(curves[name], threshold, curves.finished)


def memorization_metric(curves: Curves, config: Config) -> str:
    """The accuracy memorization is judged on: clean-label train accuracy when labels are corrupted (a corrupted
    run that refuses its wrong labels never reaches 99 % on all of them), else train accuracy (identical then)."""
    return CLEAN_ACC if config.n_noisy > 0 and CLEAN_ACC in curves else MEMORIZED


def _events(curves: Curves, config: Config) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
    memorized = _first_sustained(curves, memorization_metric(curves, config), MEMORIZED_ACC)
    return memorized, _first_sustained(curves, VAL_ACC, GROKKED_ACC)


def _rising(y: np.ndarray) -> tuple[bool, float]:
    if len(y) < 20:
        return False, 0.0
    k = max(int(len(y) * TAIL), 1)
    gain = float(np.mean(y[-k:]) - np.mean(y[-2 * k : -k]))
    return gain >= RISING, gain


def _still_rising(curves: Curves) -> tuple[bool, float]:
    """(rising, gain): did validation accuracy gain ≥ RISING over the last TAIL of the steps?"""
    if VAL_ACC not in curves:
        return False, 0.0
    return _rising(curves[VAL_ACC][1])


def detect(curves: Curves, config: Config) -> list[Transition]:
    memorized, grokked = _events(curves, config)
    found = []
    if memorized:
        clean = memorization_metric(curves, config) == CLEAN_ACC
        found.append(Transition(id="memorization", label=f"memorized ({'clean ' if clean else ''}train acc ≥ 99%)",
                                x=memorized[0], metric=CLEAN_ACC if clean else MEMORIZED, value=memorized[1]))
    if grokked:
        delay = f" (+{grokked[0] - memorized[0]} steps)" if memorized else ""
        found.append(Transition(id="grokking", label=f"grokked{delay}", x=grokked[0], metric=VAL_ACC,
                                value=grokked[1]))
    if ZERO_LOSS in curves:
        collapsed = _first_sustained(curves, ZERO_LOSS, COLLAPSED)
        if collapsed:
            found.append(Transition(id="softmax_collapse", label="softmax collapse", x=collapsed[0],
                                    metric=ZERO_LOSS, value=collapsed[1], charts=["softmax_collapse"]))
    return found


# -- claims ---------------------------------------------------------------------------------------


def _not_grokked(curves: Curves, config: Config, value: float | None = None, why: str = "") -> ClaimResult:
    """The verdict when validation accuracy never held ≥ 95 %: not yet (live), inconclusive (still rising at
    the end of the budget: more steps would tell), or fail (it had levelled off)."""
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=value, detail="validation accuracy has not reached 95 % yet")
    rising, gain = _still_rising(curves)
    last = curves.last(VAL_ACC)
    level = f"validation accuracy ended at {last:.2f}" if last is not None else "no validation accuracy"
    if rising:
        return ClaimResult(verdict="inconclusive", value=value,
                           detail=f"{level} and was still rising (+{gain:.2f} over the last {TAIL:.0%} of the "
                           f"steps) when the {config.steps} steps ran out: more steps would tell{why}")
    unit = None
    if value is None:
        value, unit = (last if last is not None else 0.0), "final validation accuracy"
    return ClaimResult(verdict="fail", value=value, unit=unit,
                       detail=f"{level}, levelled off, and never held ≥ {GROKKED_ACC:.0%} within "
                       f"{config.steps} steps{why}")


def _late_generalization(curves: Curves, config: Config) -> ClaimResult:
    memorized, grokked = _events(curves, config)
    if grokked is None:
        return _not_grokked(curves, config)
    clean = " clean" if memorization_metric(curves, config) == CLEAN_ACC else ""
    if memorized is None:
        return ClaimResult(verdict="fail", value=0.0,
                           detail=f"generalized at step {grokked[0]} without first fitting the{clean} training set")
    delay = grokked[0] - memorized[0]
    late = delay >= MIN_DELAY_STEPS and grokked[0] >= MIN_DELAY_FACTOR * memorized[0]
    detail = f"memorized the{clean} training set at step {memorized[0]}, generalized at step {grokked[0]}: " \
             f"{delay} steps later"
    if not late:
        detail += f" (needs ≥ {MIN_DELAY_STEPS} steps and ≥ {MIN_DELAY_FACTOR:g}× the memorization step)"
    return ClaimResult(verdict="pass" if late else "fail", value=float(delay), detail=detail)


def _norm_falls(curves: Curves, config: Config) -> ClaimResult:
    """Value: the norm's change from its peak after memorization to grokking (or to the end), as a fraction."""
    memorized, grokked = _events(curves, config)
    if "weight_norm" not in curves or not len(curves["weight_norm"][0]) or memorized is None:
        if curves.finished:
            return ClaimResult(verdict="inconclusive", detail="the network never memorized the training set, so "
                               "there is no 'after memorization' to measure the norm from")
        return ClaimResult(verdict="not_yet", detail="the network has not memorized the training set yet")
    x, norm = curves["weight_norm"]
    end = grokked[0] if grokked else int(x[-1])
    window = (x >= memorized[0]) & (x <= end)
    if not window.any():
        return ClaimResult(verdict="not_yet", detail="no weight norm logged after memorization yet")
    at_memorization, at_end = float(norm[window][0]), float(norm[window][-1])
    peak_i = int(np.argmax(norm[window]))
    peak, peak_step = float(norm[window][peak_i]), int(x[window][peak_i])
    from_peak, from_memorization = at_end / peak - 1, at_end / at_memorization - 1
    moved = (f"the weight norm was {at_memorization:.1f} at memorization (step {memorized[0]}), peaked at "
             f"{peak:.1f} (step {peak_step}) and was {at_end:.1f} at {'grokking' if grokked else 'the end'} "
             f"(step {end}): {from_peak:+.0%} from its peak, {from_memorization:+.0%} since memorization")
    if grokked is None:
        if from_peak <= -MIN_NORM_DROP:  # it fell, but generalization has not (yet) followed
            result = _not_grokked(curves, config, from_peak, f"; {moved}")
            return result if result.verdict != "fail" else ClaimResult(
                verdict="inconclusive", value=from_peak,
                detail=f"{moved}, yet validation accuracy did not rise to {GROKKED_ACC:.0%}")
        if not curves.finished:
            return ClaimResult(verdict="not_yet", value=from_peak, detail=moved)
        # It never came down: the informative number is how far it rose since memorization.
        return ClaimResult(verdict="fail", value=from_memorization, unit="fraction, change since memorization",
                           detail=f"{moved}; it did not fall, and validation accuracy never rose to "
                           f"{GROKKED_ACC:.0%}")
    fell = from_peak <= -MIN_NORM_DROP
    detail = moved + ("" if fell else f"; needs a drop of at least {MIN_NORM_DROP:.0%} from the peak")
    return ClaimResult(verdict="pass" if fell else "fail", value=from_peak, detail=detail)


def _softmax_collapse(curves: Curves, config: Config) -> ClaimResult:
    """Value: the largest fraction of training examples at exactly zero loss."""
    if config.output != "softmax" or config.weight_decay > 0:
        return ClaimResult(verdict="not_applicable",
                           detail="the claim is about softmax cross-entropy without weight decay; this run uses "
                           + ("StableMax" if config.output != "softmax" else f"weight decay {config.weight_decay:g}, "
                              "which keeps the logits small"))
    if ZERO_LOSS not in curves or not len(curves[ZERO_LOSS][0]):
        return ClaimResult(verdict="not_yet" if not curves.finished else "inconclusive",
                           detail="no zero-loss fraction logged (a run from before it was measured)")
    x, y = curves[ZERO_LOSS]
    peak_i = int(np.argmax(y))
    peak, peak_step = float(y[peak_i]), int(x[peak_i])
    collapsed = _first_sustained(curves, ZERO_LOSS, COLLAPSED)
    val = curves.last(VAL_ACC)
    val_text = f"; validation accuracy {val:.2f} at the end" if val is not None else ""
    if collapsed:
        return ClaimResult(verdict="pass", value=peak,
                           detail=f"from step {collapsed[0]} at least {COLLAPSED:.0%} of the training examples had "
                           f"a {config.dtype} loss of exactly 0 (no gradient through their correct logit), peaking "
                           f"at {peak:.0%} at step {peak_step}{val_text}")
    seen = f"the fraction of training examples at exactly zero loss peaked at {peak:.1%} (step {peak_step})"
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=peak, detail=seen)
    rising, gain = _rising(y)
    if rising:
        return ClaimResult(verdict="inconclusive", value=peak,
                           detail=f"{seen} and was still rising (+{gain:.2f}) when the {config.steps} steps ran out")
    return ClaimResult(verdict="fail", value=peak,
                       detail=f"{seen}: it never held ≥ {COLLAPSED:.0%} within {config.steps} steps ({config.dtype})"
                       f"{val_text}")


def _noise_refused(curves: Curves, config: Config) -> ClaimResult:
    """Value: the final fraction of the corrupted training examples predicted with their TRUE answer."""
    if config.n_noisy == 0:
        return ClaimResult(verdict="not_applicable", detail="no training label is corrupted (label_noise = 0)")
    if NOISY_TRUE not in curves or NOISY_MEMORIZED not in curves or not len(curves[NOISY_TRUE][0]):
        return ClaimResult(verdict="not_yet" if not curves.finished else "inconclusive",
                           detail="no accuracy on the corrupted examples logged (a run from before it was measured)")
    share = config.noisy_share
    x, true = curves[NOISY_TRUE]
    _, wrong = curves[NOISY_MEMORIZED]
    true, wrong = np.asarray(true) / share, np.asarray(wrong) / share  # fractions of the corrupted examples
    k = min(HOLD, len(true))
    final_true, final_wrong = float(np.mean(true[-k:])), float(np.mean(wrong[-k:]))
    peak_i = int(np.argmax(wrong))
    story = (f"of the {config.n_noisy} corrupted training examples, {final_true:.0%} end predicted with their true "
             f"answer and {final_wrong:.0%} with their corrupted label (which peaked at {wrong[peak_i]:.0%}, step "
             f"{int(x[peak_i])})")
    if final_true >= REFUSED and final_true > final_wrong:
        return ClaimResult(verdict="pass", value=final_true, detail=story)
    if not curves.finished:
        return ClaimResult(verdict="not_yet", value=final_true, detail=story)
    rising, gain = _rising(true)
    if rising and final_wrong < REFUSED:
        return ClaimResult(verdict="inconclusive", value=final_true,
                           detail=f"{story}; the true answers were still gaining (+{gain:.2f}) when the "
                           f"{config.steps} steps ran out")
    why = "the network memorized the corrupted labels" if final_wrong >= final_true else \
        f"under {REFUSED:.0%} get their true answer"
    return ClaimResult(verdict="fail", value=final_true, detail=f"{story}: {why}")


def _grokfast_speedup(curves: Curves, config: Config) -> ClaimResult:
    """Value: grokking step without the filter / with it, both from the same initialization in this run."""
    if not config.grokfast:
        return ClaimResult(verdict="not_applicable", detail="Grokfast is off (grokfast_lambda = 0)")
    family = curves.family(GROKFAST_VAL)
    lam = config.grokfast_lambda
    plain, filtered = family.get(0.0), family.get(float(lam))
    if plain is None or filtered is None or not len(filtered[0]):
        return ClaimResult(verdict="not_yet" if not curves.finished else "inconclusive",
                           detail="the run has not logged both twins' validation accuracy")
    with_filter = _first_sustained_xy(filtered, GROKKED_ACC, curves.finished)
    without = _first_sustained_xy(plain, GROKKED_ACC, curves.finished)
    if with_filter is None:
        if not curves.finished:
            return ClaimResult(verdict="not_yet", detail=f"the filtered twin (λ = {lam:g}) has not grokked yet")
        return ClaimResult(verdict="fail", value=float(filtered[1][-1]), unit="final validation accuracy (λ on)",
                           detail=f"with Grokfast (λ = {lam:g}, α = {config.grokfast_alpha:g}) validation accuracy "
                           f"ended at {filtered[1][-1]:.2f} and never held ≥ {GROKKED_ACC:.0%}")
    first = max(with_filter[0], 1)
    if without is None:
        lower = config.steps / first
        if not curves.finished:
            return ClaimResult(verdict="not_yet", value=float(plain[0][-1]) / first,
                               detail=f"grokked at step {with_filter[0]} with Grokfast; the twin without it has not "
                               f"yet (step {int(plain[0][-1])})")
        if lower >= MIN_SPEEDUP:
            return ClaimResult(verdict="pass", value=lower, unit="× sooner (at least)",
                               detail=f"with Grokfast (λ = {lam:g}) it grokked at step {with_filter[0]}; the same "
                               f"initialization without the filter had not grokked by step {config.steps}: at least "
                               f"{lower:.1f}× sooner")
        return ClaimResult(verdict="inconclusive", value=lower, unit="× sooner (at least)",
                           detail=f"with Grokfast it grokked at step {with_filter[0]}, without it not within "
                           f"{config.steps} steps: the factor is at least {lower:.1f}, too short a budget to tell")
    factor = max(without[0], 1) / first
    detail = (f"with Grokfast (λ = {lam:g}, α = {config.grokfast_alpha:g}) it grokked at step {with_filter[0]}, "
              f"without the filter at step {without[0]}: {factor:.1f}× sooner")
    if factor < MIN_SPEEDUP:
        detail += f" (needs ≥ {MIN_SPEEDUP:g}×)"
    return ClaimResult(verdict="pass" if factor >= MIN_SPEEDUP else "fail", value=factor, detail=detail)


CLAIMS = [
    Claim(
        id="late_generalization",
        text="Generalization comes long after memorization: validation accuracy reaches 95 % "
        "well after training accuracy reaches 99 %.",
        check=_late_generalization,
        unit="steps",
    ),
    Claim(
        id="norm_falls",
        text="The weight norm falls while validation accuracy rises: at grokking it is well below its peak "
        "after memorization.",
        check=_norm_falls,
        unit="fraction",
    ),
    Claim(
        id="softmax_collapse",
        text="Without weight decay, softmax cross-entropy drives the logits up until float rounding makes most "
        "training examples' loss exactly 0, and their gradient with it (softmax collapse).",
        check=_softmax_collapse,
        unit="fraction of training examples",
    ),
    Claim(
        id="noise_refused",
        text="With corrupted training labels and weight decay, the network does not memorize them: most corrupted "
        "examples end up predicted with their true answer.",
        check=_noise_refused,
        unit="fraction of corrupted examples",
    ),
    Claim(
        id="grokfast_speedup",
        text="Amplifying the slow (EMA-filtered) component of the gradient makes the network grok several times "
        "sooner than the same initialization without the filter.",
        check=_grokfast_speedup,
        unit="× sooner",
    ),
]
