//! Moving documents of any size in pieces with flat memory: a reader's bytes sent
//! as a bounded stream of messages, and a client stream of pieces fed to a
//! blocking writer through a bounded channel.

use std::io::Read;

use buffdb::Reader;
use prost::bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tonic::Status;

use crate::batch::shutting_down;
use crate::error::status;

/// Bytes per message the server sends.
pub const SEND_CHUNK: usize = 1 << 20;
/// Pieces in flight between the network and the engine, each way.
pub const IN_FLIGHT: usize = 4;

/// Sends `length` bytes (None: to the end) of `reader` from its current position,
/// one message per piece, built by `make(data, first)`. Runs on a blocking thread.
pub fn send_reader<M: Send + 'static>(
    mut reader: Reader,
    length: Option<u64>,
    tx: mpsc::Sender<Result<M, Status>>,
    shutdown: watch::Receiver<bool>,
    mut make: impl FnMut(Bytes, bool) -> M,
) {
    let mut left = length.unwrap_or(u64::MAX);
    let mut first = true;
    loop {
        if *shutdown.borrow() {
            let _ = tx.blocking_send(Err(shutting_down()));
            return;
        }
        let want = (SEND_CHUNK as u64).min(left) as usize;
        let mut buf = vec![0u8; want];
        let n = if want == 0 {
            0
        } else {
            match reader.read_into(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.blocking_send(Err(status(e)));
                    return;
                }
            }
        };
        if n == 0 && !first {
            return;
        }
        buf.truncate(n);
        left -= n as u64;
        if tx.blocking_send(Ok(make(Bytes::from(buf), first))).is_err() {
            return; // the client went away
        }
        first = false;
        if n == 0 {
            return;
        }
    }
}

/// Why an upload stopped, carried through `std::io::Error` to the engine and back.
#[derive(Debug)]
pub struct UploadFailed(pub Status);

impl std::fmt::Display for UploadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the upload failed: {}", self.0.message())
    }
}

impl std::error::Error for UploadFailed {}

/// The receiving end of a client's pieces, as `std::io::Read` for the engine. An
/// `Err` piece (the client failed or went away, or the server is shutting down)
/// makes the read fail, so the engine stores nothing.
pub struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, Status>>,
    current: Bytes,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<Result<Bytes, Status>>, first: Bytes) -> ChannelReader {
        ChannelReader { rx, current: first }
    }

    /// The next piece (None at the end).
    pub fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        if !self.current.is_empty() {
            return Ok(Some(std::mem::take(&mut self.current)));
        }
        loop {
            match self.rx.blocking_recv() {
                None => return Ok(None),
                Some(Ok(b)) if b.is_empty() => continue,
                Some(Ok(b)) => return Ok(Some(b)),
                Some(Err(s)) => return Err(std::io::Error::other(UploadFailed(s))),
            }
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            match self.next_piece()? {
                Some(b) => self.current = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Forwards the pieces of a client stream into `tx` until the client ends it (the
/// channel then closes: end of data) or fails, or the server shuts down (an `Err`
/// piece: the upload is abandoned).
pub async fn forward_pieces<Req, T>(
    mut input: tonic::Streaming<Req>,
    tx: mpsc::Sender<Result<T, Status>>,
    mut shutdown: watch::Receiver<bool>,
    data: fn(Req) -> Result<T, Status>,
) {
    use tokio_stream::StreamExt;
    loop {
        let m = tokio::select! {
            biased;
            _ = crate::batch::shutdown_begun(&mut shutdown) => Some(Err(shutting_down())),
            m = input.next() => m,
        };
        match m {
            None => return,
            Some(Ok(r)) => {
                let piece = data(r);
                let stop = piece.is_err();
                if tx.send(piece).await.is_err() || stop {
                    return; // the engine stopped (an error it reports itself), or the client aborted
                }
            }
            Some(Err(e)) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
}

/// The status of an upload the client abandoned with `abort`.
pub fn aborted() -> Status {
    Status::cancelled("the client aborted the upload: nothing was stored")
}

pub fn io_status(e: std::io::Error) -> Status {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<UploadFailed>()) {
        Some(UploadFailed(s)) => s.clone(),
        None => Status::cancelled(format!("nothing was stored: {e}")),
    }
}
