"""Is the database there and writable? The readiness probe's two questions, answered for real.

A SQLite file deleted (or replaced) while the server runs is invisible to its open connections: they go on
reading and writing the unlinked inode, and everything is gone at the next start. `DatabaseFile` remembers the
inode the server opened and says when the path no longer leads to it. `prove_write` commits a one-row UPDATE, so a
full disk, a file-size limit or a read-only file shows up as the error it is.
"""

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.store.db import dialect_insert, transaction
from backend.store.models import Probe


@dataclass(frozen=True)
class DatabaseFile:
    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, url: str) -> "DatabaseFile | None":
        """The SQLite file of `url` as it is now (None: not SQLite, in memory, or not created yet)."""
        parsed = make_url(url)
        if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
            return None
        path = Path(parsed.database).resolve()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return cls(path, stat.st_dev, stat.st_ino)

    def problem(self) -> str | None:
        """Why writes must stop (the file was deleted or replaced since the server opened it), or None."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return (f"the database file {self.path} was deleted while Phaselab was serving: new runs would be "
                    "lost at the next start, so writes are refused; restart `phaselab serve`")
        if (stat.st_dev, stat.st_ino) != (self.device, self.inode):
            return (f"the database file {self.path} was replaced while Phaselab was serving; writes are refused: "
                    "restart `phaselab serve`")
        return None


def prove_write(factory: sessionmaker[Session], name: str) -> None:
    """Commit one UPSERT into `probes` (raises the database's own error if it cannot be written)."""
    with transaction(factory) as session:
        insert = dialect_insert(session)(Probe).values(name=name, at=datetime.now(UTC), count=1)
        session.execute(insert.on_conflict_do_update(
            index_elements=["name"], set_={"at": insert.excluded.at, "count": Probe.count + 1}))
