//! The reader handle over one stream version or one blob.

use super::*;
use crate::Reader;

/// A reader over one stream version or one blob, opened with buffdb_stream_open,
/// buffdb_blob_open or their buffdb_txn_ forms. It fetches chunk by chunk (it holds no
/// long read transaction, so it may stay open for hours) and never mixes two versions.
/// A reader from a transaction reads the transaction's view and gives BUFFDB_CLOSED
/// once the transaction is committed or rolled back. Single-threaded: it may move to
/// another thread but must not be used by two at once. Free with buffdb_reader_free.
pub struct buffdb_reader {
    pub(crate) r: Reader,
}

/// Fills `buf` from a reader (which never mixes versions) or reports the needed size.
pub(crate) fn read_whole(mut r: Reader, buf: &mut [u8], len: &Out<usize>, what: &str) -> Result<()> {
    let size = usize_of(r.size(), "size")?;
    if size > buf.len() {
        len.set(size);
        return Err(too_small(size, buf.len(), what));
    }
    let mut filled = 0;
    while filled < size {
        let n = r.read_into(&mut buf[filled..size])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    len.set(filled);
    Ok(())
}

/// Reads up to `buf_len` bytes from the current position into the caller's buffer and
/// advances; `*n_read` is how many (0 = end). It fills the buffer unless the end comes
/// first, so fixed-size chunked loading needs no extra loop.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_read(
    reader: *mut buffdb_reader,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let n_read = Out::new(n_read, "n_read")?;
        n_read.set(r.r.read_into(buf)?);
        Ok(())
    })
}

/// Reads up to `buf_len` bytes at `offset` without moving the position; `*n_read` is
/// how many (0 past the end).
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_read_at(
    reader: *mut buffdb_reader,
    offset: u64,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let n_read = Out::new(n_read, "n_read")?;
        n_read.set(r.r.read_at(offset, buf)?);
        Ok(())
    })
}

/// Moves the position to `pos` (past the end is allowed: reads then give 0 bytes);
/// `*new_pos` (may be NULL) receives the new position.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_seek(reader: *mut buffdb_reader, pos: u64, new_pos: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        Out::opt(new_pos).set(r.r.seek_to(pos)?);
        Ok(())
    })
}

/// The current position.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_tell(reader: *const buffdb_reader, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        out.set(r.r.tell());
        Ok(())
    })
}

/// The size of the stream version or blob.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_size(reader: *const buffdb_reader, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        out.set(r.r.size());
        Ok(())
    })
}

/// Facts about the stream version being read (BUFFDB_INVALID_ARGUMENT for a blob reader).
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_info(
    reader: *const buffdb_reader,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        let i = r.r.info().ok_or_else(|| invalid("a blob reader has no stream info"))?;
        out.set(i.into());
        Ok(())
    })
}

/// Zero-copy chunk iteration from the current position: `*data`/`*len` borrow the next
/// piece (up to the end of its chunk) and the position advances past it; at the end
/// `*data` is NULL and `*len` 0. The pointer stays valid until the next call on the reader.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_next_chunk(
    reader: *mut buffdb_reader,
    data: *mut *const u8,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let (data, len) = (Out::new(data, "data")?, Out::new(len, "len")?);
        match r.r.next_chunk()? {
            Some(c) => {
                data.set(c.as_ptr());
                len.set(c.len());
            }
            None => {
                data.set(std::ptr::null());
                len.set(0);
            }
        }
        Ok(())
    })
}

/// Frees a reader. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_free(reader: *mut buffdb_reader) {
    free_handle(reader)
}
