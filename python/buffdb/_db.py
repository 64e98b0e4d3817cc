"""The database handle."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any, Union

from . import _buffdb

__all__ = ["Db", "ReadOnlyDb", "open"]


class _DbType(type):
    """`Db`'s metaclass: a read-only handle (a `ReadOnlyDb`) is an instance of `Db` too.

    It is not a subclass: `Db` is registered as a `MutableMapping`, ABC registration
    holds for subclasses, and a read-only database is only a `Mapping`.
    """

    def __instancecheck__(cls, obj: Any) -> bool:
        return type.__instancecheck__(cls, obj) or (cls is Db and type.__instancecheck__(ReadOnlyDb, obj))


class Db(_buffdb.Db, metaclass=_DbType):
    """A BuffDB database: one file holding a KV store, blobs, versioned path streams
    and prefix search, with transactions and read-only SQL.

    ``Db(path, **options)`` (or ``buffdb.open(path, **options)``) opens or creates the
    file; ``":memory:"`` opens a private in-memory database. Options (keyword-only):
    ``create`` (True), ``read_only`` (False), ``durability`` (``"full"``,
    ``"normal"`` (default) or ``"none"``), ``compression`` (False), ``verify_checksums``
    (True), ``chunk_size`` (1 MiB; 4 KiB to 64 MiB), ``versions_to_keep`` (2),
    ``cache_size`` (bytes of page cache), ``max_document_size`` (no limit),
    ``busy_timeout_ms`` (5000), ``page_size`` (16384; of a new file, a power of two
    from 4096 to 65536: 65536 writes streams faster, commits single puts slower),
    ``encryption_key`` (None; a ``str`` is a passphrase, ``bytes`` a raw 32-byte key:
    the file is then a standard SQLCipher 4 database; a wrong or missing key raises
    ``NotADatabaseError``, a key for a plaintext file ``InvalidArgumentError``, and
    the file is left unchanged; the engine wipes its copy of the key at close, the
    caller's Python object is not wiped).

    A handle is thread-safe and cheap to share between threads; every call that
    touches the disk releases the GIL. It is a context manager that closes the
    database; after ``close()`` every call raises ``ClosedError``.

    KV is a ``collections.abc.MutableMapping`` (registered: ``isinstance`` says so,
    ``shelve.Shelf(db)`` works): ``db[key]``, ``db[key] = value``, ``del db[key]``,
    ``key in db``, ``len(db)``, ``iter(db)`` (keys), lazy ``keys()``, ``values()``
    and ``items()`` views, ``pop``, ``popitem``, ``setdefault``, ``update`` and
    ``clear`` (each atomic). Keys are ``str`` (stored as UTF-8) or ``bytes``; values
    are bytes-like or ``str``; values and keys come back as ``bytes``. Equality is the
    handle's identity, not its contents. Opened with ``read_only=True`` it is a
    ``ReadOnlyDb``: still an instance of ``Db``, but only a ``Mapping``.

    Every operation (KV, blobs, streams, search, query) comes from the base class
    ``Ops`` and is on ``Transaction`` (``db.begin()``) too, with the same arguments,
    results and errors.
    """

    __slots__ = ()

    def __new__(cls, path: Any, **options: Any) -> "Db":
        if cls is Db and options.get("read_only"):
            cls = ReadOnlyDb  # type: ignore[assignment]
        return _buffdb.Db.__new__(cls, path, **options)  # type: ignore[no-any-return]


class ReadOnlyDb(_buffdb.Db):
    """A database opened with ``read_only=True`` (``Db(path, read_only=True)`` gives
    one): every operation of ``Db``, writes raising ``ReadOnlyError``. It is a
    ``collections.abc.Mapping``, not a ``MutableMapping``, and ``isinstance(db, Db)``
    holds for it.
    """

    __slots__ = ()


MutableMapping.register(Db)
MutableMapping.register(_buffdb.Transaction)
Mapping.register(ReadOnlyDb)


def open(path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"], **options: Any) -> Db:
    """Open (or create) the database at ``path`` with the given options; see ``Db``.

    ``with buffdb.open("app.db") as db: ...`` closes it at the end of the block.
    """
    return Db(path, **options)
