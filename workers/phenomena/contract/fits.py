"""Fitted lines with 95 % intervals: the one function that both a chart's fit line and a claim use."""

from typing import Literal

import numpy as np
from pydantic import BaseModel

from workers.phenomena.contract.curves import Curves

BOOTSTRAP = 2000
MIN_POINTS = 3


class PowerLawFit(BaseModel):
    """y ≈ prefactor · x^slope, least squares in log-log; `interval`: 95 % bootstrap interval of the slope."""

    metric: str
    slope: float
    prefactor: float
    interval: tuple[float, float]
    x_min: float
    x_max: float
    n_points: int
    r2: float
    method: Literal["bootstrap over points", "bootstrap over seeds"]


def _slope(logx: np.ndarray, logy: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(logx, logy, 1)
    return float(slope), float(intercept)


def power_law(
    curves: Curves, metric: str, x_range: tuple[float, float] | None = None, seed: int = 0
) -> PowerLawFit | None:
    """Fit `metric` (full resolution) as a power law of its x; None with fewer than 3 positive points.

    A plain metric is bootstrapped over its points (pairs resampled with replacement). A family metric
    whose members are seeds is fitted to the mean over members at each x and bootstrapped over members
    (whole curves resampled), so the interval says how much the slope moves from seed to seed.
    """
    rng = np.random.default_rng(seed)
    family = curves.family(metric)
    if family:
        xs = sorted(set.intersection(*(set(x.tolist()) for x, _ in family.values())))
        xs = [x for x in xs if x > 0 and (x_range is None or x_range[0] <= x <= x_range[1])]
        if len(xs) < MIN_POINTS:
            return None
        table = np.array([[y[np.searchsorted(x, v)] for v in xs] for x, y in family.values()])  # (members, xs)
        ok = np.all(table > 0, axis=0)
        logx, table = np.log(np.asarray(xs)[ok]), table[:, ok]
        if len(logx) < MIN_POINTS:
            return None
        logy = np.log(table.mean(axis=0))
        picks = rng.integers(0, len(table), size=(BOOTSTRAP, len(table)))
        slopes = [_slope(logx, np.log(table[p].mean(axis=0)))[0] for p in picks]
        method: Literal["bootstrap over points", "bootstrap over seeds"] = "bootstrap over seeds"
    else:
        if metric not in curves:
            return None
        x, y = curves[metric]
        keep = (x > 0) & (y > 0) & np.isfinite(y)
        if x_range is not None:
            keep &= (x >= x_range[0]) & (x <= x_range[1])
        logx, logy = np.log(x[keep]), np.log(y[keep])
        if len(np.unique(logx)) < MIN_POINTS:
            return None
        slopes = []
        for pick in rng.integers(0, len(logx), size=(BOOTSTRAP, len(logx))):
            if len(np.unique(logx[pick])) >= 2:
                slopes.append(_slope(logx[pick], logy[pick])[0])
        method = "bootstrap over points"
    slope, intercept = _slope(logx, logy)
    residual = logy - (slope * logx + intercept)
    spread = float(np.sum((logy - logy.mean()) ** 2))
    lo, hi = np.percentile(slopes, [2.5, 97.5])
    return PowerLawFit(
        metric=metric, slope=slope, prefactor=float(np.exp(intercept)), interval=(float(lo), float(hi)),
        x_min=float(np.exp(logx.min())).__round__(12), x_max=float(np.exp(logx.max())).__round__(12), n_points=len(logx),
        r2=1 - float(np.sum(residual**2)) / spread if spread > 0 else 1.0, method=method,
    )
