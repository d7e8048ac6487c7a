"""Server-side downsampling of long curves held in memory (the live increments): min/max buckets that keep
extremes, ends and marked points.

The rule is defined once, in backend/store/curve_summary.py, because the curves' min/max summary applies it
too: a curve read from the summary and the same curve read whole and downsampled here are the same points.
Its buckets are aligned powers of two, which is what lets a stored summary serve every size; tsdownsample's
MinMaxDownsampler places its bin edges freely, so its output could not be served from stored buckets.
"""

from collections.abc import Iterable

import numpy as np

from backend.store.curve_summary import downsample_arrays


def downsample(
    steps: np.ndarray, values: np.ndarray, max_points: int, keep_steps: Iterable[float] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """At most max_points points of (x, values), x sorted ascending (a step, a width p, an angle...).

    Each bucket keeps its min and max (so spikes survive), the first and last points are kept,
    and so are the points at `keep_steps` (detected transitions on this axis), so a mark never floats
    off its curve.
    NaN (non-finite values stored as NULL) is treated as missing for the extremes but kept where chosen.
    """
    return downsample_arrays(steps, values, max_points, list(keep_steps))
