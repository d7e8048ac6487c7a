"""Dependencies the routes declare: the settings, a database session, the dispatcher."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.store.dispatch import Dispatcher
from backend.store.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the route returns (before the response is sent)."""
    with request.app.state.session_factory() as session, session.begin():
        yield session


def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
