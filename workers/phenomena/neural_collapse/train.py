"""Train the MLP on a balanced digits training set with SGD (momentum, weight decay) well past zero training error,
and measure its last-layer features on the whole training set every few epochs: neural collapse's NC1 … NC4,
accuracy and loss, a feature scatter and the class means' cosines.

Runs on the CPU whatever run.device says: the model is small, and exact resume was checked there.
"""

import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from workers.phenomena.contract import RunContext
from workers.phenomena.neural_collapse.collapse import measure, projection
from workers.phenomena.neural_collapse.config import CLASSES, Config
from workers.phenomena.neural_collapse.data import make_split
from workers.phenomena.neural_collapse.model import CollapseMLP


def lr_at(epoch: int, config: Config) -> float:
    """The learning rate of epoch `epoch` (1 … epochs): constant, or cosine from lr down toward 0."""
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / config.epochs))


class SGD:
    """torch.optim.SGD's update (momentum, no dampening, weight decay added to the gradient), written out: building
    torch.optim's optimizer imports torch._dynamo, seconds of a run this small, and its step has overhead too.

    g ← ∇L + wd·θ;  b ← g on the first step, else momentum·b + g;  θ ← θ − lr·b.
    """

    def __init__(self, params: Iterable[torch.Tensor], momentum: float, weight_decay: float):
        self.params: list[torch.Tensor] = list(params)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers: list[torch.Tensor] = []  # empty until the first step

    @torch.no_grad()
    def step(self, lr: float) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        if self.weight_decay:
            torch._foreach_add_(grads, self.params, alpha=self.weight_decay)
        if self.momentum:
            if not self.buffers:
                self.buffers = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads)
            grads = self.buffers
        torch._foreach_add_(self.params, grads, alpha=-lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def observe(model: CollapseMLP, tensors: dict[str, torch.Tensor], run: RunContext, epoch: int,
            log: bool, snapshot: bool) -> None:
    """Measure the network as it classifies (eval mode: BatchNorm on its running statistics) at `epoch`."""
    model.eval()
    with torch.no_grad():
        features, logits = model(tensors["x_train"])  # (N, width), (N, K)
        _, test_logits = model(tensors["x_test"])  # (N_test, K)
        train_loss = F.cross_entropy(logits, tensors["y_train"]).item()
        test_loss = F.cross_entropy(test_logits, tensors["y_test"]).item()
    model.train()
    labels, predictions = tensors["y_train"], logits.argmax(dim=1)
    collapse = measure(features, labels, model.classifier.weight.detach(), predictions, CLASSES)
    if log:
        values = {
            "train/loss": train_loss, "train/acc": float((predictions == labels).double().mean()),
            "test/loss": test_loss, "test/acc": float((test_logits.argmax(dim=1) == tensors["y_test"]).double().mean()),
            "nc1": collapse.nc1, "cos_spread": collapse.cos_spread, "cos_mean": collapse.cos_mean,
            "norm_cv": collapse.norm_cv, "nc3": collapse.nc3, "nc4": collapse.nc4,
        }
        run.log(epoch, {k: v for k, v in values.items() if math.isfinite(v)})  # dead features: no NC1 that point
    if snapshot:
        points = projection(features, labels, tensors["shown"], CLASSES)
        if np.isfinite(points).all():
            run.snapshot(epoch, "features", points)
        if np.isfinite(collapse.cosines).all():
            run.snapshot(epoch, "mean_cosines", collapse.cosines)


def train(config: Config, run: RunContext, seed: int) -> None:
    # -- data: a balanced split by seed; the whole training set is measured at every logged epoch -------------
    split = make_split(config.train_per_class, seed)
    tensors = {
        "x_train": torch.from_numpy(split.x_train), "y_train": torch.from_numpy(split.y_train),  # (N, 64), (N,)
        "x_test": torch.from_numpy(split.x_test), "y_test": torch.from_numpy(split.y_test),
        "shown": torch.from_numpy(split.shown),
    }
    x, y = tensors["x_train"], tensors["y_train"]
    generator = torch.Generator().manual_seed(seed)  # the order of the images in each epoch; checkpointed

    # -- model and optimizer ---------------------------------------------------------------------------
    torch.manual_seed(seed)
    model = CollapseMLP(config.width, config.depth, config.batch_norm)
    optimizer = SGD(model.parameters(), config.momentum, config.weight_decay)

    # A point logged at epoch e describes the network after e epochs; a checkpoint at e holds that network.
    start = 1
    restored = run.restore()
    if restored is not None:
        done, state = restored
        model.load_state_dict(state["model"])
        optimizer.buffers = list(state["momentum"])
        generator.set_state(state["generator"])
        start = done + 1
    else:
        observe(model, tensors, run, 0, log=True, snapshot=True)

    # -- loop --------------------------------------------------------------------------------------------
    for epoch in range(start, config.epochs + 1):
        if run.should_stop():
            return
        lr = lr_at(epoch, config)
        order = torch.randperm(config.n_train, generator=generator)
        for i in range(0, config.n_train, config.batch_size):
            batch = order[i : i + config.batch_size]
            _, logits = model(x[batch])
            loss = F.cross_entropy(logits, y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step(lr)
        last = epoch == config.epochs
        log, snapshot = epoch % config.log_every == 0 or last, epoch % config.snapshot_every == 0 or last
        if log or snapshot:
            observe(model, tensors, run, epoch, log, snapshot)
        if run.checkpoint_due():
            run.checkpoint(epoch, {"model": model.state_dict(), "momentum": optimizer.buffers,
                                   "generator": generator.get_state()})
