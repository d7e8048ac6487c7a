"""How numbers read in the UI: whole numbers as whole numbers with thousands separators ("1,000", not
"1000.0"), a true minus sign, and a measured value beside its 95 % interval at one number of decimals
("−1.02 [−1.10, −0.95]"), so the digits line up and none claim more precision than the interval has."""

import math
from collections.abc import Sequence

MINUS = "\u2212"
SIGNIFICANT = 3  # digits of a value shown on its own
SCIENTIFIC_BELOW, SCIENTIFIC_FROM = 1e-3, 1e7  # outside these magnitudes: 1.23e−5


def _finite(value: float | None) -> bool:
    return value is not None and not isinstance(value, bool) and math.isfinite(value)


def _signed(text: str) -> str:
    return text.replace("-", MINUS)


def _magnitude(value: float) -> int:
    return math.floor(math.log10(abs(value)))


def _scientific(value: float) -> bool:
    return value != 0 and not SCIENTIFIC_BELOW <= abs(value) < SCIENTIFIC_FROM


def number(value: float | None, digits: int = SIGNIFICANT) -> str:
    """600.0 → "600", 1000 → "1,000", 0.0312 → "0.0312", -1.5 → "−1.5", 3e-07 → "3e−7", None → "—"."""
    if not _finite(value):
        return "—"
    assert value is not None
    if float(value).is_integer() and abs(value) < SCIENTIFIC_FROM:
        return _signed(f"{int(value):,}")
    if _scientific(value):
        return _exponent(f"{value:.{digits}g}")
    if abs(value) >= 1:
        text = fixed(value, max(0, digits - 1 - _magnitude(value)))
        return text.rstrip("0").rstrip(".") if "." in text else text
    return _signed(f"{value:.{digits}g}")


def _exponent(text: str) -> str:
    """Python's 3e-07 as 3e−7."""
    mantissa, _, exponent = text.partition("e")
    return _signed(f"{mantissa}e{int(exponent)}") if exponent else _signed(text)


def fixed(value: float, decimals: int) -> str:
    return _signed(f"{value:,.{decimals}f}")


def measured(value: float | None, interval: Sequence[float] | None = None, unit: str = "") -> str:
    """A claim's measured value: "−1.02 [−1.10, −0.95]", "1,250 [1,100, 1,400] steps", "1.1 × n".

    With an interval, every number gets the decimals that show its width to two significant digits."""
    if not _finite(value):
        return ""
    assert value is not None
    text = number(value)
    if interval is not None and len(interval) == 2 and all(_finite(v) for v in interval):
        lo, hi = interval
        width = abs(hi - lo) or abs(value)
        if width and not _scientific(value):
            decimals = max(0, 1 - _magnitude(width))
            text = f"{fixed(value, decimals)} [{fixed(lo, decimals)}, {fixed(hi, decimals)}]"
        else:
            text = f"{number(value)} [{number(lo)}, {number(hi)}]"  # too small or large for fixed decimals
    return f"{text} {unit}".strip()
