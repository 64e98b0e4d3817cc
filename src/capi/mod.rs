//! The C ABI (feature `capi`): `include/buffdb.h` is generated from this module by cbindgen.
//!
//! Rules every function here follows (see docs/c.md):
//! - every exported function runs inside [`crate::catch_panic`]: a panic becomes
//!   `BUFFDB_INTERNAL`, it never unwinds into C;
//! - it returns a [`buffdb_status`]; on failure the thread-local message is set
//!   (`buffdb_last_error_message`), on success it is cleared;
//! - pointers are checked: NULL, invalid UTF-8 and impossible lengths give
//!   `BUFFDB_INVALID_ARGUMENT` before anything is done;
//! - out-parameters are written only on success (the one exception is the needed size
//!   reported with `BUFFDB_BUFFER_TOO_SMALL`);
//! - the binding is thin: it converts types and errors and calls the engine;
//! - each operation is written once, over `&impl Ops`; its database export
//!   (`buffdb_X`, over [`db_ops`]) and its transaction export (`buffdb_txn_X`, over
//!   [`txn_ops`]) only resolve their handle and call it, both with the run-time
//!   surface `Core`, so the operation is compiled once, not once per `Db` and `Txn`
//!   (the per-key KV calls excepted, for speed: src/capi/kv.rs).
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use crate::ops::sealed::Sealed;
use crate::storage::Core;
use crate::{Error, ErrorCode, Ops, Result};

mod blob;
mod db;
mod index;
mod kv;
mod model;
mod query;
mod reader;
mod search;
mod stream;
mod txn;

pub use blob::*;
pub use db::*;
pub use index::*;
pub use kv::*;
pub use model::*;
pub use query::*;
pub use reader::*;
pub use search::*;
pub use stream::*;
pub use txn::*;

/// The result of every call. `BUFFDB_OK` is 0; every other value is the engine's stable
/// error code with the same number in every language (never renumbered, only extended).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum buffdb_status {
    /// Success.
    BUFFDB_OK = 0,
    /// The key, blob, stream or version does not exist.
    BUFFDB_NOT_FOUND = 1,
    /// A NULL pointer, invalid UTF-8, an impossible length, an empty key, a bad option...
    BUFFDB_INVALID_ARGUMENT = 2,
    /// A key, value, path, metadata or document over its documented limit.
    BUFFDB_TOO_LARGE = 3,
    /// Stored data failed its checksum or could not be decoded.
    BUFFDB_CORRUPT = 4,
    /// The file exists but is not a BuffDB database (it is left untouched).
    BUFFDB_NOT_A_DATABASE = 5,
    /// A write on a read-only database, or a writing SQL statement in buffdb_query.
    BUFFDB_READ_ONLY = 6,
    /// Another writer held the database past the busy timeout.
    BUFFDB_BUSY = 7,
    /// An operating-system I/O error.
    BUFFDB_IO = 8,
    /// The disk is full.
    BUFFDB_FULL = 9,
    /// The database, transaction, writer or reader was closed (or already finished).
    BUFFDB_CLOSED = 10,
    /// A conflicting concurrent change.
    BUFFDB_CONFLICT = 11,
    /// A bug in BuffDB (including a caught panic).
    BUFFDB_INTERNAL = 12,
    /// A caller's buffer is smaller than the value; the needed size is in the length
    /// out-parameter.
    BUFFDB_BUFFER_TOO_SMALL = 13,
    /// A query ran past its time limit or was cancelled.
    BUFFDB_INTERRUPTED = 14,
}

impl buffdb_status {
    fn from_code(code: ErrorCode) -> buffdb_status {
        use buffdb_status::*;
        match code {
            ErrorCode::NotFound => BUFFDB_NOT_FOUND,
            ErrorCode::InvalidArgument => BUFFDB_INVALID_ARGUMENT,
            ErrorCode::TooLarge => BUFFDB_TOO_LARGE,
            ErrorCode::Corrupt => BUFFDB_CORRUPT,
            ErrorCode::NotADatabase => BUFFDB_NOT_A_DATABASE,
            ErrorCode::ReadOnly => BUFFDB_READ_ONLY,
            ErrorCode::Busy => BUFFDB_BUSY,
            ErrorCode::Io => BUFFDB_IO,
            ErrorCode::Full => BUFFDB_FULL,
            ErrorCode::Closed => BUFFDB_CLOSED,
            ErrorCode::Conflict => BUFFDB_CONFLICT,
            ErrorCode::Internal => BUFFDB_INTERNAL,
            ErrorCode::BufferTooSmall => BUFFDB_BUFFER_TOO_SMALL,
            ErrorCode::Interrupted => BUFFDB_INTERRUPTED,
        }
    }
}

