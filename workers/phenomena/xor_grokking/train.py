"""Train the two-layer ReLU network by full-batch GD on noisy XOR cluster data; log train accuracy on the clean and
on the flipped examples, test accuracy overall and per cluster, and both losses; store where each neuron points in
the (μ₁, μ₂) plane.

Float64 throughout: with d up to 10⁷ the inner products span seven orders of magnitude.
"""

import numpy as np
import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.xor_grokking.config import Config
from workers.phenomena.xor_grokking.data import make_data
from workers.phenomena.xor_grokking.model import (
    gd_step_,
    logistic_loss,
    output_weights,
    outputs,
    preactivations,
)

CLUSTER_METRICS = ("test/acc_plus_mu1", "test/acc_minus_mu1", "test/acc_plus_mu2", "test/acc_minus_mu2")


def _accuracy(correct: torch.Tensor, mask: torch.Tensor) -> float | None:
    return float(correct[mask].double().mean()) if bool(mask.any()) else None


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: inner products only (see data.py); nothing random is drawn after this ------------------
    data = make_data(config, seed)
    t = lambda array: torch.from_numpy(np.ascontiguousarray(array))  # noqa: E731 - float64 / bool tensors
    gram, cross = t(data.gram), t(data.cross)  # (n, n), (n, T)
    init_train, init_test = t(data.init_train), t(data.init_test)  # (m, n), (m, T)
    init_mu, train_mu = t(data.init_mu), t(data.train_mu)  # (m, 2), (n, 2)
    y_train, y_test = t(data.y_train), t(data.y_test)  # (n,), (T,)
    flipped = t(data.flipped)  # (n,)
    clusters = [t(data.cluster_test == c) for c in range(4)]  # (T,) each

    # -- model: w_j = w_j(0) + Σ_i coef_ji x_i; a_j fixed ------------------------------------------------
    a = output_weights(config.width)  # (m,)
    coef = torch.zeros(config.width, config.n, dtype=torch.float64)  # (m, n)
    signs = np.sign(a.numpy())[:, None]  # (m, 1) colour of each neuron in the scatter

    # Step s logs the network after s GD steps; a checkpoint at s holds it after s + 1.
    start = 0
    restored = run.restore()
    if restored is not None:
        done, state = restored
        coef.copy_(state["coef"])
        start = done + 1
    snapshot_at = set(config.snapshot_steps())

    # -- loop ----------------------------------------------------------------------------------------
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        z = preactivations(init_train, coef, gram)  # (m, n)
        f = outputs(a, z)  # (n,)
        if config.logged(step):
            with torch.no_grad():
                correct = y_train * f > 0  # (n,)
                f_test = outputs(a, preactivations(init_test, coef, cross))  # (T,)
                right = y_test * f_test > 0  # (T,)
                values: dict[str, float | None] = {
                    "train/loss": float(logistic_loss(f, y_train)),
                    "test/loss": float(logistic_loss(f_test, y_test)),
                    "train/acc_clean": _accuracy(correct, ~flipped),
                    "train/acc_flipped": _accuracy(correct, flipped),
                    "test/acc": float(right.double().mean()),
                    **{name: _accuracy(right, mask) for name, mask in zip(CLUSTER_METRICS, clusters, strict=True)},
                }
            run.log(step, {name: value for name, value in values.items() if value is not None})
        if step in snapshot_at:
            along = (init_mu + coef @ train_mu).numpy()  # (m, 2) ⟨w_j, μ_k⟩ / ‖μ‖
            run.snapshot(step, "neurons", np.concatenate([along, signs], axis=1))
        if step == config.steps:
            break
        gd_step_(coef, a, z, f, y_train, config.alpha)
        if run.checkpoint_due():
            run.checkpoint(step, {"coef": coef})
