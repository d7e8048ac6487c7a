"""Gradient descent on low-rank matrix sensing from several initialization scales α at once (one X per α, the
same target and measurements): log each member's loss and distance to M*, how much of each target direction the
smallest α has learned and the eigenvalues of its XXᵀ; at the end, when each α learned σ₁, against ln(1/α).

Runs on the CPU whatever run.device says: the problem is small (d ≤ 40), the step a few small matrix products,
and exact resume was checked there. Nothing is random after the first draws, so the checkpoint is X itself.
"""

import math

import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.incremental_learning.config import HALF, Config, plateau_theory
from workers.phenomena.incremental_learning.data import make_problem
from workers.phenomena.incremental_learning.model import (
    in_target_basis,
    init_factors,
    learned_fraction,
    recovery_error,
    residuals,
    sensing_loss,
    step_,
    top_of_measurements,
)


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: the target M* and its measurements, then X₀, all from one generator --------------------
    alphas = config.alphas  # ascending: member 0 is alpha_min, the one whose staircase is shown
    generator = torch.Generator().manual_seed(seed)
    problem = make_problem(config.d, config.sigmas, config.measurements, generator)

    # -- model: X (n_alphas, d, k), every scale the same draw times its α ----------------------------
    x = init_factors(config.d, config.width, alphas, generator)
    learned_at = torch.full((len(alphas),), -1, dtype=torch.long)  # first step σ₁ is half learned, per α

    # Step s logs the model after s updates; a checkpoint at s holds the model after s + 1 updates.
    start = 0
    restored = run.restore()
    if restored is not None:
        done, state = restored
        x, learned_at = state["x"].clone(), state["learned_at"].clone()
        start = done + 1
    rate = top_of_measurements(problem)  # s₁: near X = 0 a step multiplies X's top direction by 1 + ηs₁
    for alpha in sorted(alphas, reverse=True):  # the reference on the ln(1/α) axis, drawn from the start
        run.log(math.log(1 / alpha), {"t_theory": plateau_theory(config, alpha, rate)})

    # -- loop ------------------------------------------------------------------------------------------
    r, shown = config.rank, config.shown
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        res = residuals(x, problem)  # (n, m)
        fraction = learned_fraction(x, problem)  # (n, r)
        learned_at[(learned_at < 0) & (fraction[:, 0] >= HALF)] = step
        if step % config.log_every == 0 or step == config.steps:
            loss, error = sensing_loss(res).tolist(), recovery_error(x, problem).tolist()
            for i, alpha in enumerate(alphas):
                run.log(step, {"loss": loss[i], "error": error[i]}, member=alpha)
            eigs = torch.linalg.svdvals(x[0]).pow(2).tolist()  # eigenvalues of XXᵀ, largest first
            smallest = fraction[0].tolist()
            for i in range(shown):
                values = {"eig": eigs[i]}
                if i < r:
                    values |= {"learned": smallest[i], "target": config.sigmas[i]}
                run.log(step, values, member=i + 1)
        if step % config.snapshot_every == 0 or step == config.steps:
            run.snapshot(step, "xxt", in_target_basis(x[0], problem).numpy())
            run.snapshot(step, "spectrum", torch.linalg.svdvals(x[0]).pow(2).clamp(min=1e-30).log10().numpy())
        if step == config.steps:
            break
        step_(x, res, problem, config.lr)
        if run.checkpoint_due():
            run.checkpoint(step, {"x": x, "learned_at": learned_at})

    # -- when each α learned σ₁, against ln(1/α) (ascending: largest α first) --------------------------
    for i in reversed(range(len(alphas))):
        if learned_at[i] >= 0:
            run.log(math.log(1 / alphas[i]), {"t_learn": float(learned_at[i])})
