"""What a neural-collapse run is checked for: the start of the terminal phase, and the paper's claims about what
happens during it. No torch here."""

import numpy as np

from workers.phenomena.contract import Claim, ClaimResult, Curves, Transition
from workers.phenomena.neural_collapse.config import CLASSES, ETF_COSINE, Config

ZERO_ERROR = 1 - 1e-9  # training accuracy counts as 100 % above this
HOLD = 5  # on a live run, zero error must hold for this many logged points before it counts as the terminal phase
MIN_TERMINAL = 0.25  # the terminal phase must last at least this fraction of the epochs for a claim to judge it
NC1_FACTOR = 10.0  # NC1 must fall at least this many times from the start of the terminal phase to the end
SPREAD_MAX = 0.06  # the class means' cosines: final standard deviation at most this ...
SPREAD_SHRINK = 1.5  # ... and at least this many times smaller than at the start of the terminal phase
EQUINORM_MAX = 0.025  # the class means' norms: final coefficient of variation at most this ...
EQUINORM_SHRINK = 1.5  # ... and at least this many times smaller than at the start of the terminal phase
NC3_MAX = 0.1  # classifier against class means: final ‖W/‖W‖ − M/‖M‖‖² at most this (they start near 2)


# -- detection -------------------------------------------------------------------------------------


def terminal_start(curves: Curves) -> float | None:
    """The epoch from which training accuracy stays at 100 % (to the end of a finished run; on a live run for at
    least HOLD logged points up to now): the start of the terminal phase of training."""
    if "train/acc" not in curves or not len(curves["train/acc"][0]):
        return None
    x, acc = curves["train/acc"]
    perfect = acc >= ZERO_ERROR
    if not perfect[-1]:
        return None
    first = len(perfect) - int(np.argmin(perfect[::-1])) if not perfect.all() else 0  # start of the last run of 1s
    if not curves.finished and len(perfect) - first < HOLD:
        return None
    return float(x[first])


def detect(curves: Curves, config: Config) -> list[Transition]:
    start = terminal_start(curves)
    if start is None:
        return []
    return [Transition(id="terminal_phase", label="zero training error: the terminal phase starts", x=start,
                       axis="epoch", metric="train/acc", value=1.0)]


# -- claims ----------------------------------------------------------------------------------------


def _terminal(curves: Curves, config: Config) -> tuple[float, float] | ClaimResult:
    """(start, end) epochs of the terminal phase of a finished run, or the verdict instead."""
    if not curves.finished:
        return ClaimResult(verdict="not_yet", detail="the claim compares the start of the terminal phase with the "
                           "end of training: it is decided when the run finishes.")
    start = terminal_start(curves)
    if start is None:
        last = curves.last("train/acc")
        reached = f"training accuracy ended at {last:.1%}" if last is not None else "no training accuracy was logged"
        return ClaimResult(verdict="inconclusive", detail=f"{reached}: the network never stayed at zero training "
                           "error, so there was no terminal phase to watch. Train longer or raise lr.")
    end = float(curves["train/acc"][0][-1])
    if end - start < MIN_TERMINAL * config.epochs:
        return ClaimResult(verdict="inconclusive", detail=f"the terminal phase started at epoch {start:g} and lasted "
                           f"{end - start:g} of {config.epochs} epochs; the claim needs at least "
                           f"{MIN_TERMINAL:.0%} of the run in it. Train longer.")
    return start, end


def _at(curves: Curves, name: str, epoch: float) -> float | None:
    """The value of `name` at the first logged point at or after `epoch`."""
    if name not in curves:
        return None
    x, y = curves[name]
    i = int(np.searchsorted(x, epoch))
    return float(y[i]) if i < len(x) else None


def _phase_values(curves: Curves, config: Config, name: str) -> tuple[float, float, float, float] | ClaimResult:
    """(start epoch, end epoch, value at the start of the terminal phase, value at the end) of `name`."""
    phase = _terminal(curves, config)
    if isinstance(phase, ClaimResult):
        return phase
    start, end = phase
    first, last = _at(curves, name, start), curves.last(name)
    if first is None or last is None:
        return ClaimResult(verdict="inconclusive", detail=f"{name} was not measured through the terminal phase "
                           "(the features died: every class mean is the same point).")
    return start, end, first, last


