"""The model XXᵀ (one X per initialization scale α, stacked), its gradient step, and what is measured of it."""

import math

import torch

from workers.phenomena.incremental_learning.data import DTYPE, Problem


def init_factors(d: int, k: int, alphas: list[float], generator: torch.Generator) -> torch.Tensor:
    """X₀ (n_alphas, d, k): entries N(0, α²/d), so each column has norm ≈ α. Every scale shares one draw, scaled:
    the members differ by α alone."""
    base = torch.randn(d, k, generator=generator, dtype=DTYPE) / math.sqrt(d)  # (d, k)
    return torch.tensor(alphas, dtype=DTYPE)[:, None, None] * base  # (n, d, k)


def residuals(x: torch.Tensor, problem: Problem) -> torch.Tensor:
    """(n, m): ⟨Aᵢ, XXᵀ⟩ − yᵢ for every member and measurement."""
    gram = x @ x.transpose(1, 2)  # (n, d, d)
    return gram.reshape(len(x), -1) @ problem.sensing.T - problem.y


def step_(x: torch.Tensor, res: torch.Tensor, problem: Problem, lr: float) -> None:
    """One gradient step on f(X) = (1/4m) Σ rᵢ², in place: ∇f = (1/m) Σ rᵢ Aᵢ X (the Aᵢ are symmetric)."""
    d = x.shape[1]
    weighted = (res @ problem.sensing).reshape(len(x), d, d) / len(problem.y)  # (n, d, d) ≈ XXᵀ − M*
    x.sub_(weighted @ x, alpha=lr)


def sensing_loss(res: torch.Tensor) -> torch.Tensor:
    """(n,) the mean squared residual (1/m) Σ rᵢ², what the charts show (4 f)."""
    return res.pow(2).mean(dim=1)


def recovery_error(x: torch.Tensor, problem: Problem) -> torch.Tensor:
    """(n,) ‖XXᵀ − M*‖_F / ‖M*‖_F: how far each member is from the target, which the measurements only sample."""
    gram = x @ x.transpose(1, 2)
    return torch.linalg.matrix_norm(gram - problem.target) / torch.linalg.matrix_norm(problem.target)


def learned_fraction(x: torch.Tensor, problem: Problem) -> torch.Tensor:
    """(n, r) uᵢᵀXXᵀuᵢ / σᵢ = ‖uᵢᵀX‖² / σᵢ: how much of each target direction a member has learned (1: all)."""
    return torch.einsum("dr,ndk->nrk", problem.u, x).pow(2).sum(-1) / problem.sigmas


def eigenvalues(x: torch.Tensor) -> torch.Tensor:
    """(d,) the eigenvalues of XXᵀ for one member x (d, k), largest first (clamped at 0 against round-off)."""
    return torch.linalg.eigvalsh(x @ x.T).flip(0).clamp(min=0)


def in_target_basis(x: torch.Tensor, problem: Problem) -> torch.Tensor:
    """(d, d) BᵀXXᵀB with B the target's basis (u₁ … u_r first): M* there is diag(σ₁ … σ_r, 0 …)."""
    proj = problem.basis.T @ x  # (d, k)
    return proj @ proj.T


def top_of_measurements(problem: Problem) -> float:
    """s₁, the top eigenvalue of (1/m) Σ yᵢAᵢ: at X ≈ 0 the residuals are −yᵢ, so a step is exactly
    X ← (I + η (1/m) Σ yᵢAᵢ) X. With many measurements the matrix is M* and s₁ = σ₁; with few, noise adds to it."""
    d = problem.target.shape[0]
    operator = (problem.y @ problem.sensing).reshape(d, d) / len(problem.y)
    return float(torch.linalg.eigvalsh(operator)[-1])
