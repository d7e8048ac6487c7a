"""Random ReLU features with a linear readout, fitted in closed form (minimum-norm or ridge least squares)."""

import math

import torch


def features(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x (N, d), w (d, p) frozen → relu(x w) / √p, (N, p): the 1/√p keeps ‖features‖ comparable across p."""
    return torch.relu(x @ w) / math.sqrt(w.shape[1])


def fit_readout(phi: torch.Tensor, y: torch.Tensor, ridge: float) -> torch.Tensor:
    """argmin_a (1/N)‖phi a − y‖² + ridge ‖a‖²; at ridge 0, the minimum-norm least-squares solution.

    phi (N, p), y (N,) → a (p,). Through the SVD phi = U diag(s) Vᵀ: a = V diag(s / (s² + N·ridge)) Uᵀ y,
    which at ridge 0 is the pseudo-inverse (singular values below 1e-10 · s_max count as zero).
    """
    u, s, vh = torch.linalg.svd(phi, full_matrices=False)  # (N, r), (r,), (r, p), r = min(N, p)
    if ridge == 0:
        gain = torch.where(s > 1e-10 * s[0], 1 / s, torch.zeros_like(s))
    else:
        gain = s / (s**2 + len(y) * ridge)
    return vh.T @ (gain * (u.T @ y))  # (p,)
