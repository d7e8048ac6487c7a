"""Full-batch gradient descent on the digits MLP at step size η; every `sharpness_every` steps, the top Hessian
eigenvalue of the training loss by warm-started power iteration. Logs the loss (and each outlier group's) every
step and the sharpness at its cadence.

Runs on the CPU whatever run.device says: the network is small, and exact resume was checked there.
"""

import math

import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.edge_of_stability.config import Config
from workers.phenomena.edge_of_stability.data import make_data
from workers.phenomena.edge_of_stability.model import (
    class_loading,
    init_params,
    per_sample_loss,
    pixel_loading,
    top_eigenvalue,
)

DIVERGED = 1e4  # a training loss above this (or not finite) ends the run: η is past anything GD recovers from


def train(config: Config, run: RunContext, seed: int) -> None:
    gradient_descent(config, run, seed)


def gradient_descent(config: Config, run: RunContext, seed: int, probe: bool = True) -> None:
    """The run; `probe=False` skips the sharpness measurements (bench/sharpness.py times their cost)."""
    # -- data and model: one generator draws the subset, the initialization and the first probe vector -------
    generator = torch.Generator().manual_seed(seed)
    data = make_data(config, generator)
    x, y = data.x, data.y  # (N, 64), (N, 10)
    groups = [torch.nonzero(data.group == g).flatten() for g in range(3)] if config.outliers else []
    params = init_params(config.width, config.depth, config.init_scale, generator)
    v = [torch.randn(p.shape, generator=generator) for p in params]  # the probe vector, warm-started throughout

    # Step s logs the model after s updates (its sharpness too, when due); a checkpoint at s holds the model after
    # s + 1 updates and the probe vector of the last measurement at or before s.
    start = 0
    restored = run.restore()
    if restored is not None:
        done, state = restored
        params, v = list(state["params"]), list(state["probe"])
        start = done + 1

    # -- loop ----------------------------------------------------------------------------------------------------
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        values: dict[str, float] = {}
        measured = probe and (step % config.sharpness_every == 0 or step == config.steps)
        if measured:
            values["sharpness"], v = top_eigenvalue(params, x, y, v, config.power_iters)
        live = [p.requires_grad_() for p in params]
        losses = per_sample_loss(live, x, y)  # (N,)
        loss = losses.mean()
        with torch.no_grad():
            parts = [loss, *(losses[members].mean() for members in groups)]
            numbers = torch.stack(parts).tolist()  # one sync per step
        values["train/loss"] = numbers[0]
        if groups:
            values.update(zip(("loss/clean", "loss/group_a", "loss/group_b"), numbers[1:], strict=True))
        if not all(math.isfinite(value) for value in values.values()):
            return  # diverged: nothing non-finite is logged, and the run ends short of its steps
        if measured and (step % config.snapshot_every == 0 or step == config.steps):
            run.snapshot(step, "sharp_pixels", pixel_loading(v).numpy())
            run.snapshot(step, "sharp_classes", class_loading(v).numpy())
        run.log(step, values)
        if step == config.steps or numbers[0] > DIVERGED:
            return

        grads = torch.autograd.grad(loss, live)
        with torch.no_grad():
            params = [p.detach() - config.lr * g for p, g in zip(params, grads, strict=True)]
        if run.checkpoint_due():
            run.checkpoint(step, {"params": params, "probe": v})
