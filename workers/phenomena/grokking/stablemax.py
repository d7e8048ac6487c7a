"""The two ways logits become a loss: softmax cross-entropy, and Prieto et al.'s StableMax cross-entropy."""

import torch
import torch.nn.functional as F


def stable(logits: torch.Tensor) -> torch.Tensor:
    """s(x) = x + 1 for x ≥ 0, 1/(1 − x) for x < 0: positive, increasing, and only linear in x (not eˣ)."""
    return torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))  # clamp: no 1/0 off-branch


def log_stablemax(logits: torch.Tensor) -> torch.Tensor:
    """log( s(zᵢ) / Σⱼ s(zⱼ) ), (N, p) → (N, p)."""
    s = stable(logits)
    return torch.log(s) - torch.log(s.sum(dim=1, keepdim=True))


def per_example_loss(logits: torch.Tensor, labels: torch.Tensor, output: str) -> torch.Tensor:
    """(N,) cross-entropy of each example under softmax or StableMax."""
    if output == "stablemax":
        return F.nll_loss(log_stablemax(logits), labels, reduction="none")
    return F.cross_entropy(logits, labels, reduction="none")


def mean_loss(logits: torch.Tensor, labels: torch.Tensor, output: str) -> torch.Tensor:
    """The training objective: the mean cross-entropy (softmax exactly as F.cross_entropy computes it)."""
    if output == "stablemax":
        return F.nll_loss(log_stablemax(logits), labels)
    return F.cross_entropy(logits, labels)
