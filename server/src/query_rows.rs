//! Streaming a query's rows to a client, for `buffdb.query.Query/Query` and
//! `buffdb.v1.Database/Query`: the engine hands rows over one at a time
//! (`Db::query_each`) on a blocking thread, which sends each message through a
//! bounded channel, so SQLite waits for a slow client and the server's memory stays
//! flat for a result of any size. There is no row limit; the time limit (the
//! server's query timeout, which counts time spent waiting for the client) and the
//! engine's memory limit stay. A client that goes away, or a shutdown, cancels the
//! query even while SQLite works on a row.

use std::time::Duration;

use buffdb::{CancelToken, Db, ErrorCode, QueryOptions, Value};
use tokio::sync::mpsc;
use tonic::Status;

use crate::batch::{shutdown_begun, shutting_down};
use crate::error::{blocking, status};
use crate::state::State;

/// Time limit of one query unless the server is given another: long enough to
/// stream millions of rows to a client on a slow link, short enough that a stuck
/// client does not pin a snapshot (and hold back WAL checkpoints) for long.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// Turns rows into the messages of one RPC.
pub trait Pager: Send + 'static {
    type Message: Send + 'static;
    /// Takes a row; returns a message when one is ready to send.
    fn row(&mut self, columns: &[String], row: Vec<Value>) -> Option<Self::Message>;
    /// The last message once the rows have ended (`columns` also when there were none).
    fn end(self, columns: Vec<String>) -> Option<Self::Message>;
}

/// What a client asked to bound its query by, within the server's own limits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Shorter than the server's query timeout, or ignored.
    pub timeout: Option<Duration>,
    pub max_rows: Option<usize>,
}

/// Runs `sql` on `db`, sending the messages `pager` makes through `tx`. Returns
/// the status the stream should end with when the query failed (or was stopped by a
/// shutdown); `Ok` also when the client went away.
pub async fn stream<P: Pager>(
    state: &State,
    db: Db,
    sql: String,
    params: Vec<Value>,
    limits: Limits,
    tx: &mpsc::Sender<Result<P::Message, Status>>,
    mut pager: P,
) -> Result<(), Status> {
    let cancel = CancelToken::new();
    let timeout = limits.timeout.map_or(state.query_timeout, |t| t.min(state.query_timeout));
    let opts =
        QueryOptions::default().max_rows(limits.max_rows.unwrap_or(usize::MAX)).timeout(timeout).cancel(cancel.clone());
    let watcher = {
        let (tx, cancel, mut shutdown) = (tx.clone(), cancel.clone(), state.shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = tx.closed() => {}
                _ = shutdown_begun(&mut shutdown) => {}
            }
            cancel.cancel();
        })
    };
    let sender = tx.clone();
    let result = blocking(move || {
        let result = db.query_each(&sql, &params, &opts, |columns, row| match pager.row(columns, row) {
            Some(message) => sender.blocking_send(Ok(message)).is_ok(),
            None => true,
        });
        Ok(result.map(|columns| {
            if let Some(message) = pager.end(columns) {
                let _ = sender.blocking_send(Ok(message));
            }
        }))
    })
    .await;
    watcher.abort();
    match result? {
        Ok(()) => Ok(()),
        // Cancelled because the client went away: nobody to tell.
        Err(_) if tx.is_closed() => Ok(()),
        Err(e) if e.code() == ErrorCode::Interrupted && *state.shutdown.borrow() => Err(shutting_down()),
        Err(e) => Err(status(e)),
    }
}
