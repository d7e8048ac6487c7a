"""K independent MLPs (one per noise level) stacked into one module: every layer is a batched matmul over the
K networks, which all see the same images. Adam is elementwise and the K losses are summed, so each network
trains exactly as it would alone; stacking only saves the Python overhead of K small models."""

import math

import torch
from torch import nn


class StackedMLP(nn.Module):
    def __init__(self, networks: int, sizes: list[int], generator: torch.Generator):
        """`sizes`: [64 pixels, width, …, width, 10 digits]. Initialized as torch's nn.Linear is (uniform in
        ±1/√fan_in for weights and biases), from `generator`."""
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1 / math.sqrt(fan_in)
            w = (torch.rand(networks, fan_in, fan_out, generator=generator) * 2 - 1) * bound
            b = (torch.rand(networks, 1, fan_out, generator=generator) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 64), shared by every network → logits (K, B, 10)."""
        h = torch.matmul(x, self.weights[0]) + self.biases[0]  # (K, B, width)
        for w, b in zip(list(self.weights)[1:], list(self.biases)[1:], strict=True):
            h = torch.baddbmm(b, torch.relu(h), w)  # (K, B, fan_out)
        return h


def member_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per network: logits (K, B, 10), labels (K, B) → (K,)."""
    k, b, c = logits.shape
    return nn.functional.cross_entropy(logits.reshape(k * b, c), labels.reshape(k * b), reduction="none").view(k, b).mean(1)
