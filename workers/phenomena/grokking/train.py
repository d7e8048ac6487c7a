"""Train the modular-arithmetic MLP full batch with AdamW; log accuracy, loss, weight norm, the softmax-collapse
fraction and the clean/corrupted split of the training set every step.

With Grokfast on, a twin of the network (the same initialization, the same data, no filter) trains alongside, so
the speed-up is measured inside the run: both log their validation accuracy as members of the `grokfast` family.
"""

import copy

import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.grokking.config import Config
from workers.phenomena.grokking.data import make_split
from workers.phenomena.grokking.model import ModularMLP
from workers.phenomena.grokking.stablemax import mean_loss, per_example_loss

BETA1 = 0.9  # AdamW's usual first-moment decay; β₂ is a knob
METRICS = ("train/loss", "train/acc", "val/loss", "val/acc", "weight_norm",  # the original five, then:
           "train/zero_loss", "train/acc_clean", "train/noisy_memorized", "train/noisy_true")  # computed every step
COLLAPSE = ("train/zero_loss",)  # logged without weight decay: the softmax-collapse story
NOISE = ("train/acc_clean", "train/noisy_memorized", "train/noisy_true")  # logged with label noise


def skipped(config: Config) -> set[str]:
    """The metrics of optional charts this run does not log: their knob is off, they would say nothing."""
    return {*(COLLAPSE if config.weight_decay > 0 else ()), *(NOISE if config.label_noise == 0 else ())}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def grokfast_(model: torch.nn.Module, ema: list[torch.Tensor] | None, alpha: float, lam: float) -> list[torch.Tensor]:
    """Lee et al.'s Grokfast-EMA, in place on the gradients: ema ← α·ema + (1 − α)·g, then g ← g + λ·ema.

    The first call starts the average at the first gradient (as their reference code does)."""
    grads = [q.grad for q in model.parameters() if q.grad is not None]
    if ema is None:
        ema = [g.detach().clone() for g in grads]
    else:
        for e, g in zip(ema, grads, strict=True):
            e.mul_(alpha).add_(g, alpha=1 - alpha)
    for e, g in zip(ema, grads, strict=True):
        g.add_(e, alpha=lam)
    return ema


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: the whole table fits in one batch -------------------------------------------------
    split = make_split(
        config.p, config.operation, config.train_frac, config.label_noise, torch.Generator().manual_seed(seed)
    )
    x_train, y_train = split.x_train.to(run.device), split.y_train.to(run.device)  # (N_train, 2), (N_train,)
    x_val, y_val = split.x_val.to(run.device), split.y_val.to(run.device)  # (N_val, 2), (N_val,)
    y_true, noisy = split.y_train_true.to(run.device), split.noisy.to(run.device)  # (N_train,) each
    clean = ~noisy

    # -- model and optimizer (and, with Grokfast, the unfiltered twin from the same init) ----------
    torch.manual_seed(seed)
    model = ModularMLP(config.p, config.embed_dim, config.width).to(run.device, DTYPES[config.dtype])

    def adamw(net: torch.nn.Module) -> torch.optim.AdamW:
        return torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 betas=(BETA1, config.beta2))

    optimizer = adamw(model)
    twin = copy.deepcopy(model) if config.grokfast else None
    twin_optimizer = adamw(twin) if twin is not None else None
    ema: list[torch.Tensor] | None = None

    # Step s logs the model after s updates; a checkpoint at s holds the model after s + 1 updates.
    start = 0
    restored = run.restore()
    if restored is not None:
        done, state = restored
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if twin is not None and twin_optimizer is not None:
            twin.load_state_dict(state["twin"])
            twin_optimizer.load_state_dict(state["twin_optimizer"])
            ema = state["ema"] or None
        start = done + 1

    # -- loop ------------------------------------------------------------------------------------
    member = config.grokfast_lambda
    omit = skipped(config)
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        logits = model(x_train)  # (N_train, p)
        loss = mean_loss(logits, y_train, config.output)
        twin_loss = mean_loss(twin(x_train), y_train, config.output) if twin is not None else None
        with torch.no_grad():
            val_logits = model(x_val)  # (N_val, p)
            predicted = logits.argmax(dim=1)
            right = predicted == y_train
            values = torch.stack([v.double() for v in (
                loss,
                right.float().mean(),
                mean_loss(val_logits, y_val, config.output),
                (val_logits.argmax(dim=1) == y_val).float().mean(),
                model.weight_norm(),
                (per_example_loss(logits, y_train, config.output) == 0).float().mean(),  # softmax collapse
                right[clean].float().mean(),  # accuracy on the clean examples
                (right & noisy).float().mean(),  # corrupted, predicted with their wrong label: share of the set
                ((predicted == y_true) & noisy).float().mean(),  # corrupted, predicted with the true answer
            )]).tolist()  # one device sync per step
            twin_val = (twin(x_val).argmax(dim=1) == y_val).float().mean().item() if twin is not None else None
        logged = {name: value for name, value in zip(METRICS, values, strict=True) if name not in omit}
        run.log(step, logged)
        if twin_val is not None:  # Grokfast on: the filtered run and its unfiltered twin, side by side
            run.log(step, {"grokfast/val_acc": logged["val/acc"]}, member=member)
            run.log(step, {"grokfast/val_acc": twin_val}, member=0.0)
        if step % config.snapshot_every == 0 or step == config.steps:
            run.snapshot(step, "embedding_fourier", model.embedding_fourier().cpu().numpy())
        if step == config.steps:
            break

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grokfast:
            ema = grokfast_(model, ema, config.grokfast_alpha, config.grokfast_lambda)
        optimizer.step()
        if twin_optimizer is not None and twin_loss is not None:
            twin_optimizer.zero_grad(set_to_none=True)
            twin_loss.backward()
            twin_optimizer.step()
        if run.checkpoint_due():
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
            if twin is not None and twin_optimizer is not None:
                state |= {"twin": twin.state_dict(), "twin_optimizer": twin_optimizer.state_dict(), "ema": ema or []}
            run.checkpoint(step, state)