/// Largest KV key in bytes (keys must also be non-empty).
pub const BUFFDB_MAX_KEY_SIZE: u32 = 4096;
/// Largest KV value in bytes (64 MiB); bigger data belongs in blobs or streams.
pub const BUFFDB_MAX_VALUE_SIZE: u32 = 67108864;
/// Largest stream path in bytes (non-empty UTF-8, no NUL).
pub const BUFFDB_MAX_PATH_SIZE: u32 = 4096;
/// Largest blob metadata string in bytes (1 MiB).
pub const BUFFDB_MAX_METADATA_SIZE: u32 = 1048576;
/// Smallest chunk_size option (4 KiB).
pub const BUFFDB_MIN_CHUNK_SIZE: u32 = 4096;
/// Largest chunk_size option (64 MiB).
pub const BUFFDB_MAX_CHUNK_SIZE: u32 = 67108864;

const _: () = {
    assert!(BUFFDB_MAX_KEY_SIZE as usize == crate::MAX_KEY_SIZE);
    assert!(BUFFDB_MAX_VALUE_SIZE as usize == crate::MAX_VALUE_SIZE);
    assert!(BUFFDB_MAX_PATH_SIZE as usize == crate::MAX_PATH_SIZE);
    assert!(BUFFDB_MAX_METADATA_SIZE as usize == crate::MAX_METADATA_SIZE);
    assert!(BUFFDB_MIN_CHUNK_SIZE as usize == crate::MIN_CHUNK_SIZE);
    assert!(BUFFDB_MAX_CHUNK_SIZE as usize == crate::MAX_CHUNK_SIZE);
};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(e: &Error) {
    let text = format!("{}: {}", e.code().name(), e.message()).replace('\0', "\\0");
    let c = CString::new(text).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| *l.borrow_mut() = Some(c));
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut b) = l.try_borrow_mut() {
            if b.is_some() {
                *b = None;
            }
        }
    });
}

/// The panic boundary and error conversion every exported function goes through.
pub(crate) fn ffi(f: impl FnOnce() -> Result<()>) -> buffdb_status {
    clear_last_error();
    match crate::catch_panic(f) {
        Ok(()) => buffdb_status::BUFFDB_OK,
        Err(e) => failed(e),
    }
}

/// The failure half of [`ffi`], once instead of in every export.
#[inline(never)]
fn failed(e: Error) -> buffdb_status {
    set_last_error(&e);
    buffdb_status::from_code(e.code())
}

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidArgument, msg)
}

/// A caller's byte range as a slice. NULL is accepted only with length 0.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len > isize::MAX as usize {
        return Err(invalid(format!("{what}: impossible length {len}")));
    }
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(invalid(format!("{what} is NULL but its length is {len}")));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A caller's writable buffer. NULL is accepted only with length 0.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut u8, len: usize, what: &str) -> Result<&'a mut [u8]> {
    if len > isize::MAX as usize {
        return Err(invalid(format!("{what}: impossible length {len}")));
    }
    if p.is_null() {
        if len == 0 {
            return Ok(&mut []);
        }
        return Err(invalid(format!("{what} is NULL but its length is {len}")));
    }
    Ok(std::slice::from_raw_parts_mut(p, len))
}

/// An array argument of `n` elements (NULL only with n == 0).
pub(crate) unsafe fn array<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T]> {
    if n > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(invalid(format!("{what}: impossible count {n}")));
    }
    if p.is_null() {
        if n == 0 {
            return Ok(&[]);
        }
        return Err(invalid(format!("{what} is NULL but its count is {n}")));
    }
    Ok(std::slice::from_raw_parts(p, n))
}

