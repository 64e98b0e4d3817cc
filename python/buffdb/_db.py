"""The database handle."""

from __future__ import annotations

import os
from typing import Any, Union

from . import _buffdb

__all__ = ["Db", "open"]


class Db(_buffdb.Db):
    """A BuffDB database: one file holding a KV store, blobs, versioned path streams
    and prefix search, with transactions and read-only SQL.

    ``Db(path, **options)`` (or ``buffdb.open(path, **options)``) opens or creates the
    file; ``":memory:"`` opens a private in-memory database. Options (keyword-only):
    ``create`` (True), ``read_only`` (False), ``durability`` (``"full"``,
    ``"normal"`` (default) or ``"none"``), ``compression`` (False), ``verify_checksums``
    (True), ``chunk_size`` (1 MiB; 4 KiB to 64 MiB), ``versions_to_keep`` (2),
    ``cache_size`` (bytes of page cache), ``max_document_size`` (no limit),
    ``busy_timeout_ms`` (5000), ``page_size`` (16384; of a new file, a power of two
    from 4096 to 65536: 65536 writes streams faster, commits single puts slower).

    A handle is thread-safe and cheap to share between threads; every call that
    touches the disk releases the GIL. It is a context manager that closes the
    database; after ``close()`` every call raises ``ClosedError``.

    KV works like a mapping: ``db[key]``, ``db[key] = value``, ``del db[key]``,
    ``key in db``, ``len(db)``, ``iter(db)`` (keys). Keys are ``str`` (stored as
    UTF-8) or ``bytes``; values are bytes-like or ``str``; values and keys come back
    as ``bytes``.

    Every operation (KV, blobs, streams, search, query) comes from the base class
    ``Ops`` and is on ``Transaction`` (``db.begin()``) too, with the same arguments,
    results and errors.
    """

    __slots__ = ()


def open(path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"], **options: Any) -> Db:
    """Open (or create) the database at ``path`` with the given options; see ``Db``.

    ``with buffdb.open("app.db") as db: ...`` closes it at the end of the block.
    """
    return Db(path, **options)
