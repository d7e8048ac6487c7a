"""Train one MLP per noise level (the chosen one, and 0 % and 100 % beside it) on the same digits and batches; after
every epoch score each on its training labels and on the test set, and split the chosen network's training
images into clean and noisy ones: does a noisy image get its true digit, or the wrong label it was given?

Runs on the CPU whatever run.device says: the networks are small, and exact resume was checked there.
"""

import numpy as np
import torch

from workers.phenomena.contract import RunContext
from workers.phenomena.label_noise.config import CLASSES, PIXELS, SNAPSHOT_EXAMPLES, Config
from workers.phenomena.label_noise.data import Split, make_split
from workers.phenomena.label_noise.model import StackedMLP, member_losses


def snapshot_examples(split: Split, noise: float) -> np.ndarray:
    """Indices of the training images the scatter shows: the first SNAPSHOT_EXAMPLES clean and noisy ones."""
    noisy = split.noisy(noise)
    return np.concatenate([np.flatnonzero(~noisy)[:SNAPSHOT_EXAMPLES], np.flatnonzero(noisy)[:SNAPSHOT_EXAMPLES]])


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: one split, and the labels each noise level sees ---------------------------------------
    split = make_split(config.n_train, seed)
    members = config.members  # noise levels in percent, ascending
    main = members.index(float(config.noise))
    x_train, x_test = torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)  # (n, 64), (n_test, 64)
    y_true, y_test = torch.from_numpy(split.y_train), torch.from_numpy(split.y_test)  # (n,), (n_test,)
    labels = torch.from_numpy(np.stack([split.labels(f) for f in members]))  # (K, n): what each network is told
    noisy = torch.from_numpy(split.noisy(config.noise))  # (n,) the chosen network's wrong-labelled images
    wrong = torch.from_numpy(split.wrong)  # (n,)
    shown = torch.from_numpy(snapshot_examples(split, config.noise))

    # -- the networks and one AdamW over all of them (elementwise: each trains as it would alone) -----
    generator = torch.Generator().manual_seed(seed)  # draws the init, then every epoch's batch order; checkpointed
    model = StackedMLP(len(members), [PIXELS, *[config.width] * config.depth, CLASSES], generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def score(epoch: int) -> None:
        """Log every network's fit and test accuracy, and the chosen network's clean / noisy split, at `epoch`."""
        with torch.no_grad():
            train_logits, test_logits = model(x_train), model(x_test)  # (K, n, 10), (K, n_test, 10)
            fit_loss = member_losses(train_logits, labels)  # (K,)
            predicted = train_logits.argmax(-1)  # (K, n)
            fit_acc = (predicted == labels).double().mean(1)
            test_acc = (test_logits.argmax(-1) == y_test).double().mean(1)
            test_loss = member_losses(test_logits[main : main + 1], y_test[None])[0]
            mine = predicted[main]
            plain = {"train/loss": float(fit_loss[main]), "test/loss": float(test_loss),
                     "test/acc": float(test_acc[main])}
            if (~noisy).any():
                plain["train/clean_acc"] = float((mine[~noisy] == y_true[~noisy]).double().mean())
            if noisy.any():
                plain["train/noisy_true"] = float((mine[noisy] == y_true[noisy]).double().mean())
                plain["train/noisy_memorized"] = float((mine[noisy] == wrong[noisy]).double().mean())
            if epoch % config.snapshot_every == 0 or epoch == config.epochs:
                p = torch.softmax(train_logits[main, shown], dim=-1)  # (shown, 10)
                rows = torch.arange(len(shown))
                points = torch.stack([p[rows, y_true[shown]], p[rows, wrong[shown]], noisy[shown].double()], dim=1)
                run.snapshot(epoch, "examples", points.numpy())
        run.log(epoch, plain)
        for k, f in enumerate(members):
            run.log(epoch, {"fit/acc": float(fit_acc[k]), "fit/loss": float(fit_loss[k]),
                            "fit/test_acc": float(test_acc[k])}, member=f)

    # Epoch e logs the networks after e passes; a checkpoint at e holds them, and the generator ready for e + 1.
    start = 1
    restored = run.restore()
    if restored is not None:
        done, state = restored
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        start = done + 1
    else:
        score(0)

    # -- loop ---------------------------------------------------------------------------------------------
    for epoch in range(start, config.epochs + 1):
        if run.should_stop():
            return
        order = torch.randperm(config.n_train, generator=generator)
        for first in range(0, config.n_train, config.batch_size):
            batch = order[first : first + config.batch_size]
            loss = member_losses(model(x_train[batch]), labels[:, batch]).sum()  # the K networks do not interact
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        score(epoch)
        if run.checkpoint_due():
            run.checkpoint(epoch, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                   "generator": generator.get_state()})
