"""Steps/s of the Phaselab grokking trainer against bare PyTorch loops of the same model, and time to grok.

    .venv/bin/python -m bench.grokking_bench [--threads 1] [--steps 200] [--rounds 3] [--seed 0]   (from the repo root)

What each contender does per step (default preset: p = 97, "+", train_frac 0.5, full batch):

- phaselab   `workers.phenomena.grokking.train.train` with `workers.memory_run.MemoryRun`, the in-memory
             context that behaves like the real one minus the database: every point kept, snapshots copied
             (and held to their cap), a checkpoint (torch.save with the RNG states, to memory) every 5 s. Forward on train, forward on val (no grad), five metrics
             → Python floats, log; backward, AdamW step. Timed from its first logged step to its last
             (data and model set-up excluded).
- bare       the same model, data and optimizer in a plain loop that computes the same five metrics as
             tensors every step and throws them away (no .tolist(), no logging, snapshots or checkpoints).
- bare-train the same, with only the training step: no validation forward, no metrics.
- textbook   the unfactorized model: embeddings concatenated, then Linear → ReLU → Linear, as one would
             first write it, with the same per-step work as `bare`.

Each contender runs `--steps` steps (the bare loops after 5 warm-up steps), in `--rounds` interleaved
rounds; the table shows each one's median steps per wall-clock second and per CPU second of this
process (the latter barely moves when other processes share the cores). Then
the whole default preset runs once through the trainer, for the time to grok.
"""

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workers import phenomena
from workers.memory_run import MemoryRun
from workers.phenomena.contract import evaluate
from workers.phenomena.grokking.data import Split, make_split
from workers.phenomena.grokking.model import ModularMLP
from workers.phenomena.grokking.spec import Config
from workers.phenomena.grokking.train import BETA1, train

GROKKING = phenomena.load("grokking")


class TimedRun(MemoryRun):
    """The in-memory RunContext (workers.memory_run) that also notes this process's CPU time at each step,
    and checkpoints every 5 s as the worker's context does by default."""

    checkpoint_seconds = 5.0

    def __init__(self) -> None:
        super().__init__(GROKKING)
        self.cpu_at: dict[float, float] = {}  # step -> this process's CPU time (process_time)
        self._last_checkpoint = time.perf_counter()

    def log(self, x: float, values: Mapping[str, float], member: float | None = None) -> None:
        super().log(x, values, member)
        self.cpu_at.setdefault(float(x), time.process_time())

    def checkpoint_due(self) -> bool:
        return time.perf_counter() - self._last_checkpoint >= self.checkpoint_seconds

    def checkpoint(self, step: int, state: dict) -> None:
        super().checkpoint(step, state)
        self._last_checkpoint = time.perf_counter()


class TextbookMLP(nn.Module):
    """ModularMLP's function computed the direct way: concat(E[a], E[b]) → Linear → ReLU → Linear."""

    def __init__(self, p: int, embed_dim: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(p, embed_dim)
        self.hidden = nn.Linear(2 * embed_dim, width)
        self.out = nn.Linear(width, p)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(self.embed(pairs).flatten(1))))  # (N, 2d) → (N, width) → (N, p)


Rate = tuple[float, float]  # (steps per wall-clock second, steps per CPU second of this process)


def bare_loop(model: nn.Module, split: Split, config: Config, steps: int, with_metrics: bool) -> Rate:
    """Steps/s of a plain full-batch AdamW loop."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(BETA1, config.beta2)
    )

    def step() -> None:
        logits = model(split.x_train)
        loss = F.cross_entropy(logits, split.y_train)
        if with_metrics:
            with torch.no_grad():
                val_logits = model(split.x_val)
                torch.stack(
                    [
                        loss,
                        (logits.argmax(dim=1) == split.y_train).float().mean(),
                        F.cross_entropy(val_logits, split.y_val),
                        (val_logits.argmax(dim=1) == split.y_val).float().mean(),
                        torch.stack([q.norm() for q in model.parameters()]).norm(),
                    ]
                )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed(step, steps)


def timed(step: Callable[[], None], steps: int, warmup: int = 5) -> Rate:
    for _ in range(warmup):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def trainer_rate(config: Config, seed: int) -> Rate:
    """Steps/s of `train` between its first and its last logged step."""
    run = TimedRun()
    train(config, run, seed)
    last = float(config.steps)
    return last / (run.logged_at[last] - run.logged_at[0]), last / (run.cpu_at[last] - run.cpu_at[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per contender and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config: Config = GROKKING.presets["default"].config
    print(f"default preset {config.model_dump()}, {args.threads} thread(s), torch {torch.__version__}")
    split = make_split(
        config.p,
        config.operation,
        config.train_frac,
        config.label_noise,
        torch.Generator().manual_seed(args.seed),
    )

    def fresh(model_class: type[nn.Module]) -> nn.Module:
        torch.manual_seed(args.seed)
        return model_class(config.p, config.embed_dim, config.width)

    contenders: dict[str, Callable[[], Rate]] = {
        "phaselab": lambda: trainer_rate(config.model_copy(update={"steps": args.steps}), args.seed),
        "bare": lambda: bare_loop(fresh(ModularMLP), split, config, args.steps, with_metrics=True),
        "bare-train": lambda: bare_loop(fresh(ModularMLP), split, config, args.steps, with_metrics=False),
        "textbook": lambda: bare_loop(fresh(TextbookMLP), split, config, args.steps, with_metrics=True),
    }
    bare_loop(fresh(ModularMLP), split, config, steps=1, with_metrics=True)  # lazy imports out of the clock
    rates: dict[str, list[Rate]] = defaultdict(list)
    for _ in range(args.rounds):
        for name, measure in contenders.items():
            rates[name].append(measure())
    wall = {name: float(np.median([r[0] for r in values])) for name, values in rates.items()}
    cpu = {name: float(np.median([r[1] for r in values])) for name, values in rates.items()}

    print(
        f"\n{'loop':<12}{'steps/s':>9}{'steps/CPU-s':>13}{'phaselab/loop (CPU)':>21}   wall steps/s per round"
    )
    for name in rates:
        rounds = " ".join(f"{r[0]:.1f}" for r in rates[name])
        print(
            f"{name:<12}{wall[name]:>9.1f}{cpu[name]:>13.1f}{cpu['phaselab'] / cpu[name]:>21.2f}   {rounds}"
        )
    print(
        "(steps/CPU-s counts only this process's CPU time: a fairer comparison when other processes share the cores)"
    )

    run = TimedRun()
    started = time.perf_counter()
    train(config, run, args.seed)
    elapsed = time.perf_counter() - started
    summary = evaluate(GROKKING, run.curves(finished=True), config)
    marks = {t.id: t.x for t in summary.transitions}
    print(
        f"\nphaselab, whole default preset: {config.steps} steps in {elapsed:.1f} s "
        f"({config.steps / elapsed:.1f} steps/s), {len(run.checkpoints)} checkpoints, {len(run.snapshots)} snapshots"
    )
    verdicts = ", ".join(f"{c.id} {c.verdict}" for c in summary.claims)
    if "grokking" in marks:
        grok = marks["grokking"]
        print(
            f"memorized at step {marks.get('memorization', float('nan')):g}; grokked at step {grok:g}, "
            f"{run.logged_at[grok] - started:.1f} s after train() was called; claims: {verdicts}"
        )
    else:
        print(f"did not grok within {config.steps} steps: {marks}; claims: {verdicts}")


if __name__ == "__main__":
    main()
