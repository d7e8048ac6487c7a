"""`phaselab science`: every preset of every phenomenon trained for real on this machine, each claim checked
against the verdict its preset expects, over several seeds.

Each (phenomenon, preset, seed) trains in a fresh process with one torch thread (several run side by side,
`jobs` at a time), through the same in-memory context and the same `contract.evaluate` the worker uses.
"""

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from workers.phenomena.contract import ClaimOutcome, RunSummary


@dataclass(frozen=True)
class Trial:
    phenomenon: str
    preset: str
    seed: int


@dataclass(frozen=True)
class Result:
    trial: Trial
    seconds: float
    summary: RunSummary


def run_trial(trial: Trial) -> Result:
    """Train one preset with one seed, in this process, on the CPU with one thread."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from workers import phenomena
    from workers.memory_run import MemoryRun
    from workers.phenomena.contract import evaluate

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as the worker trains (workers/loop.py)
    ph = phenomena.load(trial.phenomenon)
    config = ph.presets[trial.preset].config
    run = MemoryRun(ph)
    started = time.perf_counter()
    phenomena.trainer(trial.phenomenon).train(config, run, trial.seed)
    seconds = time.perf_counter() - started
    return Result(trial, seconds, evaluate(ph, run.curves(finished=True), config))


def trials(names: Iterable[str], seeds: int, presets: Sequence[str] = ()) -> list[Trial]:
    from workers import phenomena

    found = []
    for name in names:
        for preset in phenomena.load(name).presets:
            if not presets or preset in presets:
                found += [Trial(name, preset, seed) for seed in range(seeds)]
    return found


def run_all(todo: Sequence[Trial], jobs: int, progress: Callable[[int, Result], None] | None = None) -> list[Result]:
    """Every trial, `jobs` processes at once, in catalogue order; `progress(i, result)` as each one ends."""
    results: list[Result | None] = [None] * len(todo)
    if jobs <= 1:
        for i, trial in enumerate(todo):
            results[i] = run_trial(trial)
            if progress:
                progress(i, results[i])  # type: ignore[arg-type]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_trial, trial): i for i, trial in enumerate(todo)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress:
                    progress(futures[future], future.result())
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class Row:
    """One claim of one preset over its seeds."""

    phenomenon: str
    preset: str
    claim: str
    expected: str
    seconds: float  # mean over seeds
    outcomes: tuple[ClaimOutcome, ...]  # one per seed

    @property
    def hits(self) -> int:
        return sum(o.verdict == self.expected for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.hits == len(self.outcomes)


def rows(results: Sequence[Result]) -> list[Row]:
    grouped: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        grouped.setdefault((result.trial.phenomenon, result.trial.preset), []).append(result)
    out = []
    for (name, preset), group in grouped.items():
        seconds = sum(r.seconds for r in group) / len(group)
        for i, claim in enumerate(group[0].summary.claims):
            outcomes = tuple(r.summary.claims[i] for r in group)
            out.append(Row(name, preset, claim.id, claim.expected or "pass", seconds, outcomes))
    return out


def value_text(outcome: ClaimOutcome) -> str:
    if outcome.value is None:
        return "—"
    text = f"{outcome.value:.3g}"
    if outcome.interval is not None:
        text += f" [{outcome.interval[0]:.3g}, {outcome.interval[1]:.3g}]"
    return text + (f" {outcome.unit}" if outcome.unit else "")


def table_lines(table_rows: Sequence[Row]) -> list[list[str]]:
    """The printed table as text cells: phenomenon, preset, seconds, claim, value ± interval (seed 0),
    verdicts per seed, expected, as-expected rate."""
    lines = []
    for row in table_rows:
        verdicts = " ".join(o.verdict for o in row.outcomes)
        lines.append([row.phenomenon, row.preset, f"{row.seconds:.1f}", row.claim, value_text(row.outcomes[0]),
                      verdicts, row.expected, f"{row.hits}/{len(row.outcomes)}"])
    return lines


HEADER = ["phenomenon", "preset", "s/run", "claim", "value (seed 0)", "verdicts", "expected", "as expected"]


def print_table(table_rows: Sequence[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*HEADER, title="phaselab science: each preset's claims against the verdicts it expects")
    for row, cells in zip(table_rows, table_lines(table_rows), strict=True):
        table.add_row(*cells, style=None if row.ok else "bold red")
    Console(width=200).print(table)


def markdown(table_rows: Sequence[Row]) -> str:
    """The table as GitHub markdown (for the README)."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(cells) + " |" for cells in table_lines(table_rows)]
    return "\n".join(out)
