"""What the sharpness probe of the edge-of-stability trainer costs: the default preset trained once with and once
without it, in this process, with the same thread count.

    .venv/bin/python -m bench.sharpness [--threads 1] [--seed 0] [--preset default]   (from the repo root)

The probe is `power_iters` Hessian-vector products (double backward) every `sharpness_every` steps, each warm-started
from the previous top eigenvector. Both runs go through `workers.memory_run.MemoryRun`, the in-memory context
(every point kept, snapshots copied). The table shows wall-clock and CPU seconds of this process (the latter barely
moves when other processes share the cores) and the probe's share of the run with it: (with − without) / with.
The issue's bar is a share of at most 30 %.
"""

import argparse
import time

import torch

from workers import phenomena
from workers.memory_run import MemoryRun
from workers.phenomena.edge_of_stability.train import gradient_descent

EOS = phenomena.load("edge_of_stability")
BAR = 0.30


def timed(config, seed: int, probe: bool) -> tuple[float, float, MemoryRun]:
    """(wall seconds, CPU seconds, the run) of one whole training run."""
    run = MemoryRun(EOS)
    wall, cpu = time.perf_counter(), time.process_time()
    gradient_descent(config, run, seed, probe=probe)
    return time.perf_counter() - wall, time.process_time() - cpu, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="default", choices=sorted(EOS.presets))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = EOS.presets[args.preset].config
    print(f"{args.preset} preset: η = {config.lr:g}, {config.steps} steps, {config.n_train} images, width "
          f"{config.width} × {config.depth}; sharpness every {config.sharpness_every} steps, {config.power_iters} "
          f"Hessian-vector products each; {args.threads} thread(s), torch {torch.__version__}")
    timed(EOS.presets["tiny"].config.model_copy(update={"steps": 40}), args.seed, probe=True)  # lazy set-up
    without = timed(config, args.seed, probe=False)
    with_probe = timed(config, args.seed, probe=True)
    assert "sharpness" not in without[2].names() and "sharpness" in with_probe[2].names()

    print(f"\n{'run':<16}{'wall s':>9}{'CPU s':>9}{'ms/step (wall)':>16}")
    for name, (wall, cpu, _) in (("without probe", without), ("with probe", with_probe)):
        print(f"{name:<16}{wall:>9.1f}{cpu:>9.1f}{1000 * wall / config.steps:>16.2f}")
    share_wall = (with_probe[0] - without[0]) / with_probe[0]
    share_cpu = (with_probe[1] - without[1]) / with_probe[1]
    measurements = len(with_probe[2].xs("sharpness"))
    verdict = "within" if share_cpu <= BAR else "OVER"
    print(f"\nprobe overhead / total: {share_wall:.1%} of wall time, {share_cpu:.1%} of CPU time "
          f"({measurements} measurements, {measurements * config.power_iters} Hessian-vector products); "
          f"{verdict} the {BAR:.0%} bar")


if __name__ == "__main__":
    main()
