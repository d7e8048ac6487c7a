import numpy as np

from backend.services.downsample import downsample


def test_short_curves_come_back_whole():
    steps, values = np.arange(10), np.linspace(0, 1, 10)
    s, v = downsample(steps, values, 100)
    assert s.tolist() == steps.tolist() and v.tolist() == values.tolist()


def test_long_curve_is_cut_to_the_budget_keeping_extremes_and_ends():
    steps = np.arange(1_000_000)
    values = np.sin(steps / 5000.0)
    values[123_457] = 40.0  # a one-step spike: a plain stride would drop it
    values[777_777] = -40.0
    s, v = downsample(steps, values, 2000)
    assert len(s) <= 2000 + 2
    assert v.max() == 40.0 and v.min() == -40.0
    assert s[0] == 0 and s[-1] == 999_999
    assert np.all(np.diff(s) > 0)


def test_marked_steps_are_kept_so_marks_sit_on_their_curve():
    steps = np.arange(100_000)
    values = np.cos(steps / 100.0)
    s, _ = downsample(steps, values, 500, keep_steps=[31_337, 64_000])
    assert 31_337 in s and 64_000 in s


def test_nan_points_do_not_break_bucketing():
    steps = np.arange(50_000)
    values = np.linspace(0, 1, 50_000)
    values[::7] = np.nan
    s, v = downsample(steps, values, 1000)
    assert len(s) <= 1002 and np.nanmax(v) == 1.0