/// A byte range where NULL means "none" (`start_after`: from the beginning).
pub(crate) unsafe fn opt_bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<Option<&'a [u8]>> {
    if p.is_null() {
        if len != 0 {
            return Err(invalid(format!("{what} is NULL but its length is {len}")));
        }
        Ok(None)
    } else {
        bytes(p, len, what).map(Some)
    }
}

/// `limit` value meaning "no limit" (`#define BUFFDB_NO_LIMIT SIZE_MAX` in the header).
pub(crate) const BUFFDB_NO_LIMIT: usize = usize::MAX;

/// `limit`: BUFFDB_NO_LIMIT (SIZE_MAX) = no limit.
pub(crate) fn opt_limit(limit: usize) -> Option<usize> {
    if limit == BUFFDB_NO_LIMIT {
        None
    } else {
        Some(limit)
    }
}

/// A NUL-terminated UTF-8 string argument (NULL is an error).
pub(crate) unsafe fn string<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    CStr::from_ptr(p).to_str().map_err(|e| invalid(format!("{what} is not valid UTF-8 ({e})")))
}

/// A NUL-terminated file name (NULL is an error): the OS bytes exactly, not required to
/// be UTF-8, as the kernel takes a `const char*` path.
#[cfg(unix)]
pub(crate) unsafe fn os_path<'a>(p: *const c_char, what: &str) -> Result<&'a std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(CStr::from_ptr(p).to_bytes())))
}

/// Elsewhere a `char*` file name has no exact meaning: it must be UTF-8.
#[cfg(not(unix))]
pub(crate) unsafe fn os_path<'a>(p: *const c_char, what: &str) -> Result<&'a std::path::Path> {
    string(p, what).map(std::path::Path::new)
}

/// A NUL-terminated UTF-8 string argument where NULL means "none".
pub(crate) unsafe fn opt_string<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        string(p, what).map(Some)
    }
}

/// A handle argument (NULL is an error).
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// A handle argument used mutably (NULL is an error).
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// A required out-parameter: checked before the operation runs, written after it succeeded.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(p: *mut T, what: &str) -> Result<Out<T>> {
        if p.is_null() {
            Err(invalid(format!("out-parameter {what} is NULL")))
        } else {
            Ok(Out(p))
        }
    }
    /// An optional out-parameter (NULL = the caller does not want it).
    pub(crate) fn opt(p: *mut T) -> Out<T> {
        Out(p)
    }
    pub(crate) fn set(&self, v: T) {
        if !self.0.is_null() {
            unsafe { self.0.write(v) }
        }
    }
}

/// Boxes a value into a new handle written to `out`.
pub(crate) fn new_handle<T>(out: &Out<*mut T>, v: T) {
    out.set(Box::into_raw(Box::new(v)));
}

/// Hands an owned byte vector to C (freed with buffdb_bytes_free).
pub(crate) fn give_bytes(v: Vec<u8>, data: &Out<*mut u8>, len: &Out<usize>) {
    let b = v.into_boxed_slice();
    let n = b.len();
    data.set(Box::into_raw(b) as *mut u8);
    len.set(n);
}

/// Hands an owned string to C (freed with buffdb_string_free).
pub(crate) fn give_string(s: String) -> Result<*mut c_char> {
    CString::new(s).map(CString::into_raw).map_err(|_| Error::new(ErrorCode::Internal, "string contains a NUL byte"))
}

pub(crate) fn usize_of(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::new(ErrorCode::TooLarge, format!("{what} ({v}) does not fit in size_t")))
}

pub(crate) fn too_small(needed: usize, cap: usize, what: &str) -> Error {
    Error::new(ErrorCode::BufferTooSmall, format!("{what} needs {needed} bytes but the buffer holds {cap}"))
}

/// Copies `value` into the caller's buffer, or reports the needed size.
pub(crate) fn copy_out(value: &[u8], buf: &mut [u8], len: &Out<usize>, what: &str) -> Result<()> {
    if value.len() > buf.len() {
        len.set(value.len());
        return Err(too_small(value.len(), buf.len(), what));
    }
    buf[..value.len()].copy_from_slice(value);
    len.set(value.len());
    Ok(())
}

