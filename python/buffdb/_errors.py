"""BuffDB exception classes: one per engine error code, all subclasses of `Error`."""

from __future__ import annotations

from typing import Dict, Type

__all__ = [
    "Error",
    "NotFoundError",
    "InvalidArgumentError",
    "TooLargeError",
    "CorruptError",
    "NotADatabaseError",
    "ReadOnlyError",
    "BusyError",
    "IoError",
    "FullError",
    "ClosedError",
    "ConflictError",
    "InternalError",
    "BufferTooSmallError",
    "QueryInterruptedError",
]


class Error(Exception):
    """Base class of every BuffDB error.

    ``code`` is the stable error name shared by every language binding (for example
    ``"NOT_FOUND"``), ``number`` its stable number and ``message`` the text without
    the code.
    """

    code: str = "INTERNAL"
    number: int = 12

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class NotFoundError(Error, KeyError):
    """NOT_FOUND (1): a key, blob or stream does not exist. Also a ``KeyError``."""

    code = "NOT_FOUND"
    number = 1


class InvalidArgumentError(Error, ValueError):
    """INVALID_ARGUMENT (2): a bad argument (empty key, bad path, negative offset, ...).
    Also a ``ValueError``."""

    code = "INVALID_ARGUMENT"
    number = 2


class TooLargeError(Error, ValueError):
    """TOO_LARGE (3): a key, value, path, metadata or document over its size limit.
    Also a ``ValueError``."""

    code = "TOO_LARGE"
    number = 3


class CorruptError(Error):
    """CORRUPT (4): stored data failed its checksum or could not be decoded."""

    code = "CORRUPT"
    number = 4


class NotADatabaseError(Error):
    """NOT_A_DATABASE (5): the file is not a BuffDB database (it is left untouched)."""

    code = "NOT_A_DATABASE"
    number = 5


class ReadOnlyError(Error):
    """READ_ONLY (6): a write on a read-only database, or a writing SQL statement."""

    code = "READ_ONLY"
    number = 6


class BusyError(Error, TimeoutError):
    """BUSY (7): another writer held the database past the busy timeout.
    Also a ``TimeoutError``."""

    code = "BUSY"
    number = 7


class IoError(Error, OSError):
    """IO (8): the operating system reported an I/O error. Also an ``OSError``."""

    code = "IO"
    number = 8


class FullError(Error, OSError):
    """FULL (9): the disk (or the database) is full. Also an ``OSError``."""

    code = "FULL"
    number = 9


class ClosedError(Error, ValueError):
    """CLOSED (10): the database, reader, writer or transaction is closed.
    Also a ``ValueError`` (like I/O on a closed file)."""

    code = "CLOSED"
    number = 10


class ConflictError(Error):
    """CONFLICT (11): a conflicting concurrent change."""

    code = "CONFLICT"
    number = 11


class InternalError(Error):
    """INTERNAL (12): a bug in BuffDB (for example a caught panic)."""

    code = "INTERNAL"
    number = 12


class BufferTooSmallError(Error, ValueError):
    """BUFFER_TOO_SMALL (13): a caller's buffer is smaller than the value.
    Also a ``ValueError``."""

    code = "BUFFER_TOO_SMALL"
    number = 13


class QueryInterruptedError(Error):
    """INTERRUPTED (14): a query ran past its time limit or was cancelled.
    (Not named ``InterruptedError``: that is Python's own, for EINTR.)"""

    code = "INTERRUPTED"
    number = 14


_BY_NUMBER: Dict[int, Type[Error]] = {
    cls.number: cls
    for cls in (
        NotFoundError,
        InvalidArgumentError,
        TooLargeError,
        CorruptError,
        NotADatabaseError,
        ReadOnlyError,
        BusyError,
        IoError,
        FullError,
        ClosedError,
        ConflictError,
        InternalError,
        BufferTooSmallError,
        QueryInterruptedError,
    )
}

_BY_CODE: Dict[str, Type[Error]] = {cls.code: cls for cls in _BY_NUMBER.values()}
