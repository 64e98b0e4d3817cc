//! The operation surface shared by `Db` and `Txn`: where a call gets its connection
//! ([`via`]) and every operation written once over it ([`ops`]).

pub(crate) mod ops;
pub(crate) mod via;

pub use ops::Ops;
pub(crate) use via::{Core, TxnConn, Via};
