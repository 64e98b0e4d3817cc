//! BuffDB's own services (package `buffdb.v1`), one file per service.

pub mod blobs;
pub mod chunks;
pub mod convert;
pub mod database;
pub mod kv;
pub mod streams;
pub mod transactions;
