"""The pages, one file each: `register(app)` adds the page (path, layout) and its callbacks to one app.

Callbacks are collected per module with `Callbacks` and attached with `app.callback`, not with the
global `dash.callback`: Dash hands its global list to the first app that serves a request, so a
second `create_dash` in the same process (tests) would get a UI with dead buttons.
"""

from collections.abc import Callable
from typing import Any

from dash import Dash


class _Clientside:
    def __init__(self, script: str):
        self.script = script


class Callbacks:
    """`@callbacks(Output(...), Input(...))` like `@dash.callback`, kept until `attach(app)`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Callable[..., Any] | _Clientside, tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def keep(function: Callable[..., Any]) -> Callable[..., Any]:
            self._pending.append((function, args, kwargs))
            return function

        return keep

    def clientside(self, script: str, *args: Any, **kwargs: Any) -> None:
        self._pending.append((_Clientside(script), args, kwargs))

    def attach(self, app: Dash) -> None:
        for function, args, kwargs in self._pending:
            if isinstance(function, _Clientside):
                app.clientside_callback(function.script, *args, **kwargs)
            else:
                app.callback(*args, **kwargs)(function)
