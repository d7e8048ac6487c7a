"""Sparse feature vectors: feature i is active with probability p_i, and then uniform on (0, 2)."""

import torch


def sample(p: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
    """(batch, n) fresh samples x_i = u_i · v_i, u_i ~ Bernoulli(p_i), v_i ~ U(0, 2).

    One uniform draw r per entry serves both: r < p_i decides u_i, and given that, r / p_i is uniform on (0, 1),
    so 2r / p_i is v_i. Half the random numbers of two draws, and the same distribution.
    """
    r = torch.rand(batch, p.numel(), generator=generator)  # (B, n)
    return torch.where(r < p, r * (2 / p), 0.0)  # (B, n)
