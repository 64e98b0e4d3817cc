//! What every service shares: the stores, the open compat transactions, the
//! shutdown signal, the transaction timeouts and the query time limit.

use std::time::Duration;

use tokio::sync::watch;

use crate::stores::Stores;
use crate::txn_registry::TxnRegistry;

#[derive(Clone)]
pub struct State {
    pub stores: Stores,
    pub txns: TxnRegistry,
    /// Becomes true when the server begins shutting down: open streams end.
    pub shutdown: watch::Receiver<bool>,
    /// Idle timeout of a transaction that names none.
    pub txn_timeout: Duration,
    /// Time limit of one query (streamed without a row limit).
    pub query_timeout: Duration,
}
