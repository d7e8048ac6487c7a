"""The low-rank target and its random measurements, drawn from the run's seed."""

from dataclasses import dataclass

import torch

DTYPE = torch.float64  # α down to 1e-8 puts XXᵀ near 1e-17 at the start, and the loss falls to 1e-12 at the end


@dataclass(frozen=True)
class Problem:
    basis: torch.Tensor  # (d, d) orthonormal; its first r columns u₁ … u_r are the target's singular vectors
    sigmas: torch.Tensor  # (r,) σ₁ > … > σ_r
    target: torch.Tensor  # (d, d) M* = Σ σᵢ uᵢuᵢᵀ
    sensing: torch.Tensor  # (m, d²) the symmetric measurement matrices Aᵢ, one per row, flattened
    y: torch.Tensor  # (m,) yᵢ = ⟨Aᵢ, M*⟩

    @property
    def u(self) -> torch.Tensor:
        """(d, r) the target's singular vectors."""
        return self.basis[:, : len(self.sigmas)]


def make_problem(d: int, sigmas: list[float], measurements: int, generator: torch.Generator) -> Problem:
    """M* = U diag(σ) Uᵀ with U a uniformly random orthonormal frame, and m measurements with Aᵢ = (Gᵢ + Gᵢᵀ)/2,
    G with N(0, 1) entries. Then E[⟨Aᵢ, Δ⟩ Aᵢ] = Δ for any symmetric Δ: on average the loss is ‖XXᵀ − M*‖²_F."""
    q, r = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=DTYPE))
    basis = q * torch.sign(torch.diagonal(r))  # (d, d) Haar-random orthogonal
    s = torch.tensor(sigmas, dtype=DTYPE)  # (r,)
    u = basis[:, : len(sigmas)]  # (d, r)
    target = (u * s) @ u.T  # (d, d)
    g = torch.randn(measurements, d, d, generator=generator, dtype=DTYPE)
    sensing = ((g + g.transpose(1, 2)) / 2).reshape(measurements, d * d)  # (m, d²)
    return Problem(basis=basis, sigmas=s, target=target, sensing=sensing, y=sensing @ target.reshape(-1))
