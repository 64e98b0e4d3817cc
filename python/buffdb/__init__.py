"""BuffDB: an embedded database in one file.

A key-value store, blobs (id + metadata), versioned and checksummed path streams
(large documents read and written as file objects) and prefix search, with
transactions and read-only SQL, all in one SQLite file::

    import buffdb

    with buffdb.open("app.db") as db:
        db["user:1"] = b"ada"
        db.stream_write("/models/a.bin", b"...")
        with db.stream_open("/models/a.bin") as f:
            data = f.read()
"""

from ._buffdb import (
    ENCRYPTION_AVAILABLE,
    ENGINE_VERSION,
    MAX_KEY_SIZE,
    MAX_METADATA_SIZE,
    MAX_PATH_SIZE,
    MAX_VALUE_SIZE,
    BlobInfo,
    CheckReport,
    IndexInfo,
    IndexIterator,
    KeyIterator,
    KvIterator,
    Models,
    Ops,
    PathIterator,
    QueryResult,
    Stats,
    StreamInfo,
    Transaction,
    __version__,
)
from ._buffdb import Follower, Replication, follow, rekey, replica_position, replicate, restore
from ._db import Db, ReadOnlyDb, open
from ._errors import (
    BufferTooSmallError,
    QueryInterruptedError,
    BusyError,
    ClosedError,
    ConflictError,
    CorruptError,
    Error,
    FullError,
    InternalError,
    InvalidArgumentError,
    IoError,
    NotADatabaseError,
    NotFoundError,
    ReadOnlyError,
    TooLargeError,
)
from ._io import Reader, StreamWriter
from ._views import ItemsView, KeysView, ValuesView


def _find_litestream() -> None:
    # `pip install buffdb[replicate]` puts litestream beside this interpreter, which
    # need not be on PATH (a venv used without activating it).
    import os
    import shutil
    import sysconfig

    beside = os.path.join(sysconfig.get_path("scripts"), "litestream")
    if "BUFFDB_LITESTREAM" not in os.environ and shutil.which("litestream") is None and os.path.isfile(beside):
        os.environ["BUFFDB_LITESTREAM"] = beside


_find_litestream()

__all__ = [
    "__version__",
    "ENGINE_VERSION",
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "MAX_PATH_SIZE",
    "MAX_METADATA_SIZE",
    "ENCRYPTION_AVAILABLE",
    "open",
    "Db",
    "ReadOnlyDb",
    "Transaction",
    "Ops",
    "Reader",
    "StreamWriter",
    "KeysView",
    "ValuesView",
    "ItemsView",
    "KvIterator",
    "KeyIterator",
    "PathIterator",
    "IndexIterator",
    "IndexInfo",
    "StreamInfo",
    "BlobInfo",
    "Stats",
    "CheckReport",
    "QueryResult",
    "Models",
    "Replication",
    "Follower",
    "replicate",
    "restore",
    "follow",
    "replica_position",
    "rekey",
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
