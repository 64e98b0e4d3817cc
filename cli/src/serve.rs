//! `buffdb run`: serve a store over gRPC (the buffdb-server crate).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use buffdb::{Error, ErrorCode, OpenOptions};
use buffdb_server::{Config, Stores, Tls};
use clap::Args;

use crate::runtime::{runtime, stop_signal};

/// Serve the store over gRPC: the earlier BuffDB's buffdb.kv.Kv, buffdb.blob.Blob and
/// buffdb.query.Query services plus BuffDB's own buffdb.v1 services, health and reflection.
///
/// Listens on [::1]:9313 (loopback only) unless an address is given. Also takes the
/// earlier command line: `buffdb run --addr [::1]:9313 --kv-store kv.db --blob-store blob.db`
/// (one file: shared; two files: Kv uses the first, Blob the second).
#[derive(Args)]
pub struct RunArgs {
    /// Address to listen on, e.g. 0.0.0.0:9313 (default [::1]:9313, loopback only).
    pub addr: Option<SocketAddr>,
    /// Address to listen on (the earlier BuffDB's spelling of ADDR).
    #[arg(long = "addr", conflicts_with = "addr")]
    pub addr_flag: Option<SocketAddr>,
    /// File for the KV service (and everything else unless --blob-store names another).
    #[arg(long)]
    pub kv_store: Option<PathBuf>,
    /// File for the Blob service; a different file from --kv-store means blob
    /// operations cannot join transactions.
    #[arg(long)]
    pub blob_store: Option<PathBuf>,
    /// Require `authorization: Bearer TOKEN` on every call.
    #[arg(long, env = "BUFFDB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Largest gRPC message either way, in MiB (bigger blobs and streams go through
    /// buffdb.v1 in chunks).
    #[arg(long, default_value_t = (buffdb_server::DEFAULT_MAX_MESSAGE_SIZE >> 20) as u64)]
    pub max_message_mib: u64,
    /// Idle time after which a transaction that names no timeout rolls back, in ms.
    #[arg(long, default_value_t = 60_000)]
    pub txn_timeout_ms: u64,
    /// Time limit of one query in ms, including the time the client takes to read the
    /// rows (queries stream without a row limit, in one snapshot).
    #[arg(long, default_value_t = buffdb_server::DEFAULT_QUERY_TIMEOUT.as_millis() as u64)]
    pub query_timeout_ms: u64,
    /// Replicate the (KV) store to this replica with Litestream while serving (see
    /// `buffdb replicate --help`).
    #[arg(long, value_name = "REPLICA_URL")]
    pub replicate: Option<String>,
    /// Also answer the Hugging Face hub's download protocol on ADDR (see `buffdb hf serve`).
    #[arg(long, value_name = "ADDR")]
    pub hf: Option<SocketAddr>,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::new(ErrorCode::Io, format!("cannot read {}: {e}", path.display())))
}

pub fn run(args: &RunArgs, store: &Path, opts: OpenOptions) -> Result<(), Error> {
    let addr = args.addr.or(args.addr_flag).unwrap_or_else(|| buffdb_server::DEFAULT_ADDR.parse().expect("valid"));
    let (kv_path, blob_path) = match (&args.kv_store, &args.blob_store) {
        (Some(k), Some(b)) => (k.clone(), Some(b.clone())),
        (Some(k), None) => (k.clone(), None),
        (None, Some(b)) => (b.clone(), None),
        (None, None) => (store.to_path_buf(), None),
    };
    let kv = crate::open_path(&kv_path, opts.clone())?;
    let replication = crate::replicate::for_server(args.replicate.as_deref(), &kv_path)?;
    let stores = match blob_path {
        Some(b) if !same_file(&kv_path, &b) => Stores::split(kv, crate::open_path(&b, opts)?),
        _ => Stores::shared(kv),
    };
    let mut config = Config::new(stores.clone());
    config.token = args.token.clone().filter(|t| !t.is_empty());
    config.max_message_size = usize::try_from(args.max_message_mib << 20)
        .map_err(|_| Error::new(ErrorCode::InvalidArgument, "--max-message-mib is too large"))?;
    config.txn_timeout = Duration::from_millis(args.txn_timeout_ms);
    if args.query_timeout_ms == 0 {
        return Err(Error::new(ErrorCode::InvalidArgument, "--query-timeout-ms must be more than zero"));
    }
    config.query_timeout = Duration::from_millis(args.query_timeout_ms);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(Tls { cert_pem: read(cert)?, key_pem: read(key)? });
    }
    let runtime = runtime()?;
    let served = runtime.block_on(async {
        // The hub protocol beside the gRPC port, on the same runtime and store.
        let (hf_stop, hf_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(hf_addr) = args.hf {
            let c = crate::hf::config(
                stores.kv.clone(),
                config.token.clone(),
                None,
                buffdb_server::hf::serve::DEFAULT_TREE_PAGE,
            )?;
            let (bound, _task) = buffdb_server::hf::serve::spawn(c, hf_addr, async move {
                let _ = hf_stopped.await;
            })
            .await
            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot listen on {hf_addr}: {e}")))?;
            eprintln!("buffdb: serving the hub protocol on http://{bound}");
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot listen on {addr}: {e}")))?;
        let running = buffdb_server::start(config, listener)
            .await
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot start the server: {e}")))?;
        let files = if stores.shared {
            stores.kv.path().to_string()
        } else {
            format!("kv {}, blob {}", stores.kv.path(), stores.blob.path())
        };
        eprintln!(
            "buffdb: serving {files} on {}{} (Ctrl-C to stop)",
            running.local_addr(),
            if args.tls_cert.is_some() { " with TLS" } else { "" }
        );
        let done = running
            .run_until(stop_signal())
            .await
            .map_err(|e| Error::new(ErrorCode::Io, format!("the server failed: {e}")));
        let _ = hf_stop.send(());
        done
    });
    let closed = stores.close();
    // After the stores close, so Litestream ships their last transactions.
    let stopped = replication.map_or(Ok(()), |r| r.stop());
    served?;
    closed?;
    stopped?;
    eprintln!("buffdb: stopped; open transactions were rolled back");
    Ok(())
}