def _nc1_falls(curves: Curves, config: Config) -> ClaimResult:
    values = _phase_values(curves, config, "nc1")
    if isinstance(values, ClaimResult):
        return values
    start, end, first, last = values
    factor = first / last if last > 0 else float("inf")
    ok = factor >= NC1_FACTOR
    detail = (f"NC1 = Tr(Σ_W Σ_B⁺)/K was {first:.3g} at zero training error (epoch {start:g}) and {last:.3g} at "
              f"epoch {end:g}: {'down' if factor >= 1 else 'up'} {max(factor, 1 / factor):.3g}×; the claim needs a "
              f"fall of at least {NC1_FACTOR:g}×.")
    if not ok:
        detail += " The within-class variability did not collapse: try batch_norm on, and weight decay ≥ 5e-3."
    return ClaimResult(verdict="pass" if ok else "fail", value=min(factor, 1e12), detail=detail)


def _equiangular(curves: Curves, config: Config) -> ClaimResult:
    values = _phase_values(curves, config, "cos_spread")
    if isinstance(values, ClaimResult):
        return values
    start, end, first, last = values
    mean = curves.last("cos_mean")
    ok = last <= SPREAD_MAX and last * SPREAD_SHRINK <= first
    detail = (f"the cosines between class means spread by {first:.3f} (std) at zero training error (epoch "
              f"{start:g}) and {last:.3f} at epoch {end:g}"
              + (f", around a mean of {mean:.3f} (a simplex ETF: {ETF_COSINE:.3f} and no spread)" if mean is not None
                 else "")
              + f". The claim needs at most {SPREAD_MAX:g}, and at least {SPREAD_SHRINK:g}× smaller than at the "
              "start of the terminal phase.")
    return ClaimResult(verdict="pass" if ok else "fail", value=last, detail=detail)


def _equinorm(curves: Curves, config: Config) -> ClaimResult:
    values = _phase_values(curves, config, "norm_cv")
    if isinstance(values, ClaimResult):
        return values
    start, end, first, last = values
    ok = last <= EQUINORM_MAX and last * EQUINORM_SHRINK <= first
    detail = (f"the norms of the {CLASSES} centred class means varied by {first:.3f} (std / mean) at zero training "
              f"error (epoch {start:g}) and {last:.3f} at epoch {end:g}. The claim needs at most {EQUINORM_MAX:g}, "
              f"and at least {EQUINORM_SHRINK:g}× smaller than at the start of the terminal phase.")
    return ClaimResult(verdict="pass" if ok else "fail", value=last, detail=detail)


def _self_dual(curves: Curves, config: Config) -> ClaimResult:
    values = _phase_values(curves, config, "nc3")
    if isinstance(values, ClaimResult):
        return values
    start, end, first, last = values
    ok = last <= NC3_MAX and last < first
    detail = (f"‖W/‖W‖ − M/‖M‖‖² between the classifier and the centred class means was {first:.3f} at zero "
              f"training error (epoch {start:g}) and {last:.3f} at epoch {end:g} (0: each classifier row points along "
              f"its class mean; unrelated directions: about 2). The claim needs at most {NC3_MAX:g}, and falling.")
    return ClaimResult(verdict="pass" if ok else "fail", value=last, detail=detail)


CLAIMS = [
    Claim(
        id="nc1_falls",
        text=f"NC1: through the terminal phase the within-class variability of the last-layer features, "
        f"Tr(Σ_W Σ_B⁺)/K, falls at least {NC1_FACTOR:g}× from its value at zero training error.",
        check=_nc1_falls,
        unit="×",
    ),
    Claim(
        id="equiangular",
        text=f"NC2, equal angles: the cosines between the centred class means close in on −1/(K − 1) = "
        f"{ETF_COSINE:.3f}; their spread (standard deviation) ends at most {SPREAD_MAX:g}, and at least "
        f"{SPREAD_SHRINK:g}× smaller than at zero training error.",
        check=_equiangular,
        unit="std of cosines",
    ),
    Claim(
        id="equinorm",
        text=f"NC2, equal norms: the centred class means end with norms that vary by at most {EQUINORM_MAX:g} "
        f"(std / mean), at least {EQUINORM_SHRINK:g}× less than at zero training error.",
        check=_equinorm,
        unit="std / mean",
    ),
    Claim(
        id="self_dual",
        text=f"NC3: the classifier's rows line up with the centred class means: ‖W/‖W‖ − M/‖M‖‖² ends at most "
        f"{NC3_MAX:g}, lower than at zero training error.",
        check=_self_dual,
        unit="",
    ),
]
