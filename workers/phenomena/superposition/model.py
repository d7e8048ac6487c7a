"""The toy model of superposition, x̂ = ReLU(WᵀW x + b), with its gradient written out, and the paper's
signed weight decay. One (W, b) per hidden width m; every width sees the same batch."""

import math

import torch


def init_weights(n: int, widths: list[int], init_scale: float, generator: torch.Generator
                 ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """W: (m, n) per width, column W_i the direction feature i is stored along, ‖W_i‖ ≈ init_scale; b: (n,) zeros."""
    weights = [torch.randn(m, n, generator=generator) * (init_scale / math.sqrt(m)) for m in widths]
    biases = [torch.zeros(n) for _ in widths]
    return weights, biases


def reconstruct(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """x (B, n) → x̂ (B, n): squeeze into m dimensions with W, read back out with Wᵀ, and let ReLU + bias filter
    out the interference between features that share directions."""
    return torch.relu(torch.addmm(b, x @ w.T, w))  # (B, m) → (B, n)


def loss_and_grads(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L = mean over the B·n entries of (x̂ − x)², and dL/dW (m, n), dL/db (n,).

    By hand, because autograd's bookkeeping is a sixth of this tiny model's step (the unit test checks it against
    autograd). With h = x Wᵀ and z = h W + b: dL/dz = 2(x̂ − x)·[z > 0] / (B·n); z depends on W twice, so
    dL/dW = hᵀ dz + (dz Wᵀ)ᵀ x; dL/db = Σ_batch dz.
    """
    h = x @ w.T  # (B, m)
    z = torch.addmm(b, h, w)  # (B, n) pre-activation
    active = z > 0  # (B, n)
    error = z.clamp_(min=0).sub_(x)  # (B, n) x̂ − x, in place of z
    loss = torch.dot(error.view(-1), error.view(-1)) / error.numel()
    dz = error.mul_(active).mul_(2 / error.numel())  # (B, n)
    grad_w = torch.addmm(h.T @ dz, (dz @ w.T).T, x)  # (m, B)(B, n) + (m, B)(B, n) → (m, n)
    return loss, grad_w, dz.sum(0)


def decay_(w: torch.Tensor, lr: float, weight_decay: float) -> None:
    """Liu, Liu & Gore's weight decay, applied to W before each Adam step (never to b).

    weight_decay ≥ 0: ordinary decoupled decay, W ← (1 − lr·wd) W: features not worth their norm fade away.
    weight_decay < 0: each column is pulled toward norm 1, W_i ← W_i + lr·wd·(1 − 1/‖W_i‖) W_i (it grows when
    ‖W_i‖ < 1, shrinks when > 1), so no feature can be dropped: every one must be stored, overlapping the others.
    """
    if weight_decay >= 0:
        w.mul_(1 - lr * weight_decay)
    else:
        norms = w.norm(dim=0, keepdim=True)  # (1, n)
        w.add_(w * (1 - 1 / (norms + 1e-8)), alpha=lr * weight_decay)


def represented(w: torch.Tensor, threshold: float) -> int:
    """Features whose column norm ‖W_i‖ exceeds `threshold`: stored with an output gain ‖W_i‖² above threshold²."""
    return int((w.norm(dim=0) > threshold).sum())


def gram(w: torch.Tensor, k: int) -> torch.Tensor:
    """WᵀW over the first k features, (k, k): norms² on the diagonal, overlaps (interference) off it."""
    return w[:, :k].T @ w[:, :k]
