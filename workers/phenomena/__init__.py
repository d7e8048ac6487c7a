"""The catalogue: one folder per phenomenon, each with a torch-free `spec.py` exporting `PHENOMENON` and a
`train.py` with `train(config, run, seed)`.

Adding a phenomenon means adding its folder; nothing here changes. `load` checks each phenomenon when it is
first read (contract.check): a malformed one is a PhenomenonError naming it and the part, at start-up.
"""

import ast
import hashlib
import importlib
import importlib.util
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

from workers.phenomena.contract import Phenomenon, PhenomenonError, check

HERE = Path(__file__).resolve().parent


@cache
def names() -> tuple[str, ...]:
    """Phenomenon folder names, sorted; a folder counts when it holds a `spec.py`."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg and importlib.util.find_spec(f"{__name__}.{info.name}.spec") is not None:
            found.append(info.name)
    return tuple(sorted(found))


@cache
def load(name: str) -> Phenomenon:
    """The checked `PHENOMENON` of `name`; KeyError if there is no such folder, PhenomenonError if malformed."""
    if name not in names():
        raise KeyError(name)
    try:
        module = importlib.import_module(f"{__name__}.{name}.spec")
    except Exception as exc:
        raise PhenomenonError(f"phenomenon {name!r}: spec.py does not import: {type(exc).__name__}: {exc}") from exc
    ph = getattr(module, "PHENOMENON", None)
    if ph is None:
        raise PhenomenonError(f"phenomenon {name!r}: spec.py exports no PHENOMENON")
    check(ph)
    if ph.name != name:
        raise PhenomenonError(f"phenomenon {name!r}: PHENOMENON.name is {ph.name!r}, not its folder's name")
    return ph


def load_all() -> dict[str, Phenomenon]:
    """Every phenomenon, checked: `phaselab serve` calls this at start so a broken spec stops it at once."""
    return {name: load(name) for name in names()}


def trainer(name: str) -> ModuleType:
    """The train module of `name` (imports torch: workers only)."""
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}.train")


@cache
def code_version(name: str) -> str:
    """A digest of the code that produces `name`'s numbers: every .py file of its folder.

    Derived from the source, so it cannot be forgotten: an edit changes it, and with it the content hash, so
    edited code trains anew instead of serving stale curves. spec.py is included: its Config properties
    (grids, cadences) shape the numbers too. A detector or claim change therefore also starts new runs for new
    requests; stored runs keep their curves and get the new verdicts with `phaselab rescore`.
    """
    if name not in names():
        raise KeyError(name)
    return source_digest(HERE / name)


def source_digest(folder: Path) -> str:
    """sha256 (12 hex digits) of the syntax trees of the .py files under `folder`: comments and formatting
    do not count, code and docstrings do."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(ast.dump(ast.parse(path.read_text()), include_attributes=False).encode())
    return digest.hexdigest()[:12]
