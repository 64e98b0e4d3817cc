//! One error type for every operation, with stable codes shared by every language.

use std::fmt;

/// Stable error codes. The numbers are part of the C ABI and the bindings:
/// extend the list, never renumber it (0 is "OK" in C).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound = 1,
    InvalidArgument = 2,
    TooLarge = 3,
    Corrupt = 4,
    NotADatabase = 5,
    ReadOnly = 6,
    Busy = 7,
    Io = 8,
    Full = 9,
    Closed = 10,
    Conflict = 11,
    Internal = 12,
    /// A caller-supplied buffer is smaller than the value (caller-buffer reads).
    BufferTooSmall = 13,
    /// A call stopped before it finished: its time limit passed, or it was cancelled
    /// (`query` with a `CancelToken`).
    Interrupted = 14,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::NotFound,
        ErrorCode::InvalidArgument,
        ErrorCode::TooLarge,
        ErrorCode::Corrupt,
        ErrorCode::NotADatabase,
        ErrorCode::ReadOnly,
        ErrorCode::Busy,
        ErrorCode::Io,
        ErrorCode::Full,
        ErrorCode::Closed,
        ErrorCode::Conflict,
        ErrorCode::Internal,
        ErrorCode::BufferTooSmall,
        ErrorCode::Interrupted,
    ];

    /// The stable name every language uses, e.g. `"NOT_FOUND"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::TooLarge => "TOO_LARGE",
            ErrorCode::Corrupt => "CORRUPT",
            ErrorCode::NotADatabase => "NOT_A_DATABASE",
            ErrorCode::ReadOnly => "READ_ONLY",
            ErrorCode::Busy => "BUSY",
            ErrorCode::Io => "IO",
            ErrorCode::Full => "FULL",
            ErrorCode::Closed => "CLOSED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::BufferTooSmall => "BUFFER_TOO_SMALL",
            ErrorCode::Interrupted => "INTERRUPTED",
        }
    }

    pub fn as_i32(self) -> i32 {
        self as i32
    }

    pub fn from_i32(v: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_i32() == v)
    }

    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error: a stable [`ErrorCode`] and a message naming what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// The message without the code prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn not_found(what: impl fmt::Display) -> Error {
        Error::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidArgument, msg)
    }
    pub(crate) fn too_large(msg: impl Into<String>) -> Error {
        Error::new(ErrorCode::TooLarge, msg)
    }
    pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
        Error::new(ErrorCode::Corrupt, msg)
    }
    pub(crate) fn closed() -> Error {
        Error::new(ErrorCode::Closed, "the database is closed")
    }
    pub(crate) fn read_only() -> Error {
        Error::new(ErrorCode::ReadOnly, "the database was opened read-only")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        use rusqlite::ffi::ErrorCode as E;
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                E::DatabaseBusy | E::DatabaseLocked => ErrorCode::Busy,
                E::DiskFull => ErrorCode::Full,
                E::DatabaseCorrupt => ErrorCode::Corrupt,
                // A damaged schema page: "malformed database schema (...)".
                E::Unknown if is_malformed(&e) => ErrorCode::Corrupt,
                // SQLCipher: a page whose HMAC fails (see `is_failed_page`).
                E::Unknown if is_failed_page(&e) => {
                    return Error::corrupt("a page of the encrypted file failed its integrity check (HMAC): the file is damaged")
                }
                E::NotADatabase => ErrorCode::NotADatabase,
                E::ReadOnly => ErrorCode::ReadOnly,
                E::TooBig => ErrorCode::TooLarge,
                E::SystemIoFailure | E::CannotOpen | E::PermissionDenied | E::FileLockingProtocolFailed => {
                    ErrorCode::Io
                }
                _ => ErrorCode::Internal,
            },
            rusqlite::Error::InvalidParameterName(_)
            | rusqlite::Error::InvalidParameterCount(..)
            | rusqlite::Error::InvalidColumnIndex(_)
            | rusqlite::Error::InvalidColumnName(_)
            | rusqlite::Error::MultipleStatement
            | rusqlite::Error::SqlInputError { .. } => ErrorCode::InvalidArgument,
            // The schema fixes every column's type: a stored value of another type, or
            // out of range, or text that is not UTF-8, is damage.
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => ErrorCode::Corrupt,
            _ => ErrorCode::Internal,
        };
        Error::new(code, format!("sqlite: {e}"))
    }
}

/// SQLite's words for a damaged schema page. Only these: a caller's SQL can fail with
/// other "malformed" errors ("malformed JSON") that are not damage.
fn is_malformed(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("malformed database schema"))
}

/// SQLCipher reports a page whose HMAC fails by putting the pager in its error state
/// with a bare `SQLITE_ERROR`: SQLite's generic text, no message of its own. (A wrong
/// key fails on the first page, at open, as `NOT_A_DATABASE`.)
fn is_failed_page(e: &rusqlite::Error) -> bool {
    cfg!(feature = "encryption") && matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m == "SQL logic error")
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        // An engine error carried through std::io (Read/Write impls) keeps its code.
        if e.get_ref().map(|inner| inner.is::<Error>()).unwrap_or(false) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        let code = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorCode::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorCode::Io,
            std::io::ErrorKind::StorageFull => ErrorCode::Full,
            _ => ErrorCode::Io,
        };
        Error::new(code, e.to_string())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// Runs `f`, turning a panic into an `INTERNAL` error, so no panic crosses a
/// language boundary. Bindings wrap every entry point in it.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_error(payload)),
    }
}

/// The error a caught panic becomes. Out of line: every entry point of every binding
/// has a `catch_panic`, and this is its cold part (inlined it was ~0.4 KB in each of
/// libbuffdb.so's exports).
#[cold]
#[inline(never)]
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::new(ErrorCode::Internal, format!("internal error (panic): {what}"))
}
