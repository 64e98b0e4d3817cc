//! BuffDB over gRPC.
//!
//! - `buffdb.kv.Kv`, `buffdb.blob.Blob`, `buffdb.query.Query`: wire-compatible with
//!   the earlier BuffDB (v0.5), with working transactions and NOT_FOUND for missing
//!   keys and ids (proto/kv.proto, blob.proto, query.proto).
//! - `buffdb.v1.*`: everything the engine does, with chunked blobs and streams of
//!   any size (proto/buffdb/v1/buffdb.proto).
//!
//! [`start`] serves a [`Config`] on a listener; `buffdb run` (the CLI) wraps it.
//! This crate is separate from the engine so that libbuffdb, the wheel and the
//! Node addon never carry tonic.

pub mod auth;
pub mod batch;
pub mod compat_blob;
pub mod compat_kv;
pub mod compat_query;
pub mod error;
/// Hugging Face hub models: cache import/export and the hub download protocol.
pub mod hf;
pub mod ops;
pub mod query_rows;
pub mod server;
pub mod state;
pub mod stores;
pub mod txn_registry;
pub mod txn_worker;
pub mod v1;

#[cfg(feature = "client")]
pub mod client;

pub use query_rows::DEFAULT_QUERY_TIMEOUT;

/// A server-streaming response.
pub type BoxStream<T> = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send>>;
pub use server::{start, Config, Running, Tls, DEFAULT_ADDR, DEFAULT_MAX_MESSAGE_SIZE};
pub use stores::Stores;

/// The generated messages, servers and clients.
pub mod proto {
    pub mod kv {
        tonic::include_proto!("buffdb.kv");
    }
    pub mod blob {
        tonic::include_proto!("buffdb.blob");
    }
    pub mod query {
        tonic::include_proto!("buffdb.query");
    }
    pub mod v1 {
        tonic::include_proto!("buffdb.v1");
    }
    /// Every proto file's descriptors, served by gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/buffdb_descriptor.bin"));
}
