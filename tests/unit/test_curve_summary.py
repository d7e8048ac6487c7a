"""The downsampling rule and the summary's buckets, without a database: the writer's incremental buckets are
the whole series' buckets, and the rule keeps what it promises (each bucket's low and high, ends, marks)."""

import numpy as np
import pytest

from backend.store.curve_summary import (
    BASE,
    ENTRY,
    Extremes,
    SeriesSummary,
    bucket_size,
    build_rows,
    downsample_arrays,
    remainder,
)


def noisy(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n).round(1)  # rounded: plenty of ties, which must go to the earlier point
    values[rng.choice(n, size=max(1, n // 11), replace=False)] = np.nan
    return values


def as_points(values: np.ndarray) -> list[tuple[float, float | None]]:
    return [(float(i), None if np.isnan(v) else float(v)) for i, v in enumerate(values)]


@pytest.mark.parametrize("n", [1, BASE - 1, BASE, 5 * BASE + 3, 1000, 4096])
def test_buckets_kept_as_points_arrive_in_any_batches_are_the_whole_series_buckets(n):
    points = as_points(noisy(n, seed=n))
    whole = build_rows("r", "loss", "", points)
    rng = np.random.default_rng(n)
    state, rows, at = SeriesSummary(), [], 0
    while at < n:
        step = int(rng.integers(1, 50))
        rows += [("r", level, "loss", "", bucket, e.last_x, e.lo_x, e.lo_value, e.hi_x, e.hi_value)
                 for level, bucket, e in state.add(points[at:at + step])]
        at += step
    assert sorted(rows) == sorted(row for row in whole if row[1] != ENTRY)
    assert state.count == n and len(rows) == sum((n // BASE) >> level for level in range(20))


def test_a_bucket_is_the_low_and_high_of_its_points_ties_to_the_earlier_and_nulls_skipped():
    points = [(0.0, 2.0), (1.0, None), (2.0, -1.0), (3.0, 5.0), (4.0, -1.0), (5.0, 5.0)] + [(float(i), 0.0)
                                                                                       for i in range(6, BASE)]
    (_, level, _, _, bucket, last_x, lo_x, lo_value, hi_x, hi_value), = (
        row for row in build_rows("r", "m", "", points) if row[1] == 0)
    assert (level, bucket, last_x) == (0, 0, BASE - 1.0)
    assert (lo_x, lo_value, hi_x, hi_value) == (2.0, -1.0, 3.0, 5.0)


def test_a_bucket_of_nothing_but_nulls_keeps_no_point():
    empty = Extremes()
    for x in range(3):
        empty.add(float(x), None)
    assert empty.points() == [] and empty.last_x == 2.0
    assert Extremes(1.0, 1.0, 1.0, 1.0, 1.0).then(empty).points() == [(1.0, 1.0), (1.0, 1.0)]


def test_remainder_splits_full_buckets_into_one_level_plus_one_of_each_finer():
    assert remainder(0b1011, 2) == [(1, 4), (0, 10)]  # level-0 buckets 8, 9 (= level-1 bucket 4) and 10
    assert remainder(0b1000, 3) == [] and remainder(0b111, 3) == [(2, 0), (1, 2), (0, 6)]


def test_bucket_size_fits_lows_highs_ends_and_marks_in_the_points_asked_for():
    assert bucket_size(2000, 2000) is None
    for n in (2001, 10_000, 999_999, 1_000_000, 3_000_001):
        for max_points, marks in ((2000, 0), (2000, 7), (8, 0), (4000, 2)):
            size = bucket_size(n, max_points, marks)
            if n <= max_points:
                assert size is None
                continue
            assert size is not None and size & (size - 1) == 0  # a power of two: the summary stores it
            if size < n:
                assert 2 * -(-n // size) + 2 + marks <= max_points
                assert size == 2 or 2 * -(-n // (size // 2)) + 2 + marks > max_points  # and the smallest that fits


def test_the_rule_keeps_each_buckets_low_and_high_the_ends_and_the_marks():
    n, max_points = 100_003, 500
    x = np.arange(n, dtype=np.float64) * 0.5
    values = noisy(n)
    values[777] = 99.0  # a one-point spike
    marks = [x[31_337], x[64_000], 12345.25]  # the last is on no point: nothing to keep
    kept_x, kept_y = downsample_arrays(x, values, max_points, marks)
    assert len(kept_x) <= max_points and np.all(np.diff(kept_x) > 0)
    size = bucket_size(n, max_points, len(marks))
    assert size is not None
    for start in range(0, n, size):
        chunk = values[start:start + size]
        if np.isnan(chunk).all():
            continue
        for i in (start + int(np.nanargmin(chunk)), start + int(np.nanargmax(chunk))):  # the earlier of equals
            assert x[i] in kept_x
    assert 99.0 in kept_y and kept_x[0] == 0.0 and kept_x[-1] == x[-1]
    assert x[31_337] in kept_x and x[64_000] in kept_x
    shown = dict(zip(kept_x.tolist(), kept_y.tolist(), strict=True))
    assert all(shown[float(xi)] == values[i] or np.isnan(values[i]) for i, xi in enumerate(x) if float(xi) in shown)


def test_short_curves_and_all_null_buckets():
    x = np.arange(10, dtype=np.float64)
    same_x, same_y = downsample_arrays(x, np.ones(10), 10)
    assert same_x is x and same_y.tolist() == [1.0] * 10
    gaps = np.full(1000, np.nan)
    kept_x, kept_y = downsample_arrays(np.arange(1000.0), gaps, 100)
    assert kept_x.tolist() == [0.0, 999.0] and np.isnan(kept_y).all()  # only the ends, as null
