//! Serving: every service on one listener, with health, reflection, the token
//! check, optional TLS, explicit message limits and a graceful shutdown that
//! rolls back open transactions.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::auth::TokenCheck;
use crate::compat_blob::BlobService;
use crate::compat_kv::KvService;
use crate::compat_query::QueryService;
use crate::proto;
use crate::state::State;
use crate::stores::Stores;
use crate::txn_registry::TxnRegistry;
use crate::v1;

/// Where `buffdb run` listens unless told otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "[::1]:9313";
/// Largest message either way (request or response): a 64 MiB KV value or
/// compat blob plus framing. Bigger blobs and streams go through buffdb.v1 in chunks.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 80 << 20;
/// Idle time after which a transaction that names no timeout rolls back.
pub const DEFAULT_TXN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a shutdown waits for calls to end before it stops anyway.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// HTTP/2 flow-control windows and largest frame, for the server and the Rust client.
pub const STREAM_WINDOW: u32 = 8 << 20;
pub const CONNECTION_WINDOW: u32 = 16 << 20;
pub const MAX_FRAME: u32 = 1 << 20;

/// A PEM certificate chain and private key for TLS.
#[derive(Clone)]
pub struct Tls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// What to serve and how.
#[derive(Clone)]
pub struct Config {
    pub stores: Stores,
    /// When set, every call must carry `authorization: Bearer TOKEN`.
    pub token: Option<String>,
    pub tls: Option<Tls>,
    pub max_message_size: usize,
    pub txn_timeout: Duration,
    /// Time limit of one query, including the time spent waiting for the client to
    /// take rows (queries have no row limit).
    pub query_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Config {
    pub fn new(stores: Stores) -> Config {
        Config {
            stores,
            token: None,
            tls: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            txn_timeout: DEFAULT_TXN_TIMEOUT,
            query_timeout: crate::query_rows::DEFAULT_QUERY_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// A server accepting calls.
pub struct Running {
    addr: SocketAddr,
    down: watch::Sender<bool>,
    txns: TxnRegistry,
    grace: Duration,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

macro_rules! limited {
    ($server:expr, $n:expr) => {
        $server.max_decoding_message_size($n).max_encoding_message_size($n)
    };
}

/// Starts serving `config` on `listener`.
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, Box<dyn std::error::Error + Send + Sync>> {
    let addr = listener.local_addr()?;
    let (down, down_rx) = watch::channel(false);
    let txns = TxnRegistry::default();
    let state = State {
        stores: config.stores.clone(),
        txns: txns.clone(),
        shutdown: down_rx.clone(),
        txn_timeout: config.txn_timeout,
        query_timeout: config.query_timeout,
    };
    let n = config.max_message_size;

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<proto::kv::kv_server::KvServer<KvService>>().await;
    health.set_serving::<proto::blob::blob_server::BlobServer<BlobService>>().await;
    health.set_serving::<proto::query::query_server::QueryServer<QueryService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::DESCRIPTOR_SET)
        .build_v1()?;

    let mut builder = tonic::transport::Server::builder()
        // Large windows and frames: streams move hundreds of MB/s over one connection,
        // and a 1 MiB piece arrives in a few frames instead of 64 (the 16 KiB default).
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        .max_frame_size(Some(MAX_FRAME))
        .http2_keepalive_interval(Some(Duration::from_secs(30)));
    if let Some(tls) = &config.tls {
        builder =
            builder.tls_config(ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem)))?;
    }
    let router = builder
        .layer(tonic::service::InterceptorLayer::new(TokenCheck::new(config.token.clone())))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(limited!(proto::kv::kv_server::KvServer::new(KvService::new(state.clone())), n))
        .add_service(limited!(proto::blob::blob_server::BlobServer::new(BlobService::new(state.clone())), n))
        .add_service(limited!(proto::query::query_server::QueryServer::new(QueryService::new(state.clone())), n))
        .add_service(limited!(proto::v1::kv_server::KvServer::new(v1::kv::KvV1::new(state.clone())), n))
        .add_service(limited!(proto::v1::blobs_server::BlobsServer::new(v1::blobs::BlobsV1::new(state.clone())), n))
        .add_service(limited!(
            proto::v1::streams_server::StreamsServer::new(v1::streams::StreamsV1::new(state.clone())),
            n
        ))
        .add_service(limited!(proto::v1::indexes_server::IndexesServer::new(v1::index::IndexesV1::new(state.clone())), n))
        .add_service(limited!(proto::v1::models_server::ModelsServer::new(v1::models::ModelsV1::new(state.clone())), n))
        .add_service(limited!(
            proto::v1::database_server::DatabaseServer::new(v1::database::DatabaseV1::new(state.clone())),
            n
        ))
        .add_service(limited!(
            proto::v1::transactions_server::TransactionsServer::new(v1::transactions::TransactionsV1::new(
                state.clone()
            )),
            n
        ));
    let mut signal = down_rx;
    // Answers go out as soon as they are written: with Nagle's algorithm on, the
    // first answer of a stream waited ~40 ms for the client's delayed ACK.
    let incoming = TcpListenerStream::new(listener).map(|s| {
        s.inspect(|s| {
            let _ = s.set_nodelay(true);
        })
    });
    let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        crate::batch::shutdown_begun(&mut signal).await;
    }));
    Ok(Running { addr, down, txns, grace: config.shutdown_grace, task })
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Compat transactions open now.
    pub fn open_transactions(&self) -> usize {
        self.txns.open_count()
    }

    /// Stops accepting calls, ends open streams with UNAVAILABLE (a batch being
    /// written finishes and is answered first), rolls back every open transaction
    /// and waits up to the grace period for calls to end.
    pub async fn shutdown(self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = self.down.send(true);
        let txns = self.txns.clone();
        tokio::task::spawn_blocking(move || txns.close_all()).await?;
        let mut task = self.task;
        match tokio::time::timeout(self.grace, &mut task).await {
            Ok(r) => r??,
            Err(_) => task.abort(),
        }
        Ok(())
    }

    /// Serves until `signal` completes, then shuts down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        signal.await;
        self.shutdown().await
    }
}
