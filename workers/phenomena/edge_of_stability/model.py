"""A tanh MLP written as a function of a flat list of parameters, so that the loss, its gradient and its
Hessian-vector products all come from one definition; and the power iteration for the sharpness."""

import math

import torch

from workers.phenomena.edge_of_stability.config import CLASSES, PIXELS


def init_params(width: int, depth: int, init_scale: float, generator: torch.Generator) -> list[torch.Tensor]:
    """[W1, b1, …, W_out, b_out], W: (out, in), drawn as nn.Linear does (U(±1/√fan_in)), weights × init_scale."""
    sizes = [PIXELS, *[width] * depth, CLASSES]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / math.sqrt(fan_in)
        w = (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * (bound * init_scale)
        b = (torch.rand(fan_out, generator=generator) * 2 - 1) * bound
        params += [w, b]
    return params


def forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """x (N, 64) → outputs (N, 10): tanh after every layer but the last."""
    h = x
    last = len(params) - 2
    for i in range(0, len(params), 2):
        h = torch.addmm(params[i + 1], h, params[i].T)
        if i < last:
            h = torch.tanh(h)
    return h


def per_sample_loss(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """½‖f(x) − y‖² of each image (N,): the square loss of Cohen et al.; the training loss is its mean."""
    return 0.5 * ((forward(params, x) - y) ** 2).sum(dim=1)


def hvp(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, v: list[torch.Tensor]) -> list[torch.Tensor]:
    """H v, H the Hessian of the mean training loss at `params`, by double backward."""
    live = [p.detach().requires_grad_() for p in params]
    grads = torch.autograd.grad(per_sample_loss(live, x, y).mean(), live, create_graph=True)
    return list(torch.autograd.grad(grads, live, grad_outputs=v))


def dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return float(sum((p * q).sum() for p, q in zip(a, b, strict=True)))


def normalized(v: list[torch.Tensor]) -> list[torch.Tensor]:
    norm = math.sqrt(dot(v, v))
    return [p / norm for p in v]


def top_eigenvalue(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, v: list[torch.Tensor],
                   iters: int) -> tuple[float, list[torch.Tensor]]:
    """(λ, v): `iters` steps of power iteration from `v`, λ the Rayleigh quotient vᵀHv of the last iterate.

    Power iteration finds the eigenvalue of largest magnitude; on these losses that is the top (positive) one.
    Warm-started from the last measurement's vector, the estimate sharpens across measurements as well.
    """
    v = normalized(v)
    value = 0.0
    for _ in range(iters):
        hv = hvp(params, x, y, v)
        value = dot(v, hv)
        v = normalized(hv)
    return value, v


def pixel_loading(v: list[torch.Tensor]) -> torch.Tensor:
    """(8, 8): how much of the unit vector v lies on each input pixel's first-layer weights (Σ over hidden units
    of v², as a fraction of ‖v‖² = 1). Where in the image the sharp direction lives."""
    return (v[0] ** 2).sum(dim=0).reshape(8, 8)


def class_loading(v: list[torch.Tensor]) -> torch.Tensor:
    """(10,): how much of the unit vector v lies on each output class's last-layer weights and bias, as a fraction
    of what lies on the last layer. Which classes' outputs the sharp direction moves."""
    mass = (v[-2] ** 2).sum(dim=1) + v[-1] ** 2  # (10,)
    return mass / mass.sum()
