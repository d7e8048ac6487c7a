"""Sweep the number of random features p; at each p fit the readout per seed and log the averaged errors."""

import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.double_descent.data import make_draw
from workers.phenomena.double_descent.model import features, fit_readout
from workers.phenomena.double_descent.spec import Config


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: n_seeds independent draws of data, teacher and features, fixed for the whole sweep ------
    generator = torch.Generator().manual_seed(seed)
    draws = [
        make_draw(config.n_train, config.d, config.noise, config.p_max, generator, run.device)
        for _ in range(config.n_seeds)
    ]

    # The "step" is the width p. A checkpoint at p means every width ≤ p is logged; nothing else to keep.
    restored = run.restore()
    done = restored[0] if restored is not None else -1

    for p in config.feature_grid:
        if p <= done:
            continue
        if run.should_stop():
            return
        test_mse = train_mse = norm = 0.0
        for draw in draws:
            phi = features(draw.x_train, draw.w[:, :p])  # (n, p)
            a = fit_readout(phi, draw.y_train, config.ridge)  # (p,)
            train_mse += ((phi @ a - draw.y_train) ** 2).mean().item()
            test_mse += ((features(draw.x_test, draw.w[:, :p]) @ a - draw.y_test) ** 2).mean().item()
            norm += a.norm().item()
        k = config.n_seeds
        run.log(p, {"test/mse": test_mse / k, "train/mse": train_mse / k, "readout_norm": norm / k})
        if run.checkpoint_due():
            run.checkpoint(p, {"p": p})
