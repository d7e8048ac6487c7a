"""The modular-arithmetic table a ∘ b mod p, split into train and validation, with optional label noise."""

from dataclasses import dataclass

import torch


def _divide(a: torch.Tensor, b: torch.Tensor, p: int) -> torch.Tensor:
    inverse = torch.tensor([0] + [pow(r, -1, p) for r in range(1, p)])  # (p,) r⁻¹ mod p (Fermat: p is prime)
    return (a * inverse[b]) % p  # b ≠ 0


OPERATIONS = {
    "+": lambda a, b, p: (a + b) % p,
    "-": lambda a, b, p: (a - b) % p,
    "*": lambda a, b, p: (a * b) % p,
    "/": _divide,
}


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor  # (N_train, 2) long: the pairs (a, b)
    y_train: torch.Tensor  # (N_train,) long: the answers, some replaced when label_noise > 0
    x_val: torch.Tensor  # (N_val, 2)
    y_val: torch.Tensor  # (N_val,) always the true answers
    y_train_true: torch.Tensor  # (N_train,) the true answers of the training pairs
    noisy: torch.Tensor  # (N_train,) bool: this training label was replaced by a wrong answer


def make_split(
    p: int, operation: str, train_frac: float, label_noise: float, generator: torch.Generator
) -> Split:
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    a, b = a.flatten(), b.flatten()  # (p²,) every pair
    if operation == "/":
        a, b = a[b != 0], b[b != 0]
    x = torch.stack([a, b], dim=1)  # (N, 2)
    y = OPERATIONS[operation](a, b, p)  # (N,)

    order = torch.randperm(len(x), generator=generator)
    n_train = min(max(round(train_frac * len(x)), 1), len(x) - 1)
    train, val = order[:n_train], order[n_train:]
    y_train = y[train].clone()

    n_noisy = round(label_noise * n_train)
    noisy = torch.zeros(n_train, dtype=torch.bool)
    if n_noisy:
        picked = torch.randperm(n_train, generator=generator)[:n_noisy]
        shift = torch.randint(1, p, (n_noisy,), generator=generator)  # 1 … p−1: never the right answer
        y_train[picked] = (y_train[picked] + shift) % p
        noisy[picked] = True
    return Split(x[train], y_train, x[val], y[val], y[train], noisy)
