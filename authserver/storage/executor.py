"""What a repository runs its statements on."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class Executor(Protocol):
    """Either handle ``Database.open_session`` gives: an ORM ``Session`` (one transaction,
    committed by whoever opened it) or, on the hot paths, a ``driver.DriverConnection``
    (autocommit: each statement commits on its own). Repositories use Core statements
    only, so that they run alike on both."""

    def execute(self, statement: Any, params: Any = None, /) -> Any:
        """Run a Core statement; the result offers ``first()``, iteration and
        ``rowcount``."""
        ...

    def begin_nested(self) -> AbstractContextManager[Any]:
        """A savepoint: a statement that fails inside it leaves the handle usable."""
        ...
