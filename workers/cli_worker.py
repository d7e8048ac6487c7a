"""`phaselab worker`: the body the Typer command in backend/cli.py calls."""

import logging
import sys

from backend.store.vocabulary import Device, Queue

QUEUES = tuple(Queue)
QUEUE_CHOICES = f"{', '.join(QUEUES)} or {','.join(QUEUES)}"  # each queue alone, or all of them


def parse_queues(queue: str) -> list[Queue]:
    """"cpu", "gpu" or "cpu,gpu" -> the list; ValueError naming the bad one otherwise."""
    queues = [q.strip() for q in queue.split(",") if q.strip()]
    bad = [q for q in queues if q not in QUEUES]
    if not queues or bad:
        raise ValueError(f"unknown queue {', '.join(bad) or queue!r}; use {QUEUE_CHOICES}")
    return [Queue(q) for q in dict.fromkeys(queues)]


def worker(queue: str = Queue.CPU, device: str = Device.AUTO, threads: int | None = None) -> None:
    """Train queued runs of `queue` on `device` from PHASELAB_DATABASE_URL until SIGTERM/SIGINT."""
    from backend.store.db import masked
    from backend.store.settings import get_settings
    from workers.device import DeviceUnavailable, pick_device
    from workers.loop import default_threads, prepare_torch, run_worker, worker_identity

    threads = threads or default_threads()
    try:
        queues = parse_queues(queue)
        prepare_torch(threads)  # before anything else imports torch; the start line means "ready"
        picked = pick_device(device)
    except (ValueError, DeviceUnavailable) as exc:
        sys.exit(f"phaselab worker: {exc}")
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    worker_id = worker_identity()
    print(f"phaselab worker {worker_id}: queues {','.join(queues)}, device {picked}, {threads} thread(s), "
          f"database {masked(settings.resolved_database_url)}", flush=True)
    run_worker(settings, queues, picked, threads, worker_id=worker_id)
