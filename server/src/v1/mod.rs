//! BuffDB's own services (package `buffdb.v1`), one file per service.

/// A unary call answered by `op(&db, request)` on the blocking pool (the same `op`
/// a transaction runs on its `Txn`).
macro_rules! on_db {
    ($self:ident, $request:ident, $op:path) => {{
        let db = $self.state.stores.kv.clone();
        let r = $request.into_inner();
        Ok(Response::new(blocking(move || $op(&db, r)).await?))
    }};
}

pub mod blobs;
pub mod chunks;
pub mod convert;
pub mod database;
pub mod index;
pub mod kv;
pub mod models;
pub mod pages;
pub mod streams;
pub mod transactions;
