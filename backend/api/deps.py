"""Dependencies the routes declare: the settings, a database session, the dispatcher."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.api.errors import DatabaseUnavailable
from backend.store.dispatch import Dispatcher
from backend.store.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


READS = ("GET", "HEAD")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the route returns (before the response is sent).

    A GET reads through the read-only factory: on SQLite it never waits for the worker's writes. A write is
    refused (503) when the SQLite file was deleted or replaced under the running server.
    """
    state = request.app.state
    reading = request.method in READS
    if not reading and state.database_file is not None and (problem := state.database_file.problem()):
        raise DatabaseUnavailable(problem)
    factory = state.read_session_factory if reading else state.session_factory
    with factory() as session, session.begin():
        yield session


def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
