"""Train one toy autoencoder per hidden width m on the same fresh batches; log each width's loss and how many
features it stores, then score every width on one held-out set and log loss and features against m.

Runs on the CPU whatever run.device says: the models are tiny, and exact resume was checked there. The widths
are trained one after another inside each step rather than as a padded pack: the step is bound by the
(batch, n) reconstruction every width must write, which packing does not shrink (measured: 16.9 ms packed with
autograd, 18.0 ms looped with autograd, 15.3 ms looped with the hand-written gradient; n = 256, 7 widths, batch 1024).
"""

import math

import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.superposition.config import (
    REPRESENTED_NORM,
    Config,
    frequencies,
    no_superposition_loss,
    snapshot_features,
)
from workers.phenomena.superposition.data import sample
from workers.phenomena.superposition.model import (
    decay_,
    gram,
    init_weights,
    loss_and_grads,
    reconstruct,
    represented,
)

BETAS = (0.9, 0.999)  # Adam's defaults, as in the paper
WARMUP = 0.05  # fraction of the steps the learning rate ramps up over; then cosine down to FLOOR × lr
FLOOR = 0.05
EVAL_SAMPLES = 16_384  # the held-out set every width is scored on (the same one: widths differ by model only)
EVAL_CHUNK = 4_096
EVAL_SEED_OFFSET = 1_000_003  # the held-out set's generator seed is seed + this: never a training batch


def lr_at(step: int, config: Config) -> float:
    """The learning rate of update `step` (1 … steps): linear warm-up, then cosine decay to FLOOR × lr."""
    warm = max(1, round(WARMUP * config.steps))
    if step < warm:
        return config.lr * step / warm
    t = (step - warm) / max(1, config.steps - warm)
    return config.lr * (FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * t)))


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: feature frequencies; batches drawn fresh each step from one generator ---------------
    widths = config.widths
    p = torch.from_numpy(frequencies(config)).float()  # (n,)
    generator = torch.Generator().manual_seed(seed)  # draws the init, then every batch; checkpointed

    # -- model and optimizer: one (W, b) per width, one Adam over all of them ---------------------
    weights, biases = init_weights(config.n_features, widths, config.init_scale, generator)  # (m, n), (n,)
    optimizer = torch.optim.Adam([*weights, *biases], lr=config.lr, betas=BETAS)
    loss_sum = torch.zeros(len(widths), dtype=torch.float64)  # per width, over the steps since the last log
    k = snapshot_features(config)
    shown = widths.index(config.snapshot_m)

    # Update `step` is the step-th Adam step (1 … steps); a point logged at step s describes the model after s
    # updates and the batches of the updates since the previous point. A checkpoint at s holds that model.
    start = 1
    restored = run.restore()
    if restored is not None:
        done, state = restored
        for tensor, saved in zip([*weights, *biases], [*state["weights"], *state["biases"]], strict=True):
            tensor.copy_(saved)
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        loss_sum = state["loss_sum"]
        start = done + 1
    else:
        run.snapshot(0, "wtw", gram(weights[shown], k).numpy())
    for m in widths:  # the reference curves on the m axis, drawn from the start
        run.log(m, {"no_superposition_loss": no_superposition_loss(config, m), "one_per_dim": float(m)})

    # -- loop ---------------------------------------------------------------------------------------
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x = sample(p, config.batch_size, generator)  # (B, n), shared by every width
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            loss, w.grad, b.grad = loss_and_grads(w, b, x)
            loss_sum[i] += loss.item()
        for w in weights:
            decay_(w, lr, config.weight_decay)
        optimizer.step()

        if step % config.log_every == 0 or step == config.steps:
            since = step - (step - 1) // config.log_every * config.log_every  # updates in this interval
            for i, m in enumerate(widths):
                run.log(step, {"loss": float(loss_sum[i]) / since,
                               "represented": float(represented(weights[i], REPRESENTED_NORM))}, member=m)
            loss_sum.zero_()
        if step % config.snapshot_every == 0 or step == config.steps:
            run.snapshot(step, "wtw", gram(weights[shown], k).numpy())
        if run.checkpoint_due():
            run.checkpoint(step, {"weights": weights, "biases": biases, "optimizer": optimizer.state_dict(),
                                  "generator": generator.get_state(), "loss_sum": loss_sum})

    # -- metrics against m: every width scored on the same held-out set ----------------------------
    held_out = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    totals = [0.0] * len(widths)
    with torch.no_grad():
        for _ in range(EVAL_SAMPLES // EVAL_CHUNK):
            x = sample(p, EVAL_CHUNK, held_out)  # (chunk, n)
            for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
                totals[i] += float(((reconstruct(w, b, x) - x) ** 2).mean())
    for i, m in enumerate(widths):
        run.log(m, {"final_loss": totals[i] / (EVAL_SAMPLES // EVAL_CHUNK),
                    "final_represented": float(represented(weights[i], REPRESENTED_NORM))})
