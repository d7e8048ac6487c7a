"""The catalogue: one folder per phenomenon, each with a torch-free `spec.py` and a `train.py`.

Adding a phenomenon means adding its folder; nothing here changes.
"""

import importlib
import importlib.util
import pkgutil
from functools import cache
from types import ModuleType


@cache
def names() -> tuple[str, ...]:
    """Phenomenon folder names, sorted; a folder counts when it holds a `spec.py`."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg and importlib.util.find_spec(f"{__name__}.{info.name}.spec") is not None:
            found.append(info.name)
    return tuple(sorted(found))


def spec(name: str) -> ModuleType:
    """The spec module of `name` (torch-free); KeyError if there is none."""
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}.spec")


def trainer(name: str) -> ModuleType:
    """The train module of `name` (imports torch: workers only)."""
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}.train")
