"""scikit-learn's digits (bundled with it, nothing downloaded), split by seed, and nested sets of wrong labels.

Every noise level of a run shares the images, the split and the wrong label each image would get: noise level f
corrupts the first round(f · n_train) images of one seeded order, so a 40 % network's noisy images are also noisy
for the 100 % one, with the same wrong labels.
"""

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from workers.phenomena.label_noise.config import CLASSES, noisy_count


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixels in 0 … 16 and (1797,) digits: scikit-learn's bundled digits.csv.gz, read directly
    (what load_digits reads; importing sklearn.datasets costs 1.5–3 s, more than a tiny run trains), or through
    load_digits where the file is not at its usual place."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    folder = spec.submodule_search_locations if spec is not None else None
    path = Path(next(iter(folder))) / "datasets" / "data" / "digits.csv.gz" if folder else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (1797, 65): pixels, then the digit
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float32), data.target.astype(np.int64)


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (n_train, 64) float32, standardized with the training set's pixel means and spreads
    y_train: np.ndarray  # (n_train,) the true digit
    x_test: np.ndarray  # (n_test, 64)
    y_test: np.ndarray  # (n_test,)
    rank: np.ndarray  # (n_train,) each image's place in the noise order: noisy at f % iff rank < round(f·n/100)
    wrong: np.ndarray  # (n_train,) the wrong digit each image gets when it is noisy (never its true digit)

    def noisy(self, noise: float) -> np.ndarray:
        """(n_train,) bool: which images carry a wrong label at `noise` percent."""
        return self.rank < noisy_count(len(self.rank), noise)

    def labels(self, noise: float) -> np.ndarray:
        """(n_train,) the labels a network trained at `noise` percent sees."""
        return np.where(self.noisy(noise), self.wrong, self.y_train)


def make_split(n_train: int, seed: int) -> Split:
    x, y = _digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    mean, spread = x[train].mean(axis=0), x[train].std(axis=0)
    spread[spread < 1e-3] = 1.0  # pixels that are (nearly) always blank stay 0
    rank = np.empty(n_train, dtype=np.int64)
    rank[rng.permutation(n_train)] = np.arange(n_train)
    wrong = (y[train] + rng.integers(1, CLASSES, size=n_train)) % CLASSES  # a shift of 1 … 9: never the true digit
    return Split(
        x_train=((x[train] - mean) / spread).astype(np.float32), y_train=y[train],
        x_test=((x[test] - mean) / spread).astype(np.float32), y_test=y[test], rank=rank, wrong=wrong,
    )