/// Hands an optional byte vector to C as a `buffdb_bytes` (`data` NULL = none).
pub(crate) fn give_opt_bytes(v: Option<Vec<u8>>) -> buffdb_bytes {
    match v {
        None => buffdb_bytes { data: std::ptr::null_mut(), len: 0 },
        Some(v) => {
            let b = v.into_boxed_slice();
            let len = b.len();
            buffdb_bytes { data: Box::into_raw(b) as *mut u8, len }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Error helpers and version

/// The message of the most recent failed call on this thread (e.g.
/// `"NOT_FOUND: key not found"`), or "" when the most recent call succeeded.
/// The pointer stays valid until the next buffdb call on this thread; never free it.
#[no_mangle]
pub extern "C" fn buffdb_last_error_message() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST_ERROR
        .try_with(|l| match l.try_borrow() {
            Ok(b) => b.as_ref().map(|c| c.as_ptr()).unwrap_or(EMPTY.as_ptr()),
            Err(_) => EMPTY.as_ptr(),
        })
        .unwrap_or(EMPTY.as_ptr())
}

/// The stable name of a status: "OK", "NOT_FOUND", "INVALID_ARGUMENT", ...; "UNKNOWN" for
/// a number that is not a status. A static string: never free it.
#[no_mangle]
pub extern "C" fn buffdb_status_str(status: i32) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    if status == 0 {
        return c"OK".as_ptr();
    }
    let names =
        NAMES.get_or_init(|| ErrorCode::ALL.iter().map(|c| CString::new(c.name()).unwrap_or_default()).collect());
    match ErrorCode::from_i32(status) {
        Some(code) => {
            ErrorCode::ALL.iter().position(|c| *c == code).map(|i| names[i].as_ptr()).unwrap_or(c"UNKNOWN".as_ptr())
        }
        None => c"UNKNOWN".as_ptr(),
    }
}

/// The library version, e.g. "0.6.0". A static string: never free it.
#[no_mangle]
pub extern "C" fn buffdb_version() -> *const c_char {
    static V: OnceLock<CString> = OnceLock::new();
    V.get_or_init(|| CString::new(crate::version()).unwrap_or_default()).as_ptr()
}

/// Frees bytes returned by an `_alloc` call (`data`, `len` exactly as returned).
/// NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_bytes_free(data: *mut u8, len: usize) {
    if data.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
    });
}

/// Frees a string returned by the library (e.g. by buffdb_blob_metadata). NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| drop(CString::from_raw(s)));
}

/// Frees a handle of any kind (NULL accepted), never unwinding into C.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if p.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(p))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_are_the_engine_codes() {
        for code in ErrorCode::ALL {
            assert_eq!(buffdb_status::from_code(code) as i32, code.as_i32());
            let name = unsafe { CStr::from_ptr(buffdb_status_str(code.as_i32())) };
            assert_eq!(name.to_str().unwrap(), code.name());
        }
    }

    #[test]
    fn a_panic_becomes_internal_with_a_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let st = ffi(|| panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(st, buffdb_status::BUFFDB_INTERNAL);
        let msg = unsafe { CStr::from_ptr(buffdb_last_error_message()) }.to_str().unwrap().to_owned();
        assert!(msg.starts_with("INTERNAL") && msg.contains("boom"), "{msg}");
        assert_eq!(ffi(|| Ok(())), buffdb_status::BUFFDB_OK);
        assert_eq!(unsafe { CStr::from_ptr(buffdb_last_error_message()) }.to_bytes(), b"");
    }

    #[test]
    fn released_bytes_round_trip() {
        let (mut data, mut len) = (std::ptr::null_mut(), 0usize);
        give_bytes(b"abc".to_vec(), &Out::opt(&mut data), &Out::opt(&mut len));
        assert_eq!(len, 3);
        unsafe { buffdb_bytes_free(data, len) };
        let (mut data, mut len) = (std::ptr::null_mut(), 9usize);
        give_bytes(Vec::new(), &Out::opt(&mut data), &Out::opt(&mut len));
        assert!(!data.is_null() && len == 0);
        unsafe { buffdb_bytes_free(data, len) };
    }
}
