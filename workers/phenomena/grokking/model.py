"""A two-token MLP for modular arithmetic: embed a and b, concatenate, one ReLU layer, logits over the p answers."""

import torch
import torch.nn.functional as F
from torch import nn


class ModularMLP(nn.Module):
    def __init__(self, p: int, embed_dim: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(p, embed_dim)  # one table for both operands: row r is residue r
        self.hidden = nn.Linear(2 * embed_dim, width)  # acts on concat(embed[a], embed[b])
        self.out = nn.Linear(width, p)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """pairs (N, 2) long → logits (N, p).

        hidden(concat(E[a], E[b])) = (E W_aᵀ)[a] + (E W_bᵀ)[b] + bias: we apply the first layer to the
        p rows of the table and gather, the same function for far fewer FLOPs than N × 2d × width.
        """
        d = self.embed.embedding_dim
        w_a, w_b = self.hidden.weight[:, :d], self.hidden.weight[:, d:]  # (width, d) each
        per_a = self.embed.weight @ w_a.T  # (p, width)
        per_b = self.embed.weight @ w_b.T  # (p, width)
        h = F.relu(per_a[pairs[:, 0]] + per_b[pairs[:, 1]] + self.hidden.bias)  # (N, width)
        return self.out(h)  # (N, p)

    def weight_norm(self) -> torch.Tensor:
        """L2 norm of all parameters together, as one vector."""
        return torch.stack([q.norm() for q in self.parameters()]).norm()

    def embedding_fourier(self) -> torch.Tensor:
        """Fourier power of the embedding along the residue axis, (p//2 + 1,), summing to 1.

        Entry k is the share of the embedding's energy at frequency k (cos/sin of 2πk·r/p); k = 0 is the mean.
        """
        spectrum = torch.fft.rfft(self.embed.weight.detach().float(), dim=0)  # (p//2 + 1, d) complex
        power = spectrum.abs().pow(2).sum(dim=1)  # (p//2 + 1,)
        power[1:] *= 2  # k and p−k carry the same power (p is odd): count both, as Parseval does
        return power / power.sum()
