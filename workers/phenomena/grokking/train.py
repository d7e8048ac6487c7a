"""Train the modular-arithmetic MLP full batch with AdamW; log accuracy, loss and weight norm every step."""

import torch
import torch.nn.functional as F

from workers.phenomena.contract import RunContext
from workers.phenomena.grokking.data import make_split
from workers.phenomena.grokking.model import ModularMLP
from workers.phenomena.grokking.spec import Config

BETA1 = 0.9  # AdamW's usual first-moment decay; β₂ is a knob
METRICS = ("train/loss", "train/acc", "val/loss", "val/acc", "weight_norm")  # logged every step


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: the whole table fits in one batch -------------------------------------------------
    split = make_split(
        config.p, config.operation, config.train_frac, config.label_noise, torch.Generator().manual_seed(seed)
    )
    x_train, y_train = split.x_train.to(run.device), split.y_train.to(run.device)  # (N_train, 2), (N_train,)
    x_val, y_val = split.x_val.to(run.device), split.y_val.to(run.device)  # (N_val, 2), (N_val,)

    # -- model and optimizer ---------------------------------------------------------------------
    torch.manual_seed(seed)
    model = ModularMLP(config.p, config.embed_dim, config.width).to(run.device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(BETA1, config.beta2)
    )

    # Step s logs the model after s updates; a checkpoint at s holds the model after s + 1 updates.
    start = 0
    restored = run.restore()
    if restored is not None:
        done, state = restored
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = done + 1

    # -- loop ------------------------------------------------------------------------------------
    for step in range(start, config.steps + 1):
        if run.should_stop():
            return
        logits = model(x_train)  # (N_train, p)
        loss = F.cross_entropy(logits, y_train)
        with torch.no_grad():
            val_logits = model(x_val)  # (N_val, p)
            values = torch.stack(
                [
                    loss,
                    (logits.argmax(dim=1) == y_train).float().mean(),
                    F.cross_entropy(val_logits, y_val),
                    (val_logits.argmax(dim=1) == y_val).float().mean(),
                    model.weight_norm(),
                ]
            ).tolist()  # one device sync per step
        run.log(step, dict(zip(METRICS, values, strict=True)))
        if step % config.snapshot_every == 0 or step == config.steps:
            run.snapshot(step, "embedding_fourier", model.embedding_fourier().cpu().numpy())
        if step == config.steps:
            break

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if run.checkpoint_due():
            run.checkpoint(step, {"model": model.state_dict(), "optimizer": optimizer.state_dict()})
