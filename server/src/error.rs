//! Engine errors as gRPC statuses. The engine's stable code name leads the message
//! and is also sent as the `buffdb-error-code` metadata entry.

use buffdb::{Error, ErrorCode};
use tonic::{Code, Status};

/// The gRPC code for an engine error code.
pub fn grpc_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::InvalidArgument | ErrorCode::TooLarge => Code::InvalidArgument,
        ErrorCode::Corrupt => Code::DataLoss,
        ErrorCode::Busy => Code::Unavailable,
        ErrorCode::ReadOnly => Code::PermissionDenied,
        ErrorCode::NotADatabase => Code::FailedPrecondition,
        ErrorCode::Closed => Code::Unavailable,
        ErrorCode::Full => Code::ResourceExhausted,
        ErrorCode::Conflict => Code::Aborted,
        // A query that ran past its row, time or memory limit, or was cancelled.
        ErrorCode::Interrupted => Code::ResourceExhausted,
        ErrorCode::Io | ErrorCode::Internal | ErrorCode::BufferTooSmall => Code::Internal,
    }
}

/// An engine error as a status.
pub fn status(e: Error) -> Status {
    let mut s = Status::new(grpc_code(e.code()), e.to_string());
    if let Ok(v) = e.code().name().parse() {
        s.metadata_mut().insert("buffdb-error-code", v);
    }
    s
}

/// A NOT_FOUND status in the engine's wording.
pub fn not_found(what: String) -> Status {
    status(Error::new(ErrorCode::NotFound, what))
}

pub(crate) trait IntoStatus<T> {
    fn or_status(self) -> Result<T, Status>;
}

impl<T> IntoStatus<T> for buffdb::Result<T> {
    fn or_status(self) -> Result<T, Status> {
        self.map_err(status)
    }
}

/// Runs blocking engine work on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Status::internal(format!("INTERNAL: engine task failed: {e}"))),
    }
}
