"""Type stubs for the native extension module `buffdb._buffdb` (use `buffdb` instead)."""

from typing import Any, List, Optional, Tuple, final

from typing_extensions import disjoint_base

from . import BlobInfo as BlobInfo
from . import CheckReport as CheckReport
from . import IndexInfo as IndexInfo
from . import IndexIterator as IndexIterator
from . import KeyIterator as KeyIterator
from . import KvIterator as KvIterator
from . import Ops as Ops
from . import PathIterator as PathIterator
from . import QueryResult as QueryResult
from . import Models as Models
from . import Stats as Stats
from . import StreamInfo as StreamInfo
from . import Transaction as Transaction
from . import Db as _PublicDb
from . import Follower as Follower
from . import Replication as Replication
from . import follow as follow
from . import replica_position as replica_position
from . import rekey as rekey
from . import replicate as replicate
from . import restore as restore

__all__ = [
    "__version__", "ENGINE_VERSION", "MAX_KEY_SIZE", "MAX_VALUE_SIZE", "MAX_PATH_SIZE",
    "MAX_METADATA_SIZE", "ENCRYPTION_AVAILABLE", "ERROR_CODES", "Ops", "Db", "Transaction", "NativeReader", "NativeWriter",
    "KvIterator", "KeyIterator", "PathIterator", "IndexIterator", "IndexInfo", "StreamInfo", "BlobInfo", "Stats",
    "CheckReport", "QueryResult", "Models", "Replication", "Follower", "replicate", "restore", "follow",
    "replica_position", "rekey",
]

__version__: str
ENGINE_VERSION: str
MAX_KEY_SIZE: int
MAX_VALUE_SIZE: int
MAX_PATH_SIZE: int
MAX_METADATA_SIZE: int
ENCRYPTION_AVAILABLE: bool
ERROR_CODES: List[Tuple[int, str]]

@final
class NativeReader:
    @property
    def size(self) -> int: ...
    @property
    def info(self) -> Optional[StreamInfo]: ...
    @property
    def closed(self) -> bool: ...
    def read(self, n: int = ...) -> bytes: ...
    def readinto(self, buffer: Any) -> int: ...
    def read_at(self, offset: int, n: int) -> bytes: ...
    def seek(self, pos: int) -> int: ...
    def tell(self) -> int: ...
    def next_chunk(self) -> Optional[bytes]: ...
    def close(self) -> None: ...

@final
class NativeWriter:
    @property
    def path(self) -> str: ...
    @property
    def written(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def write(self, data: Any) -> int: ...
    def set_metadata(self, metadata: Optional[str]) -> None: ...
    def commit(self) -> StreamInfo: ...
    def abort(self) -> None: ...

@disjoint_base
class Db(_PublicDb): ...
