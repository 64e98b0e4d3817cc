//! Starts the real server on a free loopback port over a temporary store.

#![allow(dead_code)]

use std::time::Duration;

use buffdb::{Db, OpenOptions};
use buffdb_server::{Config, Running, Stores};
use tonic::transport::Channel;

pub struct TestServer {
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub stores: Stores,
    pub channel: Channel,
}

pub fn options() -> OpenOptions {
    OpenOptions { busy_timeout_ms: 2000, ..OpenOptions::default() }
}

pub async fn start_with(config: impl FnOnce(&mut Config), split: bool) -> TestServer {
    start_full(config, split, options()).await
}

pub async fn start_full(config: impl FnOnce(&mut Config), split: bool, opts: OpenOptions) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let kv = Db::open(dir.path().join("kv.db"), opts.clone()).unwrap();
    let stores =
        if split { Stores::split(kv, Db::open(dir.path().join("blob.db"), opts).unwrap()) } else { Stores::shared(kv) };
    let mut c = Config::new(stores.clone());
    config(&mut c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = buffdb_server::start(c, listener).await.unwrap();
    let channel = connect(running.local_addr()).await;
    TestServer { running: Some(running), dir, stores, channel }
}

pub async fn start() -> TestServer {
    start_with(|_| {}, false).await
}

pub async fn connect(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap()
}

impl TestServer {
    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
    }
}

/// A request stream from a list.
pub fn stream_of<T: Send + 'static>(items: Vec<T>) -> impl tokio_stream::Stream<Item = T> + Send + 'static {
    tokio_stream::iter(items)
}

/// A transaction-stream request.
pub fn op(op: buffdb_server::proto::v1::txn_request::Op) -> buffdb_server::proto::v1::TxnRequest {
    buffdb_server::proto::v1::TxnRequest { op: Some(op) }
}

/// Runs the requests as one `Transactions.Run` stream: every answer, and the status
/// that ended it, if one did.
pub async fn run_txn(
    channel: &Channel,
    reqs: Vec<buffdb_server::proto::v1::TxnRequest>,
) -> (Vec<buffdb_server::proto::v1::txn_response::Result>, Option<tonic::Status>) {
    use tokio_stream::StreamExt;
    let mut c = buffdb_server::proto::v1::transactions_client::TransactionsClient::new(channel.clone());
    let mut s = c.run(stream_of(reqs)).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        match m {
            Ok(m) => out.push(m.result.unwrap()),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// A channel whose TCP connections the test can cut, as a client that goes away does.
pub struct Killable {
    pub channel: Channel,
    sockets: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Killable {
    pub async fn connect(addr: std::net::SocketAddr) -> Killable {
        let sockets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = sockets.clone();
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let kept = kept.clone();
                async move {
                    let std = tokio::net::TcpStream::connect(addr).await?.into_std()?;
                    kept.lock().unwrap().push(std.try_clone()?);
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tokio::net::TcpStream::from_std(std)?))
                }
            }))
            .await
            .unwrap();
        Killable { channel, sockets }
    }

    /// Cuts every connection without ending any stream.
    pub fn kill(&self) {
        for s in self.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Anonymous resident memory (heap; not the file pages SQLite maps and caches).
pub fn anon_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Samples anonymous memory every 5 ms until dropped; the largest sample.
pub struct PeakSampler {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl PeakSampler {
    pub fn start() -> PeakSampler {
        use std::sync::atomic::Ordering;
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(anon_rss_bytes()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(anon_rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        PeakSampler { peak, stop }
    }

    pub fn peak(&self) -> u64 {
        self.peak.fetch_max(anon_rss_bytes(), std::sync::atomic::Ordering::Relaxed).max(anon_rss_bytes())
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
