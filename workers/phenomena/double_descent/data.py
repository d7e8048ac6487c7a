"""A noisy linear teacher: x ~ N(0, I_d), y = ⟨β, x⟩ + noise, with ‖β‖ = 1 so the clean signal has variance 1."""

from dataclasses import dataclass

import torch

N_TEST = 1000  # fresh test points per draw; test error is measured against the noiseless teacher


@dataclass(frozen=True)
class Draw:
    """One seed's data and frozen features, reused at every width p of the sweep (nested features)."""

    x_train: torch.Tensor  # (n, d)
    y_train: torch.Tensor  # (n,) noisy labels
    x_test: torch.Tensor  # (N_TEST, d)
    y_test: torch.Tensor  # (N_TEST,) clean teacher output
    w: torch.Tensor  # (d, p_max) random first layer; width p uses its first p columns


def make_draw(n: int, d: int, noise: float, p_max: int, generator: torch.Generator, device: str) -> Draw:
    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    beta = normal(d)
    beta /= beta.norm()
    x_train, x_test = normal(n, d), normal(N_TEST, d)
    y_train = x_train @ beta + noise * normal(n)
    y_test = x_test @ beta
    w = normal(d, p_max) / d**0.5  # pre-activations ~ N(0, 1)
    return Draw(*(t.to(device) for t in (x_train, y_train, x_test, y_test, w)))
