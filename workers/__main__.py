"""`python -m workers [--queue cpu|gpu|cpu,gpu] [--device auto|cpu|cuda] [--threads N]`: one worker process.

The same as `phaselab worker`, without the CLI's imports (the tests start workers this way).
"""

import argparse

from workers.cli_worker import worker


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


parser = argparse.ArgumentParser(prog="python -m workers", description="Train queued Phaselab runs.")
parser.add_argument("--queue", default="cpu", help="cpu, gpu or cpu,gpu")
parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
parser.add_argument("--threads", type=positive, default=None,
                    help="torch threads (default: OMP_NUM_THREADS, else every core)")
args = parser.parse_args()
worker(queue=args.queue, device=args.device, threads=args.threads)
