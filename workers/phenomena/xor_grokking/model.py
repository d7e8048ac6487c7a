"""The paper's network, f(x) = Σ_j a_j ReLU(⟨w_j, x⟩) with a_j = ±1/√m fixed, trained on the logistic loss by
full-batch gradient descent on the first layer only, written in the coefficients of w_j(t) = w_j(0) + Σ_i c_ji x_i.

The gradient of the loss in w_j is Σ_i (∂L/∂z_ji) x_i with z_ji = ⟨w_j, x_i⟩, so one GD step on w_j is exactly
c_ji ← c_ji − α ∂L/∂z_ji: the same trajectory as in d dimensions, at the cost of an (m, n) × (n, n) product.
"""

import torch
import torch.nn.functional as F


def output_weights(width: int) -> torch.Tensor:
    """(width,) a_j: +1/√m for the first half of the neurons, −1/√m for the second (fixed, never trained)."""
    signs = torch.where(torch.arange(width) < width // 2, 1.0, -1.0).double()
    return signs / width**0.5


def preactivations(init: torch.Tensor, coef: torch.Tensor, gram: torch.Tensor) -> torch.Tensor:
    """(m, N) ⟨w_j, x⟩ for N points: init (m, N) = ⟨w_j(0), x⟩, coef (m, n), gram (n, N) = ⟨x_i, x⟩."""
    return init + coef @ gram


def outputs(a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """(N,) f(x) = Σ_j a_j ReLU(z_j)."""
    return a @ torch.relu(z)


def logistic_loss(f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean of log(1 + exp(−y f))."""
    return F.softplus(-y * f).mean()


def gd_step_(coef: torch.Tensor, a: torch.Tensor, z: torch.Tensor, f: torch.Tensor, y: torch.Tensor,
             alpha: float) -> None:
    """One full-batch GD step on the first layer, in place on coef (m, n); z (m, n), f (n,) at the current weights."""
    dloss_df = -y * torch.sigmoid(-y * f) / y.numel()  # (n,) ∂L/∂f_i
    dz = a[:, None] * (z > 0) * dloss_df[None, :]  # (m, n) ∂L/∂z_ji
    coef -= alpha * dz
