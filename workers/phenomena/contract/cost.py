"""What one run will cost, estimated from its knobs before it runs, and the one budget check every phenomenon
shares. No torch here (the API reads it).

Each phenomenon's `Config.cost` declares a `Cost`: the run's compute as seconds of one CPU thread, from the
multiply-adds of its dominant operations over a rate measured on a CPU (plus a per-step cost where the steps are
small enough for their overhead to show), the formula in words, and the knobs it grows with. Seconds, not
multiply-adds, so that one budget means the same for every phenomenon: a multiply-add of a 8 × 8 matrix costs
far more time than one of a 2048-wide layer. The API refuses a run over its budget (PHASELAB_MAX_RUN_CPU_SECONDS)
with a 422 that names the knobs and says how far the first one may go with the others as they are.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.phenomena.contract.phenomenon import PhenomenonConfig


@dataclass(frozen=True)
class Cost:
    seconds: float  # the whole run, on one CPU thread (a GPU worker is faster; the budget is a unit of work)
    formula: str  # what the estimate counts, in words that name the knobs: "steps × p³ × width multiply-adds"
    knobs: tuple[str, ...]  # the knobs it grows with; the first (steps, epochs) is the one to shorten


def run_seconds(work: float, per_second: float, steps: float = 0.0, per_step: float = 0.0) -> float:
    """`work` multiply-adds at `per_second`, plus `steps` × `per_step` seconds of overhead."""
    return work / per_second + steps * per_step


@dataclass(frozen=True)
class OverBudget:
    """Why a config does not fit, and what would: the 422 the API answers."""

    knob: str  # where the message belongs: the knob to shorten
    value: int  # its value now
    message: str
    seconds: float
    budget: float
    fits: int | None  # the largest value of `knob` that fits with the other knobs as they are; None: none does


def _listing(items: list[str], last: str) -> str:
    """"a", "a and b", "a, b and c"."""
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else "".join(items)


def duration(seconds: float) -> str:
    """12 s, 8.5 min, 2.3 h, 4.1 days: how long, to a person."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.3g} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _largest_fitting(config: "PhenomenonConfig", knob: str, budget: float) -> int | None:
    """The largest integer value of `knob`, from its minimum up to its current value, whose run fits `budget`.

    A bisection on the declared estimate itself (any cost that grows with the knob), not a division that assumes
    the cost is proportional to it: fixed costs (a held-out evaluation, data generation) are counted.
    """
    field = type(config).model_fields.get(knob)
    current = getattr(config, knob, None)
    if field is None or not isinstance(current, int) or isinstance(current, bool):
        return None
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), 1)

    def fits(value: int) -> bool:
        return config.model_copy(update={knob: value}).cost.seconds <= budget

    if not fits(low):
        return None
    high = current  # does not fit (the caller checked)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def over_budget(config: "PhenomenonConfig", budget_seconds: float, setting: str = "the budget") -> OverBudget | None:
    """None if the run of `config` fits `budget_seconds` of one CPU thread (0: no budget), else what to change.

    The message is modelled on grokking's first cap: what it would cost, by which formula, the limit and where
    it is set, and how many steps (or epochs) would fit at the other knobs' values.
    """
    if budget_seconds <= 0:
        return None
    cost = config.cost
    if cost.seconds <= budget_seconds or not math.isfinite(budget_seconds):
        return None
    knob, others = cost.knobs[0], cost.knobs[1:]
    fits = _largest_fitting(config, knob, budget_seconds)
    at = _listing([f"{name} = {getattr(config, name)}" for name in others], "and")
    if fits is not None:
        advice = f"{'at ' + at + ', ' if at else ''}use at most {fits:,} {knob}"
        if others:
            advice += f", or lower {_listing(list(others), 'or')}"
    else:
        advice = f"even the fewest {knob} would not fit{' at ' + at if at else ''}: lower {_listing(list(others), 'or') or knob}"
    message = (f"this run would take about {duration(cost.seconds)} of one CPU thread ({cost.formula}), over the "
               f"limit of {duration(budget_seconds)} ({setting}): {advice}")
    return OverBudget(knob=knob, value=getattr(config, knob), message=message, seconds=cost.seconds, budget=budget_seconds, fits=fits)
