//! Transactions: begin, commit, rollback. Every operation of the database has a
//! `buffdb_txn_` form next to its `buffdb_` one (kv.rs, blob.rs, stream.rs, search.rs,
//! query.rs), written once over [`Ops`].

use super::*;
use crate::Txn;

/// A transaction from buffdb_begin. It owns the database's single writer until
/// buffdb_txn_commit or buffdb_txn_rollback; other threads' reads go on meanwhile, other
/// writers wait (BUFFDB_BUSY after the busy timeout). Every database operation has a
/// buffdb_txn_ form that runs inside it and sees its own writes; a failed call changes
/// nothing and leaves the transaction usable. Cursors, readers and stream writers opened
/// in it work in it and give BUFFDB_CLOSED once it ends. Single-threaded (movable
/// between threads). Free with buffdb_txn_free, which rolls back if it was neither
/// committed nor rolled back.
pub struct buffdb_txn {
    t: Option<Txn>,
}

fn finished() -> Error {
    Error::new(ErrorCode::Closed, "the transaction was already committed or rolled back")
}

/// The open transaction behind a handle argument (NULL: INVALID_ARGUMENT; finished:
/// CLOSED).
pub(crate) unsafe fn txn_of<'a>(p: *const buffdb_txn) -> Result<&'a Txn> {
    handle(p, "txn")?.t.as_ref().ok_or_else(finished)
}

/// The operation surface of a transaction handle (see [`db_ops`]).
pub(crate) unsafe fn txn_ops<'a>(p: *const buffdb_txn) -> Result<Core<'a>> {
    Ok(txn_of(p)?.core())
}

/// Begins a transaction (waits for the writer, BUFFDB_BUSY after the busy timeout).
#[no_mangle]
pub unsafe extern "C" fn buffdb_begin(db: *const buffdb_db, out: *mut *mut buffdb_txn) -> buffdb_status {
    ffi(|| {
        let d = db_of(db)?;
        let out = Out::new(out, "out")?;
        new_handle(&out, buffdb_txn { t: Some(d.begin()?) });
        Ok(())
    })
}

/// Commits every change of the transaction atomically. The transaction is finished
/// either way (later calls: BUFFDB_CLOSED); the handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_commit(txn: *mut buffdb_txn) -> buffdb_status {
    ffi(|| handle_mut(txn, "txn")?.t.take().ok_or_else(finished)?.commit())
}

/// Discards every change of the transaction. The handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_rollback(txn: *mut buffdb_txn) -> buffdb_status {
    ffi(|| handle_mut(txn, "txn")?.t.take().ok_or_else(finished)?.rollback())
}

/// Frees a transaction, rolling it back if still open. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_free(txn: *mut buffdb_txn) {
    free_handle(txn)
}
