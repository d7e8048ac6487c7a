"""Server-side downsampling of long curves: min/max buckets that keep extremes and marked points."""

from collections.abc import Iterable

import numpy as np
from tsdownsample import MinMaxDownsampler


def downsample(
    steps: np.ndarray, values: np.ndarray, max_points: int, keep_steps: Iterable[float] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """At most ~max_points points of (x, values), x sorted ascending (a step, a width p, an angle...).

    Each bucket keeps its min and max (so spikes survive), the first and last points are kept,
    and so are the points at `keep_steps` (detected transitions on this axis), so a mark never floats
    off its curve.
    NaN (non-finite values stored as NULL) is treated as missing for the extremes but kept where chosen.
    """
    n = len(steps)
    if n <= max_points:
        return steps, values
    finite = np.isfinite(values)
    n_out = max(4, (max_points // 2) * 2)
    idx_finite = np.flatnonzero(finite)
    if len(idx_finite) > n_out:
        chosen = idx_finite[MinMaxDownsampler().downsample(steps[finite], values[finite], n_out=n_out)]
    else:
        chosen = idx_finite
    marked = np.flatnonzero(np.isin(steps, np.fromiter(keep_steps, dtype=np.float64)))
    idx = np.unique(np.concatenate([chosen.astype(np.int64), marked, [0, n - 1]]))
    return steps[idx], values[idx]
