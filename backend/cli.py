"""The `phaselab` command: serve (API + UI + local workers), worker, migrate, science, rescore.

The composition root: the one module that wires the store, the API, the UI and the workers together.
"""

import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from backend.store.db import masked
from backend.store.settings import get_settings
from backend.store.vocabulary import Device, Queue
from workers.cli_worker import QUEUE_CHOICES, parse_queues
from workers.device import DEVICES
from workers.local_pool import LocalWorkers
from workers.phenomena import load_all, names

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="Phaselab: a browser lab for neural-network training dynamics.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Upgrade the database (PHASELAB_DATABASE_URL) to the newest schema."""
    from backend.store.migrate import upgrade

    url = get_settings().resolved_database_url
    upgrade(url)
    typer.echo(f"database ready: {masked(url)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default PHASELAB_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default PHASELAB_PORT or 8050).")] = None,
    workers: Annotated[int, typer.Option(min=0, max=64, help="Local worker processes to start.")] = 1,
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads per worker (default: cores / workers).")] = None,
) -> None:
    """Start the API and the UI on one port, and N local workers, on PHASELAB_DATABASE_URL."""
    import uvicorn

    from backend.store.migrate import upgrade

    if host is not None:
        os.environ["PHASELAB_HOST"] = host
    if port is not None:
        os.environ["PHASELAB_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    url = settings.resolved_database_url
    load_all()  # a malformed phenomenon stops serve here, in one line (main), not as a 500 later
    upgrade(url)
    per_worker = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    logging.basicConfig(level=logging.WARNING, format="phaselab: %(message)s")
    local = LocalWorkers([sys.executable, "-m", "backend", "worker", "--threads", str(per_worker)], workers,
                         preexec_fn=_die_with_parent)
    address = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Phaselab: database {masked(url)}, {workers} local worker(s) x {per_worker} thread(s)")
    typer.secho(f"Phaselab is running at {address}  (API docs: {address}/api/docs; Ctrl-C stops everything)",
                bold=True)
    # uvicorn re-raises the signal that stopped it once it has shut down; as SystemExit (SIGTERM) or
    # KeyboardInterrupt (SIGINT, Ctrl-C) it unwinds through `finally`, which stops the workers.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(_app_with(local), factory=True, host=settings.host, port=settings.port,
                    lifespan="on", log_level="warning")
    finally:
        local.stop()


def _app_with(local: LocalWorkers) -> "Callable[[], FastAPI]":
    """uvicorn's app factory: the app, told about the local workers (their state: /api/health/ready)."""

    def create() -> "FastAPI":
        from backend.app import create_app

        app = create_app()
        app.state.local_workers = local.health
        return app

    return create


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _die_with_parent() -> None:
    """In a local worker, before exec: get SIGTERM when `serve` dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@app.command()
def worker(
    queue: Annotated[str, typer.Option(help=f"Queue(s) to take runs from: {QUEUE_CHOICES}.")] = Queue.CPU,
    device: Annotated[str, typer.Option(help=f"One of {', '.join(DEVICES)}; {Device.AUTO}: cuda if present, else cpu.")] = Device.AUTO,
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads (default: OMP_NUM_THREADS, else all cores).")] = None,
) -> None:
    """Train queued runs from PHASELAB_DATABASE_URL until stopped."""
    from workers.cli_worker import worker as run_worker

    try:
        queues = parse_queues(queue)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queue") from None
    if device not in DEVICES:
        raise typer.BadParameter(f"unknown device {device!r}; use one of {', '.join(DEVICES)}", param_hint="--device")
    run_worker(queue=",".join(queues), device=device, threads=threads)


def _phenomenon_option(name: str | None) -> str | None:
    if name is not None and name not in names():
        raise typer.BadParameter(f"no phenomenon {name!r}; choose one of: {', '.join(names())}",
                                 param_hint="--phenomenon")
    return name


@app.command()
def science(
    phenomenon: Annotated[str | None, typer.Option(help="Only this phenomenon (default: all).")] = None,
    preset: Annotated[list[str] | None, typer.Option(help="Only these presets (repeatable; default: all).")] = None,
    seeds: Annotated[int, typer.Option(min=1, max=20, help="Seeds per preset (0, 1, ...).")] = 3,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="Trainings at once, one torch thread each.")] = 2,
    markdown: Annotated[bool, typer.Option(help="Also print the table as markdown (for the README).")] = False,
) -> None:
    """Train every preset for real on this machine and check each claim against the verdict it expects."""
    from workers import science as runner

    chosen = [_phenomenon_option(phenomenon)] if phenomenon else list(names())
    todo = runner.trials([c for c in chosen if c], seeds, preset or ())
    if not todo:
        raise typer.BadParameter(f"no preset named {', '.join(preset or [])}", param_hint="--preset")
    typer.echo(f"phaselab science: {len(todo)} trainings, {jobs} at a time...")
    done = 0

    def progress(_i: int, result: "runner.Result") -> None:
        nonlocal done
        done += 1
        t = result.trial
        verdicts = ", ".join(f"{c.id} {c.verdict}" for c in result.summary.claims)
        typer.echo(f"  [{done}/{len(todo)}] {t.phenomenon}/{t.preset} seed {t.seed}: {result.seconds:.1f} s; {verdicts}")

    rows = runner.rows(runner.run_all(todo, jobs, progress))
    runner.print_table(rows)
    if markdown:
        typer.echo(runner.markdown(rows))
    missed = [f"{r.phenomenon}/{r.preset}/{r.claim}" for r in rows if not r.ok]
    if missed:
        typer.secho(f"{len(missed)} claim(s) missed their expected verdict: {', '.join(missed)}", fg="red", err=True)
        raise typer.Exit(1)
    typer.secho(f"every claim reached its expected verdict on every seed ({len(rows)} rows)", fg="green")


@app.command()
def rescore(
    phenomenon: Annotated[str | None, typer.Option(help="Only runs of this phenomenon (default: all).")] = None,
) -> None:
    """Recompute finished runs' transitions and verdicts from their stored curves (no retraining)."""
    from backend.services.rescore import rescore as rescore_runs
    from backend.store.db import make_engine, make_sessionmaker

    _phenomenon_option(phenomenon)
    engine = make_engine(get_settings().resolved_database_url)
    try:
        done = rescore_runs(make_sessionmaker(engine), phenomenon)
    finally:
        engine.dispose()
    for item in done:
        if item.skipped:
            typer.echo(f"  {item.run_id} ({item.phenomenon}): skipped, {item.skipped}")
    changed = sum(item.changed for item in done)
    skipped = sum(item.skipped is not None for item in done)
    typer.echo(f"rescored {len(done) - skipped} run(s): {changed} with new verdicts or transitions, {skipped} skipped")


def main() -> None:
    """The console script: a bad setting or an unreachable database is a one-line message, not a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    from workers.phenomena.contract import PhenomenonError

    try:
        app(prog_name="phaselab")
    except PhenomenonError as exc:
        sys.exit(f"phaselab: the catalogue is broken: {exc}")
    except ValidationError as exc:
        fields = ", ".join(f"PHASELAB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        sys.exit(f"phaselab: bad setting: {fields}")
    except ArgumentError as exc:
        sys.exit(f"phaselab: PHASELAB_DATABASE_URL is not a database URL ({exc})")
    except OperationalError as exc:
        sys.exit(f"phaselab: cannot reach the database: {str(exc.orig).strip().splitlines()[0]}")
