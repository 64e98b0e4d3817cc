"""File objects over BuffDB blobs and path streams."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ._errors import ClosedError, InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from ._buffdb import NativeReader, NativeWriter, StreamInfo

__all__ = ["Reader", "StreamWriter"]


class Reader(io.RawIOBase):
    """A read-only, seekable binary file object over one stream version or a blob.

    Returned by ``stream_open()`` and ``blob_open()`` of a ``Db`` or a
    ``Transaction`` (a reader opened in a transaction reads its view, its own writes
    included, and raises ``ClosedError`` once the transaction ends). It is an
    ``io.RawIOBase``, so ``shutil.copyfileobj``, ``io.BufferedReader`` and libraries
    that take a file object work with it. ``readinto`` fills the caller's buffer
    directly; ``read`` copies the data once into the returned ``bytes``. Every read
    releases the GIL. A reader never mixes two versions of a stream and holds no
    database transaction between calls, so it can stay open for a long time.
    Closing it (or leaving a ``with`` block) releases it.
    """

    def __init__(self, native: "NativeReader") -> None:
        super().__init__()
        self._native = native

    # -- io.RawIOBase ------------------------------------------------------

    def readable(self) -> bool:
        """True: a reader can be read."""
        self._check_open()
        return True

    def seekable(self) -> bool:
        """True: a reader can seek anywhere."""
        self._check_open()
        return True

    def writable(self) -> bool:
        """False: readers are read-only."""
        self._check_open()
        return False

    def read(self, size: Optional[int] = -1) -> bytes:
        """Read up to ``size`` bytes (everything left if ``size`` is negative or None);
        ``b""`` at the end."""
        self._check_open()
        if size is None:
            size = -1
        return self._native.read(size)

    def readall(self) -> bytes:
        """Read everything from the current position to the end."""
        self._check_open()
        return self._native.read(-1)

    def readinto(self, buffer: Any) -> int:
        """Read into a writable buffer (``bytearray``, ``memoryview``, ``array``,
        numpy array, ``mmap``) without an intermediate copy; returns the number of
        bytes read, 0 at the end."""
        self._check_open()
        return self._native.readinto(buffer)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` relative to ``whence`` (``SEEK_SET``, ``SEEK_CUR`` or
        ``SEEK_END``); returns the new absolute position. Seeking past the end is
        allowed (reads then return nothing); before the start raises
        ``InvalidArgumentError`` (a ``ValueError``)."""
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._native.tell() + offset
        elif whence == io.SEEK_END:
            target = self._native.size + offset
        else:
            raise InvalidArgumentError(f"invalid whence ({whence!r}, should be 0, 1 or 2)")
        if target < 0:
            raise InvalidArgumentError(f"negative seek position {target}")
        return self._native.seek(target)

    def tell(self) -> int:
        """The current position."""
        self._check_open()
        return self._native.tell()

    def close(self) -> None:
        """Close the reader (idempotent)."""
        native = getattr(self, "_native", None)
        if native is not None:
            native.close()
        super().close()

    # -- BuffDB extras -----------------------------------------------------

    @property
    def size(self) -> int:
        """Total size in bytes."""
        return self._native.size

    @property
    def info(self) -> Optional["StreamInfo"]:
        """``StreamInfo`` of the version being read, ``None`` for a blob."""
        return self._native.info

    @property
    def name(self) -> Optional[str]:
        """The stream path (``None`` for a blob)."""
        info = self._native.info
        return info.path if info is not None else None

    def read_at(self, offset: int, size: int) -> bytes:
        """Read up to ``size`` bytes at ``offset`` without moving the position."""
        self._check_open()
        return self._native.read_at(offset, size)

    def chunks(self) -> Iterator[bytes]:
        """Iterate over the stored chunks from the current position."""
        self._check_open()
        while True:
            chunk = self._native.next_chunk()
            if chunk is None:
                return
            yield chunk

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError("reader is closed")

    def __repr__(self) -> str:
        what = f"path={self.name!r}" if self.name is not None else "blob"
        state = "closed" if self.closed else f"size={self._native.size}"
        return f"<buffdb.Reader {what} {state}>"


class StreamWriter(io.RawIOBase):
    """A write-only binary file object that writes a new version of a path stream.

    Returned by ``stream_writer(path)`` of a ``Db`` or a ``Transaction``. Nothing
    is visible to readers until ``commit()`` (in a transaction: until the
    transaction commits; a rollback discards it, and the writer raises
    ``ClosedError`` once the transaction ends). Used as a context manager it commits when the block succeeds and
    aborts when it raises; ``close()`` also commits (like closing a file), while a
    writer that is garbage-collected without being closed or committed is aborted.
    """

    def __init__(self, native: "NativeWriter") -> None:
        super().__init__()
        self._native = native
        self._info: Optional["StreamInfo"] = None

    def readable(self) -> bool:
        """False: a writer cannot be read."""
        self._check_open()
        return False

    def seekable(self) -> bool:
        """False: a writer only appends."""
        self._check_open()
        return False

    def writable(self) -> bool:
        """True."""
        self._check_open()
        return True

    def write(self, data: Any) -> int:
        """Append bytes-like data; returns the number of bytes written."""
        self._check_open()
        return self._native.write(data)

    def tell(self) -> int:
        """Bytes written so far."""
        self._check_open()
        return self._native.written

    def flush(self) -> None:
        """Nothing to do: data becomes visible on ``commit()``."""

    @property
    def path(self) -> str:
        """The stream path being written."""
        return self._native.path

    @property
    def written(self) -> int:
        """Bytes written so far."""
        return self._native.written

    @property
    def info(self) -> Optional["StreamInfo"]:
        """``StreamInfo`` of the committed version (``None`` before ``commit()``)."""
        return self._info

    def set_metadata(self, metadata: Optional[str]) -> None:
        """Set the metadata (``None``: none) the new version gets when committed."""
        self._check_open()
        self._native.set_metadata(metadata)

    def commit(self) -> "StreamInfo":
        """Make the new version visible and close the writer; returns its ``StreamInfo``."""
        self._check_open()
        try:
            self._info = self._native.commit()
        finally:
            super().close()
        return self._info

    def abort(self) -> None:
        """Discard everything written and close the writer (idempotent)."""
        native = getattr(self, "_native", None)
        try:
            if native is not None:
                native.abort()
        finally:
            super().close()

    def close(self) -> None:
        """Commit (if not already committed or aborted) and close."""
        if not self.closed:
            self.commit()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unfinished writer is aborted.
        try:
            if not self.closed:
                self.abort()
        except Exception:
            pass

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError("stream writer is closed")

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"written={self._native.written}"
        return f"<buffdb.StreamWriter path={self.path!r} {state}>"
