"""scikit-learn's handwritten digits (bundled with the library: nothing is downloaded), scaled to [0, 1], with
one-hot targets, and optionally two groups of outliers that share one loud feature with opposite labels."""

from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits

from workers.phenomena.edge_of_stability.config import CLASSES, GROUP_A, GROUP_B, PATCH, Config

GROUPS = ("clean", "group_a", "group_b")  # the group index of each image: 0 clean, 1 group a, 2 group b


@dataclass(frozen=True)
class Data:
    x: torch.Tensor  # (N, 64) pixels in [0, 1]; the outliers' corner pixels at outlier_strength
    y: torch.Tensor  # (N, 10) one-hot targets
    labels: torch.Tensor  # (N,) the class of each image
    group: torch.Tensor  # (N,) 0 clean, 1 group a, 2 group b


def make_data(config: Config, generator: torch.Generator) -> Data:
    """n_train images drawn without replacement; the first `outliers` of class GROUP_A among them become group a,
    the first `outliers` of class GROUP_B group b, and both get the same corner pixels painted in."""
    pixels, classes = load_digits(return_X_y=True)
    pick = torch.randperm(len(classes), generator=generator)[: config.n_train]
    x = torch.as_tensor(pixels, dtype=torch.float32)[pick] / 16.0  # (N, 64)
    labels = torch.as_tensor(classes, dtype=torch.long)[pick]  # (N,)
    group = torch.zeros(config.n_train, dtype=torch.long)
    if config.outliers:
        for index, digit in ((1, GROUP_A), (2, GROUP_B)):
            members = torch.nonzero(labels == digit).flatten()[: config.outliers]
            group[members] = index
        painted = torch.nonzero(group > 0).flatten()
        x[painted.unsqueeze(1), torch.tensor(PATCH)] = config.outlier_strength
    y = torch.nn.functional.one_hot(labels, CLASSES).float()  # (N, 10)
    return Data(x=x, y=y, labels=labels, group=group)
