"""scikit-learn's digits (bundled with it, nothing downloaded): a balanced training set drawn by seed, the rest for
testing, pixels standardized with the training set's statistics."""

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from workers.phenomena.neural_collapse.config import CLASSES, SHOWN_PER_CLASS


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixels in 0 … 16 and (1797,) digits: the digits.csv.gz scikit-learn bundles, read directly
    (importing sklearn.datasets takes seconds, longer than a tiny run trains), or through load_digits."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    folders = spec.submodule_search_locations if spec is not None else None
    path = Path(next(iter(folders))) / "datasets" / "data" / "digits.csv.gz" if folders else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (1797, 65): pixels, then the digit
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float32), data.target.astype(np.int64)


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (n_train, 64) float32, standardized
    y_train: np.ndarray  # (n_train,) digits, train_per_class of each, class by class
    x_test: np.ndarray  # (n_test, 64)
    y_test: np.ndarray  # (n_test,)
    shown: np.ndarray  # indices into the training set drawn in the feature scatter: the first SHOWN_PER_CLASS per class


def make_split(train_per_class: int, seed: int) -> Split:
    """A balanced split: `train_per_class` images of each digit, chosen by `seed`, for training; the rest test."""
    x, y = digits()
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(CLASSES):
        members = rng.permutation(np.flatnonzero(y == c))
        train.append(members[:train_per_class])
        test.append(members[train_per_class:])
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    mean, spread = x[train_idx].mean(axis=0), x[train_idx].std(axis=0)
    spread[spread < 1e-3] = 1.0  # pixels that are (nearly) always blank stay 0
    shown = np.concatenate([np.arange(c * train_per_class, c * train_per_class + min(train_per_class,
                                                                                      SHOWN_PER_CLASS))
                            for c in range(CLASSES)])
    return Split(
        x_train=((x[train_idx] - mean) / spread).astype(np.float32), y_train=y[train_idx],
        x_test=((x[test_idx] - mean) / spread).astype(np.float32), y_test=y[test_idx], shown=shown,
    )
