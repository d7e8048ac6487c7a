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
        test_mse = train_mse = norm = ridgeless = 0.0
        for draw in draws:
            phi = features(draw.x_train, draw.w[:, :p])  # (n, p)
            phi_test = features(draw.x_test, draw.w[:, :p])  # (N_TEST, p)
            a = fit_readout(phi, draw.y_train, config.ridge)  # (p,)
            train_mse += ((phi @ a - draw.y_train) ** 2).mean().item()
            test_mse += ((phi_test @ a - draw.y_test) ** 2).mean().item()
            norm += a.norm().item()
            if config.ridge > 0:  # the minimum-norm fit on the same draw: the baseline a ridge is judged against
                a0 = fit_readout(phi, draw.y_train, 0.0)
                ridgeless += ((phi_test @ a0 - draw.y_test) ** 2).mean().item()
        k = config.n_seeds
        values = {"test/mse": test_mse / k, "train/mse": train_mse / k, "readout_norm": norm / k}
        if config.ridge > 0:
            values["test/mse_ridgeless"] = ridgeless / k
        run.log(p, values)
        if run.checkpoint_due():
            run.checkpoint(p, {"p": p})
