"""A run's curves as detectors, claims and fits read them: plain arrays, keyed by metric and family member."""

from collections.abc import Iterator, Mapping

import numpy as np

Series = tuple[np.ndarray, np.ndarray]  # (x, y): 1-D float arrays sorted by x


class Curves(Mapping[str, Series]):
    """`curves["val/acc"]` is the (x, y) of a plain metric; `curves.family("loss")` is {member: (x, y)}.

    `finished` says the run trained to the end of its budget (a stopped or live run: False), so a check
    can tell "not yet" from "never".
    """

    def __init__(self, series: Mapping[tuple[str, float | None], Series] | None = None, finished: bool = False):
        self._series = {
            key: (np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for key, (x, y) in (series or {}).items()
        }
        self.finished = finished

    @classmethod
    def of(cls, plain: Mapping[str, Series], finished: bool = False) -> "Curves":
        """From {name: (x, y)} of plain metrics (tests, synthetic curves)."""
        return cls({(name, None): xy for name, xy in plain.items()}, finished)

    def __getitem__(self, name: str) -> Series:
        return self._series[(name, None)]

    def __iter__(self) -> Iterator[str]:
        return (name for name, member in self._series if member is None)

    def __len__(self) -> int:
        return sum(1 for _, member in self._series if member is None)

    def family(self, name: str) -> dict[float, Series]:
        """{member: (x, y)} of a family metric, members ascending; {} if none logged yet."""
        found = {member: xy for (metric, member), xy in self._series.items() if metric == name and member is not None}
        return dict(sorted(found.items()))

    def series(self) -> dict[tuple[str, float | None], Series]:
        return dict(self._series)

    def last(self, name: str) -> float | None:
        """The last value of a plain metric, or None."""
        if (name, None) not in self._series or not len(self._series[(name, None)][1]):
            return None
        return float(self._series[(name, None)][1][-1])
