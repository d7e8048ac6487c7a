"""An MLP whose last hidden layer is the feature map h(x), and a linear classifier W h + b on top (Papyan et al.'s
setting: the features are what the classifier reads)."""

import torch
from torch import nn

from workers.phenomena.neural_collapse.config import CLASSES, PIXELS


class CollapseMLP(nn.Module):
    def __init__(self, width: int, depth: int, batch_norm: bool):
        super().__init__()
        layers: list[nn.Module] = []
        inputs = PIXELS
        for _ in range(depth):
            layers += [nn.Linear(inputs, width), *([nn.BatchNorm1d(width)] if batch_norm else []), nn.ReLU()]
            inputs = width
        self.features = nn.Sequential(*layers)  # (B, 64) → (B, width): h(x), after the last ReLU
        self.classifier = nn.Linear(width, CLASSES)  # (B, width) → (B, K)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (B, width), logits (B, K))."""
        h = self.features(x)
        return h, self.classifier(h)
